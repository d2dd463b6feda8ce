"""Phase benchmarks of `taobao-5-tier rfm pareto-80-20`: each phase timed on the
materialized output of the phases before it, plus compile, the floor and the whole
one-plan run. Run with ``pytest benchmarks/ --benchmark-only`` (see README.md)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.engine.compiler import Plan
from segrule.engine.phases import DERIVED, RANKS, SEGMENTS, phase_steps, run_step, write_step

PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def plan(bench_data: Path) -> Plan:
    return segrule.compile(PRESETS, data=bench_data, as_of=AS_OF)


@pytest.fixture(scope="module")
def stages(plan: Plan) -> dict[str, tuple[pl.DataFrame, list[list[str]]]]:
    """For each derived phase: the frame before its first step and its steps.

    A phase visited twice (a derived dimension over a score) is benchmarked from its
    first visit with all of its steps run in order, the other phases' steps in between
    included, as in a run."""
    frame = plan.aggregates().collect(engine="streaming")
    steps = phase_steps(plan)
    frames = [frame]
    for _, names in steps:
        frames.append(run_step(frames[-1], plan, names))
    out: dict[str, tuple[pl.DataFrame, list[list[str]]]] = {}
    for phase in (DERIVED, RANKS, SEGMENTS):
        idx = [i for i, (p, _) in enumerate(steps) if p == phase]
        if idx:
            out[phase] = (frames[idx[0]], [names for _, names in steps[idx[0] : idx[-1] + 1]])
    out["write"] = (frames[-1], [])
    return out


def test_compile(benchmark, bench_data: Path) -> None:
    engine = segrule.Engine()
    benchmark(lambda: segrule.compile(PRESETS, data=bench_data, as_of=AS_OF, engine=engine))


def test_floor_scan_group_by(benchmark, bench_data: Path, tmp_path: Path) -> None:
    """The least any engine must do: read the order columns, one group-by per customer
    (the side-by-side harness's floor-polars, in this process)."""
    from segrule.bench.peers.floor import run_polars

    benchmark(lambda: run_polars(bench_data, tmp_path / "floor.parquet", AS_OF))


def test_phase_data_quality_checks(benchmark, plan: Plan) -> None:
    from segrule.engine.quality import collect_quality

    benchmark(lambda: collect_quality(plan))


def test_phase_scan_and_aggregate(benchmark, plan: Plan) -> None:
    benchmark(lambda: plan.aggregates().collect(engine="streaming"))


@pytest.mark.parametrize("phase", [DERIVED, RANKS, SEGMENTS])
def test_phase(benchmark, plan: Plan, stages, phase: str) -> None:
    if phase not in stages:
        pytest.skip(f"the rule sets have no {phase}")
    frame, steps = stages[phase]

    def run() -> pl.DataFrame:
        f = frame
        for names in steps:
            f = run_step(f, plan, names)
        return f

    benchmark(run)


def test_phase_write(benchmark, plan: Plan, stages, tmp_path: Path) -> None:
    frame, _ = stages["write"]
    benchmark(lambda: write_step(frame, plan, tmp_path / "out.parquet"))


def test_run_one_plan(benchmark, bench_data: Path, tmp_path: Path) -> None:
    engine = segrule.Engine()
    out = tmp_path / "out.parquet"
    benchmark(lambda: segrule.run(PRESETS, out, data=bench_data, as_of=AS_OF, engine=engine))
