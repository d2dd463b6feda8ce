"""``segrule bucket``: every table split by the stable bucket hash into a bucket layout
(docs/buckets.md), so that a cluster scores each bucket where it lies, without a shuffle.

The tables are the ones segrule would read: those the rule sets name a source for, the
tables given, and every table of a known contract (orders, customers, events, feedback
and the plugins' tables) found in the data folder. Each is read as a run reads it (any
format, encoding, store; :func:`segrule.io.sources.scan_table`), its rows split by
``pmod(xxhash64(cast(<customer id> as string)), B)`` (:mod:`segrule.engine.buckets`) and
written streaming, one Parquet file per non-empty bucket, with polars' partitioned sink:
a table is never held in memory. The customer id column is the rule set's
``tables.<t>.columns.customer_id``, else ``customer_id``.

The layout is written into a temporary folder beside the output, its marker last, and
put in place whole (:func:`segrule.io.outpaths.replacing_folder`): a failed run leaves
nothing, or the previous layout.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segrule.engine.buckets import BUCKET_COLUMN, bucket_expr, check_buckets, check_id_dtype
from segrule.engine.build import as_ruleset
from segrule.engine.compiler import locate_kind, source_options
from segrule.engine.execute import data_folder_inputs
from segrule.errors import DataError, SegruleError, UsageError, did_you_mean, first_line, option
from segrule.io import cleanup, outpaths
from segrule.io.encodings import copies_scope
from segrule.io.formats import format_of
from segrule.io.frames import table_inputs
from segrule.io.layout import MARKER, TABLE_NAME, LayoutTable, layout_record, read_layout
from segrule.io.locations import redact
from segrule.io.outpaths import Inputs, OutputPathError
from segrule.io.sink import ROW_GROUP_ROWS, writes_checksums
from segrule.io.sources import NO_OPTIONS, SourceOptions, find_table_source, read_schema, scan_table
from segrule.model.keys import BASE
from segrule.model.ruleset import RuleSet
from segrule.plugins.registry import Registry

log = logging.getLogger(__name__)

_BUCKET_DIR = re.compile(rf"{BUCKET_COLUMN}=(\d+)$")


@dataclass
class BucketedTable:
    """One table written into the layout."""

    name: str
    #: Where it was read from (passwords hidden).
    source: str
    #: The source column holding the customer id.
    id_column: str
    #: Rows of each bucket, 0..B-1 (0 for an empty bucket).
    bucket_rows: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.bucket_rows)

    @property
    def nonempty(self) -> int:
        """Buckets holding at least one row."""
        return sum(1 for n in self.bucket_rows if n)

    @property
    def largest(self) -> int:
        return max(self.bucket_rows, default=0)

    @property
    def smallest(self) -> int:
        return min(self.bucket_rows, default=0)

    @property
    def skew(self) -> float:
        """The largest bucket's rows over the mean bucket's (1.0: perfectly even)."""
        mean = self.rows / len(self.bucket_rows) if self.bucket_rows else 0
        return self.largest / mean if mean else 0.0


@dataclass
class BucketResult:
    """What :func:`bucket` wrote."""

    out: Path
    buckets: int
    tables: dict[str, BucketedTable]
    seconds: float = 0.0


@dataclass(frozen=True)
class _Source:
    name: str
    source: Any  # a path, URL or polars frame
    options: SourceOptions
    id_column: str


def bucket(
    rulesets: RuleSet | str | Path | Sequence[str | Path] = (),
    *,
    data: str | Path | None = None,
    tables: Mapping[str, Any] | None = None,
    buckets: int,
    out: str | Path,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
) -> BucketResult:
    """Split every table segrule would read into ``buckets`` buckets by the customer id
    and write the bucket layout to the folder ``out`` (see the module docstring).

    ``rulesets``: rule files or preset names whose tables (sources, reading options,
    column maps) are used; none: every known table found in ``data``. ``tables``: paths,
    URLs or frames by table name, as for :func:`segrule.run`. ``out`` must be a new or
    empty folder or a layout written before (it is replaced whole), never an input,
    inside one or holding one. ``buckets``: 1 to 65536."""
    t0 = time.perf_counter()
    buckets = check_buckets(buckets)
    engine = engine or Registry(plugins=list(plugins))
    given = {k: v for k, v in (table_inputs(tables) or {}).items() if v is not None}
    rs = as_ruleset(rulesets, engine) if _given(rulesets) else None
    with copies_scope():
        sources = _sources(engine, rs, given, data)
        inputs = _inputs(sources, rs, data, engine)
        target = check_out(out, inputs, data=data, engine=engine)
        written: dict[str, BucketedTable] = {}
        entries: dict[str, LayoutTable] = {}
        with outpaths.replacing_folder(target, what=option("out")) as tmp:
            for src in sources:
                table, entry = _write_table(src, tmp, buckets)
                written[src.name] = table
                entries[src.name] = entry
            # The marker last: a folder without it is not a layout.
            record = layout_record(buckets, entries)
            with outpaths.replacing(tmp / MARKER, what=option("out")) as marker_tmp:
                marker_tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        log.info("wrote the bucket layout %s", target)
    return BucketResult(target, buckets, written, time.perf_counter() - t0)


def _given(rulesets: object) -> bool:
    if isinstance(rulesets, RuleSet | str | Path):
        return True
    return bool(rulesets)


def _sources(
    engine: Registry, rs: RuleSet | None, given: Mapping[str, Any], data: str | Path | None
) -> list[_Source]:
    """The tables to bucket, each with its source, reading options and id column: given
    tables first, then the rule set's sources, then the data folder's tables."""
    specs = rs.model.tables if rs is not None else {}
    names = list(dict.fromkeys([*given, *specs, *engine.tables.items]))
    found: list[_Source] = []
    for name in names:
        spec = specs.get(name)
        source: Any = given.get(name)
        if source is None and spec is not None and spec.source:
            source = spec.source
        if source is None and data is not None:
            source = find_table_source(data, name)
        if source is None:
            continue
        if not TABLE_NAME.fullmatch(name):
            raise UsageError(
                f"table name '{name}' cannot name a folder of the layout: use letters, digits, "
                "_ and - (not starting with _ or -)"
            )
        id_column = spec.columns.get(BASE, BASE) if spec is not None else BASE
        options = source_options(spec) if spec is not None else NO_OPTIONS
        found.append(_Source(name, source, options, id_column))
    if not found:
        looked = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        where = f"in {redact(str(data))} " if data is not None else ""
        raise UsageError(
            f"no table to bucket: none of {looked} was found {where}(give {option('data')} "
            "DIR, tables, or a rule set whose tables name their sources)"
        )
    return found


def _inputs(
    sources: Sequence[_Source], rs: RuleSet | None, data: str | Path | None, engine: Registry
) -> Inputs:
    """What this command reads: the tables' sources, the rule files and the data
    folder's tables (an output must replace none of them)."""
    items: list[tuple[str, str | Path | None]] = [
        (f"the {s.name} table", s.source) for s in sources if isinstance(s.source, str | Path)
    ]
    if rs is not None:
        items += [("a rule file", src) for src in rs.sources]
    return Inputs.of(items) | data_folder_inputs(data, engine)


def check_out(
    out: str | Path,
    inputs: Inputs = outpaths.NO_INPUTS,
    *,
    data: str | Path | None = None,
    engine: Registry | None = None,
) -> Path:
    """Check the layout folder ``out`` before anything is read: a local folder, new,
    empty, or a bucket layout (its marker) holding nothing but its tables; never an
    input, inside one or holding one; not a link; and not a table of the data folder
    the next run would read (``DATA/orders/``)."""
    what = option("out")
    folder = outpaths.check_folder(out, what=what, inputs=inputs)
    if folder.is_symlink():
        raise OutputPathError(
            f"{what} {folder} is a symbolic link; give the folder itself, it is replaced whole"
        )
    if data is not None and locate_kind(str(data)) == "file":
        names = set(engine.tables.items if engine is not None else ()) | {
            "orders",
            "customers",
            "events",
            "feedback",
            "messages",
        }
        real_parent = Path(os.path.realpath(folder.parent))
        stem = folder.name.split(".", 1)[0]
        if real_parent == Path(os.path.realpath(str(data))) and stem in names:
            raise OutputPathError(
                f"{what} {folder} would be read as the {stem} table of {data} by the next "
                f"run; put the layout in a folder of its own, not among the tables"
            )
    if not folder.is_dir():
        return folder
    entries = sorted(e.name for e in os.scandir(folder))
    if not entries:
        return folder
    if MARKER not in entries:
        shown = _some(entries)
        raise OutputPathError(
            f"{what} {folder} holds files segrule did not write ({shown}) and no {MARKER} "
            "marker; give a new or empty folder, or a bucket layout to replace"
        )
    try:
        layout = read_layout(folder)
    except DataError as exc:
        raise OutputPathError(
            f"{what} {folder}: its layout cannot be replaced ({exc}); give a new or empty folder"
        ) from None
    assert layout is not None
    foreign = [e for e in entries if e != MARKER and e not in layout.tables]
    if foreign:
        shown = _some(foreign)
        raise OutputPathError(
            f"{what} {folder} is a bucket layout that also holds files segrule did not write "
            f"({shown}); move them, or give a new or empty folder"
        )
    return folder


def _footer_rows(path: Path) -> int:
    """The rows of a Parquet file, from its footer."""
    return int(pl.scan_parquet(path, glob=False).select(pl.len()).collect().item())


def _some(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _formats(scan_files: Sequence[Any], source: Any, scanned: frozenset[str] | None) -> list[str]:
    """What the rows were read from, for the marker (a run on the layout parses text
    columns of CSV, NDJSON and Excel as it parses those files)."""
    if scanned is not None:
        return sorted(scanned)
    if isinstance(source, pl.DataFrame | pl.LazyFrame):
        return ["frame"]
    if not scan_files and isinstance(source, str) and locate_kind(source) == "database":
        return ["database"]
    return sorted({f for f in (format_of(str(p).split("?", 1)[0]) for p in scan_files) if f})


def _write_table(src: _Source, folder: Path, buckets: int) -> tuple[BucketedTable, LayoutTable]:
    """Read one table and write its buckets under ``folder/<table>``."""
    name, col = src.name, src.id_column
    if isinstance(src.source, pl.DataFrame | pl.LazyFrame):
        label = f"<{type(src.source).__name__}>"
        frame = src.source.lazy()
        files: Sequence[Any] = []
        scanned_formats: frozenset[str] | None = None
    else:
        kind = locate_kind(str(src.source)) if isinstance(src.source, str) else "file"
        shown = os.path.abspath(src.source) if kind == "file" else str(src.source)
        label = redact(str(shown))
        if src.options.table and locate_kind(str(src.source)) == "database":
            label = f"{label}#{src.options.table}"
        log.info("reading %s (%s)", name, label)
        scanned = scan_table(src.source, options=src.options, table=name)
        if scanned.conflicts:
            _column, message = next(iter(sorted(scanned.conflicts.items())))
            raise DataError(f"{label}: {message}")
        frame, files, scanned_formats = scanned.frame, scanned.files, scanned.formats
    schema = read_schema(frame, label)
    if col not in schema:
        how = (
            f"map it with tables.{name}.columns.customer_id in a rule set"
            if col == BASE
            else f"check tables.{name}.columns.customer_id of the rule set"
        )
        raise DataError(
            f"{label}: table '{name}' has no column '{col}' to bucket by (the customer id)"
            f"{did_you_mean(col, schema.names())}; {how}"
        )
    if BUCKET_COLUMN in schema:
        raise DataError(
            f"{label}: table '{name}' has a column '{BUCKET_COLUMN}', the name of the layout's "
            "bucket folders; rename or drop it before bucketing"
        )
    check_id_dtype(schema[col], name, col)
    base = folder / name
    rows = [0] * buckets
    sinked: list[Any] = []
    log.info("bucketing %s (%s) by %s into %d buckets", name, label, col, buckets)
    try:
        cleanup.interruptible(
            frame.sink_parquet,
            pl.PartitionBy(str(base), key=bucket_expr(col, buckets), include_key=False),
            compression="zstd",
            statistics=True,
            row_group_size=ROW_GROUP_ROWS,
            sync_on_close="all",
            mkdir=True,
            engine="streaming",
            sinked_paths_callback=sinked.append,
        )
    except SegruleError as exc:
        # Raised inside the hash (a UInt64 id above 2**63-1): polars appends the
        # expression to its text.
        raise type(exc)(f"{label}: table '{name}': {first_line(exc)}") from None
    except (OSError, pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        if outpaths.os_errno(exc) in outpaths.WRITE_ERRNOS:
            raise
        raise DataError(f"{label}: table '{name}' cannot be read: {first_line(exc)}") from exc
    reported = {os.path.abspath(p.path): p.num_rows for args in sinked for p in args.paths}
    paths = sorted(base.glob(f"{BUCKET_COLUMN}=*/*.parquet")) if base.is_dir() else []
    # The rows per file as polars reported them; read from the footers when the report
    # does not name exactly the files written (PartitionBy is unstable API in polars 2).
    exact = set(reported) == {os.path.abspath(p) for p in paths}
    for path in paths:
        found = _BUCKET_DIR.fullmatch(path.parent.name)
        if found is None or not 0 <= int(found.group(1)) < buckets:
            raise SegruleError(f"internal error: polars wrote {path} outside the buckets")
        n = reported[os.path.abspath(path)] if exact else _footer_rows(path)
        rows[int(found.group(1))] += n
    if not paths:
        # No row at all: one empty file keeps the table's columns (bucket 0).
        empty = base / f"{BUCKET_COLUMN}=0" / "00000000.parquet"
        outpaths.make_folder(empty.parent, option("out"))
        try:
            pl.DataFrame(schema=schema).write_parquet(empty, compression="zstd")
        except OSError as exc:
            raise outpaths.write_error(empty, exc, option("out")) from exc
        paths.append(empty)
    if writes_checksums():
        from segrule.io.parquet_crc import rewrite_with_checksums

        # Page checksums in every Parquet file segrule writes (docs/security.md).
        for path in paths:
            try:
                rewrite_with_checksums(path)
            except OSError as exc:
                raise outpaths.write_error(path, exc, option("out")) from exc
    formats = _formats(files, src.source, scanned_formats)
    table = BucketedTable(name, label, col, rows)
    return table, LayoutTable(name, col, table.rows, label, tuple(formats))
