"""`segrule bench`: cached data, fresh-process timings, phases, --compare, --json.

Tests never assert a time: only that each measurement is there and positive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGRULE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")


def test_bench_times_startup_run_and_phases(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "rfm", "pareto-80-20", "--orders", "2000", "--repeat", "1", "--json", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for text in ("start-up (validate)", "run", "scan and aggregate", "population ranks", "write"):
        assert text in result.output
    record = json.loads(out.read_text())
    assert record["orders"] == 2000
    assert record["input_rows"]["orders"] == 2000
    assert record["customers"] == 200
    assert record["run"]["wall_s"] > 0 and record["run"]["max_rss_bytes"] > 0
    assert record["startup"]["cpu_s"] > 0
    assert [p["phase"] for p in record["phases"]] == [
        "data-quality checks",
        "scan and aggregate",
        "derived dimensions",
        "population ranks",
        "segments and scores",
        "write",
    ]
    # The data is cached: a second bench does not generate it again.
    data = Path(record["data_dir"])
    stamp = (data / "orders.parquet").stat().st_mtime_ns
    result = runner.invoke(app, [*args[:-2], "--no-phases"])
    assert result.exit_code == 0, result.output
    assert "scan and aggregate" not in result.output
    assert (data / "orders.parquet").stat().st_mtime_ns == stamp


def test_bench_compare_checks_outputs_then_times_the_peers() -> None:
    pytest.importorskip("duckdb")
    args = ["bench", "rfm", "--orders", "2000", "--repeat", "1", "--no-phases"]
    result = runner.invoke(app, [*args, "--compare", "duckdb,floor,jobfloor"])
    assert result.exit_code == 0, result.output
    assert "duckdb: same as segrule" in result.output
    assert "jobfloor-duckdb: same as jobfloor-polars" in result.output
    for engine in ("duckdb", "floor-polars", "floor-duckdb", "jobfloor-polars", "jobfloor-duckdb"):
        assert engine in result.output
    assert "× floor-polars" in result.output and "× jobfloor-duckdb" in result.output


def test_bench_unknown_peer_is_a_usage_error() -> None:
    result = runner.invoke(app, ["bench", "rfm", "--orders", "100", "--compare", "spark"])
    assert result.exit_code == 2
    assert "--compare 'spark'" in result.output


def test_bench_unknown_ruleset_is_a_rule_error() -> None:
    result = runner.invoke(app, ["bench", "rmf", "--orders", "100", "--repeat", "1"])
    assert result.exit_code == 1
    assert "rmf" in result.output
