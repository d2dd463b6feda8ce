"""Tables given in memory to the Python API: polars frames as they are, pandas and
pyarrow tables (and anything speaking the Arrow PyCapsule stream interface) converted to
polars without copying where Arrow allows, a pyarrow dataset scanned lazily.

Neither pandas nor pyarrow is imported here: an object is recognised by its type's module,
so that a run given only paths or polars frames does not load them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypeAlias

import polars as pl

from segrule.errors import UsageError


class ArrowStreamExportable(Protocol):
    """An object speaking the Arrow PyCapsule stream interface: pandas (2.2+) and pyarrow
    tables, DuckDB relations, nanoarrow streams, ..."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...


class ArrowDataset(Protocol):
    """A pyarrow dataset (``pyarrow.dataset.Dataset``): scanned lazily, filters pushed down."""

    def scanner(self, *args: Any, **kwargs: Any) -> Any: ...


#: What the Python API takes as a table: a path or URL, a polars frame, a pyarrow dataset
#: or any Arrow stream (pandas DataFrame, pyarrow Table, ...).
TableLike: TypeAlias = (
    str | Path | pl.DataFrame | pl.LazyFrame | ArrowDataset | ArrowStreamExportable
)

#: What a table given in memory may be, for error messages.
ACCEPTED = (
    "a path or URL (str or pathlib.Path), a polars DataFrame or LazyFrame, a pandas "
    "DataFrame, or a pyarrow Table, RecordBatch, RecordBatchReader or Dataset"
)


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__.split(".")[0]
    return kind.__name__ if module == "builtins" else f"{module}.{kind.__name__}"


def table_input(name: str, value: Any) -> str | Path | pl.LazyFrame | pl.DataFrame:
    """``value``, given for table ``name``, as what the engine reads: a path or URL as it
    is, a polars frame as it is, other frames converted (zero-copy for Arrow memory that
    polars can take as it is: pyarrow tables, pandas frames backed by Arrow, numeric
    NumPy columns), a pyarrow dataset as a lazy scan with its filters pushed down.
    Anything else is a UsageError naming the table and the type, never the value."""
    if isinstance(value, (str, Path, pl.DataFrame, pl.LazyFrame)):
        return value
    module = type(value).__module__.split(".")[0]
    kind = type(value).__name__
    if kind == "Series":  # a column, though it speaks the Arrow stream interface
        raise UsageError(
            f"table '{name}': a {_type_name(value)} is one column, not a table; give "
            "series.to_frame(), or a frame"
        )
    bases = {b.__name__ for b in type(value).__mro__}
    try:
        if module == "pandas" and kind == "DataFrame":
            return pl.from_pandas(value)
        if module == "pyarrow" and "Dataset" in bases:
            return pl.scan_pyarrow_dataset(value)
        if module == "pyarrow" and kind in ("Table", "RecordBatch", "RecordBatchReader"):
            converted = pl.from_arrow(value)
            if isinstance(converted, pl.Series):  # not reached for these kinds
                converted = converted.to_frame()
            return converted
        if hasattr(value, "__arrow_c_stream__") and not isinstance(value, type):
            return pl.DataFrame(value)
    except (Exception, pl.exceptions.PanicException) as exc:
        raise UsageError(
            f"table '{name}': the {_type_name(value)} given cannot be converted to a polars "
            f"frame ({type(exc).__name__}); give {ACCEPTED}"
        ) from None
    raise UsageError(f"table '{name}': a {_type_name(value)} is not a table; give {ACCEPTED}")


def table_inputs(tables: Any) -> dict[str, Any] | None:
    """Each table of the mapping ``tables`` as :func:`table_input` makes it (None kept:
    a table given as None is not given)."""
    if tables is None:
        return None
    if not hasattr(tables, "items"):
        raise UsageError(
            f"tables must be a mapping of table name to table (e.g. {{'orders': frame}}), "
            f"not a {_type_name(tables)}"
        )
    out: dict[str, Any] = {}
    for name, value in tables.items():
        if not isinstance(name, str):
            raise UsageError(
                f"tables: a table name must be text (orders, customers, ...), not a "
                f"{_type_name(name)}"
            )
        out[name] = None if value is None else table_input(name, value)
    return out
