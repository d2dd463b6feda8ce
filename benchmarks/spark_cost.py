"""The benchmark job locally and on a local Spark (``--engine spark --master local[2]``),
on the same data, and the numbers of the cost model for larger runs (docs/spark.md).

    python3 -m uv run --all-packages python benchmarks/spark_cost.py \
        --orders 1000000 10000000 --repeat 3

For each size: the outputs are compared first (the Spark run must write the local run's
bytes; nothing is timed otherwise); then, round-robin in fresh processes, the local run,
the Spark run, and Spark's start-up alone (a session and one small job), each measured
over its whole process tree (segrule.bench.measure.measure_tree: wall, CPU summed over
the JVM and the Python workers, peak of the summed RSS). Medians are printed.

Then the cost model's inputs, from one Spark run whose staging folder is kept: input
bytes per order, the bucket layout's bytes per order (what Spark's shuffle wrote), the
hand-off's bytes per customer (on disk and in memory), and the driver's peak memory for
the population stage alone over 1x, 4x and 16x the customers (the hand-off replicated
with other ids), fitted as a line. The model for 1B and 10B orders is printed from them.
Results go to benchmarks/results/spark-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
from segrule.bench import AS_OF, PRESETS
from segrule.bench.data import bench_data
from segrule.bench.measure import measure_tree
from segrule.bench.sidebyside import engine_command

HERE = Path(__file__).resolve().parent
BUCKETS = 8

STARTUP = """
from segrule.spark import SparkOptions, session, _check_versions
from segrule.engine.distributed import runtime_versions
s = session(SparkOptions(master="local[2]"))
_check_versions(s, runtime_versions(()), ())
s.stop()
"""

# The population stage alone: the plan compiled (schemas only), its frame replaced by
# the population stage over a folder of hand-off files, written to a file.
POPULATION = """
import sys
import segrule
from segrule.engine.distributed import population_plan
data, handoff, out = sys.argv[1:4]
plan = segrule.compile(sys.argv[4:-1], data=data, as_of="{as_of}")
frame = population_plan(plan, handoff).frame
frame.sink_parquet(out)
import polars as pl
assert pl.scan_parquet(out).select(pl.len()).collect().item() == int(sys.argv[-1])
"""


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def timings(orders: int, repeat: int, py: str) -> dict[str, Any]:
    data = bench_data(orders)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        local = engine_command("segrule", data, t / "local.parquet", python=py)
        spark = [
            *engine_command("segrule", data, t / "spark.parquet", python=py),
            "--engine",
            "spark",
            "--master",
            "local[2]",
            "--buckets",
            str(BUCKETS),
            "--staging",
            str(t),
        ]
        commands = {"local": local, "spark local[2]": spark, "spark start-up": [py, "-c", STARTUP]}
        # Outputs first: nothing is timed unless the bytes are the same.
        measure_tree(local)
        measure_tree(spark)
        if (t / "local.parquet").read_bytes() != (t / "spark.parquet").read_bytes():
            raise SystemExit(f"{orders:,} orders: the Spark output differs from the local one")
        runs: dict[str, list[Any]] = {name: [] for name in commands}
        for _ in range(repeat):
            for name, cmd in commands.items():
                runs[name].append(measure_tree(cmd))
    return {
        name: {
            "wall_s": _median([m.wall_s for m in ms]),
            "cpu_s": _median([m.cpu_s for m in ms]),
            "peak_mib": _median([m.max_rss_bytes / 2**20 for m in ms]),
        }
        for name, ms in runs.items()
    }


def model_inputs(orders: int, py: str) -> dict[str, Any]:
    """Sizes from one Spark run with its staging folder kept, and the population stage's
    driver memory at 1x, 4x and 16x the customers."""
    import segrule
    from segrule.spark import SparkOptions, run_stages

    data = bench_data(orders)
    plan = segrule.compile(list(PRESETS), data=data, as_of=AS_OF)
    customers = pl.scan_parquet(data / "customers.parquet").select(pl.len()).collect().item()
    staged = run_stages(
        plan,
        SparkOptions(master="local[2]", buckets=BUCKETS),
        outputs=None,
        passes=(),
    )
    out: dict[str, Any] = {"orders": orders, "customers": customers}
    try:
        staging = staged.staging
        inputs = {f.stem: f.stat().st_size for f in data.glob("*.parquet")}
        layout = {
            t: _size(staging / "layout" / t) for t in inputs if (staging / "layout" / t).exists()
        }
        handoff = pl.read_parquet(staging / "handoff")
        out.update(
            input_bytes_per_order=sum(inputs.values()) / orders,
            layout_bytes_per_order=sum(layout.values()) / orders,
            handoff_columns=handoff.columns,
            handoff_disk_bytes_per_customer=_size(staging / "handoff") / handoff.height,
            handoff_memory_bytes_per_customer=handoff.estimated_size() / handoff.height,
        )
        points = []
        with tempfile.TemporaryDirectory() as tmp:
            for factor in (1, 4, 16, 64):
                # population_plan reads <staging>/handoff/*.parquet
                folder = Path(tmp) / f"x{factor}"
                (folder / "handoff").mkdir(parents=True)
                for i in range(factor):
                    handoff.with_columns(
                        (pl.lit(f"r{i}-") + pl.col("customer_id").cast(pl.String)).alias(
                            "customer_id"
                        )
                    ).write_parquet(folder / "handoff" / f"{i:05d}.parquet")
                script = POPULATION.replace("{as_of}", AS_OF)
                m = measure_tree(
                    [
                        py,
                        "-c",
                        script,
                        str(data),
                        str(folder),
                        str(Path(tmp) / "o.parquet"),
                        *PRESETS,
                        str(handoff.height * factor),
                    ]
                )
                points.append(
                    {
                        "customers": handoff.height * factor,
                        "peak_mib": m.max_rss_bytes / 2**20,
                        "wall_s": m.wall_s,
                    }
                )
                shutil.rmtree(folder)
        out["population_stage"] = points
    finally:
        staged.close()
    return out


def fit(points: list[dict[str, Any]]) -> tuple[float, float]:
    """Least squares: peak MiB = a + b * customers."""
    xs = [p["customers"] for p in points]
    ys = [p["peak_mib"] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - b * mx, b


def check_model(small: dict[str, Any], large: dict[str, Any]) -> list[str]:
    """The model fitted at the smaller size, against what was measured at the larger."""
    lines = [
        "| quantity | predicted from the smaller size | measured | error |",
        "|---|---:|---:|---:|",
    ]
    n, c = large["orders"], large["customers"]

    def row(name: str, predicted: float, measured: float, unit: str) -> None:
        err = (predicted - measured) / measured if measured else float("nan")
        lines.append(f"| {name} | {predicted:,.1f} {unit} | {measured:,.1f} {unit} | {err:+.0%} |")

    row(
        "input",
        small["input_bytes_per_order"] * n / 2**20,
        large["input_bytes_per_order"] * n / 2**20,
        "MiB",
    )
    row(
        "shuffled (layout)",
        small["layout_bytes_per_order"] * n / 2**20,
        large["layout_bytes_per_order"] * n / 2**20,
        "MiB",
    )
    row(
        "hand-off on disk",
        small["handoff_disk_bytes_per_customer"] * c / 2**20,
        large["handoff_disk_bytes_per_customer"] * c / 2**20,
        "MiB",
    )
    a, b = fit(small["population_stage"])
    measured = large["population_stage"][0]
    row("driver peak, population stage", a + b * measured["customers"], measured["peak_mib"], "MiB")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-timings", action="store_true", help="the cost model only")
    args = parser.parse_args(argv)
    py = sys.executable
    record: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(),
        "buckets": BUCKETS,
        "sizes": {},
        "model": {},
    }
    print(f"medians of {args.repeat} fresh processes, whole process trees\n")
    print("| orders | run | wall s | CPU s | peak MiB (summed) |")
    print("|---:|---|---:|---:|---:|")
    for n in [] if args.no_timings else args.orders:
        t = timings(n, args.repeat, py)
        record["sizes"][str(n)] = t
        for name, v in t.items():
            print(
                f"| {n:,} | {name} | {v['wall_s']:.1f} | {v['cpu_s']:.1f} | {v['peak_mib']:,.0f} |"
            )
        ratio = t["spark local[2]"]["wall_s"] / t["local"]["wall_s"]
        print(f"|  | spark / local wall | {ratio:.1f}x | | |")
    for n in args.orders:
        record["model"][str(n)] = model_inputs(n, py)
    sizes = sorted(args.orders)
    m = record["model"][str(sizes[-1])]
    a, b = fit(m["population_stage"])
    m["population_fit_mib"] = {"intercept": a, "per_million_customers": b * 1e6}
    print("\ncost model inputs:")
    for n in sizes:
        mm = record["model"][str(n)]
        print(json.dumps({k: v for k, v in mm.items() if k != "handoff_columns"}))
    if len(sizes) > 1:
        print(f"\nthe model from {sizes[0]:,} orders against {sizes[-1]:,}:\n")
        print("\n".join(check_model(record["model"][str(sizes[0])], m)))
    opc = m["orders"] / m["customers"]
    for total in (1_000_000_000, 10_000_000_000):
        cust = total / opc
        print(
            f"\n{total:,} orders ({cust:,.0f} customers at {opc:.0f} orders each): "
            f"input {total * m['input_bytes_per_order'] / 2**30:,.0f} GiB, "
            f"shuffled {total * m['layout_bytes_per_order'] / 2**30:,.0f} GiB, "
            f"hand-off {cust * m['handoff_disk_bytes_per_customer'] / 2**30:,.1f} GiB on disk / "
            f"{cust * m['handoff_memory_bytes_per_customer'] / 2**30:,.1f} GiB in memory, "
            f"driver peak for the population stage ~{(a + b * cust) / 1024:,.1f} GiB"
        )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    path = results / f"spark-{dt.date.today().isoformat()}.json"
    path.write_text(json.dumps(record, indent=1))
    print(f"\nrecord: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
