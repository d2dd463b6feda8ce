"""Engine semantics on tiny hand-made tables; every expected value is worked out by hand
from the rows next to it. As-of is 2026-11-01 00:00 unless a test says otherwise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)
US = dt.timedelta(microseconds=1)


def ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


def score(rules_path: Path | str, tables: dict[str, pl.DataFrame], **kw: Any) -> pl.DataFrame:
    kw.setdefault("as_of", "2026-11-01")
    out = segrule.score(rules_path, tables, **kw)
    assert isinstance(out, pl.DataFrame)
    return out


def by_id(df: pl.DataFrame, column: str) -> dict[str, Any]:
    return dict(zip(df["customer_id"].to_list(), df[column].to_list(), strict=True))


# -- the universe ----------------------------------------------------------------------
def test_universe_is_the_customers_table_when_given(rules, make_tables) -> None:
    path = rules("u.yaml", "outputs: [customer_id, orders_lifetime, recency_days]\n")
    tables = make_tables(
        orders=[("c2", ago(3), 10.0), ("c2", ago(5), 10.0), ("c9", ago(1), 5.0)],
        customers=["c3", "c2", "c1"],
    )
    df = score(path, tables)
    # c9 has orders but is not a customer; c1 and c3 are customers without orders.
    assert df.rows() == [("c1", 0, None), ("c2", 2, 3), ("c3", 0, None)]


def test_universe_is_the_order_customers_without_customers_table(rules, make_tables) -> None:
    path = rules("u.yaml", "outputs: [customer_id, orders_lifetime, pending_orders_lifetime]\n")
    tables = make_tables(
        orders=[("c2", ago(3), 10.0), ("c1", ago(4), 10.0, "pending"), ("c3", ago(0) + US, 10.0)]
    )
    df = score(path, tables)
    # c1 only has a pending order (no paid one) and is kept; c3's only order is at/after as-of.
    assert df.rows() == [("c1", 0, 1), ("c2", 1, 0)]


def test_one_row_per_customer_sorted_by_customer_id(rules, make_tables) -> None:
    path = rules("u.yaml", "outputs: [customer_id, orders_lifetime, city]\n")
    tables = make_tables(
        orders=[("b", ago(1), 1.0), ("a10", ago(2), 1.0), ("b", ago(3), 1.0)],
        customers=[
            ("b", 1990, "上海"),
            ("a2", 1990, "北京"),
            ("a10", 1990, "深圳"),
            ("b", 1990, "上海"),
        ],  # a duplicated customer row
    )
    df = score(path, tables)
    assert df["customer_id"].to_list() == ["a10", "a2", "b"]  # string order
    assert df["orders_lifetime"].to_list() == [1, 0, 2]
    assert df.columns == ["customer_id", "orders_lifetime", "city"]


def test_null_customer_ids_are_not_customers(rules, make_tables) -> None:
    path = rules("u.yaml", "outputs: [customer_id, orders_lifetime]\n")
    tables = make_tables(orders=[("c1", ago(1), 1.0), (None, ago(2), 1.0)])
    assert score(path, tables).rows() == [("c1", 1)]


def test_integer_customer_ids_keep_their_type_and_numeric_order(rules, tb) -> None:
    path = rules("u.yaml", "outputs: [customer_id, orders_lifetime]\n")
    orders = tb.orders([("10", ago(1), 1.0), ("9", ago(2), 1.0), ("100", ago(2), 1.0)])
    for dtype in (pl.Int64, pl.Int32, pl.UInt64):
        df = score(path, {"orders": orders.with_columns(pl.col("customer_id").cast(dtype))})
        assert df.schema["customer_id"] == dtype
        assert df.rows() == [(9, 1), (10, 1), (100, 1)]  # as text it would be 10, 100, 9


# -- as-of and windows ---------------------------------------------------------------
def test_rows_at_or_after_as_of_are_ignored(rules, make_tables) -> None:
    path = rules(
        "w.yaml", "outputs: [customer_id, orders_lifetime, monetary_lifetime, last_order_ts]\n"
    )
    tables = make_tables(
        orders=[
            ("c1", AS_OF - US, 1.0),
            ("c1", AS_OF, 10.0),
            ("c1", AS_OF + dt.timedelta(days=3), 100.0),
        ]
    )
    df = score(path, tables)
    assert df.rows() == [("c1", 1, 1.0, (AS_OF - US).replace(tzinfo=dt.UTC))]


def test_window_includes_its_first_instant_only(rules, make_tables) -> None:
    path = rules(
        "w.yaml", "outputs: [customer_id, orders_30d, orders_4w, orders_lifetime, monetary_30d]\n"
    )
    tables = make_tables(
        orders=[
            ("exact", ago(30), 1.0),  # exactly as_of - 30 days: inside
            ("before", ago(30) - US, 2.0),  # a microsecond earlier: outside
            ("w", ago(28), 3.0),
            ("w", ago(28) - US, 4.0),
        ]
    )
    df = score(path, tables)
    assert df.rows() == [("before", 0, 0, 1, 0.0), ("exact", 1, 0, 1, 1.0), ("w", 2, 1, 2, 7.0)]


def test_as_of_date_object_and_aware_string_agree(rules, make_tables) -> None:
    path = rules("w.yaml", "outputs: [customer_id, orders_lifetime]\n")
    tables = make_tables(orders=[("c1", AS_OF - US, 1.0), ("c1", AS_OF, 1.0)])
    for as_of in (dt.date(2026, 11, 1), AS_OF, "2026-11-01T00:00:00Z", "2026-11-01T08:00:00+08:00"):
        assert score(path, tables, as_of=as_of).rows() == [("c1", 1)], as_of


def test_time_zone_of_aware_timestamps(rules, tb) -> None:
    """2026-10-31T20:00Z is 2026-11-01 04:00 in Shanghai: after a Shanghai as-of of
    2026-11-01, before a UTC one."""
    orders = tb.orders(
        [("c1", dt.datetime(2026, 10, 31, 20), 5.0), ("c1", dt.datetime(2026, 10, 1), 1.0)]
    ).with_columns(pl.col("order_ts").dt.replace_time_zone("UTC"))
    path = rules(
        "tz.yaml", "outputs: [customer_id, orders_lifetime, monetary_lifetime, last_order_ts]\n"
    )
    shanghai = score(path, {"orders": orders}, tz="Asia/Shanghai")
    assert shanghai["orders_lifetime"].to_list() == [1]
    assert shanghai["monetary_lifetime"].to_list() == [1.0]
    utc = score(path, {"orders": orders}, tz="UTC")
    assert utc["orders_lifetime"].to_list() == [2]
    assert utc["monetary_lifetime"].to_list() == [6.0]
    # Timestamps come out in the business time zone, as the same instant.
    assert shanghai.schema["last_order_ts"] == pl.Datetime("us", "Asia/Shanghai")
    assert shanghai["last_order_ts"][0] == dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    assert utc["last_order_ts"][0] == dt.datetime(2026, 10, 31, 20, tzinfo=dt.UTC)


def test_aware_datetime_attributes_are_read_in_the_business_time_zone(rules, tb) -> None:
    """Not only the time column: signup_ts 2026-10-31T20:00Z is 2026-11-01 04:00 in
    Shanghai, so a Shanghai rule sees a sign-up on 1 November."""
    customers = tb.customers(["c1"]).with_columns(
        pl.lit(dt.datetime(2026, 10, 31, 20)).dt.replace_time_zone("UTC").alias("signup_ts")
    )
    path = rules(
        "signup.yaml",
        """
        segments:
          november_signup:
            flag: "signup_ts >= as_of"
        outputs: [customer_id, november_signup]
        """,
    )
    tables = {"orders": tb.orders([]), "customers": customers}
    assert score(path, tables, tz="Asia/Shanghai").rows() == [("c1", True)]
    assert score(path, tables, tz="UTC").rows() == [("c1", False)]


def test_rule_set_timezone_is_the_default_and_tz_overrides_it(rules, tb) -> None:
    orders = tb.orders([("c1", dt.datetime(2026, 10, 31, 20), 5.0)]).with_columns(
        pl.col("order_ts").dt.replace_time_zone("UTC")
    )
    tables = {"orders": orders, "customers": tb.customers(["c1"])}
    path = rules("tz.yaml", "timezone: Asia/Shanghai\noutputs: [customer_id, orders_lifetime]\n")
    assert score(path, tables).rows() == [("c1", 0)]
    assert score(path, tables, tz="UTC").rows() == [("c1", 1)]


def test_naive_timestamps_are_wall_time_of_the_business_zone(rules, make_tables) -> None:
    path = rules("tz.yaml", "outputs: [customer_id, orders_lifetime]\n")
    tables = make_tables(
        orders=[
            ("late", dt.datetime(2026, 10, 31, 23), 1.0),
            ("next", dt.datetime(2026, 11, 1, 0, 30), 1.0),
            ("seven", dt.datetime(2026, 11, 1, 7, 59), 1.0),
            ("eight", dt.datetime(2026, 11, 1, 8, 0), 1.0),
        ]
    )
    # Midnight in Shanghai: 23:00 the day before counts (it would not if read as UTC).
    df = score(path, tables, tz="Asia/Shanghai")
    assert by_id(df, "orders_lifetime") == {"late": 1}
    # As-of 00:00 UTC is 08:00 in Shanghai: 07:59 wall time is before it, 08:00 is not.
    df = score(path, tables, tz="Asia/Shanghai", as_of="2026-11-01T00:00:00+00:00")
    assert by_id(df, "orders_lifetime") == {"late": 1, "next": 1, "seven": 1}


def test_string_timestamps_are_parsed(rules, tb) -> None:
    orders = tb.orders([("c1", ago(1), 1.0), ("c1", AS_OF, 1.0)]).with_columns(
        pl.col("order_ts").dt.strftime("%Y-%m-%d %H:%M:%S")
    )
    path = rules("s.yaml", "outputs: [customer_id, orders_lifetime, recency_days]\n")
    assert score(path, {"orders": orders}).rows() == [("c1", 1, 1)]


def test_string_timestamps_with_offsets_are_instants(rules, tb) -> None:
    orders = tb.orders([("c1", ago(30), 1.0), ("c1", ago(30), 2.0)]).with_columns(
        order_ts=pl.Series(["2026-10-31T20:00:00+00:00", "2026-10-01T00:00:00Z"])
    )
    path = rules("s.yaml", "outputs: [customer_id, orders_lifetime, monetary_lifetime]\n")
    tables = {"orders": orders, "customers": tb.customers(["c1"])}
    assert score(path, tables, tz="Asia/Shanghai").rows() == [("c1", 1, 2.0)]
    assert score(path, tables, tz="UTC").rows() == [("c1", 2, 3.0)]


def test_date_timestamps_are_midnight(rules, tb) -> None:
    orders = tb.orders([("c1", ago(1), 1.0), ("c1", AS_OF, 1.0)]).with_columns(
        pl.col("order_ts").dt.date()
    )
    path = rules("d.yaml", "outputs: [customer_id, orders_lifetime, recency_days]\n")
    assert score(path, {"orders": orders}).rows() == [("c1", 1, 1)]


# -- money -----------------------------------------------------------------------------
def test_money_is_summed_exactly(rules, make_tables) -> None:
    assert sum([0.1] * 10) != 1.0  # a float sum would miss the threshold
    path = rules(
        "m.yaml",
        """
        dimensions:
          spend:
            aggregate: "sum(amount)"
        segments:
          spent_one:
            flag: "monetary_lifetime >= 1"
          spent_one_custom:
            flag: "spend >= 1"
        outputs: [customer_id, monetary_lifetime, monetary_365d, spend, spent_one,
                  spent_one_custom, avg_order_value]
        """,
    )
    tables = make_tables(orders=[("c1", ago(i + 1), 0.1) for i in range(10)])
    df = score(path, tables)
    row = df.row(0, named=True)
    assert row["monetary_lifetime"] == 1.0
    assert row["monetary_365d"] == 1.0
    assert row["spend"] == 1.0
    assert row["spent_one"] is True
    assert row["spent_one_custom"] is True
    assert row["avg_order_value"] == 0.1


def test_money_threshold_at_exactly_10000(rules, make_tables) -> None:
    path = rules(
        "m.yaml",
        """
        segments:
          whale:
            flag: "monetary_365d >= 10000"
        outputs: [customer_id, monetary_365d, whale]
        """,
    )
    tables = make_tables(
        orders=[("c1", ago(i + 1), 3333.33) for i in range(3)] + [("c1", ago(5), 0.01)]
    )
    assert score(path, tables).rows() == [("c1", 10000.0, True)]


# -- custom dimensions -------------------------------------------------------------
CUSTOM = """
    dimensions:
      n_categories:
        aggregate: "count(DISTINCT category)"
      shoe_spend_30d:
        aggregate: "sum(amount)"
        where: "category = 'shoes'"
        window: 30d
      latest:
        aggregate: "max(order_ts)"
      big_orders:
        aggregate: "count(*)"
        where: "amount >= 100"
      spend_per_category:
        expr: "CASE WHEN n_categories > 0 THEN shoe_spend_30d / n_categories END"
      home:
        attribute: city
      band:
        use: age_band
        params:
          bands:
            - {label: young, below: 30}
            - {label: old}
    outputs: [customer_id, n_categories, shoe_spend_30d, latest, big_orders, spend_per_category,
              home, band]
    """


def test_custom_aggregate_expr_attribute_and_use(rules, make_tables) -> None:
    path = rules("custom.yaml", CUSTOM)
    tables = make_tables(
        orders=[
            ("c1", ago(1), 100.0, "paid", "shoes"),
            ("c1", ago(10), 50.5, "paid", "shoes"),
            ("c1", ago(31), 70.0, "paid", "shoes"),  # outside the 30-day window
            ("c1", ago(2), 20.0, "paid", "bags"),
            ("c1", ago(3), 5.0, "paid", None),  # a null category is not a category
            ("c2", ago(40), 300.0, "refunded", "hats"),  # custom aggregates read every status
        ],
        customers=[("c1", 2000, "上海"), ("c2", 1985, "北京"), ("c3", None, None)],
    )
    df = score(path, tables)
    assert df.rows() == [
        # n_cat, shoes_30d, latest, big, per_cat, home, band (age 26 / 41 / unknown)
        ("c1", 2, 150.5, ago(1).replace(tzinfo=dt.UTC), 1, 75.25, "上海", "young"),
        ("c2", 1, 0.0, ago(40).replace(tzinfo=dt.UTC), 1, 0.0, "北京", "old"),
        ("c3", 0, 0.0, None, 0, None, None, None),
    ]


def test_custom_aggregate_fill(rules, make_tables) -> None:
    path = rules(
        "fill.yaml",
        """
        dimensions:
          top_order:
            aggregate: "max(amount)"
            fill: -1
        outputs: [customer_id, top_order]
        """,
    )
    tables = make_tables(orders=[("c1", ago(1), 7.0)], customers=["c1", "c2"])
    assert score(path, tables).rows() == [("c1", 7.0), ("c2", -1.0)]


def test_unwindowed_counts_count_rows_not_groups(rules, make_tables) -> None:
    """events_lifetime (any type, no window) and count(*) count every row of a customer.

    Regression: an all-literal mask summed in a group_by gave 1 per customer."""
    path = rules(
        "counts.yaml",
        """
        dimensions:
          rows_lifetime: {aggregate: "count(*)", table: events}
        outputs: [customer_id, events_lifetime, rows_lifetime, events_campaign_lifetime]
        """,
    )
    tables = make_tables(
        orders=[("c1", ago(1), 7.0), ("c2", ago(1), 7.0)],
        events=[
            ("c1", ago(2), "view"),
            ("c1", ago(2), "view"),
            ("c1", ago(400), "campaign"),
            ("c1", AS_OF, "view"),
        ],
    )
    assert score(path, tables).rows() == [("c1", 3, 3, 1), ("c2", 0, 0, 0)]


def test_age_band_bounds_must_increase(rules, make_tables) -> None:
    path = rules(
        "band.yaml",
        """
        dimensions:
          band:
            use: age_band
            params: {bands: [{label: a, below: 40}, {label: b, below: 20}, {label: c}]}
        outputs: [customer_id, band]
        """,
    )
    with pytest.raises(segrule.RuleSetError, match="strictly increasing"):
        score(path, make_tables(customers=[("c1", 2000, "上海")]))


# -- builtin demographics -----------------------------------------------------------
def test_generation_age_and_labels(rules, make_tables) -> None:
    path = rules("gen.yaml", "outputs: [customer_id, age, generation, age_band]\n")
    tables = make_tables(
        customers=[
            ("c1", 1985, "上海"),
            ("c2", 2001, "北京"),
            ("c3", 1979, "上海"),
            ("c4", None, None),
        ]
    )
    plan = segrule.compile(path, tables, as_of="2026-11-01")
    df = segrule.collect(plan.frame)
    assert df.rows() == [
        ("c1", 41, "born_1980s", "adult"),
        ("c2", 25, "born_2000s", "adult"),
        ("c3", 47, "born_1970s", "senior"),
        ("c4", None, None, None),
    ]
    labels = plan.nodes["generation"].labels
    assert labels["born_1980s"].zh == "80后"
    assert labels["born_2000s"].zh == "00后"
    assert labels["born_1970s"].zh == "70后"
    assert labels["born_1990s"].en == "Born 1990s"


def test_city_tier_and_region(rules, make_tables) -> None:
    path = rules("geo.yaml", "outputs: [customer_id, city_tier, region, membership]\n")
    tables = make_tables(
        customers=[
            ("c1", None, "上海", True),
            ("c2", None, "火星", False),
            ("c3", None, None, None),
            ("c4", None, "成都", True),
        ]
    )
    plan = segrule.compile(path, tables, as_of="2026-11-01")
    df = segrule.collect(plan.frame)
    assert df.rows() == [
        ("c1", "tier1", "east", "member"),
        ("c2", None, None, "non_member"),
        ("c3", None, None, "unknown"),
        ("c4", "new_tier1", "southwest", "member"),
    ]
    assert plan.nodes["city_tier"].labels["tier1"].zh == "一线城市"
    assert plan.nodes["region"].labels["east"].zh == "华东"


def test_generation_preset(make_tables) -> None:
    tables = make_tables(customers=[("c1", 1995, "上海", True)])
    df = score("generation", tables)
    assert df.row(0, named=True) == {
        "customer_id": "c1",
        "birth_year": 1995,
        "age": 31,
        "generation": "born_1990s",
        "age_band": "adult",
        "city": "上海",
        "city_tier": "tier1",
        "region": "east",
        "membership": "member",
    }


# -- strategies ------------------------------------------------------------------------
def test_points_bins_cases_weights_and_tier_ladder(rules, make_tables) -> None:
    path = rules(
        "points.yaml",
        """
        scores:
          pts:
            strategy: points
            params:
              parts:
                - dimension: orders_lifetime
                  bins: [{min: 5, points: 10}, {min: 1, points: 4}]
                  default: 0
                - cases:
                    - {when: "monetary_lifetime >= 300", points: 5}
                    - {when: "monetary_lifetime > 0", points: 2}
                  default: 0
                  weight: 2
                - {dimension: city, points: {上海: 3, 北京: 1}, default: 0}
              tiers: [{label: gold, min: 20}, {label: silver, min: 5}]
              default_tier: bronze
        outputs: [customer_id, pts, pts_tier]
        """,
    )
    tables = make_tables(
        orders=[("c1", ago(i + 1), 100.0) for i in range(5)] + [("c2", ago(1), 50.0)],
        customers=[("c1", None, "上海"), ("c2", None, "北京"), ("c3", None, None)],
    )
    df = score(path, tables)
    # c1: 10 + 2*5 + 3 = 23 gold; c2: 4 + 2*2 + 1 = 9 silver; c3: 0 + 0 + 0 bronze.
    assert df.rows() == [("c1", 23, "gold"), ("c2", 9, "silver"), ("c3", 0, "bronze")]


def test_points_tier_at_exact_threshold(rules, make_tables) -> None:
    path = rules(
        "points.yaml",
        """
        scores:
          pts:
            strategy: points
            params:
              parts: [{expr: "monetary_lifetime", bins: [{min: 1, points: 1}]}]
              tier: level
              tiers: [{label: one, min: 1}]
              default_tier: zero
        outputs: [customer_id, pts, level]
        """,
    )
    tables = make_tables(
        orders=[("c1", ago(i + 1), 0.1) for i in range(10)] + [("c2", ago(1), 0.99)]
    )
    assert score(path, tables).rows() == [("c1", 1, "one"), ("c2", 0, "zero")]


def test_quantile_tiers_break_ties_by_customer_id(rules, make_tables) -> None:
    path = rules(
        "q.yaml",
        """
        scores:
          value:
            strategy: quantile
            params:
              dimension: monetary_lifetime
              eligible: "orders_lifetime > 0"
              tiers: [{label: top, top: 0.2}, {label: mid, top: 0.6}]
              default: rest
        outputs: [customer_id, monetary_lifetime, value]
        """,
    )
    tables = make_tables(
        orders=[
            ("d", ago(1), 50.0),
            ("c", ago(2), 50.0),
            ("b", ago(3), 50.0),
            ("a", ago(4), 100.0),
            ("e", ago(5), 10.0),
        ],
        customers=["f", "e", "d", "c", "b", "a"],  # f never bought: not eligible
    )
    df = score(path, tables)
    # n = 5 eligible: top = first ceil(1) by value desc, mid = first ceil(3) -> b, c (not d).
    assert by_id(df, "value") == {
        "a": "top",
        "b": "mid",
        "c": "mid",
        "d": "rest",
        "e": "rest",
        "f": "rest",
    }


RFM_DATA = [  # customer, days ago, amount: F = 1,1,1,2,3; recency 10,10,20,30,40 days
    ("a", 10, 10.0),
    ("b", 10, 20.0),
    ("c", 20, 30.0),
    ("d", 30, 40.0),
    ("d", 300, 40.0),
    ("e", 40, 50.0),
    ("e", 400, 50.0),
    ("e", 500, 50.0),
]


def _rfm_rules(rules, method: str, extra: str = "") -> Path:
    return rules(
        f"rfm_{method}.yaml",
        f"""
        scores:
          seg:
            strategy: rfm
            params:
              method: {method}
              {extra}
        outputs: [customer_id, recency_days, orders_lifetime, r_score, f_score, m_score, seg]
        """,
    )


def test_rfm_ties_gives_equal_values_the_same_score(rules, make_tables) -> None:
    tables = make_tables(orders=[(c, ago(d), a) for c, d, a in RFM_DATA], customers=list("abcdez"))
    df = score(_rfm_rules(rules, "ties"), tables)
    # F ranks (min): 1,1,1,4,5 of 5 buyers; R: days 40,30,20,10,10 -> 1,2,3,4,4.
    assert by_id(df, "f_score") == {"a": 1, "b": 1, "c": 1, "d": 4, "e": 5, "z": None}
    assert by_id(df, "r_score") == {"a": 4, "b": 4, "c": 3, "d": 2, "e": 1, "z": None}
    assert by_id(df, "m_score") == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "z": None}
    assert by_id(df, "seg")["z"] == "no_purchase"


def test_rfm_ntile_breaks_ties_by_customer_id(rules, make_tables) -> None:
    tables = make_tables(orders=[(c, ago(d), a) for c, d, a in RFM_DATA])
    df = score(_rfm_rules(rules, "ntile"), tables)
    assert by_id(df, "f_score") == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    # Recency: days descending (40, 30, 20, 10, 10), equal days by customer_id.
    assert by_id(df, "r_score") == {"e": 1, "d": 2, "c": 3, "a": 4, "b": 5}
    # b: R5 F2 -> potential_loyalists; e: R1 F5 -> cant_lose; a: R4 F1 -> promising.
    assert by_id(df, "seg") == {
        "a": "promising",
        "b": "potential_loyalists",
        "c": "need_attention",
        "d": "at_risk",
        "e": "cant_lose",
    }


def test_rfm_cuts(rules, make_tables) -> None:
    path = _rfm_rules(
        rules,
        "cuts",
        "cuts: {recency: [15, 25, 35, 45], frequency: [2, 3, 4, 5], monetary: [20, 40, 80, 150]}",
    )
    tables = make_tables(orders=[(c, ago(d), a) for c, d, a in RFM_DATA])
    df = score(path, tables)
    # R: 10 -> 5, 20 -> 4, 30 -> 3, 40 -> 2. F: 1 -> 1, 2 -> 2, 3 -> 3.
    assert by_id(df, "r_score") == {"a": 5, "b": 5, "c": 4, "d": 3, "e": 2}
    assert by_id(df, "f_score") == {"a": 1, "b": 1, "c": 1, "d": 2, "e": 3}
    # M: 10 -> 1, 20 -> 2 (>= 20), 30 -> 2, 80 -> 4, 150 -> 5.
    assert by_id(df, "m_score") == {"a": 1, "b": 2, "c": 2, "d": 4, "e": 5}
    assert by_id(df, "seg") == {
        "a": "new_customers",
        "b": "new_customers",
        "c": "promising",
        "d": "about_to_sleep",
        "e": "at_risk",
    }


def test_rfm_cuts_must_have_k_minus_one_increasing(rules, make_tables) -> None:
    path = _rfm_rules(
        rules,
        "cuts",
        "cuts: {recency: [15, 25, 35], frequency: [2, 3, 4, 5], monetary: [20, 40, 80, 150]}",
    )
    with pytest.raises(segrule.RuleSetError, match=r"cuts.recency \[15, 25, 35\] must be 4"):
        score(path, make_tables(orders=[("a", ago(1), 1.0)]))


def test_pareto_share(rules, make_tables) -> None:
    path = rules(
        "pareto.yaml",
        """
        scores:
          key:
            strategy: pareto
            params: {share: 0.5}
        outputs: [customer_id, monetary_lifetime, key]
        """,
    )
    tables = make_tables(
        orders=[
            ("c", ago(1), 30.0),
            ("b", ago(2), 30.0),
            ("a", ago(3), 40.0),
            ("d", ago(4), 500.0, "refunded"),
        ]
    )
    df = score(path, tables)
    # Total 100: a (before 0) and b (before 40 < 50) are in; c (before 70) is not; d never paid.
    assert by_id(df, "key") == {"a": True, "b": True, "c": False, "d": False}


def test_pareto_share_reached_exactly(rules, make_tables) -> None:
    path = rules(
        "pareto.yaml",
        """
        scores:
          key:
            strategy: pareto
            params: {share: 0.5}
        outputs: [customer_id, key]
        """,
    )
    tables = make_tables(orders=[("a", ago(1), 0.1)] * 5 + [("b", ago(1), 0.5)])
    # a reaches exactly half: a is in, b (starting at half) is not.
    assert by_id(score(path, tables), "key") == {"a": True, "b": False}


def test_pareto_80_20_preset(make_tables) -> None:
    tables = make_tables(orders=[("a", ago(1), 70.0), ("b", ago(1), 20.0), ("c", ago(1), 10.0)])
    df = score("pareto-80-20", tables)
    assert by_id(df, "pareto_key") == {"a": True, "b": True, "c": False}


# -- transaction stage and activity ---------------------------------------------------
def test_transaction_stage_each_stage(make_tables) -> None:
    tables = make_tables(
        orders=[
            ("buyer", ago(5), 10.0),
            ("buyer_old_refund", ago(5), 10.0),
            ("buyer_old_refund", ago(60), 10.0, "refunded"),
            ("refund", ago(5), 10.0),
            ("refund", ago(10), 10.0, "refunded"),
            ("unpaid", ago(5), 10.0, "pending"),
            ("complaint", ago(50), 10.0),
        ],
        events=[
            ("intent", ago(3), "view"),
            ("campaign_only", ago(3), "campaign"),
            ("complaint", ago(2), "complaint"),
        ],
        customers=[
            "prospect",
            "intent",
            "campaign_only",
            "unpaid",
            "buyer",
            "buyer_old_refund",
            "refund",
            "complaint",
        ],
    )
    df = score("transaction-stage", tables)
    assert by_id(df, "transaction_stage") == {
        "buyer": "buyer",
        "buyer_old_refund": "buyer",
        "campaign_only": "prospect",
        "complaint": "after_sales",
        "intent": "intent",
        "prospect": "prospect",
        "refund": "after_sales",
        "unpaid": "ordered_unpaid",
    }
    assert by_id(df, "buyer_class")["buyer"] == "ordinary"
    assert by_id(df, "buyer_class")["unpaid"] == "not_buyer"


def test_buyer_class_follows_seed_000(make_tables) -> None:
    """普通 once and little, 优质 often, 重点 often and a lot; buyers between them are
    occasional; without a paid order nobody is a buyer, after-sales or not."""
    tables = make_tables(
        orders=[
            ("once_little", ago(5), 499.99),
            ("once_500", ago(5), 500.0),
            ("twice", ago(5), 10.0),
            ("twice", ago(400), 10.0),
            *[("often", ago(d), 10.0) for d in (1, 50, 100)],
            *[("key", ago(d), 1000.0) for d in (1, 2, 3, 4, 5, 6)],
            *[("often_small", ago(d), 10.0) for d in (1, 2, 3, 4, 5, 6)],  # often, not a lot
            ("refund_only", ago(3), 10.0, "refunded"),
            ("unpaid", ago(3), 10.0, "pending"),
        ],
        events=[("complaint_only", ago(2), "complaint")],
        customers=[
            "once_little",
            "once_500",
            "twice",
            "often",
            "key",
            "often_small",
            "refund_only",
            "complaint_only",
            "unpaid",
        ],
    )
    assert by_id(score("transaction-stage", tables), "buyer_class") == {
        "once_little": "ordinary",
        "once_500": "occasional",
        "twice": "occasional",
        "often": "quality",
        "key": "key",
        "often_small": "quality",
        "refund_only": "not_buyer",
        "complaint_only": "not_buyer",
        "unpaid": "not_buyer",
    }


def test_activity_index_rises_with_purchases_and_decays(rules, make_tables) -> None:
    path = rules("act.yaml", "outputs: [customer_id, activity_index, activity_index_90d]\n")
    one = make_tables(
        orders=[("c1", ago(30), 1.0), ("c1", ago(10), 1.0, "pending")], customers=["c1", "c2"]
    )
    df = score(path, one)
    # Half-life 30 days: an order 30 days old weighs 0.5; with 90 days 0.5^(1/3).
    assert by_id(df, "activity_index") == {"c1": 0.5, "c2": 0.0}
    assert by_id(df, "activity_index_90d")["c1"] == pytest.approx(0.5 ** (1 / 3), abs=1e-6)
    two = make_tables(orders=[("c1", ago(30), 1.0), ("c1", ago(60), 1.0)], customers=["c1"])
    assert by_id(score(path, two), "activity_index")["c1"] == 0.75
    later = by_id(score(path, two, as_of=AS_OF + dt.timedelta(days=30)), "activity_index")
    assert later["c1"] == 0.375


# -- a preset end to end ---------------------------------------------------------------
def test_taobao_5_tier_by_hand(make_tables) -> None:
    tables = make_tables(
        orders=[
            ("vip", ago(1), 4000.0),
            ("vip", ago(5), 4000.0),
            ("vip", ago(10), 4000.0),
            ("vip", ago(200), 100.0),
            ("gone", ago(120), 100.0),
            ("fresh", ago(10), 100.0),
        ],
        customers=["vip", "gone", "fresh", "nobody"],
        events=[("vip", ago(3), "campaign"), ("gone", ago(60), "campaign")],
        feedback=[("vip", ago(3), 100.0), ("vip", ago(4), 90.0), ("gone", ago(100), 70.0)],
    )
    df = score("taobao-5-tier", tables)
    rows = {r["customer_id"]: r for r in df.iter_rows(named=True)}
    vip = rows["vip"]
    # mature (first order 200 days ago, last 1 day ago); freq high (3 in 30 days) 3 pts;
    # 12100 > 10000 high 3; campaign 3 days ago active 3; feedback mean 95 very 3 -> 12.
    assert (
        vip["lifecycle"],
        vip["freq_tier"],
        vip["amount_tier"],
        vip["interaction"],
        vip["satisfaction"],
        vip["score"],
        vip["tier"],
    ) == ("mature", "high", "high", "active", "very_satisfied", 12, "super_vip")
    assert vip["monetary_365d"] == 12100.0 and vip["feedback_mean"] == 95.0
    gone = rows["gone"]
    # churned (120 days); one_time 1; low 1; occasional (60 days) 2; unsatisfied (70) 1 -> 5.
    assert (gone["lifecycle"], gone["score"], gone["tier"]) == ("churned", 5, "normal")
    assert rows["fresh"]["tier"] == "new"
    assert rows["nobody"]["tier"] == "prospect"
    assert rows["nobody"]["satisfaction"] == "unknown"
    assert rows["nobody"]["orders_lifetime"] == 0 and rows["nobody"]["recency_days"] is None


def test_avg_order_value_alone(rules, make_tables) -> None:
    path = rules("aov.yaml", "outputs: [customer_id, avg_order_value_365d, avg_order_value]\n")
    tables = make_tables(
        orders=[("c1", ago(1), 10.0), ("c1", ago(2), 20.1), ("c1", ago(400), 100.0)],
        customers=["c1", "c2"],
    )
    # 365 days: (10 + 20.10) / 2 = 15.05; lifetime 130.10 / 3 = 43.3666... -> 43.37.
    assert score(path, tables).rows() == [("c1", 15.05, 43.37), ("c2", None, None)]


def test_points_label_map_on_a_flag(rules, make_tables) -> None:
    path = rules(
        "flagpts.yaml",
        """
        segments:
          buyer:
            flag: "orders_lifetime > 0"
        scores:
          pts:
            strategy: points
            params:
              parts: [{dimension: buyer, points: {true: 5, false: 1}}]
        outputs: [customer_id, pts]
        """,
    )
    tables = make_tables(orders=[("c1", ago(1), 1.0)], customers=["c1", "c2"])
    assert score(path, tables).rows() == [("c1", 5), ("c2", 1)]
