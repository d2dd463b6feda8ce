"""The groupbuy_sensitivity strategy: thresholds, ties, the unknown/balanced labels and
parameter errors. Every customer below has its signals worked out next to its rows."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import segrule_groupbuy.hooks as plugin
from segrule.errors import SegruleError
from segrule.testing import days_before, frame, score_rows

ago = days_before

ORDERS = {
    "order_id": pl.String(),
    "customer_id": pl.String(),
    "order_ts": pl.Datetime("us"),
    "amount": pl.Float64(),
    "status": pl.String(),
    "coupon_used": pl.Boolean(),
    "discount": pl.Float64(),
}
GROUPS = {
    "customer_id": pl.String(),
    "group_id": pl.String(),
    "role": pl.String(),
    "joined_ts": pl.Datetime("us"),
    "premium": pl.Boolean(),
}
EVENTS = {"customer_id": pl.String(), "event_ts": pl.Datetime("us"), "event_type": pl.String()}


def _orders(spec: dict[str, list[bool]]) -> pl.DataFrame:
    """Per customer, one paid order (10 days ago) per flag: True = with a coupon."""
    rows = [
        {
            "order_id": f"{c}{i}",
            "customer_id": c,
            "order_ts": ago(10 + i),
            "amount": 50.0,
            "status": "paid",
            "coupon_used": flag,
            "discount": 0.0,
        }
        for c, flags in spec.items()
        for i, flag in enumerate(flags)
    ]
    return frame(rows, ORDERS)


def _groups(spec: dict[str, list[bool]]) -> pl.DataFrame:
    """Per customer, one joined group per flag: True = premium deal."""
    rows = [
        {
            "customer_id": c,
            "group_id": f"{c}-g{i}",
            "role": "joiner",
            "joined_ts": ago(5 + i),
            "premium": flag,
        }
        for c, flags in spec.items()
        for i, flag in enumerate(flags)
    ]
    return frame(rows, GROUPS)


def _events(spec: dict[str, int]) -> pl.DataFrame:
    """Per customer, that many complaints (3 days ago)."""
    rows = [
        {"customer_id": c, "event_ts": ago(3), "event_type": "complaint"}
        for c, n in spec.items()
        for _ in range(n)
    ]
    return frame(rows, EVENTS)


T, F = True, False
TABLES = {
    # promo share = coupon orders / paid orders; premium share = premium groups / groups;
    # service rate = complaints / paid orders. Thresholds 0.5 / 0.3 / 0.3.
    "orders": _orders(
        {
            "price": [T, T],  # promo 1.0 (ratio 2.0)
            "quality": [F, F],  # premium 1.0 below (ratio 3.33)
            "service": [F, F],  # 1 complaint / 2 = 0.5 (ratio 1.67)
            "plain": [F, F],  # nothing qualifies
            "tie": [T, F],  # promo 0.5 = threshold (ratio 1.0); premium 3/10 (ratio 1.0)
            "mixed": [T, T],  # promo 1.0 (2.0) and service 2/2 = 1.0 (3.33)
            "below": [T, F, F],  # promo 1/3 < 0.5; premium 2/7 < 0.3; service 0
            "edge": [F] * 10,  # 3 complaints / 10 orders = 0.3: exactly the threshold
        }
    ),
    "groupbuy_groups": _groups(
        {
            "quality": [T, T],
            "tie": [T, T, T, F, F, F, F, F, F, F],
            "below": [T, T, F, F, F, F, F],
        }
    ),
    "events": _events({"service": 1, "mixed": 2, "nobuy": 5, "edge": 3}),
    "customers": pl.DataFrame(
        {
            "customer_id": [
                "below",
                "edge",
                "mixed",
                "nobuy",
                "plain",
                "price",
                "quality",
                "service",
                "tie",
            ]
        }
    ),
}
EXPECTED = {
    "below": "balanced",
    "edge": "service",
    "mixed": "service",
    "nobuy": "unknown",
    "plain": "balanced",
    "price": "price",
    "quality": "quality",
    "service": "service",
    "tie": "price",
}


def _rules(segrule_rules: Any, params: str = "{}") -> Any:
    return segrule_rules(
        "r.yaml",
        f"""
        scores:
          need:
            strategy: groupbuy_sensitivity
            params: {params}
        outputs: [customer_id, need]
        """,
    )


@pytest.fixture
def engine(segrule_engine: Any) -> Any:
    return segrule_engine(plugin)


def test_dominant_need_with_default_thresholds(engine: Any, segrule_rules: Any) -> None:
    df = score_rows(_rules(segrule_rules), TABLES, engine=engine)
    assert dict(df.rows()) == EXPECTED


def test_thresholds_min_orders_and_window(engine: Any, segrule_rules: Any) -> None:
    # price_min 0.4: 'below' (1/3) still under; quality_min 0.25: 'below' 2/7 = 0.286 qualifies.
    # min_orders 3: only 'below' and 'edge' have 3 paid orders; the rest are unknown.
    params = "{price_min: 0.4, quality_min: 0.25, min_orders: 3, window: 30d}"
    df = score_rows(_rules(segrule_rules, params), TABLES, engine=engine)
    # 'edge' has 10 orders: service 0.3 (its only signal)
    assert dict(df.rows()) == {
        k: {"below": "quality", "edge": "service"}.get(k, "unknown") for k in EXPECTED
    }
    # window 7d: every order (10+ days ago) is outside, so nobody has orders
    df = score_rows(_rules(segrule_rules, "{window: 7d}"), TABLES, engine=engine)
    assert set(df["need"]) == {"unknown"}


def test_signal_dimension_can_be_replaced(engine: Any, segrule_rules: Any) -> None:
    # coupon share instead of promo share: identical here (discount 0), and thresholds
    # apply to the replacement: price_min 1.0 leaves only 'price' and 'mixed' qualifying
    params = "{price: groupbuy_coupon_share_365d, price_min: 1.0}"
    df = score_rows(_rules(segrule_rules, params), TABLES, engine=engine)
    got = dict(df.rows())
    # 'mixed': price ratio 1.0 vs service 3.33 -> service; 'tie': price 0.5 < 1.0 -> quality
    assert got["price"] == "price" and got["mixed"] == "service" and got["tie"] == "quality"


def test_labels_and_actions_are_attached(engine: Any, segrule_rules: Any) -> None:
    import segrule

    params = "{labels: {price: {zh: 价格党, actions: [coupon]}}}"
    plan = segrule.compile(
        _rules(segrule_rules, params), tables=TABLES, engine=engine, as_of=segrule.testing.AS_OF
    )
    labels = plan.nodes["need"].labels
    assert labels["price"].zh == "价格党" and labels["price"].en == "Price-sensitive"
    assert labels["price"].actions == ("coupon",)
    assert labels["quality"].zh == "质量敏感型"
    assert plan.nodes["need"].role == "segment"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{price_min: 0}", "'price_min' must be a number > 0"),
        ("{service_min: high}", "'service_min' must be a number > 0"),
        ("{min_orders: 0}", "'min_orders' must be a whole number >= 1"),
        ("{window: 3m}", "window '3m' is not understood"),
        ("{price_mn: 0.4}", "unknown parameter 'price_mn' — did you mean 'price_min'"),
        ("{labels: {cheap: {zh: x}}}", "labels: unknown label 'cheap'"),
        ("{quality: 5}", "parameter 'quality' must be a dimension name"),
    ],
)
def test_bad_parameters_are_one_line_errors_at_the_rule(
    engine: Any, segrule_rules: Any, params: str, message: str
) -> None:
    path = _rules(segrule_rules, params)
    with pytest.raises(SegruleError) as info:
        score_rows(path, TABLES, engine=engine)
    text = str(info.value)
    assert message in text and "r.yaml:" in text and "\n" not in text
