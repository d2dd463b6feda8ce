"""The ``groupbuy_sensitivity`` strategy: each customer's dominant need (客户需求分类).

Three signals, each compared with its own threshold:

- price   (价格敏感型): ``groupbuy_promo_share_<window>``, share of paid orders with a
  coupon or a discount;
- quality (质量敏感型): ``groupbuy_premium_share_<window>``, share of the groups taken part
  in whose deal is premium;
- service (服务敏感型): ``groupbuy_service_rate_<window>``, inquiries, complaints and
  after-sales requests per paid order.

A signal *qualifies* when its value is at least its threshold (NULL never qualifies).
Among the qualifying signals the one furthest above its threshold (value / threshold)
wins; equal ratios go to price, then quality, then service. Customers with fewer than
``min_orders`` paid orders in the window are ``unknown``; customers with enough orders
and no qualifying signal are ``balanced``.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from segrule.plugin import (
    Label,
    Node,
    RuleSetError,
    Strategy,
    actions_of,
    did_you_mean,
    parse_window,
)

NEEDS = ("price", "quality", "service")
DEFAULT_MIN = {"price": 0.5, "quality": 0.3, "service": 0.3}
DEFAULT_SIGNAL = {
    "price": "groupbuy_promo_share_{w}",
    "quality": "groupbuy_premium_share_{w}",
    "service": "groupbuy_service_rate_{w}",
}

LABELS: dict[str, Label] = {
    "price": Label(
        "price",
        "价格敏感型",
        "Price-sensitive",
        "buys mostly with coupons or discounts",
        ("coupons", "discounts", "limited-time specials (限时特价)"),
    ),
    "quality": Label(
        "quality",
        "质量敏感型",
        "Quality-sensitive",
        "chooses premium deals",
        ("show quality certification", "show user reviews", "stress brand reputation"),
    ),
    "service": Label(
        "service",
        "服务敏感型",
        "Service-sensitive",
        "asks, complains or requests after-sales service often",
        ("priority customer service", "after-sales guarantee", "fast delivery"),
    ),
    "balanced": Label(
        "balanced",
        "需求均衡型",
        "No dominant need",
        "buys, but no signal reaches its threshold",
        ("regular group-buy recommendations",),
    ),
    "unknown": Label(
        "unknown",
        "数据不足",
        "Not enough orders",
        "fewer paid orders in the window than min_orders",
        ("first-order coupon", "recommend best-selling deals"),
    ),
}

PARAMS_DOC = {
    "window": "window of all signals and of the order count (default 365d)",
    "price_min": "threshold of the price signal (default 0.5: half the orders with a promotion)",
    "quality_min": "threshold of the quality signal (default 0.3: 30% premium deals)",
    "service_min": "threshold of the service signal (default 0.3 contacts per paid order)",
    "min_orders": "paid orders in the window needed to be classified (default 1)",
    "price": "dimension used as price signal (default groupbuy_promo_share_<window>)",
    "quality": "dimension used as quality signal (default groupbuy_premium_share_<window>)",
    "service": "dimension used as service signal (default groupbuy_service_rate_<window>)",
    "labels": "display names and actions per label (price, quality, service, balanced, unknown)",
}


def _threshold(params: dict[str, Any], need: str, where: str, name: str) -> float:
    key = f"{need}_min"
    value = params.get(key, DEFAULT_MIN[need])
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise RuleSetError(
            f"parameter '{key}' must be a number > 0, got {value!r}", where=where, name=name
        )
    return float(value)


def _labels(spec: Any, where: str, name: str) -> dict[str, Label]:
    labels = dict(LABELS)
    if spec is None:
        return labels
    if not isinstance(spec, dict):
        raise RuleSetError("parameter 'labels' must be a mapping", where=where, name=name)
    for key, info in spec.items():
        if key not in LABELS:
            raise RuleSetError(
                f"labels: unknown label '{key}'{did_you_mean(str(key), LABELS)}; labels are "
                + ", ".join(LABELS),
                where=where,
                name=name,
            )
        info = info or {}
        base = LABELS[key]
        labels[key] = Label(
            key,
            info.get("zh", base.zh),
            info.get("en", base.en),
            info.get("description", base.description),
            *actions_of(info.get("actions"), base),
        )
    return labels


def build_sensitivity(ctx: Any, name: str, params: dict[str, Any], where: str) -> list[Node]:
    unknown = [k for k in params if k not in PARAMS_DOC]
    if unknown:
        raise RuleSetError(
            f"unknown parameter '{unknown[0]}'{did_you_mean(unknown[0], PARAMS_DOC)}; "
            "allowed: " + ", ".join(sorted(PARAMS_DOC)),
            where=where,
            name=name,
        )
    window = str(params.get("window", "365d"))
    try:
        parse_window(window)
    except RuleSetError as exc:
        raise RuleSetError(exc.detail, where=where, name=name) from None
    min_orders = params.get("min_orders", 1)
    if isinstance(min_orders, bool) or not isinstance(min_orders, int) or min_orders < 1:
        raise RuleSetError(
            f"parameter 'min_orders' must be a whole number >= 1, got {min_orders!r}",
            where=where,
            name=name,
        )
    signals: dict[str, str] = {}
    for need in NEEDS:
        signal = params.get(need, DEFAULT_SIGNAL[need].format(w=window))
        if not isinstance(signal, str) or not signal:
            raise RuleSetError(
                f"parameter '{need}' must be a dimension name, got {signal!r}",
                where=where,
                name=name,
            )
        signals[need] = signal
    minimum = {need: _threshold(params, need, where, name) for need in NEEDS}
    orders = f"orders_{window}"

    value = {need: pl.col(signals[need]).cast(pl.Float64) for need in NEEDS}
    qualifies = {need: (value[need] >= minimum[need]).fill_null(False) for need in NEEDS}
    ratio = {
        need: pl.when(qualifies[need]).then(value[need] / minimum[need]).otherwise(0.0)
        for need in NEEDS
    }
    best = pl.max_horizontal(*ratio.values())
    expr: Any = pl.when(pl.col(orders) < min_orders).then(pl.lit("unknown"))
    expr = expr.when(best == 0.0).then(pl.lit("balanced"))
    for need in NEEDS:
        expr = expr.when(ratio[need] == best).then(pl.lit(need))
    expr = expr.otherwise(pl.lit("balanced")).alias(name)
    return [
        Node(
            name,
            "derived",
            expr,
            deps=(orders, *signals.values()),
            origin=where,
            role="segment",
            labels=_labels(params.get("labels"), where, name),
            description="dominant need: price, quality, service, balanced or unknown "
            f"(thresholds {minimum['price']:g} / {minimum['quality']:g} / "
            f"{minimum['service']:g}, window {window})",
        )
    ]


STRATEGIES = [
    Strategy(
        "groupbuy_sensitivity",
        build_sensitivity,
        "dominant need of a group-buy customer (价格/质量/服务敏感型): the signal furthest "
        "above its threshold; balanced when none reaches it, unknown without enough orders",
        PARAMS_DOC,
    )
]
