"""Limits: huge ids, strings and amounts; no rows; one customer; identical customers;
a customer with a million orders; a segment with 10,000 labels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import segrule
import yaml
from segrule.testing import ORDER_SCHEMA, days_before, make_tables, score_rows

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")
AS_OF = days_before(0)
RFM_PARETO = ["rfm", "pareto-80-20"]


def test_huge_ids_and_strings() -> None:
    long_id = "客" * 10_000
    huge_city = "城" * 1_000_000
    tables = make_tables(
        orders=[(long_id, days_before(2), 10.0), ("c2", days_before(3), 20.0)],
        customers=[{"customer_id": long_id, "city": huge_city}, {"customer_id": "c2"}],
    )
    out = score_rows(["rfm"], tables, as_of=AS_OF)
    assert sorted(out["customer_id"].to_list()) == sorted([long_id, "c2"])
    # integer ids beyond Int64 arrive as UInt64 and stay UInt64, in numeric order
    orders = pl.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "customer_id": [2**64 - 1, 7],
            "order_ts": [days_before(2), days_before(3)],
            "amount": [1.0, 2.0],
            "status": ["paid", "paid"],
        },
        schema_overrides={"customer_id": pl.UInt64},
    )
    out = score_rows(["rfm"], {"orders": orders}, as_of=AS_OF)
    assert out["customer_id"].to_list() == [7, 2**64 - 1]
    assert out.schema["customer_id"] == pl.UInt64


def test_huge_amounts_are_exact_up_to_int64_cents_then_bad_amounts(tmp_path: Path) -> None:
    tables = make_tables(orders=[("c1", days_before(3), 9e15), ("c1", days_before(4), 0.01)])
    out = score_rows(["rfm"], tables, as_of=AS_OF)
    assert out["monetary_lifetime"].to_list() == [9_000_000_000_000_000.01]
    # beyond int64 cents: a bad amount, dropped by default and counted
    tables = make_tables(orders=[("c1", days_before(3), 1e17), ("c1", days_before(4), 0.01)])
    engine = segrule.Engine(autoload=False)
    result = segrule.run(["rfm"], tmp_path / "o.parquet", tables, as_of=AS_OF, engine=engine)
    assert pl.read_parquet(tmp_path / "o.parquet")["monetary_lifetime"].to_list() == [0.01]
    bad = [q for q in result.quality if q["check"] == "bad_amount"]
    assert bad == [{"table": "orders", "check": "bad_amount", "action": "drop", "rows": 1}]


def test_no_rows_at_all() -> None:
    empty = pl.DataFrame(schema=ORDER_SCHEMA)
    out = score_rows(RFM_PARETO, {"orders": empty}, as_of=AS_OF)
    assert out.height == 0
    assert out.columns[0] == "customer_id" and "rfm_segment" in out.columns
    # with a customers table, every customer is a row: no purchase, not key
    out = score_rows(
        RFM_PARETO, {"orders": empty, **make_tables(customers=["a", "b"])}, as_of=AS_OF
    )
    assert out["rfm_segment"].to_list() == ["no_purchase", "no_purchase"]
    assert out["pareto_key"].to_list() == [False, False]


def test_one_customer() -> None:
    tables = make_tables(orders=[("only", days_before(5), 42.0)])
    row = score_rows(RFM_PARETO, tables, as_of=AS_OF).row(0, named=True)
    assert (row["r_score"], row["f_score"], row["m_score"]) == (1, 1, 1)
    assert row["pareto_key"] is True


def test_identical_customers_are_ordered_by_id() -> None:
    ids = ["g", "a", "f", "b", "e", "c", "d"]
    tables = make_tables(orders=[(c, days_before(5), 100.0) for c in ids])
    out = score_rows(RFM_PARETO, tables, as_of=AS_OF)
    assert out["customer_id"].to_list() == sorted(ids)
    # SQL NTILE(5) over 7 rows: buckets of 2, 2, 1, 1, 1, ties broken by customer_id
    assert out["f_score"].to_list() == [1, 1, 2, 2, 3, 4, 5]
    assert out["m_score"].to_list() == [1, 1, 2, 2, 3, 4, 5]
    # recency: larger days rank first (descending), equal days keep id order
    assert out["r_score"].to_list() == [1, 1, 2, 2, 3, 4, 5]
    # 80% of 7 equal shares: the customers with fewer than 5.6 shares before them
    assert out["pareto_key"].to_list() == [True] * 6 + [False]


@pytest.mark.slow
def test_a_customer_with_a_million_orders() -> None:
    n = 1_000_000
    start = days_before(700)
    orders = pl.DataFrame(
        {
            "order_id": pl.int_range(n, eager=True).cast(pl.String),
            "customer_id": ["whale"] * n,
            "order_ts": pl.datetime_range(
                start, start + dt.timedelta(seconds=n - 1), "1s", eager=True
            ),
            "amount": [0.01] * n,
            "status": ["paid"] * n,
        }
    )
    small = make_tables(orders=[("minnow", days_before(1), 5.0)])["orders"]
    tables = {"orders": pl.concat([orders, small.select(orders.columns)])}
    out = score_rows(RFM_PARETO, tables, as_of=AS_OF)
    whale = out.filter(pl.col("customer_id") == "whale").row(0, named=True)
    assert whale["orders_lifetime"] == n
    assert whale["monetary_lifetime"] == 10_000.0  # exact: a million cents
    assert whale["pareto_key"] is True


def test_a_segment_with_ten_thousand_labels(tmp_path: Path) -> None:
    n = 10_000
    cases = [{"when": f"orders_lifetime = {i}", "label": f"label_{i}"} for i in range(n)]
    cases.insert(0, {"when": "orders_lifetime >= 3", "label": "three_or_more"})
    rule = tmp_path / "many.yaml"
    rule.write_text(
        yaml.safe_dump(
            {
                "name": "many",
                "segments": {"bucket": {"cases": cases, "default": "rest"}},
                "outputs": ["customer_id", "orders_lifetime", "bucket"],
            }
        )
    )
    tables = make_tables(
        orders=[
            ("c1", days_before(3), 1.0),
            ("c2", days_before(3), 1.0),
            ("c2", days_before(4), 1.0),
            *[("c3", days_before(5 + i), 1.0) for i in range(4)],
            ("c4", days_before(3), 1.0, "refunded"),
        ],
        customers=["c1", "c2", "c3", "c4"],
    )
    out = score_rows(str(rule), tables, as_of=AS_OF)
    # first match wins: c3 (4 orders) matches the first case, not label_4
    assert dict(zip(out["customer_id"], out["bucket"], strict=True)) == {
        "c1": "label_1",
        "c2": "label_2",
        "c3": "three_or_more",
        "c4": "label_0",
    }


def test_long_and_short_ladders_agree_on_nulls_and_overlaps(tmp_path: Path) -> None:
    # A ladder over the long-ladder threshold is built flat; it must pick the same
    # labels as the when/then chain, also when conditions are NULL (no match).
    base = [
        {"when": "feedback_mean >= 90", "label": "great"},
        {"when": "feedback_mean >= 60 AND orders_lifetime > 1", "label": "good_regular"},
        {"when": "feedback_mean >= 60", "label": "good"},
        {"when": "orders_lifetime = 0", "label": "prospect"},
    ]
    padding = [{"when": f"orders_lifetime = {1000 + i}", "label": f"p{i}"} for i in range(40)]
    outs = []
    for name, cases in (("short", base), ("long", base + padding)):
        rule = tmp_path / f"{name}.yaml"
        rule.write_text(
            yaml.safe_dump(
                {
                    "name": name,
                    "segments": {"s": {"cases": cases, "default": "other"}},
                    "outputs": ["customer_id", "s"],
                }
            )
        )
        tables = make_tables(
            orders=[
                ("a", days_before(2), 1.0),
                ("a", days_before(3), 1.0),
                ("b", days_before(2), 1.0),
            ],
            customers=["a", "b", "c", "d"],
            feedback=[
                ("a", days_before(1), 70),
                ("b", days_before(1), 95),
                ("d", days_before(1), 10),
            ],
        )
        outs.append(score_rows(str(rule), tables, as_of=AS_OF))
    assert outs[0].equals(outs[1])
    assert outs[0]["s"].to_list() == ["good_regular", "great", "prospect", "prospect"]
