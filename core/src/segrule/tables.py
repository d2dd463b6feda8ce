"""Table contracts and sources.

A :class:`TableContract` names a table's columns, their types and which are
required. Sources are Parquet files, globs and hive-partitioned folders, Arrow IPC
files and CSV files, always scanned lazily.
"""

from __future__ import annotations

import glob as globlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from segrule.errors import DataError

if TYPE_CHECKING:
    from segrule.registry import Owner

ColumnType = Literal["string", "datetime", "number", "integer", "boolean"]
EXTENSIONS = (".parquet", ".arrow", ".ipc", ".feather", ".csv")


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


def find_table_source(data_dir: str | Path, table: str) -> Path | None:
    """``<table>.parquet`` (or .arrow/.ipc/.feather/.csv) or a ``<table>/`` folder in data_dir."""
    base = Path(data_dir)
    for ext in EXTENSIONS:
        p = base / f"{table}{ext}"
        if p.is_file():
            return p
    folder = base / table
    if folder.is_dir():
        return folder
    return None


def scan_source(source: str | Path) -> pl.LazyFrame:
    """Scan a file, a glob or a hive-partitioned folder lazily."""
    text = str(source)
    path = Path(text)
    has_glob = any(ch in text for ch in "*?[")
    if has_glob:
        matches = sorted(globlib.glob(text, recursive=True))
        if not matches:
            raise DataError(f"{text}: no file matches this pattern; check the path")
        suffix = Path(matches[0]).suffix.lower()
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in EXTENSIONS)
        if not files:
            raise DataError(f"{text}: the folder holds no .parquet/.arrow/.ipc/.csv file")
        suffix = files[0].suffix.lower()
        text = str(path / "**" / f"*{suffix}")
    elif not path.exists():
        raise DataError(f"{text}: file not found; check the path or pass --data DIR")
    else:
        suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.scan_parquet(text, hive_partitioning=path.is_dir() or None)
        if suffix in (".arrow", ".ipc", ".feather"):
            return pl.scan_ipc(text)
        if suffix == ".csv":
            # Every column as text: the contract's columns are parsed by segrule, and a
            # value that does not parse becomes a counted bad row (bad_amount,
            # bad_timestamp) instead of failing the whole run, as inferring types from
            # the first rows would when a bad value comes later.
            return pl.scan_csv(text, infer_schema=False)
    except (Exception, pl.exceptions.PanicException) as exc:
        raise DataError(f"{text}: cannot be read: {exc}") from exc
    raise DataError(
        f"{text}: unknown file type '{suffix}'; use .parquet, .arrow/.ipc/.feather or .csv"
    )


def read_schema(frame: pl.LazyFrame, source: str) -> pl.Schema:
    """The schema of a scan (reads file metadata only)."""
    try:
        return frame.collect_schema()
    except (Exception, pl.exceptions.PanicException) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{source}: cannot be read ({msg}); is it a complete, valid file?") from exc


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
