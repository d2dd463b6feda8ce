"""Phase-by-phase timing runs the same expressions as the one-plan run."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.engine.phases import PHASES, phase_of, phase_steps, time_phases
from segrule.generate import generate

PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phases-data")
    generate(out, orders=3000, seed=5)
    return out


def test_steps_cover_every_node_once_in_dependency_order(data: Path) -> None:
    plan = segrule.compile(PRESETS, data=data, as_of="2026-11-01")
    steps = phase_steps(plan)
    seen = [n for _, names in steps for n in names]
    assert sorted(seen) == sorted(n for layer in plan.layers for n in layer)
    have = {n for n, node in plan.nodes.items() if node.kind in ("aggregate", "attribute")}
    have.add("customer_id")
    for phase, names in steps:
        for name in names:
            assert phase_of(plan.nodes[name]) == phase
        # Within a step a node may use one computed earlier in the same step.
        todo = list(names)
        while todo:
            ready = [n for n in todo if set(plan.nodes[n].deps) <= have]
            assert ready, f"{todo} wait for columns no earlier step computes"
            have.update(ready)
            todo = [n for n in todo if n not in ready]
    kinds = {p for p, _ in steps}
    assert {"population ranks", "segments and scores", "derived dimensions"} <= kinds


def test_a_phase_may_be_visited_again(tmp_path: Path, data: Path) -> None:
    # A derived dimension over an RFM score comes after the population phase, and a
    # segment over it after that: the derived phase is visited twice.
    rule = tmp_path / "r.yaml"
    rule.write_text(
        "name: r\nextends: rfm\n"
        "dimensions:\n  rf_sum: {expr: 'r_score + f_score'}\n"
        "segments:\n  rf_high: {flag: 'rf_sum >= 8'}\n"
        "outputs: [customer_id, rf_sum, rf_high]\n"
    )
    plan = segrule.compile([str(rule)], data=data, as_of="2026-11-01")
    order = [p for p, _ in phase_steps(plan)]
    assert order.index("population ranks") < len(order) - 1 - order[::-1].index(
        "derived dimensions"
    )


def test_phases_give_the_run_output(tmp_path: Path, data: Path) -> None:
    plan = segrule.compile(PRESETS, data=data, as_of="2026-11-01")
    timed = time_phases(plan, tmp_path / "phased.parquet")
    assert [t.phase for t in timed] == list(PHASES)
    assert all(t.seconds >= 0 for t in timed)
    segrule.run(PRESETS, tmp_path / "run.parquet", data=data, as_of="2026-11-01")
    assert_frame_equal(
        pl.read_parquet(tmp_path / "phased.parquet"), pl.read_parquet(tmp_path / "run.parquet")
    )


def test_phases_leave_blacklisted_customers_out(tmp_path: Path, data: Path) -> None:
    ids = pl.read_parquet(data / "customers.parquet")["customer_id"].head(5).to_list()
    listing = tmp_path / "bl.txt"
    listing.write_text("\n".join(ids))
    plan = segrule.compile(PRESETS, data=data, as_of="2026-11-01", blacklist=listing)
    time_phases(plan, tmp_path / "phased.parquet")
    segrule.run(PRESETS, tmp_path / "run.parquet", data=data, as_of="2026-11-01", blacklist=listing)
    phased = pl.read_parquet(tmp_path / "phased.parquet")
    assert not phased.filter(pl.col("customer_id").is_in(ids)).height
    assert_frame_equal(phased, pl.read_parquet(tmp_path / "run.parquet"))
