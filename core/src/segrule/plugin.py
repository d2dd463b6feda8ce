"""The stable surface for plugin authors: everything a plugin imports from segrule.

Plugins import from here and nowhere else in core (the four plugins of this
repository do; tests/plugins/test_stable_surface.py checks it), so core's modules can
move without breaking plugins. A name leaves this module only after a release that
warns about it.

    from segrule.plugin import BuildContext, Dimension, Node, Register, hookimpl

The generator names (``GenContext``, ``TableSpec``, ``TABLE_GENERATORS``,
``ORDERS_SCHEMA``, ``fixed_ids``) are loaded on first use: they need numpy and
pyarrow, which a run that generates nothing does not import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segrule.errors import DataError, RuleSetError, SegruleError, did_you_mean
from segrule.model.nodes import (
    WINDOW_RE,
    BuildContext,
    Case,
    Dimension,
    Label,
    Node,
    PointsPart,
    RankLadder,
    actions_of,
    cents_to_units,
    masked,
    money_nodes,
    parse_window,
)
from segrule.model.presets import Preset
from segrule.model.sql import parse_sql, referenced_names
from segrule.model.strategies import Strategy, ntile, rank_column, row_number, tie_rank
from segrule.model.tables import Column, ColumnType, TableContract
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Owner, Register, Registry

if TYPE_CHECKING:
    from segrule.generate import ORDERS_SCHEMA, TABLE_GENERATORS, GenContext, TableSpec, fixed_ids

#: Names loaded from segrule.generate on first use.
_GENERATE = ("GenContext", "TableSpec", "TABLE_GENERATORS", "ORDERS_SCHEMA", "fixed_ids")

__all__ = [
    "ORDERS_SCHEMA",
    "TABLE_GENERATORS",
    "WINDOW_RE",
    "BuildContext",
    "Case",
    "Column",
    "ColumnType",
    "DataError",
    "Dimension",
    "GenContext",
    "Label",
    "Node",
    "Owner",
    "PointsPart",
    "Preset",
    "RankLadder",
    "Register",
    "Registry",
    "RuleSetError",
    "SegruleError",
    "Strategy",
    "TableContract",
    "TableSpec",
    "actions_of",
    "cents_to_units",
    "did_you_mean",
    "fixed_ids",
    "hookimpl",
    "masked",
    "money_nodes",
    "ntile",
    "parse_sql",
    "parse_window",
    "rank_column",
    "referenced_names",
    "row_number",
    "tie_rank",
]


def __getattr__(name: str) -> Any:
    if name in _GENERATE:
        from segrule import generate

        return getattr(generate, name)
    raise AttributeError(f"module 'segrule.plugin' has no attribute {name!r}")
