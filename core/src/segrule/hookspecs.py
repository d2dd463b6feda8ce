"""Hook specifications: the contract between segrule and its plugins.

Every hook is named ``segrule_*``. Registration hooks receive a ``register``
callable owned by core; core stamps each registered item with the plugin (and
distribution) that offered it, so conflicts and failures can name their owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import polars as pl

    from segrule.registry import Register

PROJECT_NAME = "segrule"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def segrule_register_dimensions(register: Register) -> None:
    """Register dimensions: named per-customer values built as polars expressions.

    Call ``register(dimension)`` once per :class:`segrule.dimensions.Dimension`.
    A dimension has a name or a name pattern (``orders_<window>``), a kind and a
    builder returning the plan nodes (aggregates over a table, derived expressions)
    that compute it. Called once per engine instance, when plugins are loaded.

    Since 0.1.
    """


@hookspec
def segrule_register_strategies(register: Register) -> None:
    """Register scoring strategies (points, rfm, pareto, ...).

    Call ``register(strategy)`` once per :class:`segrule.strategies.Strategy`. A
    strategy turns its parameters from a rule set's ``scores:`` entry into plan
    nodes (scores, tiers, population-relative ranks). Called once per engine
    instance, when plugins are loaded.

    Since 0.1.
    """


@hookspec
def segrule_register_tables(register: Register) -> None:
    """Register table contracts: the columns (types, required or optional) of a table.

    Call ``register(contract)`` once per :class:`segrule.tables.TableContract`.
    Core registers ``orders``, ``customers``, ``events`` and ``feedback`` this way.
    Called once per engine instance, when plugins are loaded.

    Since 0.1.
    """


@hookspec
def segrule_register_presets(register: Register) -> None:
    """Register packaged rule sets (presets).

    Call ``register(preset)`` once per :class:`segrule.presets.Preset` (a name and
    the YAML text or a path to it). A plugin's presets are addressed as
    ``plugin:preset-name``; core's own by bare name. Called once per engine
    instance, when plugins are loaded.

    Since 0.1.
    """


@hookspec
def segrule_prepare_table(name: str, frame: pl.LazyFrame, context: Any) -> pl.LazyFrame | None:
    """Normalize a table lazily before it is used (e.g. map size labels).

    ``name`` is the table name, ``frame`` the LazyFrame after column mapping and
    status normalization, ``context`` the run's :class:`segrule.compiler.BuildContext`.
    Return a new LazyFrame (it must keep the contract's columns) or ``None`` to leave
    the frame unchanged. Called once per table per plan build, in plugin order.
    Must stay lazy: never collect.

    Since 0.1.
    """
