"""Dimensions of the b2b plugin.

Inquiries (询盘): counts, the inquiry validity score, the latest e-mail domain.
Orders: previous-period revenue and growth, order span and active quarters, and the
order rhythm (days between orders, its coefficient of variation, the expected next
order date). Accounts: gross margin, gross profit, country and business type.

Every builder returns polars expressions only: aggregates run inside their table's one
``group_by(customer_id).agg(...)``, derived values over other dimensions' columns.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from segrule.plugin import (
    WINDOW_RE,
    BuildContext,
    Dimension,
    Node,
    RuleSetError,
    cents_to_units,
    did_you_mean,
    masked,
)

from segrule_b2b import inquiry
from segrule_b2b.tables import ACCOUNTS, INQUIRIES

PAID = pl.col("status") == "paid"
W = f"(?P<window>{WINDOW_RE})"
OPT_W = f"(_{W})?"
TS = inquiry.TS


def _check_params(params: dict[str, Any], allowed: tuple[str, ...], name: str) -> None:
    for key in params:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            allowed_text = ", ".join(allowed) if allowed else "none"
            raise RuleSetError(
                f"unknown parameter '{key}'{hint}; allowed: {allowed_text}", name=name
            )


def _window(groups: dict[str, str]) -> str:
    return groups.get("window") or "lifetime"


# -- inquiries --------------------------------------------------------------------
def _inquiry_count(what: str) -> Any:
    """Count of inquiries in the window: all, from free mail, or asking for samples."""

    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        window = g["window"]
        base = pl.col(TS).is_not_null() & ctx.in_window(TS, window)
        columns: tuple[str, ...] = (TS,)
        if what == "all":
            _check_params(p, (), name)
            cond = base
            desc = f"inquiries received, {window}"
        elif what == "free_mail":
            _check_params(p, ("free_mail_domains", "extra_free_mail_domains"), name)
            regex = inquiry.free_mail_regex_of(p, name=name)
            cond = base & inquiry.email_domain().str.contains(regex).fill_null(False)
            columns = (TS, "email")
            desc = f"inquiries sent from a free-mail domain, {window}"
        else:
            _check_params(p, (), name)
            cond = base & pl.col("sample_requested").fill_null(False)
            columns = (TS, "sample_requested")
            desc = f"inquiries asking for samples, {window}"
        return [
            Node(
                name,
                "aggregate",
                cond.sum().cast(pl.Int64).alias(name),
                table=INQUIRIES,
                columns=columns,
                fill=0,
                description=desc,
            )
        ]

    return build


def _inquiry_score(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    _check_params(p, inquiry.CONFIG_KEYS, name)
    config = inquiry.parse_config(p, name=name)
    window = _window(g)
    return [
        Node(
            name,
            "aggregate",
            config.aggregate(ctx, g.get("window")).alias(name),
            table=INQUIRIES,
            columns=config.columns(),
            description=f"inquiry validity points of the customer's {config.mode} inquiry, "
            f"{window} (null without inquiries)",
        )
    ]


def _last_inquiry_ts(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    _check_params(p, (), name)
    return [
        Node(
            name,
            "aggregate",
            pl.col(TS).max().alias(name),
            table=INQUIRIES,
            columns=(TS,),
            description="time of the latest inquiry",
        )
    ]


def _inquiry_recency(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    _check_params(p, (), name)
    expr = (ctx.as_of_lit() - pl.col("b2b_last_inquiry_ts")).dt.total_days().cast(pl.Int64)
    return [
        Node(
            name,
            "derived",
            expr.alias(name),
            deps=("b2b_last_inquiry_ts",),
            description="whole days since the latest inquiry (null without one)",
        )
    ]


def _email_domain(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_params(p, (), name)
    domain = inquiry.email_domain()
    has = domain.is_not_null() & pl.col(TS).is_not_null()
    latest = pl.col(TS) == pl.col(TS).filter(has).max()
    # Several inquiries at that instant: the alphabetically first domain (deterministic).
    expr = domain.filter(has & latest).min().alias(name)
    return [
        Node(
            name,
            "aggregate",
            expr,
            table=INQUIRIES,
            columns=(TS, "email"),
            description="e-mail domain of the latest inquiry that has an e-mail address",
        )
    ]


def _free_mail(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_params(p, ("free_mail_domains", "extra_free_mail_domains"), name)
    regex = inquiry.free_mail_regex_of(p, name=name)
    expr = pl.col("b2b_email_domain").str.contains(regex).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=("b2b_email_domain",),
            description="the latest inquiry's e-mail domain is free mail (gmail, yahoo, qq, "
            "163, ...); null without an e-mail",
        )
    ]


def _quotes_per_order(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    _check_params(p, (), name)
    orders = pl.col("orders_lifetime")
    expr = pl.when(orders > 0).then(pl.col("b2b_inquiries_lifetime") / orders).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=("b2b_inquiries_lifetime", "orders_lifetime"),
            description="inquiries (quote requests) per paid order, lifetime; null without "
            "paid orders",
        )
    ]


# -- orders: revenue trend ----------------------------------------------------------
def previous_window(ctx: BuildContext, window: str, name: str) -> pl.Expr:
    """Rows of the period of the same length just before ``window``."""
    if window == "lifetime":
        raise RuleSetError("a previous period needs a window such as 365d, not lifetime", name=name)
    start = ctx.window_start(window)
    assert start is not None
    prev_start = start - (ctx.as_of - start)
    ts = pl.col("order_ts")
    return (ts >= pl.lit(prev_start, dtype=pl.Datetime("us"))) & (
        ts < pl.lit(start, dtype=pl.Datetime("us"))
    )


def _revenue_prev(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_params(p, (), name)
    window = g["window"]
    cond = PAID & previous_window(ctx, window, name)
    cents = f"_{name}_cents"
    return [
        Node(
            name,
            "derived",
            cents_to_units(pl.col(cents)).alias(name),
            deps=(cents,),
            description=f"paid revenue in the {window} before the last {window} (exact)",
            cents=cents,
        ),
        Node(
            cents,
            "aggregate",
            masked(pl.col("amount_cents"), cond).sum().cast(pl.Int64).alias(cents),
            table="orders",
            columns=("order_ts", "status", "amount_cents"),
            fill=0,
            role="helper",
        ),
    ]


def _revenue_growth(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    _check_params(p, (), name)
    window = g["window"]
    previous_window(ctx, window, name)  # rejects lifetime
    cur, prev = f"_monetary_{window}_cents", f"_b2b_revenue_prev_{window}_cents"
    expr = pl.when(pl.col(prev) > 0).then((pl.col(cur) - pl.col(prev)) / pl.col(prev))
    return [
        Node(
            name,
            "derived",
            expr.alias(name),
            deps=(f"monetary_{window}", f"b2b_revenue_prev_{window}", cur, prev),
            description=f"revenue of the last {window} against the {window} before it: "
            "(current - previous) / previous; null when the previous period had none",
        )
    ]


def _span_days(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_params(p, (), name)
    expr = (pl.col("last_order_ts") - pl.col("first_order_ts")).dt.total_days().cast(pl.Int64)
    return [
        Node(
            name,
            "derived",
            expr.alias(name),
            deps=("first_order_ts", "last_order_ts"),
            description="whole days from the first to the last paid order (0 with one order, "
            "null without)",
        )
    ]


def _order_dates(ctx: BuildContext, window: str | None) -> pl.Expr:
    """Distinct calendar days with a paid order in the window, per customer."""
    return pl.col("order_ts").filter(PAID & ctx.in_window("order_ts", window)).dt.date().unique()


def _distinct_count(unit: str) -> Any:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        _check_params(p, (), name)
        window = g["window"]
        if unit == "day":
            values = _order_dates(ctx, window)
            desc = f"distinct calendar days with a paid order, {window}"
        else:
            ts = pl.col("order_ts")
            key = ts.dt.year().cast(pl.Int64) * 4 + ts.dt.quarter().cast(pl.Int64)
            values = key.filter(PAID & ctx.in_window("order_ts", window))
            desc = f"distinct calendar quarters with a paid order, {window}"
        return [
            Node(
                name,
                "aggregate",
                values.n_unique().cast(pl.Int64).alias(name),
                table="orders",
                columns=("order_ts", "status"),
                fill=0,
                description=desc,
            )
        ]

    return build


def _suffix(g: dict[str, str]) -> str:
    return f"_{g['window']}" if g.get("window") else ""


def _gaps(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    """The list of days between consecutive distinct paid-order days (sorted days, so
    deterministic). The mean, the CV and the next order date read this one list, so the
    per-customer sort happens once whatever uses it."""
    _check_params(p, (), name)
    gaps = _order_dates(ctx, g.get("window")).sort().diff().dt.total_days().drop_nulls()
    return [
        Node(
            name,
            "aggregate",
            gaps.cast(pl.Int64).alias(name),
            table="orders",
            columns=("order_ts", "status"),
            description=f"days between consecutive paid-order days, {_window(g)} (a list; "
            "empty or null with fewer than 2 order days)",
        )
    ]


def _gap_mean(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_params(p, (), name)
    gaps = f"b2b_order_gaps{_suffix(g)}"
    return [
        Node(
            name,
            "derived",
            pl.col(gaps).list.mean().alias(name),
            deps=(gaps,),
            description=f"mean days between consecutive paid-order days, {_window(g)} (null "
            "with fewer than 2 order days)",
        )
    ]


def _gap_cv(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_params(p, (), name)
    gaps = f"b2b_order_gaps{_suffix(g)}"
    col = pl.col(gaps)
    expr = pl.when(col.list.len() >= 2).then(col.list.std(ddof=1) / col.list.mean())
    return [
        Node(
            name,
            "derived",
            expr.round(6).alias(name),
            deps=(gaps,),
            description=f"coefficient of variation (sample std / mean) of the days between "
            f"paid-order days, {_window(g)}; null with fewer than 3 order days",
        )
    ]


def _next_order_date(
    ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]
) -> list[Node]:
    _check_params(p, (), name)
    mean = f"b2b_order_gap_mean_days{_suffix(g)}"
    days = pl.col(mean).round(0).cast(pl.Int64)
    expr = pl.col("last_order_ts").dt.date() + pl.duration(days=days)
    return [
        Node(
            name,
            "derived",
            expr.alias(name),
            deps=("last_order_ts", mean),
            description=f"expected next order date: last paid-order day + {mean} rounded to "
            "whole days (half to even); null with fewer than 2 order days",
        )
    ]


def _days_overdue(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_params(p, (), name)
    nxt = f"b2b_next_order_date{_suffix(g)}"
    as_of_day = pl.lit(ctx.as_of.date(), dtype=pl.Date)
    expr = (as_of_day - pl.col(nxt)).dt.total_days().cast(pl.Int64)
    return [
        Node(
            name,
            "derived",
            expr.alias(name),
            deps=(nxt,),
            description=f"days from {nxt} to the as-of day: > 0 overdue, <= 0 not yet due",
        )
    ]


# -- accounts -----------------------------------------------------------------------
def _account_value(column: str, dtype: pl.DataType, description: str) -> Any:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        _check_params(p, (), name)
        # One row per account is expected; with several, the smallest value (deterministic).
        expr = pl.col(column).cast(dtype).min().alias(name)
        return [
            Node(
                name,
                "aggregate",
                expr,
                table=ACCOUNTS,
                columns=(column,),
                description=description,
            )
        ]

    return build


def _gross_profit(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    _check_params(p, (), name)
    window = g["window"]
    cents = f"_monetary_{window}_cents"
    profit_cents = (pl.col(cents) * pl.col("b2b_margin")).round(0).cast(pl.Int64)
    return [
        Node(
            name,
            "derived",
            cents_to_units(profit_cents).alias(name),
            deps=(f"monetary_{window}", cents, "b2b_margin"),
            description=f"monetary_{window} x b2b_margin, rounded to the cent; null without "
            "a margin",
        )
    ]


DIMENSIONS: list[Dimension] = [
    Dimension(
        "b2b_inquiries_<window>",
        _inquiry_count("all"),
        "aggregate",
        "number of inquiries (询盘) received in the window",
        "integer",
        pattern=f"b2b_inquiries_{W}",
        tables=(INQUIRIES,),
        title={"zh": "询盘数", "en": "Inquiries"},
        examples=("b2b_inquiries_90d", "b2b_inquiries_lifetime"),
    ),
    Dimension(
        "b2b_free_mail_inquiries_<window>",
        _inquiry_count("free_mail"),
        "aggregate",
        "inquiries sent from a free-mail domain (gmail, yahoo, hotmail, outlook, qq, 163, ...; "
        "params free_mail_domains / extra_free_mail_domains)",
        "integer",
        pattern=f"b2b_free_mail_inquiries_{W}",
        tables=(INQUIRIES,),
        title={"zh": "免费邮箱询盘数", "en": "Free-mail inquiries"},
        examples=("b2b_free_mail_inquiries_365d",),
    ),
    Dimension(
        "b2b_sample_requests_<window>",
        _inquiry_count("sample"),
        "aggregate",
        "inquiries asking for samples (索样) in the window",
        "integer",
        pattern=f"b2b_sample_requests_{W}",
        tables=(INQUIRIES,),
        title={"zh": "索样次数", "en": "Sample requests"},
        examples=("b2b_sample_requests_365d",),
    ),
    Dimension(
        "b2b_inquiry_score",
        _inquiry_score,
        "aggregate",
        "inquiry validity points (website, corporate e-mail, named product, quantity, "
        "destination, qualifying questions, sample red flag) of the customer's best inquiry "
        "(params: mode best|latest, points, free_mail_domains, extra_free_mail_domains)",
        "integer",
        pattern=f"b2b_inquiry_score{OPT_W}",
        tables=(INQUIRIES,),
        title={"zh": "询盘有效性得分", "en": "Inquiry validity score"},
        examples=("b2b_inquiry_score", "b2b_inquiry_score_365d"),
    ),
    Dimension(
        "b2b_last_inquiry_ts",
        _last_inquiry_ts,
        "aggregate",
        "time of the latest inquiry",
        "datetime",
        tables=(INQUIRIES,),
        title={"zh": "最近询盘时间", "en": "Latest inquiry"},
    ),
    Dimension(
        "b2b_inquiry_recency_days",
        _inquiry_recency,
        "derived",
        "whole days since the latest inquiry",
        "integer",
        tables=(INQUIRIES,),
        title={"zh": "距上次询盘天数", "en": "Days since the latest inquiry"},
    ),
    Dimension(
        "b2b_email_domain",
        _email_domain,
        "aggregate",
        "e-mail domain of the latest inquiry with an e-mail address (lower case)",
        "string",
        tables=(INQUIRIES,),
        title={"zh": "邮箱域名", "en": "E-mail domain"},
    ),
    Dimension(
        "b2b_free_mail",
        _free_mail,
        "derived",
        "the latest inquiry's e-mail domain is a free-mail provider",
        "boolean",
        tables=(INQUIRIES,),
        title={"zh": "免费邮箱", "en": "Free mail"},
    ),
    Dimension(
        "b2b_quotes_per_order",
        _quotes_per_order,
        "derived",
        "inquiries per paid order, lifetime (price shoppers ask many quotes per order)",
        "number",
        tables=(INQUIRIES, "orders"),
        title={"zh": "询价订单比", "en": "Quotes per order"},
    ),
    Dimension(
        "b2b_revenue_prev_<window>",
        _revenue_prev,
        "aggregate",
        "paid revenue in the period of the same length before the window (exact)",
        "number",
        pattern=f"b2b_revenue_prev_{W}",
        tables=("orders",),
        title={"zh": "上期销售额", "en": "Previous-period revenue"},
        examples=("b2b_revenue_prev_365d", "b2b_revenue_prev_180d"),
    ),
    Dimension(
        "b2b_revenue_growth_<window>",
        _revenue_growth,
        "derived",
        "(monetary_<window> - b2b_revenue_prev_<window>) / b2b_revenue_prev_<window>",
        "number",
        pattern=f"b2b_revenue_growth_{W}",
        tables=("orders",),
        title={"zh": "销售额增长率", "en": "Revenue growth"},
        examples=("b2b_revenue_growth_365d",),
    ),
    Dimension(
        "b2b_order_span_days",
        _span_days,
        "derived",
        "whole days from the first to the last paid order",
        "integer",
        tables=("orders",),
        title={"zh": "合作跨度(天)", "en": "Order span (days)"},
    ),
    Dimension(
        "b2b_active_quarters_<window>",
        _distinct_count("quarter"),
        "aggregate",
        "distinct calendar quarters with a paid order in the window",
        "integer",
        pattern=f"b2b_active_quarters_{W}",
        tables=("orders",),
        title={"zh": "有订单的季度数", "en": "Quarters with orders"},
        examples=("b2b_active_quarters_lifetime", "b2b_active_quarters_730d"),
    ),
    Dimension(
        "b2b_order_days_<window>",
        _distinct_count("day"),
        "aggregate",
        "distinct calendar days with a paid order in the window",
        "integer",
        pattern=f"b2b_order_days_{W}",
        tables=("orders",),
        title={"zh": "下单天数", "en": "Order days"},
        examples=("b2b_order_days_lifetime", "b2b_order_days_365d"),
    ),
    Dimension(
        "b2b_order_gaps",
        _gaps,
        "aggregate",
        "list of the days between consecutive paid-order days (lifetime, or _<window>)",
        "list of integers",
        pattern=f"b2b_order_gaps{OPT_W}",
        tables=("orders",),
        title={"zh": "下单间隔(天)列表", "en": "Days between orders"},
        examples=("b2b_order_gaps", "b2b_order_gaps_730d"),
    ),
    Dimension(
        "b2b_order_gap_mean_days",
        _gap_mean,
        "derived",
        "mean days between consecutive paid-order days (lifetime, or _<window>)",
        "number",
        pattern=f"b2b_order_gap_mean_days{OPT_W}",
        tables=("orders",),
        title={"zh": "平均下单间隔(天)", "en": "Mean days between orders"},
        examples=("b2b_order_gap_mean_days", "b2b_order_gap_mean_days_730d"),
    ),
    Dimension(
        "b2b_order_gap_cv",
        _gap_cv,
        "derived",
        "coefficient of variation of the days between paid-order days (lifetime, or _<window>)",
        "number",
        pattern=f"b2b_order_gap_cv{OPT_W}",
        tables=("orders",),
        title={"zh": "下单间隔变异系数", "en": "Order-gap variation"},
        examples=("b2b_order_gap_cv", "b2b_order_gap_cv_730d"),
    ),
    Dimension(
        "b2b_next_order_date",
        _next_order_date,
        "derived",
        "expected next order date: last paid-order day + mean gap",
        "date",
        pattern=f"b2b_next_order_date{OPT_W}",
        tables=("orders",),
        title={"zh": "预计下次下单日", "en": "Expected next order"},
        examples=("b2b_next_order_date", "b2b_next_order_date_730d"),
    ),
    Dimension(
        "b2b_days_overdue",
        _days_overdue,
        "derived",
        "days since the expected next order date (> 0: overdue)",
        "integer",
        pattern=f"b2b_days_overdue{OPT_W}",
        tables=("orders",),
        title={"zh": "逾期未下单天数", "en": "Days overdue"},
        examples=("b2b_days_overdue", "b2b_days_overdue_730d"),
    ),
    Dimension(
        "b2b_margin",
        _account_value("margin", pl.Float64(), "gross margin rate of the account (0..1)"),
        "aggregate",
        "gross margin rate of the account, from b2b_accounts.margin",
        "number",
        tables=(ACCOUNTS,),
        title={"zh": "毛利率", "en": "Gross margin"},
    ),
    Dimension(
        "b2b_gross_profit_<window>",
        _gross_profit,
        "derived",
        "paid revenue in the window x b2b_margin (gross profit)",
        "number",
        pattern=f"b2b_gross_profit_{W}",
        tables=("orders", ACCOUNTS),
        title={"zh": "毛利", "en": "Gross profit"},
        examples=("b2b_gross_profit_365d",),
    ),
    Dimension(
        "b2b_country",
        _account_value("country", pl.String(), "country of the buyer"),
        "aggregate",
        "country of the buyer, from b2b_accounts",
        "string",
        tables=(ACCOUNTS,),
        title={"zh": "国家", "en": "Country"},
    ),
    Dimension(
        "b2b_business_type",
        _account_value("business_type", pl.String(), "importer, wholesaler, retailer, ..."),
        "aggregate",
        "business type of the buyer (importer, wholesaler, distributor, retailer, ...)",
        "string",
        tables=(ACCOUNTS,),
        title={"zh": "客户类型", "en": "Business type"},
    ),
]
