"""A small pure-Python reference evaluator for segrule, for differential tests.

It computes, customer by customer and row by row, what a segrule run should return,
straight from the written definitions (docs and the rule-set format), with plain
Python: ``datetime`` wall-clock arithmetic, integer cents / ``Decimal`` for money,
``Fraction`` for means and shares, loops and sorts. It never builds a polars
expression; polars (or pyarrow) is used only to turn input frames into lists of
dicts (:func:`rows_of`). Conditions are parsed by a tiny SQL parser written here
(:func:`parse_condition`), not by ``pl.sql_expr``.

Two entry points:

- :class:`Reference` evaluates builtin dimensions and a rule set given as YAML data
  (segments, points / rfm / pareto / quantile scores, outputs);
- :func:`preset_rows` computes ``taobao-5-tier`` + ``rfm`` + ``pareto-80-20`` from their
  definitions written out by hand below (not from the preset YAML files).

Semantics (the definitions the engine is checked against):

- As-of instant T: a date means midnight at its start in the business time zone; a
  naive datetime is wall time in that zone; an aware one is converted into it. Every
  timestamp is turned into a naive wall-clock time in the business zone (aware values
  converted, naive values taken as they are); a row counts only if its time is < T
  (a null time never counts). Windows ``Nd``/``Nw`` start at T - N days (wall-clock
  arithmetic) and include their start; ``lifetime`` has no start.
- The universe: the customers table when given (non-null ids, one row each, the
  first row's attributes), else the distinct non-null customer_ids of orders with
  time < T (any status). Customer ids keep their type (:func:`customer_key`): text
  stays text, integers stay integers, a whole float or Decimal is that integer; output
  is sorted by customer_id in its natural order (code points for text, numeric for
  integers), and every tie "by customer_id" is broken in that same order.
- Order dimensions count orders whose status is exactly ``'paid'`` unless named
  after another status (``refunded_orders_30d``). Money is exact: each amount to
  integer cents, summed, divided by 100.
- SQL three-valued logic: a NULL condition is not a match; a flag that is NULL is
  false.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from segrule.model.geo import CITY_REGION, CITY_TIER

DAY = dt.timedelta(days=1)
INTENT_EVENT_TYPES = ("view", "cart", "favorite", "inquiry")
WINDOW = r"\d+[dw]|lifetime"

# The named RFM segments: (key, R scores, F scores), first match wins; customers
# without an R or F score are 'no_purchase' (as is anything no row covers).
RFM_SEGMENT_TABLE: list[tuple[str, set[int], set[int]]] = [
    ("champions", {5}, {4, 5}),
    ("loyal", {3, 4}, {4, 5}),
    ("potential_loyalists", {4, 5}, {2, 3}),
    ("new_customers", {5}, {1}),
    ("promising", {4}, {1}),
    ("need_attention", {3}, {3}),
    ("about_to_sleep", {3}, {1, 2}),
    ("cant_lose", {1, 2}, {5}),
    ("at_risk", {1, 2}, {3, 4}),
    ("hibernating", {1, 2}, {1, 2}),
]


# -- inputs ---------------------------------------------------------------------------
CustomerId = str | int
"""A customer id as a run keeps it: text (String, Categorical, Enum columns) or an integer
(any integer column; whole floats and Decimals become integers). Python orders ints
numerically and str by code point: the natural order of each type."""


def customer_key(value: Any) -> CustomerId | None:
    """A customer id normalised by the id type rule (issue 16 point 1): text stays text
    (None when empty or only whitespace: the null_customer_id check), an integer stays
    that integer, a float or Decimal that is a whole number becomes the integer (NaN and
    infinities: None), a float or Decimal with a fraction, or any other type (a boolean,
    a date), raises ValueError as the engine raises DataError."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        raise ValueError(f"customer id {value!r}: a boolean is not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, Decimal) and not value.is_finite():
            return None
        if value != int(value):
            raise ValueError(f"customer id {value!r} is not a whole number")
        return int(value)
    raise ValueError(f"customer id {value!r}: {type(value).__name__} is not an id type")


def _one_id_kind(ids: Iterable[CustomerId]) -> None:
    """Text ids beside integer ids are refused by the engine (and cannot be sorted)."""
    kinds = {type(c) for c in ids}
    if len(kinds) > 1:
        raise ValueError("text customer ids beside integer ones: the engine refuses this")


def rows_of(table: Any) -> list[dict[str, Any]]:
    """A polars DataFrame/LazyFrame, a pyarrow Table or a list of dicts as a list of dicts."""
    if table is None:
        return []
    if isinstance(table, list):
        return [dict(r) for r in table]
    collect = getattr(table, "collect", None)
    if callable(collect) and not hasattr(table, "to_dicts"):  # a polars LazyFrame
        table = collect()
    if hasattr(table, "to_dicts"):  # polars DataFrame
        return list(table.to_dicts())
    if hasattr(table, "to_pylist"):  # pyarrow Table
        return list(table.to_pylist())
    raise TypeError(f"cannot read {type(table).__name__} as rows")


def local_time(value: Any, zone: ZoneInfo) -> dt.datetime | None:
    """A timestamp as a naive wall-clock time in ``zone`` (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(zone).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise TypeError(f"not a timestamp: {value!r}")


def window_start(T: dt.datetime, window: str) -> dt.datetime | None:
    if window == "lifetime":
        return None
    n, unit = int(window[:-1]), window[-1]
    return T - dt.timedelta(days=n * (7 if unit == "w" else 1))


def in_window(ts: dt.datetime, T: dt.datetime, window: str) -> bool:
    start = window_start(T, window)
    return start is None or ts >= start


def good_amount(order: dict[str, Any]) -> bool:
    """The default bad_amount check: null, NaN, negative, infinite or beyond int64
    cents amounts are dropped (with the 'amount' column present)."""
    if "amount" not in order:
        return True
    a = order["amount"]
    if a is None:
        return False
    a = float(a)
    return math.isfinite(a) and 0 <= a < 92_233_720_368_547_758.0


def first_of_each_order(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The default duplicate_order_id check: of the rows with one order_id, the first by
    time is kept; rows at the same time are ordered by their other columns by name
    (amount, customer_id, status, ...), nulls last. Rows without an order_id stay."""

    def key(o: dict[str, Any]) -> tuple[Any, ...]:
        parts: list[Any] = [o["_ts"]]
        for column in sorted(
            c for c in o if not c.startswith("_") and c not in ("order_id", "order_ts")
        ):
            value = o[column]
            if column == "amount" and value is not None:
                value = float(value)
            parts.append((value is None, value if value is not None else 0))
        return tuple(parts)

    first: dict[Any, dict[str, Any]] = {}
    out = []
    for o in orders:
        oid = o.get("order_id")
        if oid is None:
            out.append(o)
        elif oid not in first or key(o) < key(first[oid]):
            first[oid] = o
    return out + list(first.values())


def to_cents(amount: Any) -> int | None:
    """An amount in currency units as integer cents (exact for 2-decimal amounts)."""
    if amount is None:
        return None
    if isinstance(amount, float):
        if math.isnan(amount):
            return None
        d = Decimal(repr(amount))  # the shortest decimal that reads back as this float
    else:
        d = Decimal(amount)
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


# -- a tiny SQL condition language ----------------------------------------------------
class SQLError(ValueError):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><>|!=|<=|>=|=|<|>|\(|\)|,|-|\+))"
)
_KEYWORDS = {"AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE", "INTERVAL", "IN"}


def _tokenize(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SQLError(f"cannot read {text[pos:]!r} in {text!r}")
        pos = m.end()
        if m.group("num") is not None:
            s = m.group("num")
            out.append(("lit", Decimal(s) if "." in s else int(s)))
        elif m.group("str") is not None:
            out.append(("lit", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("name") is not None:
            word = m.group("name")
            out.append(("kw", word.upper()) if word.upper() in _KEYWORDS else ("name", word))
        else:
            out.append(("op", m.group("op")))
    out.append(("end", None))
    return out


class _Parser:
    """Recursive descent over: OR, AND, NOT, comparisons, IS [NOT] NULL, [NOT] IN (...),
    + / - (numbers; timestamp - INTERVAL 'N days'), literals, names, parentheses."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, Any]:
        return self.toks[self.i]

    def take(self) -> tuple[str, Any]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, value: Any = None) -> bool:
        k, v = self.peek()
        if k == kind and (value is None or v == value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: Any = None) -> None:
        if not self.accept(kind, value):
            raise SQLError(f"expected {value or kind} at token {self.peek()} in {self.text!r}")

    def parse(self) -> tuple[Any, ...]:
        node = self.or_()
        self.expect("end")
        return node

    def or_(self) -> tuple[Any, ...]:
        node = self.and_()
        while self.accept("kw", "OR"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> tuple[Any, ...]:
        node = self.not_()
        while self.accept("kw", "AND"):
            node = ("and", node, self.not_())
        return node

    def not_(self) -> tuple[Any, ...]:
        if self.accept("kw", "NOT"):
            return ("not", self.not_())
        return self.predicate()

    def predicate(self) -> tuple[Any, ...]:
        left = self.additive()
        k, v = self.peek()
        if k == "op" and v in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.take()
            return ("cmp", "<>" if v == "!=" else v, left, self.additive())
        if self.accept("kw", "IS"):
            negate = self.accept("kw", "NOT")
            self.expect("kw", "NULL")
            return ("notnull" if negate else "isnull", left)
        negate = False
        if k == "kw" and v == "NOT" and self.toks[self.i + 1] == ("kw", "IN"):
            self.take()
            negate = True
        if self.accept("kw", "IN"):
            self.expect("op", "(")
            items = [self.additive()]
            while self.accept("op", ","):
                items.append(self.additive())
            self.expect("op", ")")
            node: tuple[Any, ...] = ("in", left, tuple(items))
            return ("not", node) if negate else node
        return left

    def additive(self) -> tuple[Any, ...]:
        node = self.primary()
        while True:
            k, v = self.peek()
            if k == "op" and v in ("+", "-"):
                self.take()
                if self.accept("kw", "INTERVAL"):
                    kind, text = self.take()
                    if kind != "lit" or not isinstance(text, str):
                        raise SQLError(f"INTERVAL needs a quoted text in {self.text!r}")
                    node = ("arith", v, node, ("lit", _interval(text)))
                else:
                    node = ("arith", v, node, self.primary())
            else:
                return node

    def primary(self) -> tuple[Any, ...]:
        k, v = self.take()
        if k == "lit":
            return ("lit", v)
        if k == "kw" and v in ("TRUE", "FALSE"):
            return ("lit", v == "TRUE")
        if k == "kw" and v == "NULL":
            return ("lit", None)
        if k == "name":
            return ("name", v)
        if k == "op" and v == "(":
            node = self.or_()
            self.expect("op", ")")
            return node
        if k == "op" and v == "-":
            kind, val = self.take()
            if kind == "lit" and not isinstance(val, str):
                return ("lit", -val)
        raise SQLError(f"unexpected {v!r} in {self.text!r}")


def _interval(text: str) -> dt.timedelta:
    m = re.fullmatch(r"\s*(\d+)\s*(day|days|week|weeks|hour|hours)\s*", text, re.I)
    if not m:
        raise SQLError(f"INTERVAL '{text}' is not in the reference subset")
    n, unit = int(m.group(1)), m.group(2).lower()
    if unit.startswith("week"):
        return dt.timedelta(weeks=n)
    if unit.startswith("hour"):
        return dt.timedelta(hours=n)
    return dt.timedelta(days=n)


def parse_condition(text: str) -> tuple[Any, ...]:
    """Parse a condition of the reference SQL subset into a small tuple tree."""
    return _Parser(str(text)).parse()


def referenced(node: tuple[Any, ...]) -> list[str]:
    """Names a parsed expression refers to."""
    if node[0] == "name":
        return [node[1]]
    out: list[str] = []
    for part in node[1:]:
        if isinstance(part, tuple):
            if part and isinstance(part[0], str):
                out.extend(referenced(part))
            else:
                for p in part:
                    out.extend(referenced(p))
    return out


def _num(x: Any) -> Any:
    """Numbers as exact Fractions; a float is read as the decimal it was written as
    (a YAML or SQL literal such as 0.1 means one tenth)."""
    if isinstance(x, bool) or not isinstance(x, (int, Decimal, Fraction, float)):
        return x
    if isinstance(x, float):
        return Fraction(Decimal(repr(x)))
    return Fraction(x)


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    a, b = _num(a), _num(b)
    kinds = {type(a), type(b)}
    if len(kinds) > 1 and not kinds <= {dt.datetime}:
        raise SQLError(f"cannot compare {a!r} with {b!r}")
    return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def evaluate(node: tuple[Any, ...], get: Callable[[str], Any]) -> Any:
    """Evaluate a parsed expression with SQL NULL semantics; ``get(name)`` reads a value."""
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "name":
        return get(node[1])
    if kind == "and":
        a, b = evaluate(node[1], get), evaluate(node[2], get)
        _need_bool(a, b)
        if a is False or b is False:
            return False
        return None if a is None or b is None else True
    if kind == "or":
        a, b = evaluate(node[1], get), evaluate(node[2], get)
        _need_bool(a, b)
        if a is True or b is True:
            return True
        return None if a is None or b is None else False
    if kind == "not":
        a = evaluate(node[1], get)
        _need_bool(a)
        return None if a is None else not a
    if kind == "cmp":
        return _compare(node[1], evaluate(node[2], get), evaluate(node[3], get))
    if kind == "isnull":
        return evaluate(node[1], get) is None
    if kind == "notnull":
        return evaluate(node[1], get) is not None
    if kind == "in":
        value = evaluate(node[1], get)
        if value is None:
            return None
        results = [_compare("=", value, evaluate(item, get)) for item in node[2]]
        if True in results:
            return True
        return None if None in results else False
    if kind == "arith":
        a, b = evaluate(node[2], get), evaluate(node[3], get)
        if a is None or b is None:
            return None
        if isinstance(b, dt.timedelta) and isinstance(a, dt.datetime):
            return a - b if node[1] == "-" else a + b
        a, b = _num(a), _num(b)
        return a - b if node[1] == "-" else a + b
    raise SQLError(f"unknown node {kind}")


def _need_bool(*values: Any) -> None:
    for v in values:
        if v is not None and not isinstance(v, bool):
            raise SQLError(f"{v!r} is not true/false")


def holds(condition: str | tuple[Any, ...], get: Callable[[str], Any]) -> bool:
    """True only when the condition is TRUE (NULL and FALSE are no match)."""
    node = parse_condition(condition) if isinstance(condition, str) else condition
    value = evaluate(node, get)
    _need_bool(value)
    return value is True


# -- ranking helpers ---------------------------------------------------------------------
def ntile_sizes(n: int, k: int) -> list[int]:
    """Bucket sizes of SQL NTILE(k) over n rows: the first n % k buckets get one more."""
    q, r = divmod(n, k)
    return [q + 1 if i < r else q for i in range(k)]


def ntile(ordered: list[CustomerId], k: int) -> dict[CustomerId, int]:
    """SQL NTILE(k) over ids already in order: id -> bucket 1..k."""
    out: dict[CustomerId, int] = {}
    it = iter(ordered)
    for bucket, size in enumerate(ntile_sizes(len(ordered), k), start=1):
        for _ in range(size):
            out[next(it)] = bucket
    return out


def _desc_then_id(values: Mapping[CustomerId, Any]) -> list[CustomerId]:
    """Ids ordered by value descending, then customer_id ascending (natural order)."""
    ids = sorted(values)  # customer_id ascending ...
    return sorted(ids, key=lambda c: _num(values[c]), reverse=True)  # ... stable: value desc


def _asc_then_id(values: Mapping[CustomerId, Any]) -> list[CustomerId]:
    return sorted(values, key=lambda c: (_num(values[c]), c))


# -- the reference evaluator -------------------------------------------------------------
class Reference:
    """Row-by-row evaluation of builtin dimensions and of a rule set (YAML data)."""

    def __init__(
        self,
        tables: Mapping[str, Any],
        as_of: Any,
        tz: str | None = None,
        ruleset: Mapping[str, Any] | str | Path | None = None,
    ):
        if isinstance(ruleset, (str, Path)):
            ruleset = yaml.safe_load(Path(ruleset).read_text(encoding="utf-8"))
        self.rules: dict[str, Any] = dict(ruleset or {})
        self.tz = tz or self.rules.get("timezone") or "UTC"
        self.zone = ZoneInfo(self.tz)
        self.T = local_time(as_of, self.zone)
        assert self.T is not None
        T = self.T

        def timed(rows: list[dict[str, Any]], ts: str) -> list[dict[str, Any]]:
            out = []
            for r in rows:
                cid = customer_key(r.get("customer_id"))
                t = local_time(r.get(ts), self.zone)
                # data-quality defaults: null or blank ids and bad or late times are left out
                if cid is None or t is None or not t < T:
                    continue
                out.append({**r, "customer_id": cid, "_ts": t})
            return out

        self.orders = [
            o for o in timed(rows_of(tables.get("orders")), "order_ts") if good_amount(o)
        ]
        if tables.get("customers") is not None:
            known = {
                cid
                for r in rows_of(tables["customers"])
                if (cid := customer_key(r.get("customer_id"))) is not None
            }
            self.orders = [o for o in self.orders if o["customer_id"] in known]
        self.orders = first_of_each_order(self.orders)
        for o in self.orders:
            o["_cents"] = to_cents(o.get("amount"))
        self.events = timed(rows_of(tables.get("events")), "event_ts")
        self.feedback = timed(rows_of(tables.get("feedback")), "ts")
        self.by_customer: dict[CustomerId, dict[str, list[dict[str, Any]]]] = {}
        for name, rows in (
            ("orders", self.orders),
            ("events", self.events),
            ("feedback", self.feedback),
        ):
            for r in rows:
                self.by_customer.setdefault(r["customer_id"], {}).setdefault(name, []).append(r)

        self.attributes: dict[CustomerId, dict[str, Any]] = {}
        if tables.get("customers") is not None:
            for r in rows_of(tables["customers"]):
                cid = customer_key(r.get("customer_id"))
                if cid is not None:
                    self.attributes.setdefault(cid, r)
            ids: Iterable[CustomerId] = self.attributes
        else:
            ids = {o["customer_id"] for o in self.orders}
        _one_id_kind([*ids, *self.by_customer])
        # The natural order of the id type: numeric for integers, code points for text.
        self.universe: list[CustomerId] = sorted(ids)
        self._memo: dict[tuple[CustomerId, str], Any] = {}
        self._population: dict[str, dict[str, Any]] = {}
        self._parsed: dict[str, tuple[Any, ...]] = {}

    # -- rows of one customer ----------------------------------------------------------
    def _rows(self, cid: CustomerId, table: str) -> list[dict[str, Any]]:
        return self.by_customer.get(cid, {}).get(table, [])

    def _paid(self, cid: CustomerId, window: str = "lifetime") -> list[dict[str, Any]]:
        return [
            o
            for o in self._rows(cid, "orders")
            if o.get("status") == "paid" and in_window(o["_ts"], self.T, window)
        ]

    def _cond(self, text: str) -> tuple[Any, ...]:
        if text not in self._parsed:
            self._parsed[text] = parse_condition(text)
        return self._parsed[text]

    # -- values --------------------------------------------------------------------------
    def value(self, cid: CustomerId, name: str) -> Any:
        """The value of a dimension, segment or score for one customer (internal form:
        money as Decimal, means as Fraction, timestamps as naive wall-clock times)."""
        key = (cid, name)
        if key not in self._memo:
            self._memo[key] = self._compute(cid, name)
        return self._memo[key]

    def getter(self, cid: CustomerId) -> Callable[[str], Any]:
        return lambda name: self.value(cid, name)

    def _compute(self, cid: CustomerId, name: str) -> Any:
        if name == "customer_id":
            return cid
        segments = self.rules.get("segments") or {}
        if name in segments:
            return self._segment(cid, segments[name])
        for score_name, spec in (self.rules.get("scores") or {}).items():
            produced = self._score_columns(score_name, spec)
            if name in produced:
                if spec["strategy"] == "points":
                    return self._points(cid, score_name, spec.get("params") or {}, name)
                return self._population_score(score_name, spec)[name][cid]
        return self._builtin(cid, name)

    def _builtin(self, cid: CustomerId, name: str) -> Any:  # one branch per dimension family
        T = self.T
        if name == "as_of":
            return T
        if m := re.fullmatch(f"orders_({WINDOW})", name):
            return len(self._paid(cid, m.group(1)))
        if m := re.fullmatch(f"(pending|refunded|cancelled)_orders_({WINDOW})", name):
            return sum(
                1
                for o in self._rows(cid, "orders")
                if o.get("status") == m.group(1) and in_window(o["_ts"], T, m.group(2))
            )
        if m := re.fullmatch(f"monetary_({WINDOW})", name):
            return Decimal(sum(o["_cents"] or 0 for o in self._paid(cid, m.group(1)))) / 100
        if name == "first_order_ts":
            return min((o["_ts"] for o in self._paid(cid)), default=None)
        if name == "last_order_ts":
            return max((o["_ts"] for o in self._paid(cid)), default=None)
        if name in ("recency_days", "tenure_days"):
            ts = self.value(cid, "last_order_ts" if name == "recency_days" else "first_order_ts")
            return None if ts is None else (T - ts) // DAY
        if m := re.fullmatch(f"avg_order_value(?:_({WINDOW}))?", name):
            paid = self._paid(cid, m.group(1) or "lifetime")
            if not paid:
                return None
            cents = Fraction(sum(o["_cents"] or 0 for o in paid), len(paid))
            # rounded to whole cents, ties to even
            return Decimal(round(cents)) / 100
        if m := re.fullmatch(f"intent_events_({WINDOW})", name):
            return sum(
                1
                for e in self._rows(cid, "events")
                if e.get("event_type") in INTENT_EVENT_TYPES and in_window(e["_ts"], T, m.group(1))
            )
        if m := re.fullmatch(f"events_(?:(.+)_)?({WINDOW})", name):
            etype, window = m.group(1), m.group(2)
            return sum(
                1
                for e in self._rows(cid, "events")
                if (etype is None or e.get("event_type") == etype)
                and in_window(e["_ts"], T, window)
            )
        if m := re.fullmatch(f"feedback_mean(?:_({WINDOW}))?", name):
            scores = [
                f["score"]
                for f in self._rows(cid, "feedback")
                if f.get("score") is not None and in_window(f["_ts"], T, m.group(1) or "lifetime")
            ]
            if not scores:
                return None
            return sum((Fraction(s) for s in scores), Fraction(0)) / len(scores)
        if name in ("birth_year", "gender", "city", "is_member", "signup_ts"):
            v = self.attributes.get(cid, {}).get(name)
            return local_time(v, self.zone) if name == "signup_ts" else v
        if name == "age":
            by = self.value(cid, "birth_year")
            return None if by is None else T.year - by
        if name == "generation":
            by = self.value(cid, "birth_year")
            return None if by is None else f"born_{by // 10 * 10}s"
        if name == "city_tier":
            return CITY_TIER.get(self.value(cid, "city"))
        if name == "region":
            return CITY_REGION.get(self.value(cid, "city"))
        raise KeyError(f"the reference does not know '{name}'")

    # -- segments -----------------------------------------------------------------------
    def _segment(self, cid: CustomerId, spec: Mapping[str, Any]) -> Any:
        get = self.getter(cid)
        if spec.get("flag") is not None:
            return holds(self._cond(spec["flag"]), get)
        for case in spec["cases"]:
            if holds(self._cond(case["when"]), get):
                return case["label"]
        return spec["default"]

    # -- scores -------------------------------------------------------------------------
    @staticmethod
    def _score_columns(name: str, spec: Mapping[str, Any]) -> list[str]:
        p = spec.get("params") or {}
        strategy = spec["strategy"]
        if strategy == "points":
            return [name, p.get("tier", f"{name}_tier")] if "tiers" in p else [name]
        if strategy == "rfm":
            outs = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}
            outs.update(p.get("scores") or {})
            return [name, *outs.values()]
        if strategy in ("pareto", "quantile"):
            return [name]
        raise KeyError(f"the reference does not know strategy '{strategy}'")

    def _points(self, cid: CustomerId, name: str, params: Mapping[str, Any], column: str) -> Any:
        total: Any = 0
        for part in params["parts"]:
            total += self._points_part(cid, part)
        if column == name:
            return total
        # the tier ladder: first tier (highest min first) whose min the total reaches
        for tier in params["tiers"]:
            if _num(total) >= _num(tier["min"]):
                return tier["label"]
        return params.get("default_tier")

    def _points_part(self, cid: CustomerId, part: Mapping[str, Any]) -> Any:
        get = self.getter(cid)
        default = part.get("default", 0)
        weight = part.get("weight", 1)
        if "cases" in part:
            pts = next(
                (c.get("points", 0) for c in part["cases"] if holds(self._cond(c["when"]), get)),
                default,
            )
            return pts * weight
        if "dimension" in part:
            value = get(str(part["dimension"]))
        else:
            value = evaluate(self._cond(part["expr"]), get)
        if value is None:
            return default * weight
        if "points" in part:
            key = _label_text(value)
            mapping = {_label_text(k): v for k, v in part["points"].items()}
            return mapping.get(key, default) * weight
        for b in part["bins"]:  # highest min first; first bin the value reaches
            if _num(value) >= _num(b["min"]):
                return b.get("label", b.get("points")) * weight
        return default * weight

    def _population_score(self, name: str, spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        if name not in self._population:
            params = spec.get("params") or {}
            builder = {"rfm": self._rfm, "pareto": self._pareto, "quantile": self._quantile}[
                spec["strategy"]
            ]
            self._population[name] = builder(name, params)
        return self._population[name]

    def _eligible(self, condition: str | None, dim: str) -> dict[CustomerId, Any]:
        """customer -> value of ``dim`` for the customers meeting ``condition`` whose
        value is not null."""
        out = {}
        for cid in self.universe:
            if condition is not None and not holds(self._cond(condition), self.getter(cid)):
                continue
            v = self.value(cid, dim)
            if v is not None:
                out[cid] = v
        return out

    def _rfm(self, name: str, params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        if params.get("method", "ntile") != "ntile":
            raise NotImplementedError("the reference implements method: ntile only")
        k = int(params.get("buckets", 5))
        buyers = params.get("buyers", "orders_lifetime > 0")
        outs = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}
        outs.update(params.get("scores") or {})
        dims = {
            "recency": params.get("recency", "recency_days"),
            "frequency": params.get("frequency", "orders_lifetime"),
            "monetary": params.get("monetary", "monetary_lifetime"),
        }
        result: dict[str, dict[str, Any]] = {}
        for part in ("recency", "frequency", "monetary"):
            values = self._eligible(buyers, dims[part])
            # Recency: fewer days is better, so the order is days descending: the most
            # recent buyers land in the last (highest) bucket.
            ordered = _desc_then_id(values) if part == "recency" else _asc_then_id(values)
            buckets = ntile(ordered, k)
            result[outs[part]] = {cid: buckets.get(cid) for cid in self.universe}
        r, f, m = (result[outs[p]] for p in ("recency", "frequency", "monetary"))
        if params.get("segments", True):
            seg = {}
            for cid in self.universe:
                label = "no_purchase"
                if r[cid] is not None and f[cid] is not None:
                    label = next(
                        (key for key, rs, fs in RFM_SEGMENT_TABLE if r[cid] in rs and f[cid] in fs),
                        "no_purchase",
                    )
                seg[cid] = label
            result[name] = seg
        else:
            result[name] = {
                cid: None if None in (r[cid], f[cid], m[cid]) else f"{r[cid]}{f[cid]}{m[cid]}"
                for cid in self.universe
            }
        return result

    def _pareto(self, name: str, params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        dim = params.get("dimension", "monetary_lifetime")
        share = Fraction(str(params.get("share", 0.8)))
        values = self._eligible(params.get("buyers", "orders_lifetime > 0"), dim)
        total = sum((_num(v) for v in values.values()), Fraction(0))
        running = Fraction(0)
        key = dict.fromkeys(self.universe, False)
        for cid in _desc_then_id(values):
            # in while the running total before this customer is short of the share:
            # so the customer crossing it is in, the ones after it are not
            key[cid] = running < share * total
            running += _num(values[cid])
        return {name: key}

    def _quantile(self, name: str, params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        values = self._eligible(params.get("eligible"), params["dimension"])
        ordered = _desc_then_id(values)
        n = len(ordered)
        limits = [(t["label"], math.ceil(Fraction(str(t["top"])) * n)) for t in params["tiers"]]
        default = params.get("default", "rest")
        out = dict.fromkeys(self.universe, default)
        for position, cid in enumerate(ordered, start=1):
            out[cid] = next((label for label, limit in limits if position <= limit), default)
        return {name: out}

    # -- output ---------------------------------------------------------------------------
    def outputs(self) -> list[str]:
        if self.rules.get("outputs") is not None:
            names = list(self.rules["outputs"])
        else:
            names = [
                "customer_id",
                *(self.rules.get("dimensions") or {}),
                *(self.rules.get("segments") or {}),
                *(self.rules.get("scores") or {}),
            ]
        return ["customer_id", *dict.fromkeys(n for n in names if n != "customer_id")]

    def output_value(self, v: Any) -> Any:
        """The value as the engine's output shows it: money/means as float, timestamps
        as aware datetimes in the business time zone."""
        if isinstance(v, (Decimal, Fraction)):
            return float(v)
        if isinstance(v, dt.datetime):
            return v.replace(tzinfo=self.zone) if v.tzinfo is None else v
        return v

    def rows(self, columns: list[str] | None = None) -> list[dict[str, Any]]:
        columns = columns or self.outputs()
        return [
            {c: self.output_value(self.value(cid, c)) for c in columns} for cid in self.universe
        ]


def _label_text(value: Any) -> str:
    """How a label-map key or a value reads as text (booleans as SQL true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- the three main presets, written out from their definitions ----------------------------
PRESET_COLUMNS = [
    "customer_id",
    "recency_days",
    "orders_30d",
    "orders_lifetime",
    "monetary_365d",
    "first_order_ts",
    "lifecycle",
    "freq_tier",
    "amount_tier",
    "interaction",
    "feedback_mean",
    "satisfaction",
    "score",
    "tier",
    "monetary_lifetime",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "pareto_key",
]

FREQ_POINTS = {"high": 3, "low": 2, "one_time": 1, "none": 0}
AMOUNT_POINTS = {"high": 3, "mid": 2, "low": 1}
INTERACTION_POINTS = {"active": 3, "occasional": 2, "none": 1}
SATISFACTION_POINTS = {
    "very_satisfied": 3,
    "satisfied": 2,
    "unknown": 2,
    "unsatisfied": 1,
    "very_unsatisfied": 0,
}


def preset_rows(tables: Mapping[str, Any], as_of: Any, tz: str = "UTC") -> list[dict[str, Any]]:
    """``taobao-5-tier`` + ``rfm`` + ``pareto-80-20`` computed from their definitions."""
    ref = Reference(tables, as_of, tz)
    T = ref.T
    paid_of = {cid: ref._paid(cid) for cid in ref.universe}

    # rfm over the buyers (>= 1 paid order)
    buyers = [cid for cid in ref.universe if paid_of[cid]]
    recency = {c: (T - max(o["_ts"] for o in paid_of[c])) // DAY for c in buyers}
    count = {c: len(paid_of[c]) for c in buyers}
    money = {c: sum(o["_cents"] or 0 for o in paid_of[c]) for c in buyers}  # cents
    r_score = ntile(sorted(buyers, key=lambda c: (-recency[c], c)), 5)
    f_score = ntile(sorted(buyers, key=lambda c: (count[c], c)), 5)
    m_score = ntile(sorted(buyers, key=lambda c: (money[c], c)), 5)

    # pareto 80/20 over lifetime money, exact in cents: 5 * before < 4 * total
    total = sum(money.values())
    pareto = dict.fromkeys(ref.universe, False)
    running = 0
    for c in sorted(buyers, key=lambda c: (-money[c], c)):
        pareto[c] = 5 * running < 4 * total
        running += money[c]

    rows = []
    for cid in ref.universe:
        paid = paid_of[cid]
        n_life = len(paid)
        n_30 = sum(1 for o in paid if o["_ts"] >= T - 30 * DAY)
        cents_365 = sum(o["_cents"] or 0 for o in paid if o["_ts"] >= T - 365 * DAY)
        cents_life = sum(o["_cents"] or 0 for o in paid)
        first = min((o["_ts"] for o in paid), default=None)
        last = max((o["_ts"] for o in paid), default=None)
        rec = None if last is None else (T - last) // DAY

        if n_life == 0:
            lifecycle = "prospect"
        elif first is not None and first >= T - 90 * DAY:
            lifecycle = "new"
        elif rec is not None and rec > 90:
            lifecycle = "churned"
        else:
            lifecycle = "mature"

        if n_life == 0:
            freq = "none"
        elif n_30 >= 3:
            freq = "high"
        elif n_life == 1:
            freq = "one_time"
        else:
            freq = "low"

        if cents_365 > 10000_00:
            amount = "high"
        elif cents_365 < 500_00:
            amount = "low"
        else:
            amount = "mid"

        campaign = [e["_ts"] for e in ref._rows(cid, "events") if e.get("event_type") == "campaign"]
        if any(t >= T - 30 * DAY for t in campaign):
            interaction = "active"
        elif any(t >= T - 90 * DAY for t in campaign):
            interaction = "occasional"
        else:
            interaction = "none"

        scores = [f["score"] for f in ref._rows(cid, "feedback") if f.get("score") is not None]
        mean = sum(map(Fraction, scores), Fraction(0)) / len(scores) if scores else None
        if mean is None:
            satisfaction = "unknown"
        elif mean >= 90:
            satisfaction = "very_satisfied"
        elif mean >= 75:
            satisfaction = "satisfied"
        elif mean >= 60:
            satisfaction = "unsatisfied"
        else:
            satisfaction = "very_unsatisfied"

        score = (
            FREQ_POINTS[freq]
            + AMOUNT_POINTS[amount]
            + INTERACTION_POINTS[interaction]
            + SATISFACTION_POINTS[satisfaction]
        )
        if lifecycle == "new":
            tier = "new"
        elif lifecycle == "prospect":
            tier = "prospect"
        elif score >= 11:
            tier = "super_vip"
        elif score >= 9:
            tier = "vip"
        elif score >= 7:
            tier = "advanced"
        else:
            tier = "normal"

        r, f = r_score.get(cid), f_score.get(cid)
        if r is None or f is None:
            rfm_segment = "no_purchase"
        else:
            rfm_segment = next(
                (k for k, rs, fs in RFM_SEGMENT_TABLE if r in rs and f in fs), "no_purchase"
            )
        rows.append(
            {
                "customer_id": cid,
                "recency_days": rec,
                "orders_30d": n_30,
                "orders_lifetime": n_life,
                "monetary_365d": cents_365 / 100,
                "first_order_ts": None if first is None else first.replace(tzinfo=ref.zone),
                "lifecycle": lifecycle,
                "freq_tier": freq,
                "amount_tier": amount,
                "interaction": interaction,
                "feedback_mean": None if mean is None else float(mean),
                "satisfaction": satisfaction,
                "score": score,
                "tier": tier,
                "monetary_lifetime": cents_life / 100,
                "r_score": r,
                "f_score": f,
                "m_score": m_score.get(cid),
                "rfm_segment": rfm_segment,
                "pareto_key": pareto[cid],
            }
        )
    return rows


# -- comparing with the engine ----------------------------------------------------------------
def same_value(a: Any, b: Any, rel: float = 1e-9) -> bool:
    """Equal ints/strings/bools/datetimes; floats equal to ``rel`` relative."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        if (a.tzinfo is None) != (b.tzinfo is None):
            return False
        return a == b and (a.tzinfo is None or a.utcoffset() == b.utcoffset())
    return type(a) is type(b) and a == b


def differences(
    engine_rows: list[dict[str, Any]],
    reference_rows: list[dict[str, Any]],
    columns: list[str],
    limit: int = 10,
) -> list[str]:
    """Human-readable differences between engine rows and reference rows."""
    out: list[str] = []
    e_ids = [r["customer_id"] for r in engine_rows]
    r_ids = [r["customer_id"] for r in reference_rows]
    if e_ids != r_ids:
        missing = [c for c in r_ids if c not in set(e_ids)]
        extra = [c for c in e_ids if c not in set(r_ids)]
        out.append(
            f"customer ids differ: engine {len(e_ids)} rows, reference {len(r_ids)}; "
            f"missing {missing[:5]!r}, extra {extra[:5]!r}, "
            f"engine order {e_ids[:8]!r} vs {r_ids[:8]!r}"
        )
        return out
    for e, r in zip(engine_rows, reference_rows, strict=True):
        for c in columns:
            if not same_value(e.get(c), r.get(c)):
                out.append(
                    f"{r['customer_id']!r}.{c}: engine {e.get(c)!r} != reference {r.get(c)!r}"
                )
                if len(out) >= limit:
                    return out
    return out
