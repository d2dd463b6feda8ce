"""Hand-computed tiny cases for the boundary semantics, checked on the engine and on
the reference alike."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import segrule
from reference import PRESET_COLUMNS, Reference, differences, ntile_sizes, preset_rows

ENGINE = segrule.Engine(autoload=False)
PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]
T = dt.datetime(2026, 11, 1)
US = dt.timedelta(microseconds=1)
D = dt.timedelta(days=1)


def orders(rows: list[tuple[str, dt.datetime, float, str]], tz: str | None = None) -> pl.DataFrame:
    ts = pl.Series("order_ts", [r[1] for r in rows], dtype=pl.Datetime("us"))
    if tz is not None:  # the same wall times, stored as instants in UTC
        ts = ts.dt.replace_time_zone(tz).dt.convert_time_zone("UTC")
    return pl.DataFrame(
        [
            pl.Series("order_id", [f"o{i}" for i in range(len(rows))], dtype=pl.String),
            pl.Series("customer_id", [r[0] for r in rows], dtype=pl.String),
            ts,
            pl.Series("amount", [r[2] for r in rows], dtype=pl.Float64),
            pl.Series("status", [r[3] for r in rows], dtype=pl.String),
        ]
    )


EVENTS = pl.DataFrame(
    schema={"customer_id": pl.String, "event_ts": pl.Datetime("us"), "event_type": pl.String}
)
FEEDBACK = pl.DataFrame(
    schema={"customer_id": pl.String, "ts": pl.Datetime("us"), "score": pl.Int64}
)


def run_presets(
    tables: dict[str, pl.DataFrame], tz: str = "UTC", as_of: object = "2026-11-01"
) -> dict[str, dict]:
    tables = {"events": EVENTS, "feedback": FEEDBACK, **tables}
    df = segrule.score(PRESETS, tables=tables, as_of=as_of, tz=tz, engine=ENGINE)
    expected = preset_rows(tables, as_of, tz)
    problems = differences(df.to_dicts(), expected, PRESET_COLUMNS)
    assert not problems, "\n".join(problems)
    return {r["customer_id"]: r for r in df.to_dicts()}


@pytest.mark.parametrize("tz", [None, "Asia/Shanghai"])
def test_window_start_is_inside_and_as_of_is_outside(tz: str | None) -> None:
    out = run_presets(
        {
            "orders": orders(
                [
                    ("c", T - 30 * D - US, 1.0, "paid"),  # lifetime only
                    ("c", T - 30 * D, 1.0, "paid"),  # exactly at the window start: counts
                    ("c", T - US, 1.0, "paid"),  # the last instant before as-of: counts
                    ("c", T, 1.0, "paid"),  # at as-of: excluded everywhere
                    ("only_at_t", T, 5.0, "paid"),  # not in the universe (no order before T)
                ],
                tz,
            )
        },
        tz=tz or "UTC",
    )
    assert list(out) == ["c"]
    c = out["c"]
    assert c["orders_30d"] == 2
    assert c["orders_lifetime"] == 3
    assert c["monetary_lifetime"] == 3.0
    assert c["recency_days"] == 0
    zone = ZoneInfo(tz or "UTC")
    assert c["first_order_ts"] == (T - 30 * D - US).replace(tzinfo=zone)


def test_customer_with_only_an_order_at_as_of_is_a_prospect_when_listed() -> None:
    customers = pl.DataFrame({"customer_id": ["c", "only_at_t", "no_orders"]})
    out = run_presets(
        {
            "customers": customers,
            "orders": orders([("c", T - D, 1.0, "paid"), ("only_at_t", T, 5.0, "paid")]),
        }
    )
    assert list(out) == ["c", "no_orders", "only_at_t"]
    for cid in ("only_at_t", "no_orders"):
        assert out[cid]["orders_lifetime"] == 0
        assert out[cid]["tier"] == "prospect"
        assert out[cid]["r_score"] is None
        assert out[cid]["rfm_segment"] == "no_purchase"
        assert out[cid]["pareto_key"] is False


def test_monetary_exactly_10000_is_mid_not_high() -> None:
    old = T - 200 * D  # not 'new' (first order > 90 days ago)
    out = run_presets(
        {
            "orders": orders(
                [
                    ("exact", old, 3333.33, "paid"),
                    ("exact", old, 3333.33, "paid"),
                    ("exact", old, 3333.34, "paid"),
                    ("above", old, 3333.33, "paid"),
                    ("above", old, 3333.34, "paid"),
                    ("above", old, 3333.34, "paid"),
                    ("low", old, 499.99, "paid"),
                    ("edge500", old, 500.0, "paid"),
                ]
            )
        }
    )
    assert out["exact"]["monetary_365d"] == 10000.0
    assert out["exact"]["amount_tier"] == "mid"
    assert out["above"]["monetary_365d"] == 10000.01
    assert out["above"]["amount_tier"] == "high"
    assert out["low"]["amount_tier"] == "low"
    assert out["edge500"]["amount_tier"] == "mid"


def test_ntile_of_seven_buyers_is_2_2_1_1_1() -> None:
    assert ntile_sizes(7, 5) == [2, 2, 1, 1, 1]
    assert ntile_sizes(3, 5) == [1, 1, 1, 0, 0]
    assert ntile_sizes(10, 5) == [2, 2, 2, 2, 2]
    rows = []
    for i in range(7):  # buyer b{i}: i + 1 orders, the last one i days before as-of
        rows += [(f"b{i}", T - (i + 1) * D, 10.0 * (i + 1), "paid")] * (i + 1)
    out = run_presets({"orders": orders(rows)})
    assert [out[f"b{i}"]["f_score"] for i in range(7)] == [1, 1, 2, 2, 3, 4, 5]
    assert [out[f"b{i}"]["m_score"] for i in range(7)] == [1, 1, 2, 2, 3, 4, 5]
    # recency: days descending, so the most recent buyer is in the last bucket (R = 5)
    assert [out[f"b{i}"]["r_score"] for i in range(7)] == [5, 4, 3, 2, 2, 1, 1]
    assert out["b6"]["rfm_segment"] == "cant_lose"  # R 1, F 5
    assert out["b0"]["rfm_segment"] == "new_customers"  # R 5, F 1


def test_ntile_ties_are_broken_by_customer_id() -> None:
    rows = [(cid, T - 10 * D, 100.0, "paid") for cid in ["d", "b", "é", "a", "c", "客户-1", "e"]]
    out = run_presets({"orders": orders(rows)})
    ids = sorted(out)
    assert ids == ["a", "b", "c", "d", "e", "é", "客户-1"]
    assert [out[c]["m_score"] for c in ids] == [1, 1, 2, 2, 3, 4, 5]
    assert [out[c]["r_score"] for c in ids] == [1, 1, 2, 2, 3, 4, 5]


def test_pareto_includes_the_crossing_customer() -> None:
    old = T - 10 * D
    out = run_presets(
        {
            "orders": orders(
                [
                    # 50 + 30 reaches 80 of 100 exactly: a and b are in, c is not
                    ("a", old, 50.0, "paid"),
                    ("b", old, 30.0, "paid"),
                    ("c", old, 20.0, "paid"),
                    ("x", old, 999.0, "pending"),  # no paid order: never key
                ]
            )
        }
    )
    assert {c: out[c]["pareto_key"] for c in out} == {"a": True, "b": True, "c": False, "x": False}
    out = run_presets(
        {
            "orders": orders(
                [
                    # 50 + 25 = 75 < 80: the next one (c, ahead of d by id) crosses and is in
                    ("a", old, 50.0, "paid"),
                    ("b", old, 25.0, "paid"),
                    ("d", old, 12.5, "paid"),
                    ("c", old, 12.5, "paid"),
                ]
            )
        }
    )
    assert {c: out[c]["pareto_key"] for c in out} == {"a": True, "b": True, "c": True, "d": False}


def test_feedback_and_campaign_boundaries() -> None:
    old = T - 200 * D
    events = pl.DataFrame(
        {
            "customer_id": ["act", "occ", "none", "none"],
            "event_ts": [T - 30 * D, T - 30 * D - US, T - 90 * D - US, T],
            "event_type": ["campaign", "campaign", "campaign", "campaign"],
        }
    )
    feedback = pl.DataFrame(
        {
            "customer_id": ["act", "act", "occ", "none"],
            "ts": [old, old, old, T],
            "score": [80, 100, 75, 100],
        }
    )
    out = run_presets(
        {
            "orders": orders([(c, old, 1.0, "paid") for c in ("act", "occ", "none")]),
            "events": events,
            "feedback": feedback,
        }
    )
    assert [out[c]["interaction"] for c in ("act", "occ", "none")] == [
        "active",
        "occasional",
        "none",
    ]
    assert out["act"]["feedback_mean"] == 90.0
    assert out["act"]["satisfaction"] == "very_satisfied"
    assert out["occ"]["satisfaction"] == "satisfied"
    assert out["none"]["satisfaction"] == "unknown"  # feedback at as-of does not count


def test_reference_sql_subset_semantics() -> None:
    """NULL is not a match; a NULL flag is false; NOT NULL stays NULL."""
    tables = {"orders": orders([("buyer", T - D, 1.0, "paid"), ("other", T - D, 1.0, "pending")])}
    rules = {
        "segments": {
            "f": {"flag": "recency_days < 10"},
            "g": {"flag": "NOT (recency_days < 10)"},
            "s": {
                "cases": [{"when": "recency_days >= 0 OR orders_lifetime > 5", "label": "yes"}],
                "default": "no",
            },
        },
        "outputs": ["customer_id", "f", "g", "s"],
    }
    ref = Reference(tables, T, "UTC", ruleset=rules)
    assert ref.rows() == [
        {"customer_id": "buyer", "f": True, "g": False, "s": "yes"},
        {"customer_id": "other", "f": False, "g": False, "s": "no"},
    ]


def test_money_values_are_the_nearest_float_and_compare_exactly(tmp_path) -> None:
    """1833285 cents is 18332.85 (not 18332.850000000002): 'monetary_lifetime > 18332.85'
    is false, '>= 18332.85' true; the mean of 1833285 cents over 2 orders is 916642.5
    cents, rounded to even: 9166.42."""
    rules = tmp_path / "money.yaml"
    rules.write_text(
        "name: money\n"
        "segments:\n"
        "  gt: {flag: 'monetary_lifetime > 18332.85'}\n"
        "  ge: {flag: 'monetary_lifetime >= 18332.85'}\n"
        "outputs: [customer_id, monetary_lifetime, avg_order_value, gt, ge]\n",
        encoding="utf-8",
    )
    tables = {"orders": orders([("a", T - D, 18000.0, "paid"), ("a", T - D, 332.85, "paid")])}
    df = segrule.score(str(rules), tables=tables, as_of=T, engine=ENGINE)
    expected = [
        {
            "customer_id": "a",
            "monetary_lifetime": 18332.85,
            "avg_order_value": 9166.42,
            "gt": False,
            "ge": True,
        }
    ]
    assert df.to_dicts() == expected  # exact float equality on purpose
    assert Reference(tables, T, ruleset=rules).rows() == expected
