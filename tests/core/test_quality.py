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
    # The orders above are mostly bad on purpose: no share of rejected rows fails here.
    inner = "max_rejected_share: 1" + (f", {quality.strip('{}')}" if quality else "")
    rule = tmp_path / "r.yaml"
    rule.write_text(
        "name: r\nextends: rfm\ntables:\n  orders:\n    where: \"status <> 'pending'\"\n"
        f"    quality: {{{inner}}}\n"
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
        "rounded_amount": ("keep", 0),
        "unknown_status": ("keep", 0),
        "where": ("filtered", 1),
        "duplicate_order_id": ("drop", 0),
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
    # Two thirds of every table are blank ids on purpose: no share of rejects fails.
    rule = tmp_path / "r.yaml"
    rule.write_text(
        "name: r\nextends: taobao-5-tier\ntables:\n"
        + "".join(
            f"  {t}: {{quality: {{max_rejected_share: 1}}}}\n"
            for t in ("orders", "events", "feedback", "customers")
        )
    )
    result = segrule.run(
        [str(rule)], out, tables, as_of=AS_OF, engine=segrule.Engine(autoload=False)
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


COUNT_RULE = """name: r
dimensions:
  rows_all: {table: orders, aggregate: "count(*)"}
  spend_all: {table: orders, aggregate: "sum(amount)"}
outputs: [rows_all, spend_all, orders_lifetime, monetary_lifetime]
"""


def _score(
    tmp_path: Path, quality: str, tables: dict[str, pl.DataFrame], **kw: object
) -> tuple[segrule.RunResult, dict[str, dict[str, object]]]:
    rule = tmp_path / "q.yaml"
    text = COUNT_RULE
    if quality:
        text += quality
    rule.write_text(text)
    out = tmp_path / "out.parquet"
    result = segrule.run(
        [str(rule)], out, tables, as_of=AS_OF, engine=segrule.Engine(autoload=False), **kw
    )
    rows = {r["customer_id"]: r for r in pl.read_parquet(out).iter_rows(named=True)}
    return result, rows


def _table_counts(result: segrule.RunResult, table: str) -> dict[str, tuple[str, int | None]]:
    return {q["check"]: (q["action"], q["rows"]) for q in result.quality if q["table"] == table}


def test_unknown_statuses_are_kept_by_default_and_can_be_dropped(tmp_path: Path) -> None:
    from segrule.testing import order_frame

    orders = order_frame(
        [
            ("a", days_before(3), 10.0, "paid"),
            ("a", days_before(2), 5.0, "WEIRD"),
            ("a", days_before(1), 7.0, None),
            ("b", days_before(1), 3.0, "SHIPPED"),
        ]
    )
    result, rows = _score(tmp_path, "", {"orders": orders})
    assert _table_counts(result, "orders")["unknown_status"] == ("keep", 3)
    assert rows["a"]["rows_all"] == 3 and rows["a"]["orders_lifetime"] == 1
    assert rows["b"]["rows_all"] == 1 and rows["b"]["orders_lifetime"] == 0

    quality = "tables:\n  orders:\n    quality: {unknown_status: drop, max_rejected_share: 1}\n"
    result, rows = _score(tmp_path, quality, {"orders": orders})
    assert _table_counts(result, "orders")["unknown_status"] == ("drop", 3)
    assert _table_counts(result, "orders")["rows_used"] == ("", 1)
    assert rows["a"]["rows_all"] == 1 and "b" not in rows

    # status_values maps first: a mapped value is known
    quality = "tables:\n  orders:\n    status_values: {paid: [SHIPPED]}\n"
    result, rows = _score(tmp_path, quality, {"orders": orders})
    assert _table_counts(result, "orders")["unknown_status"] == ("keep", 2)
    assert rows["b"]["orders_lifetime"] == 1


def test_rows_of_customers_outside_the_universe_are_counted(tmp_path: Path) -> None:
    from segrule.testing import customer_frame, event_frame, order_frame

    orders = order_frame([("a", days_before(3), 10.0), ("x", days_before(2), 5.0)])
    events = event_frame([("y", days_before(1), "campaign"), ("a", days_before(1), "campaign")])
    tables = {"orders": orders, "customers": customer_frame(["a", "b"]), "events": events}
    rule = "name: r\nextends: taobao-5-tier\n"
    (tmp_path / "t.yaml").write_text(rule)
    out = tmp_path / "o.parquet"
    engine = segrule.Engine(autoload=False)
    feedback = {"feedback": _empty_feedback()}
    result = segrule.run(
        [str(tmp_path / "t.yaml")], out, {**tables, **feedback}, as_of=AS_OF, engine=engine
    )
    assert _table_counts(result, "orders")["unknown_customer"] == ("drop", 1)
    assert _table_counts(result, "orders")["rows_used"] == ("", 1)
    assert _table_counts(result, "events")["unknown_customer"] == ("drop", 1)
    assert "unknown_customer" not in _table_counts(result, "customers")
    assert sorted(pl.read_parquet(out)["customer_id"]) == ["a", "b"]

    (tmp_path / "t.yaml").write_text(
        rule + "tables:\n  orders:\n    quality: {unknown_customer: fail}\n"
    )
    with pytest.raises(
        segrule.DataQualityError, match=r"orders: 1 rows fail unknown_customer"
    ) as ei:
        segrule.run(
            [str(tmp_path / "t.yaml")], out, {**tables, **feedback}, as_of=AS_OF, engine=engine
        )
    # A typed error (a DataError) carrying the report that made the run fail.
    assert isinstance(ei.value, DataError)
    failing = [r for r in ei.value.quality if r["action"] == "fail"]
    assert failing == [
        {"table": "orders", "check": "unknown_customer", "action": "fail", "rows": 1}
    ]

    (tmp_path / "t.yaml").write_text(
        rule + "tables:\n  orders:\n    quality: {unknown_customer: unchecked}\n"
    )
    result = segrule.run(
        [str(tmp_path / "t.yaml")], out, {**tables, **feedback}, as_of=AS_OF, engine=engine
    )
    assert _table_counts(result, "orders")["unknown_customer"] == ("unchecked", None)


def _empty_feedback() -> pl.DataFrame:
    from segrule.testing import feedback_frame

    return feedback_frame([])


def _dup_orders() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o2", "o3", "o4", "o4"],
            "customer_id": ["a", "a", "a", "a", "b", "b", "b"],
            "order_ts": [
                days_before(5),
                days_before(2),  # o1 again, later, another amount: dropped
                days_before(4),
                days_before(4),  # o2 twice, identical
                days_before(3),
                days_before(1),
                days_before(1),  # o4 twice at the same time, amounts differ
            ],
            "amount": [10.0, 99.0, 20.0, 20.0, 30.0, 8.0, 6.0],
            "status": ["paid"] * 7,
        },
        schema={
            k: ORDER_SCHEMA[k] for k in ["order_id", "customer_id", "order_ts", "amount", "status"]
        },
    )


def test_duplicate_orders_keep_the_first_by_time(tmp_path: Path) -> None:
    orders = _dup_orders()
    result, rows = _score(tmp_path, "", {"orders": orders})
    assert _table_counts(result, "orders")["duplicate_order_id"] == ("drop", 3)
    assert _table_counts(result, "orders")["rows_used"] == ("", 4)
    assert rows["a"]["rows_all"] == 2 and rows["a"]["spend_all"] == 30.0
    # o4: same time: the tie is broken by the other columns (amount 6 sorts first),
    # whatever the input order
    assert rows["b"]["rows_all"] == 2 and rows["b"]["spend_all"] == 36.0
    # in order, duplicates are neighbours; shuffled, they are found by hashing
    for seed in range(3):
        shuffled = orders.sample(fraction=1.0, shuffle=True, seed=seed)
        assert not shuffled["order_id"].is_sorted()
        shuffled_result, again = _score(tmp_path, "", {"orders": shuffled})
        assert again == rows
        assert _table_counts(shuffled_result, "orders") == _table_counts(result, "orders")
    # the Python API drops them too
    frame = segrule.score(
        [str(tmp_path / "q.yaml")],
        {"orders": orders},
        as_of=AS_OF,
        engine=segrule.Engine(autoload=False),
    )
    assert frame.sort("customer_id")["spend_all"].to_list() == [30.0, 36.0]

    result, rows = _score(
        tmp_path,
        "tables:\n  orders:\n    quality: {duplicate_order_id: keep}\n",
        {"orders": orders},
    )
    assert _table_counts(result, "orders")["duplicate_order_id"] == ("keep", 3)
    assert rows["a"]["rows_all"] == 4 and rows["a"]["spend_all"] == 149.0

    with pytest.raises(DataError, match=r"orders: 3 rows fail duplicate_order_id"):
        _score(
            tmp_path,
            "tables:\n  orders:\n    quality: {duplicate_order_id: fail}\n",
            {"orders": orders},
        )

    result, rows = _score(
        tmp_path,
        "tables:\n  orders:\n    quality: {duplicate_order_id: unchecked}\n",
        {"orders": orders},
    )
    assert _table_counts(result, "orders")["duplicate_order_id"] == ("unchecked", None)
    assert rows["a"]["rows_all"] == 4


def test_duplicates_are_looked_for_after_where_and_other_checks(tmp_path: Path) -> None:
    orders = _dup_orders().with_columns(
        pl.when(pl.col("amount") == 10.0)
        .then(pl.lit("pending"))
        .otherwise("status")
        .alias("status")
    )
    # o1's first row is pending: with where status = 'paid', the later paid row is the order
    quality = "tables:\n  orders:\n    where: \"status = 'paid'\"\n"
    result, rows = _score(tmp_path, quality, {"orders": orders})
    assert _table_counts(result, "orders")["where"] == ("filtered", 1)
    assert _table_counts(result, "orders")["duplicate_order_id"] == ("drop", 2)
    assert rows["a"]["spend_all"] == 119.0


def test_rejects_hold_the_rows_as_read_with_their_reason(tmp_path: Path) -> None:
    orders = pl.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o5", "o6", "o7"],
            "customer_id": ["a", "a", "", "b", "b", "b", "c", None],
            "order_ts": [
                "2026-10-01 10:00:00",
                "not a time",
                "2026-10-02 10:00:00",
                "2026-10-03 10:00:00",
                "2026-10-04 10:00:00",
                "2026-10-05 10:00:00",
                "2026-12-01 10:00:00",  # after as-of: out of scope, not rejected
                "2026-12-01 10:00:00",  # no id, and after as-of: counted as no id first
            ],
            "amount": ["10", "20", "30", "abc", "50", "60", "70", "80"],
            "status": ["paid"] * 8,
        }
    )
    rejects = tmp_path / "rejects"
    quality = "tables:\n  orders:\n    quality: {max_rejected_share: 1}\n"
    result, rows = _score(tmp_path, quality, {"orders": orders}, rejects=rejects)
    assert result.rejects == {"orders": 5}
    got = pl.read_parquet(rejects / "orders.parquet")
    assert got.columns == ["order_id", "customer_id", "order_ts", "amount", "status", "reason"]
    assert sorted(
        zip(got["order_id"], got["order_ts"], got["amount"], got["reason"], strict=True)
    ) == [
        ("o2", "not a time", "20", "bad_timestamp"),
        ("o3", "2026-10-02 10:00:00", "30", "null_customer_id"),
        ("o4", "2026-10-03 10:00:00", "abc", "bad_amount"),
        ("o5", "2026-10-05 10:00:00", "60", "duplicate_order_id"),
        ("o7", "2026-12-01 10:00:00", "80", "null_customer_id"),
    ]
    counts = _table_counts(result, "orders")
    dropped = sum(n or 0 for c, (a, n) in counts.items() if a == "drop")
    assert dropped == got.height
    assert sorted(rows) == ["a", "b"]


def test_clean_tables_write_no_rejects(tmp_path: Path) -> None:
    from segrule.testing import order_frame

    orders = order_frame([("a", days_before(3), 10.0), ("b", days_before(2), 5.0)])
    result, _ = _score(tmp_path, "", {"orders": orders}, rejects=tmp_path / "rejects")
    assert result.rejects == {}
    assert not list((tmp_path / "rejects").glob("*.parquet"))


def test_a_duplicate_of_an_unknown_customer_is_not_a_duplicate(tmp_path: Path) -> None:
    from segrule.testing import customer_frame

    orders = pl.DataFrame(
        {
            "order_id": ["o1", "o1", "o2"],
            "customer_id": ["x", "a", "a"],  # x is not a customer
            "order_ts": [days_before(5), days_before(2), days_before(1)],
            "amount": [1.0, 10.0, 20.0],
            "status": ["paid"] * 3,
        },
        schema={
            k: ORDER_SCHEMA[k] for k in ["order_id", "customer_id", "order_ts", "amount", "status"]
        },
    )
    tables = {"orders": orders, "customers": customer_frame(["a"])}
    result, rows = _score(tmp_path, "", tables)
    assert _table_counts(result, "orders")["unknown_customer"] == ("drop", 1)
    assert _table_counts(result, "orders")["duplicate_order_id"] == ("drop", 0)
    assert rows["a"]["spend_all"] == 30.0


def test_duplicates_found_the_same_in_several_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segrule.engine.quality

    orders = _dup_orders().sample(fraction=1.0, shuffle=True, seed=1)  # not in order: hashed
    assert not orders["order_id"].is_sorted()
    result, rows = _score(tmp_path, "", {"orders": orders})
    monkeypatch.setattr(segrule.engine.quality, "DUPLICATE_PASS_ROWS", 2)  # 4 passes for 7 rows
    again, rows_again = _score(tmp_path, "", {"orders": orders})
    assert again.quality == result.quality and rows_again == rows
    assert _table_counts(again, "orders")["duplicate_order_id"] == ("drop", 3)


@pytest.mark.parametrize(
    "ids",
    [
        ["o1", None, "o1", "o2"],  # in order once nulls are set aside
        ["o2", "o1", None, "o1"],  # not in order
        ["o1", "o2", "o3", "o1"],  # in order at first, not at the end
    ],
)
def test_duplicates_in_and_out_of_order(tmp_path: Path, ids: list[str | None]) -> None:
    from segrule.testing import order_frame

    orders = order_frame(
        [("a", days_before(10 - i), 1.0 + i) for i in range(len(ids))]
    ).with_columns(pl.Series("order_id", ids, dtype=pl.String))
    result, rows = _score(tmp_path, "", {"orders": orders})
    assert _table_counts(result, "orders")["duplicate_order_id"] == ("drop", 1)
    assert rows["a"]["rows_all"] == len(ids) - 1


def test_unknown_customer_policy_is_accepted_without_a_customers_table(tmp_path: Path) -> None:
    from segrule.testing import order_frame

    orders = order_frame([("a", days_before(3), 10.0)])
    quality = "tables:\n  orders:\n    quality: {unknown_customer: fail}\n"
    result, rows = _score(tmp_path, quality, {"orders": orders})  # orders are the universe
    assert "unknown_customer" not in _table_counts(result, "orders")
    assert list(rows) == ["a"]


def test_a_csv_with_bad_values_late_in_the_file_counts_them(tmp_path: Path) -> None:
    # Types inferred from the first rows made a bad value further down fail the run.
    lines = ["order_id,customer_id,order_ts,amount,status"]
    lines += [f"o{i},00{i % 7},2026-10-{1 + i % 28:02d} 10:00:00,{i}.5,paid" for i in range(300)]
    lines += ["x1,001,garbage,5,paid", "x2,002,2026-10-03 10:00:00,abc,paid"]
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects"
    result, rows = _score(tmp_path, "", {"orders": str(tmp_path / "orders.csv")}, rejects=rejects)
    counts = _table_counts(result, "orders")
    assert counts["bad_timestamp"] == ("drop", 1) and counts["bad_amount"] == ("drop", 1)
    assert counts["rows_used"] == ("", 300)
    assert sorted(rows) == [f"00{i}" for i in range(7)]  # ids keep their leading zeros
    got = pl.read_parquet(rejects / "orders.parquet")
    assert sorted(zip(got["order_ts"], got["amount"], strict=True)) == [
        ("2026-10-03 10:00:00", "abc"),
        ("garbage", "5"),
    ]


def test_status_values_on_a_categorical_status(tmp_path: Path) -> None:
    from segrule.testing import order_frame

    orders = order_frame(
        [("a", days_before(3), 10.0, "DONE"), ("b", days_before(2), 5.0, "WEIRD")]
    ).with_columns(pl.col("status").cast(pl.Categorical))
    quality = "tables:\n  orders:\n    status_values: {paid: [DONE]}\n"
    result, rows = _score(tmp_path, quality, {"orders": orders})
    assert rows["a"]["orders_lifetime"] == 1 and rows["b"]["orders_lifetime"] == 0
    assert _table_counts(result, "orders")["unknown_status"] == ("keep", 1)
