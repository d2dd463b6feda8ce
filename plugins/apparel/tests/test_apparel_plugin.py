"""The apparel plugin as a plugin: conformance, table normalisation, discovery through
its real entry point, and the CLI end to end."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import segrule
import segrule_apparel
import segrule_apparel.hooks as plugin
from segrule.testing import check_plugin
from segrule_apparel.prepare import prepare_items


def test_conformance_alone_with_the_builtins() -> None:
    engine = check_plugin(plugin)
    info = engine.plugins["apparel"]
    assert info.registered["tables"] == ["apparel_items"]
    assert set(info.registered["presets"]) == {"apparel:category-needs", "apparel:size-season"}
    assert all(d.startswith("apparel_") for d in info.registered["dimensions"])
    assert len(info.registered["dimensions"]) == 20
    contract = engine.tables.items["apparel_items"]
    assert contract.ts_column == "item_ts" and contract.generate is not None
    assert contract.required == ["customer_id", "item_ts", "category", "amount"]


def test_two_engines_do_not_share_registered_objects() -> None:
    a = segrule.Engine(plugins=[plugin], autoload=False)
    b = segrule.Engine(plugins=["segrule_apparel.hooks"], autoload=False)
    assert a.tables.items["apparel_items"] is not b.tables.items["apparel_items"]


def test_import_is_light() -> None:
    """The generator (numpy, pyarrow) is imported only when data is generated."""
    code = "import sys, segrule_apparel.hooks; print('segrule_apparel.generate' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_prepare_maps_labels_flags_and_times() -> None:
    raw = pl.LazyFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "a"],
            "category": ["连衣裙", " Dresses ", "T恤", "Swim Wear", "", None],
            "size": ["xxl", " m ", "均码", "free size", "165/88A", "  "],
            "season": ["夏季", "Fall", "四季", "all-season", "春秋", None],
            "returned": ["是", "no", "1", "TRUE", "", None],
            "is_new_arrival": [1, 0, 2, 0, 0, None],
            "launch_ts": [dt.date(2026, 3, 1), None, None, None, None, None],
        }
    )
    out = prepare_items(raw).collect()
    assert out["category"].to_list() == ["dress", "dress", "tshirt", "swim_wear", None, None]
    assert out["size"].to_list() == ["2XL", "M", "ONE_SIZE", "ONE_SIZE", "165/88A", None]
    assert out["season"].to_list() == ["summer", "autumn", "all", "all", "春秋", None]
    assert out["returned"].to_list() == [True, False, True, True, False, None]
    assert out["is_new_arrival"].to_list() == [True, False, True, False, False, None]
    assert out["launch_ts"].dtype == pl.Datetime("us")
    assert out["launch_ts"][0] == dt.datetime(2026, 3, 1)
    assert out["quantity"].to_list() == [1] * 6  # missing column: one unit per line
    assert out["return_ts"].dtype == pl.Datetime("us") and out["return_ts"].null_count() == 6


def test_prepare_leaves_other_tables_alone() -> None:
    frame = pl.LazyFrame({"customer_id": ["a"], "category": ["连衣裙"]})
    assert plugin.segrule_prepare_table(name="orders", frame=frame, context=None) is None


def test_prepare_parses_text_return_times() -> None:
    raw = pl.LazyFrame({"customer_id": ["a"], "return_ts": ["2026-10-02 08:00:00"]})
    out = prepare_items(raw).collect()
    assert out["return_ts"].to_list() == [dt.datetime(2026, 10, 2, 8)]


# -- installed: the real entry point and the CLI -----------------------------------------
@pytest.fixture
def autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("SEGRULE_PLUGINS", "apparel")


@pytest.mark.usefixtures("autoload")
def test_discovered_through_its_entry_point() -> None:
    engine = segrule.Engine()
    info = engine.plugins["apparel"]
    assert info.distribution == "segrule-apparel"
    assert info.version == segrule_apparel.__version__
    assert engine.presets.items["apparel:category-needs"].owner.plugin == "apparel"
    assert engine.dimensions.items["apparel_items_<window>"].owner.distribution == (
        "segrule-apparel"
    )


def test_cli_generates_and_runs_the_preset(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "SEGRULE_PLUGINS")
    }
    env["SEGRULE_PLUGINS"] = "apparel"  # other plugins of the workspace are not under test
    env["NO_COLOR"] = "1"
    data, out = tmp_path / "data", tmp_path / "out.parquet"
    cli = [sys.executable, "-m", "segrule_cli"]
    gen = subprocess.run(
        [
            *cli,
            "generate",
            "--orders",
            "3000",
            "--seed",
            "1",
            "--out",
            str(data),
            "--vertical",
            "apparel",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert gen.returncode == 0, gen.stderr + gen.stdout
    assert (data / "apparel_items.parquet").is_file()
    run = subprocess.run(
        [
            *cli,
            "run",
            "apparel:category-needs",
            "--data",
            str(data),
            "--as-of",
            "2026-11-01",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    df = pl.read_parquet(out)
    assert df.height == pl.read_parquet(data / "customers.parquet").height
    assert "apparel_category_customer" in df.columns
    assert df["apparel_category_customer"].null_count() == 0
    assert "dress" in run.stdout  # the run summary lists the segment's labels
