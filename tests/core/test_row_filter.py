"""Rows no aggregate reads are dropped before the group-by, without changing a value.

Every aggregate of a table declares the rows it reads (its mask); when all do, the
table is filtered to their union. A customer whose rows all fail the masks must still
get what the aggregates give (0 for counts and sums, null for min/max) and aggregates
whose empty value differs from their fill (all(), a custom fill) keep every row.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import segrule
from segrule.engine.stages import aggregate_frame, rows_read
from segrule.testing import days_before, make_tables, score_rows

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")


def _tables() -> dict:
    return make_tables(
        orders=[
            ("paid1", days_before(10), 100.0),
            ("paid1", days_before(400), 50.0),
            ("unpaid", days_before(5), 70.0, "refunded"),
            ("unpaid", days_before(6), 30.0, "cancelled"),
        ],
        customers=["paid1", "unpaid", "none"],
    )


def _rule(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text("name: r\n" + body)
    return path


def test_paid_only_dimensions_filter_orders_to_paid_rows() -> None:
    plan = segrule.compile(["rfm"], _tables(), as_of=days_before(0))
    orders = [n for n in plan.nodes.values() if n.kind == "aggregate" and n.table == "orders"]
    assert rows_read(orders) is not None
    assert "paid" in plan.frame.explain()


def test_customers_whose_rows_all_fail_get_the_empty_values(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "dimensions:\n"
        "  refunds_90d: {aggregate: 'count(*)', where: \"status = 'refunded'\", window: 90d}\n"
        "outputs: [customer_id, orders_lifetime, monetary_lifetime, last_order_ts,"
        " refunds_90d]\n",
    )
    out = score_rows(rule, _tables(), as_of=days_before(0)).sort("customer_id")
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert rows["unpaid"]["orders_lifetime"] == 0
    assert rows["unpaid"]["monetary_lifetime"] == 0
    assert rows["unpaid"]["last_order_ts"] is None
    assert rows["unpaid"]["refunds_90d"] == 1
    assert rows["none"]["refunds_90d"] == 0
    assert rows["paid1"]["monetary_lifetime"] == 150.0


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        # all() over no matching rows is true; a customer without orders gets null
        (
            "{aggregate: 'all(amount > 60)', where: \"status = 'paid'\"}",
            {"unpaid": True, "none": None, "paid1": False},
        ),
        # sum over no matching rows is 0; a customer without orders gets the fill
        (
            "{aggregate: 'sum(amount)', where: \"status = 'paid'\", fill: -1}",
            {"unpaid": 0, "none": -1, "paid1": 150},
        ),
    ],
    ids=["all", "custom-fill"],
)
def test_aggregates_whose_empty_value_is_not_the_fill_keep_every_row(
    tmp_path: Path, dimension: str, expected: dict
) -> None:
    rule = _rule(tmp_path, f"dimensions:\n  d: {dimension}\noutputs: [customer_id, d]\n")
    tables = _tables()
    plan = segrule.compile([str(rule)], tables, as_of=days_before(0))
    orders = [n for n in plan.nodes.values() if n.kind == "aggregate" and n.table == "orders"]
    assert rows_read(orders) is None
    out = score_rows(rule, tables, as_of=days_before(0))
    assert {r["customer_id"]: r["d"] for r in out.iter_rows(named=True)} == expected


def test_orders_universe_keeps_customers_without_a_paid_order() -> None:
    # Without a customers table the universe is the order customers: a customer with
    # only refunded orders must not vanish with the paid-only filter.
    tables = _tables()
    del tables["customers"]
    plan = segrule.compile(["rfm"], tables, as_of=days_before(0))
    ids = aggregate_frame(plan.nodes, plan.loaded).collect()["customer_id"].to_list()
    assert sorted(ids) == ["paid1", "unpaid"]
