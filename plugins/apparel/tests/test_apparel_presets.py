"""The apparel presets on hand-made tables: every label is reached, values are checked.

As-of: segrule.testing.AS_OF (2026-11-01 00:00); ``ago(n)`` is n days before it.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import segrule
import segrule_apparel.hooks as plugin
from segrule.testing import AS_OF, customer_frame, days_before, frame, score_rows

ago = days_before

ITEM_SCHEMA: dict[str, Any] = {
    "customer_id": pl.String(),
    "item_ts": pl.Datetime("us"),
    "category": pl.String(),
    "size": pl.String(),
    "season": pl.String(),
    "quantity": pl.Int64(),
    "amount": pl.Float64(),
    "launch_ts": pl.Datetime("us"),
    "returned": pl.Boolean(),
    "return_ts": pl.Datetime("us"),
}


@pytest.fixture(scope="module")
def engine() -> segrule.Engine:
    return segrule.Engine(plugins=[plugin], autoload=False)


def line(cid: str, days: float, category: str, amount: float = 100.0, **kw: Any) -> dict:
    # launched long before the purchase (not a new arrival) unless launch_ts is given
    return {
        "customer_id": cid,
        "item_ts": ago(days),
        "category": category,
        "amount": amount,
        "launch_ts": kw.pop("launch_ts", ago(days + 200)),
        **kw,
    }


def run(engine: segrule.Engine, preset: str, rows: list[dict], ids: list[str]) -> pl.DataFrame:
    tables = {"customers": customer_frame(ids), "apparel_items": frame(rows, ITEM_SCHEMA)}
    return score_rows(preset, tables, engine=engine, as_of=AS_OF)


def labels(df: pl.DataFrame, segment: str) -> dict[str, str]:
    return dict(zip(df["customer_id"].to_list(), df[segment].to_list(), strict=True))


SINGLE = [
    "dress",
    "shirt",
    "tshirt",
    "knitwear",
    "outerwear",
    "pants",
    "shorts",
    "skirt",
    "accessories",
]
CATEGORY_ROWS = [
    *[line(c, 10, c) for c in SINGLE],  # one kept line each: that category's customer
    line("mixed", 10, "dress", 40.0),
    line("mixed", 11, "shirt", 30.0),
    line("mixed", 12, "pants", 30.0),
    line("other", 10, "swimwear"),
    line("old", 400, "dress"),  # outside 365 days
    # 4 units, 3 returned (rate 0.75 >= 0.5 with >= 3 returned): serial returner
    *[line("serial", 20 + i, "dress", returned=i < 3, return_ts=ago(10)) for i in range(4)],
    # 4 units, 2 returned (rate 0.5 but only 2 returned): elevated
    *[line("elevated", 20 + i, "shirt", returned=i < 2, return_ts=ago(10)) for i in range(4)],
    # new arrivals: bought within 30 days of the launch
    line("trend", 5, "skirt", launch_ts=ago(10)),
    line("trend", 6, "skirt", launch_ts=ago(6)),
    line("occasional", 5, "pants", launch_ts=ago(10)),
    line("occasional", 6, "pants"),
    line("occasional", 7, "pants"),
]
CATEGORY_IDS = [
    *SINGLE,
    "mixed",
    "other",
    "old",
    "none",
    "serial",
    "elevated",
    "trend",
    "occasional",
]


def test_category_needs_reaches_every_label(engine: segrule.Engine) -> None:
    df = run(engine, "apparel:category-needs", CATEGORY_ROWS, CATEGORY_IDS)
    cat = labels(df, "apparel_category_customer")
    assert {c: cat[c] for c in SINGLE} == {c: c for c in SINGLE}
    assert cat["mixed"] == "mixed" and cat["other"] == "other"
    assert cat["old"] == "no_kept_purchase" and cat["none"] == "no_kept_purchase"
    assert cat["serial"] == "dress" and cat["elevated"] == "shirt"
    reachable = set(df["apparel_category_customer"].unique())
    assert reachable == {*SINGLE, "mixed", "other", "no_kept_purchase"}

    risk = labels(df, "apparel_return_risk")
    assert risk["serial"] == "serial_returner"
    assert risk["elevated"] == "elevated"
    assert risk["dress"] == "normal"
    assert risk["old"] == "no_items" and risk["none"] == "no_items"

    new = labels(df, "apparel_new_arrival_buyer")
    assert new["trend"] == "trend_seeker"
    assert new["occasional"] == "occasional"
    assert new["dress"] == "classic"
    assert new["none"] == "no_items"

    by_id = {r["customer_id"]: r for r in df.iter_rows(named=True)}
    assert by_id["mixed"]["apparel_top_category_365d"] == "dress"
    assert by_id["mixed"]["apparel_top_category_share_365d"] == 0.4
    assert by_id["mixed"]["apparel_category_count_365d"] == 3
    assert by_id["serial"]["apparel_items_365d"] == 4
    assert by_id["serial"]["apparel_returned_items_365d"] == 3
    assert by_id["serial"]["apparel_return_rate_365d"] == 0.75
    assert by_id["serial"]["apparel_spend_365d"] == 100.0
    assert by_id["occasional"]["apparel_new_arrival_share_365d"] == pytest.approx(1 / 3)
    assert by_id["none"]["apparel_spend_365d"] == 0.0
    assert df.columns == [
        "customer_id",
        "apparel_spend_365d",
        "apparel_top_category_365d",
        "apparel_top_category_share_365d",
        "apparel_category_count_365d",
        "apparel_items_365d",
        "apparel_returned_items_365d",
        "apparel_return_rate_365d",
        "apparel_new_arrival_share_365d",
        "apparel_category_customer",
        "apparel_return_risk",
        "apparel_new_arrival_buyer",
    ]


def sized(cid: str, days: float, size: str | None, season: str, **kw: Any) -> dict:
    return line(cid, days, "dress", size=size, season=season, **kw)


SIZE_SEASON_ROWS = [
    sized("spring", 10, "M", "spring"),
    sized("summer", 10, "M", "summer"),
    sized("summer", 11, "M", "all"),  # all-season items do not count for the season
    sized("autumn", 10, "S", "autumn"),
    sized("autumn", 11, "L", "autumn"),  # S and L: varied sizes
    sized("winter", 10, "XL", "winter"),
    sized("winter", 11, "XL", "winter"),
    sized("winter", 12, "XL", "winter"),
    sized("winter", 13, "2XL", "spring"),  # XL 3 of 4 = 0.75: consistent; winter 0.75
    sized("balanced", 10, "ONE_SIZE", "spring"),
    sized("balanced", 11, None, "summer"),
    sized("balanced", 12, "均码", "autumn"),  # no letter size: size unknown
    sized("allyear", 10, "M", "all"),
]
SIZE_SEASON_IDS = ["spring", "summer", "autumn", "winter", "balanced", "allyear", "none"]


def test_size_season_reaches_every_label(engine: segrule.Engine) -> None:
    df = run(engine, "apparel:size-season", SIZE_SEASON_ROWS, SIZE_SEASON_IDS)
    assert labels(df, "apparel_season_buyer") == {
        "spring": "spring",
        "summer": "summer",
        "autumn": "autumn",
        "winter": "winter",
        "balanced": "balanced",  # spring, summer, autumn one each: top share 1/3
        "allyear": "unknown",
        "none": "unknown",
    }
    assert labels(df, "apparel_size_fit") == {
        "spring": "consistent",
        "summer": "consistent",
        "autumn": "varied",
        "winter": "consistent",
        "balanced": "unknown",
        "allyear": "consistent",
        "none": "unknown",
    }
    by_id = {r["customer_id"]: r for r in df.iter_rows(named=True)}
    assert by_id["winter"]["apparel_size_365d"] == "XL"
    assert by_id["winter"]["apparel_size_share_365d"] == 0.75
    assert by_id["winter"]["apparel_top_season_share_365d"] == 0.75
    assert by_id["autumn"]["apparel_size_365d"] == "S"  # tie: the smaller size
    assert by_id["autumn"]["apparel_size_count_365d"] == 2
    # AS_OF - 10..13 days is 2026-10-19..22: bought in autumn
    assert by_id["spring"]["apparel_buying_season_365d"] == "autumn"
    assert by_id["none"]["apparel_buying_season_365d"] is None


def test_presets_carry_actions_for_every_label(engine: segrule.Engine) -> None:
    for preset in ("apparel:category-needs", "apparel:size-season"):
        plan = segrule.compile(preset, engine=engine, check_only=True, as_of=AS_OF)
        segments = [n for n in plan.nodes.values() if n.role == "segment"]
        assert segments
        for node in segments:
            for label in node.labels.values():
                assert label.zh and label.en, (preset, node.name, label.key)
            assert any(lb.actions for lb in node.labels.values())
