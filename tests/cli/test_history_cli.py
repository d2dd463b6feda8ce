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
    assert one.exit_code == 0 and one.output.count("00:00:00") == 3, one.output
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
