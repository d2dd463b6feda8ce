"""`segrule sweep` and `segrule check` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("isolated_cli")


def _common(data_dir: Path) -> list[str]:
    return ["--data", str(data_dir), "--as-of", "2026-11-01"]


def test_sweep_table_and_target(data_dir: Path) -> None:
    r = runner.invoke(
        app,
        [
            "sweep",
            "taobao-5-tier",
            *_common(data_dir),
            "--param",
            "tier.vip=7..10:1",
            "--target",
            "vip=10%",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "tier: customers % · revenue %" in r.output
    assert "closest to tier vip = 10.0%: tier.vip=" in r.output


def test_sweep_json_and_out(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    r = runner.invoke(
        app,
        [
            "sweep",
            "taobao-5-tier",
            *_common(data_dir),
            "--param",
            "amount_tier.high=5000,10000",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["columns"] == ["amount_tier", "tier"]
    assert doc["params"][0]["current"] == 10000
    written = pl.read_csv(out)
    assert written.height == len(doc["rows"])
    per_point = (
        written.filter(pl.col("column") == "tier").group_by("point").agg(pl.col("share").sum())
    )
    assert per_point["share"].round(9).to_list() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("amount_tier.high", "is not NAME=VALUES"),
        ("amount_tier.high=9..1:1", "STOP is below START"),
        ("nope.high=1", "is not a segment with cases"),
    ],
)
def test_sweep_usage_errors_are_one_line(data_dir: Path, param: str, message: str) -> None:
    r = runner.invoke(app, ["sweep", "taobao-5-tier", *_common(data_dir), "--param", param])
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_sweep_grid_cap(data_dir: Path) -> None:
    r = runner.invoke(
        app,
        [
            "sweep",
            "taobao-5-tier",
            *_common(data_dir),
            "--param",
            "tier.vip=1..20:1",
            "--max-grid",
            "10",
        ],
    )
    assert r.exit_code == 2 and "more than 10" in r.output


def test_check_exit_codes(data_dir: Path, tmp_path: Path) -> None:
    clean = runner.invoke(
        app,
        ["check", "value-tiers", *_common(data_dir)],
    )
    assert clean.exit_code == 0, clean.output
    assert "ok: no findings" in clean.output
    rule = tmp_path / "broken.yaml"
    rule.write_text(
        "name: broken\n"
        "segments:\n"
        "  spend_class:\n"
        "    cases:\n"
        "      - {when: 'monetary_365d >= 1000', label: big}\n"
        "      - {when: 'monetary_365d >= 5000', label: huge}\n"
        "    default: small\n"
        "outputs: [customer_id, spend_class]\n"
    )
    broken = runner.invoke(app, ["check", str(rule), *_common(data_dir)])
    assert broken.exit_code == 1, broken.output
    assert "cases shadowed by earlier cases (1)" in broken.output
    as_json = runner.invoke(app, ["check", str(rule), *_common(data_dir), "--json"])
    assert as_json.exit_code == 1
    doc = json.loads(as_json.output)
    assert [f["kind"] for f in doc["findings"]] == ["shadowed"]
    assert doc["findings"][0]["examples"] == sorted(doc["findings"][0]["examples"])


def test_check_order_and_more_options(data_dir: Path) -> None:
    r = runner.invoke(
        app,
        [
            "check",
            "taobao-5-tier",
            *_common(data_dir),
            "--order",
            "tier=super_vip,vip,advanced,normal",
            "--more",
            "order",
            "--spend-more",
            "100",
        ],
    )
    assert r.exit_code in (0, 1), r.output
    assert "monotonicity of tier checked (--order: super_vip > vip > advanced > normal)" in r.output
    bad = runner.invoke(app, ["check", "taobao-5-tier", *_common(data_dir), "--more", "twice"])
    assert bad.exit_code == 2 and "use amount or order" in bad.output


def test_sweep_fits_a_narrow_terminal(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80 columns the six tier labels do not fit 'customers · revenue' cells: the
    revenue share goes on a second line instead of being cut off."""
    from segrule_cli import common

    monkeypatch.setattr(common.console, "width", 80)
    args = ["sweep", "taobao-5-tier", *_common(data_dir), "--param", "tier.vip=7..9:1"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "…" not in r.output
    assert "tier: customers %, revenue % below" in r.output
    assert max(len(line) for line in r.output.splitlines()) <= 80
    doc = json.loads(runner.invoke(app, [*args, "--json"]).output)
    shares = [
        f"{x:.1%}"
        for row in doc["rows"]
        for x in (row["share"], row["revenue_share"])
        if x is not None
    ]
    assert len(shares) > 20  # labels of a point with no customer have no row
    for text in shares:
        assert text in r.output
