"""The segrule command through typer's CliRunner, with the environment isolated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("isolated_cli")


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("run", "validate", "plan", "generate", "demo", "presets", "dimensions", "schema"):
        assert cmd in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert "segrule 0." in result.output


def test_generate_is_seeded(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "5"), (b, "5"), (c, "6")):
        r = runner.invoke(app, ["generate", "--orders", "500", "--seed", seed, "--out", str(out)])
        assert r.exit_code == 0, r.output
    assert (a / "orders.parquet").read_bytes() == (b / "orders.parquet").read_bytes()
    assert (a / "orders.parquet").read_bytes() != (c / "orders.parquet").read_bytes()
    assert pl.read_parquet(a / "orders.parquet").height == 500


def test_generate_shape_flags(tmp_path: Path) -> None:
    out = tmp_path / "shaped"
    args = ["generate", "--orders", "2000", "--orders-per-customer", "20", "--out", str(out)]
    shape = ["--id-type", "int", "--customer-ids", "shuffled", "--order-ids", "random"]
    shape += ["--skew", "2", "--skew-orders", "300", "--events-per-order", "10"]
    r = runner.invoke(app, [*args, *shape, "--tables", "orders,events,feedback"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [
        "events.parquet",
        "feedback.parquet",
        "orders.parquet",
    ]
    orders = pl.read_parquet(out / "orders.parquet")
    assert orders.schema["customer_id"] == orders.schema["order_id"] == pl.Int64
    assert not orders["order_id"].is_sorted()
    assert orders.group_by("customer_id").len()["len"].top_k(2).min() >= 300
    assert pl.read_parquet(out / "events.parquet").height == 20_000
    r = runner.invoke(app, [*args, "--customers", "5"])
    assert r.exit_code == 2 and "give customers or orders_per_customer, not both" in r.output
    r = runner.invoke(app, [*args, "--id-type", "long"])
    assert r.exit_code == 2 and "long" in r.output


def test_run_three_presets_one_row_per_customer(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.parquet"
    r = runner.invoke(
        app,
        [
            "run",
            "taobao-5-tier",
            "rfm",
            "pareto-80-20",
            "--data",
            str(data_dir),
            "--as-of",
            "2026-11-01",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    df = pl.read_parquet(out)
    customers = pl.read_parquet(data_dir / "customers.parquet")
    assert df.height == customers.height
    assert df["customer_id"].to_list() == sorted(customers["customer_id"].to_list())
    for col in (
        "recency_days",
        "orders_30d",
        "orders_lifetime",
        "monetary_365d",
        "first_order_ts",
        "lifecycle",
        "freq_tier",
        "amount_tier",
        "interaction",
        "feedback_mean",
        "satisfaction",
        "score",
        "tier",
        "monetary_lifetime",
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "pareto_key",
    ):
        assert col in df.columns
    assert set(df["tier"].unique()) <= {"new", "prospect", "super_vip", "vip", "advanced", "normal"}
    assert "超级VIP" in r.output or "super_vip" in r.output
    assert str(out) in r.output.replace("\n", "")


@pytest.mark.parametrize("ext", ["csv", "arrow", "ndjson"])
def test_run_other_formats(data_dir: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"scores.{ext}"
    r = runner.invoke(
        app,
        ["run", "rfm", "--data", str(data_dir), "--as-of", "2026-11-01", "--out", str(out), "-q"],
    )
    assert r.exit_code == 0, r.output
    reader = {"csv": pl.read_csv, "arrow": pl.read_ipc, "ndjson": pl.read_ndjson}[ext]
    assert reader(out).height == pl.read_parquet(data_dir / "customers.parquet").height
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_run_table_override(data_dir: Path, tmp_path: Path) -> None:
    # --orders replaces the data folder's orders: an empty orders file means no buyers.
    empty = tmp_path / "no_orders.parquet"
    pl.read_parquet(data_dir / "orders.parquet").head(0).write_parquet(empty)
    out = tmp_path / "o.parquet"
    r = runner.invoke(
        app,
        [
            "run",
            "rfm",
            "--data",
            str(data_dir),
            "--orders",
            str(empty),
            "--as-of",
            "2026-11-01",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    df = pl.read_parquet(out)
    assert df["orders_lifetime"].sum() == 0
    assert df["rfm_segment"].unique().to_list() == ["no_purchase"]


def test_unknown_dimension_is_one_line_exit_1(tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text('segments:\n  busy:\n    flag: "order_30d >= 3"\n', encoding="utf-8")
    r = runner.invoke(app, ["validate", str(rules)])
    assert r.exit_code == 1
    assert "order_30d" in r.output and "orders_30d" in r.output
    assert f"{rules}:3" in r.output.replace("\n", "")
    assert "Traceback" not in r.output


def test_yaml_syntax_error(tmp_path: Path) -> None:
    rules = tmp_path / "broken.yaml"
    rules.write_text("segments:\n  a: [unclosed\n", encoding="utf-8")
    r = runner.invoke(app, ["validate", str(rules)])
    assert r.exit_code == 1
    assert "YAML syntax error" in r.output
    assert "Traceback" not in r.output


def test_missing_data_names_table(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        [
            "run",
            "taobao-5-tier",
            "--data",
            str(tmp_path),
            "--as-of",
            "2026-11-01",
            "--out",
            str(tmp_path / "o.parquet"),
        ],
    )
    assert r.exit_code == 1
    assert "orders" in r.output and "not found" in r.output
    assert not (tmp_path / "o.parquet").exists()


def test_bad_as_of(data_dir: Path, tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        [
            "run",
            "rfm",
            "--data",
            str(data_dir),
            "--as-of",
            "yesterday",
            "--out",
            str(tmp_path / "o.parquet"),
        ],
    )
    assert r.exit_code == 1
    assert "yesterday" in r.output


def test_usage_error_exit_2() -> None:
    r = runner.invoke(app, ["run"])
    assert r.exit_code == 2


def test_debug_shows_traceback(tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text('segments:\n  busy:\n    flag: "nope > 1"\n', encoding="utf-8")
    r = runner.invoke(app, ["--debug", "validate", str(rules)])
    assert r.exit_code != 0
    assert r.exception is not None


def test_validate_ok_and_presets_listed() -> None:
    r = runner.invoke(app, ["validate", "taobao-5-tier", "rfm", "pareto-80-20"])
    assert r.exit_code == 0, r.output
    assert "ok" in r.output
    r = runner.invoke(app, ["presets", "--json"])
    names = {p["name"] for p in json.loads(r.output)}
    assert {
        "taobao-5-tier",
        "rfm",
        "pareto-80-20",
        "lifecycle",
        "value-tiers",
        "transaction-stage",
        "generation",
    } <= names


def test_presets_show() -> None:
    r = runner.invoke(app, ["presets", "--show", "rfm"])
    assert r.exit_code == 0
    assert "strategy: rfm" in r.output


def test_dimensions_json() -> None:
    r = runner.invoke(app, ["dimensions", "--json"])
    data = json.loads(r.output)
    names = {d["name"] for d in data["dimensions"]}
    assert {
        "orders_<window>",
        "monetary_<window>",
        "recency_days",
        "generation",
        "age_band",
        "city_tier",
        "transaction_stage",
        "activity_index",
    } <= names
    assert {s["name"] for s in data["strategies"]} >= {"points", "rfm", "pareto", "quantile"}


def test_schema_is_json_schema() -> None:
    r = runner.invoke(app, ["schema"])
    schema = json.loads(r.output)
    assert schema["type"] == "object"
    assert {"segments", "dimensions", "scores", "extends", "tables"} <= set(schema["properties"])


def test_plan_shows_graph_and_polars_plan(data_dir: Path) -> None:
    r = runner.invoke(
        app, ["plan", "taobao-5-tier", "--data", str(data_dir), "--as-of", "2026-11-01"]
    )
    assert r.exit_code == 0, r.output
    assert "scan orders" in r.output and "group_by(customer_id)" in r.output
    assert "layer" in r.output
    # Dependency lists are shown as written, not eaten as console markup.
    assert "rfm_segment <- [r_score, f_score]" in r.output or "tier <- [" in r.output
    assert "Polars plan" in r.output


def test_demo_runs(tmp_path: Path) -> None:
    r = runner.invoke(app, ["demo", "--orders", "2000"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "cache" / "demo" / "scores.parquet"
    assert out.exists()
    assert "超级VIP" in r.output or "普通客户" in r.output
    scores = pl.read_parquet(out)
    assert scores.height == 200
    # The suggested explain names a VIP of this run, and runs as printed.
    line = next(x.strip() for x in r.output.splitlines() if " explain " in x)
    cid = line.split("--customer ")[1].split()[0]
    assert scores.filter(pl.col("customer_id") == cid)["tier"].to_list() == ["vip"]
    shown = runner.invoke(app, ["explain", *line.split(" explain ", 1)[1].split()])
    assert shown.exit_code == 0, shown.output
    assert f"客户 {cid}" in shown.output and "vip (VIP)" in shown.output


def test_installed_script_subprocess(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "segrule"
    assert exe.exists(), "the segrule console script is installed with the workspace"
    env = dict(os.environ, SEGRULE_CACHE_DIR=str(tmp_path))
    proc = subprocess.run(
        [str(exe), "validate", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [str(exe), "presets"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0 and "taobao-5-tier" in proc.stdout
