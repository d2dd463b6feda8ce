"""``segrule run --history`` as a real process stopped mid-run: SIGTERM/SIGINT remove
the run's temporary files and leave the previous output and history as they were;
SIGKILL at any moment leaves a pair that the next read makes consistent."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from segrule import history
from segrule.generate import generate
from segrule.io.manifest import read_manifest
from segrule_cli.app import app
from typer.testing import CliRunner

T1, T2 = "2026-10-01", "2026-11-01"
SEGRULE = Path(sys.executable).with_name("segrule")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400k generated orders and a first run at T1 (output and history), made once: a run
    over them spends some 0.5 s in collect_all, time to be stopped in it."""
    root = tmp_path_factory.mktemp("signals")
    generate(root / "data", orders=400_000, seed=1, end=dt.date(2026, 11, 1))
    proc = subprocess.run(
        [*run_args(root / "data", T1, root / "out" / "scores.parquet", root / "hist")],
        env=env(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return root


def env() -> dict[str, str]:
    return {**os.environ, "SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run_args(data: Path, as_of: str, out: Path, hist: Path) -> list[str]:
    return [str(SEGRULE), "run", "taobao-5-tier", "--data", str(data), "--as-of", as_of,
            "--out", str(out), "--history", str(hist), "-q"]  # fmt: skip


@pytest.fixture
def copy(base: Path, tmp_path: Path) -> tuple[Path, Path, dict[Path, bytes]]:
    """This test's copy of the T1 output and history, and their bytes."""
    out, hist = tmp_path / "out" / "scores.parquet", tmp_path / "hist"
    shutil.copytree(base / "out", out.parent)
    shutil.copytree(base / "hist", hist)
    before = {p: p.read_bytes() for p in [out, *hist.rglob("*.parquet")]}
    return out, hist, before


def output_temps(out: Path) -> Callable[[], bool]:
    return lambda: any(out.parent.glob(f".{out.name}.*.tmp"))


def partition_temps(hist: Path) -> Callable[[], bool]:
    return lambda: any(hist.glob(".as_of=*.tmp"))


def start_and_wait(
    args: list[str], ready: Callable[[], bool]
) -> tuple[subprocess.Popen[str], bool]:
    """Start the run; poll until ``ready()`` (a temporary file appeared). Returns the
    process and whether it was seen before the run ended."""
    proc = subprocess.Popen(args, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    while proc.poll() is None:
        if ready():
            return proc, True
        time.sleep(0.002)
    return proc, False


def leftovers(*folders: Path) -> list[str]:
    return sorted(p.name for f in folders for p in f.glob(".*") if p.name != history.LOCK)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_run_removes_its_temp_files_and_keeps_the_previous_pair(
    sig: signal.Signals, code: int, base: Path, copy: tuple[Path, Path, dict[Path, bytes]]
) -> None:
    out, hist, before = copy
    proc, seen = start_and_wait(run_args(base / "data", T2, out, hist), output_temps(out))
    assert seen, "the run ended before its output's temporary file appeared"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert err.strip() == f"interrupted by {sig.name}: this run's temporary files were removed"
    assert leftovers(out.parent, hist) == []
    assert {p: p.read_bytes() for p in before} == before
    assert [at.date().isoformat() for at, _ in history.partitions(hist)] == [T1]


@pytest.mark.parametrize("moment", ["output-temp", "partition-temp"])
def test_a_kill_at_any_moment_leaves_a_pair_the_next_read_makes_consistent(
    moment: str, base: Path, copy: tuple[Path, Path, dict[Path, bytes]]
) -> None:
    out, hist, before = copy
    ready = output_temps(out) if moment == "output-temp" else partition_temps(hist)
    proc, _ = start_and_wait(run_args(base / "data", T2, out, hist), ready)
    proc.kill()  # SIGKILL; if the run ended first, the pair is the finished one
    proc.communicate()
    runs = [at.date().isoformat() for at, _ in history.partitions(hist)]
    manifest = read_manifest(out)
    assert manifest is not None
    published = manifest["as_of"][:10]
    assert (published, runs) in [(T1, [T1]), (T2, [T1, T2])]
    if published == T1:
        assert out.read_bytes() == before[out]
    # The next run removes what the killed one left beside the output, and continues.
    again = subprocess.run(run_args(base / "data", T2, out, hist), env=env(), check=False)
    assert again.returncode == 0
    assert leftovers(out.parent, hist) == []
    assert [at.date().isoformat() for at, _ in history.partitions(hist)] == [T1, T2]


def test_a_read_only_history_is_one_line_and_exit_1(
    base: Path, copy: tuple[Path, Path, dict[Path, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    out, hist, before = copy
    real_open = os.open

    def read_only(path: str | Path, *args: object, **kwargs: object) -> int:
        if Path(path).parent == hist and Path(path).name.endswith(".tmp"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "300")
    result = CliRunner().invoke(
        app, run_args(base / "data", T2, out, hist)[1:], catch_exceptions=False
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"history {hist}: cannot write the partition as_of={T2}" in lines[0]
    assert "Read-only file system" in lines[0] and "was not replaced" in lines[0]
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in before} == before
    assert leftovers(out.parent, hist) == []
