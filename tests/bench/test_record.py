"""The per-commit benchmark record: one line per commit, --check finds a ratio that grew.

The measurement itself is the side-by-side harness (tested in test_peers.py); here it
is replaced by made-up results, so nothing runs and no time is asserted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from segrule.bench import BenchError
from segrule.bench import record as rec
from segrule.bench.measure import Measurement
from segrule.bench.sidebyside import EngineResult, SizeResult


def results(segrule_wall: float, *, shapes: tuple[str, ...] = rec.SHAPES) -> list[SizeResult]:
    walls = {"segrule": segrule_wall, "duckdb": 1.0, "jobfloor-duckdb": 0.5}
    out = []
    for shape in shapes:
        engines = [
            EngineResult(
                e,
                1_000_000,
                100_000,
                w,
                w * 1.5,
                200 * 2**20,
                w / segrule_wall,
                [Measurement(w, w * 1.5, 200 * 2**20)],
                shape=shape,
            )
            for e, w in walls.items()
        ]
        out.append(SizeResult(1_000_000, 100_000, "d", engines, {}, 0.5, shape=shape))
    return out


def state(revision: str, *changes: str) -> rec.GitState:
    return rec.GitState(
        revision * 40 if len(revision) == 1 else revision, f"commit {revision}", changes
    )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """measure_record and git_state replaced: set ``fake['wall']`` and ``fake['state']``."""
    current: dict[str, Any] = {"wall": 1.2, "state": state("a")}
    monkeypatch.setattr(rec, "measure_record", lambda **kw: results(current["wall"]))
    monkeypatch.setattr(rec, "git_state", lambda folder, record: current["state"])
    return current


def test_a_clean_tree_appends_one_line_per_commit(
    fake: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "record.jsonl"
    assert rec.main(["--record", str(path)]) == 0
    fake["state"] = state("b")
    assert rec.main(["--record", str(path)]) == 0
    fake["wall"] = 1.3
    assert rec.main(["--record", str(path)]) == 0  # b again: its line is replaced
    records = rec.read_records(path)
    assert [r["revision"][0] for r in records] == ["a", "b"]
    assert len(path.read_text().splitlines()) == 2
    line = records[1]
    assert line["clean"] and line["orders"] == 1_000_000 and line["repeat"] == rec.REPEAT
    assert line["ratios_to_duckdb"]["int+shuffled"] == {
        "segrule": 1.3,
        "duckdb": 1.0,
        "jobfloor-duckdb": 0.5,
    }
    assert line["medians"]["default"]["segrule"] == {
        "wall_s": 1.3,
        "cpu_s": 1.95,
        "peak_mib": 200.0,
    }
    assert "CPUs" in line["machine"] and "polars" in line["machine"]
    assert "recorded in" in capsys.readouterr().out


def test_uncommitted_changes_are_measured_not_written(
    fake: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "record.jsonl"
    fake["state"] = state("a", "core/src/segrule/engine/compiler.py")
    assert rec.main(["--record", str(path)]) == 0
    assert not path.exists()
    assert (
        "not written: uncommitted changes (core/src/segrule/engine/compiler.py)"
        in capsys.readouterr().out
    )


def test_check_fails_when_the_ratio_to_duckdb_grew_past_the_threshold(
    fake: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "record.jsonl"
    assert rec.main(["--record", str(path), "--check"]) == 0
    assert "no earlier record of another commit" in capsys.readouterr().out
    fake["state"], fake["wall"] = state("b"), 1.32  # +10 %: within 15 %
    assert rec.main(["--record", str(path), "--check"]) == 0
    out = capsys.readouterr().out
    assert "default: segrule / duckdb 1.200 at aaaaaaaaaa -> 1.320 now (+10.0%)" in out
    fake["state"], fake["wall"] = state("c"), 1.6  # +21 % against b
    assert rec.main(["--record", str(path), "--check"]) == 1
    out = capsys.readouterr().out
    assert "1.320 at bbbbbbbbbb -> 1.600 now (+21.2%)  REGRESSION: more than 15%" in out
    assert "check failed: default, int+shuffled" in out
    assert [r["revision"][0] for r in rec.read_records(path)] == ["a", "b", "c"]  # kept
    # c again: compared with b, not with itself; a looser threshold passes
    assert rec.main(["--record", str(path), "--check", "--threshold", "0.25"]) == 0
    # uncommitted changes on c: compared with c's own record
    fake["state"], fake["wall"] = state("c", "x.py"), 1.6
    assert rec.main(["--record", str(path), "--check"]) == 0
    assert "check against cccccccccc" in capsys.readouterr().out


def test_check_compares_only_like_with_like() -> None:
    base = rec.make_record(
        results(1.0, shapes=("default",)), state=state("a"), machine="m1", repeat=3
    )
    now = rec.make_record(results(2.0), state=state("b"), machine="m2", repeat=3)
    lines, regressions = rec.check(base, now)
    assert regressions == ["default"]
    assert "  int+shuffled: not in the earlier record, not compared" in lines
    assert any("another machine (m1)" in line for line in lines)
    other_size = {**base, "orders": 10_000_000}
    assert rec.base_record([other_size], now) is None


def test_bad_record_files_and_arguments(tmp_path: Path) -> None:
    path = tmp_path / "record.jsonl"
    path.write_text('{"revision": "a"}\nnot json\n')
    with pytest.raises(BenchError, match=r"record.jsonl:2: not a JSON line"):
        rec.read_records(path)
    path.write_text("\n[1, 2]\n")
    with pytest.raises(BenchError, match=r"record.jsonl:2: not a benchmark record"):
        rec.read_records(path)
    with pytest.raises(SystemExit) as info:
        rec.main(["--record", str(path), "--threshold", "15"])
    assert info.value.code == 2


def test_git_state_sees_changes_but_not_the_record(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    record = tmp_path / "benchmarks" / "record.jsonl"
    record.parent.mkdir()
    record.write_text("")
    git("add", ".")
    git("commit", "-q", "-m", "first commit")
    record.write_text(json.dumps({"revision": "x"}) + "\n")
    got = rec.git_state(tmp_path, record)
    assert got.clean and got.subject == "first commit" and len(got.revision) == 40
    (tmp_path / "code.py").write_text("x = 2\n")
    (tmp_path / "new.py").write_text("")
    assert rec.git_state(tmp_path, record).changes == ("code.py", "new.py")
    with pytest.raises(BenchError, match="git checkout"):
        rec.git_state(tmp_path.parent, record)
