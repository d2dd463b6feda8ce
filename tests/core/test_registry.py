"""The plugin engine (segrule.plugins.registry.Engine): builtins through the hooks, owners,
conflicts, failures attributed to their plugin, and entry-point autoload switches."""

from __future__ import annotations

import importlib.metadata
import sys
import types
from collections.abc import Callable
from typing import Any

import pluggy
import polars as pl
import pytest
import segrule
from segrule import PluginConflictError, PluginError, hookimpl
from segrule.model.nodes import Dimension, Node
from segrule.model.presets import Preset
from segrule.model.strategies import Strategy
from segrule.model.tables import Column, TableContract
from segrule.plugins.registry import BUILTIN_PLUGINS, Engine, Owner

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """A plugin module named ``name`` holding the given hook implementations."""
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        fn.__name__ = hook_name
        setattr(module, hook_name, hookimpl(fn))
    return module


def _double_orders(
    ctx: Any, name: str, groups: dict[str, str], params: dict[str, Any]
) -> list[Node]:
    expr = (pl.col("orders_lifetime") * 2).alias(name)
    return [Node(name, "derived", expr, deps=("orders_lifetime",), description="twice")]


def dims_plugin(name: str, *dim_names: str) -> types.ModuleType:
    def segrule_register_dimensions(register: Any) -> None:
        for dim_name in dim_names:
            register(Dimension(dim_name, _double_orders, "derived", "twice the orders", "integer"))

    return plugin_module(name, segrule_register_dimensions=segrule_register_dimensions)


# -- builtins --------------------------------------------------------------------------
def test_builtins_are_plugins_with_owner_stamps() -> None:
    engine = Engine(autoload=False)
    assert list(engine.plugins) == ["segrule." + p.rsplit(".", 1)[-1] for p in BUILTIN_PLUGINS]
    assert all(info.builtin and info.distribution == "segrule" for info in engine.plugins.values())

    def core(part: str) -> Owner:
        return Owner(f"segrule.{part}", "segrule", segrule.__version__)

    assert engine.dimensions.items["orders_<window>"].owner == core("dimensions")
    assert engine.dimensions.items["generation"].owner == core("dimensions")
    assert engine.strategies.items["rfm"].owner == core("strategies")
    assert engine.tables.items["orders"].owner == core("tables")
    assert engine.presets.items["taobao-5-tier"].owner == core("presets")
    assert set(engine.strategies.items) >= {"points", "rfm", "pareto", "quantile"}
    assert set(engine.tables.items) >= {"orders", "customers", "events", "feedback"}
    registered = engine.plugins["segrule.dimensions"].registered["dimensions"]
    assert "orders_<window>" in registered and "activity_index" in registered
    assert engine.plugins["segrule.strategies"].hooks() == ["segrule_register_strategies"]


def test_each_engine_has_its_own_registries() -> None:
    with_plugin = Engine([dims_plugin("doubler", "double_orders")], autoload=False)
    plain = Engine(autoload=False)
    assert "double_orders" in with_plugin.dimensions.items
    assert "double_orders" not in plain.dimensions.items
    assert with_plugin.pm is not plain.pm


def test_find_dimension_by_pattern() -> None:
    engine = Engine(autoload=False)
    dim, groups = engine.find_dimension("refunded_orders_90d") or (None, None)
    assert dim is not None and dim.name == "<status>_orders_<window>"
    assert groups == {"status": "refunded", "window": "90d"}
    assert engine.find_dimension("orders_30days") is None


# -- plugin dimensions, strategies, presets -------------------------------------------
def test_plugin_dimension_is_usable_in_rules(rules, make_tables) -> None:
    engine = Engine([dims_plugin("doubler", "double_orders")], autoload=False)
    info = engine.plugins["doubler"]
    assert not info.builtin
    assert engine.dimensions.items["double_orders"].owner == Owner("doubler")
    assert info.registered["dimensions"] == ["double_orders"]
    path = rules(
        "d.yaml",
        'segments:\n  busy:\n    flag: "double_orders >= 4"\n'
        "outputs: [customer_id, double_orders, busy]\n",
    )
    tables = make_tables(
        orders=[
            ("c1", segrule_ago(1), 1.0),
            ("c1", segrule_ago(2), 1.0),
            ("c2", segrule_ago(1), 1.0),
        ]
    )
    df = segrule.score(path, tables, as_of="2026-11-01", engine=engine)
    assert df.rows() == [("c1", 4, True), ("c2", 2, False)]


def segrule_ago(days: int) -> Any:
    import datetime as dt

    return dt.datetime(2026, 11, 1) - dt.timedelta(days=days)


def test_plugin_strategy_table_and_preset() -> None:
    def segrule_register_strategies(register: Any) -> None:
        register(
            Strategy(
                "constant",
                lambda ctx, name, params, where: [
                    Node(name, "derived", pl.lit(params.get("value", 1)).alias(name), role="score")
                ],
                "always the same",
            )
        )

    def segrule_register_tables(register: Any) -> None:
        register(TableContract("inquiries", [Column("customer_id", "string", True)]))

    def segrule_register_presets(register: Any) -> None:
        register(
            Preset(
                "acme:const",
                yaml_text="scores:\n  c:\n    strategy: constant\n"
                "    params: {value: 7}\noutputs: [customer_id, c]\n",
            )
        )

    module = plugin_module(
        "acme",
        segrule_register_strategies=segrule_register_strategies,
        segrule_register_tables=segrule_register_tables,
        segrule_register_presets=segrule_register_presets,
    )
    engine = Engine([module], autoload=False)
    assert engine.strategies.items["constant"].owner == Owner("acme")
    assert engine.tables.items["inquiries"].owner == Owner("acme")
    assert engine.presets.items["acme:const"].owner == Owner("acme")
    rs = segrule.load_ruleset("acme:const", engine=engine)
    orders = pl.DataFrame(
        {
            "order_id": ["o1"],
            "customer_id": ["c1"],
            "order_ts": [segrule_ago(1)],
            "amount": [1.0],
            "status": ["paid"],
        }
    )
    df = segrule.score(rs, {"orders": orders}, as_of="2026-11-01", engine=engine)
    assert df.rows() == [("c1", 7)]


def test_plugin_by_import_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "segrule_test_doubler", dims_plugin("x", "double_orders"))
    engine = Engine(["segrule_test_doubler"], autoload=False)
    assert engine.dimensions.items["double_orders"].owner == Owner("segrule_test_doubler")
    with pytest.raises(
        PluginError,
        match="plugin module 'segrule_no_such_plugin' could not be imported: ModuleNotFoundError",
    ):
        Engine(["segrule_no_such_plugin"], autoload=False)


def test_prepare_table_hook_changes_the_table(rules, make_tables) -> None:
    def segrule_prepare_table(name: str, frame: pl.LazyFrame, context: Any) -> Any:
        if name == "orders":
            return frame.filter(pl.col("channel") != "test")
        return None

    engine = Engine(
        [plugin_module("no_test", segrule_prepare_table=segrule_prepare_table)], autoload=False
    )
    tables = make_tables(
        orders=[
            ("c1", segrule_ago(1), 1.0, "paid", None, "app"),
            ("c1", segrule_ago(2), 1.0, "paid", None, "test"),
        ]
    )
    path = rules("p.yaml", "outputs: [customer_id, orders_lifetime]\n")
    df = segrule.score(path, tables, as_of="2026-11-01", engine=engine)
    assert df.rows() == [("c1", 1)]


def test_prepare_table_hook_may_add_a_needed_column(rules, make_tables) -> None:
    """A plugin can give a default for a column the data lacks; without it the column
    is reported missing as before."""

    def segrule_prepare_table(name: str, frame: pl.LazyFrame, context: Any) -> Any:
        if name == "orders" and "channel" not in frame.collect_schema():
            return frame.with_columns(pl.lit("web").alias("channel"))
        return None

    orders = make_tables(orders=[("c1", segrule_ago(1), 1.0, "paid")])["orders"].drop("channel")
    path = rules(
        "ch.yaml",
        """
        dimensions:
          web_orders:
            aggregate: "count(*)"
            table: orders
            where: "channel = 'web'"
        outputs: [customer_id, web_orders]
        """,
    )
    with pytest.raises(segrule.DataError, match="has no column 'channel'"):
        segrule.score(path, {"orders": orders}, as_of="2026-11-01", engine=Engine(autoload=False))
    engine = Engine(
        [plugin_module("web", segrule_prepare_table=segrule_prepare_table)], autoload=False
    )
    df = segrule.score(path, {"orders": orders}, as_of="2026-11-01", engine=engine)
    assert df.rows() == [("c1", 1)]


def _picky(ctx: Any, name: str, groups: dict[str, str], params: dict[str, Any]) -> list[Node]:
    if params.get("factor") == "boom":
        raise ZeroDivisionError("a bug in the plugin")
    if not isinstance(params.get("factor"), int):
        raise segrule.RuleSetError("factor must be an integer")
    expr = (pl.col("orders_lifetime") * params["factor"]).alias(name)
    return [Node(name, "derived", expr, deps=("orders_lifetime",))]


@pytest.mark.parametrize(
    ("factor", "error", "message"),
    [
        ("two", segrule.RuleSetError, r"p\.yaml:3:\d+: scaled: factor must be an integer"),
        (
            "boom",
            PluginError,
            r"plugin 'picky'.* raised while building 'scaled' \(.*p\.yaml:3:\d+\) from "
            r"'times_n': ZeroDivisionError: a bug in the plugin",
        ),
    ],
)
def test_errors_in_a_plugin_dimension_builder_name_the_rule_and_plugin(
    rules, make_tables, factor: str, error: type, message: str
) -> None:
    def segrule_register_dimensions(register: Any) -> None:
        register(Dimension("times_n", _picky, "derived", "orders times a factor", "integer"))

    engine = Engine(
        [plugin_module("picky", segrule_register_dimensions=segrule_register_dimensions)],
        autoload=False,
    )
    path = rules(
        "p.yaml",
        f"""
        dimensions:
          scaled:
            use: times_n
            params: {{factor: {factor}}}
        outputs: [customer_id, scaled]
        """,
    )
    with pytest.raises(error, match=message):
        segrule.score(path, make_tables(orders=[]), as_of="2026-11-01", engine=engine)


# -- conflicts and failures -------------------------------------------------------------
def test_second_registration_of_a_builtin_dimension_names_both_owners() -> None:
    with pytest.raises(PluginConflictError) as info:
        Engine([dims_plugin("my_vertical", "birth_year")], autoload=False)
    text = str(info.value)
    assert "dimension 'birth_year' is registered twice" in text
    assert (
        "plugin 'segrule.dimensions' (distribution segrule)" in text
        and "plugin 'my_vertical'" in text
    )


def test_two_plugins_offering_the_same_strategy_conflict() -> None:
    def make(name: str) -> types.ModuleType:
        def segrule_register_strategies(register: Any) -> None:
            register(Strategy("survival", lambda *a: [], "time to churn"))

        return plugin_module(name, segrule_register_strategies=segrule_register_strategies)

    with pytest.raises(
        PluginConflictError,
        match="strategy 'survival' is registered twice: by plugin 'first' and by plugin 'second'",
    ):
        Engine([make("first"), make("second")], autoload=False)


@pytest.mark.parametrize(
    "hook, item",
    [
        ("segrule_register_tables", TableContract("orders", [])),
        ("segrule_register_presets", Preset("rfm", yaml_text="{}")),
    ],
)
def test_builtin_table_and_preset_names_conflict_too(hook: str, item: Any) -> None:
    module = plugin_module("copycat", **{hook: lambda register: register(item)})
    with pytest.raises(PluginConflictError, match=f"'{item.name}' is registered twice"):
        Engine([module], autoload=False)


def test_same_plugin_loaded_twice() -> None:
    module = dims_plugin("twice", "double_orders")
    with pytest.raises(PluginConflictError, match="plugin 'twice' is loaded twice"):
        Engine([module, module], autoload=False)


def test_plugin_raising_in_a_register_hook_names_plugin_and_hook() -> None:
    def segrule_register_strategies(register: Any) -> None:
        raise RuntimeError("kaboom")

    with pytest.raises(PluginError) as info:
        Engine(
            [plugin_module("broken", segrule_register_strategies=segrule_register_strategies)],
            autoload=False,
        )
    assert not isinstance(info.value, PluginConflictError)
    text = str(info.value)
    assert "plugin 'broken'" in text
    assert "segrule_register_strategies" in text
    assert "RuntimeError: kaboom" in text


def test_plugin_raising_in_prepare_table_names_plugin_hook_and_table(rules, make_tables) -> None:
    def segrule_prepare_table(name: str, frame: pl.LazyFrame, context: Any) -> Any:
        raise KeyError("size")

    engine = Engine(
        [plugin_module("sizes", segrule_prepare_table=segrule_prepare_table)], autoload=False
    )
    path = rules("p.yaml", "outputs: [customer_id, orders_lifetime]\n")
    with pytest.raises(PluginError) as info:
        segrule.compile(
            path,
            make_tables(orders=[("c1", segrule_ago(1), 1.0)]),
            as_of="2026-11-01",
            engine=engine,
        )
    text = str(info.value)
    assert "plugin 'sizes'" in text and "segrule_prepare_table" in text
    assert "table 'orders'" in text


def test_misspelt_hook_name_is_an_error() -> None:
    module = plugin_module("typo", segrule_register_dimension=lambda register: None)
    with pytest.raises((pluggy.PluginValidationError, PluginError)) as info:
        Engine([module], autoload=False)
    assert "segrule_register_dimension" in str(info.value)


# -- entry points and the environment ------------------------------------------------
class FakeEntryPoint:
    def __init__(self, name: str, module: types.ModuleType | Exception, dist: str) -> None:
        self.name = name
        self._module = module
        self.value = getattr(module, "__name__", "broken.module")
        self.dist = types.SimpleNamespace(name=dist, version="9.9")

    def load(self) -> types.ModuleType:
        if isinstance(self._module, Exception):
            raise self._module
        return self._module


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    """Entry points of group ``segrule`` as the test sets them (starts empty)."""
    eps: list[FakeEntryPoint] = []
    real = importlib.metadata.entry_points

    def entry_points(**kw: Any) -> Any:
        if kw.get("group") == "segrule":
            return list(eps)
        return real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return eps


def test_entry_point_plugins_are_autoloaded_with_their_distribution(
    fake_entry_points, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry_points.append(
        FakeEntryPoint("doubler", dims_plugin("m", "double_orders"), "segrule-doubler")
    )
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD")
    engine = Engine()
    assert engine.dimensions.items["double_orders"].owner == Owner(
        "doubler", "segrule-doubler", "9.9"
    )
    assert engine.plugins["doubler"].distribution == "segrule-doubler"


def test_an_installed_plugin_named_by_module_path_keeps_its_entry_point_name(
    fake_entry_points, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = dims_plugin("segrule_doubler.hooks", "double_orders")
    monkeypatch.setitem(sys.modules, "segrule_doubler.hooks", module)
    fake_entry_points.append(FakeEntryPoint("doubler", module, "segrule-doubler"))
    explicit = Engine(["segrule_doubler.hooks"], autoload=False)
    assert explicit.dimensions.items["double_orders"].owner == Owner(
        "doubler", "segrule-doubler", "9.9"
    )
    # Autoloaded and also named explicitly: loaded once, not a conflict.
    both = Engine(["segrule_doubler.hooks"], autoload=True)
    assert [n for n in both.plugins if not both.plugins[n].builtin] == ["doubler"]


def test_disable_plugin_autoload_env_is_respected(
    fake_entry_points, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry_points.append(
        FakeEntryPoint("doubler", dims_plugin("m", "double_orders"), "segrule-doubler")
    )
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    engine = Engine()
    assert "doubler" not in engine.plugins
    assert "double_orders" not in engine.dimensions.items
    # An explicit argument wins over the environment.
    assert "doubler" in Engine(autoload=True).plugins
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD")
    assert "doubler" not in Engine(autoload=False).plugins


def test_segrule_plugins_env_restricts_autoload(
    fake_entry_points, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry_points.append(FakeEntryPoint("one", dims_plugin("m1", "one_dim"), "segrule-one"))
    fake_entry_points.append(FakeEntryPoint("two", dims_plugin("m2", "two_dim"), "segrule-two"))
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setenv("SEGRULE_PLUGINS", "two")
    engine = Engine()
    assert "two" in engine.plugins and "one" not in engine.plugins


def test_entry_point_failing_to_import_names_plugin_and_distribution(
    fake_entry_points, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry_points.append(
        FakeEntryPoint("bad", ImportError("no module named sizes"), "segrule-bad")
    )
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD")
    with pytest.raises(
        PluginError,
        match=r"plugin 'bad' \(distribution segrule-bad\) failed to "
        "import: ImportError: no module named sizes",
    ):
        Engine()


def test_two_distributions_with_one_entry_point_name(
    fake_entry_points, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry_points.append(FakeEntryPoint("apparel", dims_plugin("a", "x_dim"), "segrule-a"))
    fake_entry_points.append(FakeEntryPoint("apparel", dims_plugin("b", "y_dim"), "segrule-b"))
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD")
    with pytest.raises(
        PluginConflictError, match="'apparel' is used by two distributions: segrule-a and segrule-b"
    ):
        Engine()


def test_conflict_with_an_entry_point_plugin_names_its_distribution(
    fake_entry_points, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry_points.append(
        FakeEntryPoint("apparel", dims_plugin("a", "gender"), "segrule-apparel")
    )
    monkeypatch.delenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD")
    with pytest.raises(PluginConflictError) as info:
        Engine()
    assert "plugin 'apparel' (distribution segrule-apparel)" in str(info.value)
    assert "plugin 'segrule.dimensions' (distribution segrule)" in str(info.value)


def test_the_registry_keeps_its_first_name() -> None:
    """segrule.Registry was segrule.Engine (a name polars uses for its engines): the old
    name stays, so code written against it keeps working."""
    assert segrule.Engine is segrule.Registry
    assert isinstance(segrule.Engine(autoload=False), segrule.Registry)
