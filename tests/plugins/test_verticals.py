"""The four industry plugins of this workspace: installed, discovered through their real
entry points, each valid alone, all loadable together, and composable into one plan with
one scan per table."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.generate import TableSpec, generate
from segrule.testing import check_plugin

VERTICALS = ["apparel", "childrenswear", "groupbuy", "b2b"]


@pytest.fixture
def autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("SEGRULE_PLUGINS", raising=False)


def test_entry_point_group_holds_the_four_verticals() -> None:
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="segrule")}
    for name in VERTICALS:
        assert name in eps, f"plugin {name} is not installed (uv sync --all-packages)"
        assert eps[name].value == f"segrule_{name}.hooks"
        assert eps[name].dist is not None and eps[name].dist.name == f"segrule-{name}"


@pytest.mark.parametrize("name", VERTICALS)
def test_each_vertical_alone(name: str) -> None:
    """A plugin manager holding only the builtins and this plugin; its presets compile."""
    engine = check_plugin(importlib.import_module(f"segrule_{name}.hooks"))
    mine = [p for p in engine.presets.items if p.startswith(f"{name}:")]
    assert mine, f"{name} ships no preset"
    others = [v for v in VERTICALS if v != name]
    assert not [p for p in engine.presets.items if p.split(":")[0] in others]


@pytest.mark.usefixtures("autoload")
def test_all_verticals_load_together_through_entry_points() -> None:
    engine = segrule.Engine()
    for name in VERTICALS:
        info = engine.plugins[name]
        assert info.distribution == f"segrule-{name}" and not info.builtin
        assert info.version
        assert any(info.registered.values())
        for kind, names in info.registered.items():
            registry = getattr(engine, kind)
            assert all(registry.items[n].owner.plugin == name for n in names)


@pytest.fixture(scope="module")
def vertical_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Core tables plus every vertical's tables, for one set of customers."""
    engine = segrule.Engine(plugins=[f"segrule_{v}.hooks" for v in VERTICALS], autoload=False)
    generators = {
        t.name: TableSpec(t.generate, t.rows or (lambda ctx: 0))
        for t in engine.tables.items.values()
        if t.generate is not None and t.owner.plugin in VERTICALS
    }
    assert generators, "no vertical registered a synthetic-data generator"
    out = tmp_path_factory.mktemp("verticals")
    generate(
        out,
        orders=6_000,
        seed=3,
        tables=["orders", "customers", "events", "feedback", *generators],
        generators=generators,
    )
    return out


def _scans(plan_text: str) -> dict[str, int]:
    """How often each source file is scanned in a polars plan."""
    return {
        path: plan_text.count(path) for path in set(re.findall(r"/[^\s\]\"']+\.parquet", plan_text))
    }


def test_presets_of_all_verticals_in_one_plan_one_scan_per_table(vertical_data: Path) -> None:
    engine = segrule.Engine(plugins=[f"segrule_{v}.hooks" for v in VERTICALS], autoload=False)
    mine = sorted(p for p in engine.presets.items if p.split(":")[0] in VERTICALS)
    presets = ["taobao-5-tier", "rfm", *mine]
    plan = segrule.compile(presets, data=vertical_data, as_of="2026-11-01", engine=engine)
    text = plan.frame.explain()
    scans = _scans(text)
    assert len(scans) >= 4, text
    assert all(n == 1 for n in scans.values()), scans
    df = plan.frame.collect(engine="streaming")
    customers = pl.read_parquet(vertical_data / "customers.parquet")
    assert df.height == customers.height
    assert df["customer_id"].to_list() == sorted(customers["customer_id"].to_list())


def test_a_rule_set_extending_presets_of_two_plugins(vertical_data: Path, tmp_path: Path) -> None:
    engine = segrule.Engine(plugins=[f"segrule_{v}.hooks" for v in VERTICALS], autoload=False)
    first = sorted(p for p in engine.presets.items if p.startswith("apparel:"))[0]
    second = sorted(p for p in engine.presets.items if p.startswith("b2b:"))[0]
    rules = tmp_path / "mixed.yaml"
    rules.write_text(f"name: mixed\nextends: [{first}, {second}, taobao-5-tier]\n")
    rs = segrule.load_ruleset(rules, engine=engine)
    plan = segrule.compile(rs, data=vertical_data, as_of="2026-11-01", engine=engine)
    assert all(n == 1 for n in _scans(plan.frame.explain()).values())
    df = plan.frame.collect()
    # Several bases write each base's columns, as when the presets are run together.
    for preset in (first, second, "taobao-5-tier"):
        own = segrule.load_ruleset(preset, engine=engine).model.outputs or []
        assert set(own) <= set(df.columns), (preset, set(own) - set(df.columns))
    assert df.height == pl.read_parquet(vertical_data / "customers.parquet").height


def test_generate_vertical_b2b_writes_b2b_orders(tmp_path: Path) -> None:
    """b2b replaces core's retail orders with its own (through core_generators)."""
    from segrule.generate import vertical_generators
    from segrule_b2b.generate import ORDER_CHANNELS

    engine = segrule.Engine(plugins=["segrule_b2b.hooks"], autoload=False)
    specs = vertical_generators(engine, ["b2b"])
    assert {"orders", "b2b_inquiries", "b2b_accounts"} <= set(specs)
    paths = generate(tmp_path, orders=2_000, seed=1, tables=["customers", *specs], generators=specs)
    orders = pl.read_parquet(paths["orders"])
    assert orders.height == 2_000
    assert set(orders["channel"].unique()) <= set(ORDER_CHANNELS)
