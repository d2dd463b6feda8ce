"""Order rhythm, revenue trend, account and value-matrix dimensions on hand-made rows.

As-of 2026-11-01 00:00. The 365-day period is [2025-11-01, 2026-11-01); the previous one
[2024-11-01, 2025-11-01).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import segrule_b2b.hooks as plugin
from segrule.errors import SegruleError
from segrule.testing import days_before, frame, make_tables, score_rows

ago = days_before
D = dt.datetime

ACC_SCHEMA = {
    "customer_id": pl.String(),
    "company": pl.String(),
    "country": pl.String(),
    "business_type": pl.String(),
    "margin": pl.Float64(),
}

ORDERS = [
    # r1: four order days 30 days apart (two orders on 2026-04-01), a refund ignored
    ("r1", D(2026, 1, 1, 10), 100.10),
    ("r1", D(2026, 1, 31, 8), 200.20),
    ("r1", D(2026, 3, 2, 12), 300.30),
    ("r1", D(2026, 4, 1, 9), 400.40),
    ("r1", D(2026, 4, 1, 15), 0.01),
    ("r1", D(2026, 5, 1), 999.0, "refunded"),
    # r2: the period boundary: 2025-10-31 23:59:59 is previous, 2025-11-01 00:00 current
    ("r2", D(2024, 12, 1), 1000.00),
    ("r2", D(2025, 10, 31, 23, 59, 59), 500.00),
    ("r2", D(2025, 11, 1), 3000.00),
    ("r2", D(2026, 10, 31), 1.00),
    # r3: two order days, 10 days apart
    ("r3", D(2026, 6, 1), 50.0),
    ("r3", D(2026, 6, 11), 50.0),
    # r4: one order
    ("r4", D(2026, 7, 1), 10.0),
    # r5: only a cancelled order
    ("r5", D(2026, 7, 1), 10.0, "cancelled"),
    # r7: at the as-of instant: never counts
    ("r7", D(2026, 11, 1), 10.0),
    # r8: gaps 2 and 3 days: mean 2.5 rounds half to even -> 2
    ("r8", D(2026, 10, 1), 1.0),
    ("r8", D(2026, 10, 3), 1.0),
    ("r8", D(2026, 10, 6), 1.0),
]
CUSTOMERS = ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"]
ACCOUNTS = [
    {"customer_id": "r1", "margin": 0.2, "country": "Germany", "business_type": "importer"},
    {"customer_id": "r2", "margin": 0.3, "country": "France"},
    {"customer_id": "r2", "margin": 0.25, "country": None, "business_type": "retailer"},
    {"customer_id": "r3", "margin": None, "country": "Chile"},
]


def _tables() -> dict[str, pl.DataFrame]:
    tables = make_tables(orders=ORDERS, customers=CUSTOMERS)
    tables["b2b_accounts"] = frame(ACCOUNTS, ACC_SCHEMA)
    return tables


def _score(segrule_engine, segrule_rules, text: str, tables=None) -> pl.DataFrame:
    rules = segrule_rules("r.yaml", text)
    return score_rows(rules, tables or _tables(), engine=segrule_engine(plugin))


def test_order_rhythm(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        outputs: [customer_id, b2b_order_days_lifetime, b2b_order_gap_mean_days, b2b_order_gap_cv,
                  b2b_next_order_date, b2b_days_overdue, b2b_order_span_days,
                  b2b_active_quarters_lifetime]
        """,
    )
    rows = {r[0]: r[1:] for r in df.rows()}
    # r1: days 01-01, 01-31, 03-02, 04-01: gaps 30, 30, 30 -> cv 0; next 2026-05-01, 184 days
    # late; span 2026-01-01 10:00 .. 2026-04-01 15:00 = 90 whole days; Q1 and Q2.
    assert rows["r1"] == (4, 30.0, 0.0, dt.date(2026, 5, 1), 184, 90, 2)
    # r2: gaps 334, 1, 364 -> mean 233; sample sd = sqrt((101^2 + 232^2 + 131^2) / 2)
    cv = round((40593**0.5) / 233, 6)
    assert rows["r2"] == (4, 233.0, cv, dt.date(2027, 6, 21), -232, 699, 3)
    assert rows["r3"] == (2, 10.0, None, dt.date(2026, 6, 21), 133, 10, 1)  # one gap: no cv
    assert rows["r4"] == (1, None, None, None, None, 0, 1)
    assert rows["r5"] == (0, None, None, None, None, None, 0)  # cancelled only
    assert rows["r6"] == (0, None, None, None, None, None, 0)  # no orders at all
    assert rows["r7"] == (0, None, None, None, None, None, 0)  # at the as-of: excluded
    # r8: gaps 2, 3: mean 2.5 -> next = 10-06 + 2 days (half to even); sd(2,3) = 0.7071
    assert rows["r8"] == (3, 2.5, round(0.5**0.5 / 2.5, 6), dt.date(2026, 10, 8), 24, 5, 1)


def test_gap_list_and_two_uses_in_one_rule_set(segrule_engine, segrule_rules) -> None:
    """The gap list is one registered dimension, so several users share it."""
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        dimensions:
          mean_gap: {use: b2b_order_gap_mean_days}
          gap_cv: {use: b2b_order_gap_cv}
        outputs: [customer_id, b2b_order_gaps, mean_gap, gap_cv]
        """,
    )
    rows = {r[0]: r[1:] for r in df.rows()}
    assert rows["r1"] == ([30, 30, 30], 30.0, 0.0)
    assert rows["r2"] == ([334, 1, 364], 233.0, round((40593**0.5) / 233, 6))
    assert rows["r4"] == ([], None, None)  # one order day
    assert rows["r5"] == ([], None, None)  # orders, none paid
    assert rows["r6"] == (None, None, None)  # no orders at all


def test_windowed_rhythm(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        "outputs: [customer_id, b2b_order_days_365d, b2b_order_gap_mean_days_365d, "
        "b2b_next_order_date_365d, b2b_active_quarters_365d]",
    )
    rows = {r[0]: r[1:] for r in df.rows()}
    # r2 in the last 365 days: 2025-11-01 and 2026-10-31: one gap of 364
    assert rows["r2"] == (2, 364.0, dt.date(2027, 10, 30), 2)


def test_revenue_trend(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        "outputs: [customer_id, monetary_365d, b2b_revenue_prev_365d, b2b_revenue_growth_365d]",
    )
    rows = {r[0]: r[1:] for r in df.rows()}
    assert rows["r1"] == (1001.01, 0.0, None)  # nothing before: no growth rate
    assert rows["r2"] == (3001.0, 1500.0, pytest.approx(1501 / 1500))
    assert rows["r6"] == (0.0, 0.0, None)


def test_accounts_and_gross_profit(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        "outputs: [customer_id, b2b_margin, b2b_gross_profit_365d, b2b_country, b2b_business_type]",
    )
    rows = {r[0]: r[1:] for r in df.rows()}
    assert rows["r1"] == (0.2, 200.20, "Germany", "importer")  # 100101 cents x 0.2 = 20020.2
    assert rows["r2"] == (0.25, 750.25, "France", "retailer")  # two rows: the smallest values
    assert rows["r3"] == (None, None, "Chile", None)  # no margin: no profit
    assert rows["r4"] == (None, None, None, None)  # no account row


def test_previous_period_needs_a_window(segrule_engine, segrule_rules) -> None:
    with pytest.raises(SegruleError, match="previous period needs a window"):
        _score(segrule_engine, segrule_rules, "outputs: [customer_id, b2b_revenue_prev_lifetime]")


# -- the value matrix strategy --------------------------------------------------------
VALUE_ORDERS = [
    ("v_lost", ago(400), 900.0),  # nothing in the last 365 days
    ("v_new", ago(100), 99999.0),  # first order within 365 days
    ("v_grow", ago(500), 1000.0),
    ("v_grow", ago(100), 1200.0),  # exactly +20 %: growing
    ("v_decl", ago(500), 1000.0),
    ("v_decl", ago(100), 800.0),  # exactly -20 %: declining
    ("v_stab", ago(500), 1000.0),
    ("v_stab", ago(100), 1199.99),  # just under +20 %: stable
    ("v_top", ago(500), 5000.0),
    ("v_top", ago(100), 5000.0),
]
VALUE_CUSTOMERS = ["v_decl", "v_grow", "v_lost", "v_new", "v_none", "v_stab", "v_top"]
VALUE_ACCOUNTS = [
    {"customer_id": "v_grow", "margin": 0.5},  # profit 600
    {"customer_id": "v_decl", "margin": None},  # no margin: not ranked on profit
    {"customer_id": "v_stab", "margin": 0.1},  # 120
    {"customer_id": "v_top", "margin": 0.05},  # 250
    {"customer_id": "v_new", "margin": 0.9},
]


def _value(segrule_engine, segrule_rules, params: str) -> dict[str, tuple]:
    tables = make_tables(orders=VALUE_ORDERS, customers=VALUE_CUSTOMERS)
    tables["b2b_accounts"] = frame(VALUE_ACCOUNTS, ACC_SCHEMA)
    df = _score(
        segrule_engine,
        segrule_rules,
        f"""
        scores:
          vm: {{strategy: b2b_value_matrix, params: {params}}}
        outputs: [customer_id, vm, vm_trend, vm_value, vm_growth]
        """,
        tables,
    )
    return {r[0]: r[1:] for r in df.rows()}


def test_value_matrix_on_revenue(segrule_engine, segrule_rules) -> None:
    rows = _value(segrule_engine, segrule_rules, "{measure: revenue}")
    # established: grow, decl, stab, top -> ceil(0.2 x 4) = 1 most profitable: v_top
    assert rows == {
        "v_decl": ("declining", "declining", 800.0, pytest.approx(-0.2)),
        "v_grow": ("growing", "growing", 1200.0, pytest.approx(0.2)),
        "v_lost": ("lost", "lost", 0.0, -1.0),
        "v_new": ("new", "new", 99999.0, None),
        "v_none": ("none", "none", 0.0, None),
        "v_stab": ("stable", "stable", 1199.99, pytest.approx(0.19999)),
        "v_top": ("most_profitable", "stable", 5000.0, 0.0),
    }


def test_value_matrix_on_profit(segrule_engine, segrule_rules) -> None:
    rows = _value(segrule_engine, segrule_rules, "{}")
    # profit: grow 600, top 250, stab 120, decl none -> 3 ranked, ceil(0.6) = 1: v_grow
    assert {k: v[:3] for k, v in rows.items()} == {
        "v_decl": ("declining", "declining", None),
        "v_grow": ("most_profitable", "growing", 600.0),
        "v_lost": ("lost", "lost", None),  # no account row: no margin
        "v_new": ("new", "new", 89999.1),
        "v_none": ("none", "none", None),
        "v_stab": ("stable", "stable", 120.0),
        "v_top": ("stable", "stable", 250.0),
    }


def test_value_matrix_eligible_condition(segrule_engine, segrule_rules) -> None:
    rows = _value(
        segrule_engine, segrule_rules, '{measure: revenue, eligible: "monetary_365d < 5000"}'
    )
    # v_top is not ranked: grow 1200, stab 1199.99, decl 800 -> ceil(0.2 x 3) = 1: v_grow
    assert rows["v_grow"][0] == "most_profitable"
    assert rows["v_top"][0] == "stable"


def test_value_matrix_default_margin_and_share(segrule_engine, segrule_rules) -> None:
    rows = _value(segrule_engine, segrule_rules, "{default_margin: 0.9, top_share: 0.5}")
    # decl: 800 x 0.9 = 720 now ranks first; ceil(0.5 x 4) = 2: decl and grow (600)
    assert {k: v[0] for k, v in rows.items()} == {
        "v_decl": "most_profitable",
        "v_grow": "most_profitable",
        "v_lost": "lost",
        "v_new": "new",
        "v_none": "none",
        "v_stab": "stable",
        "v_top": "stable",
    }


def test_value_matrix_windows(segrule_engine, segrule_rules) -> None:
    rows = _value(
        segrule_engine,
        segrule_rules,
        "{measure: revenue, lost_window: 450d, new_window: 50d, growth: 0.5}",
    )
    # lost only after 450 days: v_lost (400 days) is established, its revenue fell 100 %;
    # v_new (100 days) is no longer new: it grew from 0; +-50 %: grow/stab/decl are stable
    trend = {k: v[1] for k, v in rows.items()}
    assert trend == {
        "v_decl": "stable",
        "v_grow": "stable",
        "v_lost": "declining",
        "v_new": "growing",
        "v_none": "none",
        "v_stab": "stable",
        "v_top": "stable",
    }
    assert rows["v_new"][0] == "most_profitable"  # 99999 is the largest established value


def test_value_matrix_ties_by_customer_id(segrule_engine, segrule_rules) -> None:
    orders = [(c, ago(d), 100.0) for c in ("t2", "t1", "t3") for d in (500, 100)]
    tables = make_tables(orders=orders, customers=["t1", "t2", "t3"])
    tables["b2b_accounts"] = frame([], ACC_SCHEMA)
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        scores:
          vm: {strategy: b2b_value_matrix, params: {measure: revenue, top_share: 0.34}}
        outputs: [customer_id, vm]
        """,
        tables,
    )
    # ceil(0.34 x 3) = 2 of three equal values: the two smallest ids
    assert df.rows() == [("t1", "most_profitable"), ("t2", "most_profitable"), ("t3", "stable")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{period: lifetime}", "period must be a length such as 365d"),
        ("{measure: margin}", "measure 'margin' is not one of: profit, revenue"),
        ("{top_share: 0}", "top_share must be in (0, 1]"),
        ("{growth: 1}", "growth must be below 1"),
        ("{default_margin: high}", "default_margin must be a number"),
        ("{perod: 90d}", "unknown parameter 'perod' — did you mean 'period'"),
    ],
)
def test_value_matrix_bad_params(segrule_engine, segrule_rules, params: str, message: str) -> None:
    with pytest.raises(SegruleError) as err:
        _value(segrule_engine, segrule_rules, params)
    assert message in str(err.value) and "r.yaml" in str(err.value)
