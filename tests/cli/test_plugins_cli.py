"""`segrule plugins`, --plugin before or after a command, and --table NAME=PATH."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()

PLUGIN = """
import polars as pl
from segrule import hookimpl
from segrule.model.nodes import Dimension, Node
from segrule.model.tables import Column, TableContract


def _visits(ctx, name, groups, params):
    return [Node(name, "aggregate", pl.len().cast(pl.Int64).alias(name), table="shop_visits",
                 columns=("visit_ts",), fill=0, description="store visits")]


@hookimpl
def segrule_register_tables(register):
    register(TableContract("shop_visits", [Column("customer_id", "string", True),
                                           Column("visit_ts", "datetime", True)],
                           "store visits", ts_column="visit_ts"))


@hookimpl
def segrule_register_dimensions(register):
    register(Dimension("shop_visits_lifetime", _visits, "aggregate", "store visits", "integer",
                       tables=("shop_visits",)))
"""


@pytest.fixture
def shop_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "shop_plugin_for_cli.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    yield "shop_plugin_for_cli"
    sys.modules.pop("shop_plugin_for_cli", None)


def test_plugins_lists_builtins_with_what_they_registered() -> None:
    r = runner.invoke(app, ["plugins", "--json"], env={"SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert r.exit_code == 0, r.output
    rows = {p["name"]: p for p in json.loads(r.output)}
    assert set(rows) == {
        "segrule.tables",
        "segrule.dimensions",
        "segrule.strategies",
        "segrule.kmeans",
        "segrule.text_tags",
        "segrule.clv",
        "segrule.presets",
    }
    assert rows["segrule.kmeans"]["registered"]["strategies"] == ["kmeans"]
    assert rows["segrule.strategies"]["registered"]["strategies"] == [
        "pareto",
        "points",
        "quantile",
        "rfm",
    ]
    assert rows["segrule.clv"]["registered"]["strategies"] == ["clv"]
    assert rows["segrule.tables"]["hooks"] == ["segrule_register_tables"]
    assert all(p["distribution"] == "segrule" and p["builtin"] for p in rows.values())


@pytest.mark.parametrize("before", [True, False])
def test_plugin_option_before_or_after_the_command(shop_plugin: str, before: bool) -> None:
    args = (
        ["--plugin", shop_plugin, "plugins", "--json", "--no-builtins"]
        if before
        else ["plugins", "--json", "--no-builtins", "--plugin", shop_plugin]
    )
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    [row] = json.loads(r.output)
    assert row["name"] == shop_plugin and row["builtin"] is False
    assert row["registered"] == {"dimensions": ["shop_visits_lifetime"], "tables": ["shop_visits"]}
    assert row["hooks"] == ["segrule_register_dimensions", "segrule_register_tables"]


def test_plugins_table_output_says_when_no_plugin_is_installed() -> None:
    r = runner.invoke(
        app, ["plugins", "--no-builtins"], env={"SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    )
    assert r.exit_code == 0
    assert "No third-party plugins loaded" in r.output


def test_hook_reference_is_printed() -> None:
    r = runner.invoke(app, ["plugins", "--hooks"])
    assert r.exit_code == 0
    assert "### segrule_register_dimensions" in r.output
    assert "### segrule_prepare_table" in r.output


def test_unknown_plugin_module_is_one_line_exit_1() -> None:
    r = runner.invoke(
        app,
        ["--plugin", "no_such_segrule_plugin", "plugins"],
        env={"SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert r.exit_code == 1
    assert "plugin module 'no_such_segrule_plugin' could not be imported" in r.output
    assert "Traceback" not in r.output


def test_table_option_reads_a_plugin_table(shop_plugin: str, tmp_path: Path, tb) -> None:
    import polars as pl

    orders = tmp_path / "o.parquet"
    tb.orders([("c1", tb.days_before(1), 5.0), ("c2", tb.days_before(1), 5.0)]).write_parquet(
        orders
    )
    visits = tmp_path / "v.parquet"
    pl.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1"],
            "visit_ts": [tb.days_before(3), tb.days_before(2), tb.AS_OF],
        }
    ).write_parquet(visits)
    rules = tmp_path / "r.yaml"
    rules.write_text("outputs: [customer_id, shop_visits_lifetime]\n")
    out = tmp_path / "out.parquet"
    r = runner.invoke(
        app,
        [
            "--plugin",
            shop_plugin,
            "run",
            str(rules),
            "--orders",
            str(orders),
            "--table",
            f"shop_visits={visits}",
            "--as-of",
            "2026-11-01",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    assert pl.read_parquet(out).rows() == [("c1", 2), ("c2", 0)]
    bad = runner.invoke(app, ["run", str(rules), "--table", "shop_visits", "--out", str(out)])
    assert bad.exit_code == 2 and "is not NAME=PATH" in bad.output
