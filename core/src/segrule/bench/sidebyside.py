"""Side by side: segrule against its hand-written peers, checked first, then timed.

For each data size and shape (:mod:`segrule.bench.data`): get the data, run every
engine once to produce its output, compare each peer's output with segrule's
(:func:`segrule.bench.compare.compare_outputs`) and the two job floors with each
other. Every size and shape is checked before anything is timed, and nothing is timed
if one output differs. Then, size by size and shape by shape, the data files are read
once (so that the file cache is warm) and every engine is timed ``repeat`` times in
fresh processes, round-robin (segrule, duckdb, ..., segrule, duckdb, ...) so that a
noisy spell on a shared machine is spread over all engines; the medians are kept.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from segrule.bench import AS_OF, PRESETS, BenchError, OutputMismatchError, peers
from segrule.bench.compare import compare_outputs
from segrule.bench.data import DEFAULT_SHAPE, Shape, bench_data, parse_shapes
from segrule.bench.measure import Measurement, measure, summarize

ENGINES = (
    "segrule",
    "segrule-unchecked",
    "duckdb",
    "polars",
    "pandas",
    "floor-polars",
    "floor-duckdb",
    "jobfloor-polars",
    "jobfloor-duckdb",
)
#: The order floor: read the order columns, one group-by (peers/floor.py).
ORDER_FLOORS = ("floor-polars", "floor-duckdb")
#: The job floor: the job's reads, group-bys, joins, sort and write (peers/jobfloor.py).
JOB_FLOORS = ("jobfloor-polars", "jobfloor-duckdb")
#: Timed, but not compared with segrule (their output is another table).
FLOORS = ORDER_FLOORS + JOB_FLOORS
REFERENCE = "segrule"
#: A rule set switching off the two set checks (unknown_customer, duplicate_order_id),
#: run after the job's presets by ``segrule-unchecked``.
UNCHECKED_RULES = Path(__file__).resolve().parent / "unchecked.yaml"

Progress = Callable[[str], None]


@dataclass
class EngineResult:
    """Medians of ``repeat`` timed runs of one engine at one size.

    ``wall_vs_segrule`` is this engine's median wall time divided by segrule's (None
    when segrule was not timed).
    """

    engine: str
    orders: int
    customers: int
    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    wall_vs_segrule: float | None
    runs: list[Measurement] = field(default_factory=list)
    shape: str = DEFAULT_SHAPE


@dataclass
class SizeResult:
    """Every engine at one data size and shape; ``segrule_vs_floor`` maps each timed
    floor to segrule's median wall time as a multiple of the floor's. ``customers`` is
    the size of the universe (rows of segrule's output)."""

    orders: int
    customers: int
    data_dir: str
    engines: list[EngineResult]
    segrule_vs_floor: dict[str, float]
    load_before: float | None = None  # 1-minute load average before the timed runs
    shape: str = DEFAULT_SHAPE


def engine_command(
    engine: str, data_dir: Path, out: Path, *, as_of: str = AS_OF, python: str | None = None
) -> list[str]:
    """The command line that runs ``engine`` on ``data_dir`` and writes ``out``.

    segrule is the real CLI, ``python -m segrule_cli run taobao-5-tier rfm
    pareto-80-20 --data D --as-of A --out OUT``. Peers are run by file path,
    ``python .../segrule/bench/peers/<module>.py D OUT --as-of A``, so that they do not
    import segrule (``python -m segrule.bench.peers.<module>`` would, about 0.2 s);
    the floors add ``--engine polars|duckdb``.
    """
    py = python or sys.executable
    d, o = str(data_dir), str(out)
    if engine in ("segrule", "segrule-unchecked"):
        rules = list(PRESETS)
        if engine == "segrule-unchecked":
            # The job with the two set checks off (the peers check nothing): a rule
            # file shipped with the harness, so building a command writes nothing.
            rules.append(str(UNCHECKED_RULES))
        return [py, "-m", "segrule_cli", "run", *rules, "--data", d, "--as-of", as_of, "--out", o]
    modules = {
        "duckdb": "duckdb_sql",
        "polars": "polars_lazy",
        "pandas": "pandas_script",
        "floor-polars": "floor",
        "floor-duckdb": "floor",
        "jobfloor-polars": "jobfloor",
        "jobfloor-duckdb": "jobfloor",
    }
    if engine not in modules:
        raise BenchError(f"unknown engine '{engine}'; engines are: {', '.join(ENGINES)}")
    script = Path(peers.__file__).parent / f"{modules[engine]}.py"
    cmd = [py, str(script), d, o, "--as-of", as_of]
    if engine in FLOORS:
        cmd += ["--engine", engine.rsplit("-", 1)[1]]
    return cmd


def check_engines(engines: Sequence[str]) -> list[str]:
    """The engines in the order given, each once; unknown names are an error."""
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise BenchError(
            f"unknown engine(s): {', '.join(unknown)}; engines are: {', '.join(ENGINES)}"
        )
    if not engines:
        raise BenchError(f"give at least one engine of: {', '.join(ENGINES)}")
    return list(dict.fromkeys(engines))


def run_side_by_side(
    sizes: Sequence[int],
    engines: Sequence[str] = ENGINES,
    repeat: int = 3,
    *,
    shapes: str | Sequence[str | Shape] = (DEFAULT_SHAPE,),
    as_of: str = AS_OF,
    seed: int = 1,
    cache_dir: Path | None = None,
    work_dir: Path | None = None,
    rel: float = 1e-9,
    progress: Progress | None = None,
) -> list[SizeResult]:
    """Check, then time, every engine at every size (orders) and shape; see the module
    docstring. ``shapes``: shape names (:mod:`segrule.bench.data`; ``"matrix"`` for the
    whole matrix) or :class:`~segrule.bench.data.Shape` objects. Results come size by
    size, each size shape by shape.

    segrule's output is the reference: it is produced (by the CLI) even when
    ``"segrule"`` is not among ``engines``, but then not timed and no ratio is given.
    Floors are timed but not compared with segrule (their output is a different
    table); the two job floors are compared with each other. Outputs go to
    ``work_dir`` (default: a temporary folder, removed afterwards).

    Raises :class:`~segrule.bench.OutputMismatchError` (no timing is returned) when a
    peer's output differs from segrule's at any size and shape, and
    :class:`~segrule.bench.BenchError` when a command fails or a shape does not parse.
    """
    chosen = check_engines(engines)
    if repeat < 1:
        raise BenchError(f"repeat must be at least 1, got {repeat}")
    names = shapes if isinstance(shapes, str) else [Shape.parse(s).name for s in shapes]
    shape_list = parse_shapes(names)
    say = progress or (lambda _msg: None)
    cases = [(orders, shape) for orders in sizes for shape in shape_list]
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="segrule-bench-") as tmp:
            return _run_cases(cases, chosen, repeat, as_of, seed, cache_dir, Path(tmp), rel, say)
    return _run_cases(cases, chosen, repeat, as_of, seed, cache_dir, Path(work_dir), rel, say)


@dataclass
class _Case:
    orders: int
    shape: Shape
    data_dir: Path
    out_dir: Path
    commands: dict[str, list[str]]
    customers: int = 0

    @property
    def label(self) -> str:
        return f"{self.orders:,} orders, shape {self.shape.name}"


def _run_cases(
    cases: Sequence[tuple[int, Shape]],
    engines: list[str],
    repeat: int,
    as_of: str,
    seed: int,
    cache_dir: Path | None,
    work_dir: Path,
    rel: float,
    say: Progress,
) -> list[SizeResult]:
    # 1. Every size and shape: one run of each engine to produce its output, then the
    # comparisons. The outputs are removed after the check (all shapes at 10M orders
    # would take gigabytes); the timed runs write them again.
    prepared: list[_Case] = []
    found: dict[str, dict[str, list[str]]] = {}
    notes: dict[str, str] = {}
    for orders, shape in cases:
        say(f"{orders:,} orders, shape {shape.name}: data")
        data_dir = bench_data(orders, seed=seed, cache_dir=cache_dir, shape=shape)
        out_dir = work_dir / f"orders-{orders}-{shape.name}"
        out_dir.mkdir(parents=True, exist_ok=True)
        outs = {e: out_dir / f"{e}.parquet" for e in dict.fromkeys([REFERENCE, *engines])}
        case = _Case(
            orders,
            shape,
            data_dir,
            out_dir,
            {e: engine_command(e, data_dir, out, as_of=as_of) for e, out in outs.items()},
        )
        for engine, command in case.commands.items():
            say(f"{case.label}: {engine}: producing its output")
            measure(command)
        case.customers = int(pl.scan_parquet(outs[REFERENCE]).select(pl.len()).collect().item())
        problems = _check_outputs(case, engines, outs, rel, say)
        if problems:
            found[case.label] = problems
            note = _peers_among_themselves(engines, outs, rel)
            if note:
                notes[case.label] = note
        for out in outs.values():
            out.unlink(missing_ok=True)
        prepared.append(case)
    if found:
        raise OutputMismatchError(found, notes)

    # 2. Timed runs, case by case, round-robin over the engines. The load average says
    # how busy the shared machine was (it includes the runs just before).
    results = []
    for case in prepared:
        _read_files(case.data_dir)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        runs: dict[str, list[Measurement]] = {e: [] for e in engines}
        for i in range(repeat):
            for engine in engines:
                m = measure(case.commands[engine])
                runs[engine].append(m)
                say(
                    f"{case.label}: run {i + 1}/{repeat}: {engine}: {m.wall_s:.2f} s wall, "
                    f"{m.cpu_s:.2f} s CPU, {m.max_rss_bytes / 2**20:,.0f} MiB"
                )
        summaries = {e: summarize(r) for e, r in runs.items()}
        ref_wall = summaries[REFERENCE].wall_s if REFERENCE in summaries else None
        rows = [
            EngineResult(
                engine=e,
                orders=case.orders,
                customers=case.customers,
                wall_s=s.wall_s,
                cpu_s=s.cpu_s,
                max_rss_bytes=s.max_rss_bytes,
                wall_vs_segrule=(s.wall_s / ref_wall) if ref_wall else None,
                runs=list(s.runs),
                shape=case.shape.name,
            )
            for e, s in summaries.items()
        ]
        vs_floor = (
            {f: ref_wall / summaries[f].wall_s for f in FLOORS if f in summaries}
            if ref_wall
            else {}
        )
        results.append(
            SizeResult(
                case.orders,
                case.customers,
                str(case.data_dir),
                rows,
                vs_floor,
                load,
                shape=case.shape.name,
            )
        )
    return results


def _check_outputs(
    case: _Case, engines: list[str], outs: dict[str, Path], rel: float, say: Progress
) -> dict[str, list[str]]:
    """Each peer against segrule, the job floors against each other: engine -> problems."""
    problems: dict[str, list[str]] = {}
    for engine in engines:
        if engine == REFERENCE or engine in FLOORS:
            continue
        found = compare_outputs(outs[REFERENCE], outs[engine], rel=rel)
        say(
            f"{case.label}: {engine}: "
            + ("same as segrule" if not found else f"{len(found)} difference(s) from segrule")
        )
        if found:
            problems[engine] = found
    if all(f in engines for f in JOB_FLOORS):
        first, second = JOB_FLOORS
        found = compare_outputs(outs[first], outs[second], rel=rel)
        say(
            f"{case.label}: {second}: "
            + (f"same as {first}" if not found else f"{len(found)} difference(s) from {first}")
        )
        if found:
            problems[f"{second} (against {first})"] = found
    return problems


def _peers_among_themselves(engines: list[str], outs: dict[str, Path], rel: float) -> str:
    """When outputs differ from segrule's: whether the peers agree with each other (then
    segrule is the odd one out), as a sentence; "" with fewer than two peers."""
    peers = [e for e in engines if e != REFERENCE and e not in FLOORS]
    if len(peers) < 2:
        return ""
    first = peers[0]
    differ = [p for p in peers[1:] if compare_outputs(outs[first], outs[p], rel=rel)]
    if differ:
        return f"the peers disagree among themselves too: {', '.join(differ)} differ from {first}"
    return f"the peers agree with each other ({', '.join(peers)}): segrule is the one that differs"


def _read_files(folder: Path) -> None:
    """Read every file of ``folder`` once, so that the timed runs find it in the file
    cache (the check runs of the other shapes may have pushed it out)."""
    for path in sorted(folder.glob("*.parquet")):
        with path.open("rb") as f:
            while f.read(1 << 23):
                pass


# -- reporting ---------------------------------------------------------------------
def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    """CPU model and count, memory, OS and the versions of Python and the engines."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu,
        "cpus": f"{os.cpu_count()}" + (f" ({usable} usable)" if usable != os.cpu_count() else ""),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "segrule": _version("segrule"),
        "polars": _version("polars"),
        "duckdb": _version("duckdb"),
        "pandas": _version("pandas"),
        "pyarrow": _version("pyarrow"),
        "bytecode": _bytecode(),
    }


def _bytecode() -> str:
    from segrule.bench.measure import bytecode_note

    return "compiled" if bytecode_note() is None else "not compiled (start-up inflated)"


def format_markdown(
    results: Sequence[SizeResult], machine: dict[str, str] | None = None, *, repeat: int = 3
) -> str:
    """The results as a markdown table (medians), a line per size and shape comparing
    segrule with the floors, and the machine they were measured on. ``customers`` is
    the universe (rows of the job's output)."""
    lines = [
        f"Medians of {repeat} runs, each in a fresh process (wall includes interpreter "
        "start and imports).",
        "",
        "| orders | shape | customers | engine | wall s | wall min–max | CPU s "
        "| peak RSS MiB | wall ÷ segrule |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in results:
        for r in size.engines:
            ratio = f"{r.wall_vs_segrule:.2f}" if r.wall_vs_segrule is not None else "–"
            walls = [m.wall_s for m in r.runs] or [r.wall_s]
            lines.append(
                f"| {r.orders:,} | {r.shape} | {r.customers:,} | {r.engine} | {r.wall_s:.2f} | "
                f"{min(walls):.2f}–{max(walls):.2f} | {r.cpu_s:.2f} | "
                f"{r.max_rss_bytes / 2**20:,.0f} | {ratio} |"
            )
    floors = [
        f"- {s.orders:,} orders, shape {s.shape}: segrule's wall time is "
        + ", ".join(f"{x:.1f}× {f}" for f, x in s.segrule_vs_floor.items())
        + (f" (1-minute load average {s.load_before:.2f} before timing)" if s.load_before else "")
        for s in results
        if s.segrule_vs_floor
    ]
    if floors:
        lines += ["", *floors]
    if machine:
        lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items())]
    return "\n".join(lines)


def source_revision() -> str | None:
    """The git commit segrule runs from, ``+ uncommitted changes`` when the tree is dirty;
    None outside a git checkout (an installed wheel)."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def results_to_json(
    results: Sequence[SizeResult], machine: dict[str, str], **settings: Any
) -> dict[str, Any]:
    """A JSON-ready record of a run: when, settings, machine and every measurement."""
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "job": f"segrule run {' '.join(PRESETS)}",
        "segrule_revision": source_revision(),
        "settings": settings,
        "machine": machine,
        "results": [asdict(r) for r in results],
    }
