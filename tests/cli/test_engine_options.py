"""``segrule run --engine``: the Spark options are refused without ``--engine spark``,
with a bad value, or together where they exclude each other; each a usage error (exit 2)
naming the flag, before any data is read or Spark started."""

from __future__ import annotations

from pathlib import Path

import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

pytestmark = pytest.mark.usefixtures("isolated_cli")


def _run(data_dir: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            "run",
            "rfm",
            "--data",
            str(data_dir),
            "--as-of",
            "2026-11-01",
            "--out",
            str(tmp_path / "out.parquet"),
            *extra,
        ],
    )
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("extra", "flag", "words"),
    [
        (["--master", "local[2]"], "--master", "needs --engine spark"),
        (["--remote", "sc://x:15002"], "--remote", "needs --engine spark"),
        (["--buckets", "8"], "--buckets", "needs --engine spark"),
        (["--staging", "/tmp/x"], "--staging", "needs --engine spark"),
        (["--spark-conf", "a=b"], "--spark-conf", "needs --engine spark"),
        (["--engine", "ray"], "--engine", "not an engine"),
        (
            ["--engine", "spark", "--master", "local[2]", "--remote", "sc://h:1"],
            "--remote",
            "not both",
        ),
        (["--engine", "spark", "--spark-conf", "novalue"], "--spark-conf", "not KEY=VALUE"),
        (["--engine", "spark", "--buckets", "0"], "--buckets", "greater than or equal to 1"),
    ],
)
def test_spark_options_are_checked_before_anything_runs(
    data_dir: Path, tmp_path: Path, extra: list[str], flag: str, words: str
) -> None:
    code, out = _run(data_dir, tmp_path, *extra)
    assert code == 2, out
    assert flag in out and words in out
    assert not (tmp_path / "out.parquet").exists()


def test_a_remote_that_is_not_spark_connect_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    code, out = _run(data_dir, tmp_path, "--engine", "spark", "--remote", "http://x:15002")
    assert code != 0
    assert "sc://" in out and "Traceback" not in out
    assert not (tmp_path / "out.parquet").exists()


def test_a_spark_connect_server_that_does_not_answer_is_one_line_at_once(
    data_dir: Path, tmp_path: Path
) -> None:
    """The Spark Connect client retries for minutes; segrule tries the port first."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    code, out = _run(data_dir, tmp_path, "--engine", "spark", "--remote", f"sc://127.0.0.1:{port}")
    assert code == 1
    assert f"127.0.0.1:{port} does not answer" in out and "Traceback" not in out
    assert not (tmp_path / "out.parquet").exists()
