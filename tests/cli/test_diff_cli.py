"""`segrule diff` through typer's CliRunner (and once as a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_cli")


@pytest.fixture(scope="module")
def runs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three monthly runs of taobao-5-tier on the shared generated data."""
    root = tmp_path_factory.mktemp("diffcli")
    paths = {"data": data_dir}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
        for month in ("09", "10", "11"):
            out = root / f"scores-{month}.parquet"
            args = ["run", "taobao-5-tier", "--data", str(data_dir), "-q"]
            r = runner.invoke(app, [*args, "--as-of", f"2026-{month}-01", "--out", str(out)])
            assert r.exit_code == 0, r.output
            paths[month] = out
    return paths


def _one_line_error(r: object, code: int, *needles: str) -> None:
    assert r.exit_code == code, r.output  # type: ignore[attr-defined]
    text = r.output.strip()  # type: ignore[attr-defined]
    assert text.startswith("error:"), text
    assert "Traceback" not in text
    flat = " ".join(text.split())
    for n in needles:
        assert n in flat, flat


def test_diff_two_outputs(runs: dict[str, Path], tmp_path: Path) -> None:
    changes = tmp_path / "moves.ndjson"
    r = runner.invoke(
        app,
        ["diff", str(runs["10"]), str(runs["11"]), "--column", "tier", "--changes", str(changes)],
    )
    assert r.exit_code == 0, r.output
    assert "tier · Customer tier  (rows: old, columns: new)" in r.output
    assert "customers moved; revenue = monetary_365d" in r.output
    assert "change events to" in r.output
    events = [json.loads(line) for line in changes.read_text().splitlines()]
    assert events and {e["column"] for e in events} == {"tier"}
    assert {e["event"] for e in events} <= {"left", "entered"}
    assert {"old_monetary_365d", "new_monetary_365d", "old_as_of", "new_as_of"} <= set(events[0])


def test_diff_json_counts_every_customer_once(runs: dict[str, Path]) -> None:
    r = runner.invoke(app, ["diff", str(runs["09"]), str(runs["11"]), "--json", "--lang", "zh"])
    assert r.exit_code == 0, r.output
    record = json.loads(r.output)
    ids = set(pl.read_parquet(runs["09"])["customer_id"]) | set(
        pl.read_parquet(runs["11"])["customer_id"]
    )
    columns = [c["column"] for c in record["columns"]]
    assert columns == [
        "lifecycle",
        "freq_tier",
        "amount_tier",
        "interaction",
        "satisfaction",
        "tier",
    ]
    for col in record["columns"]:
        assert sum(cell["customers"] for cell in col["cells"]) == len(ids)
    tier = record["columns"][-1]
    assert tier["title"] == "客户等级"
    assert any(cell["new_display"] == "普通客户" for cell in tier["cells"])


def test_diff_two_rule_sets_on_data(runs: dict[str, Path], tmp_path: Path) -> None:
    changed = tmp_path / "stricter.yaml"
    changed.write_text(
        "extends: taobao-5-tier\n"
        "segments:\n"
        "  amount_tier:\n"
        "    cases:\n"
        '      - {when: "monetary_365d > 5000", label: high}\n'
        '      - {when: "monetary_365d < 500", label: low}\n'
        "    default: mid\n"
    )
    args = ["diff", "taobao-5-tier", str(changed), "--data", str(runs["data"])]
    r = runner.invoke(app, [*args, "--as-of", "2026-11-01", "--json", "--column", "amount_tier"])
    assert r.exit_code == 0, r.output
    cells = json.loads(r.output)["columns"][0]["cells"]
    moved = {(c["old"], c["new"]) for c in cells if c["old"] != c["new"]}
    assert moved == {("mid", "high")}  # only the lowered threshold moves anyone


def test_diff_bad_inputs(runs: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "missing.parquet"
    r = runner.invoke(app, ["diff", str(missing), str(runs["11"])])
    _one_line_error(r, 1, "OLD", "missing.parquet", "not found")
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    r = runner.invoke(app, ["diff", str(runs["11"]), str(notes)])
    _one_line_error(r, 2, "NEW", "notes.txt", "is neither an output file")
    r = runner.invoke(app, ["diff", str(runs["10"]), str(runs["11"]), "--column", "teir"])
    _one_line_error(r, 1, "scores-10.parquet", "column 'teir'", "did you mean 'tier'")
    r = runner.invoke(app, ["diff", str(runs["10"]), str(runs["11"]), "--lang", "fr"])
    _one_line_error(r, 2, "--lang 'fr'")
    r = runner.invoke(
        app, ["diff", str(runs["10"]), str(runs["11"]), "--changes", str(tmp_path / "c.txt")]
    )
    _one_line_error(r, 2, "c.txt", ".parquet, .csv or .ndjson")
    r = runner.invoke(app, ["diff", "no-such-preset", str(runs["11"])])
    _one_line_error(r, 1, "'no-such-preset' is neither a rule file nor a preset")


def test_diff_as_a_real_process(runs: dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "segrule_cli", "diff", str(runs["10"]), str(runs["11"]), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["new"]["as_of"] == "2026-11-01T00:00:00"
    notes = runs["10"].with_suffix(".txt")
    notes.write_text("x")
    proc = subprocess.run(
        [sys.executable, "-m", "segrule_cli", "diff", str(runs["10"]), str(notes)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "is neither an output file" in proc.stderr


def test_matrix_fits_a_narrow_terminal(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns the tier matrix shows label keys (folded if need be) instead of
    display names cut to '…'; every cell's count is still there."""
    from segrule_cli import common

    monkeypatch.setattr(common.console, "width", 80)
    args = ["diff", str(runs["10"]), str(runs["11"]), "--column", "tier"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    matrix = r.output.split("customers moved")[0]
    assert "…" not in matrix and "Advanced customer" not in matrix
    assert max(len(line) for line in matrix.splitlines()) <= 80
    doc = json.loads(runner.invoke(app, [*args, "--json"]).output)
    cells = doc["columns"][0]["cells"]
    assert cells and all(f"{c['customers']:,}" in matrix for c in cells)


def test_diff_headings_in_chinese(runs: dict[str, Path]) -> None:
    """--lang zh writes the headings in Chinese as well as the labels; the numbers are
    those of the English output."""
    args = ["diff", str(runs["10"]), str(runs["11"]), "--column", "tier"]
    en = runner.invoke(app, args)
    zh = runner.invoke(app, [*args, "--lang", "zh"])
    assert en.exit_code == 0 and zh.exit_code == 0, zh.output
    for text in (
        "(行: 旧, 列: 新)",
        "旧 \\ 新",
        "合计",
        "位客户变化",
        "客户数",
        "原金额",
        "超级VIP",
    ):
        assert text in zh.output, text
    for text in ("rows: old", "total", "customers moved", "revenue old", "Super VIP"):
        assert text not in zh.output and text in en.output, text

    def numbers(text: str) -> list[str]:
        import re

        return re.findall(r"\d[\d,.]*", text.split("\n", 2)[2])  # after the two source lines

    assert numbers(en.output) == numbers(zh.output)
