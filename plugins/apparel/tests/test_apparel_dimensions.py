"""Every apparel dimension on tiny hand-made tables.

Expected values are worked out by hand from the rows written next to them. The as-of
instant is segrule.testing.AS_OF (2026-11-01 00:00); ``ago(n)`` is n days before it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
import segrule_apparel.hooks as plugin
from segrule.testing import AS_OF, RuleFiles, customer_frame, days_before, frame, score_rows

ago = days_before

ITEM_SCHEMA: dict[str, Any] = {
    "order_id": pl.String(),
    "customer_id": pl.String(),
    "item_ts": pl.Datetime("us"),
    "category": pl.String(),
    "size": pl.String(),
    "season": pl.String(),
    "quantity": pl.Int64(),
    "amount": pl.Float64(),
    "launch_ts": pl.Datetime("us"),
    "is_new_arrival": pl.Boolean(),
    "returned": pl.Boolean(),
    "return_ts": pl.Datetime("us"),
}


@pytest.fixture(scope="module")
def engine() -> segrule.Engine:
    return segrule.Engine(plugins=[plugin], autoload=False)


@pytest.fixture
def score(engine: segrule.Engine, tmp_path: Path) -> Any:
    """score(outputs, items, customers, dimensions_yaml="") -> DataFrame sorted by id."""
    files = RuleFiles(tmp_path)

    def run(
        outputs: list[str],
        items: list[dict[str, Any]] | pl.DataFrame,
        customers: list[str],
        dimensions: str = "",
        as_of: dt.datetime = AS_OF,
    ) -> pl.DataFrame:
        text = f"outputs: [customer_id, {', '.join(outputs)}]\n" + dimensions
        rules = files("r.yaml", text)
        items_df = items if isinstance(items, pl.DataFrame) else frame(items, ITEM_SCHEMA)
        tables = {"customers": customer_frame(customers), "apparel_items": items_df}
        return score_rows(rules, tables, engine=engine, as_of=as_of)

    return run


def column(df: pl.DataFrame, name: str) -> dict[str, Any]:
    return dict(zip(df["customer_id"].to_list(), df[name].to_list(), strict=True))


def line(cid: str, days: float, **kw: Any) -> dict[str, Any]:
    return {"customer_id": cid, "item_ts": ago(days), **kw}


# -- units, returns, spend --------------------------------------------------------
RETURN_ROWS = [
    # a: 30d window holds a1, a2, a3 (a3 exactly 30 days back: the window's first instant)
    line("a", 10, category="dress", quantity=2, amount=300.0, returned=False),
    line("a", 20, category="shirt", amount=100.0, returned=True, return_ts=ago(15)),
    # returned at the as-of instant: not yet returned as of it, so kept
    line("a", 30, category="pants", quantity=1, amount=50.0, returned=True, return_ts=AS_OF),
    # one second before the 30d window; returned without a return time: counts as returned
    {
        "customer_id": "a",
        "item_ts": ago(30) - dt.timedelta(seconds=1),
        "category": "pants",
        "quantity": 1,
        "amount": 70.0,
        "returned": True,
    },
    # at the as-of instant: not before it, never counted
    {"customer_id": "a", "item_ts": AS_OF, "category": "dress", "quantity": 5, "amount": 999.0},
    line("b", 100, category="skirt", quantity=1, amount=80.0, returned=None),
]


def test_units_returns_and_return_rate(score: Any) -> None:
    outs = [
        "apparel_items_30d",
        "apparel_items_lifetime",
        "apparel_returned_items_30d",
        "apparel_returned_items_lifetime",
        "apparel_return_rate_30d",
        "apparel_return_rate",
    ]
    df = score(outs, RETURN_ROWS, ["a", "b", "c"])
    assert df.rows() == [
        # a: 30d units 2 + 1 (null quantity) + 1 = 4, returned 1 (a2); lifetime 5 and 2
        ("a", 4, 5, 1, 2, 0.25, 0.4),
        ("b", 0, 1, 0, 0, None, 0.0),
        ("c", 0, 0, 0, 0, None, None),  # no rows at all: counts 0, rates null
    ]


def test_spend_and_category_share_use_kept_lines_in_exact_cents(score: Any) -> None:
    outs = [
        "apparel_spend_30d",
        "apparel_spend_lifetime",
        "apparel_spend_dress_30d",
        "apparel_spend_pants_lifetime",
        "apparel_category_share_dress_30d",
        "apparel_category_share_skirt_lifetime",
        "apparel_category_count_lifetime",
    ]
    df = score(outs, RETURN_ROWS, ["a", "b", "c"])
    assert df.rows() == [
        # kept: a1 dress 300 and a3 pants 50 (its return is at the as-of); a2, a4 returned
        ("a", 350.0, 350.0, 300.0, 50.0, 300 / 350, 0.0, 2),
        ("b", 0.0, 80.0, 0.0, 0.0, None, 1.0, 1),
        ("c", 0.0, 0.0, 0.0, 0.0, None, None, 0),
    ]


def test_spend_sums_cents_exactly(score: Any) -> None:
    rows = [line("x", 1, category="dress", amount=0.1) for _ in range(3)]
    rows.append(line("x", 1, category="dress", amount=9999.7))
    df = score(["apparel_spend_lifetime"], rows, ["x"])
    assert df["apparel_spend_lifetime"].to_list() == [10000.0]  # 0.1 + 0.1 + 0.1 + 9999.7


# -- category affinity ------------------------------------------------------------------
CATEGORY_ROWS = [
    line("d", 5, category="dress", amount=60.0),
    line("d", 6, category="skirt", amount=40.0),
    line("e", 5, category="dress", amount=50.0),  # a tie: dress comes first in the list
    line("e", 6, category="shirt", amount=50.0),
    line("f", 5, category="dress", amount=40.0),
    line("f", 6, category="shirt", amount=30.0),
    line("f", 7, category="pants", amount=30.0),
    line("g", 5, category="swimwear", amount=90.0),  # not a listed category: "other"
    line("g", 6, category="dress", amount=10.0),
    line("h", 5, category="dress", amount=100.0, returned=True),  # nothing kept
]
CATEGORY_IDS = ["d", "e", "f", "g", "h", "z"]


def test_top_and_main_category(score: Any) -> None:
    outs = [
        "apparel_top_category_365d",
        "apparel_top_category_share_365d",
        "apparel_main_category_365d",
        "apparel_category_count_365d",
    ]
    df = score(outs, CATEGORY_ROWS, CATEGORY_IDS)
    assert df.rows() == [
        ("d", "dress", 0.6, "dress", 2),
        ("e", "dress", 0.5, "dress", 2),  # exactly 0.5 reaches min_share 0.5
        ("f", "dress", 0.4, "mixed", 3),
        ("g", "other", 0.9, "other", 2),
        ("h", None, None, None, 0),
        ("z", None, None, None, 0),  # no rows
    ]


def test_main_category_params(score: Any) -> None:
    dims = """
dimensions:
  short_list:
    use: apparel_main_category_365d
    params: {categories: [shirt, dress], min_share: 0.7}
  short_top:
    use: apparel_top_category_365d
    params: {categories: [shirt, dress]}
"""
    df = score(["short_list", "short_top"], CATEGORY_ROWS, CATEGORY_IDS, dims)
    assert df.rows() == [
        ("d", "mixed", "dress"),  # dress 0.6 < 0.7
        ("e", "mixed", "shirt"),  # the tie now goes to shirt, first in this list
        ("f", "mixed", "dress"),
        ("g", "other", "other"),  # skirt, pants, swimwear are all "other" here
        ("h", None, None),
        ("z", None, None),
    ]


def test_main_category_labels_name_the_customers() -> None:
    engine = segrule.Engine(plugins=[plugin], autoload=False)
    plan = segrule.compile("apparel:category-needs", engine=engine, check_only=True, as_of=AS_OF)
    labels = plan.nodes["apparel_category_customer"].labels
    assert labels["dress"].zh == "连衣裙客户" and labels["shirt"].zh == "衬衫客户"
    assert labels["shorts"].zh == "短裤客户"


# -- size profile -------------------------------------------------------------------
SIZE_ROWS = [
    line("i", 1, category="dress", amount=1.0, size="M"),
    line("i", 2, category="dress", amount=1.0, size="M"),
    line("i", 3, category="dress", amount=1.0, size="L"),
    line("i", 4, category="accessories", amount=1.0, size="ONE_SIZE"),
    line("i", 5, category="dress", amount=1.0, size=None),
    line("i", 6, category="dress", amount=1.0, size="L", returned=True),  # returned: ignored
    line("i", 7, category="dress", amount=1.0, size="L", returned=True),
    line("j", 1, category="shirt", amount=1.0, size="M"),  # tie: the smaller size S
    line("j", 2, category="shirt", amount=1.0, size="S"),
    line("k", 1, category="pants", amount=1.0, size="XL"),
    line("k", 2, category="pants", amount=1.0, size="XL"),
    line("k", 3, category="pants", amount=1.0, size="XL"),
    line("k", 4, category="pants", amount=1.0, size="2XL"),
    line("l", 1, category="pants", amount=1.0, size="28"),  # numeric tie: text order
    line("l", 2, category="pants", amount=1.0, size="27"),
    line("l", 3, category="pants", amount=1.0, size="S"),
    line("l", 4, category="pants", amount=1.0, size="S"),
    line("m", 1, category="accessories", amount=1.0, size="均码"),  # ONE_SIZE only
    line("n", 1, category="dress", amount=1.0, size="xxl"),  # mapped to 2XL
    line("n", 2, category="dress", amount=1.0, size=" 2XL "),
    line("n", 3, category="dress", amount=1.0, size="m"),
    line("o", 1, category="pants", amount=1.0, size="27"),
    line("o", 2, category="pants", amount=1.0, size="28"),
]


def test_size_profile(score: Any) -> None:
    outs = [
        "apparel_size_365d",
        "apparel_size_share_365d",
        "apparel_size_count_365d",
        "apparel_size_profile_365d",
    ]
    df = score(outs, SIZE_ROWS, ["i", "j", "k", "l", "m", "n", "o", "z"])
    assert df.rows() == [
        ("i", "M", 2 / 3, 2, "varied"),
        ("j", "S", 0.5, 2, "varied"),
        ("k", "XL", 0.75, 2, "consistent"),  # exactly 0.75 reaches the default min_share
        ("l", "S", 0.5, 3, "varied"),  # S twice: the mode
        ("m", None, None, 0, None),
        ("n", "2XL", 2 / 3, 2, "varied"),
        ("o", "27", 0.5, 2, "varied"),  # tie between numbers: text order
        ("z", None, None, 0, None),
    ]


def test_size_profile_min_share_param(score: Any) -> None:
    dims = """
dimensions:
  loose_fit:
    use: apparel_size_profile_365d
    params: {min_share: 0.5}
"""
    df = score(["loose_fit"], SIZE_ROWS, ["i", "j", "m"], dims)
    assert df["loose_fit"].to_list() == ["consistent", "consistent", None]


# -- seasons ----------------------------------------------------------------------------
SEASON_ROWS = [
    line("p", 10, category="outerwear", amount=1.0, season="winter", quantity=3),
    line("p", 11, category="tshirt", amount=1.0, season="夏季", quantity=1),  # -> summer
    line("p", 12, category="pants", amount=1.0, season="四季", quantity=5),  # all-season
    line("q", 10, category="shirt", amount=1.0, season="spring"),
    line("q", 11, category="shirt", amount=1.0, season="Fall"),  # -> autumn; tie: spring
    line("r", 10, category="shirt", amount=1.0, season="spring"),
    line("r", 11, category="shirt", amount=1.0, season="summer"),
    line("r", 12, category="shirt", amount=1.0, season="autumn"),
    line("s", 10, category="pants", amount=1.0, season="all"),
    line("s", 11, category="pants", amount=1.0, season="winter", returned=True),
]


def test_season_preference(score: Any) -> None:
    outs = [
        "apparel_season_items_winter_365d",
        "apparel_season_items_all_365d",
        "apparel_top_season_365d",
        "apparel_top_season_share_365d",
        "apparel_season_preference_365d",
    ]
    df = score(outs, SEASON_ROWS, ["p", "q", "r", "s", "z"])
    assert df.rows() == [
        ("p", 3, 5, "winter", 0.75, "winter"),  # all-season units are not seasonal
        ("q", 0, 0, "spring", 0.5, "spring"),  # 0.5 reaches min_share 0.5
        ("r", 0, 0, "spring", 1 / 3, "balanced"),
        ("s", 0, 1, None, None, None),  # the winter line was returned
        ("z", 0, 0, None, None, None),
    ]


def test_buying_season_by_month_of_purchase(score: Any) -> None:
    # AS_OF 2026-11-01: ago(10) = 2026-10-22 (autumn), ago(100) = 2026-07-24 (summer),
    # ago(200) = 2026-04-15 (spring), ago(300) = 2026-01-05 (winter)
    rows = [
        line("t", 10, category="dress", amount=1.0, quantity=1),
        line("t", 100, category="dress", amount=1.0, quantity=2),
        line("t", 300, category="dress", amount=1.0, quantity=5, returned=True),
        line("u", 200, category="dress", amount=1.0),
        line("u", 300, category="dress", amount=1.0),  # tie: spring before winter
        line("v", 400, category="dress", amount=1.0),  # outside 365d
    ]
    df = score(
        ["apparel_buying_season_365d", "apparel_buying_season_lifetime"], rows, ["t", "u", "v"]
    )
    assert df.rows() == [
        ("t", "summer", "summer"),
        ("u", "spring", "spring"),
        ("v", None, "autumn"),
    ]  # ago(400) = 2025-09-27


# -- new arrivals -------------------------------------------------------------------
NEW_ROWS = [
    line("w", 10, category="dress", amount=1.0, launch_ts=ago(40), is_new_arrival=True),  # 30 d
    line("w", 10, category="dress", amount=1.0, launch_ts=ago(39)),  # 29 days: new
    line("w", 10, category="dress", amount=1.0, launch_ts=ago(5)),  # pre-sale: new
    line("w", 10, category="dress", amount=1.0, launch_ts=None, is_new_arrival=True),
    line("w", 10, category="dress", amount=1.0, quantity=2, launch_ts=ago(12), returned=True),
]


def test_new_arrival_items_and_share(score: Any) -> None:
    dims = """
dimensions:
  new_7d:
    use: apparel_new_arrival_share_365d
    params: {days: 7}
  new_flag:
    use: apparel_new_arrival_share_365d
    params: {basis: flag}
  new_flag_items:
    use: apparel_new_arrival_items_365d
    params: {basis: flag}
"""
    outs = [
        "apparel_new_arrival_items_365d",
        "apparel_new_arrival_share_365d",
        "new_7d",
        "new_flag",
        "new_flag_items",
    ]
    df = score(outs, NEW_ROWS, ["w", "z"], dims)
    assert df.rows() == [
        # 6 units; new within 30 days: 29 d (1), pre-sale (1), returned line (2) -> 4
        # within 7 days: pre-sale (1), the 2-day-old launch (2) -> 3; flagged: 2
        ("w", 4, 4 / 6, 0.5, 2 / 6, 2),
        ("z", 0, None, None, None, 0),
    ]


# -- bad parameters and missing columns ---------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            "use: apparel_main_category_365d\n    params: {min_sahre: 0.5}",
            "unknown parameter 'min_sahre' — did you mean 'min_share'?",
        ),
        (
            "use: apparel_main_category_365d\n    params: {min_share: 1.5}",
            "min_share must be a number in (0, 1]",
        ),
        (
            "use: apparel_main_category_365d\n    params: {categories: [Dress]}",
            "category 'Dress' is not a usable key",
        ),
        (
            "use: apparel_top_category_365d\n    params: {categories: [dress, dress]}",
            "lists a category twice",
        ),
        (
            "use: apparel_new_arrival_share_365d\n    params: {basis: launch}",
            "basis must be 'launch_ts' or 'flag'",
        ),
        (
            "use: apparel_new_arrival_share_365d\n    params: {basis: flag, days: 7}",
            "days applies to basis launch_ts only",
        ),
        (
            "use: apparel_new_arrival_items_365d\n    params: {days: 0}",
            "days must be a positive whole number",
        ),
        (
            "use: apparel_size_365d\n    params: {min_share: 0.5}",
            "this dimension takes no parameters",
        ),
    ],
)
def test_bad_params_are_one_clear_error(score: Any, params: str, message: str) -> None:
    dims = f"dimensions:\n  bad:\n    {params}\n"
    with pytest.raises(segrule.RuleSetError) as info:
        score(["bad"], [], ["a"], dims)
    text = str(info.value)
    assert message in text and "bad" in text and "\n" not in text


def test_return_dimensions_need_the_returned_column(score: Any) -> None:
    items = pl.DataFrame(
        {"customer_id": ["a"], "item_ts": [ago(1)], "category": ["dress"], "amount": [10.0]}
    )
    with pytest.raises(
        segrule.DataError, match=r"no column 'returned' \(needed by apparel_returned_items_30d\)"
    ):
        score(["apparel_return_rate_30d"], items, ["a"])


def test_minimal_table_without_optional_columns(score: Any) -> None:
    """No quantity, returned or return_ts: every line is one unit and kept."""
    items = pl.DataFrame(
        {
            "customer_id": ["a", "a"],
            "item_ts": ["2026-10-20 10:00:00", "2026-10-21 11:00:00"],  # text times
            "category": ["连衣裙", "Dresses"],
            "amount": ["199.00", "99.5"],  # text numbers
        }
    )
    outs = ["apparel_items_30d", "apparel_spend_dress_30d", "apparel_main_category_30d"]
    df = score(outs, items, ["a", "b"])
    assert df.rows() == [("a", 2, 298.5, "dress"), ("b", 0, 0.0, None)]
