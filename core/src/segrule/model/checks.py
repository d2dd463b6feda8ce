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


CHECKS: dict[str, Check] = {
    c.name: c
    for c in [
        Check(
            "null_customer_id", ("drop", "fail"), "drop", description="customer_id is null or blank"
        ),
        Check("bad_timestamp", ("drop", "fail"), "drop", description="time is null or unparseable"),
        Check("after_as_of", ("drop",), "drop", description="time at or after as-of"),
        Check(
            "bad_amount",
            ("drop", "keep", "fail"),
            "drop",
            True,
            "amount null, non-numeric, NaN, negative, infinite or too large",
        ),
        Check(
            "rounded_amount",
            ("keep", "fail"),
            "keep",
            True,
            "amount has more than two decimals: rounded to cents, ties to even",
        ),
        Check(
            "unknown_status",
            ("keep", "drop", "fail"),
            "keep",
            True,
            "status not paid, pending, refunded or cancelled after status_values",
        ),
        Check(
            "unknown_customer",
            ("drop", "fail", "unchecked"),
            "drop",
            description="customer not in the universe",
        ),
        Check(
            "duplicate_order_id",
            ("drop", "keep", "fail", "unchecked"),
            "drop",
            True,
            "order_id seen on an earlier row (by time)",
        ),
    ]
}
SET_CHECKS = ("unknown_customer", "duplicate_order_id")


def applies(check: str, table: str, universe_table: str | None) -> bool:
    """Whether ``check`` applies to ``table`` (``universe_table``: the table the
    universe comes from, customers or orders; None when checking rules only)."""
    if CHECKS[check].orders_only and table != "orders":
        return False
    if check == "unknown_customer":
        return universe_table is not None and table != universe_table
    return True
