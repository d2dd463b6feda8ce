"""segrule never destroys what it did not write (issue 15, point 1; umask; write errors).

Every test hashes the input files before and after: a refused write must leave them
byte for byte as they were. No test uses the machine's /dev/null: a private node with
its numbers (``os.mknod``) stands in, so a broken guard cannot replace the real one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule import history
from segrule.generate import generate
from segrule.io import cleanup, outpaths
from segrule.io.outpaths import OutputPathError

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = "2026-11-01"
RULES = "taobao-5-tier"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated tables plus two orders with no customer id (so a run has rejects)."""
    out = tmp_path_factory.mktemp("guard-data")
    generate(out, orders=2000, seed=1, end=dt.date(2026, 11, 1))
    orders = pl.read_parquet(out / "orders.parquet")
    bad = orders.head(2).with_columns(
        pl.lit(None, pl.String).alias("customer_id"), pl.col("order_id") + "-bad"
    )
    pl.concat([orders, bad]).write_parquet(out / "orders.parquet")
    return out


@pytest.fixture
def data(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the data folder: a broken guard cannot spoil other tests."""
    return Path(shutil.copytree(pristine, tmp_path / "data"))


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@contextlib.contextmanager
def unchanged(folder: Path) -> Iterator[None]:
    before = digest(folder)
    yield
    assert digest(folder) == before


def run(data: Path, out: Path | str, **kw: object) -> segrule.RunResult:
    return segrule.run(RULES, out, data=data, as_of=AS_OF, **kw)  # type: ignore[arg-type]


def refused(data: Path, out: Path | str, match: str, **kw: object) -> str:
    with unchanged(data), pytest.raises(OutputPathError, match=match) as info:
        run(data, out, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture
def null_node(tmp_path: Path) -> Path:
    """A private character device with /dev/null's numbers."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.stat(os.devnull).st_rdev)
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return node


# -- --out -------------------------------------------------------------------------------
def test_out_onto_an_input_table_is_refused(data: Path) -> None:
    message = refused(data, data / "orders.parquet", "orders table")
    assert str(data / "orders.parquet") in message and "choose another out" in message


def test_out_onto_an_input_through_a_symlink_or_dotdot_is_refused(
    data: Path, tmp_path: Path
) -> None:
    link = tmp_path / "latest.parquet"
    link.symlink_to(data / "customers.parquet")
    refused(data, link, "customers table")
    refused(data, data / "sub" / ".." / "orders.parquet", "orders table")


def test_out_onto_a_table_this_run_does_not_read_is_refused(data: Path) -> None:
    # A file of the --data folder is tomorrow's input even when this rule set skips it.
    (data / "inquiries.parquet").write_bytes((data / "feedback.parquet").read_bytes())
    refused(data, data / "feedback.parquet", "feedback table")


def test_out_onto_the_blacklist_or_a_rule_file_is_refused(data: Path, tmp_path: Path) -> None:
    blacklist = tmp_path / "blacklist.csv"
    blacklist.write_text("customer_id\nC00000001\n")
    rule = tmp_path / "rules.yaml"
    rule.write_text("extends: taobao-5-tier\n")
    with unchanged(tmp_path):
        with pytest.raises(OutputPathError, match="blacklist"):
            run(data, blacklist, blacklist=blacklist)
        with pytest.raises(OutputPathError, match="rule file"):
            segrule.run(rule, rule, data=data, as_of=AS_OF, fmt="csv")


def test_out_inside_a_globbed_table_folder_is_refused(data: Path) -> None:
    (data / "parts").mkdir()
    shutil.copy(data / "orders.parquet", data / "parts" / "orders-1.parquet")
    with unchanged(data), pytest.raises(OutputPathError, match="inside"):
        segrule.run(
            RULES,
            data / "parts" / "scores.parquet",
            {"orders": str(data / "parts" / "*.parquet")},
            data=data,
            as_of=AS_OF,
        )


def test_out_that_is_a_folder_or_under_a_file_is_refused(data: Path, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    refused(data, tmp_path / "folder", "is a folder; give a file name")
    (tmp_path / "plain").write_text("x")
    refused(data, tmp_path / "plain" / "scores.parquet", "not a folder; choose a path in a folder")


def test_out_onto_a_fifo_or_socket_is_refused_and_left_alone(data: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)
    refused(data, fifo, "FIFO")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    sock_path = tmp_path / "s.csv"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        refused(data, sock_path, "socket")
    assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)


def test_out_onto_another_device_is_refused(data: Path, tmp_path: Path) -> None:
    zero = tmp_path / "zero.parquet"
    try:
        os.mknod(zero, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    except OSError as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    refused(data, zero, "device")
    assert stat.S_ISCHR(os.stat(zero).st_mode)


@pytest.mark.parametrize("fmt", [None, "parquet", "csv", "ipc", "ndjson"])
def test_null_device_computes_and_keeps_the_node(
    data: Path, null_node: Path, fmt: str | None
) -> None:
    with unchanged(data):
        result = run(data, null_node, fmt=fmt)
    assert result.rows == 200
    assert stat.S_ISCHR(os.stat(null_node).st_mode)
    assert not [p for p in null_node.parent.iterdir() if p.name.startswith(".null.")]


# -- --report (other outputs), overlaps --------------------------------------------------
def test_report_onto_an_input_is_refused_before_the_run(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.parquet"
    refused(
        data,
        out,
        "--report .*customers table",
        other_outputs={"--report": data / "customers.parquet"},
    )
    assert not out.exists()


def test_outputs_may_not_overlap(data: Path, tmp_path: Path) -> None:
    refused(data, tmp_path / "rej" / "x.parquet", "overlap", rejects=tmp_path / "rej")
    same = tmp_path / "same.parquet"
    refused(data, same, "overlap", other_outputs={"--report": same})


# -- --rejects ---------------------------------------------------------------------------
def test_rejects_into_the_data_folder_is_refused(data: Path) -> None:
    refused(data, data.parent / "scores.parquet", "table, which this command reads", rejects=data)
    refused(data, data.parent / "scores.parquet", "rejects", rejects=data / "orders.parquet")


def test_rejects_into_a_foreign_folder_is_refused(data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(b"the user's own file")
    with unchanged(folder):
        message = refused(data, tmp_path / "scores.parquet", "did not write", rejects=folder)
    assert "(notes.txt) and no .segrule-rejects marker" in message
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_rejects_folder_is_marked_and_only_marked_files_are_touched(
    data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "rejects"
    result = run(data, tmp_path / "scores.parquet", rejects=folder)
    assert result.rejects == {"orders": 2}
    marker = json.loads((folder / outpaths.REJECTS_MARKER).read_text())
    assert marker["files"] == ["orders.parquet"]
    # A file of the user's beside them is never touched by later runs.
    (folder / "notes.txt").write_text("keep me")
    run(data, tmp_path / "scores.parquet", rejects=folder)
    assert (folder / "notes.txt").read_text() == "keep me"
    # With clean data the old rejects (segrule's) go, the user's file stays.
    clean = tmp_path / "clean"
    shutil.copytree(data, clean)
    pl.read_parquet(data / "orders.parquet").drop_nulls("customer_id").write_parquet(
        clean / "orders.parquet"
    )
    assert run(clean, tmp_path / "scores.parquet", rejects=folder).rejects == {}
    assert sorted(p.name for p in folder.iterdir()) == [outpaths.REJECTS_MARKER, "notes.txt"]


def test_rejects_never_replaces_a_table_file_the_marker_does_not_list(
    data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "rejects"
    folder.mkdir()
    (folder / outpaths.REJECTS_MARKER).write_text('{"files": ["../escape.parquet"]}')
    (folder / "orders.parquet").write_bytes(b"not segrule's")
    (tmp_path / "escape.parquet").write_bytes(b"outside")
    with (
        unchanged(folder),
        unchanged(tmp_path / "data"),
        pytest.raises(OutputPathError, match=r"not listed in its \.segrule-rejects"),
    ):
        run(data, tmp_path / "scores.parquet", rejects=folder)
    assert (tmp_path / "escape.parquet").read_bytes() == b"outside"


# -- --history ---------------------------------------------------------------------------
def test_history_into_the_data_folder_or_a_foreign_folder_is_refused(
    data: Path, tmp_path: Path
) -> None:
    refused(data, tmp_path / "scores.parquet", "history .*holds", history=data)
    foreign = tmp_path / "hist"
    foreign.mkdir()
    (foreign / "README.md").write_text("mine")
    refused(data, tmp_path / "scores.parquet", "only as_of=", history=foreign)
    assert not (tmp_path / "scores.parquet").exists()
    with pytest.raises(OutputPathError, match="only as_of="):
        history.write_partition(foreign, dt.datetime(2026, 11, 1), pl.DataFrame())


# -- write failures ----------------------------------------------------------------------
@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Temporary files that are symbolic links to /dev/full: polars' real ENOSPC."""
    real = tempfile.mkstemp

    def mkstemp(*args: object, **kw: object) -> tuple[int, str]:
        fd, name = real(*args, **kw)  # type: ignore[call-overload]
        os.unlink(name)
        os.symlink("/dev/full", name)
        return fd, name

    monkeypatch.setattr(cleanup.tempfile, "mkstemp", mkstemp)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".arrow", ".ndjson"])
def test_full_disk_is_one_line_and_leaves_nothing(
    data: Path, tmp_path: Path, full_disk: None, suffix: str
) -> None:
    out = tmp_path / "out" / f"scores{suffix}"
    out.parent.mkdir()
    out.write_bytes(b"previous")
    message = refused(data, out, "no space left on device")
    assert message.startswith(f"cannot write {out}: ") and "(errno 28)" in message
    assert "free space or choose another out" in message
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    assert out.read_bytes() == b"previous"


@pytest.mark.parametrize(
    "raised",
    [
        # what polars 2.1 raised writing to /dev/full, Parquet and CSV/IPC/NDJSON
        pl.exceptions.ComputeError(
            "parquet: File out of specification: underlying IO error: No space left on "
            "device (os error 28)"
        ),
        OSError(errno.ENOSPC, "No space left on device (os error 28)"),
    ],
)
def test_the_writers_own_error_number_is_used(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: Exception
) -> None:
    def collect_all(*args: object, **kw: object) -> None:
        raise raised

    monkeypatch.setattr(pl, "collect_all", collect_all)
    out = tmp_path / "o" / "scores.parquet"
    message = refused(data, out, "no space left on device")
    assert message.startswith(f"cannot write {out}: ") and "(errno 28)" in message
    assert list(out.parent.iterdir()) == []


def test_read_only_file_system_is_one_line(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*args: object, **kw: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(cleanup.tempfile, "mkstemp", read_only)
    message = refused(data, tmp_path / "scores.csv", "read-only file system")
    assert "(errno 30)" in message and "choose another out" in message


@pytest.mark.parametrize(
    ("folder", "reason"), [("/proc", "does not accept new files"), ("/sys", "")]
)
def test_virtual_file_systems_are_one_line(data: Path, folder: str, reason: str) -> None:
    # Root may write anywhere chmod allows; /proc and /sys refuse new files even to root.
    message = refused(data, f"{folder}/segrule-scores.csv", f"cannot write {folder}/")
    assert reason in message


def test_failed_rename_leaves_no_temp_file(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rename(src: object, dst: object) -> None:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(outpaths.os, "replace", no_rename)
    out = tmp_path / "o" / "scores.parquet"
    refused(data, out, "permission denied .*fix its permissions")
    assert list(out.parent.iterdir()) == []


# -- umask -------------------------------------------------------------------------------
@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_outputs_follow_the_umask(data: Path, tmp_path: Path, umask_027: None) -> None:
    out = tmp_path / "scores.parquet"
    run(data, out, rejects=tmp_path / "rej", history=tmp_path / "hist")
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    assert mode(out) == 0o640
    assert mode(tmp_path / "rej") == 0o750
    assert mode(tmp_path / "rej" / "orders.parquet") == 0o640
    assert mode(tmp_path / "rej" / outpaths.REJECTS_MARKER) == 0o640
    partition = tmp_path / "hist" / "as_of=2026-11-01"
    assert mode(partition) == 0o750
    assert mode(partition / "part.parquet") == 0o640
    text = outpaths.write_text(tmp_path / "r" / "report.json", "{}", what="--report")
    assert mode(text) == 0o640 and mode(text.parent) == 0o750


# -- generate ----------------------------------------------------------------------------
def test_generate_replaces_only_what_it_generated(data: Path, tmp_path: Path) -> None:
    # data/orders.parquet was rewritten by polars above: not generate's any more.
    with unchanged(data), pytest.raises(OutputPathError, match="did not write"):
        generate(data, orders=50, seed=2)
    again = tmp_path / "gen"
    generate(again, orders=50, seed=2)
    first = digest(again)
    generate(again, orders=60, seed=2)  # its own files: replaced
    assert digest(again) != first


def test_generate_into_a_file_or_fifo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        generate(tmp_path / "plain", orders=50)
    folder = tmp_path / "g"
    folder.mkdir()
    os.mkfifo(folder / "orders.parquet")
    with pytest.raises(OutputPathError, match="FIFO"):
        generate(folder, orders=50)
    assert stat.S_ISFIFO(os.stat(folder / "orders.parquet").st_mode)
