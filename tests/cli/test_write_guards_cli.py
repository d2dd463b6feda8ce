"""Every command that writes refuses a path it must not write, in one line, exit 1,
leaving the inputs byte for byte as they were (issue 15, points 1 and 6)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.generate import generate
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_cli")

AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/ (orders rewritten by polars: the user's own file, not generate's), a run's
    scores.parquet and a history folder with one run."""
    root = tmp_path_factory.mktemp("guards-cli")
    data = root / "data"
    generate(data, orders=2000, seed=1, end=dt.date(2026, 11, 1))
    pl.read_parquet(data / "orders.parquet").write_parquet(data / "orders.parquet")
    segrule.run(
        "taobao-5-tier", root / "scores.parquet", data=data, as_of=AS_OF, history=root / "hist"
    )
    return root


@pytest.fixture
def work(pristine: Path, tmp_path: Path) -> Path:
    """A private copy: a broken guard cannot spoil the other tests' files."""
    return Path(shutil.copytree(pristine, tmp_path / "work"))


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("made-")
    }


RUN = ["run", "taobao-5-tier", "--as-of", AS_OF, "-q"]

#: writer name -> (is it a folder, argv for a target path, given the work folder)
WRITERS: dict[str, tuple[bool, Callable[[Path, str], list[str]]]] = {
    "run --out": (False, lambda w, t: [*RUN, "--data", f"{w}/data", "--out", t]),
    "run --report": (
        False,
        lambda w, t: [*RUN, "--data", f"{w}/data", "--out", f"{w}/made-s.parquet", "--report", t],
    ),
    "run --rejects": (
        True,
        lambda w, t: [*RUN, "--data", f"{w}/data", "--out", f"{w}/made-s.parquet", "--rejects", t],
    ),
    "run --history": (
        True,
        lambda w, t: [*RUN, "--data", f"{w}/data", "--out", f"{w}/made-s.parquet", "--history", t],
    ),
    "diff --changes": (
        False,
        lambda w, t: ["diff", f"{w}/scores.parquet", f"{w}/scores.parquet", "--changes", t],
    ),
    "sweep --out": (
        False,
        lambda w, t: [
            "sweep",
            "taobao-5-tier",
            "--data",
            f"{w}/data",
            "--as-of",
            AS_OF,
            "--param",
            "amount_tier.high=5000,10000",
            "--out",
            t,
        ],
    ),
    "history --out": (False, lambda w, t: ["history", f"{w}/hist", "-c", "C00000001", "-o", t]),
    "report --out": (False, lambda w, t: ["report", f"{w}/scores.parquet", "--out", t]),
    "report --png": (
        True,
        lambda w, t: ["report", f"{w}/scores.parquet", "--out", f"{w}/made-r.html", "--png", t],
    ),
    "generate --out": (True, lambda w, t: ["generate", "--orders", "50", "--out", t]),
}

#: What each writer reads: a file, and a folder holding its inputs.
READS: dict[str, tuple[str, str]] = {
    "diff --changes": ("scores.parquet", "."),
    "history --out": ("hist/as_of=2026-11-01/part.parquet", "hist"),
    "report --out": ("scores.parquet", "."),
    "report --png": ("scores.parquet", "."),
}

#: target name -> (path given the work folder and the writer; words the message holds)
TARGETS: dict[str, Callable[[Path, str], tuple[str, str]]] = {
    "an input": lambda w, writer: (
        f"{w}/{READS.get(writer, ('data/orders.parquet', ''))[0]}",
        "",
    ),
    "a folder holding inputs": lambda w, writer: (
        str((w / READS.get(writer, ("", "data"))[1]).resolve()),
        "",
    ),
    "a FIFO": lambda w, writer: (f"{w}/fifo{_suffix(writer)}", "FIFO"),
    "a folder": lambda w, writer: (f"{w}/emptydir{_suffix(writer)}", "folder"),
    "a path under a file": lambda w, writer: (f"{w}/plain.txt/x{_suffix(writer)}", "plain.txt"),
}


def _suffix(writer: str) -> str:
    # Each writer's file gets an extension it accepts, to get as far as the path check.
    return {"report --out": ".html", "run --report": ".json"}.get(writer, ".csv")


@pytest.mark.parametrize(
    ("writer", "target"),
    # A folder is what a folder writer expects: that pair is no refusal to test.
    [(w, t) for w in WRITERS for t in TARGETS if not (t == "a folder" and WRITERS[w][0])],
)
def test_writer_refuses_target(work: Path, writer: str, target: str) -> None:
    _, argv = WRITERS[writer]
    path, words = TARGETS[target](work, writer)
    if target == "a FIFO":
        os.mkfifo(path)
    if target == "a folder":
        os.mkdir(path)
    if target == "a path under a file":
        (work / "plain.txt").write_text("not a folder")
    before = digest(work)
    result = runner.invoke(app, argv(work, path))
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert result.exit_code == 1, result.output
    assert len(errors) == 1, result.output
    # One line naming the path (or the part of it in the way) and what to do.
    assert (words or Path(path).name) in errors[0], errors[0]
    assert "choose" in errors[0] or "give" in errors[0], errors[0]
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert digest(work) == before
    assert not list(work.glob("made-*")), "refused before any work, nothing else written"
    if target == "a FIFO":
        assert stat.S_ISFIFO(os.stat(path).st_mode)


def test_report_never_turns_a_table_into_a_page(work: Path) -> None:
    # report does not read data/, but data/orders.parquet is still no place for HTML.
    before = digest(work)
    result = runner.invoke(
        app, ["report", f"{work}/scores.parquet", "--out", f"{work}/data/orders.parquet"]
    )
    assert result.exit_code == 1, result.output
    assert "is a Parquet file" in result.output
    assert digest(work) == before


@pytest.fixture
def null_node(tmp_path: Path) -> Path:
    """A private character device with /dev/null's numbers (the real one is shared)."""
    node = tmp_path / "null.csv"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.stat(os.devnull).st_rdev)
    except OSError as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return node


@pytest.mark.parametrize("writer", ["run --out", "run --report", "history --out"])
def test_null_device_writes_nothing_and_stays(work: Path, null_node: Path, writer: str) -> None:
    before = digest(work)
    argv = WRITERS[writer][1](work, str(null_node))
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(null_node).st_mode)
    assert digest(work) == before


def test_generate_replaces_its_own_files_only(work: Path, tmp_path: Path) -> None:
    mine = tmp_path / "gen"
    assert runner.invoke(app, ["generate", "--orders", "50", "--out", str(mine)]).exit_code == 0
    again = runner.invoke(app, ["generate", "--orders", "60", "--out", str(mine)])
    assert again.exit_code == 0, again.output


def test_subprocess_refuses_out_and_rejects_on_the_data_folder(work: Path) -> None:
    exe = Path(sys.executable).parent / "segrule"
    data = work / "data"
    before = digest(work)
    env = dict(os.environ, SEGRULE_DISABLE_PLUGIN_AUTOLOAD="1", COLUMNS="200")
    env.pop("SEGRULE_DEBUG", None)
    for extra, words in (
        (["--out", str(data / "orders.parquet")], "is the orders table"),
        (["--out", str(work / "made-p.parquet"), "--rejects", str(data)], "--rejects"),
    ):
        proc = subprocess.run(
            [str(exe), *RUN, "--data", str(data), *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error:"), proc.stderr
        assert words in proc.stderr
    assert digest(work) == before
