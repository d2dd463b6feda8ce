"""Rule-set expressions that read across customers are population-relative (issue 16,
point 2): recognised from the expression tree, not from polars'
``meta.is_row_separable()`` (True for ``x / AVG(x)`` and ``RANK() OVER (...)`` in 2.1)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.engine.phases import RANKS, phase_of
from segrule.model.sql import reads_across_customers
from segrule.testing import days_before, make_tables

ACROSS = [
    "m / AVG(m)",
    "m - MIN(m)",
    "MAX(m) - m",
    "m > MEDIAN(m)",
    "COUNT(*)",
    "COUNT(m)",
    "STDDEV(m)",
    "QUANTILE_CONT(m, 0.5)",
    "SUM(CASE WHEN m > 0 THEN 1 ELSE 0 END)",
    "RANK() OVER (ORDER BY m DESC)",
    "ROW_NUMBER() OVER (ORDER BY m)",
    "NTILE(5) OVER (ORDER BY m)",
    "PERCENT_RANK() OVER (ORDER BY m)",
    "SUM(m) OVER (PARTITION BY city)",
    "m / SUM(m) OVER ()",
    "LEAD(m) OVER (ORDER BY m)",
    "FIRST_VALUE(m) OVER (ORDER BY m)",
]
PER_ROW = [
    "m * 2 + 1",
    "ABS(m)",
    "COALESCE(m, 0)",
    "GREATEST(m, 1)",
    "LEAST(m, n) + ROUND(m, 2)",
    "m BETWEEN 1 AND 3",
    "city IN ('a', 'b')",
    "UPPER(city) LIKE 'A%'",
    "CASE WHEN m > 1 THEN 'a' ELSE 'b' END",
    "t >= as_of - INTERVAL '90 days'",
    "CAST(m AS INT)",
    "NULLIF(m, 0)",
    "regexp_like(city, 'a.*')",
    "LN(m + 1) + SQRT(m) + POWER(m, 2)",
    "CONCAT(city, '-', x)",
]


@pytest.mark.parametrize("sql", ACROSS)
def test_expressions_reading_other_customers_are_recognised(sql: str) -> None:
    assert reads_across_customers(pl.sql_expr(sql))


@pytest.mark.parametrize("sql", PER_ROW)
def test_per_customer_expressions_are_not(sql: str) -> None:
    assert not reads_across_customers(pl.sql_expr(sql))


RULES = """
name: population
dimensions:
  spend_share: {expr: "monetary_365d / SUM(monetary_365d) OVER ()"}
  vs_average: {expr: "monetary_365d / AVG(monetary_365d)"}
  spend_rank: {expr: "RANK() OVER (ORDER BY monetary_365d DESC)"}
  doubled: {expr: "monetary_365d * 2"}
  doubled_share: {expr: "spend_share * 2"}
segments:
  above_average:
    flag: "monetary_365d > AVG(monetary_365d)"
  big:
    cases:
      - {when: "monetary_365d > 100", label: "big"}
    default: "small"
outputs: [customer_id, monetary_365d, spend_share, vs_average, spend_rank, doubled,
          doubled_share, above_average, big]
"""


def test_rule_set_expressions_become_population_nodes(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(RULES)
    tables = make_tables(
        orders=[
            ("c1", days_before(3), 120.0),
            ("c2", days_before(5), 60.0),
            ("c3", days_before(9), 20.0),
        ],
        customers=["c1", "c2", "c3", "c4"],
    )
    engine = segrule.Engine(autoload=False)
    plan = segrule.compile(str(path), tables, as_of=days_before(0), engine=engine)
    kinds = {name: node.kind for name, node in plan.nodes.items()}
    assert kinds["spend_share"] == kinds["vs_average"] == kinds["spend_rank"] == "population"
    assert kinds["above_average"] == "population"
    assert kinds["doubled"] == kinds["big"] == "derived"
    assert phase_of(plan.nodes["vs_average"]) == RANKS
    # the values are the population's: c4 has no orders (0 spend) and counts in the mean
    out = segrule.score(str(path), tables, as_of=days_before(0), engine=engine)
    assert isinstance(out, pl.DataFrame)
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert rows["c1"]["spend_share"] == pytest.approx(120 / 200)
    assert rows["c1"]["vs_average"] == pytest.approx(120 / 50)
    assert rows["c1"]["spend_rank"] == 1 and rows["c3"]["spend_rank"] == 3
    assert rows["c2"]["above_average"] and not rows["c3"]["above_average"]
    assert rows["c1"]["doubled_share"] == pytest.approx(1.2)
