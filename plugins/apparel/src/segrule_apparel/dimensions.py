"""Apparel dimensions over the ``apparel_items`` table (one row per order line).

Every dimension is a polars expression: aggregates are evaluated inside the table's
one ``group_by(customer_id).agg(...)`` (windows are filters inside it), derived values
are expressions over other dimensions. Nothing here runs Python per row or customer.

Shared definitions (see docs/plugins/apparel.md):

- *units* of a line: ``quantity`` (1 when null or when the table has no quantity);
- a line is *returned* when ``returned`` is true and its ``return_ts`` is null or
  before the as-of instant (a return after the as-of has not happened yet); otherwise
  it is *kept*;
- a line is in a window when its ``item_ts`` is in ``[as_of - window, as_of)``;
- money is summed in integer cents (``round(amount * 100)``), so totals are exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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

from segrule_apparel.vocab import (
    ALL_SEASON,
    CATEGORIES,
    CATEGORY_KEYS,
    LETTER_SIZES,
    MIXED,
    ONE_SIZE,
    OTHER,
    SEASON_KEYS,
    SEASON_MONTHS,
    SEASONS,
    TABLE,
    TS,
)

W = f"(?P<window>{WINDOW_RE})"
KEY_RE = r"[a-z][a-z0-9_]*"
BALANCED = "balanced"

CATEGORY_CUSTOMER_LABELS: dict[str, Label] = {
    key: Label(key, zh_customers, en_customers)
    for key, _, _, zh_customers, en_customers in CATEGORIES
}
CATEGORY_CUSTOMER_LABELS[OTHER] = Label(OTHER, "其他品类客户", "Other-category customers")
CATEGORY_CUSTOMER_LABELS[MIXED] = Label(MIXED, "多品类客户", "Mixed-category customers")
CATEGORY_LABELS: dict[str, Label] = {key: Label(key, zh, en) for key, zh, en, _, _ in CATEGORIES}
CATEGORY_LABELS[OTHER] = Label(OTHER, "其他品类", "Other categories")
SEASON_LABELS: dict[str, Label] = {key: Label(key, zh, en) for key, zh, en, _, _ in SEASONS}
SEASON_PREFERENCE_LABELS: dict[str, Label] = {
    key: Label(key, zh_c, en_c) for key, _, _, zh_c, en_c in SEASONS
}
SEASON_PREFERENCE_LABELS[BALANCED] = Label(BALANCED, "各季均衡", "Balanced across seasons")
SIZE_PROFILE_LABELS: dict[str, Label] = {
    "consistent": Label("consistent", "尺码稳定", "Consistent size"),
    "varied": Label("varied", "尺码多样", "Varied sizes"),
}

Params = dict[str, Any]
Groups = dict[str, str]


# -- row-level building blocks ----------------------------------------------------
def units() -> pl.Expr:
    """Units of a line: ``quantity``, 1 when null."""
    return pl.col("quantity").fill_null(1).cast(pl.Int64)


KEPT_FLAG = "_apparel_returned"


def cents() -> pl.Expr:
    """Line amount in integer cents (exact sums whatever the row order)."""
    return (pl.col("amount") * 100).round(0).cast(pl.Int64)


def returned(ctx: BuildContext, column: str = "returned") -> pl.Expr:
    """The line was returned before the as-of instant (column-shaped, never null)."""
    before = pl.col("return_ts").is_null() | (pl.col("return_ts") < ctx.as_of_lit())
    return (pl.col(column).fill_null(False) & before).fill_null(False)


def kept(ctx: BuildContext) -> pl.Expr:
    """The line was kept. Reads ``_apparel_returned`` (the ``returned`` flag, false when
    the table has no such column; added by the prepare hook), so kept spend works on a
    table without return data while the return dimensions still report it missing."""
    return ~returned(ctx, KEPT_FLAG)


def in_window(ctx: BuildContext, window: str) -> pl.Expr:
    """Column-shaped window mask on ``item_ts`` (lifetime: every row with a time)."""
    return pl.col(TS).is_not_null() & ctx.in_window(TS, window)


# -- parameters -----------------------------------------------------------------------
def check_params(name: str, params: Params, allowed: Sequence[str]) -> None:
    for key in params:
        if key not in allowed:
            hint = (
                f"allowed: {', '.join(sorted(allowed))}"
                if allowed
                else "this dimension takes no parameters"
            )
            raise RuleSetError(
                f"unknown parameter '{key}'{did_you_mean(key, allowed)}; {hint}", name=name
            )


def share_param(name: str, params: Params, default: float) -> float:
    value = params.get("min_share", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise RuleSetError(
            f"min_share must be a number in (0, 1], e.g. {default}, got {value!r}", name=name
        )
    return float(value)


def categories_param(name: str, params: Params) -> tuple[str, ...]:
    value = params.get("categories", CATEGORY_KEYS)
    if (
        isinstance(value, str)
        or not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(v, str) for v in value)
    ):
        raise RuleSetError(
            f"categories must be a non-empty list of category keys, got {value!r}", name=name
        )
    bad = [v for v in value if not re.fullmatch(KEY_RE, v) or v in (OTHER, MIXED)]
    if bad:
        raise RuleSetError(
            f"category '{bad[0]}' is not a usable key: write lowercase letters, digits and '_' "
            f"(e.g. dress), not '{OTHER}' or '{MIXED}'",
            name=name,
        )
    if len(set(value)) != len(value):
        raise RuleSetError(f"categories {list(value)} lists a category twice", name=name)
    return tuple(value)


# -- counts, returns, spend ------------------------------------------------------------
def _sum_units(name: str, mask: pl.Expr, columns: tuple[str, ...], description: str) -> Node:
    return Node(
        name,
        "aggregate",
        masked(units(), mask).sum().cast(pl.Int64).alias(name),
        table=TABLE,
        columns=(TS, *columns),
        fill=0,
        description=description,
    )


def build_items(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w = g["window"]
    return [_sum_units(name, in_window(ctx, w), (), f"units bought (kept or returned), {w}")]


def build_returned_items(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w = g["window"]
    mask = in_window(ctx, w) & returned(ctx)
    return [
        _sum_units(
            name,
            mask,
            ("returned",),
            f"units bought in {w} and returned before the as-of",
        )
    ]


def build_return_rate(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w = g.get("window") or "lifetime"
    items, back = f"apparel_items_{w}", f"apparel_returned_items_{w}"
    expr = pl.when(pl.col(items) > 0).then(pl.col(back) / pl.col(items)).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=(back, items),
            description=f"returned units / units bought, {w}; null without units",
        )
    ]


def spend_names(category: str | None, window: str) -> tuple[str, str]:
    """The public spend dimension and its hidden integer-cents node."""
    name = f"apparel_spend_{category}_{window}" if category else f"apparel_spend_{window}"
    return name, f"_{name}_cents"


def build_spend(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w, category = g["window"], g.get("category")
    mask = in_window(ctx, w) & kept(ctx)
    columns: tuple[str, ...] = (TS, "amount")
    what = "all categories"
    if category:
        mask = mask & (pl.col("category") == category).fill_null(False)
        columns = (*columns, "category")
        what = f"category {category}"
    return money_nodes(
        name,
        masked(cents(), mask).sum(),
        table=TABLE,
        columns=columns,
        description=f"amount of kept lines, {what}, {w} (exact, 2 decimals)",
    )


def build_category_share(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w, category = g["window"], g["category"]
    cat, cat_cents = spend_names(category, w)
    total, total_cents = spend_names(None, w)
    expr = (
        pl.when(pl.col(total_cents) > 0).then(pl.col(cat_cents) / pl.col(total_cents)).alias(name)
    )
    return [
        Node(
            name,
            "derived",
            expr,
            deps=(cat, cat_cents, total, total_cents),
            description=f"share of kept spend in category {category}, {w}; null without spend",
        )
    ]


def build_category_count(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w = g["window"]
    mask = in_window(ctx, w) & kept(ctx) & pl.col("category").is_not_null()
    return [
        Node(
            name,
            "aggregate",
            pl.col("category").filter(mask).n_unique().cast(pl.Int64).alias(name),
            table=TABLE,
            columns=(TS, "category"),
            fill=0,
            description=f"distinct categories among kept lines, {w}",
        )
    ]


# -- top of a fixed list: category, season ----------------------------------------
def _argmax_label(values: list[pl.Expr], keys: Sequence[str]) -> pl.Expr:
    """The key of the largest value; ties go to the earlier key."""
    return (
        pl.concat_list(values)
        .list.arg_max()
        .replace_strict(dict(enumerate(keys)), return_dtype=pl.String)
    )


def _category_parts(
    name: str, g: Groups, p: Params
) -> tuple[pl.Expr, pl.Expr, pl.Expr, tuple[str, ...], tuple[str, ...]]:
    """(has spend, top key, top share, deps, category keys) for a category-list dimension."""
    cats = categories_param(name, p)
    w = g["window"]
    total, total_cents = spend_names(None, w)
    deps: list[str] = [total, total_cents]
    values: list[pl.Expr] = []
    for c in cats:
        public, helper = spend_names(c, w)
        deps += [public, helper]
        values.append(pl.col(helper))
    values.append(pl.col(total_cents) - pl.sum_horizontal(values))  # everything else
    has = pl.col(total_cents) > 0
    top = _argmax_label(values, [*cats, OTHER])
    share = pl.max_horizontal(values) / pl.col(total_cents)
    return has, top, share, tuple(deps), cats


def _labels_for(cats: Sequence[str], table: dict[str, Label], extra: Sequence[str]) -> dict:
    return {k: table.get(k, Label(k)) for k in (*cats, *extra)}


def build_top_category(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ("categories",))
    has, top, _share, deps, cats = _category_parts(name, g, p)
    return [
        Node(
            name,
            "derived",
            pl.when(has).then(top).alias(name),
            deps=deps,
            labels=_labels_for(cats, CATEGORY_LABELS, (OTHER,)),
            description=f"category with the largest kept spend, {g['window']} "
            "(ties: earlier in the category list; 'other' for unlisted categories)",
        )
    ]


def build_top_category_share(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ("categories",))
    has, _top, share, deps, _cats = _category_parts(name, g, p)
    return [
        Node(
            name,
            "derived",
            pl.when(has).then(share).alias(name),
            deps=deps,
            description=f"share of kept spend in the top category, {g['window']}",
        )
    ]


def _dominant(
    has: pl.Expr, top: pl.Expr, share: pl.Expr, min_share: float, fallback: str
) -> pl.Expr:
    """``top`` when its ``share`` reaches ``min_share``, else ``fallback``; null without
    data (``has`` false)."""
    return (
        pl.when(~has)
        .then(pl.lit(None, dtype=pl.String))
        .when(share >= min_share)
        .then(top)
        .otherwise(pl.lit(fallback))
    )


def build_main_category(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ("categories", "min_share"))
    min_share = share_param(name, p, 0.5)
    has, top, share, deps, cats = _category_parts(name, g, p)
    expr = _dominant(has, top, share, min_share, MIXED).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=deps,
            labels=_labels_for(cats, CATEGORY_CUSTOMER_LABELS, (OTHER, MIXED)),
            description=f"top category when it holds >= {min_share:g} of kept spend, else "
            f"'mixed'; null without kept spend, {g['window']}",
        )
    ]


# -- size profile -------------------------------------------------------------------
def _size_key() -> pl.Expr:
    """Size prefixed by its rank, so that min() prefers the smaller letter size."""
    rank = pl.col("size").replace_strict(
        {s: str(i) for i, s in enumerate(LETTER_SIZES)}, default="9", return_dtype=pl.String
    )
    return pl.concat_str(rank, pl.col("size"))


def _sized(ctx: BuildContext, window: str) -> pl.Expr:
    size = pl.col("size")
    return (
        in_window(ctx, window)
        & kept(ctx)
        & size.is_not_null()
        & (size != ONE_SIZE).fill_null(False)
    )


def build_size(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w = g["window"]
    key = _size_key().filter(_sized(ctx, w))
    return [
        Node(
            name,
            "aggregate",
            key.mode().min().str.slice(1).alias(name),
            table=TABLE,
            columns=(TS, "size"),
            description=f"most frequent size among kept lines, {w} (ties: the smaller letter "
            "size; ONE_SIZE ignored); null without sized lines",
        )
    ]


def build_size_share(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w = g["window"]
    mask = _sized(ctx, w)
    key = _size_key().filter(mask)
    top, n = f"_{name}_top", f"_{name}_n"
    return [
        Node(
            name,
            "derived",
            pl.when(pl.col(n) > 0).then(pl.col(top) / pl.col(n)).alias(name),
            deps=(top, n),
            description=f"share of kept sized lines in the most frequent size, {w}",
        ),
        Node(
            top,
            "aggregate",
            (key == key.mode().min()).sum().cast(pl.Int64).alias(top),
            table=TABLE,
            columns=(TS, "size"),
            fill=0,
            role="helper",
        ),
        Node(
            n,
            "aggregate",
            mask.sum().cast(pl.Int64).alias(n),
            table=TABLE,
            columns=(TS, "size"),
            fill=0,
            role="helper",
        ),
    ]


def build_size_count(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w = g["window"]
    return [
        Node(
            name,
            "aggregate",
            pl.col("size").filter(_sized(ctx, w)).n_unique().cast(pl.Int64).alias(name),
            table=TABLE,
            columns=(TS, "size"),
            fill=0,
            description=f"distinct sizes among kept lines (ONE_SIZE ignored), {w}",
        )
    ]


def build_size_profile(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ("min_share",))
    min_share = share_param(name, p, 0.75)
    share = f"apparel_size_share_{g['window']}"
    expr = (
        pl.when(pl.col(share).is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col(share) >= min_share)
        .then(pl.lit("consistent"))
        .otherwise(pl.lit("varied"))
        .alias(name)
    )
    return [
        Node(
            name,
            "derived",
            expr,
            deps=(share,),
            labels=dict(SIZE_PROFILE_LABELS),
            description=f"'consistent' when the top size holds >= {min_share:g} of kept sized "
            f"lines, else 'varied'; null without sized lines, {g['window']}",
        )
    ]


# -- seasons ------------------------------------------------------------------------
def build_season_items(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w, season = g["window"], g["season"]
    mask = in_window(ctx, w) & kept(ctx) & (pl.col("season") == season).fill_null(False)
    return [_sum_units(name, mask, ("season",), f"kept units of {season} items, {w}")]


def _season_parts(g: Groups) -> tuple[pl.Expr, pl.Expr, pl.Expr, tuple[str, ...]]:
    w = g["window"]
    deps = tuple(f"apparel_season_items_{s}_{w}" for s in SEASON_KEYS)
    values = [pl.col(d) for d in deps]
    total = pl.sum_horizontal(values)
    return total > 0, _argmax_label(values, SEASON_KEYS), pl.max_horizontal(values) / total, deps


def build_top_season(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    has, top, _share, deps = _season_parts(g)
    return [
        Node(
            name,
            "derived",
            pl.when(has).then(top).alias(name),
            deps=deps,
            labels=dict(SEASON_LABELS),
            description=f"season (spring/summer/autumn/winter) of most kept seasonal units, "
            f"{g['window']}; ties: the earlier season; null without seasonal units",
        )
    ]


def build_top_season_share(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    has, _top, share, deps = _season_parts(g)
    return [
        Node(
            name,
            "derived",
            pl.when(has).then(share).alias(name),
            deps=deps,
            description=f"share of kept seasonal units in the top season, {g['window']}",
        )
    ]


def build_season_preference(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ("min_share",))
    min_share = share_param(name, p, 0.5)
    has, top, share, deps = _season_parts(g)
    expr = _dominant(has, top, share, min_share, BALANCED).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=deps,
            labels=dict(SEASON_PREFERENCE_LABELS),
            description=f"top season when it holds >= {min_share:g} of kept seasonal units, else "
            f"'balanced'; null without seasonal units, {g['window']}",
        )
    ]


def build_buying_season(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    check_params(name, p, ())
    w = g["window"]
    month = pl.col(TS).dt.month()
    helpers = []
    for s in SEASON_KEYS:
        helper = f"_{name}_{s}"
        mask = in_window(ctx, w) & kept(ctx) & month.is_in(list(SEASON_MONTHS[s]))
        helpers.append(
            Node(
                helper,
                "aggregate",
                masked(units(), mask).sum().cast(pl.Int64).alias(helper),
                table=TABLE,
                columns=(TS,),
                fill=0,
                role="helper",
            )
        )
    values = [pl.col(h.name) for h in helpers]
    expr = pl.when(pl.sum_horizontal(values) > 0).then(_argmax_label(values, SEASON_KEYS))
    return [
        Node(
            name,
            "derived",
            expr.alias(name),
            deps=tuple(h.name for h in helpers),
            labels=dict(SEASON_LABELS),
            description=f"season of purchase (Mar-May spring, Jun-Aug summer, Sep-Nov autumn, "
            f"Dec-Feb winter) with most kept units, {w}; null without kept units",
        ),
        *helpers,
    ]


# -- new arrivals --------------------------------------------------------------------
def _new_arrival(name: str, p: Params) -> tuple[pl.Expr, tuple[str, ...], str]:
    """(is a new-arrival line, columns read, description) from params days/basis."""
    check_params(name, p, ("days", "basis"))
    basis = p.get("basis", "launch_ts")
    if basis == "flag":
        if "days" in p:
            raise RuleSetError("days applies to basis launch_ts only, not to flag", name=name)
        return pl.col("is_new_arrival").fill_null(False), ("is_new_arrival",), "is_new_arrival"
    if basis != "launch_ts":
        raise RuleSetError(f"basis must be 'launch_ts' or 'flag', got {basis!r}", name=name)
    days = p.get("days", 30)
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise RuleSetError(f"days must be a positive whole number, got {days!r}", name=name)
    cond = (pl.col(TS) < pl.col("launch_ts") + pl.duration(days=days)).fill_null(False)
    return cond, ("launch_ts",), f"bought before launch_ts + {days} days"


def build_new_arrival_items(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    cond, columns, what = _new_arrival(name, p)
    w = g["window"]
    return [_sum_units(name, in_window(ctx, w) & cond, columns, f"units {what}, {w}")]


def build_new_arrival_share(ctx: BuildContext, name: str, g: Groups, p: Params) -> list[Node]:
    cond, columns, what = _new_arrival(name, p)
    w = g["window"]
    new, items = f"_{name}_new", f"apparel_items_{w}"
    return [
        Node(
            name,
            "derived",
            pl.when(pl.col(items) > 0).then(pl.col(new) / pl.col(items)).alias(name),
            deps=(new, items),
            description=f"share of units that were new arrivals ({what}), {w}; null without units",
        ),
        _sum_units(new, in_window(ctx, w) & cond, columns, "new-arrival units (helper)"),
    ]


# -- registration ----------------------------------------------------------------------
CAT = f"(?P<category>{KEY_RE}?)"
SEASON = f"(?P<season>{'|'.join((*SEASON_KEYS, ALL_SEASON))})"
T = (TABLE,)

DIMENSIONS: list[Dimension] = [
    Dimension(
        "apparel_items_<window>",
        build_items,
        "aggregate",
        "units bought (sum of quantity, kept or returned) in the window",
        "integer",
        pattern=f"apparel_items_{W}",
        tables=T,
        title={"zh": "购买件数", "en": "Units bought"},
        examples=("apparel_items_365d", "apparel_items_lifetime"),
    ),
    Dimension(
        "apparel_returned_items_<window>",
        build_returned_items,
        "aggregate",
        "units bought in the window and returned before the as-of",
        "integer",
        pattern=f"apparel_returned_items_{W}",
        tables=T,
        title={"zh": "退货件数", "en": "Units returned"},
        examples=("apparel_returned_items_365d",),
    ),
    Dimension(
        "apparel_return_rate",
        build_return_rate,
        "derived",
        "returned units / units bought (lifetime, or _<window>); null without units",
        "number",
        pattern=f"apparel_return_rate(_{W})?",
        tables=T,
        title={"zh": "退货率", "en": "Return rate"},
        examples=("apparel_return_rate", "apparel_return_rate_365d"),
    ),
    Dimension(
        "apparel_spend_<category>_<window>",
        build_spend,
        "aggregate",
        "amount of kept (not returned) lines in the window, of one category or all; exact",
        "number",
        pattern=f"apparel_spend_({CAT}_)?{W}",
        tables=T,
        title={"zh": "服装消费金额", "en": "Apparel spend"},
        examples=("apparel_spend_365d", "apparel_spend_dress_365d"),
    ),
    Dimension(
        "apparel_category_share_<category>_<window>",
        build_category_share,
        "derived",
        "share of kept spend in one category; null without kept spend",
        "number",
        pattern=f"apparel_category_share_{CAT}_{W}",
        tables=T,
        title={"zh": "品类消费占比", "en": "Category share of spend"},
        examples=("apparel_category_share_dress_365d",),
    ),
    Dimension(
        "apparel_category_count_<window>",
        build_category_count,
        "aggregate",
        "distinct categories among kept lines in the window",
        "integer",
        pattern=f"apparel_category_count_{W}",
        tables=T,
        title={"zh": "购买品类数", "en": "Categories bought"},
        examples=("apparel_category_count_365d",),
    ),
    Dimension(
        "apparel_top_category_<window>",
        build_top_category,
        "derived",
        "category with the largest kept spend (params.categories; 'other' for the rest)",
        "string",
        pattern=f"apparel_top_category_{W}",
        tables=T,
        title={"zh": "首选品类", "en": "Top category"},
        examples=("apparel_top_category_365d",),
    ),
    Dimension(
        "apparel_top_category_share_<window>",
        build_top_category_share,
        "derived",
        "share of kept spend in the top category",
        "number",
        pattern=f"apparel_top_category_share_{W}",
        tables=T,
        title={"zh": "首选品类占比", "en": "Top category share"},
        examples=("apparel_top_category_share_365d",),
    ),
    Dimension(
        "apparel_main_category_<window>",
        build_main_category,
        "derived",
        "category customer (连衣裙客户, 衬衫客户, ...): top category if it holds >= min_share "
        "(0.5) of kept spend, else mixed",
        "string",
        pattern=f"apparel_main_category_{W}",
        tables=T,
        title={"zh": "品类客户", "en": "Category customer"},
        examples=("apparel_main_category_365d",),
    ),
    Dimension(
        "apparel_size_<window>",
        build_size,
        "aggregate",
        "most frequent size among kept lines (ties: smaller letter size)",
        "string",
        pattern=f"apparel_size_{W}",
        tables=T,
        title={"zh": "常购尺码", "en": "Usual size"},
        examples=("apparel_size_365d", "apparel_size_lifetime"),
    ),
    Dimension(
        "apparel_size_share_<window>",
        build_size_share,
        "derived",
        "share of kept sized lines in the most frequent size",
        "number",
        pattern=f"apparel_size_share_{W}",
        tables=T,
        title={"zh": "常购尺码占比", "en": "Usual size share"},
        examples=("apparel_size_share_365d",),
    ),
    Dimension(
        "apparel_size_count_<window>",
        build_size_count,
        "aggregate",
        "distinct sizes among kept lines",
        "integer",
        pattern=f"apparel_size_count_{W}",
        tables=T,
        title={"zh": "尺码个数", "en": "Sizes bought"},
        examples=("apparel_size_count_365d",),
    ),
    Dimension(
        "apparel_size_profile_<window>",
        build_size_profile,
        "derived",
        "consistent (top size >= min_share, 0.75, of sized lines) or varied",
        "string",
        pattern=f"apparel_size_profile_{W}",
        tables=T,
        title={"zh": "尺码稳定性", "en": "Size consistency"},
        examples=("apparel_size_profile_365d",),
    ),
    Dimension(
        "apparel_season_items_<season>_<window>",
        build_season_items,
        "aggregate",
        "kept units of items of a season (spring, summer, autumn, winter, all)",
        "integer",
        pattern=f"apparel_season_items_{SEASON}_{W}",
        tables=T,
        title={"zh": "季节款件数", "en": "Seasonal units"},
        examples=("apparel_season_items_winter_365d",),
    ),
    Dimension(
        "apparel_top_season_<window>",
        build_top_season,
        "derived",
        "item season with the most kept units (spring/summer/autumn/winter)",
        "string",
        pattern=f"apparel_top_season_{W}",
        tables=T,
        title={"zh": "偏好季节", "en": "Top season"},
        examples=("apparel_top_season_365d",),
    ),
    Dimension(
        "apparel_top_season_share_<window>",
        build_top_season_share,
        "derived",
        "share of kept seasonal units in the top season",
        "number",
        pattern=f"apparel_top_season_share_{W}",
        tables=T,
        title={"zh": "偏好季节占比", "en": "Top season share"},
        examples=("apparel_top_season_share_365d",),
    ),
    Dimension(
        "apparel_season_preference_<window>",
        build_season_preference,
        "derived",
        "season buyer (春装客户, ...): top season if >= min_share (0.5) of seasonal units, "
        "else balanced",
        "string",
        pattern=f"apparel_season_preference_{W}",
        tables=T,
        title={"zh": "季节偏好", "en": "Season preference"},
        examples=("apparel_season_preference_365d",),
    ),
    Dimension(
        "apparel_buying_season_<window>",
        build_buying_season,
        "derived",
        "season of purchase (by month of item_ts) with the most kept units",
        "string",
        pattern=f"apparel_buying_season_{W}",
        tables=T,
        title={"zh": "购买季节", "en": "Buying season"},
        examples=("apparel_buying_season_365d",),
    ),
    Dimension(
        "apparel_new_arrival_items_<window>",
        build_new_arrival_items,
        "aggregate",
        "units bought as new arrivals (within params.days, 30, of launch_ts)",
        "integer",
        pattern=f"apparel_new_arrival_items_{W}",
        tables=T,
        title={"zh": "新品件数", "en": "New-arrival units"},
        examples=("apparel_new_arrival_items_365d",),
    ),
    Dimension(
        "apparel_new_arrival_share_<window>",
        build_new_arrival_share,
        "derived",
        "share of units bought as new arrivals; null without units",
        "number",
        pattern=f"apparel_new_arrival_share_{W}",
        tables=T,
        title={"zh": "新品占比", "en": "New-arrival share"},
        examples=("apparel_new_arrival_share_365d",),
    ),
]
