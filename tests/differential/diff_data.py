"""Hypothesis strategies for the differential tests: small random tables and rule sets.

Tables are built around the as-of instant T so that the boundaries are hit often:
orders exactly at T - 30 days, at T - 1 microsecond and at T (excluded), tied
amounts, 3333.33 + 3333.33 + 3333.34 = 10000.00, unicode customer ids, customers
without orders, orders of customers missing from the customers table, nulls in
optional columns, naive and tz-aware timestamps (in another zone than the business
one) and several time units.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
import yaml
from hypothesis import strategies as st

US = dt.timedelta(microseconds=1)
D = dt.timedelta(days=1)

TIMEZONES = ["UTC", "Asia/Shanghai"]
COLUMN_ZONES = ["UTC", "Asia/Shanghai", "Asia/Kolkata", "America/New_York"]
# as-of instants as wall time in the business zone (a date = midnight)
AS_OF_LOCAL = [
    dt.datetime(2026, 11, 1),
    dt.datetime(2024, 3, 1),
    dt.datetime(2025, 1, 1),
    dt.datetime(2026, 6, 15, 8, 30),
]
ID_POOL = [
    "客户-1",
    "客户-2",
    "客户-10",
    "é",
    "e",
    "E",
    "Z",
    "a",
    "a ",
    "b-1",
    "c10",
    "c2",
    "VIP_9",
    "ü",
    "Ω",
    "😀x",
    "",
    "0",
    "00",
]
SPECIAL_OFFSETS = [
    dt.timedelta(0),
    -US,
    -30 * D,
    -30 * D - US,
    -30 * D + US,
    -90 * D,
    -90 * D - US,
    -90 * D + US,
    -365 * D,
    -365 * D + US,
    -365 * D - US,
    -D,
    -7 * D,
    -7 * D - US,
    -D - US,
    -D + US,
    US,
    D,
    -2 * D + dt.timedelta(hours=13),
]
AMOUNTS = [
    0.0,
    0.01,
    9.99,
    100.0,
    250.0,
    499.99,
    500.0,
    500.01,
    3333.33,
    3333.34,
    5000.0,
    6666.67,
    9999.99,
    10000.0,
    10000.01,
    0.1,
    0.2,
    0.3,
    # cents whose float c / 100 in polars is not the nearest double (c * 0.01):
    0.35,
    0.7,
    1.15,
    0.57,
    0.58,
    18332.85,
]
STATUSES = ["paid"] * 6 + ["pending", "refunded", "cancelled", None, "PAID"]
EVENT_TYPES = [
    "campaign",
    "campaign",
    "view",
    "cart",
    "favorite",
    "inquiry",
    "after_sales",
    "complaint",
    None,
]
CITIES = ["北京", "上海", "成都", "佛山", "海口", "拉萨", "乌鲁木齐", "火星", None]
BIRTH_YEARS = [1969, 1970, 1979, 1980, 1989, 1990, 1999, 2000, 2009, 2010]
FEEDBACK_SCORES = [0, 59, 60, 74, 75, 89, 90, 100]


@dataclass
class Scenario:
    """Input tables plus the as-of value and business time zone of one example."""

    tz: str
    as_of: Any  # what is passed to segrule (date, text, naive or aware datetime)
    T: dt.datetime  # the as-of instant as wall time in tz (what the scenario was built on)
    tables: dict[str, pl.DataFrame]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def has_customers(self) -> bool:
        return "customers" in self.tables

    def __repr__(self) -> str:  # printed by hypothesis for a failing example
        parts = [f"Scenario(tz={self.tz!r}, as_of={self.as_of!r}, notes={self.notes!r}"]
        for name, frame in self.tables.items():
            parts.append(f"  {name} {frame.schema}: {frame.to_dicts()!r}")
        return "\n".join(parts) + ")"


# -- building blocks ------------------------------------------------------------------------
customer_ids = st.one_of(
    st.sampled_from(ID_POOL), st.text(alphabet="abcXYZ09-_é客户 ", min_size=1, max_size=4)
)
offsets = st.one_of(
    st.sampled_from(SPECIAL_OFFSETS),
    st.builds(
        lambda d, s, u: -(d * D + dt.timedelta(seconds=s, microseconds=u)),
        st.integers(0, 800),
        st.integers(0, 86399),
        st.sampled_from([0, 0, 1, 999_999]),
    ),
)
amounts = st.one_of(st.sampled_from(AMOUNTS), st.integers(0, 2_000_000).map(lambda c: c / 100))


@st.composite
def timestamp_layout(draw: st.DrawFn) -> dict[str, Any]:
    """How one table stores its timestamps."""
    aware = draw(st.booleans())
    return {
        "aware": aware,
        "zone": draw(st.sampled_from(COLUMN_ZONES)) if aware else None,
        "unit": draw(st.sampled_from(["us", "us", "us", "ms", "ns"])),
    }


def ts_series(
    name: str, local: list[dt.datetime | None], tz: str, layout: dict[str, Any]
) -> pl.Series:
    """Wall times in ``tz`` stored naive, or as aware instants in another zone."""
    s = pl.Series(name, local, dtype=pl.Datetime("us"))
    if layout["aware"]:
        s = s.dt.replace_time_zone(tz).dt.convert_time_zone(layout["zone"])
        return s.cast(pl.Datetime(layout["unit"], layout["zone"]))
    return s.cast(pl.Datetime(layout["unit"]))


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_customers: int = 40,
    max_orders: int = 200,
    customers: bool | None = None,
) -> Scenario:
    tz = draw(st.sampled_from(TIMEZONES))
    T = draw(st.sampled_from(AS_OF_LOCAL))
    as_of = _as_of_value(draw, T, tz)
    # Sizes are drawn first (lists alone stay mostly tiny), then filled.
    n_customers = draw(st.integers(0, max_customers))
    ids = draw(st.lists(customer_ids, unique=True, max_size=n_customers))
    ids += [f"c{i}" for i in range(n_customers - len(ids)) if f"c{i}" not in ids]
    extra = draw(st.lists(customer_ids, unique=True, max_size=5))
    has_customers = draw(st.booleans()) if customers is None else customers
    pool = list(dict.fromkeys(ids + extra)) or ["x"]
    cid = (
        st.one_of(st.sampled_from(pool), st.none())
        if draw(st.booleans())
        else st.sampled_from(pool)
    )

    def at(offset: dt.timedelta | None) -> dt.datetime | None:
        return None if offset is None else T + offset

    maybe_null_offset = (
        st.one_of(offsets, st.just(None)) if draw(st.integers(0, 4)) == 0 else offsets
    )

    tables: dict[str, pl.DataFrame] = {}
    notes: dict[str, Any] = {}

    # orders
    n = draw(st.integers(0, max_orders))
    rows = draw(
        st.lists(
            st.tuples(cid, maybe_null_offset, amounts, st.sampled_from(STATUSES)),
            min_size=n,
            max_size=n,
        )
    )
    layout = draw(timestamp_layout())
    money_type = draw(st.sampled_from(["float", "float", "decimal"]))
    notes["orders"] = {**layout, "amount": money_type}
    amount = pl.Series("amount", [r[2] for r in rows], dtype=pl.Float64)
    if money_type == "decimal":
        amount = pl.Series(
            "amount", [Decimal(f"{r[2]:.2f}") for r in rows], dtype=pl.Decimal(14, 2)
        )
    # Now and then an order id used again (an order exported twice, or a status history):
    # the engine keeps the first row by time.
    reuse = draw(st.integers(0, 3)) == 0
    order_ids = [
        f"o{draw(st.integers(0, i)) if reuse and i and draw(st.booleans()) else i}"
        for i in range(len(rows))
    ]
    tables["orders"] = pl.DataFrame(
        [
            pl.Series("order_id", order_ids, dtype=pl.String),
            pl.Series("customer_id", [r[0] for r in rows], dtype=pl.String),
            ts_series("order_ts", [at(r[1]) for r in rows], tz, layout),
            amount,
            pl.Series("status", [r[3] for r in rows], dtype=pl.String),
        ]
    )

    # events
    n = draw(st.integers(0, max_orders // 3))
    rows = draw(
        st.lists(
            st.tuples(cid, maybe_null_offset, st.sampled_from(EVENT_TYPES)), min_size=n, max_size=n
        )
    )
    layout = draw(timestamp_layout())
    notes["events"] = layout
    tables["events"] = pl.DataFrame(
        [
            pl.Series("customer_id", [r[0] for r in rows], dtype=pl.String),
            ts_series("event_ts", [at(r[1]) for r in rows], tz, layout),
            pl.Series("event_type", [r[2] for r in rows], dtype=pl.String),
        ]
    )

    # feedback: whole scores, or halves (exact in binary, so any summation order agrees)
    halves = draw(st.booleans())
    score = (
        st.integers(0, 200).map(lambda x: x / 2)
        if halves
        else st.one_of(st.sampled_from(FEEDBACK_SCORES), st.integers(0, 100))
    )
    n = draw(st.integers(0, max_orders // 5))
    rows = draw(
        st.lists(
            st.tuples(cid, maybe_null_offset, st.one_of(score, st.none())), min_size=n, max_size=n
        )
    )
    layout = draw(timestamp_layout())
    notes["feedback"] = {**layout, "halves": halves}
    tables["feedback"] = pl.DataFrame(
        [
            pl.Series("customer_id", [r[0] for r in rows], dtype=pl.String),
            ts_series("ts", [at(r[1]) for r in rows], tz, layout),
            pl.Series("score", [r[2] for r in rows], dtype=pl.Float64 if halves else pl.Int64),
        ]
    )

    if has_customers:
        attrs = st.tuples(
            st.one_of(st.none(), st.sampled_from(BIRTH_YEARS), st.integers(1930, 2025)),
            st.sampled_from(CITIES),
            st.sampled_from(["f", "m", None]),
            st.sampled_from([True, False, None]),
        )
        crow = [(c, *draw(attrs)) for c in ids]
        dups = draw(st.lists(st.sampled_from(crow), max_size=3)) if crow else []
        crow = crow + dups + ([(None, 1990, "北京", "f", True)] if draw(st.booleans()) else [])
        crow = draw(st.permutations(crow))
        tables["customers"] = pl.DataFrame(
            [
                pl.Series("customer_id", [r[0] for r in crow], dtype=pl.String),
                pl.Series("birth_year", [r[1] for r in crow], dtype=pl.Int64),
                pl.Series("city", [r[2] for r in crow], dtype=pl.String),
                pl.Series("gender", [r[3] for r in crow], dtype=pl.String),
                pl.Series("is_member", [r[4] for r in crow], dtype=pl.Boolean),
            ]
        )
    return Scenario(tz, as_of, T, tables, notes)


def _as_of_value(draw: st.DrawFn, T: dt.datetime, tz: str) -> Any:
    from zoneinfo import ZoneInfo

    kinds = ["text", "naive", "aware_utc", "aware_text"]
    if T.time() == dt.time(0):
        kinds += ["date", "date_text"]
    kind = draw(st.sampled_from(kinds))
    aware = T.replace(tzinfo=ZoneInfo(tz))
    return {
        "date": T.date(),
        "date_text": T.date().isoformat(),
        "text": T.isoformat(),
        "naive": T,
        "aware_utc": aware.astimezone(dt.UTC),
        "aware_text": aware.isoformat(),
    }[kind]


# -- random rule sets -----------------------------------------------------------------------
WINDOWS = ["1d", "7d", "30d", "90d", "365d", "lifetime", "2w"]
COUNT_LITS = [0, 1, 2, 3, 5]
MONEY_LITS = [
    "0",
    "0.01",
    "499.99",
    "500",
    "3333.33",
    "6666.66",
    "6666.67",
    "9999.99",
    "10000",
    "10000.00",
    "10000.01",
    "0.35",
    "0.7",
    "1.15",
    "18332.85",
]
DAY_LITS = [0, 1, 6, 7, 29, 30, 31, 89, 90, 91, 365]
FEEDBACK_LITS = ["0", "59.5", "60", "75", "89.5", "90", "100"]
AOV_LITS = ["0.01", "100", "499.99", "500", "3333.33", "3333.34"]
AGE_LITS = [17, 18, 30, 45, 60]
OPS = ["=", "<>", "<", "<=", ">", ">="]
NULLABLE = [
    "recency_days",
    "tenure_days",
    "feedback_mean",
    "avg_order_value",
    "first_order_ts",
    "last_order_ts",
]
NULLABLE_CUSTOMER = ["age", "generation", "city_tier", "region", "birth_year"]
LABELS = ["gold", "silver", "高", "低", "a_b", "x"]


@dataclass
class RuleContext:
    customers: bool
    segments: dict[str, list[str]] = field(default_factory=dict)  # name -> labels ([] = flag)


@st.composite
def numeric_atom(draw: st.DrawFn, ctx: RuleContext) -> str:
    w = draw(st.sampled_from(WINDOWS))
    families = [
        (f"orders_{w}", COUNT_LITS),
        (f"monetary_{w}", MONEY_LITS),
        (f"{draw(st.sampled_from(['pending', 'refunded', 'cancelled']))}_orders_{w}", [0, 1, 2]),
        (
            f"events_{draw(st.sampled_from(['campaign_', 'view_', 'after_sales_', '']))}{w}",
            [0, 1, 2],
        ),
        (f"intent_events_{w}", [0, 1, 3]),
        ("recency_days", DAY_LITS),
        ("tenure_days", DAY_LITS),
        (draw(st.sampled_from(["feedback_mean", f"feedback_mean_{w}"])), FEEDBACK_LITS),
        (draw(st.sampled_from(["avg_order_value", f"avg_order_value_{w}"])), AOV_LITS),
    ]
    if ctx.customers:
        families.append(("age", AGE_LITS))
    name, lits = draw(st.sampled_from(families))
    return f"{name} {draw(st.sampled_from(OPS))} {draw(st.sampled_from(lits))}"


@st.composite
def other_atom(draw: st.DrawFn, ctx: RuleContext) -> str:
    choices = ["null", "time"]
    if ctx.customers:
        choices.append("text")
    if ctx.segments:
        choices += ["segment", "segment"]
    kind = draw(st.sampled_from(choices))
    if kind == "null":
        names = NULLABLE + (NULLABLE_CUSTOMER if ctx.customers else [])
        neg = draw(st.sampled_from(["IS NULL", "IS NOT NULL"]))
        return f"{draw(st.sampled_from(names))} {neg}"
    if kind == "time":
        col = draw(st.sampled_from(["first_order_ts", "last_order_ts"]))
        n = draw(st.sampled_from([1, 7, 30, 90, 365]))
        return f"{col} {draw(st.sampled_from(OPS))} as_of - INTERVAL '{n} days'"
    if kind == "text":
        col, values = draw(
            st.sampled_from(
                [
                    ("city_tier", ["tier1", "new_tier1", "tier2", "tier3"]),
                    ("region", ["east", "north", "south", "southwest", "northwest"]),
                    (
                        "generation",
                        ["born_1960s", "born_1970s", "born_1980s", "born_1990s", "born_2000s"],
                    ),
                ]
            )
        )
        if draw(st.booleans()):
            picked = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True))
            neg = draw(st.sampled_from(["", "NOT "]))
            return f"{col} {neg}IN (" + ", ".join(f"'{v}'" for v in picked) + ")"
        return f"{col} {draw(st.sampled_from(['=', '<>']))} '{draw(st.sampled_from(values))}'"
    name = draw(st.sampled_from(sorted(ctx.segments)))
    labels = ctx.segments[name]
    if not labels:  # a flag
        return draw(st.sampled_from([name, f"NOT {name}", f"{name} = TRUE", f"{name} = FALSE"]))
    return f"{name} {draw(st.sampled_from(['=', '<>']))} '{draw(st.sampled_from(labels))}'"


def conditions(ctx: RuleContext) -> st.SearchStrategy[str]:
    atom = st.one_of(numeric_atom(ctx), numeric_atom(ctx), other_atom(ctx))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(
                lambda a, b, op, paren: f"({a}) {op} ({b})" if paren else f"{a} {op} {b}",
                inner,
                inner,
                st.sampled_from(["AND", "OR"]),
                st.booleans(),
            ),
            st.builds(lambda a: f"NOT ({a})", inner),
        )

    return st.recursive(atom, extend, max_leaves=4)


@st.composite
def rulesets(draw: st.DrawFn, customers: bool) -> dict[str, Any]:
    """A random rule set (YAML data): segments, points, maybe quantile/pareto/rfm."""
    ctx = RuleContext(customers)
    segments: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 4))):
        name = f"s{i}"
        if draw(st.integers(0, 2)) == 0:
            segments[name] = {"flag": draw(conditions(ctx))}
            ctx.segments[name] = []
        else:
            labels = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True))
            segments[name] = {
                "cases": [{"when": draw(conditions(ctx)), "label": lab} for lab in labels],
                "default": "other",
            }
            ctx.segments[name] = [*labels, "other"]
    scores: dict[str, Any] = {}
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["map", "map", "bins", "cases"]))
        part: dict[str, Any]
        if kind == "map":
            seg = draw(st.sampled_from(sorted(ctx.segments)))
            keys: list[Any] = ctx.segments[seg] or [True, False]
            mapped = draw(st.lists(st.sampled_from(keys), unique=True, min_size=1))
            part = {"dimension": seg, "points": {k: draw(st.integers(0, 5)) for k in mapped}}
        elif kind == "bins":
            dim, lits = draw(
                st.sampled_from(
                    [
                        (f"orders_{draw(st.sampled_from(WINDOWS))}", [0, 1, 2, 3, 5]),
                        (f"monetary_{draw(st.sampled_from(WINDOWS))}", [0, 500, 3333.33, 10000]),
                        ("recency_days", [0, 7, 30, 90]),
                        ("feedback_mean", [60, 75, 90]),
                    ]
                )
            )
            mins = sorted(
                draw(st.lists(st.sampled_from(lits), min_size=1, max_size=3, unique=True)),
                reverse=True,
            )
            part = {
                "dimension": dim,
                "bins": [{"min": m, "points": draw(st.integers(0, 4))} for m in mins],
            }
        else:
            part = {
                "cases": [
                    {"when": draw(conditions(ctx)), "points": draw(st.integers(0, 4))}
                    for _ in range(draw(st.integers(1, 2)))
                ]
            }
        if draw(st.booleans()):
            part["default"] = draw(st.integers(0, 2))
        if draw(st.booleans()):
            part["weight"] = draw(st.sampled_from([1, 2, 3]))
        parts.append(part)
    points: dict[str, Any] = {"parts": parts}
    if draw(st.booleans()):
        mins = sorted(
            draw(st.lists(st.integers(0, 12), min_size=1, max_size=3, unique=True)), reverse=True
        )
        points["tiers"] = [{"label": f"t{m}", "min": m} for m in mins]
        if draw(st.booleans()):
            points["default_tier"] = "below"
    scores["pts"] = {"strategy": "points", "params": points}

    if draw(st.booleans()):
        tops = sorted(
            draw(
                st.lists(
                    st.sampled_from(["0.1", "0.2", "0.25", "0.5", "0.8", "1"]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            ),
            key=Decimal,
        )
        q: dict[str, Any] = {
            "dimension": draw(
                st.sampled_from(
                    [
                        "monetary_365d",
                        "monetary_lifetime",
                        "orders_lifetime",
                        "feedback_mean",
                        "recency_days",
                    ]
                )
            ),
            "tiers": [{"label": f"top{t}", "top": float(t)} for t in tops],
        }
        if draw(st.booleans()):
            q["eligible"] = draw(
                st.sampled_from(
                    ["orders_365d > 0", "orders_lifetime >= 2", "feedback_mean IS NOT NULL"]
                )
            )
        if draw(st.booleans()):
            q["default"] = "rest_of_them"
        scores["qt"] = {"strategy": "quantile", "params": q}
    if draw(st.booleans()):
        scores["par"] = {
            "strategy": "pareto",
            "params": {
                "dimension": draw(st.sampled_from(["monetary_lifetime", "monetary_365d"])),
                "share": draw(st.sampled_from([0.5, 0.8, 1, 0.3333, 0.95])),
            },
        }
    if draw(st.booleans()):
        k = draw(st.integers(2, 6))
        params: dict[str, Any] = {"buckets": k}
        if k != 5 or draw(st.booleans()):
            params["segments"] = False
        scores["rfm_x"] = {"strategy": "rfm", "params": params}

    data: dict[str, Any] = {"name": "random", "segments": segments, "scores": scores}
    data["outputs"] = _outputs(data)
    return data


def _outputs(data: dict[str, Any]) -> list[str]:
    """customer_id, every builtin dimension the rules read, then segments and scores."""
    import re

    names: list[str] = []
    texts: list[str] = []
    for seg in data["segments"].values():
        texts.append(seg.get("flag") or "")
        texts.extend(c["when"] for c in seg.get("cases") or [])
    for score in data["scores"].values():
        p = score["params"]
        for part in p.get("parts", []):
            texts.extend(c["when"] for c in part.get("cases") or [])
            if "dimension" in part:
                names.append(part["dimension"])
        for key in ("dimension", "eligible"):
            if key in p:
                texts.append(p[key])
    for text in texts:
        text = re.sub(r"'[^']*'", "", text)
        names.extend(
            w
            for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
            if w.upper()
            not in ("AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE", "INTERVAL", "IN", "AS_OF")
        )
    outs = ["customer_id", *(n for n in names if n not in data["segments"])]
    outs += list(data["segments"])
    for name, score in data["scores"].items():
        outs.append(name)
        p = score["params"]
        if score["strategy"] == "points" and "tiers" in p:
            outs.append(p.get("tier", f"{name}_tier"))
        if score["strategy"] == "rfm":
            outs += ["r_score", "f_score", "m_score"]
    return list(dict.fromkeys(outs))


def size_bucket(n: int) -> str:
    """A coarse size class for hypothesis statistics."""
    return "0" if n == 0 else "1" if n == 1 else "2-6" if n <= 6 else "7-20" if n <= 20 else "21+"


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
