"""Synthetic ``apparel_items``: the order lines of the generated orders.

Imported only when data is generated (it needs numpy and pyarrow). The generator
follows the contract in :mod:`segrule.generate`: deterministic from the context
(random numbers from ``ctx.rng("apparel_items", block)`` and a stateless hash of the
customer number), vectorised, the same schema in every chunk.

How the rows are made (what a merchant would recognise):

- Lines belong to the generated orders: core's orders generator is replayed from the
  same context, and every ``paid`` or ``refunded`` order becomes 1..6 lines with the
  order's ``order_id``, ``customer_id`` and time (``item_ts = order_ts``). The line
  quantities add up to the order's ``quantity`` and the line amounts, in cents, add up
  exactly to the order's ``amount`` (split by category price level). Pending and
  cancelled orders have no lines.
- Each customer has a stable profile: a favourite and a second category, how focused
  they are on them, a usual letter size (a few "family" buyers spread over sizes), a
  return propensity (about 8 % serial returners) and an appetite for new arrivals
  (trend seekers, regular, classic buyers).
- A line's category is the customer's favourite, their second one or an in-season
  pick, each weighted by how well the category's price level (median line price:
  accessories 59 ... outerwear 499) fits the order's price per unit, so that a cheap
  order is more likely a T-shirt than a coat.
- Seasonality: the category mix follows the season of purchase (outerwear and
  knitwear in autumn and winter, shorts, dresses and swimwear in summer), and the item
  season is mostly the current one, sometimes the next (pre-season) or an all-season
  (``all``) item. About 1.3 % of lines are swimwear, which is not one of the plugin's
  categories (it shows as "other").
- Returns: every line of a refunded order is returned; other lines are returned with a
  probability by category (dresses and pants most, accessories least) times the
  customer's propensity, higher when the size is not the customer's usual one.
  ``return_ts`` is 1-20 days after the purchase.
- New arrivals: ``launch_ts`` is the launch day of the item; new-arrival purchases are
  made 0-28 days after it (6 % as pre-sale, before it), others 31 or more days after.
  ``is_new_arrival`` is ``item_ts < launch_ts + 30 days``. About 2 % of lines have no
  ``launch_ts``.

Purchase dates are those of core's orders (no calendar peaks of their own).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from segrule.plugin import TABLE_GENERATORS

from segrule_apparel.vocab import ALL_SEASON, LETTER_SIZES, ONE_SIZE, SEASON_KEYS, TABLE

_TS = pa.timestamp("us")
_US_PER_DAY = 86_400_000_000

SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("item_ts", _TS),
        ("category", pa.string()),
        ("size", pa.string()),
        ("season", pa.string()),
        ("quantity", pa.int32()),
        ("amount", pa.float64()),
        ("launch_ts", _TS),
        ("is_new_arrival", pa.bool_()),
        ("returned", pa.bool_()),
        ("return_ts", _TS),
    ]
)

ANY = "spring summer autumn winter all"

# category, popularity, median line price, return base rate,
# season fit (spring, summer, autumn, winter), allowed item seasons, fallback season
_CATS: tuple[tuple[str, float, float, float, tuple[float, ...], str, str], ...] = (
    ("dress", 0.17, 259.0, 0.24, (0.8, 1.0, 0.6, 0.35), ANY, "summer"),
    ("shirt", 0.12, 169.0, 0.12, (1.0, 0.7, 1.0, 0.5), ANY, "spring"),
    ("tshirt", 0.13, 89.0, 0.06, (0.7, 1.0, 0.5, 0.2), "spring summer autumn all", "all"),
    ("knitwear", 0.09, 229.0, 0.10, (0.6, 0.15, 1.0, 1.0), "spring autumn winter", "autumn"),
    ("outerwear", 0.11, 499.0, 0.15, (0.6, 0.1, 1.0, 1.0), "spring autumn winter", "autumn"),
    ("pants", 0.15, 199.0, 0.20, (1.0, 0.6, 1.0, 0.9), ANY, "all"),
    ("shorts", 0.06, 99.0, 0.08, (0.4, 1.0, 0.2, 0.05), "spring summer", "summer"),
    ("skirt", 0.09, 179.0, 0.18, (0.9, 1.0, 0.6, 0.35), ANY, "summer"),
    ("accessories", 0.06, 59.0, 0.04, (0.6, 0.5, 0.8, 1.0), ANY, "all"),
    # not one of the plugin's categories: counted as "other" by the category dimensions
    ("swimwear", 0.02, 159.0, 0.12, (0.3, 1.0, 0.1, 0.05), "summer", "summer"),
)
CATEGORY_VOCAB = [c[0] for c in _CATS]
SEASON_VOCAB = [*SEASON_KEYS, ALL_SEASON]
SIZE_VOCAB = [*LETTER_SIZES, ONE_SIZE]
_SIZE_WEIGHTS = (0.05, 0.22, 0.33, 0.24, 0.10, 0.04, 0.015, 0.005)
_ONE_SIZE_SHARE = {"accessories": 0.85, "knitwear": 0.20, "skirt": 0.05}

_PRICE_SIGMA = 0.8  # spread (log scale) of a category's prices around its median

LINES_PER_ORDER = 1.24  # expected lines per generated order (for progress only)


def expected_rows(ctx: Any) -> int:
    return round(ctx.orders * LINES_PER_ORDER)


# -- a stateless per-customer hash: the same customer gets the same profile in every block
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def customer_uniform(seed: int, cust: np.ndarray, salt: int) -> np.ndarray:
    """A uniform [0, 1) number per customer number, fixed by (seed, salt) (splitmix64)."""
    offset = np.uint64((seed * 0x632BE59BD9B4E019 + salt * 0x85EBCA77C2B2AE63) % (1 << 64))
    x = cust.astype(np.uint64) * _GOLDEN + offset
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index into a cumulative distribution (last entry 1) for each uniform ``u``."""
    return np.minimum(np.searchsorted(cum, u, side="right"), cum.shape[0] - 1)


def _timestamps(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(us.astype(np.int64).view("datetime64[us]"), type=_TS, mask=null)


def _labels(vocab: list[str], idx: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(vocab, type=pa.string()).take(
        pa.array(np.asarray(idx, dtype=np.int32), mask=null)
    )


def generate_items(ctx: Any) -> Iterator[pa.Table]:
    """Yield ``apparel_items`` tables block by block (see the module docstring)."""
    popularity = np.array([c[1] for c in _CATS])
    popularity /= popularity.sum()
    cum_pop = np.cumsum(popularity)
    fit = np.array([c[4] for c in _CATS])  # (categories, 4 seasons)
    in_season = popularity[:, None] * fit
    in_season_p = (in_season / in_season.sum(axis=0)).T  # (4 seasons, categories)
    price = np.array([c[2] for c in _CATS])
    log_price = np.log(price)
    return_base = np.array([c[3] for c in _CATS])
    allowed = np.array(
        [[s in c[5].split() for s in SEASON_VOCAB] for c in _CATS], dtype=bool
    )  # (categories, 5)
    fallback = np.array([SEASON_VOCAB.index(c[6]) for c in _CATS])
    one_size = np.array([_ONE_SIZE_SHARE.get(c[0], 0.0) for c in _CATS])
    cum_size = np.cumsum(np.array(_SIZE_WEIGHTS) / sum(_SIZE_WEIGHTS))
    n_sizes = len(LETTER_SIZES)

    yielded = False
    for block, orders in enumerate(TABLE_GENERATORS["orders"].fn(ctx)):
        rng = ctx.rng(TABLE, block)
        status = orders.column("status")
        keep = pc.is_in(status, value_set=pa.array(["paid", "refunded"]))
        sel = orders.filter(keep)
        n = sel.num_rows
        if n == 0:
            continue
        refunded = pc.equal(sel.column("status"), "refunded").to_numpy()
        cust_o = pc.cast(
            pc.utf8_slice_codeunits(sel.column("customer_id"), 1), pa.int64()
        ).to_numpy()
        ts_o = sel.column("order_ts").to_numpy().astype("datetime64[us]").astype(np.int64)
        cents_o = np.round(sel.column("amount").to_numpy() * 100.0).astype(np.int64)
        q = sel.column("quantity").to_numpy().astype(np.int64)

        # order -> lines: at most 6 lines; sometimes two units share one line
        q6 = np.minimum(q, 6)
        merge = (q6 >= 2) & (rng.random(n) < 0.15)
        n_lines = q6 - merge.astype(np.int64)
        total = int(n_lines.sum())
        oi = np.repeat(np.arange(n), n_lines)
        starts = np.cumsum(n_lines) - n_lines
        pos = np.arange(total) - starts[oi]
        qty = np.ones(total, dtype=np.int64)
        first = pos == 0
        qty[first] += merge[oi[first]]
        last = pos == n_lines[oi] - 1
        qty[last] += (q - q6)[oi[last]]

        cust = cust_o[oi]
        ts = ts_o[oi]
        month = ts.view("datetime64[us]").astype("datetime64[M]").astype(np.int64) % 12 + 1
        cs = np.select(
            [np.isin(month, (3, 4, 5)), np.isin(month, (6, 7, 8)), np.isin(month, (9, 10, 11))],
            [0, 1, 2],
            default=3,
        )

        # the customer's stable profile
        seed = ctx.seed
        primary = _pick(cum_pop, customer_uniform(seed, cust, 1))
        secondary = _pick(cum_pop, customer_uniform(seed, cust, 2))
        secondary = np.where(secondary == primary, (primary + 1) % len(_CATS), secondary)
        focus_u = customer_uniform(seed, cust, 3)
        focus = np.select([focus_u < 0.5, focus_u < 0.8], [0.8, 0.55], default=0.25)
        base_size = _pick(cum_size, customer_uniform(seed, cust, 4))
        family = customer_uniform(seed, cust, 5) < 0.12
        ret_u = customer_uniform(seed, cust, 6)
        returner = np.select([ret_u < 0.70, ret_u < 0.92], [0.6, 1.3], default=3.0)
        trend_u = customer_uniform(seed, cust, 7)
        p_new = np.select([trend_u < 0.15, trend_u < 0.70], [0.75, 0.3], default=0.04)

        # category: favourite, second favourite or an in-season pick, weighted by how
        # well the category's price level fits the order's price per unit
        rows = np.arange(total)
        p1 = focus * fit[primary, cs]
        p2 = np.minimum(0.25 * fit[secondary, cs], 1.0 - p1)
        prob = (1.0 - p1 - p2)[:, None] * in_season_p[cs]
        prob[rows, primary] += p1
        prob[rows, secondary] += p2
        unit = np.maximum(cents_o / q, 100.0)[oi] / 100.0
        prob *= np.exp(-((np.log(unit)[:, None] - log_price[None, :]) ** 2) / (2 * _PRICE_SIGMA**2))
        cum = np.cumsum(prob, axis=1)
        r = rng.random(total) * cum[:, -1]
        cat = np.minimum((cum < r[:, None]).sum(axis=1), len(_CATS) - 1)

        # item season: mostly the current one, some pre-season, clearance or all-season
        r = rng.random(total)
        cand = np.select(
            [r < 0.60, r < 0.78, r < 0.83], [cs, (cs + 1) % 4, (cs + 3) % 4], default=4
        )
        season = np.where(allowed[cat, cand], cand, fallback[cat])

        # size: the usual one, a neighbour, or anything (family buyers spread wider)
        r = rng.random(total)
        step = rng.integers(0, 2, total) * 2 - 1
        size = np.select(
            [r < 0.82, r < 0.96],
            [base_size, base_size + step],
            default=rng.integers(0, n_sizes, total),
        )
        spread = base_size + rng.integers(-2, 3, total)
        size = np.clip(np.where(family, spread, size), 0, n_sizes - 1)
        off_size = size != base_size
        size = np.where(rng.random(total) < one_size[cat], n_sizes, size)  # ONE_SIZE
        size_null = rng.random(total) < 0.01

        # amounts: the order's cents split over its lines by price level, exactly
        weight = price[cat] * qty * rng.lognormal(0.0, 0.25, total)
        wsum = np.bincount(oi, weights=weight, minlength=n)
        line_cents = np.floor(cents_o[oi] * (weight / wsum[oi])).astype(np.int64)
        rest = cents_o - np.bincount(oi, weights=line_cents, minlength=n).astype(np.int64)
        line_cents[first] += rest[oi[first]]

        # returns
        sized = (size < n_sizes) & ~size_null
        p_ret = return_base[cat] * returner * np.where(off_size & sized, 1.8, 1.0)
        ret = refunded[oi] | (rng.random(total) < np.minimum(p_ret, 0.95))
        ret_us = ts + rng.integers(1, 21, total) * _US_PER_DAY + rng.integers(0, _US_PER_DAY, total)

        # new arrivals: launch day relative to the purchase day
        day = ts // _US_PER_DAY
        is_new = rng.random(total) < p_new
        presale = rng.random(total) < 0.06
        launch_day = np.where(
            is_new,
            np.where(presale, day + rng.integers(1, 11, total), day - rng.integers(0, 29, total)),
            day - 31 - np.floor(rng.exponential(150.0, total)).astype(np.int64),
        )
        launch_us = launch_day * _US_PER_DAY
        launch_null = rng.random(total) < 0.02
        new_flag = (ts < launch_us + 30 * _US_PER_DAY) & ~launch_null

        yielded = True
        yield pa.Table.from_arrays(
            [
                sel.column("order_id").take(pa.array(oi)).combine_chunks(),
                sel.column("customer_id").take(pa.array(oi)).combine_chunks(),
                _timestamps(ts),
                _labels(CATEGORY_VOCAB, cat),
                _labels(SIZE_VOCAB, size, size_null),
                _labels(SEASON_VOCAB, season),
                pa.array(qty.astype(np.int32), type=pa.int32()),
                pa.array(line_cents / 100.0, type=pa.float64()),
                _timestamps(launch_us, launch_null),
                pa.array(new_flag, type=pa.bool_()),
                pa.array(ret, type=pa.bool_()),
                _timestamps(ret_us, ~ret),
            ],
            schema=SCHEMA,
        )
    if not yielded:
        yield SCHEMA.empty_table()
