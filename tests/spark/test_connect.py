"""``--remote sc://...``: the CLI as a Spark Connect thin client (no JVM of its own)
against a server in another process; the output's bytes are the local run's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

#: One worker runs every Spark test (conftest.py).
pytestmark = pytest.mark.xdist_group("spark")

SEGRULE = Path(sys.executable).with_name("segrule")


def _generate(folder: Path) -> None:
    subprocess.run(
        [str(SEGRULE), "generate", "--orders", "3000", "--seed", "5", "--out", str(folder)],
        check=True,
        capture_output=True,
    )


@pytest.mark.usefixtures("no_plugin_autoload")
def test_a_spark_connect_run_writes_the_local_bytes(connect_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _generate(data)
    # Ids in random order.
    for f in data.glob("*.parquet"):
        pl.read_parquet(f).sample(fraction=1.0, shuffle=True, seed=1).write_parquet(f)
    env = {**os.environ, "COLUMNS": "120"}
    common = ["run", "rfm", "taobao-5-tier", "--data", str(data), "--as-of", "2026-11-01", "-q"]
    local = subprocess.run(
        [str(SEGRULE), *common, "--out", str(tmp_path / "local.parquet")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert local.returncode == 0, local.stderr
    remote = subprocess.run(
        [
            str(SEGRULE),
            *common,
            "--out",
            str(tmp_path / "remote.parquet"),
            "--engine",
            "spark",
            "--remote",
            connect_url,
            "--buckets",
            "3",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert (tmp_path / "remote.parquet").read_bytes() == (tmp_path / "local.parquet").read_bytes()
    assert remote.stdout == local.stdout  # the data-quality lines
    assert "Traceback" not in remote.stderr
