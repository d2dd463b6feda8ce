"""The per-commit benchmark record: a short fixed side-by-side, one JSON line per commit.

``benchmarks/record.py`` runs :func:`measure_record` (segrule, the DuckDB peer and the
DuckDB job floor on 1M orders in the shapes ``default`` and ``int+shuffled``, outputs
checked equal first, 3 round-robin runs in fresh processes, medians) and keeps one line
per commit in ``benchmarks/record.jsonl``: the git revision, the date, a machine
summary, each engine's medians and each engine's wall time divided by DuckDB's.

Ratios to DuckDB, measured in the same session, are what is compared: the machine is
shared and noisy, and a ratio cancels most of a slow spell. ``--check`` compares the
segrule / DuckDB ratio of every shape with the last record of another commit and
fails when one grew by more than the threshold (15 % by default).

Only a clean tree is recorded (the line must describe a commit); with uncommitted
changes the measurement is printed and checked against the last record, HEAD's own
included, but not written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segrule.bench import AS_OF, BenchError

ORDERS = 1_000_000
SHAPES = ("default", "int+shuffled")
ENGINES = ("segrule", "duckdb", "jobfloor-duckdb")
BASELINE = "duckdb"
REPEAT = 3
SEED = 1
THRESHOLD = 0.15


@dataclass(frozen=True)
class GitState:
    """The commit the tree is at, its subject, and the uncommitted changes (paths
    changed or untracked, the record file left out)."""

    revision: str
    subject: str
    changes: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.changes


def git_state(folder: Path, record: Path) -> GitState:
    """:class:`GitState` of the repository holding ``folder`` (``record`` is not a
    change). Raises :class:`~segrule.bench.BenchError` outside a git checkout."""

    def git(*args: str) -> str:
        try:
            proc = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise BenchError(f"cannot run git: {exc}") from None
        if proc.returncode != 0:
            raise BenchError(
                f"git {' '.join(args)} in {folder} failed (the record needs segrule run "
                f"from a git checkout): {proc.stderr.strip()}"
            )
        return proc.stdout

    revision = git("rev-parse", "HEAD").strip()
    subject = git("log", "-1", "--format=%s").strip()
    top = Path(git("rev-parse", "--show-toplevel").strip())
    try:
        own = record.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        own = ""
    changes = []
    for line in git("status", "--porcelain", "--untracked-files=normal").splitlines():
        path = line[3:].split(" -> ")[-1].strip('"')
        if path != own:
            changes.append(path)
    return GitState(revision, subject, tuple(changes))


def machine_summary(machine: dict[str, str]) -> str:
    """One line: CPU, count, memory, OS, and the versions the numbers depend on."""
    system = machine.get("os", "").split("-")[0]
    return (
        f"{machine.get('cpu', '?')}, {machine.get('cpus', '?')} CPUs, "
        f"{machine.get('memory', '?')}, {system}, Python {machine.get('python', '?')}, "
        f"polars {machine.get('polars', '?')}, duckdb {machine.get('duckdb', '?')}, "
        f"bytecode {machine.get('bytecode', '?')}"
    )


def make_record(
    results: Sequence[Any],
    *,
    state: GitState,
    machine: str,
    repeat: int,
    date: dt.datetime | None = None,
) -> dict[str, Any]:
    """The JSON line for side-by-side ``results`` (one :class:`SizeResult` per shape,
    one size). ``ratios`` are each engine's median wall time over DuckDB's."""
    if not results:
        raise BenchError("no results to record")
    medians: dict[str, dict[str, dict[str, float]]] = {}
    ratios: dict[str, dict[str, float]] = {}
    loads: dict[str, float | None] = {}
    for size in results:
        walls = {e.engine: e.wall_s for e in size.engines}
        medians[size.shape] = {
            e.engine: {
                "wall_s": round(e.wall_s, 4),
                "cpu_s": round(e.cpu_s, 4),
                "peak_mib": round(e.max_rss_bytes / 2**20, 1),
            }
            for e in size.engines
        }
        if BASELINE in walls:
            ratios[size.shape] = {e: round(w / walls[BASELINE], 4) for e, w in walls.items()}
        loads[size.shape] = size.load_before
    when = date or dt.datetime.now(dt.UTC)
    return {
        "revision": state.revision,
        "subject": state.subject,
        "clean": state.clean,
        "date": when.isoformat(timespec="seconds"),
        "machine": machine,
        "orders": results[0].orders,
        "repeat": repeat,
        "load_before": loads,
        "medians": medians,
        "ratios_to_duckdb": ratios,
    }


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of ``path`` in file order ([] when it does not exist or is empty)."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchError(f"{path}:{number}: not a JSON line ({exc.msg})") from None
        if not isinstance(record, dict) or "revision" not in record:
            raise BenchError(f"{path}:{number}: not a benchmark record (no revision)")
        records.append(record)
    return records


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` to ``path``, replacing an earlier line of the same revision
    (one line per commit)."""
    kept = [r for r in read_records(path) if r["revision"] != record["revision"]]
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in [*kept, record]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def base_record(
    records: Sequence[dict[str, Any]], current: dict[str, Any]
) -> dict[str, Any] | None:
    """The record to compare ``current`` with: the last one of another commit with the
    same number of orders. For uncommitted changes (``clean`` false), HEAD's own record
    is another commit's."""
    for record in reversed(records):
        if record.get("orders") != current["orders"]:
            continue
        if record["revision"] == current["revision"] and current["clean"]:
            continue
        return record
    return None


def check(
    base: dict[str, Any], current: dict[str, Any], threshold: float = THRESHOLD
) -> tuple[list[str], list[str]]:
    """Compare segrule's ratio to DuckDB per shape: (report lines, regressions). A
    regression is a shape whose ratio grew by more than ``threshold`` (0.15 = 15 %)."""
    lines, regressions = [], []
    old, new = base.get("ratios_to_duckdb", {}), current.get("ratios_to_duckdb", {})
    for shape in new:
        if shape not in old or "segrule" not in old[shape] or "segrule" not in new[shape]:
            lines.append(f"  {shape}: not in the earlier record, not compared")
            continue
        before, after = old[shape]["segrule"], new[shape]["segrule"]
        growth = after / before - 1
        line = (
            f"  {shape}: segrule / duckdb {before:.3f} at {base['revision'][:10]} -> "
            f"{after:.3f} now ({growth:+.1%})"
        )
        if growth > threshold:
            line += f"  REGRESSION: more than {threshold:.0%}"
            regressions.append(shape)
        lines.append(line)
    if base.get("machine") != current.get("machine"):
        lines.append(
            f"  note: the earlier record was measured on another machine ({base.get('machine')})"
        )
    return lines, regressions


def measure_record(
    *,
    orders: int = ORDERS,
    shapes: Sequence[str] = SHAPES,
    repeat: int = REPEAT,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Any]:
    """The fixed comparison: :data:`ENGINES` on ``orders`` orders in ``shapes``, outputs
    checked first (:func:`segrule.bench.sidebyside.run_side_by_side`)."""
    from segrule.bench.sidebyside import run_side_by_side

    return run_side_by_side(
        [orders],
        ENGINES,
        repeat,
        shapes=list(shapes),
        as_of=AS_OF,
        seed=SEED,
        cache_dir=cache_dir,
        progress=progress,
    )


def format_record(record: dict[str, Any]) -> str:
    """A short human-readable view of a record."""
    lines = [
        f"{record['revision'][:10]} {'' if record['clean'] else '+ uncommitted changes '}"
        f"({record['date']}): {record['orders']:,} orders, medians of {record['repeat']}",
        f"  machine: {record['machine']}",
    ]
    for shape, engines in record["medians"].items():
        ratios = record["ratios_to_duckdb"].get(shape, {})
        parts = [
            f"{e} {m['wall_s']:.2f} s"
            + (f" ({ratios[e]:.2f}x duckdb)" if e in ratios and e != BASELINE else "")
            for e, m in engines.items()
        ]
        lines.append(f"  {shape}: " + ", ".join(parts))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, record_path: Path | None = None) -> int:
    """``benchmarks/record.py [--check] [--threshold 0.15] [--record PATH] ...``: 0 when
    recorded (and no regression with --check), 1 on a regression or an error."""
    parser = argparse.ArgumentParser(
        description="Run the short fixed benchmark and keep one line per commit in "
        "benchmarks/record.jsonl; --check fails when segrule / duckdb grew."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare segrule's wall time / DuckDB's with the last record of another "
        "commit and exit 1 when it grew by more than --threshold",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD,
        help=f"growth that counts as a regression (default {THRESHOLD}, i.e. 15%%)",
    )
    parser.add_argument(
        "--record",
        type=Path,
        default=record_path,
        required=record_path is None,
        help="the JSON-lines record file (default benchmarks/record.jsonl)",
    )
    parser.add_argument(
        "--orders",
        type=int,
        default=ORDERS,
        help=f"orders (default {ORDERS:,}; records of another size are not compared)",
    )
    parser.add_argument(
        "--repeat", type=int, default=REPEAT, help=f"timed runs per engine (default {REPEAT})"
    )
    parser.add_argument(
        "--shapes",
        default=",".join(SHAPES),
        help=f"comma-separated shapes (default {','.join(SHAPES)}); only shapes in both "
        "records are compared",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="measure (and check) without writing"
    )
    args = parser.parse_args(argv)
    if not 0 < args.threshold < 10:
        parser.error(f"--threshold must be a fraction such as 0.15, got {args.threshold}")
    path: Path = args.record

    from segrule.bench.sidebyside import machine_info

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        # The revision of the segrule being measured: the checkout it is imported from.
        state = git_state(Path(__file__).resolve().parent, path)
        records = read_records(path)
        shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
        results = measure_record(
            orders=args.orders, shapes=shapes, repeat=args.repeat, progress=progress
        )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    record = make_record(
        results, state=state, machine=machine_summary(machine_info()), repeat=args.repeat
    )
    print(format_record(record))
    if args.no_write:
        print("not written (--no-write)")
    elif not state.clean:
        listed = ", ".join(state.changes[:5]) + (" ..." if len(state.changes) > 5 else "")
        print(f"not written: uncommitted changes ({listed}); commit, then run again to record")
    else:
        write_record(path, record)
        print(f"recorded in {path}")
    if not args.check:
        return 0
    base = base_record(records, record)
    if base is None:
        print(f"check: no earlier record of another commit at {record['orders']:,} orders")
        return 0
    lines, regressions = check(base, record, args.threshold)
    print(f"check against {base['revision'][:10]} ({base.get('subject', '')}):")
    print("\n".join(lines))
    if regressions:
        print(f"check failed: {', '.join(regressions)}")
        return 1
    return 0
