"""Every groupbuy dimension on tiny hand-made tables: windows at the as-of boundary,
nulls, customers without rows, parameters. Expected values are worked out by hand from
the rows written next to them (as-of 2026-11-01 00:00, ``ago(n)`` = n days before)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
import segrule_groupbuy.hooks as plugin
from segrule.errors import SegruleError
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


def customers(*ids: str) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": list(ids)}, schema={"customer_id": pl.String()})


def orders(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Rows (customer, ts, status, category, coupon_used, discount); amount 10."""
    return frame(
        [
            {
                "order_id": f"o{i}",
                "customer_id": c,
                "order_ts": ts,
                "amount": 10.0,
                "status": st,
                "category": cat,
                "coupon_used": cp,
                "discount": disc,
            }
            for i, (c, ts, st, cat, cp, disc) in enumerate(rows)
        ],
        ORDERS,
    )


def outputs(rules_factory: Any, *names: str, extra: str = "") -> Any:
    return rules_factory("r.yaml", extra + f"outputs: [customer_id, {', '.join(names)}]\n")


@pytest.fixture
def engine(segrule_engine: Any) -> Any:
    return segrule_engine(plugin)


# -- price sensitivity from orders -----------------------------------------------------------
PRICE_ORDERS = orders(
    [
        ("c1", ago(1), "paid", "fruit", True, 0.10),
        ("c1", ago(10), "paid", "snack", False, 0.0),
        ("c1", ago(20), "paid", "snack", None, 0.25),  # null coupon: not a coupon order
        ("c1", ago(30), "paid", "fruit", True, None),  # exactly 30 days: inside 30d
        ("c1", ago(30.001), "paid", "snack", True, 0.20),  # just outside 30d
        ("c1", ago(5), "refunded", "meat", True, 0.50),  # not paid: never counted
        ("c1", AS_OF, "paid", "meat", True, 0.50),  # at the as-of: not counted
        ("c2", ago(3), "refunded", "meat", True, 0.30),  # c2 has no paid order
    ]
)


def test_price_dimensions(engine: Any, segrule_rules: Any) -> None:
    names = [
        f"groupbuy_{d}_{w}"
        for w in ("30d", "lifetime")
        for d in ("coupon_orders", "coupon_share", "promo_orders", "promo_share", "avg_discount")
    ]
    rules = outputs(segrule_rules, "orders_30d", *names)
    df = score_rows(
        rules, {"orders": PRICE_ORDERS, "customers": customers("c1", "c2", "c3")}, engine=engine
    )
    got = {r["customer_id"]: r for r in df.iter_rows(named=True)}
    c1 = got["c1"]
    # 30d: paid o0 o1 o2 o3; coupons o0 o3; promotions o0 (coupon) o2 (discount) o3 (coupon)
    assert c1["orders_30d"] == 4
    assert (c1["groupbuy_coupon_orders_30d"], c1["groupbuy_coupon_share_30d"]) == (2, 0.5)
    assert (c1["groupbuy_promo_orders_30d"], c1["groupbuy_promo_share_30d"]) == (3, 0.75)
    # discounts with a value: 0.10, 0.0, 0.25 -> 3500 bp / 3
    assert c1["groupbuy_avg_discount_30d"] == round(3500 / 3 / 10_000, 6) == 0.116667
    # lifetime adds o4 (coupon, 0.20)
    assert (c1["groupbuy_coupon_orders_lifetime"], c1["groupbuy_coupon_share_lifetime"]) == (3, 0.6)
    assert (c1["groupbuy_promo_orders_lifetime"], c1["groupbuy_promo_share_lifetime"]) == (4, 0.8)
    assert c1["groupbuy_avg_discount_lifetime"] == 0.1375
    for cid in ("c2", "c3"):  # no paid order (c2) or no order at all (c3)
        row = got[cid]
        assert row["groupbuy_coupon_orders_30d"] == 0 and row["groupbuy_promo_orders_lifetime"] == 0
        assert row["groupbuy_coupon_share_30d"] is None
        assert row["groupbuy_promo_share_lifetime"] is None
        assert row["groupbuy_avg_discount_lifetime"] is None


def test_top_category_ties_and_windows(engine: Any, segrule_rules: Any) -> None:
    rules = outputs(segrule_rules, "groupbuy_top_category_30d", "groupbuy_top_category_lifetime")
    df = score_rows(
        rules, {"orders": PRICE_ORDERS, "customers": customers("c1", "c2", "c3")}, engine=engine
    )
    # 30d: fruit 2 (o0, o3), snack 2 (o1, o2): tie -> alphabetically first; lifetime snack 3
    assert df.rows() == [("c1", "fruit", "snack"), ("c2", None, None), ("c3", None, None)]


# -- groups ----------------------------------------------------------------------------------
def group_rows(rows: list[tuple[Any, ...]], with_size: bool = True) -> pl.DataFrame:
    """Rows (customer, group, role, ts, status, size, premium, list, deal)."""
    keys = list(GROUPS)
    recs = [dict(zip(keys, r, strict=True)) for r in rows]
    schema = dict(GROUPS)
    if not with_size:
        schema.pop("group_size")
        for r in recs:
            r.pop("group_size")
    return frame(recs, schema)


GROUP_TABLE = group_rows(
    [
        ("c1", "G1", "initiator", ago(2), "success", 5, True, 100.0, 80.0),
        ("c2", "G1", "joiner", ago(2), "success", 5, True, 100.0, 80.0),
        ("c1", "G2", "团长", ago(40), "未成团", 3, False, 0.0, 10.0),  # list 0: no depth
        ("c1", "G3", "joiner", ago(10), "success", 2, None, 50.0, 20.0),  # premium null
        ("c4", "G3", "initiator", ago(10), "success", 2, None, 50.0, 20.0),
        ("c2", "G5", "Participant", ago(100), "拼团成功", 4, False, 10.0, 12.0),  # above list
        ("c2", "G4", "member", AS_OF, "open", 2, True, 10.0, 5.0),  # at the as-of
    ]
)


def test_group_counts_and_shares(engine: Any, segrule_rules: Any) -> None:
    dims = [
        "participations",
        "groups_started",
        "groups_joined",
        "groups_formed",
        "joiners_brought",
        "premium_share",
        "deal_depth",
    ]
    names = [f"groupbuy_{d}_{w}" for w in ("30d", "lifetime") for d in dims]
    rules = outputs(segrule_rules, *names)
    tables = {"groupbuy_groups": GROUP_TABLE, "customers": customers("c1", "c2", "c3", "c4")}
    df = score_rows(rules, tables, engine=engine)
    got = {r["customer_id"]: r for r in df.iter_rows(named=True)}

    def values(cid: str, w: str) -> list[Any]:
        return [got[cid][f"groupbuy_{d}_{w}"] for d in dims]

    # c1 30d: G1 (initiator, formed, 4 joiners, premium, depth 0.2), G3 (joiner, depth 0.6)
    assert values("c1", "30d") == [2, 1, 1, 1, 4, 0.5, 0.4]
    # lifetime adds G2 (团长 -> initiator, 未成团 -> failed, size 3, not premium, list 0)
    assert values("c1", "lifetime") == [3, 2, 1, 1, 6, 1 / 3, 0.4]
    # c2: G1 joined in 30d; G5 (Participant -> joiner) in lifetime; G4 at the as-of ignored.
    # G5 deal above list: depth clipped to 0 -> mean (0.2 + 0) / 2
    assert values("c2", "30d") == [1, 0, 1, 0, 0, 1.0, 0.2]
    assert values("c2", "lifetime") == [2, 0, 2, 0, 0, 0.5, 0.1]
    assert values("c4", "lifetime") == [1, 1, 0, 1, 1, 0.0, 0.6]
    # no rows: counts 0, shares and means NULL
    assert values("c3", "lifetime") == [0, 0, 0, 0, 0, None, None]


def test_role_dimension_and_min_started(engine: Any, segrule_rules: Any) -> None:
    rules = segrule_rules(
        "r.yaml",
        """
        dimensions:
          big_initiator:
            use: groupbuy_role
            params: {min_started: 2}
        outputs: [customer_id, groupbuy_role, groupbuy_role_30d, big_initiator]
        """,
    )
    tables = {"groupbuy_groups": GROUP_TABLE, "customers": customers("c1", "c2", "c3", "c4")}
    df = score_rows(rules, tables, engine=engine)
    assert df.rows() == [
        ("c1", "initiator", "initiator", "initiator"),  # started G1, G2 (2 >= 2)
        ("c2", "joiner", "joiner", "joiner"),
        ("c3", "none", "none", "none"),
        ("c4", "initiator", "initiator", "joiner"),  # started 1 < 2: took part -> joiner
    ]


def test_role_rejects_bad_min_started(engine: Any, segrule_rules: Any) -> None:
    rules = segrule_rules(
        "r.yaml",
        """
        dimensions:
          r:
            use: groupbuy_role
            params: {min_started: 0}
        outputs: [customer_id, r]
        """,
    )
    with pytest.raises(SegruleError, match=r"min_started must be a whole number >= 1"):
        score_rows(rules, {"groupbuy_groups": GROUP_TABLE}, engine=engine)


def test_group_size_derived_from_rows_when_missing(engine: Any, segrule_rules: Any) -> None:
    table = group_rows(
        [
            ("c1", "G1", "initiator", ago(5), "success", None, False, 10.0, 9.0),
            ("c2", "G1", "joiner", ago(5), "success", None, False, 10.0, 9.0),
            ("c5", "G1", "joiner", ago(4), "success", None, False, 10.0, 9.0),
            ("c6", "G1", "joiner", AS_OF, "success", None, False, 10.0, 9.0),  # not yet
            ("c1", "G2", "initiator", ago(3), "failed", None, False, 10.0, 9.0),  # alone
        ],
        with_size=False,
    )
    assert "group_size" not in table.columns
    rules = outputs(segrule_rules, "groupbuy_joiners_brought_lifetime")
    tables = {"groupbuy_groups": table, "customers": customers("c1", "c2", "c5")}
    df = score_rows(rules, tables, engine=engine)
    # G1 has 3 rows before the as-of (size 3 -> 2 joiners); G2 has 1 (0 joiners)
    assert df.rows() == [("c1", 2), ("c2", 0), ("c5", 0)]


def test_missing_optional_group_column_is_a_clear_error(engine: Any, segrule_rules: Any) -> None:
    table = GROUP_TABLE.drop("premium")
    rules = outputs(segrule_rules, "groupbuy_premium_share_30d")
    with pytest.raises(SegruleError, match=r"no column 'premium'.*groupbuy_premium_share_30d"):
        score_rows(rules, {"groupbuy_groups": table, "customers": customers("c1")}, engine=engine)


# -- events: service, browsing, activity -----------------------------------------------------
EVENT_TABLE = frame(
    [
        {"customer_id": c, "event_ts": ts, "event_type": t}
        for c, ts, t in [
            ("c1", ago(1), "inquiry"),
            ("c1", ago(30), "complaint"),  # exactly 30 days: inside 30d
            ("c1", ago(31), "after_sales"),  # lifetime only
            ("c1", ago(3), "view"),
            ("c1", ago(2), "share"),
            ("c1", ago(1), "campaign"),  # neither service nor browsing
            ("c1", AS_OF, "complaint"),  # at the as-of: not counted
            ("c2", ago(5), "view"),
            ("c3", ago(3), "favorite"),
            ("c6", ago(3), "complaint"),
        ]
    ],
    EVENTS,
)
EVENT_ORDERS = orders(
    [
        ("c1", ago(4), "paid", None, None, None),
        ("c1", ago(6), "paid", None, None, None),
        ("c1", ago(60), "paid", None, None, None),
        ("c1", ago(90), "paid", None, None, None),
        ("c3", ago(100), "paid", None, None, None),
        ("c4", ago(100), "paid", None, None, None),
        ("c7", ago(7), "paid", None, None, None),
    ]
)
EVENT_CUSTOMERS = customers("c1", "c2", "c3", "c4", "c5", "c6", "c7")


def test_service_contacts_and_rate(engine: Any, segrule_rules: Any) -> None:
    rules = segrule_rules(
        "r.yaml",
        """
        dimensions:
          complaints_30d:
            use: groupbuy_service_contacts_30d
            params: {types: [complaint]}
        outputs: [customer_id, groupbuy_service_contacts_30d, groupbuy_service_contacts_lifetime,
                  complaints_30d, groupbuy_service_rate_30d, groupbuy_service_rate_lifetime]
        """,
    )
    tables = {"orders": EVENT_ORDERS, "events": EVENT_TABLE, "customers": EVENT_CUSTOMERS}
    got = {r[0]: r[1:] for r in score_rows(rules, tables, engine=engine).rows()}
    # c1: 30d inquiry + complaint = 2 over 2 paid orders; lifetime 3 over 4
    assert got["c1"] == (2, 3, 1, 1.0, 0.75)
    assert got["c2"] == (0, 0, 0, None, None)  # no paid order: no rate
    assert got["c6"] == (1, 1, 1, None, None)  # complains without orders
    assert got["c7"] == (0, 0, 0, 0.0, 0.0)


def test_browse_events_and_activity(engine: Any, segrule_rules: Any) -> None:
    rules = segrule_rules(
        "r.yaml",
        """
        dimensions:
          strict_activity:
            use: groupbuy_activity_30d
            params: {min_orders: 2}
        outputs: [customer_id, groupbuy_browse_events_30d, groupbuy_activity_30d, strict_activity]
        """,
    )
    tables = {"orders": EVENT_ORDERS, "events": EVENT_TABLE, "customers": EVENT_CUSTOMERS}
    df = score_rows(rules, tables, engine=engine)
    assert df.rows() == [
        ("c1", 2, "active", "active"),  # 2 paid orders in 30d, view + share
        ("c2", 1, "browsing_only", "browsing_only"),  # never bought, viewed
        ("c3", 1, "browsing_lapsed", "browsing_lapsed"),  # bought 100 days ago, favorite
        ("c4", 0, "dormant", "dormant"),  # bought 100 days ago, no browsing
        ("c5", 0, "inactive", "inactive"),  # nothing at all
        ("c6", 0, "inactive", "inactive"),  # a complaint is not browsing
        ("c7", 0, "active", "dormant"),  # 1 paid order in 30d < min_orders 2
    ]


def test_bad_event_types_param(engine: Any, segrule_rules: Any) -> None:
    rules = segrule_rules(
        "r.yaml",
        """
        dimensions:
          x:
            use: groupbuy_browse_events_30d
            params: {types: view}
        outputs: [customer_id, x]
        """,
    )
    with pytest.raises(SegruleError, match=r"params\.types must be a non-empty list"):
        score_rows(rules, {"events": EVENT_TABLE}, engine=engine)


# -- touches ---------------------------------------------------------------------------------
def test_first_and_last_source(engine: Any, segrule_rules: Any) -> None:
    table = frame(
        [
            {"customer_id": c, "touch_ts": ts, "source": s}
            for c, ts, s in [
                ("c1", ago(50), " Baidu "),  # -> search
                ("c1", ago(100), "微信"),  # -> social, the first touch
                ("c1", ago(1), "ads"),
                ("c2", ago(10), "referral"),  # same instant: alphabetical order decides
                ("c2", ago(10), "ADS"),
                ("c3", AS_OF, "social"),  # at the as-of: not counted
                ("c4", ago(5), "TV"),  # unknown spelling: kept, lower-cased
                ("c4", ago(4), None),  # null sources are skipped
            ]
        ],
        TOUCHES,
    )
    rules = outputs(
        segrule_rules, "groupbuy_first_source", "groupbuy_last_source", "groupbuy_first_touch_ts"
    )
    df = score_rows(
        rules,
        {"groupbuy_touches": table, "customers": customers("c1", "c2", "c3", "c4")},
        engine=engine,
    )
    first_ts = df["groupbuy_first_touch_ts"].dt.replace_time_zone(None).to_list()
    assert df.drop("groupbuy_first_touch_ts").rows() == [
        ("c1", "social", "ads"),
        ("c2", "ads", "referral"),
        ("c3", None, None),
        ("c4", "tv", "tv"),
    ]
    assert first_ts == [ago(100), ago(10), None, ago(5)]


# -- referrals -------------------------------------------------------------------------------
def test_referral_counts(engine: Any, segrule_rules: Any) -> None:
    table = frame(
        [
            {"customer_id": c, "referral_ts": ts, "referred_id": r, "converted_ts": conv}
            for c, ts, r, conv in [
                ("c1", ago(10), "c9", ago(5)),  # successful
                ("c1", ago(20), "c8", None),  # not converted
                ("c1", ago(40), "c9", ago(35)),  # c9 again (lifetime), successful
                ("c1", ago(3), "c7", AS_OF + dt.timedelta(days=1)),  # converts after as-of
                ("c1", ago(30), None, ago(29)),  # converted, invitee id unknown
                ("c2", AS_OF, "c6", ago(1)),  # sent at the as-of: not counted
            ]
        ],
        REFERRALS,
    )
    names = [
        f"groupbuy_{d}_{w}"
        for w in ("30d", "lifetime")
        for d in ("referrals", "referrals_converted", "referred_customers")
    ]
    rules = outputs(segrule_rules, *names)
    df = score_rows(
        rules, {"groupbuy_referrals": table, "customers": customers("c1", "c2")}, engine=engine
    )
    # 30d: rows at ago 10, 20, 3, 30; converted: ago 10, ago 30; distinct known invitees: c9
    # lifetime adds ago 40 (c9 again)
    assert df.rows() == [("c1", 4, 2, 1, 5, 3, 1), ("c2", 0, 0, 0, 0, 0, 0)]


# -- prepare_table normalisation -------------------------------------------------------------
def test_prepare_maps_spellings_and_leaves_other_tables() -> None:
    from segrule_groupbuy.tables import prepare

    lf = pl.LazyFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "group_id": ["g", "g", "h", None],
            "role": ["团长", " Leader", "参团", "spectator"],
            "status": ["成团", "EXPIRED", "拼团中", None],
        }
    )
    out = prepare("groupbuy_groups", lf)
    assert out is not None
    got = out.collect()
    assert got["role"].to_list() == ["initiator", "initiator", "joiner", "spectator"]
    assert got["status"].to_list() == ["success", "failed", "open", None]
    assert got["group_size"].to_list() == [2, 2, 1, None]
    touches = pl.LazyFrame({"customer_id": ["a", "b", "c"], "source": ["小红书", "SEM", "地推"]})
    prepared = prepare("groupbuy_touches", touches)
    assert prepared is not None
    assert prepared.collect()["source"].to_list() == ["social", "search", "offline"]
    assert prepare("orders", lf) is None
    assert prepare("groupbuy_referrals", lf) is None
