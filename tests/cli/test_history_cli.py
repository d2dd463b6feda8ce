"""`segrule run --history` and `segrule history` through CliRunner."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()

RULES = """extends: taobao-5-tier
hysteresis:
  tier:
    order: [super_vip, vip, advanced, normal]
    downgrade_after: 2
"""


pytestmark = pytest.mark.usefixtures("isolated_cli")


def test_run_with_history_then_read_it_back(tmp_path: Path, data_dir: Path) -> None:
    data = data_dir
    rules = tmp_path / "held.yaml"
    rules.write_text(RULES)
    hist = tmp_path / "hist"
    for as_of in ("2026-10-01", "2026-10-15", "2026-11-01"):
        args = ["run", str(rules), "--data", str(data), "--as-of", as_of]
        result = runner.invoke(
            app, [*args, "--out", str(tmp_path / "o.parquet"), "-q", "--history", str(hist)]
        )
        assert result.exit_code == 0, result.output
        assert f"as_of={as_of}" in result.output
    listed = runner.invoke(app, ["history", str(hist)])
    assert listed.exit_code == 0 and listed.output.count("T00:00:00") == 3
    events = tmp_path / "events.ndjson"
    result = runner.invoke(
        app, ["history", str(hist), "--events", "--column", "tier", "--out", str(events)]
    )
    assert result.exit_code == 0, result.output
    feed = pl.read_ndjson(events)
    assert feed.columns[:8] == [
        "customer_id",
        "column",
        "event",
        "label",
        "old_label",
        "new_label",
        "old_as_of",
        "new_as_of",
    ]  # the shape of `segrule diff --changes`
    assert {"old_monetary_365d", "new_monetary_365d"} <= set(feed.columns)
    assert feed.height > 0 and (feed["old_label"] != feed["new_label"]).all()
    cid = feed["customer_id"][0]
    one = runner.invoke(app, ["history", str(hist), "--customer", cid, "--column", "tier"])
    assert one.exit_code == 0, one.output
    # Midnight as-ofs read as dates, one row per run.
    for at in ("2026-10-01", "2026-10-15", "2026-11-01"):
        assert one.output.count(at) == 1, one.output
    assert "00:00:00" not in one.output
    early = runner.invoke(
        app,
        [
            "run",
            str(rules),
            "--data",
            str(data),
            "--as-of",
            "2026-10-02",
            "--out",
            str(tmp_path / "x.parquet"),
            "--history",
            str(hist),
        ],
    )
    assert early.exit_code == 2 and "has runs up to 2026-11-01" in early.output
    missing = runner.invoke(app, ["history", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "no runs found" in missing.output


def test_history_tables_fit_a_narrow_terminal(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns a customer's runs are turned (a row per column, a column per run)
    and the events keep the runs and labels, naming the columns left out."""
    from segrule_cli import common

    rules = tmp_path / "held.yaml"
    rules.write_text(RULES)
    hist = tmp_path / "hist"
    for as_of in ("2026-10-01", "2026-11-01"):
        args = ["run", str(rules), "--data", str(data_dir), "--as-of", as_of, "-q"]
        r = runner.invoke(
            app, [*args, "--out", str(tmp_path / "o.parquet"), "--history", str(hist)]
        )
        assert r.exit_code == 0, r.output
    monkeypatch.setattr(common.console, "width", 80)
    feed = tmp_path / "events.parquet"
    r = runner.invoke(
        app, ["history", str(hist), "--events", "--column", "tier", "--out", str(feed)]
    )
    assert r.exit_code == 0, r.output
    cid = pl.read_parquet(feed)["customer_id"][0]
    one = runner.invoke(app, ["history", str(hist), "--customer", cid])
    assert one.exit_code == 0, one.output
    lines = one.output.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in one.output
    header = next(line for line in lines if "2026-10-01" in line)
    assert "2026-11-01" in header  # the runs are the columns
    for column in ("lifecycle", "tier", "tier__computed", "monetary_365d"):
        assert any(line.split("│")[1].strip() == column for line in lines if "│" in line), column
    events = runner.invoke(app, ["history", str(hist), "--events", "--column", "tier"])
    assert events.exit_code == 0, events.output
    assert max(len(line) for line in events.output.splitlines()) <= 80
    for name in ("customer_id", "old_as_of", "new_as_of", "event", "old_label", "new_label"):
        assert name in events.output, name
    assert "not shown: old_monetary_365d, new_monetary_365d" in events.output.replace("\n", " ")
