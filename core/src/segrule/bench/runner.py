"""``segrule bench``: any rule sets on cached generated data, timed as a user runs them.

Three measurements, each the median of ``repeat`` runs:

- start-up: ``segrule validate RULESETS --data D`` in a fresh process (interpreter,
  imports, plugin discovery, rule compilation and type checks against the tables'
  schemas; no rows are read);
- the run: ``segrule run RULESETS --data D --as-of A --out OUT --quiet`` in a fresh
  process: wall, CPU and peak resident memory, and orders per second;
- phases: the same plan run phase by phase in this process (:mod:`segrule.engine.phases`),
  so the sum of the phases is above the one-plan run's time.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segrule.bench import AS_OF
from segrule.bench.data import ProgressFn, bench_data
from segrule.bench.measure import Summary
from segrule.bench.measure import repeat as repeat_command

Say = Callable[[str], None]


@dataclass
class PhaseResult:
    """One phase: median seconds and rows per second of the rows it processes (the
    input rows for the scan, customers for the others)."""

    phase: str
    seconds: float
    rows: int
    columns: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class BenchResult:
    """What ``segrule bench`` measured (see the module docstring)."""

    rulesets: list[str]
    orders: int
    seed: int
    as_of: str
    data_dir: Path
    input_rows: dict[str, int]
    customers: int
    repeat: int
    startup: Summary
    run: Summary
    phases: list[PhaseResult] = field(default_factory=list)

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.run.wall_s


def table_rows(data_dir: Path) -> dict[str, int]:
    """Rows of each ``<table>.parquet`` in ``data_dir`` (from the Parquet footers)."""
    out = {}
    for path in sorted(data_dir.glob("*.parquet")):
        out[path.stem] = int(pl.scan_parquet(path).select(pl.len()).collect().item())
    return out


def cli_command(*args: str) -> list[str]:
    """The segrule CLI of this Python, as a user would run it."""
    return [sys.executable, "-m", "segrule_cli", *args]


def bench_rulesets(
    rulesets: Sequence[str],
    orders: int,
    *,
    seed: int = 1,
    as_of: str = AS_OF,
    repeat: int = 3,
    plugins: Sequence[str] = (),
    cache_dir: Path | None = None,
    phases: bool = True,
    say: Say | None = None,
    progress: ProgressFn | None = None,
) -> BenchResult:
    """Generate (or reuse) data for ``orders`` orders and time ``rulesets`` on it.

    Raises :class:`~segrule.bench.BenchError` when a command fails (with its error),
    and the usual rule-set errors when the rule sets do not compile.
    """
    import segrule
    from segrule.engine.phases import PHASES, QUALITY, SCAN, time_phases

    tell = say or (lambda _msg: None)
    rulesets = list(rulesets)
    tell(f"data: {orders:,} orders, seed {seed}")
    data_dir = bench_data(orders, seed=seed, cache_dir=cache_dir, progress=progress)
    rows = table_rows(data_dir)
    plugin_args = [a for p in plugins for a in ("--plugin", p)]
    # Compile here first: a rule-set error is reported as such, not as a failed command.
    engine = segrule.Registry(plugins=list(plugins))
    plan = segrule.compile(rulesets, data=data_dir, as_of=as_of, engine=engine)

    tell("start-up: segrule validate in a fresh process")
    startup = repeat_command(
        cli_command(*plugin_args, "validate", *rulesets, "--data", str(data_dir)), repeat
    )
    with tempfile.TemporaryDirectory(prefix="segrule-bench-") as tmp:
        out = Path(tmp) / "out.parquet"
        tell("run: segrule run in a fresh process")
        run = repeat_command(
            cli_command(
                *plugin_args,
                "run",
                *rulesets,
                "--data",
                str(data_dir),
                "--as-of",
                as_of,
                "--out",
                str(out),
                "--quiet",
            ),
            repeat,
        )
        customers = int(pl.scan_parquet(out).select(pl.len()).collect().item())
    result = BenchResult(
        rulesets,
        orders,
        seed,
        as_of,
        data_dir,
        rows,
        customers,
        repeat,
        startup,
        run,
    )
    if phases:
        samples: dict[str, list[float]] = {p: [] for p in PHASES}
        columns: dict[str, int] = {}
        for i in range(repeat):
            tell(f"phases: run {i + 1}/{repeat} in this process")
            for t in time_phases(plan):
                samples[t.phase].append(t.seconds)
                columns[t.phase] = t.columns
        scanned = sum(n for t, n in rows.items() if t in plan.loaded)
        result.phases = [
            PhaseResult(
                p,
                statistics.median(samples[p]),
                scanned if p in (QUALITY, SCAN) else customers,
                columns[p],
            )
            for p in PHASES
        ]
    return result


def bench_json(result: BenchResult, side: Sequence[Any] | None = None) -> dict[str, Any]:
    """A JSON-ready record of a ``segrule bench`` run (and its side-by-side)."""
    from dataclasses import asdict

    from segrule.bench.sidebyside import machine_info

    def summary(s: Summary) -> dict[str, Any]:
        return {
            "wall_s": s.wall_s,
            "cpu_s": s.cpu_s,
            "max_rss_bytes": s.max_rss_bytes,
            "runs": [asdict(m) for m in s.runs],
        }

    return {
        "rulesets": result.rulesets,
        "orders": result.orders,
        "customers": result.customers,
        "seed": result.seed,
        "as_of": result.as_of,
        "repeat": result.repeat,
        "data_dir": str(result.data_dir),
        "input_rows": result.input_rows,
        "startup": summary(result.startup),
        "run": summary(result.run) | {"orders_per_s": result.orders_per_s},
        "phases": [asdict(p) | {"rows_per_s": p.rows_per_s} for p in result.phases],
        "side_by_side": [asdict(s) for s in side] if side else None,
        "machine": machine_info(),
    }
