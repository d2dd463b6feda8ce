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

    from segrule.plugins.registry import Register

PROJECT_NAME = "segrule"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def segrule_register_dimensions(register: Register) -> None:
    """Register dimensions: named per-customer values built as polars expressions.

    Args:
        register (Callable[[segrule.plugin.Dimension], None]): call it once per
            dimension. A :class:`~segrule.plugin.Dimension` has a name or a name pattern
            (``orders_<window>`` with ``pattern=r"orders_(?P<window>...)"``), a kind
            (aggregate, attribute, derived, population), a description, a value type and
            a builder ``build(ctx, name, groups, params) -> list[Node]`` returning the plan
            nodes that compute it (aggregates inside the table's one ``group_by``,
            derived expressions over other nodes).

    Returns:
        None. A name already registered (by core or another plugin) raises
        :class:`~segrule.errors.PluginConflictError` naming both owners.

    Called once per :class:`~segrule.Registry`, when plugins are loaded. Since 0.1.
    """


@hookspec
def segrule_register_strategies(register: Register) -> None:
    """Register scoring strategies (points, rfm, pareto, ...).

    Args:
        register (Callable[[segrule.plugin.Strategy], None]): call it once per
            strategy. A :class:`~segrule.plugin.Strategy` has a name, a description,
            ``params_doc`` (parameter -> description) and a builder
            ``build(ctx, name, params, origin) -> list[Node]`` turning a rule set's
            ``scores:`` entry into plan nodes (scores, tiers, population-relative ranks).

    Returns:
        None. A name already registered raises
        :class:`~segrule.errors.PluginConflictError` naming both owners.

    Called once per :class:`~segrule.Registry`, when plugins are loaded. Since 0.1.
    """


@hookspec
def segrule_register_tables(register: Register) -> None:
    """Register table contracts: the columns (types, required or optional) of a table.

    Args:
        register (Callable[[segrule.plugin.TableContract], None]): call it once per
            table. A :class:`~segrule.plugin.TableContract` names the table, its
            :class:`~segrule.plugin.Column` list, its timestamp column (rows at or after
            the as-of instant never count) and, optionally, ``generate``/``rows``: the
            synthetic-data generator ``segrule generate --vertical`` uses, and
            ``core_generators``: generators that replace core's for ``orders``,
            ``customers``, ... under that ``--vertical``.

    Returns:
        None. Core registers ``orders``, ``customers``, ``events`` and ``feedback`` this
        way; a second table of the same name raises
        :class:`~segrule.errors.PluginConflictError`.

    Called once per :class:`~segrule.Registry`, when plugins are loaded. Since 0.1.
    """


@hookspec
def segrule_register_presets(register: Register) -> None:
    """Register packaged rule sets (presets).

    Args:
        register (Callable[[segrule.plugin.Preset], None]): call it once per preset.
            A :class:`~segrule.plugin.Preset` is a name and YAML text or a path
            (``Preset.from_file(path)`` reads the name from the file). A plugin's presets
            are named ``plugin:preset-name``; core's by bare name.

    Returns:
        None. A name already registered raises
        :class:`~segrule.errors.PluginConflictError` naming both owners.

    Called once per :class:`~segrule.Registry`, when plugins are loaded. Since 0.1.
    """


@hookspec
def segrule_prepare_table(name: str, frame: pl.LazyFrame, context: Any) -> pl.LazyFrame | None:
    """Normalize a table lazily before it is used (e.g. map size labels).

    Args:
        name (str): the table name (``orders``, ``apparel_items``, ...).
        frame (polars.LazyFrame): the table after column mapping, type normalization,
            status mapping and the rule set's ``where``.
        context (segrule.plugin.BuildContext): the run's as-of instant, time zone and
            engine.

    Returns:
        polars.LazyFrame | None: a new LazyFrame (keeping the contract's columns), or
        None to leave the frame unchanged. Must stay lazy: never collect. The columns
        the rule set needs (other than the time column) are checked after this hook,
        so it may add a default for an input the table lacks.

    Called once per table per plan build, in plugin order; an exception is reported
    as a :class:`~segrule.errors.PluginError` naming the plugin, hook and table.
    Since 0.1.
    """


def reference() -> str:
    """The hook reference for docs/plugins.md, rendered from the docstrings above.

    ``segrule plugins --hooks`` prints it; a test keeps docs/plugins.md equal to it.
    """
    import inspect

    parts = []
    for name, fn in sorted(globals().items()):
        if not (name.startswith("segrule_") and callable(fn)):
            continue
        sig = str(inspect.signature(fn)).replace("'", "")
        doc = inspect.getdoc(fn) or ""
        # The marker tells the docs test (tests/docs) that a signature is not a program.
        marker = (
            "<!-- not-run: a fragment of a plugin's hooks.py; tests/cli/test_new_plugin.py "
            "runs a whole generated plugin -->\n"
        )
        parts.append(
            f"### {name}\n\n{marker}```python\ndef {name}{sig}\n```\n\n```text\n{doc}\n```\n"
        )
    return "\n".join(parts)
