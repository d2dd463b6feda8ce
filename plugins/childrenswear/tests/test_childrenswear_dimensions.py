"""Every childrenswear dimension on tiny hand-made tables.

As-of is 2026-11-01 00:00 (segrule.testing.AS_OF). Expected values are worked out by
hand next to the rows that produce them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
import segrule_childrenswear.hooks as plugin
from segrule.errors import RuleSetError
from segrule.testing import AS_OF, score_rows
from segrule_childrenswear.tables import prepare_items, size_cm_expr

ITEM_SCHEMA: dict[str, Any] = {
    "customer_id": pl.String(),
    "order_id": pl.String(),
    "item_ts": pl.Datetime("us"),
    "size_cm": pl.String(),
    "product_gender": pl.String(),
    "fabric": pl.String(),
    "category": pl.String(),
    "amount": pl.Float64(),
    "quantity": pl.Int64(),
}


def ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture
def run(segrule_engine, segrule_tables, segrule_rules):
    """run(rows, outputs, customers=None, dimensions_yaml="") -> {customer_id: row dict}."""
    engine = segrule_engine(plugin)

    def _run(
        rows: list[dict[str, Any]],
        outputs: list[str],
        customers: list[str] | None = None,
        extra: str = "",
    ) -> dict[str, dict[str, Any]]:
        ids = customers or sorted({r["customer_id"] for r in rows})
        tables = {
            "customers": segrule_tables.customers(ids),
            "childrenswear_items": segrule_tables.frame(rows, ITEM_SCHEMA),
        }
        rules = segrule_rules("r.yaml", extra + f"\noutputs: [customer_id, {', '.join(outputs)}]\n")
        df = score_rows(rules, tables, engine=engine)
        return {r["customer_id"]: r for r in df.to_dicts()}

    return _run


def item(cid: str, when: dt.datetime, size: Any = None, **kw: Any) -> dict[str, Any]:
    return {"customer_id": cid, "item_ts": when, "size_cm": size, **kw}


# -- size labels ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "cm"),
    [
        ("110", 110),
        ("110cm", 110),
        (" 110CM ", 110),
        ("110/52", 110),
        ("身高110", 110),
        ("100.0", 100),
        ("52", 52),
        ("newborn", 52),
        ("新生儿", 52),
        ("0-3M", 59),
        ("3M", 59),
        ("3-6M", 66),
        ("6-12m", 73),
        ("9M", 73),
        ("12-18M", 80),
        ("18个月", 80),
        ("18-24M", 90),
        ("1-2Y", 80),
        ("2T", 90),
        ("3-4Y", 100),
        ("4-5Y", 110),
        ("5Y", 110),
        ("6-7Y", 120),
        ("8-9Y", 130),
        ("12岁", 150),
        ("14Y", 160),
        ("16Y", 170),
        ("20Y", 170),
        ("6", None),
        ("250", None),
        ("39", None),
        ("xs", None),
        ("", None),
        (None, None),
    ],
)
def test_size_labels_are_read_as_cm(label: str | None, cm: int | None) -> None:
    frame = pl.DataFrame({"size_cm": [label]}, schema={"size_cm": pl.String})
    assert frame.select(size_cm_expr()).item() == cm
    # prepare_items (what the engine runs) stages the same parsing.
    prepared = prepare_items(frame.lazy()).collect()
    assert prepared.schema["size_cm"] == pl.Int64
    assert prepared.item() == cm


def test_size_labels_through_the_engine_and_numeric_columns(run, segrule_engine, segrule_tables):
    rows = [item("a", ago(5), "4-5Y"), item("b", ago(5), "120cm"), item("c", ago(5), "3-6M")]
    got = run(rows, ["childrenswear_size_cm"])
    assert {k: v["childrenswear_size_cm"] for k, v in got.items()} == {"a": 110, "b": 120, "c": 66}
    # An integer size column is used as it is.
    engine = segrule_engine(plugin)
    items = pl.DataFrame(
        {
            "customer_id": ["a"],
            "item_ts": [ago(5)],
            "size_cm": [130],
            "product_gender": ["girl"],
            "fabric": ["wool"],
        },
        schema={
            "customer_id": pl.String,
            "item_ts": pl.Datetime("us"),
            "size_cm": pl.Int32,
            "product_gender": pl.String,
            "fabric": pl.String,
        },
    )
    df = score_rows(
        "childrenswear:child-stage",
        {"customers": segrule_tables.customers(["a"]), "childrenswear_items": items},
        engine=engine,
    )
    assert df.select("childrenswear_size_cm", "child_stage").row(0) == (130, "young_child")


# -- current size and its first purchase ---------------------------------------------------
def test_current_size_uses_the_recent_window_before_the_last_line(run) -> None:
    last = ago(10)
    rows = [
        # a: 110 first bought 300 days ago (outside the window), again 60 and 10 days ago;
        #    window [190 d ago, 10 d ago] holds 110 and 100 -> 110, since 300 days ago.
        item("a", ago(300), "110"),
        item("a", ago(60), "110"),
        item("a", ago(10), "100"),
        # b: 130 exactly 180 days before the last line: inside (>=) -> 130.
        item("b", last - dt.timedelta(days=180), "130"),
        item("b", last, "120"),
        # c: 130 one second earlier: outside -> 120.
        item("c", last - dt.timedelta(days=180, seconds=1), "130"),
        item("c", last, "120"),
        # d: the last line has no size (an accessory); the window still ends there.
        item("d", ago(400), "90"),
        item("d", ago(100), "100"),
        item("d", ago(1), None),
        # e: only lines without size.
        item("e", ago(3), None),
        # f: a line at the as-of instant is not counted, one just before is.
        item("f", AS_OF, "150"),
        item("f", AS_OF - dt.timedelta(microseconds=1), "140"),
    ]
    got = run(
        rows,
        ["childrenswear_size_cm", "childrenswear_size_since_ts", "childrenswear_size_cm_90d"],
        customers=["a", "b", "c", "d", "e", "f", "g"],  # g has no lines at all
    )
    size = {k: v["childrenswear_size_cm"] for k, v in got.items()}
    assert size == {"a": 110, "b": 130, "c": 120, "d": 100, "e": None, "f": 140, "g": None}
    since = {k: v["childrenswear_size_since_ts"] for k, v in got.items()}
    assert since["a"] == ago(300).replace(tzinfo=since["a"].tzinfo)
    assert since["b"] == (last - dt.timedelta(days=180)).replace(tzinfo=since["b"].tzinfo)
    assert since["e"] is None and since["g"] is None
    # 90-day window: a -> [100 d ago, 10 d ago] holds 110 (60 d) and 100 -> 110;
    # d -> [91 d ago, 1 d ago] holds only the size-less line -> null.
    assert got["a"]["childrenswear_size_cm_90d"] == 110
    assert got["d"]["childrenswear_size_cm_90d"] is None


# -- child stage ---------------------------------------------------------------------------
def test_child_stage_bands_and_custom_bands(run) -> None:
    sizes = {
        "s73": "73",
        "s80": "80",
        "s105": "105",
        "s110": "110",
        "s139": "139",
        "s140": "140",
        "s170": "170",
    }
    rows = [item(cid, ago(5), size) for cid, size in sizes.items()]
    rows.append(item("acc", ago(5), None))
    extra = """
dimensions:
  stage2:
    use: childrenswear_child_stage
    params:
      bands:
        - {label: baby, below: 90}
        - {label: kid}
"""
    got = run(
        rows,
        ["childrenswear_child_stage", "stage2"],
        customers=[*sizes, "acc", "none"],
        extra=extra,
    )
    stage = {k: v["childrenswear_child_stage"] for k, v in got.items()}
    assert stage == {
        "s73": "infant",
        "s80": "toddler",
        "s105": "toddler",
        "s110": "young_child",
        "s139": "young_child",
        "s140": "older_child",
        "s170": "older_child",
        "acc": "unknown",
        "none": "unknown",
    }
    assert got["s80"]["stage2"] == "baby" and got["s105"]["stage2"] == "kid"
    assert got["none"]["stage2"] == "unknown"


# -- size progression ------------------------------------------------------------------------
PROGRESSION = [
    # (customer, size, first bought) -> next size, due, days, status (as-of 2026-11-01)
    ("d0", "110", "2025-05-01 10:00", 120, "2026-11-01 10:00", 0, "due_now"),
    ("d1", "100", "2026-01-15 00:00", 110, "2027-01-15 00:00", 75, "upcoming"),
    ("d2", "90", "2025-12-01 00:00", 100, "2026-12-01 00:00", 30, "due_now"),
    ("d3", "90", "2025-12-02 00:00", 100, "2026-12-02 00:00", 31, "upcoming"),
    ("d4", "73", "2026-02-01 00:00", 80, "2026-08-01 00:00", -92, "overdue"),
    ("d5", "73", "2026-03-02 00:00", 80, "2026-09-02 00:00", -60, "due_now"),
    ("d6", "73", "2026-03-01 00:00", 80, "2026-09-01 00:00", -61, "overdue"),
    ("d7", "100", "2025-10-31 23:00", 110, "2026-10-31 23:00", -1, "due_now"),
    ("d8", "120", "2026-06-01 00:00", 130, "2027-12-01 00:00", 395, "later"),
    ("d9", "59", "2026-09-15 00:00", 66, "2026-11-15 00:00", 14, "due_now"),
    ("d10", "45", "2026-10-20 00:00", 52, "2026-11-20 00:00", 19, "due_now"),
    ("d11", "75", "2026-04-01 00:00", 80, "2026-10-01 00:00", -31, "due_now"),
    ("top", "170", "2026-01-01 00:00", None, None, None, "top_size"),
    ("big", "180", "2026-01-01 00:00", None, None, None, "top_size"),
]


def test_next_size_due_date_days_and_status(run) -> None:
    rows = [item(c, ts(first), size) for c, size, first, *_ in PROGRESSION]
    outputs = [
        "childrenswear_next_size_cm",
        "childrenswear_next_size_due_ts",
        "childrenswear_days_to_next_size",
        "childrenswear_size_status",
    ]
    got = run(rows, outputs, customers=[p[0] for p in PROGRESSION] + ["none"])
    for c, _size, _first, nxt, due, days, status in PROGRESSION:
        row = got[c]
        assert row["childrenswear_next_size_cm"] == nxt, c
        got_due = row["childrenswear_next_size_due_ts"]
        assert (got_due.replace(tzinfo=None) if got_due else None) == (ts(due) if due else None), c
        assert row["childrenswear_days_to_next_size"] == days, c
        assert row["childrenswear_size_status"] == status, c
    assert got["none"]["childrenswear_size_status"] == "unknown"
    assert got["none"]["childrenswear_next_size_cm"] is None
    assert got["none"]["childrenswear_days_to_next_size"] is None


def test_progression_params(run) -> None:
    rows = [item("d2", ts("2025-12-01"), "90"), item("d1", ts("2026-01-15"), "100")]
    extra = """
dimensions:
  strict_status:
    use: childrenswear_size_status
    params: {lead_days: 0, grace_days: 0, upcoming_days: 100}
  fast_growth:
    use: childrenswear_days_to_next_size
    params:
      steps: [{size: 90, months: 6}, {size: 100, months: 6}, {size: 110}]
"""
    got = run(rows, ["strict_status", "fast_growth"], extra=extra)
    # d2: due in 30 days -> with lead 0 it is upcoming; d1: 75 days -> upcoming.
    assert got["d2"]["strict_status"] == "upcoming"
    # 90 first bought 2025-12-01 + 6 months = 2026-06-01: 153 days before the as-of.
    assert got["d2"]["fast_growth"] == -153
    # 100 + 6 months = 2026-07-15: 109 days before.
    assert got["d1"]["fast_growth"] == -109


# -- child gender ------------------------------------------------------------------------------
def test_child_gender(run) -> None:
    rows = [
        *[item("g1", ago(5), "100", product_gender="boy") for _ in range(4)],
        item("g1", ago(5), "100", product_gender="girl"),  # boys 4/5 = 0.8 -> boy
        *[item("g2", ago(5), "100", product_gender="boy") for _ in range(3)],
        item("g2", ago(5), "100", product_gender="girl"),  # 3/4 = 0.75 -> mixed
        item("g3", ago(5), "100", product_gender="女童"),
        *[item("g3", ago(5), "100", product_gender="unisex") for _ in range(5)],  # girl
        item("g4", ago(5), "100", product_gender="中性"),  # only unisex -> unknown
        item("g6", ago(5), "100", product_gender="男童"),  # boy
        item("g7", ago(100), "100", product_gender="girl"),
        item("g7", ago(10), "100", product_gender="boy"),  # lifetime mixed, 30d boy
        item("g8", ago(5), "100", product_gender=None),  # null gender -> unknown
    ]
    got = run(
        rows,
        [
            "childrenswear_child_gender",
            "childrenswear_child_gender_30d",
            "childrenswear_boy_items_lifetime",
            "childrenswear_girl_items_30d",
        ],
        customers=["g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8"],
    )
    gender = {k: v["childrenswear_child_gender"] for k, v in got.items()}
    assert gender == {
        "g1": "boy",
        "g2": "mixed",
        "g3": "girl",
        "g4": "unknown",
        "g5": "unknown",
        "g6": "boy",
        "g7": "mixed",
        "g8": "unknown",
    }
    assert got["g7"]["childrenswear_child_gender_30d"] == "boy"
    assert got["g1"]["childrenswear_boy_items_lifetime"] == 4
    assert got["g5"]["childrenswear_boy_items_lifetime"] == 0
    assert got["g7"]["childrenswear_girl_items_30d"] == 0


# -- fabric ------------------------------------------------------------------------------------
def test_fabric_preference_and_share(run) -> None:
    rows = [
        item("f1", ago(5), "100", fabric="cotton"),
        item("f1", ago(6), "100", fabric="cotton"),
        item("f1", ago(7), "100", fabric="wool"),  # cotton 2/3
        item("f2", ago(5), "100", fabric="wool"),
        item("f2", ago(6), "100", fabric="linen"),
        # tie -> alphabetical: linen, 1/2
        item("f3", ago(5), "100", fabric=None),  # no fabric -> null, null
        item("f4", ago(5), "100", fabric="纯棉"),
        item("f4", ago(6), "100", fabric="100% Cotton"),
        item("f4", ago(7), "100", fabric="涤纶"),
        item("f4", ago(8), "100", fabric=None),
        # cotton 2 of 3 lines with a fabric (the null line does not count)
        item("f5", ago(100), "100", fabric="wool"),
        item("f5", ago(100), "100", fabric="wool"),
        item("f5", ago(10), "100", fabric="linen"),  # lifetime wool 2/3; 30 days linen 1/1
    ]
    got = run(
        rows,
        [
            "childrenswear_fabric_pref",
            "childrenswear_fabric_share",
            "childrenswear_fabric_pref_30d",
            "childrenswear_fabric_share_30d",
        ],
        customers=["f1", "f2", "f3", "f4", "f5", "f6"],
    )
    pref = {k: v["childrenswear_fabric_pref"] for k, v in got.items()}
    assert pref == {
        "f1": "cotton",
        "f2": "linen",
        "f3": None,
        "f4": "cotton",
        "f5": "wool",
        "f6": None,
    }
    share = {k: v["childrenswear_fabric_share"] for k, v in got.items()}
    assert share == {"f1": 2 / 3, "f2": 0.5, "f3": None, "f4": 2 / 3, "f5": 2 / 3, "f6": None}
    assert got["f5"]["childrenswear_fabric_pref_30d"] == "linen"
    assert got["f5"]["childrenswear_fabric_share_30d"] == 1.0


# -- several children ----------------------------------------------------------------------------
def test_size_tracks_both_genders_and_children(run) -> None:
    g = "product_gender"
    rows = [
        item("h1", ago(5), "90"),
        item("h1", ago(5), "120"),  # 30 cm apart: 2 tracks
        item("h2", ago(5), "90"),
        item("h2", ago(6), "100"),
        item("h2", ago(7), "110"),  # 1
        item("h3", ago(5), "90"),
        item("h3", ago(9), "110"),  # exactly 20 cm: 2 tracks
        item("h4", ago(300), "120"),
        item("h4", ago(10), "90"),  # 120 outside window: 1
        *[item("h5", ago(5), "100", **{g: "boy"}) for _ in range(2)],
        *[item("h5", ago(5), "100", **{g: "girl"}) for _ in range(2)],  # both: 2 children
        *[item("h6", ago(5), "100", **{g: "boy"}) for _ in range(2)],
        *[item("h6", ago(5), "100", **{g: "girl"}) for _ in range(8)],  # boys 0.2: girl only
        item("h7", ago(5), "100", **{g: "boy"}),
        item("h7", ago(5), "100", **{g: "girl"}),
        # one line each: below min_lines 2
        item("h8", ago(5), None, **{g: "unisex"}),  # no size: 0 tracks, 1 child
    ]
    extra = """
dimensions:
  wide_gap:
    use: childrenswear_children_estimate
    params: {gap_cm: 30}
  one_line_each:
    use: childrenswear_multi_child
    params: {min_lines: 1}
"""
    got = run(
        rows,
        [
            "childrenswear_size_tracks",
            "childrenswear_both_genders",
            "childrenswear_children_estimate",
            "childrenswear_multi_child",
            "wide_gap",
            "one_line_each",
        ],
        customers=["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"],
        extra=extra,
    )
    col = {c: {k: v[c] for k, v in got.items()} for c in next(iter(got.values()))}
    assert col["childrenswear_size_tracks"] == {
        "h1": 2,
        "h2": 1,
        "h3": 2,
        "h4": 1,
        "h5": 1,
        "h6": 1,
        "h7": 1,
        "h8": 0,
        "h9": 0,
    }
    assert col["childrenswear_both_genders"] == {
        "h1": False,
        "h2": False,
        "h3": False,
        "h4": False,
        "h5": True,
        "h6": False,
        "h7": False,
        "h8": False,
        "h9": False,
    }
    assert col["childrenswear_children_estimate"] == {
        "h1": 2,
        "h2": 1,
        "h3": 2,
        "h4": 1,
        "h5": 2,
        "h6": 1,
        "h7": 1,
        "h8": 1,
        "h9": 0,
    }
    assert col["childrenswear_multi_child"] == {
        "h1": True,
        "h2": False,
        "h3": True,
        "h4": False,
        "h5": True,
        "h6": False,
        "h7": False,
        "h8": False,
        "h9": False,
    }
    # gap 30: h3 (20 cm) becomes one track, h1 (30 cm) stays two.
    assert col["wide_gap"]["h3"] == 1 and col["wide_gap"]["h1"] == 2
    assert col["one_line_each"]["h7"] is True and col["one_line_each"]["h6"] is False


# -- counts and money ----------------------------------------------------------------------------
def test_items_and_exact_spend_with_windows(run) -> None:
    rows = [
        item("m", AS_OF - dt.timedelta(days=30), "100", amount=0.1),  # first instant of 30d
        item("m", ago(29), "100", amount=0.2),
        item("m", ago(31), "100", amount=100.0),  # outside 30d
        item("m", AS_OF, "100", amount=1000.0),  # at the as-of: never counted
    ]
    got = run(
        rows,
        [
            "childrenswear_items_30d",
            "childrenswear_items_lifetime",
            "childrenswear_spend_30d",
            "childrenswear_spend_lifetime",
        ],
        customers=["m", "nobody"],
    )
    assert got["m"]["childrenswear_items_30d"] == 2
    assert got["m"]["childrenswear_items_lifetime"] == 3
    assert got["m"]["childrenswear_spend_30d"] == 0.3  # exact: 10 + 20 cents
    assert got["m"]["childrenswear_spend_lifetime"] == 100.3
    assert got["nobody"]["childrenswear_items_lifetime"] == 0
    assert got["nobody"]["childrenswear_spend_30d"] == 0.0


# -- bad parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("use", "params", "message"),
    [
        (
            "childrenswear_child_stage",
            "{bandz: []}",
            "unknown parameter 'bandz' — did you mean 'bands'?",
        ),
        (
            "childrenswear_child_stage",
            "{bands: [{label: a, below: 100}, {label: b, below: 90}, {label: c}]}",
            "band bounds [100, 90] must be strictly increasing",
        ),
        (
            "childrenswear_size_status",
            "{steps: [{size: 100, months: 6}, {size: 90}]}",
            "sizes [100, 90] must be strictly increasing",
        ),
        (
            "childrenswear_size_status",
            "{steps: [{size: 100, months: 6}, {size: 110, months: 3}]}",
            "is the top size (the last step): it takes no 'months'",
        ),
        (
            "childrenswear_size_status",
            "{lead_days: 60, upcoming_days: 30}",
            "params.upcoming_days (30) must be >= params.lead_days (60)",
        ),
        (
            "childrenswear_child_gender",
            "{dominance: 0.5}",
            "params.dominance must be a number above 0.5",
        ),
        ("childrenswear_size_cm_90d", "{recent_days: 30}", "the name says 90 days"),
        ("childrenswear_size_tracks", "{gap_cm: 0}", "params.gap_cm must be a whole number >= 1"),
    ],
)
def test_bad_params_are_one_clear_error(
    segrule_engine, segrule_tables, segrule_rules, use: str, params: str, message: str
) -> None:
    rules = segrule_rules(
        "bad.yaml",
        f"""
dimensions:
  x:
    use: {use}
    params: {params}
outputs: [customer_id, x]
""",
    )
    tables = {
        "customers": segrule_tables.customers(["a"]),
        "childrenswear_items": segrule_tables.frame([], ITEM_SCHEMA),
    }
    with pytest.raises(RuleSetError) as err:
        score_rows(rules, tables, engine=segrule_engine(plugin))
    assert message in str(err.value)
    assert "\n" not in str(err.value)
