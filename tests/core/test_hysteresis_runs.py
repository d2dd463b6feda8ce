"""Hysteresis over five runs, worked out by hand per customer (a cross-check of
tests/core/test_history.py on more cases): a one-run dip is held, a two-run dip is
published, an upgrade is immediate, labels outside ``order`` are never held, a new
customer and one that comes back after a missing run are not held; a history written
without hysteresis is continued; the output stays sorted and a rerun is identical.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule import history
from segrule.testing import AS_OF, RuleFiles, days_before, make_tables

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

RULES = """
segments:
  tier:
    cases:
      - {when: "monetary_lifetime >= 1000", label: vip}
      - {when: "monetary_lifetime >= 100", label: advanced}
      - {when: "monetary_lifetime >= 1", label: normal}
    default: dormant
hysteresis:
  tier:
    order: [vip, advanced, normal]
    downgrade_after: 2
outputs: [customer_id, monetary_lifetime, tier]
"""

SPEND = {"vip": 2000.0, "advanced": 500.0, "normal": 50.0, "dormant": 0.0}
# computed tier per run (None: not a customer in that run)
COMPUTED = {
    "dip1": ["vip", "advanced", "vip", "vip", "vip"],
    "dip2": ["vip", "advanced", "normal", "normal", "normal"],
    "up": ["normal", "vip", "vip", "advanced", "vip"],
    "outside": ["vip", "dormant", "dormant", "vip", "advanced"],
    "late": [None, None, "normal", "normal", "normal"],
    "gone": ["vip", None, "advanced", "advanced", "advanced"],
}
PUBLISHED = {
    "dip1": ["vip", "vip", "vip", "vip", "vip"],
    "dip2": ["vip", "vip", "normal", "normal", "normal"],
    "up": ["normal", "vip", "vip", "vip", "vip"],
    "outside": ["vip", "dormant", "dormant", "vip", "vip"],
    "late": [None, None, "normal", "normal", "normal"],
    "gone": ["vip", None, "advanced", "advanced", "advanced"],
}
BELOW = {
    "dip1": [0, 1, 0, 0, 0],
    "dip2": [0, 1, 0, 0, 0],
    "up": [0, 0, 0, 1, 0],
    "outside": [0, 0, 0, 0, 1],
}


def as_of(run: int) -> dt.datetime:
    return AS_OF + dt.timedelta(days=30 * run)


def tables(run: int) -> dict[str, pl.DataFrame]:
    rows = [
        (cid, days_before(1, as_of(run)), SPEND[labels[run]])
        for cid, labels in COMPUTED.items()
        if labels[run] is not None
    ]
    return make_tables(orders=rows)


@pytest.fixture
def rule(rules: RuleFiles) -> Path:
    return rules("tiers.yaml", RULES)


def run_all(rule: Path, tmp_path: Path, runs: int = 5) -> Path:
    hist = tmp_path / "hist"
    for r in range(runs):
        out = tmp_path / f"out{r}.parquet"
        segrule.run(rule, out, tables(r), as_of=as_of(r), history=hist)
        published = dict(pl.read_parquet(out).select("customer_id", "tier").iter_rows())
        expected = {c: p[r] for c, p in PUBLISHED.items() if p[r] is not None}
        assert published == expected, f"run {r}"
    return hist


def test_five_runs_by_hand(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path)
    assert [at for at, _ in history.partitions(hist)] == [as_of(r) for r in range(5)]
    rows = history.read(hist).sort("customer_id", "as_of").collect()
    for cid, labels in COMPUTED.items():
        mine = rows.filter(pl.col("customer_id") == cid)
        runs = [r for r in range(5) if labels[r] is not None]
        assert mine["as_of"].to_list() == [as_of(r) for r in runs]
        assert mine["tier__computed"].to_list() == [labels[r] for r in runs]
        assert mine["tier"].to_list() == [PUBLISHED[cid][r] for r in runs]
        if cid in BELOW:
            assert mine["tier__below"].to_list() == BELOW[cid], cid


def test_events_of_a_returning_customer(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path, runs=3)
    ev = history.events(hist, "tier").filter(pl.col("customer_id") == "gone")
    assert ev.select("event", "label", "old_label", "new_label").rows() == [
        ("left", "vip", "vip", "(absent)"),
        ("entered", "advanced", "(absent)", "advanced"),
    ]


def test_output_with_history_is_sorted_and_repeatable(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path, runs=2)
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    segrule.run(rule, a, tables(2), as_of=as_of(2), history=hist)
    segrule.run(rule, b, tables(2), as_of=as_of(2), history=hist)  # replaces: same result
    ids = pl.read_parquet(a)["customer_id"].to_list()
    assert ids == sorted(ids)
    assert a.read_bytes() == b.read_bytes()


def test_hysteresis_continues_a_history_written_without_it(
    rule: Path, rules: RuleFiles, tmp_path: Path
) -> None:
    plain = rules("plain.yaml", RULES.split("hysteresis:")[0] + "outputs: [customer_id, tier]\n")
    hist = tmp_path / "hist"
    segrule.run(plain, tmp_path / "0.parquet", tables(0), as_of=as_of(0), history=hist)
    assert "tier__below" not in pl.read_parquet(history.partitions(hist)[0][1]).columns
    out = tmp_path / "1.parquet"
    segrule.run(rule, out, tables(1), as_of=as_of(1), history=hist)
    got = dict(pl.read_parquet(out).select("customer_id", "tier").iter_rows())
    assert got == {c: p[1] for c, p in PUBLISHED.items() if p[1] is not None}
