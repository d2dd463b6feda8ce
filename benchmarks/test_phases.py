"""Phase benchmarks: compile, scan + aggregate, the whole three-preset run."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import segrule

PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]
AS_OF = "2026-11-01"


def test_compile(benchmark, bench_data: Path) -> None:
    engine = segrule.Engine()
    benchmark(lambda: segrule.compile(PRESETS, data=bench_data, as_of=AS_OF, engine=engine))


def test_floor_scan_group_by(benchmark, bench_data: Path) -> None:
    """The least any engine must do: read the columns and one group-by per customer."""

    def floor() -> pl.DataFrame:
        return (
            pl.scan_parquet(bench_data / "orders.parquet")
            .group_by("customer_id")
            .agg(pl.len(), pl.col("amount").sum(), pl.col("order_ts").max())
            .collect(engine="streaming")
        )

    benchmark(floor)


def test_run_three_presets(benchmark, bench_data: Path, tmp_path: Path) -> None:
    engine = segrule.Engine()
    out = tmp_path / "out.parquet"
    benchmark(lambda: segrule.run(PRESETS, out, data=bench_data, as_of=AS_OF, engine=engine))
