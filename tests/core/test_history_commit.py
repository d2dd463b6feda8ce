"""The output and its history partition commit together (issue 15, point 2).

A run with ``history=`` writes the partition to a temporary file first, then a journal,
renames the output, then the partition: a failure before the output rename leaves both
as they were, a kill between the renames is completed by the next read or write, stale
temporary files of dead writers are removed, concurrent writers never fail and
partitions are byte-identical between runs.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule import history
from segrule.errors import DataError
from segrule.generate import generate
from segrule.io.manifest import read_manifest

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

T1, T2 = dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1)
PRESET = "taobao-5-tier"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("commit-data")
    generate(out, orders=3000, seed=5, end=dt.date(2026, 11, 1))
    return out


def output_as_of(path: Path) -> str:
    manifest = read_manifest(path)
    assert manifest is not None
    return str(manifest["as_of"])


def leftovers(*folders: Path) -> list[str]:
    """Hidden files beside the output and in the history (the lock file excepted)."""
    return sorted(
        p.name for f in folders for p in f.glob(".*") if p.is_dir() or p.name != history.LOCK
    )


@pytest.fixture
def first_run(data: Path, tmp_path: Path) -> tuple[Path, Path, bytes, bytes]:
    """A run at T1: output and history. Returns both paths and their bytes."""
    out, hist = tmp_path / "out" / "scores.parquet", tmp_path / "hist"
    segrule.run(PRESET, out, data=data, as_of=T1, history=hist)
    part = hist / history.partition_name(T1) / history.PART
    return out, hist, out.read_bytes(), part.read_bytes()


def test_partitions_are_byte_identical_between_runs(data: Path, tmp_path: Path) -> None:
    parts = []
    for name in ("a", "b"):
        hist = tmp_path / name
        segrule.run(PRESET, tmp_path / f"{name}.parquet", data=data, as_of=T1, history=hist)
        parts.append((hist / history.partition_name(T1) / history.PART).read_bytes())
    segrule.run(PRESET, tmp_path / "c.parquet", data=data, as_of=T1, history=tmp_path / "a")
    parts.append((tmp_path / "a" / history.partition_name(T1) / history.PART).read_bytes())
    assert parts[0] == parts[1] == parts[2]
    # written sorted by customer_id whatever order the frame came in
    frame = pl.read_parquet(tmp_path / "a" / history.partition_name(T1) / history.PART)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    written = history.write_partition(tmp_path / "d", T1, shuffled)
    assert written.read_bytes() == parts[0]


# -- kills between the renames: a driver process killed at a fault point -------------
DRIVER = """
import os, signal, sys
import segrule
from segrule import history

point, data, out, hist, as_of = sys.argv[1:]


def crash(at: str) -> None:
    if at == point:
        os.kill(os.getpid(), signal.SIGKILL)


history._fault = crash
segrule.run("taobao-5-tier", out, data=data, as_of=as_of, history=hist)
"""


def run_killed_at(point: str, data: Path, out: Path, hist: Path, tmp_path: Path) -> int:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    args = [sys.executable, str(driver), point, str(data), str(out), str(hist), T2.isoformat()]
    env = {**os.environ, "SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(args, env=env, capture_output=True, check=False).returncode


@pytest.mark.parametrize(
    ("point", "committed"),
    [("after-journal", False), ("after-output-rename", True), ("after-partition-rename", True)],
)
def test_a_kill_during_the_commit_is_recovered_by_the_next_read(
    point: str,
    committed: bool,
    first_run: tuple[Path, Path, bytes, bytes],
    data: Path,
    tmp_path: Path,
) -> None:
    out, hist, old_out, old_part = first_run
    assert run_killed_at(point, data, out, hist, tmp_path) == -9
    # What the kill left: the journal of the commit it cut.
    assert any(n.endswith(".commit") for n in leftovers(hist)), leftovers(hist)
    # The next read completes (or rolls back) the commit: output and history agree.
    runs = [at for at, _ in history.partitions(hist)]
    if committed:
        assert output_as_of(out) == T2.isoformat()
        assert runs == [T1, T2]
    else:
        assert out.read_bytes() == old_out
        assert runs == [T1]
    assert (hist / history.partition_name(T1) / history.PART).read_bytes() == old_part
    assert leftovers(out.parent, hist) == []


def test_a_run_after_a_kill_continues_from_the_recovered_partition(
    first_run: tuple[Path, Path, bytes, bytes], data: Path, tmp_path: Path
) -> None:
    out, hist, _, _ = first_run
    assert run_killed_at("after-output-rename", data, out, hist, tmp_path) == -9
    later = T2 + dt.timedelta(days=7)
    segrule.run(PRESET, out, data=data, as_of=later, history=hist)
    assert [at for at, _ in history.partitions(hist)] == [T1, T2, later]
    assert leftovers(out.parent, hist) == []


# -- failures before the output rename ------------------------------------------------
def fail_when(
    monkeypatch: pytest.MonkeyPatch, name: str, code: int, hit: Callable[[str], bool]
) -> None:
    """Make ``os.<name>`` raise OSError(code) for the paths (the source of a rename) for
    which ``hit(file name)`` is true: a read-only or full history folder, since the tests
    run as root and chmod does not stop root."""
    real = getattr(os, name)

    def failing(path: str | Path, *args: object, **kwargs: object) -> object:
        if hit(Path(path).name):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, name, failing)


def partition_temp(name: str) -> bool:
    return name.startswith(".as_of=") and name.endswith(".tmp")


def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        # what polars raises when the disk fills during write_parquet
        raise pl.exceptions.ComputeError(
            "parquet: File out of specification: underlying IO error: No space left on "
            "device (os error 28)"
        )

    monkeypatch.setattr(pl.DataFrame, "write_parquet", no_space)


@pytest.mark.parametrize(
    ("make_it_fail", "said"),
    [
        (lambda mp: fail_when(mp, "open", errno.EROFS, partition_temp), "Read-only file system"),
        (full_disk, "No space left on device"),
        (
            lambda mp: fail_when(mp, "open", errno.ENOSPC, lambda n: n.endswith(".commit")),
            "No space left on device",
        ),
        (
            lambda mp: fail_when(mp, "open", errno.EROFS, lambda n: n == history.LOCK),
            "Read-only file system",
        ),
    ],
    ids=["read-only", "full-at-partition", "full-at-journal", "lock"],
)
def test_a_history_that_cannot_be_written_leaves_the_output_as_it_was(
    make_it_fail: object,
    said: str,
    first_run: tuple[Path, Path, bytes, bytes],
    data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, hist, old_out, old_part = first_run
    make_it_fail(monkeypatch)  # type: ignore[operator]
    with pytest.raises(DataError) as err:
        segrule.run(PRESET, out, data=data, as_of=T2, history=hist)
    message = str(err.value)
    assert "\n" not in message
    assert f"history {hist}" in message and said in message
    assert f"the output {out} was not replaced" in message
    monkeypatch.undo()
    assert out.read_bytes() == old_out
    assert [at for at, _ in history.partitions(hist)] == [T1]
    assert (hist / history.partition_name(T1) / history.PART).read_bytes() == old_part
    assert leftovers(out.parent, hist) == []


def test_a_failed_partition_rename_after_the_output_is_completed_later(
    first_run: tuple[Path, Path, bytes, bytes], data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, hist, _, _ = first_run
    fail_when(monkeypatch, "replace", errno.EIO, partition_temp)
    with pytest.raises(DataError, match="completes it"):
        segrule.run(PRESET, out, data=data, as_of=T2, history=hist)
    monkeypatch.undo()
    assert output_as_of(out) == T2.isoformat()
    assert [at for at, _ in history.partitions(hist)] == [T1, T2]
    assert leftovers(out.parent, hist) == []


# -- stale temporary files ------------------------------------------------------------
def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_temporary_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    history.write_partition(hist, T1, pl.DataFrame({"customer_id": ["a"], "tier": ["vip"]}))
    dead, live = dead_pid(), os.getppid()
    stale = [
        f".as_of=2026-11-01.{dead}.0a1b2c.tmp",  # this version's partition temp
        ".as_of=2026-11-01.k3j4h5g6",  # mkdtemp folder of older versions (no pid)
        f".as_of=2026-11-01.old.{dead}",  # the replaced partition of older versions
    ]
    kept = [f".as_of=2026-11-01.{live}.0a1b2c.tmp", ".as_of=2026-11-01.fresh123"]
    for name in stale + kept:
        if name.endswith(".tmp"):
            (hist / name).write_bytes(b"partial")
        else:
            (hist / name).mkdir()
            (hist / name / "part.parquet").write_bytes(b"partial")
    old = dt.datetime.now().timestamp() - 2 * history.LEGACY_AGE_S
    os.utime(hist / stale[1], (old, old))
    assert [at for at, _ in history.partitions(hist)] == [T1]  # a read cleans up
    assert leftovers(hist) == sorted(kept)


# -- concurrent writers ---------------------------------------------------------------
def test_concurrent_writers_never_fail_and_leave_whole_partitions(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    writers, rounds = 4, 100
    days = [T1, T2]
    frames = {
        (w, r): pl.DataFrame({"customer_id": [f"c{w}", f"d{r}"], "writer": [w, w], "round": [r, r]})
        for w in range(writers)
        for r in range(rounds)
    }
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(w: int) -> None:
        start.wait()
        for r in range(rounds):
            try:
                # writers 0 and 1 share an as-of each round, 2 and 3 the other one
                history.write_partition(hist, days[(w + r) % 2], frames[(w, r)])
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    parts = history.partitions(hist)
    assert [at for at, _ in parts] == days
    for _, path in parts:
        got = pl.read_parquet(path)
        w, r = got["writer"][0], got["round"][0]
        assert got.equals(frames[(w, r)])
    assert leftovers(hist) == []


def test_a_reader_waits_for_a_commit_in_progress(
    first_run: tuple[Path, Path, bytes, bytes], data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read during a commit (between its renames) must neither see the half-done pair
    nor "recover" the live commit's journal: it waits for the history's lock."""
    out, hist, _, _ = first_run
    seen: list[list[dt.datetime]] = []
    readers: list[threading.Thread] = []

    def read() -> None:
        seen.append([at for at, _ in history.partitions(hist)])

    def between_renames(point: str) -> None:
        if point == "after-output-rename":
            reader = threading.Thread(target=read)
            readers.append(reader)
            reader.start()
            reader.join(timeout=1.0)  # time for a reader that ignores the lock to act

    monkeypatch.setattr(history, "_fault", between_renames)
    segrule.run(PRESET, out, data=data, as_of=T2, history=hist)
    readers[0].join()
    assert seen == [[T1, T2]]
    assert leftovers(out.parent, hist) == []


WRITER = """
import datetime as dt, sys, time
from pathlib import Path
import polars as pl
from segrule import history

hist, writer, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
while not (Path(hist).parent / "go").exists():  # all writers start together
    time.sleep(0.005)
days = [dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1)]
for r in range(rounds):
    frame = pl.DataFrame({"customer_id": [f"c{writer}", f"d{r}"], "writer": writer, "round": r})
    history.write_partition(hist, days[(writer + r) % 2], frame)
"""


def test_concurrent_writer_processes_never_fail(tmp_path: Path) -> None:
    hist, script = tmp_path / "hist", tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    writers, rounds = 4, 100
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(hist), str(w), str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(writers)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == b"ready\n"
    (tmp_path / "go").touch()
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * writers, errors
    parts = history.partitions(hist)
    assert [at for at, _ in parts] == [T1, T2]
    for _, path in parts:
        got = pl.read_parquet(path)
        assert got.height == 2 and got["writer"].n_unique() == 1
    assert leftovers(hist) == []
