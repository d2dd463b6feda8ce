"""Data-quality checks: bad rows are counted per table and check, handled by the
rule set's policy (drop, keep, fail), and never dropped silently."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.errors import DataError, RuleSetError
from segrule.testing import ORDER_SCHEMA, days_before

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")
AS_OF = days_before(0)


def _orders() -> pl.DataFrame:
    rows = [
        ("o1", "a", days_before(3), 10.0, "paid"),
        ("o2", "a", days_before(4), -5.0, "paid"),  # bad amount: negative
        ("o3", "b", days_before(5), None, "paid"),  # bad amount: null
        ("o4", "b", days_before(6), float("nan"), "paid"),  # bad amount: NaN
        ("o5", None, days_before(2), 7.0, "paid"),  # null id
        ("o6", "  ", days_before(2), 7.0, "paid"),  # blank id
        ("o7", "c", None, 8.0, "paid"),  # no time
        ("o8", "c", AS_OF + dt.timedelta(days=1), 9.0, "paid"),  # after as-of
        ("o9", "c", days_before(1), 20.0, "pending"),  # removed by where
        ("o10", "c", days_before(1), 30.0, "paid"),
    ]
    return pl.DataFrame(
        [
            dict(zip(["order_id", "customer_id", "order_ts", "amount", "status"], r, strict=True))
            for r in rows
        ],
        schema={
            k: ORDER_SCHEMA[k] for k in ["order_id", "customer_id", "order_ts", "amount", "status"]
        },
    )


def _rule(tmp_path: Path, quality: str = "") -> Path:
    rule = tmp_path / "r.yaml"
    rule.write_text(
        "name: r\nextends: rfm\ntables:\n  orders:\n    where: \"status <> 'pending'\"\n"
        + (f"    quality: {quality}\n" if quality else "")
    )
    return rule


def _run(tmp_path: Path, rule: Path) -> tuple[segrule.RunResult, pl.DataFrame]:
    engine = segrule.Engine(autoload=False)
    out = tmp_path / "out.parquet"
    result = segrule.run([str(rule)], out, {"orders": _orders()}, as_of=AS_OF, engine=engine)
    return result, pl.read_parquet(out)


def _counts(result: segrule.RunResult) -> dict[str, tuple[str, int]]:
    return {q["check"]: (q["action"], q["rows"]) for q in result.quality if q["table"] == "orders"}


def test_every_row_is_accounted_for(tmp_path: Path) -> None:
    result, out = _run(tmp_path, _rule(tmp_path))
    assert _counts(result) == {
        "rows_read": ("", 10),
        "null_customer_id": ("drop", 2),
        "bad_timestamp": ("drop", 1),
        "after_as_of": ("excluded", 1),
        "bad_amount": ("drop", 3),
        "where": ("filtered", 1),
        "rows_used": ("", 2),
    }
    counts = _counts(result)
    left_out = sum(n for check, (_, n) in counts.items() if check not in ("rows_read", "rows_used"))
    assert counts["rows_read"][1] == left_out + counts["rows_used"][1]
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert rows["a"]["orders_lifetime"] == 1 and rows["a"]["monetary_lifetime"] == 10.0
    # both of b's orders had bad amounts: without a customers table, b is not a customer
    assert "b" not in rows
    assert rows["c"]["orders_lifetime"] == 1 and rows["c"]["monetary_lifetime"] == 30.0
    assert "" not in rows and "  " not in rows


def test_keep_counts_but_keeps_the_orders(tmp_path: Path) -> None:
    result, out = _run(tmp_path, _rule(tmp_path, "{bad_amount: keep}"))
    assert _counts(result)["bad_amount"] == ("keep", 3)
    assert _counts(result)["rows_used"] == ("", 5)
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    # kept: counted as orders; a negative amount is summed, null and NaN are not
    assert rows["a"]["orders_lifetime"] == 2 and rows["a"]["monetary_lifetime"] == 5.0
    assert rows["b"]["orders_lifetime"] == 2 and rows["b"]["monetary_lifetime"] == 0.0


def test_fail_writes_nothing_and_says_why(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous")
    with pytest.raises(
        DataError, match=r"orders: 3 rows fail bad_amount .*quality\.bad_amount: fail"
    ):
        _run(tmp_path, _rule(tmp_path, "{bad_amount: fail, null_customer_id: drop}"))
    assert out.read_bytes() == b"previous"
    assert not list(tmp_path.glob(".out.parquet.*.tmp"))


def test_unknown_checks_and_policies_are_rule_errors(tmp_path: Path) -> None:
    with pytest.raises(
        RuleSetError, match=r"unknown quality check 'bad_amout'.*did you mean 'bad_amount'"
    ):
        _run(tmp_path, _rule(tmp_path, "{bad_amout: drop}"))
    with pytest.raises(RuleSetError, match="null_customer_id' can be drop or fail, not 'keep'"):
        _run(tmp_path, _rule(tmp_path, "{null_customer_id: keep}"))


@pytest.mark.parametrize("universe", ["orders", "customers"])
def test_blank_ids_of_any_whitespace_are_left_out_and_counted(
    tmp_path: Path, universe: str
) -> None:
    from segrule.testing import customer_frame, event_frame, feedback_frame, order_frame

    blanks = ["", " ", "\t", "\u3000", "\u00a0 ", "\u2003"]
    ids = ["a", " a", "中", *blanks]  # ' a' and '中' are ids, not blanks
    orders = order_frame([(cid, days_before(2), 10.0) for cid in ids])
    events = event_frame([(cid, days_before(1), "campaign_click") for cid in [*ids, None]])
    feedback = feedback_frame([(cid, days_before(1), 4.0) for cid in ids])
    tables = {"orders": orders, "events": events, "feedback": feedback}
    if universe == "customers":
        tables["customers"] = customer_frame([*ids, {"customer_id": None}])
    out = tmp_path / "out.parquet"
    result = segrule.run(
        ["taobao-5-tier"], out, tables, as_of=AS_OF, engine=segrule.Engine(autoload=False)
    )
    assert sorted(pl.read_parquet(out)["customer_id"]) == sorted(["a", " a", "中"])
    counted = {
        (q["table"], q["check"]): q["rows"]
        for q in result.quality
        if q["check"] == "null_customer_id"
    }
    assert counted[("orders", "null_customer_id")] == len(blanks)
    assert counted[("events", "null_customer_id")] == len(blanks) + 1
    if universe == "customers":
        assert counted[("customers", "null_customer_id")] == len(blanks) + 1
    rows = {r["customer_id"]: r for r in pl.read_parquet(out).iter_rows(named=True)}
    assert rows["中"]["orders_lifetime"] == 1 and rows[" a"]["orders_lifetime"] == 1
