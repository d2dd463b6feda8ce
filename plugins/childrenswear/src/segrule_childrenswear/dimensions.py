"""Childrenswear dimensions over ``childrenswear_items``.

Two kinds of time reference are used:

- **as-of windows** (``childrenswear_items_90d``, ``childrenswear_child_gender_365d``):
  rows with ``item_ts`` in ``[as_of - window, as_of)``, as everywhere in segrule;
- **the recent window** of a household: the ``recent_days`` days up to and including
  its last item line (``[last - N days, last]``, default 180 days). Children grow, so
  the current size is read from the most recent purchases, wherever they lie in time.
  Names ending in ``_<n>d`` (``childrenswear_size_cm_90d``) or ``params.recent_days``
  change N.

Every value is a polars expression: aggregates are evaluated in the table's single
``group_by(customer_id)``, the rest are derived from those columns.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import polars as pl
from segrule.plugin import (
    WINDOW_RE,
    BuildContext,
    Dimension,
    Label,
    Node,
    RuleSetError,
    did_you_mean,
    masked,
    money_nodes,
)

from segrule_childrenswear.tables import TABLE, TS

DEFAULT_RECENT_DAYS = 180
DEFAULT_GAP_CM = 20
DEFAULT_DOMINANCE = 0.8
DEFAULT_MIN_LINES = 2
DEFAULT_LEAD_DAYS = 30
DEFAULT_GRACE_DAYS = 60
DEFAULT_UPCOMING_DAYS = 90

#: Size steps: each height size and how many months a child typically wears it
#: before needing the next one (the Chinese size chart: 59 for 0-3 months ... 160 for
#: 14 years). The last step is the top size of the range: it has no next size.
DEFAULT_STEPS: list[dict[str, Any]] = [
    {"size": 52, "months": 1},
    {"size": 59, "months": 2},
    {"size": 66, "months": 3},
    {"size": 73, "months": 6},
    {"size": 80, "months": 12},
    {"size": 90, "months": 12},
    {"size": 100, "months": 12},
    {"size": 110, "months": 18},
    {"size": 120, "months": 18},
    {"size": 130, "months": 18},
    {"size": 140, "months": 18},
    {"size": 150, "months": 18},
    {"size": 160, "months": 24},
    {"size": 170},
]

DEFAULT_BANDS: list[dict[str, Any]] = [
    {"label": "infant", "below": 80, "zh": "婴儿", "en": "Infant"},
    {"label": "toddler", "below": 110, "zh": "幼儿", "en": "Toddler"},
    {"label": "young_child", "below": 140, "zh": "儿童", "en": "Young child"},
    {"label": "older_child", "zh": "大童", "en": "Older child"},
]

UNKNOWN = Label("unknown", "未知", "Unknown")
GENDER_LABELS = {
    "boy": Label("boy", "男童", "Boy"),
    "girl": Label("girl", "女童", "Girl"),
    "mixed": Label("mixed", "男女童都买", "Boys' and girls' items"),
    "unknown": UNKNOWN,
}
STATUS_LABELS = {
    "due_now": Label("due_now", "该换大一码了", "Next size due now"),
    "upcoming": Label("upcoming", "即将换码", "Next size coming up"),
    "later": Label("later", "暂不换码", "Next size later"),
    "overdue": Label("overdue", "换码已过期", "Next size overdue"),
    "top_size": Label("top_size", "已到最大码", "Top size reached"),
    "unknown": UNKNOWN,
}

_US_PER_DAY = 86_400_000_000
W = f"(?P<window>{WINDOW_RE})"
R = r"(_(?P<recent>\d+)d)?"


# -- parameters ---------------------------------------------------------------------
def _check_keys(params: dict[str, Any], allowed: set[str], name: str) -> None:
    for key in params:
        if key not in allowed:
            raise RuleSetError(
                f"unknown parameter '{key}'{did_you_mean(key, allowed)}; allowed: "
                + (", ".join(sorted(allowed)) or "none"),
                name=name,
            )


def _int(params: dict[str, Any], key: str, default: int, name: str, minimum: int = 0) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RuleSetError(
            f"params.{key} must be a whole number >= {minimum}, got {value!r}", name=name
        )
    return value


def _recent(groups: dict[str, str], params: dict[str, Any], name: str) -> int:
    """The recent window in days: from the name (``_90d``) or ``params.recent_days``."""
    from_name = int(groups["recent"]) if groups.get("recent") else None
    if from_name is not None and "recent_days" in params and params["recent_days"] != from_name:
        raise RuleSetError(
            f"the name says {from_name} days but params.recent_days is "
            f"{params['recent_days']!r}; give the recent window once",
            name=name,
        )
    return _int(params, "recent_days", from_name or DEFAULT_RECENT_DAYS, name, minimum=1)


def _window(groups: dict[str, str], params: dict[str, Any], name: str) -> str:
    window = params.get("window", groups.get("window") or "lifetime")
    if not isinstance(window, str) or not re.fullmatch(WINDOW_RE, window):
        raise RuleSetError(
            f"params.window '{window}' is not understood: write '<n>d', '<n>w' or 'lifetime'",
            name=name,
        )
    return window


def _dominance(params: dict[str, Any], name: str) -> Fraction:
    value = params.get("dominance", DEFAULT_DOMINANCE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 < value <= 1:
        raise RuleSetError(
            f"params.dominance must be a number above 0.5 and at most 1, got {value!r}",
            name=name,
        )
    # Exact: 0.8 is 4/5, so a share of exactly 80 % compares the same everywhere.
    return Fraction(str(value))


def _steps(params: dict[str, Any], name: str) -> list[tuple[int, int | None]]:
    raw = params.get("steps", DEFAULT_STEPS)
    if not isinstance(raw, list) or len(raw) < 2:
        raise RuleSetError("params.steps must be a list of at least two {size, months}", name=name)
    steps: list[tuple[int, int | None]] = []
    for i, step in enumerate(raw):
        if not isinstance(step, dict) or "size" not in step:
            raise RuleSetError(f"params.steps[{i}] needs 'size' (cm)", name=name)
        _check_keys(step, {"size", "months"}, f"{name}.steps[{i}]")
        size, months = step["size"], step.get("months")
        last = i == len(raw) - 1
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise RuleSetError(f"params.steps[{i}].size must be a whole cm > 0", name=name)
        if last and months is not None:
            raise RuleSetError(
                f"params.steps[{i}] is the top size (the last step): it takes no 'months'",
                name=name,
            )
        if not last and (isinstance(months, bool) or not isinstance(months, int) or months < 1):
            raise RuleSetError(
                f"params.steps[{i}].months must be a whole number of months >= 1", name=name
            )
        steps.append((size, months))
    sizes = [s for s, _ in steps]
    if sizes != sorted(set(sizes)):
        raise RuleSetError(f"params.steps sizes {sizes} must be strictly increasing", name=name)
    return steps


def _bands(params: dict[str, Any], name: str) -> list[dict[str, Any]]:
    bands = params.get("bands", DEFAULT_BANDS)
    if not isinstance(bands, list) or not bands:
        raise RuleSetError("params.bands must be a non-empty list of {label, below}", name=name)
    for i, band in enumerate(bands):
        if not isinstance(band, dict) or "label" not in band:
            raise RuleSetError(f"params.bands[{i}] needs a 'label'", name=name)
        _check_keys(band, {"label", "below", "zh", "en"}, f"{name}.bands[{i}]")
        if i < len(bands) - 1 and "below" not in band:
            raise RuleSetError("every band but the last needs 'below' (cm)", name=name)
    bounds = [b["below"] for b in bands if "below" in b]
    if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
        raise RuleSetError(f"band bounds {bounds} must be strictly increasing", name=name)
    return bands


# -- shared expressions -------------------------------------------------------------
def _recent_mask(recent: int) -> pl.Expr:
    """Rows in ``[last item - recent days, last item]`` of the customer (inside the agg)."""
    return pl.col(TS) >= pl.col(TS).max() - pl.duration(days=recent)


def _current_size(recent: int) -> pl.Expr:
    return pl.col("size_cm").filter(_recent_mask(recent)).max().cast(pl.Int64)


def _size_name(recent: int) -> str:
    return "childrenswear_size_cm" + ("" if recent == DEFAULT_RECENT_DAYS else f"_{recent}d")


def _since_name(recent: int) -> str:
    suffix = "" if recent == DEFAULT_RECENT_DAYS else f"_{recent}d"
    return "childrenswear_size_since_ts" + suffix


def _next_size(size: pl.Expr, steps: list[tuple[int, int | None]]) -> pl.Expr:
    """The smallest step size above ``size``; null above the top size or without a size."""
    expr: Any = pl
    for s, _ in steps:
        expr = expr.when(size < s).then(pl.lit(s, dtype=pl.Int64))
    return expr.otherwise(pl.lit(None, dtype=pl.Int64))


def _months_in_size(size: pl.Expr, steps: list[tuple[int, int | None]]) -> pl.Expr:
    """Months worn in ``size``: those of the largest step at or below it (of the first
    step below all); null at or above the top size."""
    expr: Any = pl
    for s, months in reversed(steps):
        expr = expr.when(size >= s).then(pl.lit(months, dtype=pl.Int64))
    return expr.otherwise(pl.lit(steps[0][1], dtype=pl.Int64))


def _due(size: pl.Expr, since: pl.Expr, steps: list[tuple[int, int | None]]) -> pl.Expr:
    months = _months_in_size(size, steps)
    offset = pl.concat_str(months.cast(pl.String), pl.lit("mo"))
    return since.dt.offset_by(offset)


def _days_until(ctx: BuildContext, ts: pl.Expr) -> pl.Expr:
    """Whole days from the as-of instant to ``ts``, rounded down (negative if past)."""
    return ((ts - ctx.as_of_lit()).dt.total_microseconds() // _US_PER_DAY).cast(pl.Int64)


def _progression(
    ctx: BuildContext, name: str, groups: dict[str, str], params: dict[str, Any], extra: set[str]
) -> tuple[pl.Expr, pl.Expr, list[tuple[int, int | None]], tuple[str, ...]]:
    _check_keys(params, {"recent_days", "steps", *extra}, name)
    recent = _recent(groups, params, name)
    steps = _steps(params, name)
    size_col, since_col = _size_name(recent), _since_name(recent)
    return pl.col(size_col), pl.col(since_col), steps, (size_col, since_col)


# -- builders: aggregates -------------------------------------------------------------
def _agg(
    name: str,
    expr: pl.Expr,
    columns: tuple[str, ...],
    fill: Any,
    desc: str,
    labels: dict[str, Label] | None = None,
) -> Node:
    return Node(
        name,
        "aggregate",
        expr.alias(name),
        table=TABLE,
        columns=columns,
        fill=fill,
        description=desc,
        labels=labels or {},
    )


def _items(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, set(), name)
    mask = pl.col(TS).is_not_null() & ctx.in_window(TS, g["window"])
    return [
        _agg(name, mask.sum().cast(pl.Int64), (TS,), 0, f"childrenswear item lines, {g['window']}")
    ]


def _gender_items(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, set(), name)
    gender = g["gender"]
    mask = (pl.col("product_gender") == gender) & ctx.in_window(TS, g["window"])
    return [
        _agg(
            name,
            mask.sum().cast(pl.Int64),
            (TS, "product_gender"),
            0,
            f"item lines of {gender} products, {g['window']}",
        )
    ]


def _spend(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, set(), name)
    mask = pl.col(TS).is_not_null() & ctx.in_window(TS, g["window"])
    # Exact money: each line in integer cents, summed as integers (as core does for orders).
    cents = (pl.col("amount") * 100).round(0).cast(pl.Int64)
    return money_nodes(
        name,
        masked(cents, mask).sum(),
        table=TABLE,
        columns=(TS, "amount"),
        description=f"childrenswear spend (sum of line amounts), {g['window']}, exact",
    )


def _size_cm(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, {"recent_days"}, name)
    recent = _recent(g, p, name)
    return [
        _agg(
            name,
            _current_size(recent),
            (TS, "size_cm"),
            None,
            f"largest size (cm) bought in the {recent} days up to the last item line",
        )
    ]


def _size_since(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, {"recent_days"}, name)
    recent = _recent(g, p, name)
    expr = pl.col(TS).filter(pl.col("size_cm") == _current_size(recent)).min()
    return [
        _agg(name, expr, (TS, "size_cm"), None, "first time (ever) the current size was bought")
    ]


def _tracks_expr(recent: int, gap: int) -> pl.Expr:
    sized = pl.col("size_cm").filter(_recent_mask(recent) & pl.col("size_cm").is_not_null())
    gaps = (sized.unique().sort().diff() >= gap).sum()
    return pl.when(sized.count() > 0).then(gaps.cast(pl.Int64) + 1).otherwise(pl.lit(0, pl.Int64))


def _both_expr(recent: int, dominance: Fraction, min_lines: int) -> pl.Expr:
    recent_rows = _recent_mask(recent)
    boys = ((pl.col("product_gender") == "boy") & recent_rows).sum().cast(pl.Int64)
    girls = ((pl.col("product_gender") == "girl") & recent_rows).sum().cast(pl.Int64)
    return _mixed(boys, girls, dominance) & (pl.min_horizontal(boys, girls) >= min_lines)


def _mixed(boys: pl.Expr, girls: pl.Expr, dominance: Fraction) -> pl.Expr:
    """Both genders, neither reaching the dominance share (integer arithmetic, exact)."""
    p, q = dominance.numerator, dominance.denominator
    total = boys + girls
    return (total > 0) & (boys * q < p * total) & (girls * q < p * total)


def _size_tracks(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, {"recent_days", "gap_cm"}, name)
    recent = _recent(g, p, name)
    gap = _int(p, "gap_cm", DEFAULT_GAP_CM, name, minimum=1)
    return [
        _agg(
            name,
            _tracks_expr(recent, gap),
            (TS, "size_cm"),
            0,
            f"size tracks in the recent window: distinct sizes {gap} cm or more apart "
            "start a new track (one per child)",
        )
    ]


def _both_genders(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, {"recent_days", "dominance", "min_lines"}, name)
    recent = _recent(g, p, name)
    dominance = _dominance(p, name)
    min_lines = _int(p, "min_lines", DEFAULT_MIN_LINES, name, minimum=1)
    return [
        _agg(
            name,
            _both_expr(recent, dominance, min_lines),
            (TS, "product_gender"),
            False,
            "boys' and girls' items both bought in the recent window (neither gender "
            f"reaching {float(dominance):g} of the gendered lines, at least {min_lines} each)",
        )
    ]


def _fabric_top(mask: pl.Expr) -> pl.Expr:
    # Ties between fabrics go to the alphabetically first, so the answer is stable.
    return pl.col("fabric").filter(mask & pl.col("fabric").is_not_null()).mode().sort().first()


def _fabric_pref(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, {"window"}, name)
    mask = ctx.in_window(TS, _window(g, p, name)) & pl.col(TS).is_not_null()
    return [
        _agg(
            name,
            _fabric_top(mask),
            (TS, "fabric"),
            None,
            "the fabric on most item lines (ties: alphabetical); null without fabric",
        )
    ]


def _fabric_share(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, {"window"}, name)
    mask = ctx.in_window(TS, _window(g, p, name)) & pl.col(TS).is_not_null()
    known = pl.col("fabric").filter(mask).count()
    top = (pl.col("fabric").filter(mask) == _fabric_top(mask)).sum()
    expr = pl.when(known > 0).then(top.cast(pl.Float64) / known.cast(pl.Float64))
    return [
        _agg(
            name,
            expr,
            (TS, "fabric"),
            None,
            "share of the preferred fabric among item lines with a fabric",
        )
    ]


# -- builders: derived ----------------------------------------------------------------
def _derived(
    name: str,
    expr: pl.Expr,
    deps: tuple[str, ...],
    desc: str,
    labels: dict[str, Label] | None = None,
) -> Node:
    return Node(name, "derived", expr.alias(name), deps=deps, description=desc, labels=labels or {})


def _child_stage(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, {"recent_days", "bands"}, name)
    recent = _recent(g, p, name)
    bands = _bands(p, name)
    size = pl.col(_size_name(recent))
    expr: Any = pl.when(size.is_null()).then(pl.lit("unknown"))
    for band in bands:
        cond = size < band["below"] if "below" in band else size.is_not_null()
        expr = expr.when(cond).then(pl.lit(str(band["label"])))
    labels = {str(b["label"]): Label(str(b["label"]), b.get("zh"), b.get("en")) for b in bands}
    labels.setdefault("unknown", UNKNOWN)
    return [
        _derived(
            name,
            expr.otherwise(pl.lit("unknown")),
            (_size_name(recent),),
            "child stage from the current size (bands in cm, params.bands)",
            labels,
        )
    ]


def _next_size_cm(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    size, _since, steps, deps = _progression(ctx, name, g, p, set())
    return [
        _derived(
            name,
            _next_size(size, steps),
            deps[:1],
            "the next size step above the current size (null at the top size)",
        )
    ]


def _next_size_due(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    size, since, steps, deps = _progression(ctx, name, g, p, set())
    return [
        _derived(
            name,
            _due(size, since, steps),
            deps,
            "when the next size is due: first purchase of the current size + the "
            "months a child wears that size",
        )
    ]


def _days_to_next(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    size, since, steps, deps = _progression(ctx, name, g, p, set())
    return [
        _derived(
            name,
            _days_until(ctx, _due(size, since, steps)),
            deps,
            "whole days from the as-of to the next-size date (negative: overdue)",
        )
    ]


def _size_status(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    extra = {"lead_days", "grace_days", "upcoming_days"}
    size, since, steps, deps = _progression(ctx, name, g, p, extra)
    lead = _int(p, "lead_days", DEFAULT_LEAD_DAYS, name)
    grace = _int(p, "grace_days", DEFAULT_GRACE_DAYS, name)
    upcoming = _int(p, "upcoming_days", DEFAULT_UPCOMING_DAYS, name)
    if upcoming < lead:
        raise RuleSetError(
            f"params.upcoming_days ({upcoming}) must be >= params.lead_days ({lead})", name=name
        )
    days = _days_until(ctx, _due(size, since, steps))
    expr = (
        pl.when(size.is_null())
        .then(pl.lit("unknown"))
        .when(size >= steps[-1][0])
        .then(pl.lit("top_size"))
        .when(days < -grace)
        .then(pl.lit("overdue"))
        .when(days <= lead)
        .then(pl.lit("due_now"))
        .when(days <= upcoming)
        .then(pl.lit("upcoming"))
        .otherwise(pl.lit("later"))
    )
    return [
        _derived(
            name,
            expr,
            deps,
            f"due_now when the next size is due between {grace} days ago and "
            f"{lead} days ahead; upcoming up to {upcoming} days; overdue, later, "
            "top_size, unknown",
            STATUS_LABELS,
        )
    ]


def _child_gender(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_keys(p, {"window", "dominance"}, name)
    window = _window(g, p, name)
    dominance = _dominance(p, name)
    boys_col, girls_col = f"childrenswear_boy_items_{window}", f"childrenswear_girl_items_{window}"
    boys, girls = pl.col(boys_col), pl.col(girls_col)
    pn, q = dominance.numerator, dominance.denominator
    total = boys + girls
    expr = (
        pl.when(total == 0)
        .then(pl.lit("unknown"))
        .when(boys * q >= pn * total)
        .then(pl.lit("boy"))
        .when(girls * q >= pn * total)
        .then(pl.lit("girl"))
        .otherwise(pl.lit("mixed"))
    )
    return [
        _derived(
            name,
            expr,
            (boys_col, girls_col),
            f"boy / girl when that gender holds >= {float(dominance):g} of the boys' "
            "and girls' item lines, mixed otherwise, unknown without any",
            GENDER_LABELS,
        )
    ]


def _children(
    name: str, g: dict[str, str], p: dict[str, Any]
) -> tuple[pl.Expr, tuple[str, ...], list[Node]]:
    """The estimated number of children and the nodes it needs."""
    _check_keys(p, {"recent_days", "gap_cm", "dominance", "min_lines"}, name)
    recent = _recent(g, p, name)
    gap = _int(p, "gap_cm", DEFAULT_GAP_CM, name, minimum=1)
    dominance = _dominance(p, name)
    min_lines = _int(p, "min_lines", DEFAULT_MIN_LINES, name, minimum=1)
    suffix = "" if recent == DEFAULT_RECENT_DAYS else f"_{recent}d"
    nodes: list[Node] = []
    if gap == DEFAULT_GAP_CM:
        tracks = f"childrenswear_size_tracks{suffix}"
    else:  # a private aggregate for the non-default gap
        tracks = f"_{name}_tracks"
        nodes.append(_agg(tracks, _tracks_expr(recent, gap), (TS, "size_cm"), 0, "size tracks"))
    if dominance == Fraction(str(DEFAULT_DOMINANCE)) and min_lines == DEFAULT_MIN_LINES:
        both = f"childrenswear_both_genders{suffix}"
    else:
        both = f"_{name}_both"
        nodes.append(
            _agg(
                both,
                _both_expr(recent, dominance, min_lines),
                (TS, "product_gender"),
                False,
                "both genders",
            )
        )
    lines = "childrenswear_items_lifetime"
    expr = pl.max_horizontal(
        pl.col(tracks),
        pl.when(pl.col(both)).then(2).otherwise(0),
        pl.when(pl.col(lines) > 0).then(1).otherwise(0),
    ).cast(pl.Int64)
    return expr, (tracks, both, lines), nodes


def _children_estimate(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    expr, deps, nodes = _children(name, g, p)
    return [
        _derived(
            name,
            expr,
            deps,
            "estimated children: the size tracks, at least 2 when both genders are "
            "bought, at least 1 with any item line; 0 without",
        ),
        *nodes,
    ]


def _multi_child(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    expr, deps, nodes = _children(name, g, p)
    return [
        _derived(
            name,
            expr >= 2,
            deps,
            "buys for two or more children (childrenswear_children_estimate >= 2)",
        ),
        *nodes,
    ]


def _title(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


DIMENSIONS: list[Dimension] = [
    Dimension(
        "childrenswear_items_<window>",
        _items,
        "aggregate",
        "childrenswear item lines in the window",
        "integer",
        pattern=f"childrenswear_items_{W}",
        tables=(TABLE,),
        title=_title("童装购买件数", "Childrenswear item lines"),
        examples=("childrenswear_items_365d", "childrenswear_items_lifetime"),
    ),
    Dimension(
        "childrenswear_<gender>_items_<window>",
        _gender_items,
        "aggregate",
        "item lines of boys' / girls' / unisex products in the window",
        "integer",
        pattern=f"childrenswear_(?P<gender>boy|girl|unisex)_items_{W}",
        tables=(TABLE,),
        title=_title("男童/女童/中性款件数", "Boys' / girls' / unisex item lines"),
        examples=("childrenswear_boy_items_lifetime", "childrenswear_girl_items_365d"),
    ),
    Dimension(
        "childrenswear_spend_<window>",
        _spend,
        "aggregate",
        "childrenswear spend in the window, exact to the cent",
        "number",
        pattern=f"childrenswear_spend_{W}",
        tables=(TABLE,),
        title=_title("童装消费金额", "Childrenswear spend"),
        examples=("childrenswear_spend_365d", "childrenswear_spend_lifetime"),
    ),
    Dimension(
        "childrenswear_size_cm",
        _size_cm,
        "aggregate",
        "current size (cm): the largest size bought in the recent window (180 days up to "
        "the last item line)",
        "integer",
        pattern=f"childrenswear_size_cm{R}",
        tables=(TABLE,),
        title=_title("当前尺码", "Current size (cm)"),
        examples=("childrenswear_size_cm", "childrenswear_size_cm_90d"),
    ),
    Dimension(
        "childrenswear_size_since_ts",
        _size_since,
        "aggregate",
        "when the current size was first bought",
        "datetime",
        pattern=f"childrenswear_size_since_ts{R}",
        tables=(TABLE,),
        title=_title("首次购买当前尺码时间", "Current size first bought"),
        examples=("childrenswear_size_since_ts",),
    ),
    Dimension(
        "childrenswear_child_stage",
        _child_stage,
        "derived",
        "婴儿/幼儿/儿童/大童 from the current size; params.bands to change",
        "string",
        pattern=f"childrenswear_child_stage{R}",
        tables=(TABLE,),
        title=_title("孩子阶段", "Child stage"),
        examples=("childrenswear_child_stage", "childrenswear_child_stage_365d"),
    ),
    Dimension(
        "childrenswear_next_size_cm",
        _next_size_cm,
        "derived",
        "the next size step above the current size",
        "integer",
        pattern=f"childrenswear_next_size_cm{R}",
        tables=(TABLE,),
        title=_title("下一个尺码", "Next size (cm)"),
        examples=("childrenswear_next_size_cm",),
    ),
    Dimension(
        "childrenswear_next_size_due_ts",
        _next_size_due,
        "derived",
        "when the next size is due (first purchase of the current size + months in it)",
        "datetime",
        pattern=f"childrenswear_next_size_due_ts{R}",
        tables=(TABLE,),
        title=_title("预计换码日期", "Next size due"),
        examples=("childrenswear_next_size_due_ts",),
    ),
    Dimension(
        "childrenswear_days_to_next_size",
        _days_to_next,
        "derived",
        "whole days until the next size is due (negative: overdue)",
        "integer",
        pattern=f"childrenswear_days_to_next_size{R}",
        tables=(TABLE,),
        title=_title("距换码天数", "Days to next size"),
        examples=("childrenswear_days_to_next_size",),
    ),
    Dimension(
        "childrenswear_size_status",
        _size_status,
        "derived",
        "due_now / upcoming / later / overdue / top_size / unknown",
        "string",
        pattern=f"childrenswear_size_status{R}",
        tables=(TABLE,),
        title=_title("换码状态", "Size-up status"),
        examples=("childrenswear_size_status",),
    ),
    Dimension(
        "childrenswear_child_gender",
        _child_gender,
        "derived",
        "boy / girl / mixed / unknown from the product gender of the items",
        "string",
        pattern=f"childrenswear_child_gender(_{W})?",
        tables=(TABLE,),
        title=_title("孩子性别", "Child gender"),
        examples=("childrenswear_child_gender", "childrenswear_child_gender_365d"),
    ),
    Dimension(
        "childrenswear_fabric_pref",
        _fabric_pref,
        "aggregate",
        "the fabric on most item lines",
        "string",
        pattern=f"childrenswear_fabric_pref(_{W})?",
        tables=(TABLE,),
        title=_title("面料偏好", "Fabric preference"),
        examples=("childrenswear_fabric_pref", "childrenswear_fabric_pref_365d"),
    ),
    Dimension(
        "childrenswear_fabric_share",
        _fabric_share,
        "aggregate",
        "share of the preferred fabric among lines with a fabric",
        "number",
        pattern=f"childrenswear_fabric_share(_{W})?",
        tables=(TABLE,),
        title=_title("偏好面料占比", "Preferred fabric share"),
        examples=("childrenswear_fabric_share",),
    ),
    Dimension(
        "childrenswear_size_tracks",
        _size_tracks,
        "aggregate",
        "distinct size tracks in the recent window (sizes 20 cm or more apart: one per child)",
        "integer",
        pattern=f"childrenswear_size_tracks{R}",
        tables=(TABLE,),
        title=_title("尺码轨迹数", "Size tracks"),
        examples=("childrenswear_size_tracks",),
    ),
    Dimension(
        "childrenswear_both_genders",
        _both_genders,
        "aggregate",
        "boys' and girls' items both bought in the recent window",
        "boolean",
        pattern=f"childrenswear_both_genders{R}",
        tables=(TABLE,),
        title=_title("男女童都买", "Buys for both genders"),
        examples=("childrenswear_both_genders",),
    ),
    Dimension(
        "childrenswear_children_estimate",
        _children_estimate,
        "derived",
        "estimated number of children the household buys for",
        "integer",
        pattern=f"childrenswear_children_estimate{R}",
        tables=(TABLE,),
        title=_title("估计孩子数", "Estimated children"),
        examples=("childrenswear_children_estimate",),
    ),
    Dimension(
        "childrenswear_multi_child",
        _multi_child,
        "derived",
        "household buying for two or more children",
        "boolean",
        pattern=f"childrenswear_multi_child{R}",
        tables=(TABLE,),
        title=_title("多孩家庭", "Several children"),
        examples=("childrenswear_multi_child",),
    ),
]
