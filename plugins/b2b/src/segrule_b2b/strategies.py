"""Strategies of the b2b plugin.

``b2b_inquiry_validity``: the inquiry validity score of each customer (best or latest
inquiry) and its tier: valid / follow_up / junk (none without inquiries).

``b2b_value_matrix``: the account value matrix of the seller's buyers. Current-period
value (revenue, or gross profit = revenue x margin) against the trend from the
previous period of the same length: most_profitable (the top share of established
accounts by value), growing, declining, stable, new, lost (and none: never bought).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import polars as pl
from segrule.plugin import (
    BuildContext,
    Case,
    Label,
    Node,
    RuleSetError,
    Strategy,
    actions_of,
    cents_to_units,
    did_you_mean,
    parse_sql,
    parse_window,
    rank_column,
    referenced_names,
    row_number,
)

from segrule_b2b import inquiry
from segrule_b2b.tables import INQUIRIES


def _check_keys(params: Mapping[str, Any], allowed: tuple[str, ...], where: str, name: str) -> None:
    for key in params:
        if key not in allowed:
            raise RuleSetError(
                f"unknown parameter '{key}'{did_you_mean(str(key), allowed)}; allowed: "
                + ", ".join(sorted(allowed)),
                where=where,
                name=name,
            )


def merge_labels(defaults: dict[str, Label], spec: Any, where: str, name: str) -> dict[str, Label]:
    """Default labels, overridden key by key (zh, en, description, actions) by ``spec``."""
    if spec is None:
        return dict(defaults)
    if not isinstance(spec, Mapping):
        raise RuleSetError(
            "labels must map label keys to {zh, en, actions}", where=where, name=name
        )
    out = dict(defaults)
    for key, info in spec.items():
        info = info or {}
        if not isinstance(info, Mapping):
            raise RuleSetError(f"labels.{key} must be {{zh, en, actions}}", where=where, name=name)
        base = out.get(str(key), Label(str(key)))
        en, zh = actions_of(info.get("actions"), base)
        out[str(key)] = Label(
            str(key),
            info.get("zh", base.zh),
            info.get("en", base.en),
            info.get("description", base.description),
            en,
            zh,
        )
    return out


def _window_param(value: Any, what: str, where: str, name: str) -> str:
    text = str(value).strip()
    try:
        delta = parse_window(text)
    except RuleSetError as exc:
        raise RuleSetError(f"{what}: {exc.detail}", where=where, name=name) from None
    if delta is None:
        raise RuleSetError(
            f"{what} must be a length such as 365d or 26w, not lifetime", where=where, name=name
        )
    return text


def _share(value: Any, what: str, lo_open: bool, hi: Fraction, where: str, name: str) -> Fraction:
    if isinstance(value, bool):
        value = "x"
    try:
        f = Fraction(str(value)).limit_denominator(1000)
    except (ValueError, ZeroDivisionError):
        raise RuleSetError(
            f"{what} must be a number, got {value!r}", where=where, name=name
        ) from None
    if not (f > 0 if lo_open else f >= 0) or f > hi:
        raise RuleSetError(f"{what} must be in (0, {hi}], got {value}", where=where, name=name)
    return f


# -- inquiry validity ----------------------------------------------------------------
INQUIRY_LABELS: dict[str, Label] = {
    "valid": Label(
        "valid",
        "有效询盘",
        "Valid inquiry",
        "corporate contact details, a specific product and answers to the questions",
        (
            "study the buyer's company and website, then reply with a tailored quotation",
            "send samples on request; write like a friend, not a form letter",
        ),
    ),
    "follow_up": Label(
        "follow_up",
        "待跟进询盘",
        "Needs follow-up",
        "some signals of a real buyer, but contact details or specifics are missing",
        (
            "do not quote a price yet: ask the six questions (trade, years in it, target "
            "customers, annual sales, full company details, website)",
            "check the website and that its contacts match the e-mail before sending samples",
        ),
    ),
    "junk": Label(
        "junk",
        "无效询盘",
        "Junk inquiry",
        "free mail, no website, no product named; often a sample request for 'big orders'",
        (
            "do not send samples; reply with a price list with pictures to test the buyer",
            "do not ignore it: it is free promotion of the company and products",
        ),
    ),
    "none": Label("none", "无询盘", "No inquiry"),
}

INQUIRY_KEYS = (*inquiry.CONFIG_KEYS, "window", "tiers", "default_tier", "tier", "labels")


def _inquiry_validity(
    ctx: BuildContext, name: str, params: dict[str, Any], where: str
) -> list[Node]:
    _check_keys(params, INQUIRY_KEYS, where, name)
    config = inquiry.parse_config(params, where=where, name=name)
    window = params.get("window", "lifetime")
    if window != "lifetime":
        window = _window_param(window, "window", where, name)
    tiers = inquiry.parse_tiers(params.get("tiers", inquiry.DEFAULT_TIERS), where=where, name=name)
    default = str(params.get("default_tier", inquiry.DEFAULT_TIER))
    tier_name = str(params.get("tier", f"{name}_tier"))
    labels = merge_labels(INQUIRY_LABELS, params.get("labels"), where, name)
    keys = [label for label, _ in tiers] + [default, inquiry.NO_INQUIRY]
    labels = {k: labels.get(k, Label(k)) for k in dict.fromkeys(keys)}
    score = Node(
        name,
        "aggregate",
        config.aggregate(ctx, window).alias(name),
        table=INQUIRIES,
        columns=config.columns(),
        origin=where,
        role="score",
        description=f"inquiry validity points of the {config.mode} inquiry, {window}",
    )
    tier = Node(
        tier_name,
        "derived",
        inquiry.tier_expr(pl.col(name), tiers, default, inquiry.NO_INQUIRY).alias(tier_name),
        deps=(name,),
        origin=where,
        role="tier",
        title={"zh": "询盘有效性", "en": "Inquiry validity"},
        labels=labels,
        description=f"tier by {name}: "
        + ", ".join(f"{label} >= {m}" for label, m in tiers)
        + f", else {default}; none without inquiries",
        # The cases as segrule.explain reads them: reasons, distance to the next tier.
        cases=(
            Case(inquiry.NO_INQUIRY, pl.col(name).is_null(), f"{name} IS NULL"),
            *(Case(label, pl.col(name) >= m, f"{name} >= {m}") for label, m in tiers),
        ),
        default=default,
        ladder=tuple((label, m) for label, m in tiers),
    )
    return [score, tier]


# -- value matrix --------------------------------------------------------------------
VALUE_LABELS: dict[str, Label] = {
    "most_profitable": Label(
        "most_profitable",
        "最大利润客户",
        "Most profitable",
        "the top share of established accounts by current-period value",
        (
            "customer relationship management: keep them, a named account manager",
            "make sure no part of their business is left to competitors",
        ),
    ),
    "growing": Label(
        "growing",
        "增长客户",
        "Growing",
        "revenue up against the previous period: may become a top profit source",
        (
            "market to them to raise your share of what they buy (they also buy elsewhere)",
            "propose new products and larger programmes",
        ),
    ),
    "declining": Label(
        "declining",
        "价值下降客户",
        "Declining",
        "still profitable, but revenue down against the previous period",
        (
            "find out why (price, quality, a competitor) before the account is lost",
            "if the value keeps falling, cut the cost to serve",
        ),
    ),
    "stable": Label(
        "stable",
        "稳定客户",
        "Stable",
        "revenue about as in the previous period",
        ("regular contact; show product updates and improvements",),
    ),
    "new": Label(
        "new",
        "新客户",
        "New account",
        "first paid order within the new-account window",
        ("onboard: confirm quality and delivery of the first orders, plan the reorder",),
    ),
    "lost": Label(
        "lost",
        "流失客户",
        "Lost",
        "no paid order within the lost window",
        ("win-back call or drop from active follow-up",),
    ),
    "none": Label("none", "未成交", "No purchase", "no paid order ever"),
}

VALUE_KEYS = (
    "period",
    "eligible",
    "measure",
    "default_margin",
    "top_share",
    "growth",
    "new_window",
    "lost_window",
    "value",
    "trend",
    "growth_column",
    "labels",
)
MEASURES = ("profit", "revenue")


def _value_matrix(ctx: BuildContext, name: str, params: dict[str, Any], where: str) -> list[Node]:
    _check_keys(params, VALUE_KEYS, where, name)
    period = _window_param(params.get("period", "365d"), "period", where, name)
    new_window = _window_param(params.get("new_window", period), "new_window", where, name)
    lost_window = _window_param(params.get("lost_window", period), "lost_window", where, name)
    measure = params.get("measure", "profit")
    if measure not in MEASURES:
        raise RuleSetError(
            f"measure '{measure}' is not one of: {', '.join(MEASURES)}", where=where, name=name
        )
    share = _share(params.get("top_share", 0.2), "top_share", True, Fraction(1), where, name)
    growth = _share(params.get("growth", 0.2), "growth", True, Fraction(1), where, name)
    if growth >= 1:
        raise RuleSetError(
            "growth must be below 1 (0.2 = a change of 20 %)", where=where, name=name
        )
    default_margin = params.get("default_margin")
    if default_margin is not None and (
        isinstance(default_margin, bool) or not isinstance(default_margin, int | float)
    ):
        raise RuleSetError(
            f"default_margin must be a number, got {default_margin!r}", where=where, name=name
        )
    value_name = str(params.get("value", f"{name}_value"))
    trend_name = str(params.get("trend", f"{name}_trend"))
    growth_name = str(params.get("growth_column", f"{name}_growth"))
    value_cents = f"_{name}_value_cents"

    cur_dim, prev_dim = f"monetary_{period}", f"b2b_revenue_prev_{period}"
    cur_c, prev_c = f"_{cur_dim}_cents", f"_{prev_dim}_cents"
    cur, prev = pl.col(cur_c), pl.col(prev_c)

    # Current-period value in integer cents: revenue, or revenue x margin rounded.
    if measure == "revenue":
        v_expr = cur
        v_deps: tuple[str, ...] = (cur_dim, cur_c)
    else:
        margin = pl.col("b2b_margin")
        if default_margin is not None:
            margin = margin.fill_null(float(default_margin))
        v_expr = (cur * margin).round(0).cast(pl.Int64)
        v_deps = (cur_dim, cur_c, "b2b_margin")

    up, down = growth.denominator + growth.numerator, growth.denominator - growth.numerator
    den = growth.denominator
    new_start = ctx.window_start(new_window)
    trend = (
        pl.when(pl.col("orders_lifetime") == 0)
        .then(pl.lit("none"))
        .when(pl.col(f"orders_{lost_window}") == 0)
        .then(pl.lit("lost"))
        .when(pl.col("first_order_ts") >= pl.lit(new_start, dtype=pl.Datetime("us")))
        .then(pl.lit("new"))
        .when((cur > 0) & (cur * den >= prev * up))
        .then(pl.lit("growing"))
        .when((prev > 0) & (cur * den <= prev * down))
        .then(pl.lit("declining"))
        .otherwise(pl.lit("stable"))
    )
    labels = merge_labels(VALUE_LABELS, params.get("labels"), where, name)
    trend_labels = {k: v for k, v in labels.items() if k != "most_profitable"}

    established = pl.col(trend_name).is_in(["growing", "declining", "stable"])
    v = pl.col(value_cents)
    eligible = (established & v.is_not_null() & (v > 0)).fill_null(False)
    extra_deps: tuple[str, ...] = ()
    if "eligible" in params:
        # e.g. the seed's "first separate the transactional buyers": only these are ranked
        cond = parse_sql(params["eligible"], where=where, name=f"{name}.eligible")
        eligible = eligible & cond.fill_null(False)
        extra_deps = tuple(n for n in referenced_names(cond) if n != "customer_id")
    rank_node, rank = rank_column(
        name,
        row_number(v, eligible, descending=True),
        deps=(value_cents, trend_name, *extra_deps),
        origin=where,
    )
    n = eligible.sum().cast(pl.Int64)
    limit = (n * share.numerator + share.denominator - 1) // share.denominator
    klass = (
        pl.when(eligible & (rank <= limit))
        .then(pl.lit("most_profitable"))
        .otherwise(pl.col(trend_name))
    )
    g = f"{growth.numerator}/{growth.denominator}"
    what = "revenue" if measure == "revenue" else "gross profit (revenue x b2b_margin)"
    return [
        Node(
            name,
            "population",
            klass.alias(name),
            deps=(value_cents, trend_name, *extra_deps, rank_node.name),
            origin=where,
            role="segment",
            labels=labels,
            description=f"most_profitable: top {float(share):.0%} of established accounts "
            f"(growing/declining/stable) by {what} of the last {period}, ties by customer_id; "
            f"else the trend ({trend_name})",
        ),
        Node(
            value_cents,
            "derived",
            v_expr.alias(value_cents),
            deps=v_deps,
            origin=where,
            role="helper",
        ),
        Node(
            value_name,
            "derived",
            cents_to_units(pl.col(value_cents)).alias(value_name),
            deps=(value_cents,),
            origin=where,
            title={"zh": "本期价值", "en": "Current-period value"},
            description=f"{what} of the last {period}",
        ),
        Node(
            trend_name,
            "derived",
            trend.alias(trend_name),
            deps=(
                "orders_lifetime",
                f"orders_{lost_window}",
                "first_order_ts",
                cur_dim,
                prev_dim,
                cur_c,
                prev_c,
            ),
            origin=where,
            role="segment",
            title={"zh": "销售额趋势", "en": "Revenue trend"},
            labels=trend_labels,
            description=f"none (no paid order) / lost (none in {lost_window}) / new (first in "
            f"{new_window}) / growing (last {period} >= previous x (1 + {g})) / declining "
            f"(<= previous x (1 - {g})) / stable",
        ),
        Node(
            growth_name,
            "derived",
            pl.when(prev > 0).then((cur - prev) / prev).alias(growth_name),
            deps=(cur_dim, prev_dim, cur_c, prev_c),
            origin=where,
            title={"zh": "销售额变化率", "en": "Revenue change"},
            description=f"({cur_dim} - {prev_dim}) / {prev_dim}; null when {prev_dim} = 0",
        ),
        rank_node,
    ]


STRATEGIES = [
    Strategy(
        "b2b_inquiry_validity",
        _inquiry_validity,
        "inquiry (询盘) validity points per inquiry (website, corporate e-mail, e-mail matches "
        "website, named product, quantity, destination, qualifying questions answered, minus "
        "a sample request without a product); per customer the best or latest inquiry; "
        "tiers valid / follow_up / junk, none without inquiries",
        {
            "mode": "best (default) or latest inquiry",
            "window": "only inquiries in this window (default lifetime)",
            "points": "criterion -> points, merged over the defaults (website 2, "
            "corporate_email 2, email_matches_website 1, product_named 2, quantity 1, "
            "destination 1, questions [{min 5: 3}, {min 3: 2}, {min 1: 1}] or points per "
            "answer, sample_without_product -3)",
            "free_mail_domains": "replace the free-mail list (x.com or x.* entries)",
            "extra_free_mail_domains": "add to the free-mail list",
            "tiers": "[{label, min}] highest first (default valid 7, follow_up 4)",
            "default_tier": "label below the lowest min (default junk)",
            "tier": "tier column name (default <name>_tier)",
            "labels": "label -> {zh, en, actions}, merged over the defaults",
        },
    ),
    Strategy(
        "b2b_value_matrix",
        _value_matrix,
        "account value matrix: none / lost / new by order dates, then the top share of "
        "established accounts by current-period value (gross profit or revenue) is "
        "most_profitable, the others growing / declining / stable by revenue against the "
        "previous period of the same length",
        {
            "period": "current period; the previous one has the same length (default 365d)",
            "measure": "profit (revenue x b2b_margin, default) or revenue",
            "default_margin": "margin for accounts without one (default: none, not ranked)",
            "top_share": "share of established accounts that are most_profitable (0.2)",
            "eligible": "SQL condition: only these accounts are ranked (default: all)",
            "growth": "relative change that counts as growing / declining (0.2 = 20 %)",
            "new_window": "first paid order within it: new (default: period)",
            "lost_window": "no paid order within it: lost (default: period)",
            "value / trend / growth_column": "output column names (default <name>_value, "
            "<name>_trend, <name>_growth)",
            "labels": "label -> {zh, en, actions}, merged over the defaults",
        },
    ),
]
