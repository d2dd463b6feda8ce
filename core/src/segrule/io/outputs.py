"""Reading outputs written by ``segrule run`` (for diff and report): one reader for every
output format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from segrule.errors import DataError, first_line
from segrule.io import excel
from segrule.io.formats import EXCEL_FORMATS, FORMATS, format_of
from segrule.model.keys import BASE


def scan_output(path: str | Path) -> pl.LazyFrame:
    """A lazy scan of an output file, by its extension; checks it has ``customer_id``.

    The file is read by its name (``[x]`` in a name is no glob pattern); a CSV's
    customer ids are read as text (leading zeros kept); categorical ids become text. An
    .xlsx output is read whole (its first sheet, with the cells' types; customer ids
    as text, like a CSV's)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: output file not found; check the path")
    kind = format_of(p)
    if kind is None:
        raise DataError(
            f"{p}: cannot tell the format of an output from its extension; use {', '.join(FORMATS)}"
        )
    try:
        if kind == "parquet":
            lf = pl.scan_parquet(p, glob=False)
        elif kind == "csv":
            lf = pl.scan_csv(
                p, schema_overrides={BASE: pl.String}, infer_schema_length=10_000, glob=False
            )
        elif kind == "ipc":
            lf = pl.scan_ipc(p, glob=False)
        elif kind in EXCEL_FORMATS:
            lf = excel.read_output_sheet(p, (BASE,)).lazy()
        else:
            lf = pl.scan_ndjson(p)
        schema = lf.collect_schema()
    except DataError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{p}: cannot read it as {kind}: {first_line(exc)}") from None
    except Exception as exc:  # fastexcel's own errors: a damaged or encrypted workbook
        if kind not in EXCEL_FORMATS:
            raise
        raise DataError(f"{p}: cannot read it as {kind}: {first_line(exc)}") from None
    if BASE not in schema:
        raise DataError(
            f"{p}: has no customer_id column (columns: {', '.join(list(schema)[:10])}); "
            "an output of `segrule run` has one row per customer"
        )
    if isinstance(schema[BASE], pl.Categorical | pl.Enum):
        return lf.with_columns(pl.col(BASE).cast(pl.String))
    return lf


def read_output(path: str | Path) -> tuple[pl.DataFrame, dict[str, Any] | None]:
    """The output as a DataFrame (this collects) and its manifest (Parquet only)."""
    from segrule.io.manifest import read_manifest

    p = Path(path)
    lf = scan_output(p)
    try:
        df = lf.collect()
        manifest = read_manifest(p) if format_of(p) == "parquet" else None
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{p}: cannot be read: {first_line(exc)}") from exc
    return df, manifest
