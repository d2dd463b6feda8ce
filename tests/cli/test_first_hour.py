"""The first hour (issue 18, point 6): what a new user types works as printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "segrule"


def _shell_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell: the venv is not on PATH, and not started by uv run."""
    venv_bin = str(EXE.parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env = {
        k: v for k, v in os.environ.items() if k not in ("UV_RUN_RECURSION_DEPTH", "VIRTUAL_ENV")
    }
    return {**env, "PATH": path, "SEGRULE_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "300"}


def test_the_demos_suggestions_run_as_printed_in_a_shell_without_segrule(tmp_path: Path) -> None:
    env = _shell_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [str(EXE), "demo", "--orders", "2000", "--lang", "en"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith("Try:"))
    suggested = [x.strip() for x in lines[start + 1 :] if x.startswith("  ")]
    assert len(suggested) == 3, done.stdout
    for command in suggested:
        assert not command.startswith("segrule "), f"segrule is not on this PATH: {command}"
        ran = subprocess.run(
            command, shell=True, capture_output=True, text=True, env=env, cwd=work, timeout=300
        )
        assert ran.returncode == 0, f"{command}: {ran.stderr}"
    assert (work / "out.csv").exists() and (work / "report.html").exists()
    assert "source .venv/bin/activate" in done.stdout


def test_the_demo_says_segrule_when_the_path_finds_it(tmp_path: Path) -> None:
    env = {**_shell_env(tmp_path), "PATH": f"{EXE.parent}{os.pathsep}/usr/bin:/bin"}
    done = subprocess.run(
        [str(EXE), "demo", "--orders", "2000", "--lang", "en"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "\n  segrule run taobao-5-tier" in done.stdout
    assert "source .venv/bin/activate" not in done.stdout


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    done = subprocess.run(
        [str(EXE), "generate", "--orders", "2000", "--seed", "3", "--out", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return data


def test_progress_and_verbose_go_to_stderr_and_json_stays_clean(tmp_path: Path) -> None:
    import json

    data = _data(tmp_path)
    run = [str(EXE), "run", "taobao-5-tier", "--data", str(data), "--as-of", "2026-11-01"]
    for month in ("10", "11"):
        done = subprocess.run(
            [*run[:-1], f"2026-{month}-01", "--out", str(tmp_path / f"s{month}.parquet"), "-q"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    diff = ["diff", str(tmp_path / "s10.parquet"), str(tmp_path / "s11.parquet"), "--json"]
    # Progress asked for in a non-terminal: on stderr, and stdout is still one JSON document.
    shown = subprocess.run(
        [str(EXE), "--progress", *diff], capture_output=True, text=True, timeout=300
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["columns"]
    # -v: what each phase does, with the time, on stderr only.
    verbose = subprocess.run(
        [str(EXE), "-v", *diff, "--changes", str(tmp_path / "moves.ndjson")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verbose.returncode == 0, verbose.stderr
    assert json.loads(verbose.stdout)["columns"]
    assert "s] comparing lifecycle" in verbose.stderr
    assert "writing the customers who moved to" in verbose.stderr
    ran = subprocess.run(
        [str(EXE), "-v", *run[1:], "--out", str(tmp_path / "v.parquet"), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "compiling the rule sets" in ran.stderr and "reading customers" in ran.stderr
    assert "segrule:" not in ran.stdout
    # Without -v, and not a terminal: nothing but the command's own output.
    quiet = subprocess.run([str(EXE), *diff], capture_output=True, text=True, timeout=300)
    assert quiet.stderr == "" and json.loads(quiet.stdout)["columns"]
    report = subprocess.run(
        [
            str(EXE),
            "-v",
            "report",
            str(tmp_path / "s11.parquet"),
            "--out",
            str(tmp_path / "r.html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    assert "drawing chart 1 of" in report.stderr


def test_run_summary_speaks_chinese_with_lang_zh(tmp_path: Path) -> None:
    from segrule_cli.app import app
    from typer.testing import CliRunner

    data = _data(tmp_path)
    args = ["run", "taobao-5-tier", "--data", str(data), "--as-of", "2026-11-01"]
    zh = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a.parquet"), "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    for word in ("客户数", "占比", "收入占比", "已写入", "客户等级", "普通客户"):
        assert word in zh.output, word
    for word in ("share", "wrote", "compile"):
        assert word not in zh.output.replace(str(tmp_path), ""), word
    en = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b.parquet")])
    assert "customers" in en.output and "客户数" not in en.output


@pytest.mark.parametrize("umask", [0o002, 0o027])
def test_outputs_and_folders_follow_the_umask(tmp_path: Path, umask: int) -> None:
    import stat

    def run(*args: str) -> None:
        done = subprocess.run(
            [str(EXE), *args],
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=lambda: os.umask(umask),
            env={**os.environ, "SEGRULE_CACHE_DIR": str(tmp_path / "cache")},
        )
        assert done.returncode == 0, done.stderr

    data = tmp_path / "new" / "data"
    run("generate", "--orders", "1500", "--seed", "2", "--out", str(data))
    base = ["taobao-5-tier", "--data", str(data)]
    run("run", *base, "--as-of", "2026-10-01", "--out", str(tmp_path / "o" / "old.parquet"), "-q")
    run(
        "run",
        *base,
        "--as-of",
        "2026-11-01",
        "--out",
        str(tmp_path / "o" / "new.parquet"),
        "--rejects",
        str(tmp_path / "rej"),
        "--report",
        str(tmp_path / "r" / "run.json"),
        "-q",
    )
    run(
        "diff",
        str(tmp_path / "o" / "old.parquet"),
        str(tmp_path / "o" / "new.parquet"),
        "--changes",
        str(tmp_path / "moves" / "m.ndjson"),
    )
    run(
        "report",
        str(tmp_path / "o" / "new.parquet"),
        "--out",
        str(tmp_path / "h" / "r.html"),
        "--png",
        str(tmp_path / "charts"),
    )
    files, folders = 0o666 & ~umask, 0o777 & ~umask
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    for folder in (data, tmp_path / "rej", tmp_path / "charts", tmp_path / "moves"):
        assert mode(folder) == folders, folder
    written = [
        *data.glob("*.parquet"),
        tmp_path / "o" / "new.parquet",
        tmp_path / "r" / "run.json",
        tmp_path / "moves" / "m.ndjson",
        tmp_path / "h" / "r.html",
        *(tmp_path / "charts").glob("*.png"),
        *(tmp_path / "rej").iterdir(),
    ]
    assert len(written) > 10
    wrong = {str(p.relative_to(tmp_path)): oct(mode(p)) for p in written if mode(p) != files}
    assert not wrong, f"not {oct(files)}: {wrong}"
