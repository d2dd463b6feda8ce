"""The data-quality checks a rule set can set a policy for (``tables.<t>.quality``):
their names, allowed policies and defaults. How each is computed is the engine's
(:mod:`segrule.engine.quality`)."""

from __future__ import annotations

from dataclasses import dataclass

#: ``tables.<t>.quality.max_rejected_share``: the share of a table's rows (those before
#: as-of) the checks may reject before the run fails. A wrong column mapping or a column
#: of the wrong type rejects (nearly) every row; real exports lose a few percent. Half
#: catches the first and leaves room for dirty but usable tables (docs/engine.md).
MAX_REJECTED_SHARE = "max_rejected_share"
DEFAULT_MAX_REJECTED_SHARE = 0.5


@dataclass(frozen=True)
class Check:
    name: str
    policies: tuple[str, ...]
    default: str
    orders_only: bool = False
    description: str = ""
    #: the one table the check applies to (None: any table, or orders when orders_only)
    table: str | None = None
    #: display names (``zh``, ``en``) for people reading a run's data-quality lines
    zh: str = ""
    en: str = ""

    def display(self, lang: str = "en") -> str:
        """The check's display name in ``lang`` (zh or en), else its name."""
        return (self.zh if lang == "zh" else self.en) or self.name


CHECKS: dict[str, Check] = {
    c.name: c
    for c in [
        Check(
            "null_customer_id",
            ("drop", "fail"),
            "drop",
            description="customer_id is null or blank",
            zh="客户 ID 为空",
            en="customer id missing",
        ),
        Check(
            "bad_timestamp",
            ("drop", "fail"),
            "drop",
            description="time is null or unparseable",
            zh="时间无效",
            en="bad timestamp",
        ),
        Check(
            "after_as_of",
            ("drop",),
            "drop",
            description="time at or after as-of",
            zh="晚于截至时间",
            en="after as-of",
        ),
        Check(
            "bad_amount",
            ("drop", "keep", "fail"),
            "drop",
            True,
            "amount null, non-numeric, NaN, negative, infinite or too large",
            zh="金额无效",
            en="bad amount",
        ),
        Check(
            "rounded_amount",
            ("keep", "fail"),
            "keep",
            True,
            "amount has more than two decimals: rounded to cents, ties to even",
            zh="金额按分取整",
            en="amount rounded to cents",
        ),
        Check(
            "unknown_status",
            ("keep", "drop", "fail"),
            "keep",
            True,
            "status not paid, pending, refunded or cancelled after status_values",
            zh="订单状态未知",
            en="unknown status",
        ),
        Check(
            "unknown_customer",
            ("drop", "fail", "unchecked"),
            "drop",
            description="customer not in the universe",
            zh="客户不在客户范围内",
            en="unknown customer",
        ),
        Check(
            "duplicate_order_id",
            ("drop", "keep", "fail", "unchecked"),
            "drop",
            True,
            "order_id seen on an earlier row (by time)",
            zh="订单号重复",
            en="duplicate order id",
        ),
        Check(
            "duplicate_customer_id",
            ("drop", "fail"),
            "drop",
            description=(
                "customer_id on more than one row of the customers table: one row is kept "
                "(the first by the attributes the rule set reads), the others are counted"
            ),
            zh="客户 ID 重复",
            en="duplicate customer id",
            table="customers",
        ),
    ]
}
#: What a data-quality line says was done with the rows a check found: its policy
#: (drop, keep, fail, unchecked) or the engine's own actions (filtered by the table's
#: ``where``, excluded after as-of or blacklisted), in zh and en.
ACTIONS: dict[str, dict[str, str]] = {
    "drop": {"en": "dropped", "zh": "已剔除"},
    "keep": {"en": "kept", "zh": "已保留"},
    "fail": {"en": "failed the run", "zh": "运行失败"},
    "unchecked": {"en": "not checked", "zh": "未检查"},
    "filtered": {"en": "filtered", "zh": "已过滤"},
    "excluded": {"en": "excluded", "zh": "已排除"},
}
SET_CHECKS = ("unknown_customer", "duplicate_order_id")


def applies(check: str, table: str, universe_table: str | None) -> bool:
    """Whether ``check`` applies to ``table`` (``universe_table``: the table the
    universe comes from, customers or orders; None when checking rules only)."""
    if CHECKS[check].orders_only and table != "orders":
        return False
    if CHECKS[check].table is not None and table != CHECKS[check].table:
        return False
    if check == "unknown_customer":
        return universe_table is not None and table != universe_table
    return True
