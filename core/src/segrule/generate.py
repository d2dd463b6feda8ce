"""Seeded, streaming generator of synthetic retail data (orders, customers, events, feedback,
messages).

Public API
----------
``generate(out_dir, *, orders, customers, seed, end, days, chunk_rows, tables, progress,
generators, orders_per_customer, id_type, customer_ids, order_ids, skew, skew_orders,
events_per_order)``
    Writes ``<out_dir>/<table>.parquet`` for every requested table and returns
    ``{table: path}``.  Arguments are validated up front; a bad value raises
    :class:`ValueError` with a one-line message.  The shape options (id type, id order,
    skew, events per order) default to the data written before they existed, byte for
    byte.

``TABLE_GENERATORS`` / ``TableSpec`` / ``GenContext``
    Core's table generators; plugins give theirs through ``generate(generators=...)``
    (the CLI takes them from the ``generate`` field of the plugin's table contracts).

Output
------
Every file is Parquet, zstd-compressed, with column statistics, written in row groups of
``chunk_rows`` rows (the last one may be shorter).  Each file is first written to a
temporary file inside ``out_dir`` and then moved onto its final name with
:func:`os.replace`, so a reader never sees a half-written file.  Timestamps are naive
``timestamp[us]`` wall-clock times.  The tables:

* ``orders`` (exactly ``orders`` rows): order_id ``"O"`` + 10 digits (unique), customer_id,
  order_ts, amount (Float64, > 0, 2 decimals), status (paid/pending/refunded/cancelled),
  quantity (Int32 >= 1), channel, category, coupon_used (Boolean), discount (0..0.5).
  About 99 % of the orders fall in the ``days`` days before ``end``; about 1 % fall in the
  30 days from ``end`` on, so that as-of filtering is exercised.  With ``skew=S``, S
  customers who order get ``skew_orders`` of these orders each (besides their usual
  ones), at rows spread at random over the file and at times spread over the whole
  period.
* ``customers`` (exactly ``customers`` rows, ``C00000000`` ...): birth_year, gender, city,
  is_member, signup_ts, tags.  About 15 % of the customers never order.
* ``events`` (``2 * customers`` rows, or ``events_per_order * orders``): customer_id,
  event_ts, event_type.
* ``feedback`` (``round(0.3 * orders)`` rows, only from customers that have orders):
  customer_id, ts, score (Int32 0..100, skewed high).
* ``messages`` (``3 * customers`` rows): customer_id, ts, channel (review/chat/ticket), text.
  Each customer has a writing persona (shrewd, grumbler, methodical, clear, neutral or
  silent, by a seeded permutation of its number); a persona's texts (Chinese and
  English) come from its own short list 65 % of the time, else from neutral ones; silent
  customers (about 20 %) write nothing; about 2 % of texts are null and some empty.

Ids: customer ``k`` (0-based) is ``"C"`` + ``k`` in 8 digits, order row ``g`` is ``"O"``
+ ``g`` in 10 digits; ``id_type="int"`` writes the same numbers as Int64.
``customer_ids="shuffled"`` and ``order_ids="random"`` replace the number by its image
under a seeded permutation of ``range(customers)`` / ``range(orders)`` (:func:`permute`,
computed per value, so still block by block): the same set of ids, out of order.  Only
the id columns change; every other value is the same as with ids in order.

Determinism
-----------
The output depends only on the arguments of :func:`generate` (and the installed numpy /
pyarrow versions): the same arguments give byte-identical files.  Random numbers come from
``np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(...)))`` with a spawn key
derived from the table name and the index of a fixed-size internal block of
``BLOCK_ROWS`` rows.  ``chunk_rows`` therefore changes only the row-group layout (and so
the bytes of the file), never the rows or their order.  The per-customer state (activity
weights, active spans, ...) depends on ``seed``, ``customers``, ``days`` only.

Memory
------
Rows are produced block by block and written in chunks; nothing holds a Python object per
row or per customer.  Per-customer state is a handful of numpy arrays of length
``customers`` (about 30 bytes per customer in total).  Peak memory is therefore about
``30 * customers + (chunk_rows + BLOCK_ROWS) * ~200 bytes`` plus the Parquet writer.

Adding tables (plugin contract)
-------------------------------
A table generator is a function ``(ctx: GenContext) -> Iterator[pyarrow.Table]``:

* it must be deterministic given ``ctx``: draw random numbers only from ``ctx.rng(name,
  block)`` (one generator per block; iterate blocks with ``ctx.blocks(n_rows)``);
* every yielded table must have the same schema; yield at least one table (an empty table
  with the schema when there are no rows), so that an empty file can still be written;
* yielded tables may have any length; the writer re-chunks them into row groups of
  ``ctx.chunk_rows`` rows, so keep each yielded table small (``ctx.block_rows`` rows);
* it must not build per-row Python objects; use the helpers on :class:`GenContext`
  (``customer_ids``, ``timestamps``, ``labels``, ``sample_buyers``, ``sample_ordering``,
  ``span_days``) and the per-customer arrays.

A plugin attaches it to its table contract (``TableContract(..., generate=fn,
rows=lambda ctx: ...)``; ``rows`` gives the expected row count, used only for progress
reporting); ``segrule generate --vertical NAME`` then writes the plugin's tables beside
the core ones. In Python: ``generate(..., tables=(..., name), generators={name: fn})``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from segrule.errors import UsageError, option

try:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as _missing:  # scoring installs leave them out (core/pyproject.toml)
    raise UsageError(
        f"generating data needs NumPy and pyarrow ({_missing.name} is not installed): "
        "pip install 'segrule[generate]'"
    ) from None
from segrule.io import outpaths

__all__ = [
    "BLOCK_ROWS",
    "DEFAULT_TABLES",
    "TABLE_GENERATORS",
    "GenContext",
    "TableSpec",
    "generate",
]

#: Rows per internal generation block.  The data depends on this constant (not on
#: ``chunk_rows``); changing it changes the generated data for a given seed.
BLOCK_ROWS = 1 << 16

DEFAULT_TABLES: tuple[str, ...] = ("orders", "customers", "events", "feedback", "messages")

#: Type of the customer_id and order_id columns: ``"C00000042"`` / ``"O0000000042"``
#: text, or the same numbers as Int64 (42).
IdType = Literal["string", "int"]
#: Customer id numbers in customer order (``C00000000``, ``C00000001``, ... in the
#: customers table) or shuffled (a seeded random permutation of the same numbers).
CustomerIdOrder = Literal["in-order", "shuffled"]
#: Order id numbers in file order (0, 1, 2, ...) or random (a seeded random
#: permutation of the same numbers, so the orders file is not in id order).
OrderIdOrder = Literal["in-order", "random"]
ID_TYPES: tuple[str, ...] = get_args(IdType)
CUSTOMER_ID_ORDERS: tuple[str, ...] = get_args(CustomerIdOrder)
ORDER_ID_ORDERS: tuple[str, ...] = get_args(OrderIdOrder)
#: Orders of each skewed customer unless ``skew_orders`` says otherwise.
SKEW_ORDERS = 100_000

_US_PER_DAY = 86_400_000_000
_MAX_ORDERS = 10**10  # order ids have 10 digits
_MAX_CUSTOMERS = 10**8  # customer ids have 8 digits

#: Fraction of rows (orders, events, feedback) placed in the 30 days from ``end`` on.
AFTER_END_FRACTION = 0.01
AFTER_END_DAYS = 30

# --- categorical vocabularies (label, weight) -------------------------------------------

_STATUSES = (("paid", 0.85), ("pending", 0.04), ("refunded", 0.07), ("cancelled", 0.04))
_CHANNELS = (("app", 0.45), ("mini_program", 0.25), ("web", 0.20), ("store", 0.10))
# category, weight, median unit price
_CATEGORIES = (
    ("dress", 0.20, 259.0),
    ("shirt", 0.22, 149.0),
    ("pants", 0.18, 179.0),
    ("shoes", 0.14, 329.0),
    ("accessories", 0.14, 69.0),
    ("kids", 0.12, 119.0),
)
_EVENT_TYPES = (
    ("campaign", 0.34),
    ("view", 0.36),
    ("cart", 0.12),
    ("favorite", 0.08),
    ("inquiry", 0.05),
    ("after_sales", 0.03),
    ("complaint", 0.02),
)
_CITIES = (
    ("上海", 10.0),
    ("北京", 9.0),
    ("深圳", 7.0),
    ("广州", 7.0),
    ("杭州", 5.0),
    ("成都", 5.0),
    ("重庆", 4.5),
    ("武汉", 4.0),
    ("南京", 3.5),
    ("西安", 3.0),
    ("苏州", 3.0),
    ("长沙", 2.5),
    ("郑州", 2.5),
    ("天津", 2.5),
    ("青岛", 2.0),
    ("沈阳", 1.8),
    ("合肥", 1.8),
    ("昆明", 1.5),
    ("福州", 1.5),
    ("厦门", 1.5),
    ("宁波", 1.5),
    ("济南", 1.5),
    ("哈尔滨", 1.2),
    ("大连", 1.2),
    ("南宁", 1.0),
    ("贵阳", 1.0),
    ("石家庄", 1.0),
    ("南昌", 1.0),
    ("太原", 0.8),
    ("兰州", 0.6),
    ("呼和浩特", 0.5),
    ("乌鲁木齐", 0.5),
    ("海口", 0.5),
    ("银川", 0.3),
    ("西宁", 0.3),
    ("拉萨", 0.2),
)
_TAGS = (
    ("new", 0.25),
    ("vip", 0.15),
    ("student", 0.15),
    ("price_sensitive", 0.2),
    ("family", 0.1),
    ("wholesale", 0.05),
    ("vip,early_adopter", 0.1),
)
_DISCOUNTS = (
    (0.05, 0.2),
    (0.10, 0.3),
    (0.15, 0.15),
    (0.20, 0.2),
    (0.30, 0.1),
    (0.50, 0.05),
)
# relative order volume per hour of the day (late-evening peak, little at night)
_HOUR_WEIGHTS = np.array(
    [3, 2, 1, 1, 1, 1, 2, 4, 6, 7, 8, 9, 10, 9, 8, 8, 8, 9, 10, 12, 14, 15, 13, 7],
    dtype=np.float64,
)

_BUYER_FRACTION = 0.85  # customers that ever order
_WEIGHT_SIGMA = 1.2  # lognormal sigma of per-customer order intensity
_ONE_SHOT_FRACTION = 0.35  # buyers with (almost) no repeat orders


def _probs(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return p / p.sum()


def _stable_key(name: str) -> int:
    """A process-independent integer for ``name`` (``hash()`` is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


# --- schemas -------------------------------------------------------------------------------

_TS = pa.timestamp("us")

ORDERS_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("order_ts", _TS),
        ("amount", pa.float64()),
        ("status", pa.string()),
        ("quantity", pa.int32()),
        ("channel", pa.string()),
        ("category", pa.string()),
        ("coupon_used", pa.bool_()),
        ("discount", pa.float64()),
    ]
)
CUSTOMERS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("birth_year", pa.int32()),
        ("gender", pa.string()),
        ("city", pa.string()),
        ("is_member", pa.bool_()),
        ("signup_ts", _TS),
        ("tags", pa.string()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("event_ts", _TS), ("event_type", pa.string())]
)
FEEDBACK_SCHEMA = pa.schema([("customer_id", pa.string()), ("ts", _TS), ("score", pa.int32())])
MESSAGES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("ts", _TS),
        ("channel", pa.string()),
        ("text", pa.string()),
    ]
)


# --- context -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class GenContext:
    """Everything a table generator may depend on.

    Day numbers are offsets from :attr:`start` (day 0 = ``start``, day ``days`` = ``end``).
    Per-customer arrays are indexed by customer number (``C00000042`` is index 42).
    """

    seed: int
    orders: int
    customers: int
    start: datetime.date  #: first day of the window (``end - days``)
    end: datetime.date  #: end of the window (exclusive); ~1 % of rows fall after it
    days: int
    chunk_rows: int
    block_rows: int
    #: float32 (M,): relative order intensity; 0 for customers that never order
    weight: np.ndarray
    #: float64 (M,): cumulative sum of ``weight`` (for weighted sampling)
    cum_weight: np.ndarray
    #: int32 (M,): first / last day of the customer's active span (inclusive)
    first_day: np.ndarray
    last_day: np.ndarray
    #: float32 (M,): per-customer spend multiplier (basket size)
    spend: np.ndarray
    #: uint8 (M,): index into the channel vocabulary of the customer's preferred channel
    channel_pref: np.ndarray
    #: int32 (B,): buyers in random order; buyer ``buyer_order[k]`` gets a guaranteed order
    #: for ``k < min(B, orders)``, so every buyer has at least one order when
    #: ``orders >= B``.
    buyer_order: np.ndarray
    # -- the data's shape (see :func:`generate`); the defaults are the historical data --
    id_type: IdType = "string"
    customer_id_order: CustomerIdOrder = "in-order"
    order_id_order: OrderIdOrder = "in-order"
    #: events rows per order; None: two events per customer
    events_per_order: int | None = None
    #: int64 (S,): the skewed customers, each with ``skew_orders`` orders of its own
    skewed: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0, np.int64))
    skew_orders: int = 0

    # -- randomness and blocking --

    def rng(self, table: str, block: int) -> np.random.Generator:
        """The random generator for block ``block`` of table ``table``."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(_stable_key(table), block))
        return np.random.default_rng(ss)

    def blocks(self, n_rows: int) -> Iterator[tuple[int, int, int]]:
        """Yield ``(block_index, start_row, stop_row)`` covering ``range(n_rows)``."""
        for b, lo in enumerate(range(0, n_rows, self.block_rows)):
            yield b, lo, min(lo + self.block_rows, n_rows)

    @property
    def n_buyers(self) -> int:
        """Number of customers that ever order (given enough orders)."""
        return int(self.buyer_order.shape[0])

    # -- sampling --

    def sample_buyers(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` customer indices drawn proportionally to :attr:`weight` (int64)."""
        u = rng.random(n) * self.cum_weight[-1]
        idx = np.searchsorted(self.cum_weight, u, side="right")
        return np.minimum(idx, self.customers - 1)

    def sample_ordering(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` indices of customers that have at least one order (activity-weighted)."""
        if self.orders >= self.n_buyers:
            return self.sample_buyers(rng, n)
        if self.orders == 0:
            raise ValueError("no customer has orders")
        # only buyer_order[:orders] got (exactly one) order each
        return self.buyer_order[rng.integers(0, self.orders, n)].astype(np.int64)

    def span_days(
        self,
        rng: np.random.Generator,
        cust: np.ndarray,
        *,
        before: int = 0,
        after: int = 0,
        after_end: float = AFTER_END_FRACTION,
    ) -> np.ndarray:
        """A day (int64) for each customer in ``cust``, uniform in its active span.

        The span is widened by ``before``/``after`` days and clipped to the window; a
        fraction ``after_end`` of the days is instead put in the ``AFTER_END_DAYS`` days
        from ``end`` on.
        """
        n = cust.shape[0]
        lo = self.first_day[cust].astype(np.int64) - before
        hi = self.last_day[cust].astype(np.int64) + after
        np.clip(lo, 0, self.days - 1, out=lo)
        np.clip(hi, lo, self.days - 1, out=hi)
        day = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
        late = np.asarray(rng.random(n) < after_end)
        day[late] = self.days + rng.integers(0, AFTER_END_DAYS, int(np.count_nonzero(late)))
        return day

    def seconds_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Wall-clock second of the day (int64) with a realistic daily profile."""
        hour = rng.choice(24, size=n, p=_probs(_HOUR_WEIGHTS))
        return hour.astype(np.int64) * 3600 + rng.integers(0, 3600, n)

    # -- column builders --

    def timestamps(self, day: np.ndarray, second: np.ndarray | None = None) -> pa.Array:
        """Naive ``timestamp[us]`` array from day offsets (and seconds of the day)."""
        base = int(np.datetime64(self.start, "us").astype(np.int64))
        us = base + np.asarray(day, dtype=np.int64) * _US_PER_DAY
        if second is not None:
            us = us + np.asarray(second, dtype=np.int64) * 1_000_000
        return pa.array(us.view("datetime64[us]"), type=_TS)

    @staticmethod
    def customer_ids(idx: np.ndarray) -> pa.Array:
        """``"C"`` + 8-digit zero-padded customer numbers (the default shape: text ids,
        customer ``k`` is ``C`` + ``k``). Core's tables use :meth:`customer_id_column`,
        which follows ``id_type`` and ``customer_id_order``."""
        return fixed_ids("C", idx, 8)

    def permutation(self, name: str, values: np.ndarray, n: int) -> np.ndarray:
        """``values`` (each in ``range(n)``) mapped through a random permutation of
        ``range(n)`` that depends on ``name`` and the seed only (see :func:`permute`)."""
        return permute(values, n, self.seed, name)

    def customer_id_column(self, idx: np.ndarray) -> pa.Array:
        """The customer_id column for customer numbers ``idx``: text (``C00000042``) or
        Int64 (42) after ``id_type``; with ``customer_id_order="shuffled"`` the number
        is first mapped through a seeded permutation of ``range(customers)``."""
        number = np.asarray(idx, dtype=np.int64)
        if self.customer_id_order == "shuffled":
            number = self.permutation("customer_id", number, self.customers)
        if self.id_type == "int":
            return pa.array(number, type=pa.int64())
        return fixed_ids("C", number, 8)

    def order_id_column(self, rows: np.ndarray) -> pa.Array:
        """The order_id column for order rows ``rows`` (0-based file positions): text
        (``O0000000042``) or Int64 after ``id_type``; with ``order_id_order="random"``
        the number is a seeded permutation of ``range(orders)`` of the position."""
        number = np.asarray(rows, dtype=np.int64)
        if self.order_id_order == "random":
            number = self.permutation("order_id", number, self.orders)
        if self.id_type == "int":
            return pa.array(number, type=pa.int64())
        return fixed_ids("O", number, 10)

    def schema(self, schema: pa.Schema) -> pa.Schema:
        """``schema`` with its customer_id and order_id fields typed after ``id_type``."""
        if self.id_type == "string":
            return schema
        return pa.schema(
            [
                f.with_type(pa.int64()) if f.name in ("customer_id", "order_id") else f
                for f in schema
            ]
        )

    @staticmethod
    def labels(
        vocab: Sequence[str], idx: np.ndarray, null_mask: np.ndarray | None = None
    ) -> pa.Array:
        """String array ``vocab[idx]`` (null where ``null_mask``), built without Python loops."""
        return pa.array(list(vocab), type=pa.string()).take(
            pa.array(np.asarray(idx, dtype=np.int32), mask=null_mask)
        )


def fixed_ids(prefix: str, values: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + ``values`` zero-padded to ``width`` digits, as a pyarrow string array.

    Builds the UTF-8 buffer directly with numpy (fixed-width rows, so offsets are a range).
    """
    v = np.asarray(values, dtype=np.int64)
    n = v.shape[0]
    pre = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    row = pre.shape[0] + width
    buf = np.empty((n, row), dtype=np.uint8)
    buf[:, : pre.shape[0]] = pre
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    buf[:, pre.shape[0] :] = (v[:, None] // powers) % 10 + 48
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf.reshape(-1))]
    )


_PERMUTE_ROUNDS = 4


def permute(values: np.ndarray, n: int, seed: int, name: str) -> np.ndarray:
    """``values`` (int64, each in ``range(n)``) through a seeded random permutation of
    ``range(n)`` (int64 result).

    The permutation is computed value by value, never held as an array of ``n``, so a
    block of rows can be mapped on its own: a keyed bijection of the k-bit integers
    (``2**k >= n``; rounds of multiply-add by odd constants and xor-shift, each
    invertible modulo ``2**k``) applied again to any value that lands at or above
    ``n`` ("cycle walking", fewer than two rounds on average since ``2**k < 2n``).
    The keys come from ``seed`` and ``name``.
    """
    v = np.asarray(values, dtype=np.int64)
    if v.size and (int(v.min()) < 0 or int(v.max()) >= n):
        raise ValueError(f"permute: values must be in range({n})")
    if n <= 1:
        return v.copy()
    k = (n - 1).bit_length()
    mask = np.uint64((1 << k) - 1)
    shift = np.uint64(max(1, (k + 1) // 2))
    rng = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(_stable_key(f"__permute__{name}"),))
    )
    mult = rng.integers(0, 2**63, size=_PERMUTE_ROUNDS, dtype=np.uint64) * 2 + 1
    add = rng.integers(0, 2**63, size=_PERMUTE_ROUNDS, dtype=np.uint64)

    def bijection(x: np.ndarray) -> np.ndarray:
        for a, c in zip(mult, add, strict=True):
            x = (x * a + c) & mask  # uint64 wraps modulo 2**64: fine modulo 2**k
            x ^= x >> shift
        return x

    out = bijection(v.astype(np.uint64))
    outside = np.flatnonzero(out >= n)
    while outside.size:
        out[outside] = bijection(out[outside])
        outside = outside[out[outside] >= n]
    return out.astype(np.int64)


def _choice(rng: np.random.Generator, table: Sequence[tuple], n: int) -> np.ndarray:
    """Indices into ``table`` (rows ``(label, weight, ...)``) drawn by weight."""
    return rng.choice(len(table), size=n, p=_probs([t[1] for t in table]))


def _names(table: Sequence[tuple]) -> list[str]:
    return [t[0] for t in table]


def _customer_state(
    seed: int, customers: int, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-customer arrays: weight, first_day, last_day, spend, channel_pref, buyer_order."""
    m = customers
    rng = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(_stable_key("__customer_state__"),))
    )
    is_buyer = rng.random(m) < _BUYER_FRACTION
    if not is_buyer.any():
        is_buyer[rng.integers(0, m)] = True
    # order intensity: lognormal -> a few heavy buyers, many light ones
    weight = rng.lognormal(0.0, _WEIGHT_SIGMA, m).astype(np.float32)
    weight[~is_buyer] = 0.0
    # ~35 % of buyers are one-shot shoppers: their guaranteed order and rarely another one
    weight[rng.random(m) < _ONE_SHOT_FRACTION] *= np.float32(0.02)
    # recency: ~35 % still active at the end of the window, the rest churned at a random time
    active = rng.random(m) < 0.35
    last = np.where(
        active,
        days - 1 - np.floor(rng.exponential(10.0, m)),
        np.floor(rng.random(m) * days),
    )
    # span length: lognormal around 3 months, longer for heavy buyers; ~8 % one-day bursts
    # (lognormal median is 1, so weight is already relative to a typical buyer)
    span = np.exp(rng.normal(np.log(90.0), 1.0, m)) * np.power(np.maximum(weight, 0.05), 0.35)
    span[rng.random(m) < 0.08] = 0.0
    first = last - np.floor(np.minimum(span, days))
    first = np.clip(first, 0, days - 1).astype(np.int32)
    last = np.clip(last, first, days - 1).astype(np.int32)
    spend = rng.lognormal(0.0, 0.4, m).astype(np.float32)
    channel_pref = rng.choice(len(_CHANNELS), size=m, p=_probs([c[1] for c in _CHANNELS]))
    buyer_order = rng.permutation(np.flatnonzero(is_buyer)).astype(np.int32)
    return weight, first, last, spend, channel_pref.astype(np.uint8), buyer_order


# --- table generators ------------------------------------------------------------------------


def _gen_orders(ctx: GenContext) -> Iterator[pa.Table]:
    n_total = ctx.orders
    # Orders of the skewed customers take rows spread at random over the file (the rows
    # whose permuted position is below n_skewed); the others are the "regular" rows.
    n_skewed = int(ctx.skewed.shape[0]) * ctx.skew_orders
    n_regular = n_total - n_skewed
    guaranteed = min(ctx.n_buyers, n_regular)
    schema = ctx.schema(ORDERS_SCHEMA)
    statuses, channels = _names(_STATUSES), _names(_CHANNELS)
    categories = _names(_CATEGORIES)
    median_price = np.array([c[2] for c in _CATEGORIES])
    discount_values = np.array([d[0] for d in _DISCOUNTS])
    yielded = False
    regular_before = 0  # regular rows in the blocks before this one
    for b, lo, hi in ctx.blocks(n_total):
        rng = ctx.rng("orders", b)
        n = hi - lo
        g = np.arange(lo, hi, dtype=np.int64)
        skewed_row: np.ndarray | None = None
        rank = g  # position among the regular rows
        if n_skewed:
            slot = ctx.permutation("skewed_orders", g, n_total)
            skewed_row = slot < n_skewed
            regular = ~skewed_row
            rank = regular_before + np.cumsum(regular) - 1
            regular_before += int(np.count_nonzero(regular))
        # customer: one guaranteed order per buyer spread evenly over the regular rows,
        # the rest weighted by activity
        k0 = rank * guaranteed // max(n_regular, 1)
        first = (rank + 1) * guaranteed // max(n_regular, 1) > k0
        if skewed_row is not None:
            first &= ~skewed_row
        cust = ctx.sample_buyers(rng, n)
        cust[first] = ctx.buyer_order[k0[first]]
        if skewed_row is not None:
            cust[skewed_row] = ctx.skewed[slot[skewed_row] // ctx.skew_orders]
        day = ctx.span_days(rng, cust)
        sec = ctx.seconds_of_day(rng, n)
        status = _choice(rng, _STATUSES, n)
        channel = np.where(rng.random(n) < 0.7, ctx.channel_pref[cust], _choice(rng, _CHANNELS, n))
        category = _choice(rng, _CATEGORIES, n)
        quantity = np.minimum(rng.geometric(0.72, n), 20).astype(np.int32)
        # unit price: lognormal per category x customer spend; mostly snapped to x9.00
        price = median_price[category] * ctx.spend[cust] * rng.lognormal(0.0, 0.45, n)
        snapped = np.maximum(np.round(price / 10.0) * 10.0 - 1.0, 9.0)
        price = np.where(rng.random(n) < 0.75, snapped, np.maximum(np.round(price, 1), 5.0))
        coupon = rng.random(n) < 0.22
        promo = rng.random(n) < 0.12
        disc = discount_values[_choice(rng, _DISCOUNTS, n)]
        discount = np.where(coupon | promo, disc, 0.0)
        amount = np.round(price * quantity * (1.0 - discount), 2)
        yielded = True
        yield pa.Table.from_arrays(
            [
                ctx.order_id_column(g),
                ctx.customer_id_column(cust),
                ctx.timestamps(day, sec),
                pa.array(amount, type=pa.float64()),
                GenContext.labels(statuses, status),
                pa.array(quantity, type=pa.int32()),
                GenContext.labels(channels, channel),
                GenContext.labels(categories, category),
                pa.array(coupon, type=pa.bool_()),
                pa.array(np.round(discount, 2), type=pa.float64()),
            ],
            schema=schema,
        )
    if not yielded:
        yield schema.empty_table()


def _gen_customers(ctx: GenContext) -> Iterator[pa.Table]:
    cities, tags = _names(_CITIES), _names(_TAGS)
    for b, lo, hi in ctx.blocks(ctx.customers):
        rng = ctx.rng("customers", b)
        n = hi - lo
        idx = np.arange(lo, hi, dtype=np.int64)
        birth = np.clip(np.round(rng.normal(1990.0, 9.0, n)), 1950, 2012).astype(np.int32)
        birth_null = rng.random(n) < 0.05
        gender = (rng.random(n) < 0.38).astype(np.int32)  # 0 = F, 1 = M
        gender_null = rng.random(n) < 0.04
        city_null = rng.random(n) < 0.03
        city = _choice(rng, _CITIES, n)
        # membership more likely for active buyers
        w = ctx.weight[lo:hi].astype(np.float64)
        p_member = np.where(w > 0, 0.15 + 0.6 / (1.0 + np.exp(-(np.log(w + 1e-9) - 1.0))), 0.08)
        member = rng.random(n) < p_member
        # signed up before the first day of the active span (may precede the window)
        signup_day = (
            ctx.first_day[lo:hi].astype(np.int64) - 1 - np.floor(rng.exponential(90.0, n))
        ).astype(np.int64)
        signup_sec = ctx.seconds_of_day(rng, n)
        tag_null = rng.random(n) < 0.6
        tag = _choice(rng, _TAGS, n)
        yield pa.Table.from_arrays(
            [
                ctx.customer_id_column(idx),
                pa.array(birth, type=pa.int32(), mask=birth_null),
                GenContext.labels(["F", "M"], gender, gender_null),
                GenContext.labels(cities, city, city_null),
                pa.array(member, type=pa.bool_()),
                ctx.timestamps(signup_day, signup_sec),
                GenContext.labels(tags, tag, tag_null),
            ],
            schema=ctx.schema(CUSTOMERS_SCHEMA),
        )


def _events_rows(ctx: GenContext) -> int:
    if ctx.events_per_order is None:
        return 2 * ctx.customers
    return ctx.events_per_order * ctx.orders


def _gen_events(ctx: GenContext) -> Iterator[pa.Table]:
    types = _names(_EVENT_TYPES)
    schema = ctx.schema(EVENTS_SCHEMA)
    yielded = False
    for b, _lo, hi in ctx.blocks(_events_rows(ctx)):
        rng = ctx.rng("events", b)
        n = hi - _lo
        # half by activity (buyers), half uniform over all customers (incl. never-buyers)
        cust = np.where(
            rng.random(n) < 0.5,
            ctx.sample_buyers(rng, n),
            rng.integers(0, ctx.customers, n),
        )
        day = ctx.span_days(rng, cust, before=30, after=14)
        sec = ctx.seconds_of_day(rng, n)
        yielded = True
        yield pa.Table.from_arrays(
            [
                ctx.customer_id_column(cust),
                ctx.timestamps(day, sec),
                GenContext.labels(types, _choice(rng, _EVENT_TYPES, n)),
            ],
            schema=schema,
        )
    if not yielded:
        yield schema.empty_table()


def _feedback_rows(ctx: GenContext) -> int:
    return round(0.3 * ctx.orders)


def _gen_feedback(ctx: GenContext) -> Iterator[pa.Table]:
    schema = ctx.schema(FEEDBACK_SCHEMA)
    yielded = False
    for b, lo, hi in ctx.blocks(_feedback_rows(ctx)):
        rng = ctx.rng("feedback", b)
        n = hi - lo
        cust = ctx.sample_ordering(rng, n)
        day = ctx.span_days(rng, cust, after=7)
        sec = ctx.seconds_of_day(rng, n)
        # mostly satisfied (70..100), a tail of unhappy customers
        happy = np.round(100.0 - rng.gamma(1.5, 8.0, n))
        unhappy = np.round(rng.random(n) * 70.0)
        score = np.clip(np.where(rng.random(n) < 0.08, unhappy, happy), 0, 100).astype(np.int32)
        yielded = True
        yield pa.Table.from_arrays(
            [
                ctx.customer_id_column(cust),
                ctx.timestamps(day, sec),
                pa.array(score, type=pa.int32()),
            ],
            schema=schema,
        )
    if not yielded:
        yield schema.empty_table()


# Messages: each customer has a writing persona (seed 002's emotion tags); a persona's
# messages are drawn from its texts most of the time, else from the neutral ones. Silent
# customers write nothing. Chinese and English, mixed case, regex metacharacters, a few
# empty and null texts: what the text_tags strategy must read (docs/text-tags.md).
_PERSONAS = ("shrewd", "grumbler", "methodical", "clear", "neutral", "silent")
#: persona of a customer: its permuted number modulo 10 indexes this table
_PERSONA_OF = np.array([0, 0, 1, 1, 2, 3, 4, 4, 5, 5], dtype=np.int64)
_SILENT = _PERSONAS.index("silent")
_MESSAGE_TEXTS: dict[str, tuple[str, ...]] = {
    "shrewd": (
        "这个价格比别家贵，能不能便宜点？",
        "有优惠券吗？满减活动什么时候开始",
        "降价了能保价吗，差价退一下",
        "性价比不错，包邮就更划算了",
        "别家同款便宜20元，可以比价吗",
        "Do you have a COUPON or promo code?",
        "It is cheaper elsewhere, can you price match?",
        "Any Discount if I buy two? free shipping?",
    ),
    "grumbler": (
        "等了10天还没到，太差了！！！",
        "质量垃圾，非常失望，要退款",
        "客服态度差，我要投诉，差评",
        "再也不买了，坑人",
        "不满意，差评！",
        "Terrible service, I want a REFUND.",
        "Worst purchase ever, very disappointed!!!",
        "Waited 12 days and nothing arrived. Never again, I will complain.",
    ),
    "methodical": (
        "首先，尺码偏小；其次，颜色有色差；最后，包装破损。",
        "1. 物流慢 2. 包装一般 3. 质量还行",
        "第一，发货快；第二，做工好；另外，希望多送赠品。",
        "Firstly, the box was fine. Secondly, the fit is good. Finally, delivery was quick.",
        "1) fabric ok 2) size runs small 3) colour as shown",
    ),
    "clear": (
        "我要型号AB-1234，尺码42码，黑色，今天能发货吗？",
        "订单号 2026110512345 请改成170cm的规格",
        "请问货号XK2099的规格是多少",
        "I need model number TX-5500 in size M (black).",
        "Order number 88812345: please change to SKU QW-2210.",
    ),
    "neutral": (
        "收到了，谢谢",
        "还可以",
        "衣服挺好看的",
        "满意",
        "物流很快",
        "Thanks, received.",
        "Nice dress :)",
        "ok",
        "价格 (含税) 是 [99.00] 元? a+b=c",
        "",
    ),
}
_MESSAGE_CHANNELS = (("review", 0.5), ("chat", 0.35), ("ticket", 0.15))
#: share of a persona's messages drawn from its own texts (the rest are neutral)
_IN_PERSONA = 0.65
_NULL_TEXT = 0.02  # messages whose text is missing (null)


def _messages_rows(ctx: GenContext) -> int:
    return 3 * ctx.customers


def _personas(ctx: GenContext, cust: np.ndarray) -> np.ndarray:
    """The writing persona of each customer in ``cust`` (an index into ``_PERSONAS``)."""
    number = ctx.permutation("persona", np.asarray(cust, dtype=np.int64), ctx.customers)
    return _PERSONA_OF[number % 10]


def _gen_messages(ctx: GenContext) -> Iterator[pa.Table]:
    schema = ctx.schema(MESSAGES_SCHEMA)
    # All texts in one vocabulary; each persona's texts are a slice of it.
    vocab: list[str] = []
    slices: list[tuple[int, int]] = []
    for name in _PERSONAS[:-1]:
        texts = _MESSAGE_TEXTS[name]
        slices.append((len(vocab), len(texts)))
        vocab.extend(texts)
    starts = np.array([a for a, _n in slices], dtype=np.int64)
    sizes = np.array([n for _a, n in slices], dtype=np.int64)
    neutral = _PERSONAS.index("neutral")
    channels = _names(_MESSAGE_CHANNELS)
    yielded = False
    for b, lo, hi in ctx.blocks(_messages_rows(ctx)):
        rng = ctx.rng("messages", b)
        n = hi - lo
        cust = np.where(
            rng.random(n) < 0.5, ctx.sample_buyers(rng, n), rng.integers(0, ctx.customers, n)
        ).astype(np.int64)
        # Silent customers write nothing: their rows go to the next customer who writes.
        persona = _personas(ctx, cust)
        for _ in range(32):
            silent = persona == _SILENT
            if not silent.any():
                break
            cust[silent] = (cust[silent] + 1) % ctx.customers
            persona[silent] = _personas(ctx, cust[silent])
        keep = persona != _SILENT  # only when (almost) every customer is silent
        cust, persona = cust[keep], persona[keep]
        n = int(cust.shape[0])
        source = np.where(rng.random(n) < _IN_PERSONA, persona, neutral)
        text = starts[source] + np.floor(rng.random(n) * sizes[source]).astype(np.int64)
        day = ctx.span_days(rng, cust, before=30, after=14)
        sec = ctx.seconds_of_day(rng, n)
        yielded = True
        yield pa.Table.from_arrays(
            [
                ctx.customer_id_column(cust),
                ctx.timestamps(day, sec),
                GenContext.labels(channels, _choice(rng, _MESSAGE_CHANNELS, n)),
                GenContext.labels(vocab, text, rng.random(n) < _NULL_TEXT),
            ],
            schema=schema,
        )
    if not yielded:
        yield schema.empty_table()


# --- registry --------------------------------------------------------------------------------

TableFn = Callable[[GenContext], Iterator[pa.Table]]


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """A registered table: its generator and its expected row count (for progress)."""

    fn: TableFn
    rows: Callable[[GenContext], int]


#: Core's table generators (plugins pass theirs with ``generate(generators=...)``).
TABLE_GENERATORS: dict[str, TableSpec] = {
    "orders": TableSpec(_gen_orders, lambda ctx: ctx.orders),
    "customers": TableSpec(_gen_customers, lambda ctx: ctx.customers),
    "events": TableSpec(_gen_events, _events_rows),
    "feedback": TableSpec(_gen_feedback, _feedback_rows),
    "messages": TableSpec(_gen_messages, _messages_rows),
}


def vertical_generators(engine: Any, verticals: Sequence[str]) -> dict[str, TableSpec]:
    """The generators ``segrule generate --vertical NAME`` adds: every table with a
    generator that plugin NAME registered, plus the core tables it generates its own way
    (:attr:`segrule.model.tables.TableContract.core_generators`). Pass the result as
    ``generate(generators=...)`` and list its keys in ``tables``.

    Raises :class:`~segrule.errors.UsageError` for a name that is not a plugin with
    synthetic tables, or when two verticals both replace one core table.
    """
    from segrule.errors import UsageError, did_you_mean

    offered: dict[str, list[Any]] = {}
    for info in engine.plugins.values():
        if info.builtin:
            continue
        contracts = [engine.tables.items[t] for t in info.registered.get("tables", [])]
        contracts = [t for t in contracts if t.generate is not None or t.core_generators]
        if contracts:
            offered[info.name] = contracts
    out: dict[str, TableSpec] = {}
    replaced_by: dict[str, str] = {}
    for name in verticals:
        if name not in offered:
            known = ", ".join(sorted(offered)) or "none installed"
            raise UsageError(
                f"{option('verticals')} '{name}' is not a plugin with synthetic tables"
                f"{did_you_mean(name, offered)}; known: {known}"
            )
        for contract in offered[name]:
            if contract.generate is not None:
                out[contract.name] = TableSpec(contract.generate, contract.rows or _no_rows)
            for core_table, (fn, rows) in contract.core_generators.items():
                if core_table not in TABLE_GENERATORS:
                    raise UsageError(
                        f"plugin '{name}' table '{contract.name}' offers a generator for "
                        f"'{core_table}', which is not a core table "
                        f"({', '.join(TABLE_GENERATORS)})"
                    )
                if replaced_by.get(core_table, name) != name:
                    raise UsageError(
                        f"{option('verticals')} {replaced_by[core_table]} and "
                        f"{option('verticals')} {name} both generate their own '{core_table}'; "
                        "generate them one at a time"
                    )
                replaced_by[core_table] = name
                out[core_table] = TableSpec(fn, rows)
    return out


def _no_rows(ctx: GenContext) -> int:
    return 0


# --- writing ---------------------------------------------------------------------------------


def _write_table(
    path: Path,
    batches: Iterator[pa.Table],
    chunk_rows: int,
    on_chunk: Callable[[int], None],
) -> None:
    """Stream ``batches`` into ``path`` atomically, in row groups of ``chunk_rows`` rows."""
    # not tempfile.mkstemp: its 0600 mode would end up on the final file (ignoring umask)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    done = 0
    try:
        pending: list[pa.Table] = []
        pending_rows = 0

        def flush(t: pa.Table) -> None:
            nonlocal done
            assert writer is not None
            writer.write_table(t, row_group_size=chunk_rows)
            done += t.num_rows
            on_chunk(done)

        for t in batches:
            if writer is None:
                schema = t.schema
                # The mark that lets a later `generate` replace this file (and no other).
                marked = schema.with_metadata({**(schema.metadata or {}), **GENERATED_MARK})
                # Page checksums: a corrupted page is found when read (segrule.io.sources).
                writer = pq.ParquetWriter(
                    tmp,
                    marked,
                    compression="zstd",
                    write_statistics=True,
                    write_page_checksum=True,
                )
            elif t.schema != schema:
                raise ValueError(f"{path.stem}: generator changed schema mid-stream")
            if t.num_rows == 0:
                continue
            pending.append(t)
            pending_rows += t.num_rows
            while pending_rows >= chunk_rows:
                buf = pa.concat_tables(pending)
                flush(buf.slice(0, chunk_rows))
                rest = buf.slice(chunk_rows)  # zero-copy; no quadratic re-copying
                pending = [rest] if rest.num_rows else []
                pending_rows = rest.num_rows
        if writer is None:
            raise ValueError(f"{path.stem}: generator yielded no table (yield an empty one)")
        if pending_rows:
            flush(pa.concat_tables(pending))
        writer.close()
        writer = None
        os.replace(tmp, path)
    except OSError as exc:  # pyarrow's I/O errors are OSErrors: a full disk, no permission
        raise outpaths.write_error(path, exc, option("out")) from exc
    finally:
        if writer is not None:
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


#: Parquet key-value metadata of every file `generate` writes: only such a file is replaced.
GENERATED_MARK = {b"segrule.generated": b"segrule generate"}


def is_generated(path: Path) -> bool:
    """Whether ``path`` is a Parquet file written by :func:`generate`."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return False
    return all(meta.get(k) == v for k, v in GENERATED_MARK.items())


def _check_targets(out: Path, tables: Sequence[str]) -> None:
    """Refuse before writing anything: a folder that is a file, and a ``<table>.parquet``
    there that `generate` did not write (it would be replaced)."""
    outpaths.check_folder(out, what=option("out"))
    for name in tables:
        path = outpaths.check_file(out / f"{name}.parquet", what=option("out"))
        if path.exists() and not is_generated(path):
            raise outpaths.OutputPathError(
                f"{option('out')} {out} holds {path.name}, which segrule generate did not "
                "write and would replace; give a new or empty folder"
            )


def _check_choice(name: str, value: object, choices: Sequence[str]) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def generate(
    out_dir: str | Path,
    *,
    orders: int = 100_000,
    customers: int | None = None,
    seed: int = 0,
    end: datetime.date = datetime.date(2026, 11, 1),
    days: int = 730,
    chunk_rows: int = 1_000_000,
    tables: Sequence[str] = DEFAULT_TABLES,
    progress: Callable[[str, int, int], None] | None = None,
    generators: Mapping[str, TableSpec | TableFn] | None = None,
    orders_per_customer: int | None = None,
    id_type: IdType = "string",
    customer_ids: CustomerIdOrder = "in-order",
    order_ids: OrderIdOrder = "in-order",
    skew: int = 0,
    skew_orders: int = SKEW_ORDERS,
    events_per_order: int | None = None,
) -> dict[str, Path]:
    """Generate synthetic tables as Parquet files in ``out_dir``; return ``{table: path}``.

    ``orders`` rows of orders for ``customers`` customers (default ``orders //
    orders_per_customer``, and ``orders_per_customer`` defaults to 10), with order
    times in the ``days`` days before ``end`` (plus ~1 % in the 30 days after it).
    The result depends only on the arguments (not on ``chunk_rows`` except for the
    row-group layout).  ``progress(table, rows_done, rows_total)`` is called with 0 before
    each table and after each written row group (``rows_total`` is the expected count).
    ``generators`` adds (or replaces) table generators by name: a :class:`TableSpec` or
    a bare generator function. Raises :class:`ValueError` on invalid arguments.

    The shape of the data (the defaults give the same files as before these options):

    - ``id_type``: ``"string"`` ids (``C00000042``, ``O0000000042``) or ``"int"``
      (customer_id and order_id Int64, the same numbers: 42);
    - ``customer_ids``: ``"in-order"`` (the customers table in id order, customer ``k``
      is number ``k``) or ``"shuffled"`` (numbers a seeded permutation of the same
      range: the customers table is out of id order);
    - ``order_ids``: ``"in-order"`` (the orders file in id order) or ``"random"`` (a
      seeded permutation of the same numbers: unique, out of order);
    - ``skew``: that many customers who order get ``skew_orders`` of the ``orders``
      each, besides their usual ones, spread at random over the file and over the
      whole period; the other customers share the rest as before;
    - ``events_per_order``: events rows per order (``2`` or ``10``); None: two per
      customer.

    Leave ``customers`` out of ``tables`` for data without a customers table. The id
    and skew options apply to core's tables only, so they cannot be combined with
    ``generators`` (plugin tables write text ids of their own).
    """
    orders = _check_int("orders", orders, 0, _MAX_ORDERS)
    if orders_per_customer is not None:
        orders_per_customer = _check_int("orders_per_customer", orders_per_customer, 1)
        if customers is not None:
            raise ValueError("give customers or orders_per_customer, not both")
    per_customer = 10 if orders_per_customer is None else orders_per_customer
    if customers is None:
        customers = orders // per_customer
        if customers < 1:
            raise ValueError(
                f"customers must be >= 1 (derived as orders // {per_customer} = {customers})"
            )
    customers = _check_int("customers", customers, 1, _MAX_CUSTOMERS)
    id_type = _check_choice("id_type", id_type, ID_TYPES)
    customer_ids = _check_choice("customer_ids", customer_ids, CUSTOMER_ID_ORDERS)
    order_ids = _check_choice("order_ids", order_ids, ORDER_ID_ORDERS)
    skew = _check_int("skew", skew, 0)
    skew_orders = _check_int("skew_orders", skew_orders, 1)
    if skew * skew_orders > orders:
        raise ValueError(
            f"skew: {skew} customers x {skew_orders:,} orders each is more than the "
            f"{orders:,} orders; lower skew or skew_orders"
        )
    if events_per_order is not None:
        events_per_order = _check_int("events_per_order", events_per_order, 0)
    shaped = [
        f"{name}={value!r}"
        for name, value, default in (
            ("id_type", id_type, "string"),
            ("customer_ids", customer_ids, "in-order"),
            ("order_ids", order_ids, "in-order"),
            ("skew", skew, 0),
        )
        if value != default
    ]
    if shaped and generators:
        raise ValueError(
            f"{', '.join(shaped)}: the id and skew options shape core's tables only and "
            f"cannot be combined with plugin tables ({option('verticals')})"
        )
    seed = _check_int("seed", seed, 0)
    days = _check_int("days", days, 1)
    chunk_rows = _check_int("chunk_rows", chunk_rows, 1)
    if not isinstance(end, datetime.date):
        raise ValueError(f"end must be a datetime.date, got {end!r}")
    if isinstance(end, datetime.datetime):
        end = end.date()
    if isinstance(tables, str):
        raise ValueError("tables must be a sequence of table names, not a string")
    tables = list(tables)
    known = dict(TABLE_GENERATORS)
    for gname, spec in (generators or {}).items():
        if not gname or not gname.replace("_", "").isalnum() or not gname.isascii():
            raise ValueError(f"table name must be ASCII letters, digits and '_', got {gname!r}")
        known[gname] = spec if isinstance(spec, TableSpec) else TableSpec(spec, lambda ctx: 0)
    unknown = [t for t in tables if t not in known]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; known: {sorted(known)}")
    if len(set(tables)) != len(tables):
        raise ValueError(f"duplicate table names in {tables}")

    # The text first: Path("s3://b/x") would be the local path "s3:/b/x".
    out = outpaths.check_folder(out_dir, what=option("out"))
    _check_targets(out, tables)
    outpaths.make_folder(out, option("out"))

    weight, first, last, spend, channel_pref, buyer_order = _customer_state(seed, customers, days)
    if skew > buyer_order.shape[0]:
        raise ValueError(
            f"skew: {skew} customers asked for, but only {buyer_order.shape[0]:,} customers "
            "order; lower skew or give more customers"
        )
    # The skewed customers are buyers chosen at random; they buy over the whole period.
    skewed = np.sort(buyer_order[:skew]).astype(np.int64)
    first[skewed] = 0
    last[skewed] = days - 1
    ctx = GenContext(
        seed=seed,
        orders=orders,
        customers=customers,
        start=end - datetime.timedelta(days=days),
        end=end,
        days=days,
        chunk_rows=chunk_rows,
        block_rows=BLOCK_ROWS,
        weight=weight,
        cum_weight=np.cumsum(weight, dtype=np.float64),
        first_day=first,
        last_day=last,
        spend=spend,
        channel_pref=channel_pref,
        buyer_order=buyer_order,
        id_type=id_type,
        customer_id_order=customer_ids,
        order_id_order=order_ids,
        events_per_order=events_per_order,
        skewed=skewed,
        skew_orders=skew_orders if skew else 0,
    )

    result: dict[str, Path] = {}
    for name in tables:
        spec = known[name]
        total = int(spec.rows(ctx))
        path = out / f"{name}.parquet"

        def on_chunk(done: int, _name: str = name, _total: int = total) -> None:
            if progress is not None:
                progress(_name, done, _total)

        if progress is not None:
            progress(name, 0, total)
        _write_table(path, spec.fn(ctx), chunk_rows, on_chunk)
        result[name] = path
    return result
