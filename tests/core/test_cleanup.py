"""segrule.io.cleanup: SIGTERM/SIGINT remove the process's registered temporary files,
also while polars' native collect_all runs, and never cut a deferred commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from segrule.io import cleanup

# The driver's query runs for hours in polars' native code (a streaming cross join of
# 4e10 rows, summed: little memory) and never returns to Python on the main thread, so
# a handler could not run there (checked: SIGTERM is ignored when the driver calls
# collect_all directly). cleanup.interruptible waits for it on a lock that signals do
# interrupt: the handler runs and os._exit ends the query.
COLLECT_DRIVER = """
import sys
from pathlib import Path
import polars as pl
from segrule.io import cleanup
temp, started = Path(sys.argv[1]), Path(sys.argv[2])
cleanup.install_signal_handlers()
temp.write_bytes(b"partial")
cleanup.register(temp)
ids = pl.LazyFrame({"a": pl.int_range(0, 200_000, eager=True)})
endless = ids.join(ids.rename({"a": "b"}), how="cross").select(
    (pl.col("a") * pl.col("b") % 7).sum()
)
started.touch()
cleanup.interruptible(pl.collect_all, [endless], engine="streaming")
"""

DEFERRED_DRIVER = """
import sys, time
from pathlib import Path
from segrule.io import cleanup
temp, inside, go, committed = (Path(a) for a in sys.argv[1:])
cleanup.install_signal_handlers()
temp.write_bytes(b"partial")
cleanup.register(temp)
with cleanup.deferred():
    inside.touch()
    while not go.exists():
        time.sleep(0.01)
    committed.touch()
time.sleep(600)
"""


def start(tmp_path: Path, driver: str, *args: Path) -> subprocess.Popen[str]:
    script = tmp_path / "driver.py"
    script.write_text(driver, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    for _ in range(6000):
        if path.exists():
            return
        if proc.poll() is not None:
            pytest.fail(f"the driver ended before {path.name}: {proc.communicate()[1]}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"{path.name} never appeared")


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the signal was not handled while the query ran")
    return proc.returncode, err


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_collect_all_removes_the_temp_files_and_exits(
    sig: signal.Signals, code: int, tmp_path: Path
) -> None:
    temp, started = tmp_path / ".out.parquet.1.x.tmp", tmp_path / "started"
    proc = start(tmp_path, COLLECT_DRIVER, temp, started)
    wait_for(started, proc)
    # Let the query start: a signal before it would be handled even without the thread.
    time.sleep(0.5)
    proc.send_signal(sig)
    rc, err = finish(proc)
    assert rc == code
    assert err.strip() == f"interrupted by {sig.name}: this run's temporary files were removed"
    assert not temp.exists()


def test_a_signal_inside_a_deferred_block_acts_when_it_ends(tmp_path: Path) -> None:
    temp, inside, go, committed = (tmp_path / n for n in (".t.tmp", "inside", "go", "committed"))
    proc = start(tmp_path, DEFERRED_DRIVER, temp, inside, go, committed)
    wait_for(inside, proc)
    proc.send_signal(signal.SIGTERM)
    go.touch()
    rc, _ = finish(proc)
    assert rc == 143
    assert committed.exists(), "the deferred block ran to its end"
    assert not temp.exists()


def test_registered_paths_are_removed_then_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "x.tmp"
    path.write_bytes(b"x")
    cleanup.register(path)
    assert path in cleanup.owned_paths()
    assert cleanup.remove_owned() == 1
    assert not path.exists() and path not in cleanup.owned_paths()


def test_without_handlers_interruptible_calls_directly() -> None:
    assert cleanup.interruptible(os.getpid) == os.getpid()
