"""Reading outputs written by ``segrule run`` (for diff and report): one reader for every
output format; and the rollups folders ``segrule rollup`` writes."""

from __future__ import annotations

import json
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


# -- rollups folders ---------------------------------------------------------------------
#: The marker file of a rollups folder (``segrule rollup --out DIR``): JSON listing the
#: files segrule wrote there and, per rollup, its file, group keys and titles.
ROLLUPS_MARKER = ".segrule-rollups"


def read_rollups(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The rollups in a folder written by ``segrule rollup``
    (:func:`segrule.grouped.rollup`), by name, in the order written: ``{"file": Path,
    "keys": [...], "zh"/"en": title, "table": DataFrame}`` (this reads the files). A
    folder without a readable marker, or a file it lists that cannot be read, is a
    DataError."""
    path = Path(folder)
    marker = path / ROLLUPS_MARKER
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        listed = record.get("rollups") or {}
        if not isinstance(listed, dict):
            raise ValueError("rollups is not a mapping")
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError(
            f"{path} is not a rollups folder (its {ROLLUPS_MARKER} marker cannot be read: "
            f"{type(exc).__name__}); give a folder written by segrule rollup"
        ) from None
    out: dict[str, dict[str, Any]] = {}
    for name, info in listed.items():
        info = info if isinstance(info, dict) else {}
        file_name = str(info.get("file", ""))
        keys = [str(k) for k in info.get("keys") or [] if isinstance(k, str)]
        # Plain names only: a marker edited to list ../x must not make segrule read it.
        if not file_name or Path(file_name).name != file_name or not (path / file_name).is_file():
            raise DataError(
                f"{path}: rollup '{name}' has no file here ({file_name or 'none listed'}); "
                "write the folder again with segrule rollup"
            )
        file = path / file_name
        out[str(name)] = {**info, "keys": keys, "file": file, "table": _read_table(file, keys)}
    return out


def _read_table(file: Path, keys: list[str]) -> pl.DataFrame:
    """One rollup file as written (this reads it); a DataError when it cannot be read.
    In a CSV the group keys are read as text (a product code 007 keeps its zeros)."""
    kind = format_of(file)
    try:
        if kind == "parquet":
            return pl.read_parquet(file, glob=False)
        if kind == "ipc":
            return pl.read_ipc(file)
        if kind == "csv":
            return pl.read_csv(file, schema_overrides=dict.fromkeys(keys, pl.String), glob=False)
        if kind == "ndjson":
            return pl.read_ndjson(file)
        if kind in EXCEL_FORMATS:
            return pl.read_excel(file)
    except Exception as exc:
        raise DataError(f"{file}: cannot be read: {first_line(exc)}") from None
    raise DataError(f"{file}: not a rollup file segrule writes (.parquet, .csv, ...)")
