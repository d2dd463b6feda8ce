"""Time a compiled plan phase by phase: where does a run spend its time?

A real run is one lazy plan: polars pipelines the phases and never materializes
between them. To see the cost of each, :func:`time_phases` runs the same expressions
one phase at a time and collects after each (so this module collects, and the sum of
the phases is usually above the one-plan wall time). The phases:

- ``data-quality checks``: the counts of :mod:`segrule.engine.quality` (in a run they go
  beside the plan, in a worker thread);
- ``scan and aggregate``: scan every table, filter ``ts < as_of``, one group-by per
  table, joined onto the universe and sorted by customer_id;
- ``derived dimensions``: per-customer values over other dimensions;
- ``population ranks``: population-relative values (NTILE scores, Pareto, quantiles);
- ``segments and scores``: first-match segments, flags, points, tiers;
- ``write``: the output columns written to Parquet (or the output's format).

A phase's node may depend on a later phase's (a derived dimension over an RFM score):
phases are then visited again until every node is computed, and each visit's time is
added to its phase.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from segrule.engine.compiler import Plan
from segrule.engine.stages import derive_layer, select_outputs
from segrule.model.keys import BASE
from segrule.model.nodes import Node

PHASES = (
    "data-quality checks",
    "scan and aggregate",
    "derived dimensions",
    "population ranks",
    "segments and scores",
    "write",
)
QUALITY, SCAN, DERIVED, RANKS, SEGMENTS, WRITE = PHASES


@dataclass
class PhaseTime:
    """One phase: its wall seconds and the rows it produced (or read, for the scan)."""

    phase: str
    seconds: float
    rows: int
    columns: int


def phase_of(node: Node) -> str:
    """The phase a node's column is computed in."""
    if node.kind in ("aggregate", "attribute"):
        return SCAN
    if node.kind == "population":
        return RANKS
    if node.role in ("segment", "score", "tier"):
        return SEGMENTS
    return DERIVED


def phase_steps(plan: Plan) -> list[tuple[str, list[str]]]:
    """The derived layers of ``plan`` regrouped by phase: ``(phase, node names)`` in an
    order that respects every dependency (nothing is run)."""
    done = {n for n, node in plan.nodes.items() if node.kind in ("aggregate", "attribute")}
    done.add(BASE)
    pending = [name for layer in plan.layers for name in layer]
    steps: list[tuple[str, list[str]]] = []
    while pending:
        before = len(pending)
        for phase in (DERIVED, RANKS, SEGMENTS):
            took: list[str] = []
            while True:
                ready = [
                    n
                    for n in pending
                    if phase_of(plan.nodes[n]) == phase
                    and n not in took
                    and all(d in done for d in plan.nodes[n].deps)
                ]
                if not ready:
                    break
                done.update(ready)
                took.extend(ready)
            if took:
                steps.append((phase, took))
                pending = [n for n in pending if n not in took]
        if len(pending) == before:  # cannot happen for a compiled plan (its layers are a DAG)
            raise RuntimeError(f"phases cannot order {pending}")
    return steps


def run_step(frame: pl.DataFrame, plan: Plan, names: list[str]) -> pl.DataFrame:
    """Compute the nodes ``names`` on ``frame`` in dependency order (this collects)."""
    lazy = frame.lazy()
    have = set(frame.columns)
    todo = list(names)
    while todo:
        ready = [n for n in todo if all(d in have for d in plan.nodes[n].deps)]
        lazy = derive_layer(lazy, ready, plan.nodes, plan.dtypes)
        have.update(ready)
        todo = [n for n in todo if n not in ready]
    return lazy.collect(engine="streaming")


def write_step(frame: pl.DataFrame, plan: Plan, out: str | Path) -> Path | str:
    """Write the output columns of a fully computed ``frame`` to ``out`` atomically."""
    from segrule.io.sink import sink

    return sink(select_outputs(frame.lazy(), plan.outputs, plan.ctx, plan.dtypes), out)


def time_phases(plan: Plan, out: str | Path | None = None) -> list[PhaseTime]:
    """Run ``plan`` phase by phase with the streaming engine and time each phase.

    ``out`` is where the write phase writes (a temporary file, removed afterwards, when
    None). This function collects: it holds the per-customer table in memory.
    """
    from segrule.engine.execute import checked

    times = dict.fromkeys(PHASES, 0.0)
    counts: dict[str, int] = dict.fromkeys(PHASES, 0)
    t0 = time.perf_counter()
    plan, found = checked(plan)  # without duplicate orders, like the run
    times[QUALITY] = time.perf_counter() - t0
    counts[QUALITY] = sum(len(c) - 1 for c in found.counts.values())
    t0 = time.perf_counter()
    frame = plan.aggregates().collect(engine="streaming")
    times[SCAN] = time.perf_counter() - t0
    counts[SCAN] = frame.width - 1
    for phase, names in phase_steps(plan):
        t0 = time.perf_counter()
        frame = run_step(frame, plan, names)
        times[phase] += time.perf_counter() - t0
        counts[phase] += len(names)
    t0 = time.perf_counter()
    if out is None:
        with tempfile.TemporaryDirectory(prefix="segrule-phases-") as tmp:
            write_step(frame, plan, Path(tmp) / "out.parquet")
    else:
        write_step(frame, plan, out)
    times[WRITE] = time.perf_counter() - t0
    counts[WRITE] = len(plan.outputs)
    return [PhaseTime(p, times[p], frame.height, counts[p]) for p in PHASES]
