"""expr: dimensions adding and subtracting money stay exact (integer cents inside)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
import segrule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segrule.model.money import cents_sql

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)
RULES = """
dimensions:
  older_spend: {expr: "monetary_365d - monetary_30d"}
  paid_sum: {aggregate: "sum(amount)", where: "status = 'paid'"}
  adjusted: {expr: "(older_spend - paid_sum) + 0.1 - -2.35"}
  ratio: {expr: "monetary_365d / 3"}
segments:
  same_as_written:
    cases: [{when: "older_spend = 5290.23", label: "yes"}]
    default: "no"
outputs: [customer_id, monetary_365d, monetary_30d, older_spend, paid_sum, adjusted, ratio,
          same_as_written]
"""


def test_the_reported_case_is_exact(rules, make_tables) -> None:
    tables = make_tables(
        orders=[
            ("a", AS_OF - dt.timedelta(days=31), 5000.1),
            ("a", AS_OF - dt.timedelta(days=100), 290.13),
            ("a", AS_OF - dt.timedelta(days=1), 0.19),
        ]
    )
    out = segrule.score(rules("m.yaml", RULES), tables, as_of=AS_OF)
    assert isinstance(out, pl.DataFrame)
    row = out.row(0, named=True)
    assert row["monetary_365d"] - row["monetary_30d"] == 5290.2300000000005  # floats
    assert row["older_spend"] == 5290.23 and row["same_as_written"] == "yes"
    assert row["adjusted"] == float(Decimal("5290.23") - Decimal("5290.42") + Decimal("2.45"))
    assert row["ratio"] == pytest.approx(5290.42 / 3)  # not money arithmetic: a float


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cents=st.lists(st.integers(0, 10**9), min_size=1, max_size=12),
    days=st.lists(st.integers(0, 400), min_size=12, max_size=12),
)
def test_differences_equal_decimal_arithmetic(rules, make_tables, cents, days) -> None:
    rows = [
        ("a", AS_OF - dt.timedelta(days=d, hours=1), c / 100)
        for c, d in zip(cents, days, strict=False)
    ]
    out = segrule.score(rules("m.yaml", RULES), make_tables(orders=rows), as_of=AS_OF)
    assert isinstance(out, pl.DataFrame)
    pairs = list(zip(cents, days, strict=False))
    year = sum((Decimal(c) for c, d in pairs if d < 365), Decimal(0)) / 100
    month = sum((Decimal(c) for c, d in pairs if d < 30), Decimal(0)) / 100
    total = sum((Decimal(c) for c in cents), Decimal(0)) / 100
    row = out.row(0, named=True)
    assert row["older_spend"] == float(year - month)
    assert row["adjusted"] == float(year - month - total + Decimal("2.45"))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("m1 - m2", '"_m1_cents" - "_m2_cents"'),
        ("m1 + 0.05", '"_m1_cents" + 5'),
        ("m1 - 0.001", None),  # a third decimal is not money
        ("m1 * 2", None),
        ("m1 - other", None),  # not a money value
        ("CASE WHEN m1 > 0 THEN m1 END", None),
        ("1 + 2", None),  # no money value
    ],
)
def test_which_expressions_are_computed_in_cents(sql: str, expected: str | None) -> None:
    assert cents_sql(sql, {"m1": "_m1_cents", "m2": "_m2_cents"}) == expected
