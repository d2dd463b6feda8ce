"""--csv-formulas on every command that writes a CSV: run, diff --changes, history
--out and sweep --out neutralize formula-like text cells by default, keep writes them
verbatim (segrule.io.cells; the rule itself is tested in tests/core/test_cells.py)."""

from __future__ import annotations

import typing
from pathlib import Path

import polars as pl
import pytest
from segrule.io.cells import CSV_FORMULAS
from segrule.testing import RuleFiles
from segrule_cli.app import app
from segrule_cli.options import CsvFormulas
from typer.testing import CliRunner

pytestmark = pytest.mark.usefixtures("isolated_cli")

runner = CliRunner()
LINK = '=HYPERLINK("http://x","y")'
RULES = """
name: formulas
dimensions:
  orders_all: {aggregate: "count(*)"}
segments:
  "=seg":
    cases:
      - {when: "orders_all = 1", label: '=HYPERLINK("http://x","y")'}
      - {when: "orders_all >= 3", label: "@SUM(1+1)"}
    default: "+cmd|' /C calc'!A0"
outputs: [customer_id, orders_all, "=seg"]
"""


def test_the_cli_choices_are_the_core_ones() -> None:
    assert typing.get_args(CsvFormulas) == CSV_FORMULAS


@pytest.fixture
def setup(rules: RuleFiles, tmp_path: Path) -> tuple[Path, Path]:
    orders = tmp_path / "orders.csv"
    ids = ["=1+1", "-2+3", "-2+3", "@c", "@c", "@c"]
    pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(ids))],
            "customer_id": ids,
            "order_ts": ["2026-10-01 10:00:00"] * len(ids),
            "amount": ["1.00"] * len(ids),
            "status": ["paid"] * len(ids),
        }
    ).write_csv(orders)
    return rules("formulas.yaml", RULES), orders


def invoke(*args: object) -> str:
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


def cells(path: Path) -> set[str]:
    frame = pl.read_csv(path, infer_schema=False)
    return set(frame.columns) | {v for c in frame.columns for v in frame[c].drop_nulls()}


@pytest.mark.parametrize("mode", [None, "keep"])
def test_every_csv_writer(setup: tuple[Path, Path], tmp_path: Path, mode: str | None) -> None:
    rules, orders = setup
    opt = ["--csv-formulas", mode] if mode else []
    common = ["--orders", orders, "--as-of", "2026-11-01"]
    out = tmp_path / "out.csv"
    invoke("run", rules, *common, "--out", out, "--history", tmp_path / "h", "-q", *opt)
    # a second run, a day later, for history events (nobody moves: the file is empty)
    later = ["--orders", orders, "--as-of", "2026-11-02"]
    invoke("run", rules, *later, "--out", tmp_path / "o2.parquet", "--history", tmp_path / "h")
    hist = tmp_path / "hist.csv"
    invoke("history", tmp_path / "h", "--customer", "=1+1", "--out", hist, *opt)
    other = rules.with_name("other.yaml")
    other.write_text(RULES.replace('default: "+cmd', 'default: "=other+cmd'))
    table = ["--table", f"orders={orders}", "--as-of", "2026-11-01"]
    changes = tmp_path / "changes.csv"
    invoke("diff", rules, other, *table, "--changes", changes, *opt)
    sweep = tmp_path / "sweep.csv"
    # a segment whose name holds no "=" (--param NAME=VALUES); its labels are the same
    swept_rules = rules.with_name("sweep.yaml")
    swept_rules.write_text(RULES.replace('"=seg"', "seg"))
    invoke("sweep", swept_rules, *table, "--param", "seg.@SUM(1+1)=2..3:1", "--out", sweep, *opt)
    runs, history, moved, swept = cells(out), cells(hist), cells(changes), cells(sweep)
    if mode == "keep":
        assert {"=seg", "=1+1", "-2+3", "@c", LINK, "+cmd|' /C calc'!A0"} <= runs
        assert {"=seg", LINK} <= history
        assert {"=other+cmd|' /C calc'!A0", "+cmd|' /C calc'!A0"} <= moved
        assert LINK in swept
    else:
        assert {"'=seg", "'=1+1", "'-2+3", "'@c", "'" + LINK, "'+cmd|' /C calc'!A0"} <= runs
        assert {"'=seg", "'" + LINK} <= history
        assert {"'=other+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"} <= moved
        assert "'" + LINK in swept
        for found in (runs, history, moved, swept):
            assert not any(c[:1] in ("=", "+", "@") for c in found), found
