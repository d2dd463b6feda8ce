"""Explanations: reasons, distance to the next tier, roll-off dates, one customer."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import segrule
from segrule.errors import DataError
from segrule.explain import ExplainOptions, explain_customer, render, values_of
from segrule.model.conditions import Atom, BoolOp, comparison, split_condition
from segrule.model.ladders import find_ladder

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)
ALL = ExplainOptions(reasons=True, distance=True, rolloff=True)


def ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


RULES = """
    segments:
      spend:
        cases:
          - {when: "monetary_365d > 10000", label: high}
          - {when: "monetary_365d < 500", label: low}
        default: mid
      busy:
        cases:
          - {when: "orders_30d >= 3 AND monetary_365d > 1000", label: many}
          - {when: "orders_30d >= 1 OR NOT (orders_lifetime < 2)", label: some}
        default: idle
      rank:
        cases:
          - {when: "spend = 'new_label' OR orders_lifetime = 0", label: none}
          - {when: "points >= 5", label: gold}
          - {when: "points >= 3", label: silver}
        default: bronze
    scores:
      points:
        strategy: points
        params:
          parts:
            - {dimension: spend, points: {high: 3, mid: 2, low: 1}}
            - {dimension: orders_30d, bins: [{min: 3, points: 2}, {min: 1, points: 1}]}
    outputs: [customer_id, monetary_365d, orders_30d, orders_lifetime, spend, busy, points, rank]
    """


@pytest.fixture
def tables(make_tables):
    return make_tables(
        orders=[
            # a: 8200 in the year, 4 orders in 30 days -> spend mid, busy some (not >1000?)
            ("a", ago(1), 2000.0),
            ("a", ago(2), 2000.0),
            ("a", ago(3), 2000.0),
            ("a", ago(40), 2200.0),
            ("a", ago(5), 0.0),
            # b: 12000 -> high, one order 100 days ago, one 300 days ago
            ("b", ago(100), 7000.0),
            ("b", ago(300), 5000.0),
            # c: 300 -> low, long ago in the year
            ("c", ago(200), 300.0),
        ],
        customers=["a", "b", "c", "d"],
    )


def scored(rules, tables, options=ALL) -> dict[str, dict]:
    path = rules("r.yaml", RULES)
    df = segrule.score(path, tables, as_of=AS_OF, explain=options)
    return {r["customer_id"]: r for r in df.iter_rows(named=True)}


def test_reasons_name_the_case_and_the_values_that_decided_it(rules, tables) -> None:
    rows = scored(rules, tables)
    assert rows["a"]["spend"] == "mid"
    assert rows["a"]["spend_reason"] == (
        "not high: monetary_365d=8200<=10000; not low: monetary_365d=8200>=500; default mid"
    )
    assert rows["b"]["spend_reason"] == "high: monetary_365d=12000>10000"
    assert rows["c"]["spend_reason"] == (
        "not high: monetary_365d=300<=10000; low: monetary_365d=300<500"
    )
    # AND that holds shows both parts; an OR that holds shows the first part that holds.
    assert rows["a"]["busy_reason"] == "many: orders_30d=4>=3; monetary_365d=8200>1000"
    # AND that fails shows its first failing part; NOT shows the inner comparison.
    assert rows["b"]["busy_reason"] == ("not many: orders_30d=0<3; some: orders_lifetime=2>=2")
    # No orders: an OR that fails shows all its parts; the default is named.
    assert rows["d"]["busy_reason"] == (
        "not many: orders_30d=0<3; not some: orders_30d=0<1; orders_lifetime=0<2; default idle"
    )
    # Scores have no reason column; their parts are in `segrule explain`.
    assert "points_reason" not in rows["a"]


def test_reasons_agree_with_the_labels_on_generated_data(tmp_path) -> None:
    from segrule.generate import generate

    data = tmp_path / "data"
    generate(data, orders=20_000, seed=3, end=dt.date(2026, 11, 1))
    df = segrule.score(["taobao-5-tier"], data=data, as_of="2026-11-01", explain=ALL)
    for column in ("lifecycle", "freq_tier", "amount_tier", "interaction", "satisfaction", "tier"):
        last = df[f"{column}_reason"].str.split("; ").list.last()
        said = (
            pl.when(last.str.starts_with("default "))
            .then(last.str.strip_prefix("default "))
            .otherwise(last.str.split(":").list.first())
        )
        wrong = df.filter(said != pl.col(column))
        assert wrong.height == 0, (column, wrong.head(3).to_dicts())
        assert df[f"{column}_reason"].null_count() == 0


def test_split_condition_keeps_between_case_and_nested_parentheses() -> None:
    cond = split_condition("(a > 1 OR b BETWEEN 2 AND 3) AND NOT c IN (1, 2) AND x = 'AND'")
    assert isinstance(cond, BoolOp) and cond.kind == "and"
    assert [type(i).__name__ for i in cond.items] == ["BoolOp", "BoolOp", "Atom"]
    inner = cond.items[0]
    assert isinstance(inner, BoolOp) and inner.kind == "or"
    assert [i.sql for i in inner.items if isinstance(i, Atom)] == ["a > 1", "b BETWEEN 2 AND 3"]
    case = split_condition("CASE WHEN a > 1 AND b > 2 THEN 1 ELSE 0 END = 1 AND (a + 1) > 2")
    assert isinstance(case, BoolOp)
    assert [i.sql for i in case.items if isinstance(i, Atom)] == [
        "CASE WHEN a > 1 AND b > 2 THEN 1 ELSE 0 END = 1",
        "(a + 1) > 2",
    ]
    cmp = comparison(split_condition("10000 < monetary_365d"))  # type: ignore[arg-type]
    assert cmp is not None and (cmp.name, cmp.op, cmp.number) == ("monetary_365d", ">", 10000.0)


@pytest.mark.parametrize(
    ("sql", "row", "text"),
    [
        ("x BETWEEN 1 AND 3", {"x": 5}, "x=5 NOT BETWEEN 1 AND 3"),
        ("x NOT IN (1, 2)", {"x": 2}, "x=2 IN (1, 2)"),
        ("x IS NULL", {"x": None}, "x=null"),
        ("x IN (1, 2)", {"x": None}, "x=null"),
        ("x > 3", {"x": None}, "x=null"),
        ("x + y > 3", {"x": 1, "y": 1}, "NOT (x + y > 3) [x=1, y=1]"),
        ("NOT (x > 3 AND y > 3)", {"x": 5, "y": 1}, "y=1<=3"),
    ],
)
def test_rendered_atoms(sql: str, row: dict, text: str) -> None:
    frame = pl.DataFrame([row], schema={k: pl.Int64 for k in row})
    dtypes = dict(frame.schema)
    r = render(split_condition(sql), values_of(dtypes), dtypes)
    got = frame.select(r.truth.alias("t"), r.text.alias("w")).row(0, named=True)
    assert got["w"] == text
    assert got["t"] == frame.select(pl.sql_expr(sql).alias("t"))["t"][0]


def test_distance_to_the_next_rung(rules, tables) -> None:
    rows = scored(rules, tables)
    assert (rows["a"]["spend_next"], rows["a"]["spend_gap"]) == ("high", 1800.0)
    assert rows["a"]["spend_lacks"] == "monetary_365d needs more than 1800 more for high"
    assert (rows["c"]["spend_next"], rows["c"]["spend_gap"]) == ("mid", 200.0)
    assert rows["c"]["spend_lacks"] == "monetary_365d needs 200 more for mid"
    assert rows["b"]["spend_next"] is None  # on the top rung
    # points: a has spend mid (2) + orders_30d 4 (2) = 4: silver, 1 short of gold, which a
    # move of spend to high (+1 point) covers.
    assert (rows["a"]["points"], rows["a"]["rank"]) == (4, "silver")
    assert (rows["a"]["rank_next"], rows["a"]["rank_gap"]) == ("gold", 1.0)
    assert rows["a"]["rank_lacks"] == (
        "points needs 1 more for gold: monetary_365d more than +1800 (spend -> high)"
    )
    # d is classified by a gate case ('none') before the ladder: no distance.
    assert rows["d"]["rank"] == "none" and rows["d"]["rank_next"] is None


def test_find_ladder_needs_rungs_on_one_column(rules, tables) -> None:
    plan = segrule.compile(rules("r.yaml", RULES), tables, as_of=AS_OF)
    spend = find_ladder(plan.nodes["spend"], plan.dtypes)
    assert spend is not None and spend.column == "monetary_365d"
    assert [i.label for i in spend.intervals] == ["low", "mid", "high"]
    assert find_ladder(plan.nodes["busy"], plan.dtypes) is None


def test_rolloff_date_is_when_the_value_falls_a_rung(rules, tables, make_tables) -> None:
    rows = scored(rules, tables)
    # b: 12000 = 7000 (100 days ago) + 5000 (300 days ago): above 10000 until the older
    # order leaves the 365-day window, 65 days after the as-of.
    assert rows["b"]["spend_rolloff"] == (ago(300) + dt.timedelta(days=365)).date()
    # a: 8200 >= 500 (mid) until... the newest orders alone (2000 each) keep it above 500
    # until the last of them leaves: 2000 (1 day ago) alone is >= 500.
    assert rows["a"]["spend_rolloff"] == (ago(1) + dt.timedelta(days=365)).date()
    # Reference: score again at the day after, with no new orders: one rung lower.
    path = rules("r.yaml", RULES)
    for cid, before, after in (("b", "high", "mid"), ("a", "mid", "low")):
        day = rows[cid]["spend_rolloff"]
        at = dt.datetime(day.year, day.month, day.day)
        same = segrule.score(path, tables, as_of=at).filter(pl.col("customer_id") == cid)
        later = segrule.score(path, tables, as_of=at + dt.timedelta(days=1)).filter(
            pl.col("customer_id") == cid
        )
        assert (same["spend"][0], later["spend"][0]) == (before, after)


ROLLOFF_EDGES = """
    segments:
      spend:
        cases:
          - {when: "monetary_365d >= 300", label: high}
          - {when: "monetary_365d >= 0", label: any}
        default: none
      busy:
        cases:
          - {when: "orders_30d >= 2", label: busy}
          - {when: "orders_30d > 0", label: some}
        default: idle
    outputs: [customer_id, monetary_365d, orders_30d, spend, busy]
    """


def test_rolloff_with_equal_times_zero_bounds_and_other_statuses(rules, make_tables) -> None:
    """Rows with equal times leave together; a bound of 0 (>= 0) never falls; rows the
    window does not count (not paid) do not hold a value up. Each date is checked by
    scoring again on the day after, with no new rows."""
    orders = [
        # x: 100 + 200 at the same instant 10 days ago, 50 five days ago: 350 >= 300
        # until the two equal-time rows leave together (355 days on).
        ("x", ago(10), 100.0),
        ("x", ago(10), 200.0),
        ("x", ago(5), 50.0),
        # y: 400 paid 100 days ago, a cancelled 500 a day ago that does not count:
        # high until the paid one leaves.
        ("y", ago(100), 400.0),
        ("y", ago(1), 500.0, "cancelled"),
        # z: two orders at the same instant 3 days ago: busy (2 in 30 days) until both
        # leave at once, then idle (not 'some' on the way).
        ("z", ago(3), 10.0),
        ("z", ago(3), 20.0),
    ]
    tables = make_tables(orders=orders, customers=["x", "y", "z"])
    path = rules("edges.yaml", ROLLOFF_EDGES)
    df = segrule.score(path, tables, as_of=AS_OF, explain=ExplainOptions(False, False, True))
    rows = {r["customer_id"]: r for r in df.iter_rows(named=True)}
    assert rows["x"]["spend_rolloff"] == (ago(10) + dt.timedelta(days=365)).date()
    assert rows["y"]["spend_rolloff"] == (ago(100) + dt.timedelta(days=365)).date()
    assert rows["z"]["busy_rolloff"] == (ago(3) + dt.timedelta(days=30)).date()
    # 'any' (>= 0) is the lowest rung reachable: nobody falls from it to 'none'.
    assert all(r["spend"] != "any" or r["spend_rolloff"] is None for r in rows.values())
    for cid, column, before, after in (
        ("x", "spend", "high", "any"),
        ("y", "spend", "high", "any"),
        ("z", "busy", "busy", "idle"),
    ):
        day = rows[cid][f"{column}_rolloff"]
        at = dt.datetime(day.year, day.month, day.day)
        on_the_day, day_after = (
            segrule.score(path, tables, as_of=t).filter(pl.col("customer_id") == cid)[column][0]
            for t in (at, at + dt.timedelta(days=1))
        )
        assert (on_the_day, day_after) == (before, after), cid


def test_rolloff_of_a_points_tier_follows_every_part(rules, tables) -> None:
    rows = scored(rules, tables)
    # a: points 4 = spend mid (2) + orders_30d 4 (2): silver. orders_30d falls below 3
    # (1 point) when the 3-days-old order leaves the 30-day window: still silver (3);
    # below 1 (0 points) when the newest one leaves: 2 points, bronze. spend stays mid
    # for a year: the fall comes from the bins part alone, rung by rung.
    assert rows["a"]["rank_rolloff"] == (ago(1) + dt.timedelta(days=30)).date()
    path = rules("r.yaml", RULES)
    day = rows["a"]["rank_rolloff"]
    at = dt.datetime(day.year, day.month, day.day)
    ranks = [
        segrule.score(path, tables, as_of=at + dt.timedelta(days=k)).filter(
            pl.col("customer_id") == "a"
        )["rank"][0]
        for k in (-3, 0, 1)
    ]
    assert ranks == ["silver", "silver", "bronze"]
    # b: 12000 high (3) + orders_30d 0 (0) = 3, silver; spend falls to mid (2) when the
    # 300-days-old order leaves: bronze then.
    assert rows["b"]["rank_rolloff"] == (ago(300) + dt.timedelta(days=365)).date()
    # c is on the lowest rung: nothing to fall from.
    assert rows["c"]["rank_rolloff"] is None


def test_explain_customer_lists_every_case_and_part(rules, tables) -> None:
    plan = segrule.compile(rules("r.yaml", RULES), tables, as_of=AS_OF, explain=ALL)
    exp = explain_customer(plan, "a")
    items = {i.name: i for i in exp.items}
    assert items["monetary_365d"].value == 8200.0
    spend = items["spend"]
    assert [(c.label, c.holds, c.matched) for c in spend.cases] == [
        ("high", False, False),
        ("low", False, False),
    ]
    assert spend.value == "mid" and spend.lacks.startswith("monetary_365d needs")
    rank = items["rank"]
    assert [(c.label, c.matched) for c in rank.cases] == [
        ("none", False),
        ("gold", False),
        ("silver", True),
    ]
    assert items["points"].parts == [("spend", "mid", 2), ("orders_30d", 4, 2)]
    with pytest.raises(DataError, match="customer 'zz' is not in the universe"):
        explain_customer(plan, "zz")


def test_explanation_columns_do_not_change_the_run(rules, tables) -> None:
    path = rules("r.yaml", RULES)
    plain = segrule.score(path, tables, as_of=AS_OF)
    explained = segrule.score(path, tables, as_of=AS_OF, explain=ALL)
    assert explained.select(plain.columns).equals(plain)


def test_builtin_dimensions_have_titles_in_both_languages(rules, tables) -> None:
    plan = segrule.compile(rules("r.yaml", RULES), tables, as_of=AS_OF, explain=ALL)
    exp = explain_customer(plan, "a")
    items = {i.name: i for i in exp.items}
    assert items["monetary_365d"].title == {"zh": "消费金额 365d", "en": "spend 365d"}
    assert items["orders_lifetime"].title["zh"] == "付款订单数 lifetime"


# -- top-share (quantile) tiers ---------------------------------------------------------
def _quantile_reference(orders: list[tuple[str, dt.datetime, float]], customers: list[str]):
    """value-tiers by hand: 365-day spend of buyers, ranked by spend desc then id; top
    20% high, top 50% mid; the gap to the next tier is the spend of the customer now
    last in it minus one's own."""
    import math
    from decimal import Decimal

    spend = {c: Decimal(0) for c in customers}
    count = dict.fromkeys(customers, 0)
    for cid, ts, amount in orders:
        if AS_OF - dt.timedelta(days=365) <= ts < AS_OF:
            spend[cid] += Decimal(str(amount))
            count[cid] += 1
    buyers = sorted((c for c in customers if count[c] > 0), key=lambda c: (-spend[c], c))
    limits = {"high": math.ceil(0.2 * len(buyers)), "mid": math.ceil(0.5 * len(buyers))}
    tier = {}
    for i, c in enumerate(buyers, 1):
        tier[c] = "high" if i <= limits["high"] else "mid" if i <= limits["mid"] else "low"
    last = {k: buyers[n - 1] for k, n in limits.items() if n > 0}  # last in each tier
    expected = {}
    for c in customers:
        t = tier.get(c)
        nxt = {"mid": "high", "low": "mid"}.get(t) if t else None
        gap = float(spend[last[nxt]] - spend[c]) if nxt else None
        # equal spend goes to the lower id: above the last one's id it takes more
        expected[c] = (nxt, gap, c > last[nxt] if nxt else None)
    return expected


def test_quantile_tiers_distance_matches_a_reference(make_tables) -> None:
    import random

    rnd = random.Random(11)
    customers = [f"q{i:03d}" for i in range(60)]
    orders = []
    for cid in customers[:50]:  # ten customers never buy: not ranked, no distance
        for _ in range(rnd.randint(1, 4)):
            orders.append((cid, ago(rnd.randint(1, 400)), rnd.choice([99.0, 250.5, 1000.0])))
    tables = make_tables(orders=orders, customers=customers)
    df = segrule.score(
        "value-tiers", tables, as_of=AS_OF, explain=ExplainOptions(False, True, False)
    )
    expected = _quantile_reference(orders, customers)
    cols = ("customer_id", "value_tier_next", "value_tier_gap", "value_tier_lacks")
    got = {
        cid: (nxt, gap, None if lacks is None else "more than" in lacks)
        for cid, nxt, gap, lacks in df.select(cols).rows()
    }
    assert got == expected  # money in cents: the gaps are exact
    assert {v[2] for v in got.values()} == {True, False, None}  # both kinds occur
    for _cid, nxt, _, lacks in df.select(cols).rows():
        assert (lacks is None) == (nxt is None)
        if lacks is not None:
            assert lacks.startswith("monetary_365d needs ") and lacks.endswith(f" more for {nxt}")


def test_quantile_gap_is_what_it_takes(make_tables) -> None:
    """Spending the gap puts a customer in the next tier, a cent less does not; when
    equal values would go to the customer now last in that tier (a lower id), the gap
    is 'more than' and the gap itself is not enough either."""
    spends = {"a": 900.0, "b": 700.0, "c": 500.0, "d": 300.0, "e": 200.0, "f": 100.0}
    spends["aa"] = 50.0  # a low id in the lowest tier
    orders = [(cid, ago(10), amount) for cid, amount in spends.items()]
    tables = make_tables(orders=orders, customers=list(spends))
    opts = ExplainOptions(False, True, False)
    df = segrule.score("value-tiers", tables, as_of=AS_OF, explain=opts)
    cols = ("customer_id", "value_tier", "value_tier_next", "value_tier_gap", "value_tier_lacks")
    rows = {r[0]: r[1:] for r in df.select(cols).rows()}
    # 7 buyers: high is the top ceil(1.4) = 2, mid the top ceil(3.5) = 4.
    assert {c: r[0] for c, r in rows.items()} == {
        "a": "high",
        "aa": "low",
        "b": "high",
        "c": "mid",
        "d": "mid",
        "e": "low",
        "f": "low",
    }
    assert rows["a"][1:] == (None, None, None)
    # c is above b (last in high) by id: strictly more; aa is below d (last in mid).
    assert rows["c"][1:] == ("high", 200.0, "monetary_365d needs more than 200 more for high")
    assert rows["aa"][1:] == ("mid", 250.0, "monetary_365d needs 250 more for mid")
    assert rows["e"][1:3] == ("mid", 100.0) and "more than" in rows["e"][3]
    for cid in ("c", "aa", "e", "f"):
        _, nxt, gap, lacks = rows[cid]
        strict = "more than" in lacks
        for extra, moves in ((gap + 0.01, True), (gap, not strict), (gap - 0.01, False)):
            more = make_tables(
                orders=[*orders, (cid, ago(1), round(extra, 2))], customers=list(spends)
            )
            after = segrule.score("value-tiers", more, as_of=AS_OF)
            tier = after.filter(pl.col("customer_id") == cid)["value_tier"][0]
            assert (tier == nxt) is moves, (cid, extra, tier)


BINS_RULES = """
    scores:
      pts:
        strategy: points
        params:
          parts:
            - dimension: monetary_365d
              bins: [{min: 5000, points: 30}, {min: 1000, points: 10}]
            - dimension: orders_90d
              bins: [{min: 6, points: 30}, {min: 3, points: 20}, {min: 1, points: 5}]
            - dimension: recency_days
              bins: [{min: 60, points: 0}, {min: 0, points: 5}]
          tiers:
            - {label: gold, min: 40}
            - {label: silver, min: 15}
          tier: level
          default_tier: basic
    outputs: [customer_id, monetary_365d, orders_90d, recency_days, pts, level]
    """


def test_points_tier_over_bins_names_the_rise_of_each_value(rules, make_tables) -> None:
    """A points tier over ``bins`` parts says which single value's rise covers the
    missing points, up to the least threshold that does; spending it moves the tier."""
    orders = [
        ("p", ago(10), 200.0),  # 200, 1 order, recent: 0 + 5 + 5 = 10 -> basic, needs 5
        ("q", ago(100), 1200.0),  # 1200, 0 in 90d, 100 days: 10 + 0 + 0 = 10 -> basic
        ("r", ago(5), 1500.0),  # 1500, 3 orders, recent: 10 + 20 + 5 = 35 -> silver
        ("r", ago(6), 10.0),
        ("r", ago(7), 10.0),
    ]
    path = rules("bins.yaml", BINS_RULES)
    tables = make_tables(orders=orders, customers=["p", "q", "r", "z"])
    df = segrule.score(path, tables, as_of=AS_OF, explain=ExplainOptions(False, True, False))
    lacks = dict(df.select("customer_id", "level_lacks").rows())
    assert lacks["p"] == (
        "pts needs 5 more for silver: monetary_365d +800 (0 -> 10 points) or "
        "orders_90d +2 (5 -> 20 points)"
    )
    # q: 5 points short; the recency part cannot rise (its points fall with the value).
    assert lacks["q"] == (
        "pts needs 5 more for silver: monetary_365d +3800 (10 -> 30 points) or "
        "orders_90d +1 (0 -> 5 points)"
    )
    assert lacks["z"] == (  # no order at all: recency is null, not a part that can rise
        "pts needs 15 more for silver: monetary_365d +5000 (0 -> 30 points) or "
        "orders_90d +3 (0 -> 20 points)"
    )
    # r: 5 short of gold; 1000 -> 5000 gives 20, 3 -> 6 orders gives 10.
    assert lacks["r"] == (
        "pts needs 5 more for gold: monetary_365d +3480 (10 -> 30 points) or "
        "orders_90d +3 (20 -> 30 points)"
    )
    zh = segrule.score(
        path, tables, as_of=AS_OF, explain=ExplainOptions(False, True, False, lang="zh")
    )
    assert dict(zh.select("customer_id", "level_lacks").rows())["q"] == (
        "pts 还需增加 5 才能升至 silver：monetary_365d +3800 (10 -> 30 分) 或 "
        "orders_90d +1 (0 -> 5 分)"
    )
    # Spending the named rise moves p up; a cent less does not.
    for extra, level in ((800.0, "silver"), (799.99, "basic")):
        # every order's customer listed: orders of unknown customers would be mostly
        # rejected, which fails a run (max_rejected_share)
        more = make_tables(orders=[*orders, ("p", ago(200), extra)], customers=["p", "q", "r"])
        after = segrule.score(path, more, as_of=AS_OF)
        assert after.filter(pl.col("customer_id") == "p")["level"][0] == level


GATED = """
    segments:
      card:
        cases:
          - {when: "orders_lifetime < 2", label: trial}
          - {when: "monetary_365d >= 10000", label: gold}
          - {when: "monetary_365d >= 3000", label: silver}
        default: basic
      mixed:
        cases:
          - {when: "orders_lifetime >= 5", label: many}
          - {when: "orders_lifetime >= 2", label: some}
          - {when: "monetary_365d >= 100", label: rich}
          - {when: "monetary_365d >= 50", label: ok}
        default: none
    outputs: [customer_id, monetary_365d, orders_lifetime, card, mixed]
    """


def test_a_numeric_gate_on_another_column_before_the_rungs(rules, make_tables) -> None:
    """``orders_lifetime < 2`` is a gate, not a rung: the ladder is monetary_365d's and
    the customers it does not catch get their distance."""
    tables = make_tables(
        orders=[
            ("a", ago(1), 2000.0),
            ("a", ago(2), 2000.0),  # 4000, two orders: silver, 6000 short of gold
            ("b", ago(1), 500.0),
            ("b", ago(2), 500.0),  # 1000: basic, 2000 short of silver
            ("c", ago(1), 50000.0),  # one order: trial (a gate) whatever it spends
        ]
    )
    path = rules("gated.yaml", GATED)
    plan = segrule.compile(path, tables, as_of=AS_OF, explain=ALL)
    card = find_ladder(plan.nodes["card"], plan.dtypes)
    assert card is not None and card.column == "monetary_365d" and card.gates == (0,)
    out = segrule.score(path, tables, as_of=AS_OF, explain=ALL)
    assert isinstance(out, pl.DataFrame)
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert (rows["a"]["card"], rows["a"]["card_next"], rows["a"]["card_gap"]) == (
        "silver",
        "gold",
        6000.0,
    )
    assert rows["b"]["card_lacks"] == "monetary_365d needs 2000 more for silver"
    assert (rows["c"]["card"], rows["c"]["card_next"]) == ("trial", None)
    # two columns compared equally often: no ladder, and the note says why
    from segrule.explain import distance_notes

    assert "mixed_next" not in out.columns
    assert distance_notes(plan.nodes, plan.dtypes, plan.outputs) == [
        (
            "mixed",
            "its cases compare monetary_365d and orders_lifetime with numbers equally often, "
            "so which one is the ladder is ambiguous",
        )
    ]
