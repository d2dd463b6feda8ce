"""Core dimensions: recency, frequency, money, lifecycle inputs, events, feedback,
messages, demographics, geography, transaction stage and the activity index.

Windowed dimensions are families: ``orders_<window>`` answers to ``orders_30d``,
``orders_12w`` and ``orders_lifetime`` alike. Order dimensions count only orders
whose (normalized) status is ``paid`` unless their name says otherwise.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from segrule.errors import RuleSetError
from segrule.model.geo import CITY_REGION, CITY_TIER, REGION_LABELS, TIER_LABELS
from segrule.model.nodes import (
    WINDOW_RE,
    BuildContext,
    Dimension,
    Label,
    Node,
    Window,
    cents_to_units,
    masked,
    money_nodes,
    parse_window,
)
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Register

PAID = pl.col("status") == "paid"
INTENT_EVENT_TYPES = ("view", "cart", "favorite", "inquiry")


def _labels(mapping: dict[str, tuple[str, str]]) -> dict[str, Label]:
    return {k: Label(k, zh, en) for k, (zh, en) in mapping.items()}


def _count(
    ctx: BuildContext,
    name: str,
    table: str,
    ts: str,
    cond: pl.Expr,
    window: str | None,
    columns: tuple[str, ...],
    description: str,
) -> list[Node]:
    mask = cond & ctx.in_window(ts, window)
    expr = mask.sum().cast(pl.Int64).alias(name)
    return [
        Node(
            name,
            "aggregate",
            expr,
            table=table,
            columns=(ts, *columns),
            fill=0,
            description=description,
            mask=mask,
            window=_window(table, ts, window, cond),
        )
    ]


def _window(
    table: str, ts: str, window: str | None, rows: pl.Expr, value: pl.Expr | None = None
) -> Window | None:
    """The window of a count or sum (for roll-off dates); None for lifetime."""
    delta = parse_window(window)
    return None if delta is None else Window(table, ts, delta.days, rows, value)


def _orders(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    return _count(
        ctx,
        name,
        "orders",
        "order_ts",
        PAID,
        g["window"],
        ("status",),
        f"paid orders, {g['window']}",
    )


def _status_orders(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    status = g["status"]
    return _count(
        ctx,
        name,
        "orders",
        "order_ts",
        pl.col("status") == status,
        g["window"],
        ("status",),
        f"{status} orders, {g['window']}",
    )


def _monetary(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    cond = PAID & ctx.in_window("order_ts", g["window"])
    nodes = money_nodes(
        name,
        masked(pl.col("amount_cents"), cond).sum(),
        table="orders",
        columns=("order_ts", "status", "amount_cents"),
        description=f"sum of paid order amounts, {g['window']} (exact, 2 decimals)",
        mask=cond,
    )
    nodes[1].window = _window("orders", "order_ts", g["window"], PAID, pl.col("amount_cents"))
    return nodes


def _order_ts(which: str) -> Any:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        col = masked(pl.col("order_ts"), PAID)
        expr = (col.min() if which == "first" else col.max()).alias(name)
        return [
            Node(
                name,
                "aggregate",
                expr,
                table="orders",
                columns=("order_ts", "status"),
                description=f"time of the {which} paid order",
                mask=PAID,
            )
        ]

    return build


def _days_since(source: str, description: str) -> Any:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        expr = (ctx.as_of_lit() - pl.col(source)).dt.total_days().cast(pl.Int64).alias(name)
        return [Node(name, "derived", expr, deps=(source,), description=description)]

    return build


def _as_of(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    return [
        Node(
            name,
            "constant",
            ctx.as_of_lit().alias(name),
            description="the as-of instant (wall time in the business time zone)",
        )
    ]


def _avg_order_value(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    w = g.get("window") or "lifetime"
    cents, n = f"_monetary_{w}_cents", f"orders_{w}"
    # The mean in whole cents, ties to even (column / column division is exact IEEE), then
    # to units exactly: a float round(2) of cents / n / 100 broke x.xx5 ties either way.
    mean_cents = (pl.col(cents) / pl.when(pl.col(n) > 0).then(pl.col(n))).round(0)
    expr = cents_to_units(mean_cents.cast(pl.Int64)).alias(name)
    # monetary_<w> builds the hidden cents node; naming it here makes it resolvable.
    return [
        Node(
            name,
            "derived",
            expr,
            deps=(f"monetary_{w}", cents, n),
            description="average paid order value (null without paid orders)",
        )
    ]


def _refund_rate(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g.get("window") or "lifetime"
    refunded, paid = f"refunded_orders_{w}", f"orders_{w}"
    total = pl.col(refunded) + pl.col(paid)
    expr = pl.when(total > 0).then(pl.col(refunded) / total).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=(refunded, paid),
            description="refunded orders / (paid + refunded orders); null if none",
        )
    ]


def _events(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    etype = g.get("type")
    # A column-shaped mask, never a bare literal: lit(True).sum() is 1 per group, not a count.
    cond = pl.col("event_ts").is_not_null() if etype is None else pl.col("event_type") == etype
    return _count(
        ctx,
        name,
        "events",
        "event_ts",
        cond,
        g["window"],
        ("event_type",),
        f"events of type {etype or 'any'}, {g['window']}",
    )


def _intent_events(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    cond = pl.col("event_type").is_in(list(p.get("types", INTENT_EVENT_TYPES)))
    return _count(
        ctx,
        name,
        "events",
        "event_ts",
        cond,
        g["window"],
        ("event_type",),
        "intent events (view, cart, favorite, inquiry)",
    )


def _feedback_mean(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    w = g.get("window")
    cond = ctx.in_window("ts", w)
    s, c = f"_{name}_sum", f"_{name}_n"
    # Sum then divide: integer scores sum exactly, so the mean does not depend on row order.
    return [
        Node(
            name,
            "derived",
            pl.when(pl.col(c) > 0).then(pl.col(s) / pl.col(c)).alias(name),
            deps=(s, c),
            description="mean feedback score (null without feedback)",
        ),
        Node(
            s,
            "aggregate",
            masked(pl.col("score"), cond).sum().alias(s),
            table="feedback",
            columns=("ts", "score"),
            fill=0,
            role="helper",
            mask=cond,
        ),
        Node(
            c,
            "aggregate",
            masked(pl.col("score"), cond).count().cast(pl.Int64).alias(c),
            table="feedback",
            columns=("ts", "score"),
            fill=0,
            role="helper",
            mask=cond,
        ),
    ]


def _feedback_count(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    return _count(
        ctx,
        name,
        "feedback",
        "ts",
        pl.col("score").is_not_null(),
        g["window"],
        ("score",),
        f"feedback given, {g['window']}",
    )


def _messages(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    # A message whose text is null or blank says nothing: it does not count.
    written = pl.col("text").str.strip_chars().str.len_chars() > 0
    return _count(
        ctx,
        name,
        "messages",
        "ts",
        written,
        g["window"],
        ("text",),
        f"messages with text (reviews, chats, tickets), {g['window']}",
    )


def _attribute(column: str, description: str, labels: dict[str, Label] | None = None) -> Any:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        return [
            Node(
                name,
                "attribute",
                pl.col(column).alias(name),
                table="customers",
                columns=(column,),
                description=description,
                labels=labels or {},
            )
        ]

    return build


def _age(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    expr = (pl.lit(ctx.as_of.year) - pl.col("birth_year")).cast(pl.Int64).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=("birth_year",),
            description="age in years at the as-of year (from birth_year)",
        )
    ]


GENERATION_LABELS = {
    f"born_{d}s": Label(f"born_{d}s", f"{d % 100:02d}后", f"Born {d}s")
    for d in range(1900, 2030, 10)
}


def _generation(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    decade = (pl.col("birth_year") // 10 * 10).cast(pl.Int64).cast(pl.String)
    expr = pl.concat_str(pl.lit("born_"), decade, pl.lit("s")).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=("birth_year",),
            labels=GENERATION_LABELS,
            description="generation by birth decade: 70后, 80后, 90后, 00后, ...",
        )
    ]


DEFAULT_AGE_BANDS: list[dict[str, Any]] = [
    {"label": "infant", "below": 7, "zh": "婴幼儿", "en": "Infant"},
    {"label": "youth", "below": 18, "zh": "青少年", "en": "Youth"},
    {"label": "adult", "below": 45, "zh": "中青年", "en": "Young adult"},
    {"label": "senior", "zh": "中老年", "en": "Middle-aged and senior"},
]


def _age_band(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    bands = p.get("bands", DEFAULT_AGE_BANDS)
    bounds = [b["below"] for b in bands if "below" in b]
    if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
        raise RuleSetError(f"age band bounds {bounds} must be strictly increasing", name=name)
    if any("below" not in b for b in bands[:-1]):
        raise RuleSetError("every age band but the last needs 'below'", name=name)
    expr: Any = pl
    for b in bands:
        cond = pl.col("age") < b["below"] if "below" in b else pl.col("age").is_not_null()
        expr = expr.when(cond).then(pl.lit(b["label"]))
    labels = {b["label"]: Label(b["label"], b.get("zh"), b.get("en")) for b in bands}
    return [
        Node(
            name,
            "derived",
            expr.otherwise(None).alias(name),
            deps=("age",),
            labels=labels,
            description="age band (configurable with params.bands)",
        )
    ]


def _city_lookup(mapping: dict[str, str], labels: dict[str, tuple[str, str]], what: str) -> Any:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        expr = pl.col("city").replace_strict(mapping, default=None, return_dtype=pl.String)
        return [
            Node(
                name,
                "derived",
                expr.alias(name),
                deps=("city",),
                labels=_labels(labels),
                description=f"{what} of the customer's city (null when the city is unknown)",
            )
        ]

    return build


def _membership(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    expr = (
        pl.when(pl.col("is_member"))
        .then(pl.lit("member"))
        .when(pl.col("is_member").not_())
        .then(pl.lit("non_member"))
        .otherwise(pl.lit("unknown"))
    ).alias(name)
    labels = _labels(
        {
            "member": ("会员", "Member"),
            "non_member": ("非会员", "Non-member"),
            "unknown": ("未知", "Unknown"),
        }
    )
    return [
        Node(
            name,
            "derived",
            expr,
            deps=("is_member",),
            labels=labels,
            description="member / non_member / unknown",
        )
    ]


STAGE_LABELS = _labels(
    {
        "prospect": ("潜在客户", "Prospect"),
        "intent": ("意向客户", "Intent"),
        "ordered_unpaid": ("准客户", "Ordered, unpaid"),
        "buyer": ("成交客户", "Buyer"),
        "after_sales": ("售后客户", "After-sales"),
    }
)


def _transaction_stage(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    w = p.get("after_sales_window", "30d")
    deps = (
        f"refunded_orders_{w}",
        f"events_after_sales_{w}",
        f"events_complaint_{w}",
        "orders_lifetime",
        "pending_orders_lifetime",
        "intent_events_lifetime",
    )
    c = [pl.col(d) for d in deps]
    expr = (
        pl.when((c[0] > 0) | (c[1] > 0) | (c[2] > 0))
        .then(pl.lit("after_sales"))
        .when(c[3] > 0)
        .then(pl.lit("buyer"))
        .when(c[4] > 0)
        .then(pl.lit("ordered_unpaid"))
        .when(c[5] > 0)
        .then(pl.lit("intent"))
        .otherwise(pl.lit("prospect"))
    ).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=deps,
            labels=STAGE_LABELS,
            description="prospect, intent (browsed/asked), ordered_unpaid, buyer, "
            f"after_sales (refund or after-sales request in {w})",
        )
    ]


def _activity_index(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    half_life = float(p.get("half_life_days", g.get("half_life") or 30))
    if half_life <= 0:
        raise RuleSetError("half_life_days must be positive", name=name)
    age_days = (ctx.as_of_lit() - pl.col("order_ts")).dt.total_microseconds() / 86_400e6
    weight = pl.lit(0.5).pow(age_days / half_life)
    # Rounded so that summation order (which streaming does not fix) cannot show.
    expr = masked(weight, PAID).sum().round(6).alias(name)
    return [
        Node(
            name,
            "aggregate",
            expr,
            table="orders",
            columns=("order_ts", "status"),
            fill=0.0,
            description=f"sum over paid orders of 0.5^(age_days/{half_life:g}): "
            "rises with each purchase, halves every half-life",
            mask=PAID,
        )
    ]


W = f"(?P<window>{WINDOW_RE})"
DIMENSIONS: list[Dimension] = [
    Dimension(
        "as_of",
        _as_of,
        "derived",
        "the as-of instant, for conditions such as first_order_ts >= as_of - INTERVAL '90 days'",
        "datetime",
    ),
    Dimension(
        "orders_<window>",
        _orders,
        "aggregate",
        "number of paid orders in the window",
        "integer",
        pattern=f"orders_{W}",
        tables=("orders",),
        examples=("orders_30d", "orders_12w", "orders_lifetime"),
    ),
    Dimension(
        "<status>_orders_<window>",
        _status_orders,
        "aggregate",
        "orders of a status (pending, refunded, cancelled) in the window",
        "integer",
        pattern=f"(?P<status>pending|refunded|cancelled)_orders_{W}",
        tables=("orders",),
        examples=("refunded_orders_90d", "pending_orders_lifetime"),
    ),
    Dimension(
        "monetary_<window>",
        _monetary,
        "aggregate",
        "sum of paid order amounts in the window, exact to the cent",
        "number",
        pattern=f"monetary_{W}",
        tables=("orders",),
        examples=("monetary_365d", "monetary_lifetime"),
    ),
    Dimension(
        "first_order_ts",
        _order_ts("first"),
        "aggregate",
        "time of the first paid order",
        "datetime",
        tables=("orders",),
    ),
    Dimension(
        "last_order_ts",
        _order_ts("last"),
        "aggregate",
        "time of the last paid order",
        "datetime",
        tables=("orders",),
    ),
    Dimension(
        "recency_days",
        _days_since(
            "last_order_ts", "whole days since the last paid order (floor); null without one"
        ),
        "derived",
        "whole days since the last paid order",
        "integer",
        tables=("orders",),
    ),
    Dimension(
        "tenure_days",
        _days_since("first_order_ts", "whole days since the first paid order"),
        "derived",
        "whole days since the first paid order",
        "integer",
        tables=("orders",),
    ),
    Dimension(
        "avg_order_value",
        _avg_order_value,
        "derived",
        "average paid order value",
        "number",
        pattern=f"avg_order_value(_{W})?",
        tables=("orders",),
        examples=("avg_order_value", "avg_order_value_365d"),
    ),
    Dimension(
        "refund_rate",
        _refund_rate,
        "derived",
        "refunded / (paid + refunded) orders",
        "number",
        pattern=f"refund_rate(_{W})?",
        tables=("orders",),
        examples=("refund_rate", "refund_rate_365d"),
    ),
    Dimension(
        "events_<type>_<window>",
        _events,
        "aggregate",
        "events (of one type, or all) in the window",
        "integer",
        pattern=f"events_((?P<type>[a-z][a-z0-9_]*?)_)?{W}",
        tables=("events",),
        examples=("events_campaign_30d", "events_lifetime"),
    ),
    Dimension(
        "intent_events_<window>",
        _intent_events,
        "aggregate",
        "view/cart/favorite/inquiry events in the window",
        "integer",
        pattern=f"intent_events_{W}",
        tables=("events",),
    ),
    Dimension(
        "feedback_mean",
        _feedback_mean,
        "derived",
        "mean feedback score",
        "number",
        pattern=f"feedback_mean(_{W})?",
        tables=("feedback",),
        examples=("feedback_mean", "feedback_mean_365d"),
    ),
    Dimension(
        "feedback_count_<window>",
        _feedback_count,
        "aggregate",
        "feedback given",
        "integer",
        pattern=f"feedback_count_{W}",
        tables=("feedback",),
    ),
    Dimension(
        "messages_<window>",
        _messages,
        "aggregate",
        "messages written (non-blank text) in the window",
        "integer",
        pattern=f"messages_{W}",
        tables=("messages",),
        examples=("messages_365d", "messages_lifetime"),
    ),
    Dimension(
        "birth_year",
        _attribute("birth_year", "year of birth"),
        "attribute",
        "year of birth",
        "integer",
        tables=("customers",),
    ),
    Dimension(
        "gender",
        _attribute("gender", "gender"),
        "attribute",
        "gender",
        "string",
        tables=("customers",),
    ),
    Dimension(
        "city",
        _attribute("city", "city of residence"),
        "attribute",
        "city of residence",
        "string",
        tables=("customers",),
    ),
    Dimension(
        "is_member",
        _attribute("is_member", "loyalty programme member"),
        "attribute",
        "loyalty programme member",
        "boolean",
        tables=("customers",),
    ),
    Dimension(
        "signup_ts",
        _attribute("signup_ts", "sign-up time"),
        "attribute",
        "sign-up time",
        "datetime",
        tables=("customers",),
    ),
    Dimension("age", _age, "derived", "age at the as-of year", "integer", tables=("customers",)),
    Dimension(
        "generation",
        _generation,
        "derived",
        "birth decade: 70后/80后/90后/00后",
        "string",
        tables=("customers",),
    ),
    Dimension(
        "age_band",
        _age_band,
        "derived",
        "婴幼儿/青少年/中青年/中老年 bands; params.bands to change",
        "string",
        tables=("customers",),
    ),
    Dimension(
        "city_tier",
        _city_lookup(CITY_TIER, TIER_LABELS, "commercial tier"),
        "derived",
        "一线/新一线/二线/三线 of the city",
        "string",
        tables=("customers",),
    ),
    Dimension(
        "region",
        _city_lookup(CITY_REGION, REGION_LABELS, "region"),
        "derived",
        "华北/东北/华东/华中/华南/西南/西北 of the city",
        "string",
        tables=("customers",),
    ),
    Dimension(
        "membership",
        _membership,
        "derived",
        "member / non_member / unknown",
        "string",
        tables=("customers",),
    ),
    Dimension(
        "transaction_stage",
        _transaction_stage,
        "derived",
        "prospect, intent, ordered_unpaid, buyer, after_sales",
        "string",
        tables=("orders", "events"),
    ),
    Dimension(
        "activity_index",
        _activity_index,
        "aggregate",
        "purchases weighted by 0.5^(age/half-life): rises with buying, decays with time",
        "number",
        pattern=r"activity_index(_(?P<half_life>\d+)d)?",
        tables=("orders",),
        examples=("activity_index", "activity_index_90d"),
    ),
]


# Display names (zh, en); "{window}"/"{type}"/"{status}" are the name's parts.
TITLES: dict[str, tuple[str, str]] = {
    "as_of": ("截至时间", "as-of"),
    "orders_<window>": ("付款订单数 {window}", "paid orders {window}"),
    "<status>_orders_<window>": ("{status} 订单数 {window}", "{status} orders {window}"),
    "monetary_<window>": ("消费金额 {window}", "spend {window}"),
    "first_order_ts": ("首次购买时间", "first paid order"),
    "last_order_ts": ("最近购买时间", "last paid order"),
    "recency_days": ("距最近购买天数", "days since the last order"),
    "tenure_days": ("首购至今天数", "days since the first order"),
    "avg_order_value": ("客单价 {window}", "average order value {window}"),
    "refund_rate": ("退款率 {window}", "refund rate {window}"),
    "events_<type>_<window>": ("{type} 事件数 {window}", "{type} events {window}"),
    "intent_events_<window>": ("意向行为数 {window}", "intent events {window}"),
    "feedback_mean": ("平均满意度 {window}", "mean feedback {window}"),
    "feedback_count_<window>": ("评价次数 {window}", "feedback count {window}"),
    "messages_<window>": ("留言数 {window}", "messages {window}"),
    "birth_year": ("出生年份", "birth year"),
    "gender": ("性别", "gender"),
    "city": ("城市", "city"),
    "is_member": ("是否会员", "member"),
    "signup_ts": ("注册时间", "signed up"),
    "age": ("年龄", "age"),
    "generation": ("年代", "generation"),
    "age_band": ("年龄段", "age band"),
    "city_tier": ("城市等级", "city tier"),
    "region": ("地区", "region"),
    "membership": ("会员状态", "membership"),
    "transaction_stage": ("交易阶段", "transaction stage"),
    "activity_index": ("活跃指数", "activity index"),
}
for _dim in DIMENSIONS:
    if _dim.name in TITLES and not _dim.title:
        _zh, _en = TITLES[_dim.name]
        _dim.title = {"zh": _zh, "en": _en}


@hookimpl
def segrule_register_dimensions(register: Register) -> None:
    for dim in DIMENSIONS:
        register(dim)
