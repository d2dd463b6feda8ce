"""What the data-quality checks cost: the benchmark job with its default checks, with
the two set checks (unknown_customer, duplicate_order_id) set to unchecked, and the
same two checks written as DuckDB SQL on their own, next to the DuckDB peer.

    python3 -m uv run --all-packages python benchmarks/quality_cost.py --orders 10000000 --repeat 3

Each command runs in a fresh process (segrule.bench.measure), round-robin; medians of
wall time, CPU time and peak RSS are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from segrule.bench import AS_OF
from segrule.bench.data import bench_data
from segrule.bench.measure import measure, summarize
from segrule.bench.sidebyside import UNCHECKED_RULES, engine_command

# The same two checks in DuckDB: rows of customers outside the customers table per
# table, and order rows whose order_id was seen before (rows minus distinct ids).
DUCKDB_CHECKS = """
import sys, duckdb
d, as_of = sys.argv[1], sys.argv[2]
con = duckdb.connect()
q = lambda t, ts: (f"SELECT count(*) FROM read_parquet('{d}/{t}.parquet') x "
    f"ANTI JOIN read_parquet('{d}/customers.parquet') c USING (customer_id) "
    f"WHERE x.{ts} < TIMESTAMP '{as_of}'")
for t, ts in [("orders", "order_ts"), ("events", "event_ts"), ("feedback", "ts")]:
    con.sql(q(t, ts)).fetchall()
con.sql(f"SELECT count(*) - count(DISTINCT order_id) FROM read_parquet('{d}/orders.parquet') "
        f"WHERE order_ts < TIMESTAMP '{as_of}'").fetchall()
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    data = bench_data(args.orders)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        rule = UNCHECKED_RULES
        out = Path(tmp) / "out.parquet"
        segrule = engine_command("segrule", data, out, python=py)
        at = segrule.index("--data")
        commands = {
            "segrule (default checks)": segrule,
            "segrule (set checks unchecked)": [*segrule[:at], str(rule), *segrule[at:]],
            "duckdb peer (no checks)": engine_command("duckdb", data, out, python=py),
            "duckdb: the two set checks alone": [py, "-c", DUCKDB_CHECKS, str(data), AS_OF],
        }
        runs: dict[str, list] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, cmd in commands.items():
                runs[name].append(measure(cmd))
    print(f"{args.orders:,} orders, medians of {args.repeat} fresh processes\n")
    print("| command | wall s | CPU s | peak MiB |")
    print("|---|---:|---:|---:|")
    for name, measured in runs.items():
        s = summarize(measured)
        print(f"| {name} | {s.wall_s:.2f} | {s.cpu_s:.2f} | {s.max_rss_bytes / 2**20:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
