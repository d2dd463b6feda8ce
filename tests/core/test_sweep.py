"""Threshold sweeps: naming a threshold, substituting it, and one pass over a grid."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.errors import RuleSetError, UsageError
from segrule.generate import generate
from segrule.model.literals import number_literals, replace_number, simple_comparison
from segrule.sweep import grid, parse_param, parse_values, sweep, with_values
from segrule.testing import AS_OF, RuleFiles, days_before

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

ENGINE = segrule.Engine(autoload=False)


# -- the numbers of a condition ------------------------------------------------------
def test_numbers_skip_strings_and_names() -> None:
    sql = "first_order_ts >= as_of - INTERVAL '90 days' AND monetary_365d > 10000.5"
    found = number_literals(sql)
    assert [(n.value, n.dimension) for n in found] == [(Decimal("10000.5"), "monetary_365d")]
    assert sql[found[0].start : found[0].end] == "10000.5"


def test_numbers_know_their_dimension_and_sign() -> None:
    found = number_literals("orders_30d >= 3 AND x BETWEEN -5 AND 7 OR 2 < y")
    assert [(str(n.value), n.dimension) for n in found] == [
        ("3", "orders_30d"),
        ("-5", "x"),
        ("7", "x"),
        ("2", "y"),  # across the comparison, not the nearest name before it
    ]


def test_replace_touches_only_that_number() -> None:
    sql = "orders_30d >= 3 AND monetary_365d > 3"
    second = number_literals(sql)[1]
    assert (
        replace_number(sql, second, Decimal("12.50")) == "orders_30d >= 3 AND monetary_365d > 12.5"
    )
    minus = number_literals("x - 5 > 0")[0]
    assert replace_number("x - 5 > 0", minus, Decimal(-3)) == "x - (-3) > 0"


def test_simple_comparison() -> None:
    c = simple_comparison("score >= 9")
    assert c is not None and (c.dimension, c.op, c.value) == ("score", ">=", 9)
    flipped = simple_comparison("(100 < monetary_365d)")
    assert flipped is not None and (flipped.dimension, flipped.op) == ("monetary_365d", ">")
    assert simple_comparison("score >= 9 AND x > 1") is None
    assert simple_comparison("lifecycle = 'new'") is None


# -- values and names ----------------------------------------------------------------
def test_values_ranges_include_stop_and_lists() -> None:
    assert parse_values("5000..8000:1000", "p") == tuple(
        Decimal(x) for x in (5000, 6000, 7000, 8000)
    )
    assert parse_values("0.1..0.3:0.05", "p")[-1] == Decimal("0.30")
    assert parse_values("5000, 8000,12000", "p") == (Decimal(5000), Decimal(8000), Decimal(12000))
    for bad in ("5..1:1", "1..5", "1..5:0", "a,b", "", "1..1e9:1"):
        with pytest.raises(UsageError, match="params p="):
            parse_values(bad, "p")


def test_names_resolve_in_taobao() -> None:
    rs = segrule.load_ruleset("taobao-5-tier", engine=ENGINE)
    high = parse_param(rs, "amount_tier.high=5000,20000")
    assert high.current == 10000 and high.path[:4] == ("segments", "amount_tier", "cases", 0)
    assert high.where.startswith("preset:taobao-5-tier:")
    vip = parse_param(rs, "tier.vip=8..10:1")
    assert vip.current == 9 and vip.values == (8, 9, 10)
    with pytest.raises(UsageError, match="did you mean 'amount_tier'"):
        parse_param(rs, "amount_teir.high=1")
    with pytest.raises(UsageError, match=r"has no case 'hihg'.*did you mean 'high'"):
        parse_param(rs, "amount_tier.hihg=1")
    with pytest.raises(UsageError, match="holds no number"):
        parse_param(rs, "lifecycle.new=1")


def test_a_condition_with_two_numbers_asks_which(rules: RuleFiles) -> None:
    path = rules(
        "two.yaml",
        """
        segments:
          buyer:
            cases:
              - {when: "orders_30d >= 3 AND monetary_365d > 10000", label: big}
            default: other
        outputs: [customer_id, buyer]
        """,
    )
    rs = segrule.load_ruleset(path, engine=ENGINE)
    with pytest.raises(UsageError, match=r"buyer\.big\[2\] = 10000 \(buyer\.big\.monetary_365d\)"):
        parse_param(rs, "buyer.big=1")
    by_index = parse_param(rs, "buyer.big[2]=20000")
    by_name = parse_param(rs, "buyer.big.monetary_365d=20000")
    assert by_index.literal == by_name.literal and by_index.current == 10000
    first = parse_param(rs, "buyer.big[1]=5")
    changed = with_values(
        rs, [first, by_index], {first.name: Decimal(5), by_index.name: Decimal(20000)}
    )
    assert (
        changed.model.segments["buyer"].cases[0].when == "orders_30d >= 5 AND monetary_365d > 20000"
    )
    assert rs.model.segments["buyer"].cases[0].when.endswith("> 10000")  # not modified


def test_strategy_parameter_by_label(rules: RuleFiles) -> None:
    rs = segrule.load_ruleset("value-tiers", engine=ENGINE)
    top = parse_param(rs, "value_tier.tiers.high.top=0.1..0.3:0.1")
    assert top.path == ("scores", "value_tier", "params", "tiers", 0, "top")
    assert top.current == Decimal("0.2")
    with pytest.raises(UsageError, match="no item of 'tiers' has label 'top'"):
        parse_param(rs, "value_tier.tiers.top.top=0.1")


def test_grid_is_capped() -> None:
    rs = segrule.load_ruleset("taobao-5-tier", engine=ENGINE)
    a = parse_param(rs, "amount_tier.high=1..100:1")
    b = parse_param(rs, "tier.vip=1..10:1")
    assert len(grid([a, b], 1000)) == 1000
    with pytest.raises(UsageError, match=r"1,000 points .*more than 999.*max_grid"):
        grid([a, b], 999)


# -- the sweep ---------------------------------------------------------------------------
SPEND_RULES = """
    segments:
      spend:
        cases:
          - {when: "monetary_lifetime >= 100", label: high}
        default: low
      club:
        cases:
          - {when: "spend = 'high' AND orders_lifetime >= 2", label: vip}
        default: member
      region:
        cases:
          - {when: "orders_lifetime > 100", label: far}
        default: near
    outputs: [customer_id, monetary_lifetime, spend, club, region]
"""


def test_sweep_counts_by_hand(rules: RuleFiles, make_tables: Callable[..., dict]) -> None:
    tables = make_tables(
        orders=[
            ("A", days_before(3), 60.0),
            ("B", days_before(3), 75.0),
            ("B", days_before(2), 75.0),
            ("C", days_before(5), 100.0),
            ("C", days_before(4), 100.0),
            ("C", days_before(1), 100.0),
        ]
    )
    path = rules("spend.yaml", SPEND_RULES)
    result = sweep(
        path, ["spend.high=50,100,200"], tables, as_of=AS_OF, engine=ENGINE, targets=["vip=0.5"]
    )
    # Only the swept segment and what depends on it are reported (not region).
    assert result.columns == ["spend", "club"]
    assert result.revenue == "monetary_lifetime"
    assert [p.values["spend.high"] for p in result.points] == [50, 100, 200]
    high = [p.labels["spend"].get("high", (0, 0.0, 0.0)) for p in result.points]
    assert [h[0] for h in high] == [3, 2, 1]
    assert high[2][2] == pytest.approx(300 / 510)
    vip = [p.labels["club"].get("vip", (0, 0.0, 0.0))[0] for p in result.points]
    assert vip == [2, 2, 1]  # A has one order: never vip
    # 2/3 at 50 and 100, 1/3 at 200: the first of the two closest points wins.
    assert result.targets[0].point == 0 and result.targets[0].column == "club"
    rows = result.rows()
    assert {r["column"] for r in rows} == {"spend", "club"}
    assert sum(r["customers"] for r in rows if r["point"] == 0 and r["column"] == "spend") == 3


def test_sweep_errors_name_the_grid_point(
    rules: RuleFiles, make_tables: Callable[..., dict]
) -> None:
    path = rules(
        "ladder.yaml",
        """
        scores:
          value:
            strategy: points
            params:
              parts: [{dimension: orders_lifetime, bins: [{min: 1, points: 1}]}]
              tiers: [{label: gold, min: 3}, {label: silver, min: 1}]
        outputs: [customer_id, value, value_tier]
        """,
    )
    tables = make_tables(orders=[("A", days_before(3), 60.0)])
    with pytest.raises(RuleSetError, match=r"with value_tier\.silver=5: .*not in order"):
        sweep(path, ["value_tier.silver=0,5"], tables, as_of=AS_OF, engine=ENGINE)
    with pytest.raises(UsageError, match="no swept or downstream column has the label 'x'"):
        sweep(path, ["value_tier.silver=0"], tables, as_of=AS_OF, engine=ENGINE, targets=["x=1"])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweep-data")
    generate(out, orders=3000, seed=7)
    return out


@pytest.mark.parametrize(
    ("ruleset", "param"),
    [
        ("taobao-5-tier", "amount_tier.high=2000,10000,15000"),
        ("taobao-5-tier", "tier.vip=7..10:1.5"),
        ("value-tiers", "value_tier.tiers.high.top=0.1,0.3"),
    ],
)
def test_each_grid_point_equals_a_run_of_the_edited_rule_set(
    data: Path, ruleset: str, param: str
) -> None:
    result = sweep(ruleset, [param], data=data, as_of="2026-11-01", engine=ENGINE)
    rs = segrule.load_ruleset(ruleset, engine=ENGINE)
    swept = [parse_param(rs, param)]
    for point in result.points:
        scored = segrule.score(
            with_values(rs, swept, point.values), data=data, as_of="2026-11-01", engine=ENGINE
        )
        assert isinstance(scored, pl.DataFrame)
        for col in result.columns:
            counts = dict(scored.group_by(col).len().iter_rows())
            assert {k: v[0] for k, v in point.labels[col].items()} == counts, (point.values, col)
