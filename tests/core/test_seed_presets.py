"""The presets for seed classes merchants had to write by hand (issue 20): membership
cards, loyalty × satisfaction, activity tiers, spending capacity. Every expected label
is worked out by hand from the rows next to it; as-of 2026-11-01."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
from segrule.explain import ExplainOptions
from segrule.model.ladders import ladder_labels

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)


def ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


def labels(preset: str, tables: dict[str, pl.DataFrame], column: str, **kw: Any) -> dict:
    out = segrule.score(preset, tables, as_of=kw.pop("as_of", AS_OF), **kw)
    assert isinstance(out, pl.DataFrame)
    return dict(zip(out["customer_id"].to_list(), out[column].to_list(), strict=True))


CARD_ORDERS = [
    *[("steady_vip", ago(d), 6250.0) for d in (10, 100, 190, 280)],  # 4 quarters, 25000
    ("steady_gold", ago(10), 4500.0),
    ("steady_gold", ago(100), 4500.0),  # 2 quarters, 9000
    ("steady_silver", ago(10), 1500.0),
    ("steady_silver", ago(200), 1500.0),  # 2 quarters, exactly 3000
    ("steady_low", ago(10), 1500.0),
    ("steady_low", ago(100), 1499.99),  # 2999.99
    *[("unsteady_rich", ago(d), 20000.0) for d in (5, 20, 40)],  # one quarter only
]


def test_membership_cards(make_tables) -> None:
    tables = make_tables(
        orders=CARD_ORDERS,
        customers=[
            "steady_vip",
            "steady_gold",
            "steady_silver",
            "steady_low",
            "unsteady_rich",
            "never",
        ],
    )
    assert labels("membership-cards", tables, "card_level") == {
        "steady_vip": "vip",
        "steady_gold": "gold",
        "steady_silver": "silver",
        "steady_low": "ordinary",
        "unsteady_rich": "ordinary",  # not steady: 普通 whatever the spend
        "never": "ordinary",
    }
    assert labels("membership-cards", tables, "active_quarters_4")["steady_vip"] == 4
    # The steadiness gate comes before the spend rungs: a ladder with a gate, so
    # --distance works and hysteresis needs no order.
    out = segrule.score(
        "membership-cards",
        tables,
        as_of=AS_OF,
        explain=ExplainOptions(reasons=False, distance=True),
    )
    assert isinstance(out, pl.DataFrame)
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert (rows["steady_gold"]["card_level_next"], rows["steady_gold"]["card_level_gap"]) == (
        "vip",
        11000.0,
    )
    assert rows["unsteady_rich"]["card_level_next"] is None
    plan = segrule.compile("membership-cards", tables, as_of=AS_OF)
    assert ladder_labels(plan.nodes["card_level"], plan.dtypes) == [
        "vip",
        "gold",
        "silver",
        "ordinary",
    ]


def test_membership_card_downgrades_wait_two_runs(make_tables, tmp_path: Path) -> None:
    # 25000 of which 10000 leaves the 365-day window a day after the as-of: vip, then
    # gold computed (15000) but vip kept one run, published gold on the second.
    rows = [("c", ago(d), a) for d, a in ((10, 7500.0), (100, 7500.0), (364.5, 10000.0))]
    tables = make_tables(orders=rows, customers=["c"])
    history = tmp_path / "history"
    got = []
    for i, day in enumerate([0, 1, 2]):
        out = tmp_path / f"cards-{i}.parquet"
        segrule.run(
            ["membership-cards"], out, tables, as_of=AS_OF + dt.timedelta(days=day), history=history
        )
        got.append(pl.read_parquet(out)["card_level"][0])
    assert got == ["vip", "vip", "gold"]


def test_loyalty_satisfaction(make_tables) -> None:
    three = [ago(5), ago(50), ago(100)]
    orders = [(c, t, 100.0) for c in ("adv", "risk", "loyal_mid", "silent") for t in three]
    orders += [("sat_rare", ago(5), 100.0), ("meh", ago(5), 100.0), ("unhappy", ago(400), 9.0)]
    feedback = [
        ("adv", ago(3), 90),
        ("risk", ago(3), 50),
        ("loyal_mid", ago(3), 70),
        ("sat_rare", ago(3), 85),
        ("unhappy", ago(3), 30),
        ("meh", ago(3), 65),
        ("old_only", ago(400), 100),
    ]
    ids = ["adv", "risk", "loyal_mid", "silent", "sat_rare", "meh", "unhappy", "old_only"]
    tables = make_tables(orders=orders, feedback=feedback, customers=ids)
    assert labels("loyalty-satisfaction", tables, "loyalty_satisfaction") == {
        "adv": "advocate",
        "risk": "loyal_at_risk",
        "loyal_mid": "loyal",
        "silent": "unknown",
        "sat_rare": "satisfied_not_loyal",
        "meh": "neutral",
        "unhappy": "dissatisfied",
        "old_only": "unknown",  # feedback older than 365 days does not count
    }


def test_activity_tiers(make_tables) -> None:
    # activity_index: each paid order adds 0.5 ** (age_days / 30)
    orders = [
        *[("very", ago(30), 10.0)] * 6,  # 3.0
        *[("active", ago(30), 10.0)] * 2,  # 1.0
        ("cooling", ago(60), 10.0),  # 0.25
        ("dormant", ago(90), 10.0),  # 0.125
        ("refund_only", ago(1), 10.0, "refunded"),
    ]
    tables = make_tables(
        orders=orders, customers=["very", "active", "cooling", "dormant", "refund_only"]
    )
    assert labels("activity-tiers", tables, "activity_tier") == {
        "very": "very_active",
        "active": "active",
        "cooling": "cooling",
        "dormant": "dormant",
        "refund_only": "never_bought",
    }


def test_spending_capacity(make_tables) -> None:
    orders = [
        *[("big", ago(5 + 15 * i), 1000.0) for i in range(24)],  # avg 1000, 2/month, 24 high
        *[("mid", ago(5 + 30 * i), 350.0) for i in range(12)],  # 350 (2), 1/month (2)
        ("small", ago(5), 50.0),  # 0 + 0 + 0
        ("one_lux", ago(5), 1200.0),  # 3 + 0 + 2
        ("lapsed", ago(400), 5000.0),
    ]
    tables = make_tables(orders=orders, customers=["big", "mid", "small", "one_lux", "lapsed"])
    assert labels("spending-capacity", tables, "capacity_points") == {
        "big": 9,
        "mid": 4,
        "small": 0,
        "one_lux": 5,
        "lapsed": 0,
    }
    assert labels("spending-capacity", tables, "capacity_tier") == {
        "big": "high",
        "mid": "medium",
        "small": "low",
        "one_lux": "medium",
        "lapsed": "none",
    }


def test_a_points_tier_is_named_after_its_score(rules, make_tables) -> None:
    """The summary header of a points strategy's tier column shows a display name."""
    path = rules(
        "t.yaml",
        """
        scores:
          member_points:
            zh: 会员积分
            en: Member points
            strategy: points
            params:
              parts: [{dimension: orders_365d, bins: [{min: 1, points: 1}]}]
              tiers: [{min: 1, label: silver}]
              default_tier: basic
        outputs: [customer_id, member_points, member_points_tier]
        """,
    )
    plan = segrule.compile(path, make_tables(orders=[("a", ago(1), 1.0)]), as_of=AS_OF)
    assert plan.nodes["member_points_tier"].title == {
        "zh": "会员积分等级",
        "en": "Member points tier",
    }
    assert plan.nodes["member_points"].title == {"zh": "会员积分", "en": "Member points"}
