"""The presets b2b:inquiry-quality and b2b:value-matrix on hand-made tables: every label
of every segment is reached, with the values worked out next to the rows."""

from __future__ import annotations

import datetime as dt

import polars as pl
import segrule
import segrule_b2b.hooks as plugin
from segrule.testing import AS_OF, days_before, frame, make_tables, score_rows

ago = days_before

INQ_SCHEMA = {
    "customer_id": pl.String(),
    "inquiry_ts": pl.Datetime("us"),
    "email": pl.String(),
    "website": pl.String(),
    "product": pl.String(),
    "quantity": pl.Float64(),
    "destination_country": pl.String(),
    "questions_answered": pl.Int64(),
    "sample_requested": pl.Boolean(),
}
ACC_SCHEMA = {"customer_id": pl.String(), "margin": pl.Float64()}

# 2+2+1+2+1+1+3 = 12 points
FULL = {
    "email": "ann@acme.de",
    "website": "www.acme.de",
    "product": "PL-6060",
    "quantity": 500.0,
    "destination_country": "Germany",
    "questions_answered": 6,
}


def _inq(cid: str, ts: dt.datetime, sample: bool, **cols) -> dict:
    return {"customer_id": cid, "inquiry_ts": ts, "sample_requested": sample, **cols}


def test_inquiry_quality_preset(segrule_engine) -> None:
    inquiries = [
        _inq("p_send", ago(10), True, **FULL),  # 12: valid; asks for samples, never bought
        # gmail, product 2 + qty 1 + dest 1 = 4: follow_up
        _inq(
            "p_verify",
            ago(20),
            True,
            email="bob@gmail.com",
            product="LED tube",
            quantity=100.0,
            destination_country="Chile",
        ),
        _inq("p_junk", ago(30), True, email="big.buyer@hotmail.com"),  # -3: junk
        _inq("p_routine", ago(5), True, email="x@qq.com"),  # -3, but a customer already
        _inq("p_old", ago(400), True, **FULL),  # outside 365 days: no score; 90d: no request
    ]
    orders = [
        ("p_routine", ago(50), 1000.0),
        ("p_after", ago(100), 500.0),
        ("p_after", ago(30), 500.0, "refunded"),
    ]
    customers = ["p_prospect", "p_send", "p_verify", "p_junk", "p_routine", "p_after", "p_old"]
    tables = make_tables(orders=orders, customers=customers)
    tables["b2b_inquiries"] = frame(inquiries, INQ_SCHEMA)
    df = score_rows("b2b:inquiry-quality", tables, engine=segrule_engine(plugin))
    got = {
        r["customer_id"]: (
            r["b2b_inquiry"],
            r["b2b_inquiry_tier"],
            r["b2b_trade_stage"],
            r["b2b_sample_decision"],
        )
        for r in df.iter_rows(named=True)
    }
    assert got == {
        "p_after": (None, "none", "after_sales", "no_request"),
        "p_junk": (-3, "junk", "intent", "quote_only"),
        "p_old": (None, "none", "intent", "no_request"),
        "p_prospect": (None, "none", "prospect", "no_request"),
        "p_routine": (-3, "junk", "buyer", "routine"),
        "p_send": (12, "valid", "intent", "send"),
        "p_verify": (4, "follow_up", "intent", "verify_first"),
    }
    row = df.filter(pl.col("customer_id") == "p_verify").row(0, named=True)
    assert row["b2b_email_domain"] == "gmail.com" and row["b2b_free_mail"] is True
    assert row["b2b_free_mail_inquiries_365d"] == 1 and row["b2b_sample_requests_90d"] == 1
    # The tier explains itself and says what an inquiry lacks to be valid.
    from segrule.explain import ExplainOptions

    explained = segrule.score(
        "b2b:inquiry-quality",
        tables,
        as_of=AS_OF,
        engine=segrule_engine(plugin),
        explain=ExplainOptions(reasons=True, distance=True),
    )
    why = {r["customer_id"]: r for r in explained.iter_rows(named=True)}
    assert why["p_verify"]["b2b_inquiry_tier_reason"] == (
        "not none: b2b_inquiry=4; not valid: b2b_inquiry=4<7; follow_up: b2b_inquiry=4>=4"
    )
    assert (why["p_verify"]["b2b_inquiry_tier_next"], why["p_verify"]["b2b_inquiry_tier_gap"]) == (
        "valid",
        3.0,
    )
    assert why["p_send"]["b2b_inquiry_tier_next"] is None  # the top rung
    assert why["p_prospect"]["b2b_inquiry_tier_reason"] == "none: b2b_inquiry=null"


VALUE_ORDERS = [
    # k1: every 91 days, 1000 each: 4 in the current year, 2 in the one before (+100 %)
    *[("k1", ago(d), 1000.0) for d in (10, 101, 192, 283, 374, 465)],
    ("k2", ago(400), 300.0),  # one order, 400 days ago; five quote requests
    ("k3", ago(100), 200.0),
    ("k3", ago(50), 200.0),
    # k4: four orders 30 days apart, the last 130 days ago: next expected 100 days ago
    *[("k4", ago(d), 100.0) for d in (130, 160, 190, 220)],
    # k5: 2000 + 2000 the year before, 1000 + 10 this year: -49.5 %; gaps 320, 80, 280
    ("k5", ago(700), 2000.0),
    ("k5", ago(380), 2000.0),
    ("k5", ago(300), 1000.0),
    ("k5", ago(20), 10.0),
    ("k6", ago(400), 1000.0),
    ("k6", ago(200), 1100.0),  # +10 %: stable
    ("k7", ago(390), 100.0),
    ("k7", ago(30), 500.0),  # +400 %: growing
]
VALUE_ACCOUNTS = [
    {"customer_id": "k1", "margin": 0.2},  # 4000 x 0.2 = 800
    {"customer_id": "k5", "margin": 0.3},  # 1010 x 0.3 = 303
    {"customer_id": "k6", "margin": 0.1},  # 110
    {"customer_id": "k7", "margin": 0.1},  # 50
]


def test_value_matrix_preset(segrule_engine) -> None:
    inquiries = [_inq("k1", ago(600), False, **FULL)] + [
        _inq("k2", ago(400 + i), False, email="p@gmail.com") for i in range(1, 6)
    ]
    customers = [f"k{i}" for i in range(1, 9)]
    tables = make_tables(orders=VALUE_ORDERS, customers=customers)
    tables["b2b_inquiries"] = frame(inquiries, INQ_SCHEMA)
    tables["b2b_accounts"] = frame(VALUE_ACCOUNTS, ACC_SCHEMA)
    df = score_rows("b2b:value-matrix", tables, engine=segrule_engine(plugin))
    cols = [
        "b2b_account_value",
        "b2b_revenue_trend",
        "b2b_relationship",
        "b2b_order_regularity",
        "b2b_reorder_overdue",
    ]
    got = {r[0]: r[1:] for r in df.select("customer_id", *cols).rows()}
    # established: k1 800, k5 303, k6 110, k7 50: ceil(0.2 x 4) = 1 most profitable
    assert got == {
        # 6 orders, span 455 days, 6 quarters, 1/6 quote per order; gaps all 91: regular
        "k1": ("most_profitable", "growing", "relationship", "regular", False),
        "k2": ("lost", "lost", "transactional", "too_few", False),  # 5 quotes per order
        "k3": ("new", "new", "developing", "too_few", False),  # 2 orders within 100 days
        "k4": ("new", "new", "developing", "regular", True),  # 100 days late on a 30-day cycle
        # 4 orders, span 680 days, quarters 2024Q4, 2025Q4, 2026Q1, 2026Q4; cv 0.567
        "k5": ("declining", "declining", "relationship", "irregular", False),
        "k6": ("stable", "stable", "transactional", "too_few", False),
        "k7": ("growing", "growing", "transactional", "too_few", False),
        "k8": ("none", "none", "prospect", "none", False),
    }
    k1 = df.filter(pl.col("customer_id") == "k1").row(0, named=True)
    assert k1["b2b_current_value"] == 800.0 and k1["b2b_revenue_change"] == 1.0
    assert k1["b2b_next_order_date"] == (AS_OF - dt.timedelta(days=10)).date() + dt.timedelta(91)
    quotes = dict(df.select("customer_id", "b2b_quotes_per_order").rows())
    # k1: 1 inquiry / 6 orders; k2: 5 / 1; k3: no inquiry rows: 0 / 2; k8: no orders: null
    assert quotes["k1"] == 1 / 6 and quotes["k2"] == 5.0
    assert quotes["k3"] == 0.0 and quotes["k8"] is None
    k4 = df.filter(pl.col("customer_id") == "k4").row(0, named=True)
    assert k4["b2b_days_overdue"] == 100 and k4["b2b_order_gap_mean_days"] == 30.0


def test_presets_are_listed_with_titles(segrule_engine) -> None:
    engine = segrule_engine(plugin)
    names = sorted(p for p in engine.presets.items if p.startswith("b2b:"))
    assert names == ["b2b:inquiry-quality", "b2b:value-matrix"]
    for name in names:
        rs = segrule.load_ruleset(name, engine=engine)
        assert rs.model.title and rs.model.title.zh and rs.model.title.en
        for seg in rs.model.segments.values():
            assert seg.zh and seg.en
            for label in seg.labels.values():
                assert label.zh and label.en
