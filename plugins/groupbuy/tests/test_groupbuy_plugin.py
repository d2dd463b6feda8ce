"""The plugin as a whole: conformance alone with the builtins, discovery through its
real entry point, and the CLI (generate --vertical, run a preset) as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import segrule
import segrule_groupbuy.hooks as plugin
from segrule.testing import check_plugin

PRESETS = {"groupbuy:sensitivity", "groupbuy:source", "groupbuy:roles", "groupbuy:behaviour"}
TABLES = {"groupbuy_groups", "groupbuy_touches", "groupbuy_referrals"}


def test_conformance_alone_with_the_builtins() -> None:
    engine = check_plugin(plugin)
    info = next(i for i in engine.plugins.values() if not i.builtin)
    assert set(info.registered["presets"]) == PRESETS
    assert set(info.registered["tables"]) == TABLES
    assert info.registered["strategies"] == ["groupbuy_sensitivity"]
    dims = info.registered["dimensions"]
    assert all(d.startswith("groupbuy_") for d in dims) and len(dims) == 24
    for name in dims:
        dim = engine.dimensions.items[name]
        assert dim.title.get("zh") and dim.title.get("en"), name
    for name in TABLES:
        assert engine.tables.items[name].generate is not None


def test_names_resolve_to_this_plugin_only(segrule_engine) -> None:  # type: ignore[no-untyped-def]
    engine = segrule_engine(plugin)
    found = engine.find_dimension("groupbuy_referrals_converted_90d")
    assert found is not None and found[0].name == "groupbuy_referrals_converted_<window>"
    assert found[1] == {"window": "90d"}
    found = engine.find_dimension("groupbuy_role")
    assert found is not None and found[0].name == "groupbuy_role"
    # core families are not shadowed
    assert engine.find_dimension("events_complaint_30d")[0].owner.plugin == "segrule.dimensions"


def test_discovered_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("SEGRULE_PLUGINS", raising=False)
    engine = segrule.Engine()
    info = engine.plugins["groupbuy"]
    assert info.distribution == "segrule-groupbuy" and info.version == "0.1.0"
    assert not info.builtin
    assert engine.presets.items["groupbuy:source"].owner.plugin == "groupbuy"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGRULE_")}
    env["SEGRULE_PLUGINS"] = "groupbuy"  # other plugins of the workspace stay out of it
    return subprocess.run(
        [sys.executable, "-m", "segrule_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_generate_vertical_and_run_preset(tmp_path: Path) -> None:
    gen = _cli(
        "generate",
        "--orders",
        "3000",
        "--seed",
        "4",
        "--out",
        "data",
        "--vertical",
        "groupbuy",
        cwd=tmp_path,
    )
    assert gen.returncode == 0, gen.stderr + gen.stdout
    for name in TABLES:
        assert (tmp_path / "data" / f"{name}.parquet").is_file()
    run = _cli(
        "run",
        "groupbuy:sensitivity",
        "groupbuy:source",
        "--data",
        "data",
        "--as-of",
        "2026-11-01",
        "--out",
        "scores.parquet",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert "groupbuy_need" in run.stdout and "groupbuy_source_class" in run.stdout
    df = pl.read_parquet(tmp_path / "scores.parquet")
    assert df.height == pl.read_parquet(tmp_path / "data" / "customers.parquet").height
    assert {"groupbuy_need", "groupbuy_source_class", "groupbuy_first_source"} <= set(df.columns)
    assert set(df["groupbuy_need"]) <= {"price", "quality", "service", "balanced", "unknown"}


def test_cli_reports_a_bad_strategy_parameter_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "scores:\n  need:\n    strategy: groupbuy_sensitivity\n    params: {price_min: -1}\n",
        encoding="utf-8",
    )
    result = _cli("validate", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1
    err = (result.stderr + result.stdout).strip()
    assert "bad.yaml:" in err and "'price_min' must be a number > 0" in err
    assert "Traceback" not in err
