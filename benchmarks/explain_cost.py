"""What explanations cost: the benchmark job (taobao-5-tier rfm pareto-80-20) as a plain
run, with ``--explain`` (reasons for every segment and tier), and with ``--explain
--distance --rolloff``, each in a fresh ``segrule run`` process, round-robin.

    python3 -m uv run --all-packages python benchmarks/explain_cost.py --orders 10000000 --repeat 3

Medians of wall time, CPU time and peak RSS and the ratio to the plain run are printed
as a Markdown table; issue 6 asks for ``--explain`` within 1.5x of the plain run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from segrule.bench.data import bench_data
from segrule.bench.measure import measure, summarize
from segrule.bench.sidebyside import engine_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    data = bench_data(args.orders)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.parquet"
        plain = engine_command("segrule", data, out, python=sys.executable)
        commands = {
            "segrule run": plain,
            "segrule run --explain": [*plain, "--explain"],
            "segrule run --explain --distance --rolloff": [
                *plain,
                "--explain",
                "--distance",
                "--rolloff",
            ],
        }
        runs: dict[str, list] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, cmd in commands.items():
                runs[name].append(measure(cmd))
    print(f"{args.orders:,} orders, medians of {args.repeat} fresh processes\n")
    print("| command | wall s | CPU s | peak MiB | wall vs plain |")
    print("|---|---:|---:|---:|---:|")
    base = summarize(runs["segrule run"]).wall_s
    for name, measured in runs.items():
        s = summarize(measured)
        print(
            f"| {name} | {s.wall_s:.2f} | {s.cpu_s:.2f} | {s.max_rss_bytes / 2**20:,.0f} "
            f"| {s.wall_s / base:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
