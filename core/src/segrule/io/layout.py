"""The bucket layout on disk: tables split by the stable bucket hash, one hive folder per
bucket, and the marker that makes a folder a layout (docs/buckets.md)::

    OUT/_segrule_buckets.json
    OUT/<table>/segrule_bucket=<k>/<any>.parquet     k = 0..B-1 in decimal, no padding

A bucket with no rows of a table has no folder (it is empty). The files hold the table's
columns as read from its source (the user's names; no bucket column). The marker is
written last, so a folder without it is not a layout. :func:`read_layout` reads and
checks a layout; the hash itself is :mod:`segrule.engine.buckets`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from segrule.errors import DataError, first_line

#: The marker file at the top of a layout.
MARKER: Final = "_segrule_buckets.json"
#: Its ``format`` and ``version``.
LAYOUT_FORMAT: Final = "segrule-buckets"
LAYOUT_VERSION: Final = 1
#: The hash, as the marker states it, and its seed (Spark's ``xxhash64``).
HASH_TEXT: Final = "pmod(xxhash64(cast(id as string)), buckets)"
LAYOUT_SEED: Final = 42
#: The hive column of the bucket folders.
BUCKET_COLUMN: Final = "segrule_bucket"
#: The most buckets a layout may have.
MAX_BUCKETS: Final = 65536
#: A marker larger than this is not one segrule wrote (it is read whole).
_MAX_MARKER_BYTES = 64 << 20

#: A table's folder name: a word (letters, digits, _ and - in any script), not hidden,
#: not starting with _ (the marker's prefix), nothing that walks out of the folder.
TABLE_NAME = re.compile(r"[^\W_][\w-]*")
_BUCKET_DIR = re.compile(rf"{BUCKET_COLUMN}=(0|[1-9][0-9]*)")


@dataclass(frozen=True)
class LayoutTable:
    """One table of a layout, as the marker records it."""

    name: str
    #: The source column that holds the customer id (the user's name for it).
    id_column: str
    rows: int
    #: Where the table was read from (passwords hidden).
    source: str
    #: The formats the rows were read from (``csv``, ``parquet``, ``xlsx``, ``database``,
    #: ``frame``, ...): a table read from CSV, NDJSON or Excel holds text columns, which
    #: a run parses as it parses those files (empty when a writer did not say).
    formats: tuple[str, ...] = ()

    @property
    def text(self) -> bool:
        """Whether every column is text as read from CSV, NDJSON or Excel."""
        from segrule.io.formats import TEXT_FORMATS

        return bool(self.formats) and set(self.formats) <= set(TEXT_FORMATS)


@dataclass(frozen=True)
class Layout:
    """A bucket layout read from its marker (:func:`read_layout`)."""

    folder: Path
    buckets: int
    tables: Mapping[str, LayoutTable]

    def _table(self, table: str) -> LayoutTable:
        found = self.tables.get(table)
        if found is None:
            listed = ", ".join(sorted(self.tables)) or "none"
            raise DataError(
                f"{self.folder}: the bucket layout has no table '{table}' (it holds: {listed})"
            )
        return found

    def bucket_folder(self, table: str, k: int) -> Path:
        """``<folder>/<table>/segrule_bucket=<k>`` (it may not exist: an empty bucket)."""
        self._table(table)
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < self.buckets:
            raise DataError(
                f"{self.folder}: bucket {k!r} is not one of this layout's 0..{self.buckets - 1}"
            )
        return self.folder / table / f"{BUCKET_COLUMN}={k}"

    def files(self, table: str, k: int) -> list[Path]:
        """The Parquet files of bucket ``k`` of ``table``, sorted; empty for an empty
        bucket. Hidden files and files starting with ``_`` (Spark's ``_SUCCESS``,
        ``.crc`` files) are not data."""
        folder = self.bucket_folder(table, k)
        if not folder.is_dir():
            return []
        return sorted(
            folder / e.name
            for e in os.scandir(folder)
            if e.name.endswith(".parquet")
            and not e.name.startswith((".", "_"))
            and e.is_file(follow_symlinks=True)
        )

    def table_files(self, table: str) -> list[Path]:
        """Every file of ``table``, bucket by bucket (0 first), each bucket's sorted."""
        return [f for k in self.nonempty_buckets(table) for f in self.files(table, k)]

    def nonempty_buckets(self, table: str) -> list[int]:
        """The buckets of ``table`` that have a folder, in order."""
        self._table(table)
        base = self.folder / table
        if not base.is_dir():
            return []
        found = []
        for e in os.scandir(base):
            m = _BUCKET_DIR.fullmatch(e.name)
            if m and e.is_dir() and int(m.group(1)) < self.buckets:
                found.append(int(m.group(1)))
        return sorted(found)

    def schema(self, table: str) -> pl.Schema:
        """The table's columns and types, from the first of its files (an empty bucket
        has no file of its own, so any file of the table gives the schema)."""
        for f in self.table_files(table):
            try:
                return pl.Schema(pl.read_parquet_schema(f))
            except (Exception, pl.exceptions.PanicException) as exc:
                raise DataError(
                    f"{f}: cannot be read ({first_line(exc)}); is it a complete, valid file?"
                ) from None
        raise DataError(
            f"{self.folder}: the bucket layout holds no file of table '{table}', so its "
            "columns are unknown; write the layout again (an empty table keeps one empty file)"
        )


def read_layout(folder: str | Path) -> Layout | None:
    """The layout in ``folder``, or None when it holds no marker (a folder without one
    is not a layout, e.g. one whose writer did not finish). A marker that cannot be
    read, has another format or version, another hash, or lists a table whose folder
    holds something other than bucket folders is a one-line DataError."""
    base = Path(folder)
    marker = base / MARKER
    if not marker.is_file():
        return None
    where = str(marker)
    try:
        if marker.stat().st_size > _MAX_MARKER_BYTES:
            raise DataError(f"{where}: too large for a bucket layout marker; is it one?")
        record = json.loads(marker.read_text(encoding="utf-8"))
    except DataError:
        raise
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(
            f"{where}: cannot be read as a bucket layout marker ({first_line(exc)}); write "
            "the layout again with segrule bucket"
        ) from None
    if not isinstance(record, dict):
        raise DataError(f"{where}: not a bucket layout marker (not a JSON object)")
    fmt = record.get("format")
    if fmt != LAYOUT_FORMAT:
        raise DataError(f"{where}: format {fmt!r} is not {LAYOUT_FORMAT!r}; not a bucket layout")
    version = record.get("version")
    if version != LAYOUT_VERSION or isinstance(version, bool):
        raise DataError(
            f"{where}: bucket layout version {version!r} is not one this segrule reads "
            f"({LAYOUT_VERSION}); upgrade segrule or write the layout again"
        )
    buckets = record.get("buckets")
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 1 <= buckets <= MAX_BUCKETS:
        raise DataError(
            f"{where}: buckets {buckets!r} is not a whole number between 1 and {MAX_BUCKETS}"
        )
    if record.get("hash") != HASH_TEXT or record.get("seed") != LAYOUT_SEED:
        raise DataError(
            f"{where}: the layout was split by hash {record.get('hash')!r} with seed "
            f"{record.get('seed')!r}, not {HASH_TEXT!r} with seed {LAYOUT_SEED}; write it "
            "again with segrule bucket"
        )
    tables_record = record.get("tables")
    if not isinstance(tables_record, dict):
        raise DataError(f"{where}: 'tables' must be an object of table name -> details")
    tables: dict[str, LayoutTable] = {}
    for name, entry in tables_record.items():
        tables[name] = _table_entry(where, name, entry)
    layout = Layout(base, buckets, tables)
    for name in tables:
        _check_table_folder(layout, name)
    return layout


def _table_entry(where: str, name: Any, entry: Any) -> LayoutTable:
    if not isinstance(name, str) or not TABLE_NAME.fullmatch(name):
        raise DataError(f"{where}: {name!r} is not a table name (letters, digits, _ and -)")
    if not isinstance(entry, dict):
        raise DataError(f"{where}: table '{name}' must be an object")
    id_column, rows, source = entry.get("id_column"), entry.get("rows"), entry.get("source")
    if not isinstance(id_column, str) or not id_column:
        raise DataError(f"{where}: table '{name}' has no id_column (the customer id's column)")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise DataError(f"{where}: table '{name}': rows {rows!r} is not a count of rows")
    if not isinstance(source, str):
        raise DataError(f"{where}: table '{name}': source must be text")
    formats = entry.get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise DataError(f"{where}: table '{name}': formats must be a list of format names")
    return LayoutTable(name, id_column, rows, source, tuple(formats))


def _check_table_folder(layout: Layout, table: str) -> None:
    """A table's folder holds bucket folders of this layout only (and hidden or ``_``
    entries, such as Spark's ``_SUCCESS``): anything else would be data a reader
    silently skips or reads twice."""
    base = layout.folder / table
    if not base.is_dir():
        raise DataError(
            f"{layout.folder}: the bucket layout lists table '{table}' but has no folder "
            f"{table}/; write the layout again"
        )
    for e in os.scandir(base):
        if e.name.startswith((".", "_")):
            continue
        m = _BUCKET_DIR.fullmatch(e.name)
        if m is None or not e.is_dir():
            raise DataError(
                f"{base / e.name}: not a bucket folder ({BUCKET_COLUMN}=<k>, k in decimal "
                "without padding); a bucket layout's table folder holds only those"
            )
        if int(m.group(1)) >= layout.buckets:
            raise DataError(
                f"{base / e.name}: bucket {m.group(1)} is beyond the layout's "
                f"{layout.buckets} buckets (0..{layout.buckets - 1}); write the layout again"
            )


def layout_table_of(folder: str | Path) -> tuple[Layout, str, int | None] | None:
    """(the layout, the table, None) when ``folder`` is a table folder of a bucket
    layout (its parent holds the marker and lists it); (the layout, the table, k) when
    it is bucket ``k``'s folder of such a table (``<layout>/<table>/segrule_bucket=<k>``,
    what one worker of a cluster reads); else None."""
    path = Path(folder)
    if not path.is_dir():
        return None
    bucket: int | None = None
    found = _BUCKET_DIR.fullmatch(path.name)
    if found is not None:
        bucket = int(found.group(1))
        path = path.parent
    if not (path.parent / MARKER).is_file():
        return None
    layout = read_layout(path.parent)
    if layout is None or path.name not in layout.tables:
        return None
    if bucket is not None and bucket >= layout.buckets:
        return None
    return layout, path.name, bucket


def layout_record(buckets: int, tables: Mapping[str, LayoutTable]) -> dict[str, Any]:
    """The marker's content for a layout of ``buckets`` holding ``tables``."""
    return {
        "format": LAYOUT_FORMAT,
        "version": LAYOUT_VERSION,
        "buckets": buckets,
        "hash": HASH_TEXT,
        "seed": LAYOUT_SEED,
        "tables": {
            name: {
                "id_column": t.id_column,
                "rows": t.rows,
                "source": t.source,
                "formats": list(t.formats),
            }
            for name, t in sorted(tables.items())
        },
    }
