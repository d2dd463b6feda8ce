"""Conformance, discovery through the installed entry point, and the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import segrule
import segrule_childrenswear
import segrule_childrenswear.hooks as plugin
from segrule.testing import check_plugin


def test_conformance() -> None:
    engine = check_plugin(plugin)
    info = next(i for i in engine.plugins.values() if not i.builtin)
    assert info.registered["tables"] == ["childrenswear_items"]
    assert info.registered["presets"] == ["childrenswear:child-stage"]
    dims = info.registered["dimensions"]
    assert all(d.startswith("childrenswear_") for d in dims)
    assert len(dims) == 17


def test_prepare_table_leaves_other_tables_alone() -> None:
    frame = pl.LazyFrame({"customer_id": ["a"], "size_cm": ["110cm"]})
    assert plugin.segrule_prepare_table(name="apparel_items", frame=frame, context=None) is None
    out = plugin.segrule_prepare_table(name="childrenswear_items", frame=frame, context=None)
    assert out is not None and out.collect()["size_cm"].to_list() == [110]


def test_found_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    # Only this plugin: others being developed next to it must not break this test.
    monkeypatch.setenv("SEGRULE_PLUGINS", "childrenswear")
    engine = segrule.Engine()
    info = engine.plugins["childrenswear"]
    assert info.distribution == "segrule-childrenswear"
    assert info.version == segrule_childrenswear.__version__
    assert "childrenswear:child-stage" in engine.presets.items


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGRULE_DISABLE_PLUGIN_AUTOLOAD"}
    env["SEGRULE_PLUGINS"] = "childrenswear"
    return subprocess.run(
        [sys.executable, "-m", "segrule_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_generate_and_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    gen = _cli(
        "generate",
        "--orders",
        "5000",
        "--seed",
        "3",
        "--out",
        str(data),
        "--vertical",
        "childrenswear",
    )
    assert gen.returncode == 0, gen.stdout + gen.stderr
    assert (data / "childrenswear_items.parquet").is_file()
    out = tmp_path / "kids.parquet"
    run = _cli(
        "run",
        "childrenswear:child-stage",
        "--data",
        str(data),
        "--as-of",
        "2026-11-01",
        "--out",
        str(out),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "child_stage" in run.stdout
    df = pl.read_parquet(out)
    assert len(df) == 500
    assert {"child_stage", "next_size_due_now", "household"} <= set(df.columns)
    bad = _cli("run", "childrenswear:child-stag", "--data", str(data), "--out", str(out))
    assert bad.returncode == 1
    assert "did you mean 'childrenswear:child-stage'" in bad.stdout + bad.stderr
