"""``segrule bucket``: the command, its summary (English and Chinese), its one-line
errors and exit codes, and a layout that ``segrule run --data`` reads as the tables."""

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

pytestmark = pytest.mark.usefixtures("isolated_cli")

runner = CliRunner()


def test_bucket_then_run_on_the_layout(data_dir: Path, tmp_path: Path) -> None:
    layout = tmp_path / "buckets"
    r = runner.invoke(
        app, ["bucket", "--data", str(data_dir), "--buckets", "6", "--out", str(layout)]
    )
    assert r.exit_code == 0, r.output
    for word in ("orders", "customers", "events", "feedback", "messages", "max/mean", "largest"):
        assert word in r.output, word
    assert "6/6" in r.output
    assert "wrote 5 table(s)" in r.output and str(layout) in r.output
    marker = json.loads((layout / "_segrule_buckets.json").read_text(encoding="utf-8"))
    assert marker["buckets"] == 6 and sorted(marker["tables"]) == [
        "customers",
        "events",
        "feedback",
        "messages",
        "orders",
    ]
    # The summary's rows are the marker's.
    rows = marker["tables"]["orders"]["rows"]
    assert f"{rows:,}" in r.output
    outs = []
    for name, folder in (("a", data_dir), ("b", layout)):
        out = tmp_path / f"{name}.parquet"
        args = ["run", "taobao-5-tier", "rfm", "emotion-tags", "--data", str(folder)]
        args += ["--as-of", "2026-11-01"]
        done = runner.invoke(app, [*args, "--out", str(out), "-q"])
        assert done.exit_code == 0, done.output
        outs.append(pl.read_parquet(out))
    assert outs[0].height > 100 and outs[0].equals(outs[1])


def test_bucket_in_chinese(data_dir: Path, tmp_path: Path) -> None:
    args = ["bucket", "--data", str(data_dir), "-b", "3", "-o", str(tmp_path / "b")]
    en = runner.invoke(app, [*args, "--lang", "en"])
    zh = runner.invoke(app, [*args, "--lang", "zh"])
    assert en.exit_code == zh.exit_code == 0, zh.output
    for word, chinese in (("rows", "行数"), ("largest", "最大桶"), ("wrote", "已写入")):
        assert word in en.output and word not in zh.output.replace(str(tmp_path), "")
        assert chinese in zh.output


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--buckets", "0"], 2, "error: --buckets 0: give a number of buckets between 1 and"),
        (["--buckets", "70000"], 2, "error: --buckets 70000"),
        (["--buckets", "4", "--lang", "fr"], 2, "error: --lang 'fr'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    data_dir: Path, tmp_path: Path, args: list[str], code: int, says: str
) -> None:
    r = runner.invoke(app, ["bucket", "--data", str(data_dir), "--out", str(tmp_path / "b"), *args])
    assert r.exit_code == code
    assert r.output.startswith(says) and r.output.count("\n") == 1, r.output
    assert not (tmp_path / "b").exists()


def test_data_and_output_errors_are_one_line_exit_1(data_dir: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["bucket", "--data", str(data_dir), "-b", "4", "-o", str(data_dir)])
    assert r.exit_code == 1
    assert r.output.startswith(f"error: --out {data_dir} holds ") and r.output.count("\n") == 1

    bad = tmp_path / "bad"
    bad.mkdir()
    pl.DataFrame({"buyer": ["a"]}).write_parquet(bad / "orders.parquet")
    r = runner.invoke(app, ["bucket", "--data", str(bad), "-b", "4", "-o", str(tmp_path / "b")])
    assert r.exit_code == 1 and r.output.count("\n") == 1, r.output
    assert "table 'orders' has no column 'customer_id'" in r.output
    assert "Traceback" not in r.output

    rules = tmp_path / "rules.yaml"
    rules.write_text("extends: rfm\ntables:\n  orders:\n    columns:\n      customer_id: buyer\n")
    r = runner.invoke(
        app, ["bucket", str(rules), "--data", str(bad), "-b", "4", "-o", str(tmp_path / "b")]
    )
    assert r.exit_code == 0, r.output
    assert "buyer" in r.output


def test_missing_options_are_usage_errors(data_dir: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["bucket", "--data", str(data_dir), "--out", str(tmp_path / "b")])
    assert r.exit_code == 2 and "--buckets" in r.output
    r = runner.invoke(app, ["bucket", "--data", str(data_dir), "--buckets", "4"])
    assert r.exit_code == 2 and "--out" in r.output


def test_help_explains_with_an_example() -> None:
    r = runner.invoke(app, ["bucket", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    assert "segrule bucket --data data/ --buckets 64 --out buckets/" in text
    assert "pmod(xxhash64(cast(c as string)), B)" in text
    assert "_segrule_buckets.json" in text


def test_installed_script_writes_a_layout(data_dir: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "segrule"
    env = dict(os.environ, SEGRULE_CACHE_DIR=str(tmp_path), SEGRULE_DISABLE_PLUGIN_AUTOLOAD="1")
    out = tmp_path / "b"
    proc = subprocess.run(
        [str(exe), "bucket", "--data", str(data_dir), "--buckets", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out / "orders")) == ["segrule_bucket=0", "segrule_bucket=1"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
