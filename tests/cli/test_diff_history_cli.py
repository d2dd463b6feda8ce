"""`segrule diff` and `segrule history` (and `run --history`) through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGRULE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SEGRULE_DEBUG", raising=False)


HYSTERESIS = """
extends: taobao-5-tier
hysteresis:
  tier:
    order: [super_vip, vip, advanced, normal]
    downgrade_after: 2
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated data, a rule file with hysteresis, three monthly runs with a history."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
        mp.setenv("COLUMNS", "200")
        return _make_runs(tmp_path_factory.mktemp("diffcli"))


def _make_runs(root: Path) -> dict[str, Path]:
    data = root / "data"
    r = runner.invoke(app, ["generate", "--orders", "3000", "--seed", "5", "--out", str(data)])
    assert r.exit_code == 0, r.output
    rule = root / "held.yaml"
    rule.write_text(HYSTERESIS)
    paths = {"data": data, "rule": rule, "hist": root / "hist"}
    for month in ("09", "10", "11"):
        out = root / f"scores-{month}.parquet"
        r = runner.invoke(
            app,
            [
                "run",
                str(rule),
                "--data",
                str(data),
                "--as-of",
                f"2026-{month}-01",
                "--out",
                str(out),
                "--history",
                str(paths["hist"]),
            ],
        )
        assert r.exit_code == 0, r.output
        assert f"added history partition {paths['hist']}/as_of=2026-{month}-01" in r.output
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
        ["diff", str(runs["10"]), str(runs["11"]), "-c", "tier", "--changes", str(changes)],
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
    r = runner.invoke(app, [*args, "--as-of", "2026-11-01", "--json", "-c", "amount_tier"])
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
    r = runner.invoke(app, ["diff", str(runs["10"]), str(runs["11"]), "-c", "teir"])
    _one_line_error(r, 1, "scores-10.parquet", "column 'teir'", "did you mean 'tier'")
    r = runner.invoke(app, ["diff", str(runs["10"]), str(runs["11"]), "--lang", "fr"])
    _one_line_error(r, 2, "--lang 'fr'")
    r = runner.invoke(
        app, ["diff", str(runs["10"]), str(runs["11"]), "--changes", str(tmp_path / "c.txt")]
    )
    _one_line_error(r, 2, "c.txt", ".parquet, .csv or .ndjson")
    r = runner.invoke(app, ["diff", "no-such-preset", str(runs["11"])])
    _one_line_error(r, 1, "'no-such-preset' is neither a rule file nor a preset")


def test_history_commands(runs: dict[str, Path], tmp_path: Path) -> None:
    hist = runs["hist"]
    r = runner.invoke(app, ["history", str(hist), "--column", "tier"])
    assert r.exit_code == 0, r.output
    assert "tier: customers per label and run" in r.output
    assert "2026-09-01" in r.output and "2026-11-01" in r.output
    events = tmp_path / "events.parquet"
    r = runner.invoke(app, ["history", str(hist), "--events", "-c", "tier", "--out", str(events)])
    assert r.exit_code == 0, r.output
    ev = pl.read_parquet(events)
    assert set(ev["new_as_of"]) == {"2026-10-01T00:00:00", "2026-11-01T00:00:00"}
    assert set(ev["column"]) == {"tier"}
    cid = ev["customer_id"][0]
    r = runner.invoke(app, ["history", str(hist), "--customer", cid, "-c", "tier"])
    assert r.exit_code == 0, r.output
    assert cid in r.output and "tier__computed" in r.output


def test_history_bad_inputs(runs: dict[str, Path], tmp_path: Path) -> None:
    r = runner.invoke(app, ["history", str(tmp_path / "none")])
    _one_line_error(r, 1, "none' holds no runs", "segrule run ... --history DIR")
    r = runner.invoke(app, ["history", str(runs["hist"]), "-c", "teir"])
    _one_line_error(r, 1, "no label column 'teir'", "did you mean 'tier'")
    r = runner.invoke(
        app,
        [
            "run",
            str(runs["rule"]),
            "--data",
            str(runs["data"]),
            "--as-of",
            "2026-10-15",
            "--out",
            str(tmp_path / "x.parquet"),
            "--history",
            str(runs["hist"]),
        ],
    )
    _one_line_error(r, 1, "already holds later runs (as_of=2026-11-01)")
    assert not (tmp_path / "x.parquet").exists()


def test_diff_as_a_real_process(runs: dict[str, Path]) -> None:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "segrule_cli", "diff", str(runs["10"]), str(runs["11"]), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["new"]["as_of"] == "2026-11-01T00:00:00"
    proc = subprocess.run(
        [sys.executable, "-m", "segrule_cli", "history", str(runs["hist"]), "-c", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "no label column 'nope'" in proc.stderr
