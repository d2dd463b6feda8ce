"""Every CLI option that writes, given an object-store or unknown URL: `run --out`
writes the object; every other one refuses it in one line (exit 1 or 2), and nothing
named after the URL (an `s3:` or `ftp:` folder) appears in the working folder."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest
from segrule.generate import generate
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cloud-cli-data")
    generate(out, orders=2_000, seed=4, end=dt.date(2026, 11, 1))
    return out


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return folder


def test_run_out_to_s3_and_back(bucket, data: Path, workdir: Path) -> None:
    url = bucket.url("scores/nov.parquet")
    r = runner.invoke(app, ["run", "rfm", "--data", str(data), "--as-of", AS_OF, "--out", url])
    assert r.exit_code == 0, r.output
    assert url in r.output
    assert pl.read_parquet(url).height == pl.read_parquet(data / "customers.parquet").height
    # The run's report is a local file beside an object-store output.
    r = runner.invoke(
        app,
        ["run", "rfm", "--data", str(data), "--as-of", AS_OF, "--out", url, "--report", "r.json"],
    )
    assert r.exit_code == 0, r.output
    assert url in (workdir / "r.json").read_text(encoding="utf-8")
    assert sorted(os.listdir(workdir)) == ["r.json"]


def test_run_reads_orders_and_data_from_s3(bucket, data: Path, workdir: Path) -> None:
    bucket.put("d/orders.parquet", data / "orders.parquet")
    bucket.put("d/customers.parquet", data / "customers.parquet")
    r = runner.invoke(
        app, ["run", "rfm", "--data", bucket.url("d/"), "--as-of", AS_OF, "--out", "a.parquet"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        [
            "run",
            "rfm",
            "--orders",
            bucket.url("d/orders.parquet"),
            "--as-of",
            AS_OF,
            "--out",
            "b.parquet",
        ],
    )
    assert r.exit_code == 0, r.output
    local = runner.invoke(
        app, ["run", "rfm", "--data", str(data), "--as-of", AS_OF, "--out", "c.parquet"]
    )
    assert local.exit_code == 0, local.output
    assert pl.read_parquet("a.parquet").equals(pl.read_parquet("c.parquet"))


def _commands(data: Path, scores: Path, history: Path) -> list[list[str]]:
    common = ["--data", str(data), "--as-of", AS_OF]
    return [
        ["run", "rfm", *common, "--out", "{url}"],
        ["run", "rfm", *common, "--out", "x.parquet", "--report", "{url}"],
        ["run", "rfm", *common, "--out", "x.parquet", "--rejects", "{url}"],
        ["run", "rfm", *common, "--out", "x.parquet", "--history", "{url}"],
        ["report", str(scores), "--out", "{url}"],
        ["report", str(scores), "--out", "r.html", "--png", "{url}"],
        ["diff", str(scores), str(scores), "--changes", "{url}"],
        ["sweep", "taobao-5-tier", *common, "--param", "tier.vip=7..8:1", "--out", "{url}"],
        ["history", str(history), "--out", "{url}"],
        ["generate", "--orders", "100", "--out", "{url}"],
        ["bench", "rfm", "--orders", "100", "--repeat", "1", "--json", "{url}"],
        ["new-plugin", "demo", "--dir", "{url}"],
    ]


@pytest.mark.parametrize("scheme", ["ftp", "hdfs", "s3", "https"])
def test_every_writing_option_refuses_urls_it_cannot_write(
    scheme: str, data: Path, workdir: Path, tmp_path: Path, aws_env: str
) -> None:
    scores = tmp_path / "scores.parquet"
    history = tmp_path / "hist"
    history.mkdir()
    r = runner.invoke(
        app, ["run", "rfm", "--data", str(data), "--as-of", AS_OF, "--out", str(scores)]
    )
    assert r.exit_code == 0, r.output
    for args in _commands(data, scores, history):
        url = f"{scheme}://somewhere/out/x.json"
        if args[0] == "run" and args[-1] == "{url}" and args[-2] == "--out":
            if scheme == "s3":
                continue  # written: test_run_out_to_s3_and_back
            url = f"{scheme}://somewhere/out/x.parquet"
        argv = [url if a == "{url}" else a for a in args]
        r = runner.invoke(app, argv)
        lines = [line for line in r.output.strip().splitlines() if line.strip()]
        assert r.exit_code in (1, 2), (argv, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit), (argv, r.exception)
        assert len(lines) == 1, (argv, r.output)
        assert f"{scheme}:" not in os.listdir(workdir), (argv, os.listdir(workdir))
        assert not any(p.name.startswith(f"{scheme}:") for p in workdir.rglob("*")), argv
        expected = "unknown URL scheme" if scheme in ("ftp", "hdfs") else scheme
        if args[0] == "new-plugin":
            expected = "not a URL"
        assert expected in lines[0], (argv, lines[0])
