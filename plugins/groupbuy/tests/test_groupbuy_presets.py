"""Every groupbuy preset on hand-made tables: each label of each segment is reached at
least once, with the values next to the rows that produce them (as-of 2026-11-01)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import segrule
import segrule_groupbuy.hooks as plugin
from segrule.testing import AS_OF, days_before, frame, score_rows

ago = days_before

ORDERS = {
    "order_id": pl.String(),
    "customer_id": pl.String(),
    "order_ts": pl.Datetime("us"),
    "amount": pl.Float64(),
    "status": pl.String(),
    "category": pl.String(),
    "coupon_used": pl.Boolean(),
    "discount": pl.Float64(),
}
GROUPS = {
    "customer_id": pl.String(),
    "group_id": pl.String(),
    "role": pl.String(),
    "joined_ts": pl.Datetime("us"),
    "status": pl.String(),
    "group_size": pl.Int64(),
    "premium": pl.Boolean(),
    "list_price": pl.Float64(),
    "deal_price": pl.Float64(),
}
EVENTS = {"customer_id": pl.String(), "event_ts": pl.Datetime("us"), "event_type": pl.String()}
TOUCHES = {"customer_id": pl.String(), "touch_ts": pl.Datetime("us"), "source": pl.String()}
REFERRALS = {
    "customer_id": pl.String(),
    "referral_ts": pl.Datetime("us"),
    "referred_id": pl.String(),
    "converted_ts": pl.Datetime("us"),
}


def order(
    cid: str, days: float, amount: float = 50.0, coupon: bool = False, category: str = "fruit"
) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "order_ts": ago(days),
        "amount": amount,
        "status": "paid",
        "category": category,
        "coupon_used": coupon,
        "discount": 0.0,
    }


def orders(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return frame([{"order_id": f"o{i}", **r} for i, r in enumerate(rows)], ORDERS)


def group(
    cid: str,
    gid: str,
    role: str,
    days: float,
    *,
    status: str = "success",
    size: int = 2,
    premium: bool = False,
) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "group_id": gid,
        "role": role,
        "joined_ts": ago(days),
        "status": status,
        "group_size": size,
        "premium": premium,
        "list_price": 100.0,
        "deal_price": 70.0,
    }


def customers(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": list(ids)}, schema={"customer_id": pl.String()})


@pytest.fixture
def engine(segrule_engine: Any) -> Any:
    return segrule_engine(plugin)


def labels_of(engine: Any, preset: str, column: str) -> set[str]:
    plan = segrule.compile([preset], engine=engine, check_only=True, as_of=AS_OF)
    return set(plan.nodes[column].labels)


# -- groupbuy:sensitivity ----------------------------------------------------------------------
def test_sensitivity_preset(engine: Any) -> None:
    rows = [
        order("p", 10, coupon=True),
        order("p", 20, coupon=True),  # promo 1.0
        order("q", 10),
        order("q", 20),  # premium groups 2/2
        order("s", 10),
        order("s", 20),  # 1 complaint / 2 orders = 0.5
        order("b", 10),
        order("b", 20),  # nothing
        order("old", 400, coupon=True),  # outside 365d: unknown
    ]
    groups = [
        group("q", "g1", "joiner", 5, premium=True),
        group("q", "g2", "joiner", 6, premium=True),
    ]
    events = [{"customer_id": "s", "event_ts": ago(3), "event_type": "complaint"}]
    tables = {
        "orders": orders(rows),
        "groupbuy_groups": frame(groups, GROUPS),
        "events": frame(events, EVENTS),
        "customers": customers("b", "old", "p", "q", "s"),
    }
    df = score_rows("groupbuy:sensitivity", tables, engine=engine)
    assert df.columns[-1] == "groupbuy_need"
    got = {r["customer_id"]: r for r in df.iter_rows(named=True)}
    assert {c: r["groupbuy_need"] for c, r in got.items()} == {
        "b": "balanced",
        "old": "unknown",
        "p": "price",
        "q": "quality",
        "s": "service",
    }
    assert got["p"]["groupbuy_promo_share_365d"] == 1.0
    assert got["q"]["groupbuy_premium_share_365d"] == 1.0
    assert got["q"]["groupbuy_deal_depth_365d"] == 0.3
    assert got["s"]["groupbuy_service_rate_365d"] == 0.5
    assert got["old"]["orders_365d"] == 0 and got["old"]["groupbuy_promo_share_365d"] is None
    assert set(got[c]["groupbuy_need"] for c in got) == labels_of(
        engine, "groupbuy:sensitivity", "groupbuy_need"
    )


# -- groupbuy:source ---------------------------------------------------------------------------
def test_source_preset(engine: Any) -> None:
    first = {
        "soc": "抖音",
        "sea": "baidu",
        "ads": "信息流",
        "ref": "老带新",
        "off": "门店",
        "dir": "direct",
        "oth": "其他",
    }
    touches = [{"customer_id": c, "touch_ts": ago(100), "source": s} for c, s in first.items()]
    touches += [
        {"customer_id": "soc", "touch_ts": ago(5), "source": "search"},  # later: last source
        {"customer_id": "unk", "touch_ts": AS_OF, "source": "social"},  # at the as-of
    ]
    tables = {
        "groupbuy_touches": frame(touches, TOUCHES),
        "orders": orders([order("soc", 3, 120.5), order("ref", 50, 10.0)]),
        "customers": customers(*first, "unk"),
    }
    df = score_rows("groupbuy:source", tables, engine=engine)
    got = {r["customer_id"]: r for r in df.iter_rows(named=True)}
    assert {c: r["groupbuy_source_class"] for c, r in got.items()} == {
        "soc": "social",
        "sea": "search",
        "ads": "ads",
        "ref": "referral",
        "off": "offline",
        "dir": "direct",
        "oth": "other",
        "unk": "unknown",
    }
    assert got["soc"]["groupbuy_last_source"] == "search"
    assert got["unk"]["groupbuy_first_source"] is None
    assert {c for c, r in got.items() if r["groupbuy_source_converted"]} == {"soc", "ref"}
    assert got["soc"]["monetary_lifetime"] == 120.5
    assert set(df["groupbuy_source_class"]) == labels_of(
        engine, "groupbuy:source", "groupbuy_source_class"
    )


# -- groupbuy:roles ----------------------------------------------------------------------------
def test_roles_preset(engine: Any) -> None:
    groups = []
    for i in range(5):  # key leader: 5 formed groups of 7 -> 30 joiners brought
        groups.append(group("kl", f"k{i}", "initiator", 10 + i, size=7))
    groups.append(group("kl4", "k9", "initiator", 10, size=31))  # 30 joiners, 1 formed group
    groups.append(group("ini", "i1", "发起人", 20, status="failed", size=1))
    groups.append(group("joi", "k0", "参团", 10, size=7))
    groups.append(group("old", "o1", "joiner", 400))  # lapsed: only before the 365 days
    referrals = [
        {
            "customer_id": "kl",
            "referral_ts": ago(30 + i),
            "referred_id": f"n{i}",
            "converted_ts": ago(20),
        }
        for i in range(3)  # three customers brought in: top referrer
    ]
    referrals += [
        {"customer_id": "ini", "referral_ts": ago(40), "referred_id": "n9", "converted_ts": ago(1)},
        {"customer_id": "joi", "referral_ts": ago(40), "referred_id": None, "converted_ts": None},
        {
            "customer_id": "old",
            "referral_ts": ago(400),
            "referred_id": "n8",
            "converted_ts": ago(390),
        },  # outside 365 days
    ]
    tables = {
        "groupbuy_groups": frame(groups, GROUPS),
        "groupbuy_referrals": frame(referrals, REFERRALS),
        "customers": customers("ini", "joi", "kl", "kl4", "none", "old"),
    }
    df = score_rows("groupbuy:roles", tables, engine=engine)
    got = {r["customer_id"]: r for r in df.iter_rows(named=True)}
    assert {c: r["groupbuy_role_class"] for c, r in got.items()} == {
        "kl": "key_leader",
        "kl4": "initiator",
        "ini": "initiator",
        "joi": "joiner",
        "old": "lapsed",
        "none": "none",
    }
    assert (
        got["kl"]["groupbuy_groups_formed_365d"],
        got["kl"]["groupbuy_joiners_brought_365d"],
    ) == (5, 30)
    assert (
        got["kl4"]["groupbuy_groups_formed_365d"],
        got["kl4"]["groupbuy_joiners_brought_365d"],
    ) == (1, 30)
    assert got["ini"]["groupbuy_groups_formed_365d"] == 0
    assert got["ini"]["groupbuy_role_365d"] == "initiator"
    assert got["old"]["groupbuy_role_365d"] == "none"
    assert {c: r["groupbuy_referrer_class"] for c, r in got.items()} == {
        "kl": "top_referrer",
        "ini": "referrer",
        "joi": "inviter",
        "old": "none",
        "kl4": "none",
        "none": "none",
    }
    assert got["kl"]["groupbuy_referred_customers_365d"] == 3
    for column in ("groupbuy_role_class", "groupbuy_referrer_class"):
        assert set(df[column]) == labels_of(engine, "groupbuy:roles", column)


# -- groupbuy:behaviour ------------------------------------------------------------------------
def test_behaviour_preset(engine: Any) -> None:
    rows = [order("A", d, 1000.0, category="meat") for d in (5, 20, 40)]  # 3 in 90d, 3000
    rows += [order("B", 200, 5000.0)]  # one big order, long ago
    rows += [order("C", d, 10.0, category=c) for d, c in ((5, "snack"), (6, "fruit"), (7, "snack"))]
    rows += [order(c, 100, 20.0) for c in "DEFGHIJ"]  # seven ordinary buyers
    rows += [order("M", 400, 999.0)]  # bought only before the 365 days
    events = [
        {"customer_id": "D", "event_ts": ago(10), "event_type": "view"},
        {"customer_id": "K", "event_ts": ago(5), "event_type": "favorite"},
        {"customer_id": "L", "event_ts": ago(95), "event_type": "view"},  # outside 90d
    ]
    groups = [group("N", f"n{i}", "joiner", 10 + i) for i in range(3)]  # no orders
    tables = {
        "orders": orders(rows),
        "events": frame(events, EVENTS),
        "groupbuy_groups": frame(groups, GROUPS),
        "customers": customers(*"ABCDEFGHIJKLMN"),
    }
    df = score_rows("groupbuy:behaviour", tables, engine=engine)
    got = {r["customer_id"]: r for r in df.iter_rows(named=True)}

    def col(name: str) -> dict[str, Any]:
        return {c: r[name] for c, r in got.items()}

    ordinary = dict.fromkeys("EFGHIJ", "dormant")
    assert col("groupbuy_activity_class") == {
        "A": "active",
        "B": "dormant",
        "C": "active",
        "D": "browsing_lapsed",
        "K": "browsing_only",
        "L": "inactive",
        "M": "dormant",
        "N": "inactive",
        **ordinary,
    }
    # frequency: A and C 3 orders in 90d, N 3 groups in 90d
    assert col("groupbuy_frequency") == {
        "A": "high",
        "C": "high",
        "N": "high",
        "K": "none",
        "L": "none",
        "M": "none",
        **dict.fromkeys("BDEFGHIJ", "low"),
    }
    # 10 buyers in 365d (A, B, C, D..J): top ceil(0.2 x 10) = 2 by spend: B 5000, A 3000
    assert col("groupbuy_spend") == {
        "A": "high",
        "B": "high",
        **dict.fromkeys("CDEFGHIJ", "low"),
        **dict.fromkeys("KLMN", "none"),
    }
    assert col("groupbuy_value") == {
        "A": "high_value",
        "B": "potential_high_value",
        "C": "frequent_small",
        **dict.fromkeys("DEFGHIJ", "ordinary"),
        **dict.fromkeys("KLMN", "none"),
    }
    assert col("groupbuy_top_category_365d")["C"] == "snack"
    assert col("groupbuy_top_category_365d")["A"] == "meat"
    assert col("monetary_365d")["A"] == 3000.0
    for column in (
        "groupbuy_activity_class",
        "groupbuy_frequency",
        "groupbuy_spend",
        "groupbuy_value",
    ):
        assert set(df[column]) == labels_of(engine, "groupbuy:behaviour", column)
