"""segrule side by side with DuckDB SQL, hand-written polars, pandas and the floors.

    python3 -m uv run --all-packages python benchmarks/sidebyside.py \
        --orders 1000000 10000000 --repeat 3
    python3 -m uv run --all-packages python benchmarks/sidebyside.py \
        --engines segrule,duckdb --orders 30000000
    python3 -m uv run --all-packages python benchmarks/sidebyside.py \
        --orders 1000000 --shapes matrix

Every engine's output is first checked against segrule's, at every size and shape;
nothing is timed when one differs (exit 1, the differences printed). Then each engine
is timed --repeat times in fresh processes, round-robin. Prints progress and a
markdown table, and writes the full record to
benchmarks/results/sidebyside-<UTC time>.json. Data comes from (or is generated into)
$SEGRULE_CACHE_DIR/bench (default ~/.cache/segrule/bench), one folder per size, seed
and shape.

Shapes (--shapes, comma-separated): 'default', 'matrix' (all of the list below), or
tokens joined by '+': int, shuffled, random-order-ids, no-customers,
<K>-per-customer, skewed, events-<R>x; e.g. int+shuffled, events-10x. See
docs/benchmarks.md#shapes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from segrule.bench import AS_OF, BenchError
from segrule.bench.data import MATRIX, parse_shapes
from segrule.bench.sidebyside import (
    ENGINES,
    format_markdown,
    machine_info,
    results_to_json,
    run_side_by_side,
)

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--orders", type=int, nargs="+", default=[1_000_000], help="data sizes (orders)"
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated, from: {', '.join(ENGINES)} (default: all)",
    )
    parser.add_argument(
        "--shapes",
        default="default",
        help="comma-separated data shapes: default, matrix, or tokens joined by '+' "
        "(int, shuffled, random-order-ids, no-customers, <K>-per-customer, skewed, "
        f"events-<R>x); matrix is: {', '.join(MATRIX)} (default: default)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per engine")
    parser.add_argument("--seed", type=int, default=1, help="data generator seed")
    parser.add_argument("--as-of", default=AS_OF, help=f"as-of date (default {AS_OF})")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    start = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {message}", file=sys.stderr, flush=True)

    try:
        shapes = [s.name for s in parse_shapes(args.shapes)]
        results = run_side_by_side(
            args.orders,
            engines,
            args.repeat,
            shapes=shapes,
            as_of=args.as_of,
            seed=args.seed,
            progress=progress,
        )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    machine = machine_info()
    print(format_markdown(results, machine, repeat=args.repeat))
    record = results_to_json(
        results,
        machine,
        orders=args.orders,
        shapes=shapes,
        engines=engines,
        repeat=args.repeat,
        seed=args.seed,
        as_of=args.as_of,
    )
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.results / f"sidebyside-{stamp}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
