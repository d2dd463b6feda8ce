"""The b2b plugin as a plugin: conformance alone with the builtins, discovery through
its real entry point, and the installed CLI running its presets in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import segrule
import segrule_b2b
import segrule_b2b.hooks as plugin
from segrule.testing import check_plugin

DIMENSIONS = {
    "b2b_inquiries_<window>",
    "b2b_free_mail_inquiries_<window>",
    "b2b_sample_requests_<window>",
    "b2b_inquiry_score",
    "b2b_last_inquiry_ts",
    "b2b_inquiry_recency_days",
    "b2b_email_domain",
    "b2b_free_mail",
    "b2b_quotes_per_order",
    "b2b_revenue_prev_<window>",
    "b2b_revenue_growth_<window>",
    "b2b_order_span_days",
    "b2b_active_quarters_<window>",
    "b2b_order_days_<window>",
    "b2b_order_gaps",
    "b2b_order_gap_mean_days",
    "b2b_order_gap_cv",
    "b2b_next_order_date",
    "b2b_days_overdue",
    "b2b_margin",
    "b2b_gross_profit_<window>",
    "b2b_country",
    "b2b_business_type",
}


def test_conformance() -> None:
    engine = check_plugin(plugin)
    info = engine.plugins["b2b"]
    assert set(info.registered["tables"]) == {"b2b_inquiries", "b2b_accounts"}
    assert set(info.registered["strategies"]) == {"b2b_inquiry_validity", "b2b_value_matrix"}
    assert set(info.registered["presets"]) == {"b2b:inquiry-quality", "b2b:value-matrix"}
    assert set(info.registered["dimensions"]) == DIMENSIONS
    for name in DIMENSIONS:
        dim = engine.dimensions.items[name]
        assert dim.title.get("zh") and dim.title.get("en"), name
        for example in dim.examples:  # every example resolves to this dimension
            found = engine.find_dimension(example)
            assert found is not None and found[0] is dim, example


@pytest.fixture
def only_b2b_autoload(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Autoload on, restricted to this plugin (other plugins are not under test here)."""
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("SEGRULE_PLUGINS", "b2b")
    return dict(os.environ)


def test_discovered_through_its_entry_point(only_b2b_autoload) -> None:
    engine = segrule.Engine()
    info = engine.plugins["b2b"]
    assert info.distribution == "segrule-b2b" and not info.builtin
    assert info.version == segrule_b2b.__version__
    assert engine.strategies.items["b2b_value_matrix"].owner.plugin == "b2b"
    assert "b2b:value-matrix" in engine.presets.items


def test_import_stays_light() -> None:
    """Importing the hooks must not pull numpy or pyarrow (every command loads plugins)."""
    code = (
        "import sys, segrule_b2b.hooks; "
        "print(sorted(m for m in ('numpy', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segrule_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_generate_and_run(only_b2b_autoload, tmp_path: Path) -> None:
    env = only_b2b_autoload | {"COLUMNS": "200", "NO_COLOR": "1"}
    data = tmp_path / "data"
    r = _cli(
        env, "generate", "--orders", "3000", "--seed", "2", "--out", str(data), "--vertical", "b2b"
    )
    assert r.returncode == 0, r.stderr
    assert (data / "b2b_inquiries.parquet").is_file() and (data / "b2b_accounts.parquet").is_file()
    customers = pl.read_parquet(data / "customers.parquet").height
    for preset, label in (
        ("b2b:value-matrix", "Most profitable"),
        ("b2b:inquiry-quality", "Junk inquiry"),
    ):
        out = tmp_path / f"{preset.split(':')[1]}.parquet"
        r = _cli(
            env, "run", preset, "--data", str(data), "--as-of", "2026-11-01", "--out", str(out)
        )
        assert r.returncode == 0, r.stderr
        assert label in r.stdout
        df = pl.read_parquet(out)
        assert df.height == customers
        assert df["customer_id"].is_sorted()


def test_cli_reports_a_bad_parameter_in_one_line(only_b2b_autoload, tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text(
        "scores:\n  vm: {strategy: b2b_value_matrix, params: {measure: margin}}\n"
        "outputs: [customer_id, vm]\n",
        encoding="utf-8",
    )
    r = _cli(only_b2b_autoload, "validate", str(rules))
    assert r.returncode == 1
    assert "measure 'margin' is not one of: profit, revenue" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


DOC = Path(__file__).resolve().parents[3] / "docs" / "plugins" / "b2b.md"


@pytest.mark.skipif(not DOC.is_file(), reason="docs/plugins/b2b.md is not in this checkout")
def test_yaml_examples_of_the_docs_page_compile(tmp_path: Path) -> None:
    import re

    import yaml

    engine = segrule.Engine(plugins=[plugin], autoload=False)
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        data = yaml.safe_load(block)
        if "outputs" not in data and "extends" not in data:  # a fragment: output what it defines
            names = [n for key in ("dimensions", "segments", "scores") for n in data.get(key, {})]
            block += "\noutputs: [customer_id, " + ", ".join(names) + "]\n"
        path = tmp_path / f"block{i}.yaml"
        path.write_text(block, encoding="utf-8")
        segrule.compile(path, engine=engine, check_only=True, as_of="2026-11-01")
