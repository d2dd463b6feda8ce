"""Group-buy dimensions: polars expressions only (no Python per row or per customer).

Families take a window (``<n>d``, ``<n>w`` or ``lifetime``) in their name:
``groupbuy_promo_share_365d``, ``groupbuy_groups_started_lifetime``. Order-based
dimensions count paid orders only (status ``paid``), like core's ``orders_<window>``.
Shares and rates are NULL when their denominator is 0; counts are 0 for customers
without rows. Averages are computed from integer basis points (1/10000), so they do
not depend on the order in which the streaming engine adds rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from segrule.plugin import WINDOW_RE, BuildContext, Dimension, Label, Node, RuleSetError, masked

from segrule_groupbuy.tables import GROUPS, REFERRALS, SOURCE_LABELS, TOUCHES

W = f"(?P<window>{WINDOW_RE})"
PAID = pl.col("status") == "paid"
SERVICE_EVENT_TYPES = ("inquiry", "complaint", "after_sales")
BROWSE_EVENT_TYPES = ("view", "favorite", "cart", "share")

SOURCE_LABEL_MAP = {k: Label(k, zh, en) for k, (zh, en) in SOURCE_LABELS.items()}
ROLE_LABELS = {
    "initiator": Label("initiator", "团长/发起人", "Group initiator"),
    "joiner": Label("joiner", "参团者", "Group joiner"),
    "none": Label("none", "未参团", "No group-buy"),
}
ACTIVITY_LABELS = {
    "active": Label("active", "活跃客户", "Active buyer"),
    "browsing_only": Label("browsing_only", "只浏览不购买", "Browsing only (never bought)"),
    "browsing_lapsed": Label("browsing_lapsed", "浏览未复购", "Browsing, not buying again"),
    "dormant": Label("dormant", "沉睡客户", "Dormant buyer"),
    "inactive": Label("inactive", "无互动", "Inactive"),
}

Builder = Any


def _int_param(params: dict[str, Any], key: str, default: int, name: str) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RuleSetError(f"params.{key} must be a whole number >= 1, got {value!r}", name=name)
    return value


def _types_param(params: dict[str, Any], default: Sequence[str], name: str) -> list[str]:
    types = params.get("types", list(default))
    if not isinstance(types, list) or not types or not all(isinstance(t, str) and t for t in types):
        raise RuleSetError(
            f"params.types must be a non-empty list of event types, got {types!r}", name=name
        )
    return types


def _agg(
    name: str,
    expr: pl.Expr,
    table: str,
    columns: tuple[str, ...],
    description: str,
    *,
    fill: Any = 0,
    role: str = "dimension",
    labels: dict[str, Label] | None = None,
) -> Node:
    return Node(
        name,
        "aggregate",
        expr.alias(name),
        table=table,
        columns=columns,
        fill=fill,
        description=description,
        role=role,
        labels=labels or {},
    )


def _ratio(name: str, num: str, den: str, description: str) -> Node:
    """num / den as a float, NULL when den is 0 (SQL semantics)."""
    expr = pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).alias(name)
    return Node(name, "derived", expr, deps=(num, den), description=description)


def _mean_bp(
    name: str, bp: pl.Expr, mask: pl.Expr, table: str, columns: tuple[str, ...], desc: str
) -> list[Node]:
    """The mean of a 0..1 value over masked rows, from integer basis points (exact)."""
    s, n = f"_{name}_bp", f"_{name}_n"
    value = bp.filter(mask)
    mean = pl.when(pl.col(n) > 0).then((pl.col(s) / pl.col(n) / 10_000).round(6))
    return [
        Node(name, "derived", mean.alias(name), deps=(s, n), description=desc),
        _agg(s, value.sum().cast(pl.Int64), table, columns, "", role="helper"),
        _agg(n, value.count().cast(pl.Int64), table, columns, "", role="helper"),
    ]


def _bp(value: pl.Expr) -> pl.Expr:
    return (value * 10_000).round(0).cast(pl.Int64)


# -- orders: price sensitivity ------------------------------------------------------------
COUPON = pl.col("coupon_used").fill_null(False)
PROMO = COUPON | (pl.col("discount").fill_null(0.0) > 0)


def coupon_orders(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    mask = PAID & COUPON & ctx.in_window("order_ts", g["window"])
    return [
        _agg(
            name,
            mask.sum().cast(pl.Int64),
            "orders",
            ("order_ts", "status", "coupon_used"),
            f"paid orders with a coupon, {g['window']}",
        )
    ]


def promo_orders(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    mask = PAID & PROMO & ctx.in_window("order_ts", g["window"])
    return [
        _agg(
            name,
            mask.sum().cast(pl.Int64),
            "orders",
            ("order_ts", "status", "coupon_used", "discount"),
            f"paid orders with a coupon or a discount > 0, {g['window']}",
        )
    ]


def coupon_share(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g["window"]
    return [
        _ratio(
            name,
            f"groupbuy_coupon_orders_{w}",
            f"orders_{w}",
            f"share of paid orders with a coupon, {w} (null without paid orders)",
        )
    ]


def promo_share(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g["window"]
    return [
        _ratio(
            name,
            f"groupbuy_promo_orders_{w}",
            f"orders_{w}",
            f"share of paid orders with a coupon or discount, {w} (null without paid orders)",
        )
    ]


def avg_discount(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g["window"]
    mask = PAID & pl.col("discount").is_not_null() & ctx.in_window("order_ts", w)
    return _mean_bp(
        name,
        _bp(pl.col("discount")),
        mask,
        "orders",
        ("order_ts", "status", "discount"),
        f"mean discount (0..1) of paid orders, {w} (null without a paid order with a discount)",
    )


def top_category(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g["window"]
    mask = PAID & pl.col("category").is_not_null() & ctx.in_window("order_ts", w)
    # mode() keeps every tied value; min() picks the alphabetically first of them.
    expr = pl.col("category").filter(mask).mode().min()
    return [
        _agg(
            name,
            expr,
            "orders",
            ("order_ts", "status", "category"),
            f"category with the most paid orders, {w} (ties: alphabetically first)",
            fill=None,
        )
    ]


# -- groups: initiators and joiners, premium deals, deal depth ----------------------------
def _group_mask(ctx: BuildContext, window: str) -> pl.Expr:
    # column-shaped even for lifetime (a bare literal would aggregate to one value)
    return pl.col("group_id").is_not_null() & ctx.in_window("joined_ts", window)


def _distinct_groups(mask: pl.Expr) -> pl.Expr:
    return pl.col("group_id").filter(mask).n_unique().cast(pl.Int64)


def participations(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    w = g["window"]
    return [
        _agg(
            name,
            _distinct_groups(_group_mask(ctx, w)),
            GROUPS,
            ("joined_ts", "group_id"),
            f"distinct groups taken part in (any role), {w}",
        )
    ]


def _role_count(role: str, status: str | None, what: str) -> Builder:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        w = g["window"]
        mask = _group_mask(ctx, w) & (pl.col("role") == role)
        columns: tuple[str, ...] = ("joined_ts", "group_id", "role")
        if status is not None:
            mask = mask & (pl.col("status") == status)
            columns = (*columns, "status")
        return [_agg(name, _distinct_groups(mask), GROUPS, columns, f"{what}, {w}")]

    return build


def joiners_brought(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    w = g["window"]
    mask = _group_mask(ctx, w) & (pl.col("role") == "initiator")
    expr = masked((pl.col("group_size") - 1).clip(lower_bound=0), mask).sum().cast(pl.Int64)
    # group_size is not listed: the prepare hook derives it from group_id when the source
    # has no such column, and the column check runs before that hook.
    return [
        _agg(
            name,
            expr,
            GROUPS,
            ("joined_ts", "group_id", "role"),
            f"other participants in the groups the customer started (sum of group_size - 1), {w}",
        )
    ]


def premium_share(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g["window"]
    premium = f"_groupbuy_premium_groups_{w}"
    mask = _group_mask(ctx, w) & pl.col("premium").fill_null(False)
    return [
        _ratio(
            name,
            premium,
            f"groupbuy_participations_{w}",
            f"share of the groups taken part in whose deal is premium, {w} (null without groups)",
        ),
        _agg(
            premium,
            _distinct_groups(mask),
            GROUPS,
            ("joined_ts", "group_id", "premium"),
            "",
            role="helper",
        ),
    ]


def deal_depth(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g["window"]
    depth = (1 - pl.col("deal_price") / pl.col("list_price")).clip(0.0, 1.0)
    mask = _group_mask(ctx, w) & (pl.col("list_price") > 0) & pl.col("deal_price").is_not_null()
    return _mean_bp(
        name,
        _bp(depth),
        mask,
        GROUPS,
        ("joined_ts", "group_id", "list_price", "deal_price"),
        f"mean group-deal discount 1 - deal_price / list_price (clipped to 0..1), {w}",
    )


def role(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g.get("window") or "lifetime"
    min_started = _int_param(p, "min_started", 1, name)
    started, joined = f"groupbuy_groups_started_{w}", f"groupbuy_groups_joined_{w}"
    expr = (
        pl.when(pl.col(started) >= min_started)
        .then(pl.lit("initiator"))
        .when(pl.col(started) + pl.col(joined) > 0)
        .then(pl.lit("joiner"))
        .otherwise(pl.lit("none"))
    ).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=(started, joined),
            labels=dict(ROLE_LABELS),
            description=f"initiator (started >= {min_started} groups), joiner (took part "
            f"otherwise) or none, {w}",
        )
    ]


# -- events: service sensitivity, browsing, activity -------------------------------------
def _event_count(
    ctx: BuildContext, name: str, window: str, types: list[str], description: str, role: str
) -> Node:
    mask = pl.col("event_type").is_in(types) & ctx.in_window("event_ts", window)
    return _agg(
        name,
        mask.sum().cast(pl.Int64),
        "events",
        ("event_ts", "event_type"),
        description,
        role=role,
    )


def service_contacts(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    types = _types_param(p, SERVICE_EVENT_TYPES, name)
    w = g["window"]
    desc = f"service contacts ({', '.join(types)} events), {w}"
    return [_event_count(ctx, name, w, types, desc, "dimension")]


def service_rate(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    types = _types_param(p, SERVICE_EVENT_TYPES, name)
    w = g["window"]
    contacts = f"_{name}_contacts"
    return [
        _ratio(
            name,
            contacts,
            f"orders_{w}",
            f"service contacts ({', '.join(types)}) per paid order, {w} (null without paid orders)",
        ),
        _event_count(ctx, contacts, w, types, "", "helper"),
    ]


def browse_events(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    types = _types_param(p, BROWSE_EVENT_TYPES, name)
    w = g["window"]
    desc = f"browsing events ({', '.join(types)}), {w}"
    return [_event_count(ctx, name, w, types, desc, "dimension")]


def activity(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g["window"]
    min_orders = _int_param(p, "min_orders", 1, name)
    min_browse = _int_param(p, "min_browse", 1, name)
    types = _types_param(p, BROWSE_EVENT_TYPES, name)
    browse, orders, ever = f"_{name}_browse", f"orders_{w}", "orders_lifetime"
    o, e, b = pl.col(orders), pl.col(ever), pl.col(browse)
    expr = (
        pl.when(o >= min_orders)
        .then(pl.lit("active"))
        .when((e == 0) & (b >= min_browse))
        .then(pl.lit("browsing_only"))
        .when(b >= min_browse)
        .then(pl.lit("browsing_lapsed"))
        .when(e > 0)
        .then(pl.lit("dormant"))
        .otherwise(pl.lit("inactive"))
    ).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=(orders, ever, browse),
            labels=dict(ACTIVITY_LABELS),
            description=f"active (>= {min_orders} paid orders in {w}), browsing_only (never "
            "bought, browsed), browsing_lapsed (bought before, browsed), dormant, inactive",
        ),
        _event_count(ctx, browse, w, types, "", "helper"),
    ]


# -- touches: acquisition source -----------------------------------------------------------
def _touch_source(which: str) -> Builder:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        # Ties at the same instant: the alphabetically first (or last) source, so the
        # answer never depends on row order.
        ordered = pl.col("source").sort_by(["touch_ts", "source"], nulls_last=True).drop_nulls()
        expr = ordered.first() if which == "first" else ordered.last()
        return [
            _agg(
                name,
                expr,
                TOUCHES,
                ("touch_ts", "source"),
                f"source of the {which} touch before the as-of instant (null without touches)",
                fill=None,
                labels=dict(SOURCE_LABEL_MAP),
            )
        ]

    return build


def first_touch_ts(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    return [
        _agg(
            name,
            pl.col("touch_ts").min(),
            TOUCHES,
            ("touch_ts",),
            "time of the first touch (acquisition)",
            fill=None,
        )
    ]


# -- referrals -----------------------------------------------------------------------------
def _converted(ctx: BuildContext) -> pl.Expr:
    return pl.col("converted_ts").is_not_null() & (pl.col("converted_ts") < ctx.as_of_lit())


def referrals(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    w = g["window"]
    mask = pl.col("referral_ts").is_not_null() & ctx.in_window("referral_ts", w)
    return [
        _agg(
            name,
            mask.sum().cast(pl.Int64),
            REFERRALS,
            ("referral_ts",),
            f"invitations sent, {w}",
        )
    ]


def referrals_converted(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    w = g["window"]
    mask = _converted(ctx) & ctx.in_window("referral_ts", w)
    return [
        _agg(
            name,
            mask.sum().cast(pl.Int64),
            REFERRALS,
            ("referral_ts", "converted_ts"),
            f"successful referrals (invitee paid before the as-of), invited in {w}",
        )
    ]


def referred_customers(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    w = g["window"]
    mask = _converted(ctx) & ctx.in_window("referral_ts", w)
    expr = pl.col("referred_id").filter(mask).drop_nulls().n_unique().cast(pl.Int64)
    return [
        _agg(
            name,
            expr,
            REFERRALS,
            ("referral_ts", "converted_ts", "referred_id"),
            f"distinct customers brought in (converted invitees), invited in {w}",
        )
    ]


def _family(
    stem: str,
    build: Builder,
    description: str,
    dtype: str,
    tables: tuple[str, ...],
    zh: str,
    en: str,
    examples: tuple[str, ...] = (),
) -> Dimension:
    return Dimension(
        f"{stem}_<window>",
        build,
        "aggregate" if build not in DERIVED else "derived",
        description,
        dtype,
        pattern=f"{stem}_{W}",
        tables=tables,
        title={"zh": zh, "en": en},
        examples=examples or (f"{stem}_365d", f"{stem}_lifetime"),
    )


# Builders whose first node is derived (a ratio or mean over hidden aggregates).
DERIVED: set[Any] = {
    coupon_share,
    promo_share,
    avg_discount,
    premium_share,
    deal_depth,
    service_rate,
    activity,
}


def dimensions() -> list[Dimension]:
    """Every dimension of the plugin (see docs/plugins/groupbuy.md for exact definitions)."""
    return [
        # price sensitivity (orders)
        _family(
            "groupbuy_coupon_orders",
            coupon_orders,
            "paid orders with coupon_used = true in the window",
            "integer",
            ("orders",),
            "用券订单数",
            "Coupon orders",
        ),
        _family(
            "groupbuy_coupon_share",
            coupon_share,
            "coupon orders / paid orders in the window; null without paid orders",
            "number",
            ("orders",),
            "用券订单占比",
            "Coupon order share",
        ),
        _family(
            "groupbuy_promo_orders",
            promo_orders,
            "paid orders with a coupon or a discount > 0 in the window",
            "integer",
            ("orders",),
            "优惠订单数",
            "Promotion orders",
        ),
        _family(
            "groupbuy_promo_share",
            promo_share,
            "promotion orders / paid orders in the window (price-sensitivity signal)",
            "number",
            ("orders",),
            "优惠订单占比",
            "Promotion order share",
        ),
        _family(
            "groupbuy_avg_discount",
            avg_discount,
            "mean discount (0..1) of paid orders in the window",
            "number",
            ("orders",),
            "平均折扣力度",
            "Average discount",
        ),
        _family(
            "groupbuy_top_category",
            top_category,
            "category with the most paid orders in the window (interest class)",
            "string",
            ("orders",),
            "偏好品类",
            "Top category",
        ),
        # groups
        _family(
            "groupbuy_participations",
            participations,
            "distinct groups taken part in (started or joined) in the window",
            "integer",
            (GROUPS,),
            "参团次数",
            "Group participations",
        ),
        _family(
            "groupbuy_groups_started",
            _role_count("initiator", None, "groups started"),
            "distinct groups the customer started (role initiator) in the window",
            "integer",
            (GROUPS,),
            "开团数",
            "Groups started",
        ),
        _family(
            "groupbuy_groups_joined",
            _role_count("joiner", None, "groups joined"),
            "distinct groups the customer joined (role joiner) in the window",
            "integer",
            (GROUPS,),
            "参团数",
            "Groups joined",
        ),
        _family(
            "groupbuy_groups_formed",
            _role_count("initiator", "success", "groups started that formed"),
            "distinct groups the customer started that formed (status success)",
            "integer",
            (GROUPS,),
            "成团数",
            "Groups formed",
        ),
        _family(
            "groupbuy_joiners_brought",
            joiners_brought,
            "other participants in the groups the customer started (group_size - 1)",
            "integer",
            (GROUPS,),
            "带团人数",
            "Joiners brought",
        ),
        _family(
            "groupbuy_premium_share",
            premium_share,
            "share of groups taken part in whose deal is premium (quality signal)",
            "number",
            (GROUPS,),
            "高端商品占比",
            "Premium deal share",
        ),
        _family(
            "groupbuy_deal_depth",
            deal_depth,
            "mean 1 - deal_price / list_price of the groups taken part in",
            "number",
            (GROUPS,),
            "平均团购折扣深度",
            "Average deal depth",
        ),
        Dimension(
            "groupbuy_role",
            role,
            "derived",
            "initiator (团长), joiner (参团者) or none; params.min_started (default 1)",
            "string",
            pattern=f"groupbuy_role(_{W})?",
            tables=(GROUPS,),
            title={"zh": "团购角色", "en": "Group-buy role"},
            examples=("groupbuy_role", "groupbuy_role_365d"),
        ),
        # events
        _family(
            "groupbuy_service_contacts",
            service_contacts,
            "inquiry, complaint and after_sales events in the window (params.types)",
            "integer",
            ("events",),
            "服务咨询与投诉次数",
            "Service contacts",
        ),
        _family(
            "groupbuy_service_rate",
            service_rate,
            "service contacts per paid order in the window (service-sensitivity signal)",
            "number",
            ("orders", "events"),
            "每单服务接触次数",
            "Service contacts per order",
        ),
        _family(
            "groupbuy_browse_events",
            browse_events,
            "view, favorite, cart and share events in the window (params.types)",
            "integer",
            ("events",),
            "浏览行为次数",
            "Browsing events",
            ("groupbuy_browse_events_30d", "groupbuy_browse_events_90d"),
        ),
        _family(
            "groupbuy_activity",
            activity,
            "active, browsing_only, browsing_lapsed, dormant or inactive in the window",
            "string",
            ("orders", "events"),
            "活跃状态",
            "Activity",
            ("groupbuy_activity_90d", "groupbuy_activity_30d"),
        ),
        # touches
        Dimension(
            "groupbuy_first_source",
            _touch_source("first"),
            "aggregate",
            "acquisition source: the source of the earliest touch (null without touches)",
            "string",
            tables=(TOUCHES,),
            title={"zh": "获客来源", "en": "Acquisition source"},
        ),
        Dimension(
            "groupbuy_last_source",
            _touch_source("last"),
            "aggregate",
            "source of the latest touch before the as-of instant (null without touches)",
            "string",
            tables=(TOUCHES,),
            title={"zh": "最近来源", "en": "Latest source"},
        ),
        Dimension(
            "groupbuy_first_touch_ts",
            first_touch_ts,
            "aggregate",
            "time of the earliest touch (acquisition time)",
            "datetime",
            tables=(TOUCHES,),
            title={"zh": "首次触达时间", "en": "First touch time"},
        ),
        # referrals
        _family(
            "groupbuy_referrals",
            referrals,
            "invitations sent in the window",
            "integer",
            (REFERRALS,),
            "邀请次数",
            "Invitations sent",
        ),
        _family(
            "groupbuy_referrals_converted",
            referrals_converted,
            "invitations sent in the window whose invitee paid before the as-of",
            "integer",
            (REFERRALS,),
            "成功推荐次数",
            "Successful referrals",
        ),
        _family(
            "groupbuy_referred_customers",
            referred_customers,
            "distinct invitees brought in (converted) by invitations in the window",
            "integer",
            (REFERRALS,),
            "带来新客数",
            "Customers brought in",
        ),
    ]
