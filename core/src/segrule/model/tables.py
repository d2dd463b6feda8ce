"""Table contracts: a table's columns, their types and which are required.

Core registers ``orders``, ``customers``, ``events`` and ``feedback``; plugins add
their own (``segrule_register_tables``). Where a table's rows come from is
:mod:`segrule.io.sources`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

if TYPE_CHECKING:
    from segrule.plugins.registry import Owner


ColumnType = Literal["string", "datetime", "number", "integer", "boolean"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    description: str = ""


@dataclass
class TableContract:
    """The column contract of one table.

    ``ts_column`` is the column holding when a row happened: rows at or after the
    as-of instant are never counted. Every table is keyed by ``customer_id``.

    ``generate`` (optional) makes synthetic rows for ``segrule generate --vertical``: a
    function ``(ctx: segrule.generate.GenContext) -> Iterator[pyarrow.Table]`` following
    the contract in :mod:`segrule.generate`; ``rows(ctx)`` is the expected row count
    (for progress). Import numpy/pyarrow inside it, not at plugin import time.

    ``core_generators`` (optional) maps a core table (``orders``, ``customers``,
    ``events``, ``feedback``) to a ``(generate, rows)`` pair that replaces core's
    generator of it when ``segrule generate --vertical`` names this table's plugin, so
    that the core tables look like the trade too (B2B orders are few, large and
    periodic, not retail baskets).

    ``extra["row_id"]`` (optional) names a column that identifies a row (orders:
    ``order_id``): ``first()``/``last()`` aggregates break ties in time by it.
    """

    name: str
    columns: list[Column]
    description: str = ""
    ts_column: str | None = None
    owner: Owner | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    generate: Callable[[Any], Iterator[Any]] | None = None
    rows: Callable[[Any], int] | None = None
    core_generators: dict[str, tuple[Callable[[Any], Iterator[Any]], Callable[[Any], int]]] = field(
        default_factory=dict
    )

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


_POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "datetime": pl.Datetime("us"),
    "number": pl.Float64(),
    "integer": pl.Int64(),
    "boolean": pl.Boolean(),
}


def contract_frame(contract: TableContract) -> pl.DataFrame:
    """An empty frame with the contract's columns, for checking rules without data."""
    return pl.DataFrame(schema={c.name: _POLARS_TYPES[c.type] for c in contract.columns})
