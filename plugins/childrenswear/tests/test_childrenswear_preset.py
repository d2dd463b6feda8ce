"""The preset childrenswear:child-stage on hand-made tables: every label of every segment.

As-of 2026-11-01 00:00. Each household below is written to land in a chosen label of
each segment; the comment says why.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import segrule_childrenswear.hooks as plugin
import yaml
from segrule.testing import score_rows

PRESET = Path(plugin.__file__).parent / "presets" / "child-stage.yaml"
SCHEMA: dict[str, Any] = {
    "customer_id": pl.String(),
    "item_ts": pl.Datetime("us"),
    "size_cm": pl.String(),
    "product_gender": pl.String(),
    "fabric": pl.String(),
}


def lines(
    cid: str, when: str, size: str | None, genders: list[str | None], fabrics: list[str | None]
) -> list[dict[str, Any]]:
    t = dt.datetime.fromisoformat(when)
    return [
        {"customer_id": cid, "item_ts": t, "size_cm": size, "product_gender": g, "fabric": f}
        for g, f in zip(genders, fabrics, strict=True)
    ]


ROWS = [
    # inf: 66 first bought 2026-09-01 + 3 months = 2026-12-01, 30 days ahead -> due_now;
    #      boys' items only; cotton 3/3.
    *lines("inf", "2026-09-01", "66", ["boy"] * 3, ["cotton"] * 3),
    # tod: 90 on 2026-10-01 + 12 months -> 334 days -> later; girl; linen 3/3.
    *lines("tod", "2026-10-01", "90", ["girl"] * 3, ["linen"] * 3),
    # yng: 90 and 120 on one day (30 cm apart: two children); 2 boys' + 2 girls' lines
    #      -> mixed; wool 3/4; 120 + 18 months = 2026-12-15, 44 days -> upcoming.
    *lines("yng", "2025-06-15", "120", ["boy", "girl"], ["wool", "wool"]),
    *lines("yng", "2025-06-15", "90", ["boy", "girl"], ["wool", "cotton"]),
    # old: 150 (written "12-13Y") on 2025-01-01 + 18 months = 2026-07-01, 123 days ago -> overdue;
    #      unisex only -> gender unknown; synthetic 3/3.
    *lines("old", "2025-01-01", "12-13Y", ["unisex"] * 3, ["涤纶"] * 3),
    # top: 170 is the top size; silk 3/3 -> other.
    *lines("top", "2026-05-01", "170cm", ["boy"] * 3, ["silk"] * 3),
    # mix: four fabrics, 1/4 each -> no clear preference (mixed).
    *lines("mix", "2026-10-20", "100", ["girl"] * 4, ["cotton", "wool", "linen", "synthetic"]),
    # few: two lines only -> mixed whatever the fabric.
    *lines("few", "2026-10-20", "100", ["girl"] * 2, ["cotton"] * 2),
    # acc: an accessory without size, fabric or gender: sizes unknown, one child.
    *lines("acc", "2026-10-20", None, ["unisex"], [None]),
]
CUSTOMERS = ["acc", "few", "inf", "mix", "none", "old", "tod", "top", "yng"]

EXPECTED = {
    #        child_stage    gender     fabric       next_size  due_now household
    "inf": ("infant", "boy", "cotton", "due_now", True, "single_child"),
    "tod": ("toddler", "girl", "linen", "later", False, "single_child"),
    "yng": ("young_child", "mixed", "wool", "upcoming", False, "multi_child"),
    "old": ("older_child", "unknown", "synthetic", "overdue", False, "single_child"),
    "top": ("older_child", "boy", "other", "top_size", False, "single_child"),
    "mix": ("toddler", "girl", "mixed", "later", False, "single_child"),
    "few": ("toddler", "girl", "mixed", "later", False, "single_child"),
    "acc": ("unknown", "unknown", "unknown", "unknown", False, "single_child"),
    "none": ("unknown", "unknown", "unknown", "unknown", False, "unknown"),
}
SEGMENTS = ("child_stage", "child_gender", "fabric", "next_size", "next_size_due_now", "household")


def _score(segrule_engine, segrule_tables) -> pl.DataFrame:
    tables = {
        "customers": segrule_tables.customers(CUSTOMERS),
        "childrenswear_items": segrule_tables.frame(ROWS, SCHEMA),
    }
    return score_rows("childrenswear:child-stage", tables, engine=segrule_engine(plugin))


def test_every_label_of_every_segment(segrule_engine, segrule_tables) -> None:
    df = _score(segrule_engine, segrule_tables)
    got = {r["customer_id"]: tuple(r[s] for s in SEGMENTS) for r in df.to_dicts()}
    assert got == EXPECTED
    spec = yaml.safe_load(PRESET.read_text(encoding="utf-8"))["segments"]
    for i, segment in enumerate(SEGMENTS):
        labels = {True, False} if "flag" in spec[segment] else set(spec[segment]["labels"])
        assert {row[i] for row in EXPECTED.values()} == labels, segment


def test_values_behind_the_labels(segrule_engine, segrule_tables) -> None:
    df = _score(segrule_engine, segrule_tables)
    rows = {r["customer_id"]: r for r in df.to_dicts()}
    assert df.columns[0] == "customer_id" and len(df) == len(CUSTOMERS)
    inf = rows["inf"]
    assert inf["childrenswear_size_cm"] == 66
    assert inf["childrenswear_next_size_cm"] == 73
    assert inf["childrenswear_next_size_due_ts"].replace(tzinfo=None) == dt.datetime(2026, 12, 1)
    assert inf["childrenswear_days_to_next_size"] == 30
    assert inf["childrenswear_fabric_pref"] == "cotton"
    assert rows["yng"]["childrenswear_size_cm"] == 120
    assert rows["yng"]["childrenswear_children_estimate"] == 2
    assert rows["yng"]["childrenswear_days_to_next_size"] == 44
    assert rows["old"]["childrenswear_size_cm"] == 150  # the age label "12-13Y"
    assert rows["old"]["childrenswear_days_to_next_size"] == -123
    assert rows["top"]["childrenswear_next_size_cm"] is None
    assert rows["none"]["childrenswear_children_estimate"] == 0
    assert rows["none"]["childrenswear_items_365d"] == 0
    assert rows["acc"]["childrenswear_items_365d"] == 1
