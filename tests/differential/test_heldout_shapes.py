"""Held-out data: the three main presets on tables segrule did not generate.

Every other end-to-end check of ``taobao-5-tier``, ``rfm`` and ``pareto-80-20`` runs on
``segrule generate`` data, whose ids are zero-padded text (``C00000042``): text order is
numeric order there, so a run that turns integer ids into text passes them all. Here
the tables are drawn with numpy the way an export of a shop database looks: integer
customer ids, sparse (1 to 10^9, so of every length) and in shuffled row order, random
integer order ids, two years of orders with amounts in cents, mostly paid, campaign
events, feedback, a customers table with attributes, orders of customers missing from
it and a few null ids. Ties are many on purpose: recency days fall on a coarse grid of
days, frequencies on a few counts, spends on a few price points, and 150 "whales" share
one recency, one frequency and one spend (3 x 5000.00, of which exactly 10000.00 in
the last 365 days: the amount_tier boundary) and hold more than 80% of the revenue, so
the Pareto line falls inside their tie: which whales are key customers is decided by
customer_id alone.

The expected rows come from the reference evaluator (tests/reference.py,
``preset_rows``, written from docs/presets.md), checked here against the same job as
one DuckDB SQL statement (the benchmark's peer, segrule.bench.peers.duckdb_sql, run
on the ids as they are). Variants: the same customers with Int64, UInt64 (some ids
above 2^63), Int32, String ("7" < "10" is false as text: text order is the natural
order for text ids) and Categorical (written out as String) ids, and Int64 without a
customers table (the universe is the customers with an order before the as-of).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import segrule
from reference import PRESET_COLUMNS, differences, preset_rows
from segrule.bench.peers import duckdb_sql

ENGINE = segrule.Engine(autoload=False)
PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]
AS_OF = dt.datetime(2026, 3, 15, 9, 30)  # not a midnight: whole days still count from it
DAY_US = 86_400_000_000
SEED = 16

N_CUSTOMERS = 1_500
N_PROSPECTS = 225  # in the customers table, never ordering
N_WHALES = 150
# three paid orders of 5000.00, two in the last 365 days: all whales tie on R, F and M
WHALE_ORDER_DAYS = (500, 200, 40)
WHALE_AMOUNT = 5000.00
N_BIG_SPENDERS = 10
BIG_ORDER_DAYS = (400, 20, 10, 5)
BIG_AMOUNTS = (100.00, 4000.00, 4000.00, 4000.00)
# multiples of 4.95: spends collide often (ties in M at every bucket edge)
PRICES = np.array([4.95, 9.90, 14.85, 24.75, 49.50])
STATUSES = np.array(["paid", "pending", "refunded", "cancelled"])
STATUS_SHARES = [0.85, 0.05, 0.06, 0.04]
EVENT_TYPES = np.array(["campaign", "view", "cart", "favorite"])
FEEDBACK_SCORES = np.array([40, 60, 75, 80, 90, 100])  # the satisfaction boundaries
CITIES = np.array(["上海", "北京", "成都", "佛山", "海口", "Springfield"])


@dataclass(frozen=True)
class Drawn:
    """The held-out tables with customer ids as Python ints (before the id variant)."""

    orders: pl.DataFrame
    customers: pl.DataFrame
    events: pl.DataFrame
    feedback: pl.DataFrame
    whales: list[int]


def _ts(rng: np.random.Generator, days: np.ndarray) -> pl.Series:
    """Instants ``days`` whole days plus a random part of a day before AS_OF: so the
    recency of an order ``days`` before is exactly ``days``."""
    offset_us = days.astype(np.int64) * DAY_US + rng.integers(0, DAY_US, size=days.size)
    as_of_us = int((AS_OF - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))
    return pl.Series(as_of_us - offset_us).cast(pl.Datetime("us"))


@cache
def drawn() -> Drawn:
    rng = np.random.default_rng(SEED)
    # Sparse ids of every length, 1 to 10^9 (so they fit an Int32 too).
    pool = np.unique(np.floor(10 ** rng.uniform(0, 9, size=6 * N_CUSTOMERS)).astype(np.int64))
    pool = rng.permutation(pool)
    ids = pool[:N_CUSTOMERS]
    strangers = pool[N_CUSTOMERS : N_CUSTOMERS + 40]  # order or visit, not customers
    prospects, whales, bigs, regulars = np.split(
        ids, np.cumsum([N_PROSPECTS, N_WHALES, N_BIG_SPENDERS])
    )
    blocks: list[tuple[list[int | None], np.ndarray, np.ndarray, np.ndarray]] = []

    # Regular buyers: a last active day on a 7-day grid (ties in recency), a number of
    # orders from a Poisson (ties in frequency), orders spread back from the last day
    # over 400 days (over 30 for one in six: some are new customers), prices from a few
    # price points (ties in spend).
    counts = 1 + rng.poisson(11.0, size=regulars.size)
    last_day = rng.choice(np.arange(0, 660, 7), size=regulars.size)
    width = np.where(rng.random(regulars.size) < 1 / 6, 30, 400)
    cust = np.repeat(regulars, counts)
    first = np.zeros(cust.size, dtype=bool)  # each buyer's first row: paid, on its last day
    first[np.cumsum(counts) - counts] = True
    spread = np.where(first, 0, rng.integers(0, np.repeat(width, counts)))
    days = np.repeat(last_day, counts) + spread
    late = (np.arange(cust.size) % 97 == 0) & ~first  # about 1% after the as-of
    days = np.where(late, -1 - rng.integers(0, 5, cust.size), days)
    status = np.where(first, "paid", rng.choice(STATUSES, size=cust.size, p=STATUS_SHARES))
    blocks.append((cust.tolist(), days, rng.choice(PRICES, size=cust.size), status))
    # Whales: the same three paid orders each.
    k = len(WHALE_ORDER_DAYS)
    blocks.append(
        (
            np.repeat(whales, k).tolist(),
            np.tile(np.array(WHALE_ORDER_DAYS), whales.size),
            np.full(whales.size * k, WHALE_AMOUNT),
            np.full(whales.size * k, "paid"),
        )
    )
    # Big spenders: an old small order, then three of 4000.00 in the last 30 days
    # (high frequency, high spend: the only ones who can reach super_vip).
    k = len(BIG_ORDER_DAYS)
    blocks.append(
        (
            np.repeat(bigs, k).tolist(),
            np.tile(np.array(BIG_ORDER_DAYS), bigs.size),
            np.tile(np.array(BIG_AMOUNTS), bigs.size),
            np.full(bigs.size * k, "paid"),
        )
    )
    # Orders of customers missing from the customers table, and orders without one.
    for who in (rng.choice(strangers, size=60).tolist(), [None] * 5):
        n = len(who)
        blocks.append(
            (who, rng.integers(0, 700, size=n), rng.choice(PRICES, size=n), np.full(n, "paid"))
        )

    customer_ids = [c for b in blocks for c in b[0]]
    order_ids = rng.integers(1, 2**53, size=len(customer_ids))
    assert np.unique(order_ids).size == order_ids.size  # random ids, no duplicates
    orders = pl.DataFrame(
        {
            "order_id": pl.Series(order_ids, dtype=pl.Int64),
            "customer_id": pl.Series(customer_ids, dtype=pl.Int64),
            "order_ts": _ts(rng, np.concatenate([b[1] for b in blocks])),
            "amount": np.concatenate([b[2] for b in blocks]),
            "status": np.concatenate([b[3] for b in blocks]).tolist(),
        }
    )
    orders = orders.sample(fraction=1.0, shuffle=True, seed=SEED)

    # Customers: attributes the generation preset reads (the three presets read none).
    customers = pl.DataFrame(
        {
            "customer_id": pl.Series(rng.permutation(ids), dtype=pl.Int64),
            "birth_year": rng.integers(1955, 2008, size=ids.size),
            "gender": rng.choice(np.array(["f", "m"]), size=ids.size).tolist(),
            "city": rng.choice(CITIES, size=ids.size).tolist(),
            "is_member": rng.random(ids.size) < 0.3,
            "signup_ts": _ts(rng, rng.integers(700, 1500, size=ids.size)),
        }
    )
    # Events: campaign touches and browsing in the last 120 days (some after the as-of),
    # mostly of customers, some of visitors who are not customers; and a campaign touch
    # two days ago for every big spender.
    n_events = 5_000
    e_who = rng.choice(np.concatenate([prospects[::2], whales, regulars, strangers]), size=n_events)
    e_types = rng.choice(EVENT_TYPES, size=n_events, p=[0.4, 0.3, 0.2, 0.1])
    e_days = rng.integers(-3, 120, size=n_events)
    events = pl.DataFrame(
        {
            "customer_id": pl.Series(np.concatenate([e_who, bigs]), dtype=pl.Int64),
            "event_ts": _ts(rng, np.concatenate([e_days, np.full(bigs.size, 2)])),
            "event_type": np.concatenate([e_types, np.full(bigs.size, "campaign")]).tolist(),
        }
    ).sample(fraction=1.0, shuffle=True, seed=SEED + 1)
    # Feedback of buyers, scores on the satisfaction boundaries.
    n_feedback = 1_500
    f_who = rng.choice(np.concatenate([regulars, whales]), size=n_feedback)
    feedback = pl.DataFrame(
        {
            "customer_id": pl.Series(f_who, dtype=pl.Int64),
            "ts": _ts(rng, rng.integers(-3, 700, size=n_feedback)),
            "score": rng.choice(FEEDBACK_SCORES, size=n_feedback),
        }
    ).sample(fraction=1.0, shuffle=True, seed=SEED + 2)
    return Drawn(orders, customers, events, feedback, sorted(whales.tolist()))


# -- the id variants ------------------------------------------------------------------
VARIANTS: dict[str, tuple[pl.Expr, pl.DataType]] = {
    # name: (how the Int64 column becomes the variant's, expected output dtype).
    # UInt64: every third id moved above 2^63, values no Int64 holds.
    "Int64": (pl.col("customer_id"), pl.Int64()),
    "UInt64": (
        pl.when(pl.col("customer_id") % 3 == 0)
        .then(pl.col("customer_id").cast(pl.UInt64) + pl.lit(2**63, dtype=pl.UInt64))
        .otherwise(pl.col("customer_id").cast(pl.UInt64)),
        pl.UInt64(),
    ),
    "Int32": (pl.col("customer_id").cast(pl.Int32), pl.Int32()),
    "String": (pl.col("customer_id").cast(pl.String), pl.String()),
    "Categorical": (pl.col("customer_id").cast(pl.String).cast(pl.Categorical), pl.String()),
}


@cache
def tables_of(variant: str, with_customers: bool = True) -> dict[str, pl.DataFrame]:
    expr, _ = VARIANTS[variant]
    d = drawn()
    tables = {"orders": d.orders, "events": d.events, "feedback": d.feedback}
    if with_customers:
        tables["customers"] = d.customers
    return {name: t.with_columns(expr.alias("customer_id")) for name, t in tables.items()}


@cache
def expected_rows(variant: str, with_customers: bool = True) -> tuple[dict, ...]:
    return tuple(preset_rows(tables_of(variant, with_customers), AS_OF))


def _natural(ids: list) -> list:
    """Ids in their natural order: numeric for ints, code points for text."""
    return sorted(ids)


def check_engine(variant: str, with_customers: bool = True) -> None:
    tables = tables_of(variant, with_customers)
    df = segrule.score(PRESETS, tables=tables, as_of=AS_OF, engine=ENGINE)
    assert isinstance(df, pl.DataFrame)
    assert df.columns == PRESET_COLUMNS
    _, out_dtype = VARIANTS[variant]
    assert df.schema["customer_id"] == out_dtype, (
        f"customer_id is {df.schema['customer_id']}, expected {out_dtype} for {variant} ids"
    )
    expected = list(expected_rows(variant, with_customers))
    ids = df["customer_id"].to_list()
    assert ids == _natural(ids), f"not sorted by customer_id in its natural order: {ids[:8]}"
    assert ids == [r["customer_id"] for r in expected]
    problems = differences(df.to_dicts(), expected, PRESET_COLUMNS, limit=15)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_presets_on_held_out_data_match_the_definitions(variant: str) -> None:
    check_engine(variant)


def test_presets_without_a_customers_table() -> None:
    """The universe is every customer with an order before the as-of (any status),
    the orders of ids missing from the customers table included; still integers."""
    expected = expected_rows("Int64", with_customers=False)
    d = drawn()
    before = d.orders.filter(pl.col("order_ts") < AS_OF)["customer_id"].drop_nulls().unique()
    assert [r["customer_id"] for r in expected] == sorted(before.to_list())
    assert len(expected) < N_CUSTOMERS  # no prospects, some strangers
    check_engine("Int64", with_customers=False)


# -- the expectations themselves -----------------------------------------------------
def _duckdb_rows(folder: Path, variant: str) -> list[dict]:
    """The peer's SQL statement on the variant's tables, ids as they are in the files
    (the peer casts them to VARCHAR for segrule generate's text ids)."""
    import duckdb

    for name, frame in tables_of(variant).items():
        frame.write_parquet(folder / f"{name}.parquet")
    out = folder / "duckdb.parquet"
    sql = duckdb_sql.render_sql(folder, out, AS_OF)
    sql = sql.replace("CAST(customer_id AS VARCHAR)", "customer_id")
    assert "VARCHAR" not in sql
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute(sql)
    finally:
        con.close()
    frame = pl.read_parquet(out)
    # DuckDB's timestamps are naive wall times; segrule's carry the business zone (UTC).
    frame = frame.with_columns(pl.col("first_order_ts").dt.replace_time_zone("UTC"))
    return frame.to_dicts()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_reference_agrees_with_duckdb_sql(variant: str, tmp_path: Path) -> None:
    """The expected rows are the definitions: the pure-Python reference and one SQL
    statement written from the same page agree on every value, ids in the same order."""
    duck = _duckdb_rows(tmp_path, variant)
    problems = differences(duck, list(expected_rows(variant)), PRESET_COLUMNS, limit=15)
    assert not problems, "\n".join(problems)


def test_the_data_makes_ties_by_customer_id_matter() -> None:
    """The held-out data has teeth: ranking the same customers by their ids as text
    (what a String cast does) changes R, F and M scores, RFM segments and the Pareto
    set, and the Pareto line falls inside the whales' tie."""
    by_int = {r["customer_id"]: r for r in expected_rows("Int64")}
    by_text = {int(r["customer_id"]): r for r in expected_rows("String")}
    assert by_int.keys() == by_text.keys()
    for column in ("r_score", "f_score", "m_score", "rfm_segment", "pareto_key"):
        moved = sum(1 for c in by_int if by_int[c][column] != by_text[c][column])
        assert moved > 0, column
    whales = drawn().whales
    key = [by_int[w]["pareto_key"] for w in whales]  # whales in numeric id order
    assert key[0] and not key[-1]
    assert key == sorted(key, reverse=True)  # the first whales by id are the key ones
    assert all(by_int[w]["monetary_365d"] == 10000.0 for w in whales)
    assert all(by_int[w]["amount_tier"] == "mid" for w in whales)
    assert [by_text[w]["pareto_key"] for w in whales] != key
    # customer ids of every length, so text order and numeric order differ throughout
    assert {len(str(c)) for c in by_int} == set(range(1, 10))
