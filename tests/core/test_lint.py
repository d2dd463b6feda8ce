"""Checking a rule set against data: dead and shadowed cases, customers without a tier,
and customers who would drop a tier by spending more."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import segrule
from segrule.errors import UsageError
from segrule.generate import generate
from segrule.lint import check_ruleset, parse_orders
from segrule.model.ladders import threshold_order
from segrule.testing import AS_OF, RuleFiles, days_before

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

ENGINE = segrule.Engine(autoload=False)

BROKEN = """
    segments:
      spend_class:
        cases:
          - {when: "monetary_365d >= 1000", label: big}
          - {when: "monetary_365d >= 5000", label: huge}
          - {when: "monetary_365d < 0", label: negative}
        default: small
    scores:
      value:
        strategy: points
        params:
          parts:
            # the break: 5000 and more gives fewer points than 1000 to 5000
            - dimension: monetary_365d
              bins: [{min: 5000, points: 1}, {min: 1000, points: 3}]
          tiers: [{label: gold, min: 3}, {label: silver, min: 1}]
    outputs: [customer_id, monetary_365d, spend_class, value, value_tier]
"""


@pytest.fixture
def tables(make_tables: Callable[..., dict]) -> dict:
    # c1: 4500 (gold; +1000 -> 5500 silver: a break), c2: 4200 (same), c3: 6000 (silver),
    # c4: 200 (no tier: below the lowest rung), c5: 2000 (gold; +1000 stays gold).
    return make_tables(
        orders=[
            ("c1", days_before(10), 4500.0),
            ("c2", days_before(20), 4200.0),
            ("c3", days_before(30), 6000.0),
            ("c4", days_before(40), 200.0),
            ("c5", days_before(50), 2000.0),
        ]
    )


def test_finds_each_kind(rules: RuleFiles, tables: dict) -> None:
    path = rules("broken.yaml", BROKEN)
    result = check_ruleset(path, tables, as_of=AS_OF, engine=ENGINE, spend_more=1000)
    assert result.customers == 5 and not result.ok
    by = {(f.kind, f.column, f.label): f for f in result.findings}

    nobody = by[("matches_nobody", "spend_class", "negative")]
    assert nobody.count == 0 and nobody.where == f"{path}:{rules.line(path, 'negative')}:16"

    shadowed = by[("shadowed", "spend_class", "huge")]
    assert shadowed.count == 1 and shadowed.examples == ["c3"]
    assert shadowed.detail["by"] == {"big": 1} and "big 1" in shadowed.message

    no_tier = by[("no_tier", "value_tier", None)]
    assert no_tier.count == 1 and no_tier.examples == ["c4"] and "default_tier" in no_tier.message

    drop = by[("monotonicity", "value_tier", None)]
    assert drop.count == 2 and drop.examples == ["c1", "c2"]
    assert drop.detail["moves"] == {"gold -> silver": 2}
    assert drop.detail["changed"] == ["_monetary_365d_cents"]
    assert [f.kind for f in result.findings] == sorted(
        (f.kind for f in result.findings),
        key=["matches_nobody", "shadowed", "no_tier", "monotonicity"].index,
    )
    # Per-case counts: first match, raw truth, shadowed.
    cases = {(c.column, c.label): c for c in result.cases}
    big = cases[("spend_class", "big")]
    assert (big.matched, big.raw, big.shadowed) == (4, 4, 0)
    part = cases[("value.parts[1]", "#2 (3 points)")]
    assert (part.matched, part.raw, part.shadowed) == (3, 4, 1)


def test_a_smaller_amount_finds_only_who_crosses(rules: RuleFiles, tables: dict) -> None:
    path = rules("broken.yaml", BROKEN)
    result = check_ruleset(path, tables, as_of=AS_OF, engine=ENGINE, spend_more=600)
    drop = next(f for f in result.findings if f.kind == "monotonicity")
    assert drop.examples == ["c1"]  # 4500 + 600 crosses 5000; 4200 + 600 does not


def test_default_amount_is_the_median_paid_order(rules: RuleFiles, tables: dict) -> None:
    path = rules("broken.yaml", BROKEN)
    result = check_ruleset(path, tables, as_of=AS_OF, engine=ENGINE)
    assert result.spend_more == 4200.0  # median of 4500, 4200, 6000, 200, 2000


def test_a_clean_rule_set_is_ok(rules: RuleFiles, tables: dict) -> None:
    path = rules(
        "clean.yaml",
        """
        segments:
          spend_class:
            cases:
              - {when: "monetary_365d >= 5000", label: huge}
              - {when: "monetary_365d >= 1000", label: big}
            default: small
        outputs: [customer_id, spend_class]
        """,
    )
    result = check_ruleset(path, tables, as_of=AS_OF, engine=ENGINE, spend_more=1e6)
    assert result.ok and result.findings == []
    # Inferred from the cases: one dimension, >=, descending.
    assert [(o.column, o.labels) for o in result.orders] == [
        ("spend_class", ["huge", "big", "small"])
    ]


def test_one_more_order_mode(rules: RuleFiles, make_tables: Callable[..., dict]) -> None:
    # A segment that (wrongly) ranks one-time buyers above repeat buyers.
    path = rules(
        "orders.yaml",
        """
        segments:
          loyalty:
            cases:
              - {when: "orders_lifetime = 1", label: gold}
              - {when: "orders_lifetime >= 1", label: silver}
            default: none
        outputs: [customer_id, orders_lifetime, loyalty]
        """,
    )
    tables = make_tables(
        orders=[
            ("a", days_before(3), 10.0),
            ("b", days_before(3), 10.0),
            ("b", days_before(2), 1.0),
        ],
        customers=["a", "b", "z"],
    )
    order = {"loyalty": ["gold", "silver", "none"]}
    amount = check_ruleset(path, tables, as_of=AS_OF, engine=ENGINE, orders=order, spend_more=5)
    assert amount.ok  # spending more on the same orders changes no count
    assert "no money dimension" in amount.unchecked["loyalty"]
    more = check_ruleset(
        path, tables, as_of=AS_OF, engine=ENGINE, orders=order, spend_more=5, more="order"
    )
    drop = next(f for f in more.findings if f.kind == "monotonicity")
    # a: 1 order (gold) -> 2 (silver); b stays silver; z goes none -> gold (up).
    assert drop.examples == ["a"] and drop.detail["moves"] == {"gold -> silver": 1}
    assert "orders_lifetime" in drop.detail["changed"]


def test_threshold_order_needs_one_descending_dimension() -> None:
    plan = segrule.compile(["taobao-5-tier"], as_of=AS_OF, engine=ENGINE, check_only=True)
    assert threshold_order(plan.nodes["amount_tier"]) is None  # > then <
    assert threshold_order(plan.nodes["tier"]) is None  # lifecycle = 'new' first


def test_orders_are_checked_against_the_rule_set(tables: dict, rules: RuleFiles) -> None:
    path = rules("broken.yaml", BROKEN)
    with pytest.raises(UsageError, match="did you mean 'spend_class'"):
        check_ruleset(path, tables, as_of=AS_OF, engine=ENGINE, orders={"spend_clas": ["a", "b"]})
    with pytest.raises(UsageError, match="'hueg' is not a label of spend_class"):
        check_ruleset(
            path, tables, as_of=AS_OF, engine=ENGINE, orders={"spend_class": ["hueg", "big"]}
        )
    assert parse_orders(["tier=a, b ,c"]) == {"tier": ["a", "b", "c"]}
    with pytest.raises(UsageError, match="NAME=BEST"):
        parse_orders(["tier"])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lint-data")
    generate(out, orders=5000, seed=11)
    return out


PRESET_ORDERS = {
    "taobao-5-tier": {
        "tier": ["super_vip", "vip", "advanced", "normal"],
        "amount_tier": ["high", "mid", "low"],
        "freq_tier": ["high", "low", "one_time", "none"],
    },
}


@pytest.mark.parametrize(
    "preset",
    ["taobao-5-tier", "value-tiers", "rfm", "pareto-80-20", "lifecycle", "transaction-stage"],
)
@pytest.mark.parametrize("more", ["amount", "order"])
def test_builtin_presets_have_no_monotonicity_break(data: Path, preset: str, more: str) -> None:
    orders = PRESET_ORDERS.get(preset, {})
    for amount in (None, 50.0, 5000.0):
        result = check_ruleset(
            preset,
            data=data,
            as_of="2026-11-01",
            engine=ENGINE,
            orders=orders,
            spend_more=amount,
            more=more,  # type: ignore[arg-type]
        )
        assert [f for f in result.findings if f.kind == "monotonicity"] == [], (amount, more)
        assert {o.column for o in result.orders} >= set(orders)


GATED = """
    segments:
      member:
        cases:
          - {when: "orders_lifetime = 0", label: prospect}
          - {when: "value >= 3", label: gold}
          - {when: "value >= 1", label: silver}
        default: bronze
    scores:
      value:
        strategy: points
        params:
          parts:
            - dimension: monetary_365d
              bins: [{min: 5000, points: 1}, {min: 1000, points: 3}]
    outputs: [customer_id, monetary_365d, value, member]
"""


def test_a_ladder_with_gates_is_ranked_by_its_rungs(rules: RuleFiles, tables: dict) -> None:
    # member has a gate case first, so it is not a plain descending ladder; its rungs
    # still rank gold > silver > bronze (prospect only a gate gives, not compared).
    path = rules("gated.yaml", GATED)
    result = check_ruleset(path, tables, as_of=AS_OF, engine=ENGINE, spend_more=1000)
    ranked = {o.column: o.labels for o in result.orders}
    assert ranked["member"] == ["gold", "silver", "bronze"]
    drop = next(f for f in result.findings if f.kind == "monotonicity" and f.column == "member")
    assert drop.count == 2 and drop.examples == ["c1", "c2"]
