"""Table sources: Parquet files, globs and hive-partitioned folders, Arrow IPC files,
CSV files (any encoding: :mod:`segrule.io.encodings`), NDJSON files and Excel sheets
(:mod:`segrule.io.excel`), found in a data folder, checked and scanned lazily (a sheet
is read, then scanned). What a table must hold is its contract
(:mod:`segrule.model.tables`).
"""

from __future__ import annotations

import codecs
import datetime as dt
import glob as globlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from segrule.errors import DataError, first_line, option
from segrule.io import encodings, excel
from segrule.io.formats import EXCEL_FORMATS, FORMATS, INPUT_EXTENSIONS, TEXT_FORMATS
from segrule.io.layout import Layout, layout_table_of
from segrule.io.locations import Location, LocationError, locate, redact

if TYPE_CHECKING:
    from segrule.io.cloud import CloudObject


def find_table_source(data_dir: str | Path, table: str) -> Path | str | None:
    """``<table>.parquet`` (or .arrow/.ipc/.feather/.csv/.ndjson/.jsonl/.xlsx/.xlsm/.xls,
    in that order of preference) or a ``<table>/`` folder in data_dir. A data folder in an
    object store (``s3://bucket/prefix/``) is listed (one request) and the table's URL
    returned (:func:`segrule.io.cloud.find_table`)."""
    if isinstance(data_dir, str) and "://" in data_dir:
        try:
            location = locate(data_dir)
        except LocationError as exc:
            raise DataError(f"{option('data')}: {exc}") from None
        if location.kind == "cloud":
            from segrule.io.cloud import find_table

            return find_table(location.text, table, INPUT_EXTENSIONS)
        if location.kind != "file":
            raise DataError(
                f"{option('data')} {location.shown}: a data folder is a local folder or an "
                "object-store prefix (s3://bucket/prefix/); name database tables one by one"
            )
        data_dir = location.text
    base = Path(data_dir)
    for ext in INPUT_EXTENSIONS:
        p = base / f"{table}{ext}"
        if p.is_file():
            return p
        if p.exists() and not p.is_dir():
            # A FIFO, socket or device would block or never end: not read.
            raise DataError(f"{p}: not a regular file (a FIFO, socket or device); give a file")
    folder = base / table
    if folder.is_dir():
        return folder
    return None


#: How each supported suffix is read.
KINDS = {ext: FORMATS[ext] for ext in INPUT_EXTENSIONS}


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _skipped(name: str) -> bool:
    """Hidden files, and the lock files Excel keeps beside an open workbook
    (``~$orders.xlsx``, not a workbook)."""
    return name.startswith((".", "~$"))


def source_files(source: str | Path) -> list[Path]:
    """The files a table source is read from, sorted: the file itself; a glob's matches;
    a folder's files of a supported suffix (recursively). Hidden files are skipped, and
    so are files of other suffixes in a glob or folder (``_SUCCESS``, ``README``). The
    manifest lists exactly these files."""
    text = str(source)
    path = Path(text)
    if _is_glob(text):
        matches = (Path(p) for p in globlib.glob(text, recursive=True))
        return sorted(
            p
            for p in matches
            if p.is_file() and p.suffix.lower() in KINDS and not p.name.startswith("~$")
        )
    if path.is_dir():
        return _folder_files(path)[0]
    if path.is_file():
        return [path]
    return []


def _folder_files(folder: Path) -> tuple[list[Path], bool]:
    """A folder's data files, sorted, and whether the tree is plain (no hidden entry, no
    symbolic link to a folder): then polars' own ``**`` glob finds exactly these files.
    Links to folders are followed, each real folder once: a link back up the tree
    (``orders/loop -> ..``) would otherwise repeat every file until the system's limit
    on nested links."""
    files: list[Path] = []
    plain = True
    seen: set[str] = set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            plain = False
            continue
        seen.add(real)
        kept = []
        for d in sorted(dirs):
            if d.startswith("."):
                plain = False
                continue
            if os.path.islink(os.path.join(root, d)):
                plain = False
            kept.append(d)
        dirs[:] = kept
        for name in names:
            if _skipped(name):
                plain = False
                continue
            p = Path(root) / name
            if p.suffix.lower() in KINDS and p.is_file():
                files.append(p)
    return sorted(files), plain


@dataclass(frozen=True)
class SourceOptions:
    """How to read a table source beyond its location (``tables.<name>`` in a rule set).

    ``encoding``, ``delimiter``, ``decimal``: CSV files (the encoding is detected when
    not given); ``sheet``: Excel workbooks (a name or a 0-based index); ``table`` or
    ``query``: a database source (a table name, or a SELECT); ``storage_options``:
    object stores (region, endpoint; credentials come from the environment)."""

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | int | None = None
    table: str | None = None
    query: str | None = None
    storage_options: dict[str, str] | None = None


NO_OPTIONS = SourceOptions()

#: Words that name a tab as a delimiter (a rule file's ``'\t'`` in single quotes is two
#: characters).
_TAB_WORDS = ("\\t", "tab", "TAB", "\t")


def separator_of(options: SourceOptions) -> str:
    """The CSV field separator ``options`` ask for (default ``,``)."""
    if options.delimiter is None:
        return ","
    return "\t" if options.delimiter in _TAB_WORDS else options.delimiter


def options_problem(options: SourceOptions) -> tuple[str, str] | None:
    """(option, what is wrong) for a reading option that is wrong whatever the files
    hold (an unknown encoding, a delimiter of two characters, ...), else None."""
    if options.encoding is not None:
        if not isinstance(options.encoding, str):
            return "encoding", "give the encoding's name, e.g. gb18030, big5, utf-16"
        try:
            encodings.canonical_encoding(options.encoding)
        except ValueError as exc:
            return "encoding", str(exc)
    if options.delimiter is not None:
        sep = separator_of(options)
        if not isinstance(sep, str) or len(sep.encode("utf-8")) != 1 or sep in '"\r\n':
            return "delimiter", (
                f"the delimiter must be one single-byte character such as ',', ';', '|' or "
                f"tab, not {options.delimiter!r}"
            )
    if options.decimal is not None and options.decimal not in (".", ","):
        return "decimal", f"the decimal mark must be '.' or ',', not {options.decimal!r}"
    if options.decimal == "," and separator_of(options) == "," and options.delimiter is None:
        return "decimal", (
            "with decimal ',' give the delimiter too (e.g. delimiter: ';'): a comma "
            "cannot be both the field separator and the decimal mark of unquoted numbers"
        )
    return None


def option_name(key: str, table: str | None) -> str:
    """How a reading option is named in a message: ``tables.orders.encoding``."""
    return f"tables.{table}.{key}" if table else key


def _check_options_fit(
    files: list[Path], options: SourceOptions, table: str | None, shown: str
) -> None:
    """A reading option given for files it does not apply to is an error, not ignored."""
    _check_options_kinds({KINDS[f.suffix.lower()] for f in files}, options, table, shown)


def _check_options_kinds(
    kinds: set[str], options: SourceOptions, table: str | None, shown: str
) -> None:
    csv_keys = [k for k in ("encoding", "delimiter") if getattr(options, k) is not None]
    if csv_keys and "csv" not in kinds:
        raise DataError(
            f"{shown}: {option_name(csv_keys[0], table)} applies to CSV files, and this "
            f"source holds {', '.join(sorted(kinds))}; remove the option"
        )
    if options.decimal is not None and kinds != {"csv"}:
        raise DataError(
            f"{shown}: {option_name('decimal', table)} applies to CSV files only, and this "
            f"source holds {', '.join(sorted(kinds))} (their numbers need no decimal mark); "
            "remove the option"
        )
    if options.sheet is not None and not kinds & set(EXCEL_FORMATS):
        raise DataError(
            f"{shown}: {option_name('sheet', table)} applies to Excel workbooks, and this "
            f"source holds {', '.join(sorted(kinds))}; remove the option"
        )


@dataclass
class _Prepared:
    """How each file of a source is read: CSV files from a UTF-8 copy when they are in
    another encoding, with the separator; Excel sheets as read."""

    separator: str = ","
    csv_paths: dict[Path, Path] = field(default_factory=dict)
    sheets: dict[Path, pl.DataFrame] = field(default_factory=dict)

    def csv_path(self, f: Path) -> Path:
        return self.csv_paths.get(f, f)

    @property
    def copied(self) -> bool:
        return any(read != f for f, read in self.csv_paths.items())


@dataclass
class Scan:
    """A table source scanned lazily.

    ``conflicts`` maps a column whose files disagree on its type beyond what can be
    reconciled to the one-line message to raise if the column is used (the column is
    left out of ``frame``: an unused column is no reason to fail)."""

    frame: pl.LazyFrame
    #: The files read; for an object store, the objects' URLs.
    files: list[Path] | list[str]
    conflicts: dict[str, str] = field(default_factory=dict)
    #: The formats the rows were first read from, when not the files' own: a table of a
    #: bucket layout written from CSV holds CSV's text columns in Parquet files
    #: (:mod:`segrule.io.layout`). None: the files' formats.
    formats: frozenset[str] | None = None


def scan_source(source: str | Path, tz: str = "UTC") -> pl.LazyFrame:
    """Scan a file, a glob or a hive-partitioned folder lazily (see :func:`scan_table`)."""
    return scan_table(source, tz).frame


#: Environment variable switching on the check of Parquet page checksums.
VERIFY_ENV = "SEGRULE_VERIFY_CHECKSUMS"


def verify_checksums_enabled() -> bool:
    """Whether page checksums are verified: on unless ``SEGRULE_VERIFY_CHECKSUMS`` is
    ``0``/``false``/``no`` (it decodes the pages of the columns a run reads once more:
    docs/security.md has the cost)."""
    return os.environ.get(VERIFY_ENV, "").strip().lower() not in ("0", "false", "no", "off")


def scan_table(
    source: str | Path,
    tz: str = "UTC",
    *,
    verify: bool | None = None,
    columns: Iterable[str] | None = None,
    options: SourceOptions = NO_OPTIONS,
    before: tuple[str, dt.datetime] | None = None,
    table: str | None = None,
) -> Scan:
    """Scan a file, a glob or a (hive-partitioned) folder lazily.

    The files are read as one table when they agree: one kind and one schema, read by
    one scan as before (a folder of many Parquet files of one schema costs one footer
    read per file more than before, and nothing else). When they do not (a.csv beside
    b.parquet, a naive file beside a UTC one, an extra column), each file is scanned on
    its own, normalized to one type per column and the scans concatenated: still one
    lazy plan. Times: an aware column is converted to the wall time in ``tz``, as a
    single aware file is when a table is loaded, so that files of different zones agree.

    CSV files are checked first (encoding, quotes, ragged lines: :func:`prepare_csv`;
    one not in UTF-8 is read from a UTF-8 copy), Excel sheets are read (every cell as
    text), and Parquet files with page checksums are verified when ``verify`` (default:
    on unless the ``SEGRULE_VERIFY_CHECKSUMS`` environment variable is 0;
    :func:`verify_parquet`), the pages of ``columns`` only when given (the columns the
    run reads). ``options``: the rule set's reading options (encoding, delimiter,
    decimal, sheet); ``table`` names them in messages (``tables.orders.encoding``).

    A ``postgresql://`` source is read from the database (:mod:`segrule.io.database`,
    ``options.table`` or ``options.query``); ``before`` (the time column as named in
    the source, the as-of wall time in ``tz``) lets it leave out rows at or after as-of
    in its SQL. File sources ignore it: polars pushes the as-of filter into their scans.
    """
    if verify is None:
        verify = verify_checksums_enabled()
    problem = options_problem(options)
    if problem is not None:
        raise DataError(f"{option_name(problem[0], table)}: {problem[1]}")
    try:
        location = locate(source)
    except LocationError as exc:
        raise DataError(str(exc)) from None
    if location.kind == "database":
        from segrule.io.database import scan_database

        frame = scan_database(
            location.text, table=options.table, query=options.query, before=before, tz=tz
        )
        return Scan(frame, [])
    if location.kind == "cloud":
        return _scan_cloud(location, options)
    if not location.is_file:
        raise DataError(
            f"{location.shown}: reading {location.scheme}:// sources is not supported yet; "
            "copy the data to a local file"
        )
    source = location.text
    text = str(source)
    path = Path(text)
    if not _is_glob(text) and not path.exists():
        raise DataError(f"{text}: file not found; check the path or pass {option('data')} DIR")
    if path.is_dir() and not _is_glob(text):
        in_layout = layout_table_of(path)
        if in_layout is not None:
            return _scan_layout(*in_layout, tz=tz, verify=verify, columns=columns, options=options)
    if path.is_file() and not _is_glob(text) and path.suffix.lower() not in KINDS:
        raise DataError(
            f"{text}: unknown file type '{path.suffix.lower()}'; use .parquet, "
            ".arrow/.ipc/.feather, .csv, .ndjson/.jsonl or .xlsx/.xlsm/.xls"
        )
    # A folder is walked once: its files, and whether polars' own glob would find them.
    folder = path.is_dir() and not _is_glob(text)
    files, plain = _folder_files(path) if folder else (source_files(text), False)
    if not files:
        if _is_glob(text):
            raise DataError(f"{text}: no file matches this pattern; check the path")
        raise DataError(
            f"{text}: the folder holds no .parquet/.arrow/.ipc/.csv/.ndjson/.xlsx/.xls file"
        )
    base = path if path.is_dir() else None

    def shown(f: Path) -> str:
        return str(f.relative_to(base)) if base is not None else str(f)

    kinds = {KINDS[f.suffix.lower()] for f in files}
    _check_options_fit(files, options, table, text)
    prepared = _Prepared(separator_of(options))
    for f in files:
        kind = KINDS[f.suffix.lower()]
        if kind == "csv":
            prepared.csv_paths[f] = prepare_csv(
                f, shown(f), encoding=options.encoding, separator=prepared.separator, table=table
            )
        elif kind in EXCEL_FORMATS:
            prepared.sheets[f] = excel.read_sheet(f, shown(f), options.sheet)
        elif kind == "parquet" and verify:
            verify_parquet(f, shown(f), columns)
    schemas: list[pl.Schema] = []
    if len(files) > 1 or "ndjson" in kinds:
        # Footers only; in threads, since a hive folder may hold thousands of files.
        with ThreadPoolExecutor(max_workers=8) as pool:
            schemas = list(pool.map(lambda f: _file_schema(f, shown(f), prepared), files))
    # NDJSON has no hive option in polars and its text schema is per file: one scan a file.
    if len(kinds) == 1 and "ndjson" not in kinds and all(s == schemas[0] for s in schemas[1:]):
        kind = kinds.pop()
        if kind in EXCEL_FORMATS:
            sheets = [prepared.sheets[f].lazy() for f in files]
            return Scan(pl.concat(sheets) if len(sheets) > 1 else sheets[0], files)
        names: str | list[str] = [str(prepared.csv_path(f)) for f in files]
        if base is not None and not prepared.copied:
            suffix = files[0].suffix
            # polars expands its own glob faster than it takes a long list; it reads
            # hidden files too and follows links, so the glob is used only when the
            # tree has neither and every file has the same suffix.
            if plain and all(f.suffix == suffix for f in files):
                names = str(base / "**" / f"*{suffix}")
        try:
            if kind == "parquet":
                # The file list, not the folder: polars would also read hidden files.
                return Scan(pl.scan_parquet(names, hive_partitioning=base is not None), files)
            if kind == "ipc":
                return Scan(pl.scan_ipc(names, hive_partitioning=base is not None), files)
            # Every column as text: the contract's columns are parsed by segrule, and a
            # value that does not parse becomes a counted bad row (bad_amount,
            # bad_timestamp) instead of failing the whole run, as inferring types from
            # the first rows would when a bad value comes later.
            return Scan(pl.scan_csv(names, infer_schema=False, separator=prepared.separator), files)
        except (Exception, pl.exceptions.PanicException) as exc:
            raise DataError(f"{text}: cannot be read: {first_line(exc)}") from exc
    return _scan_each(files, schemas, shown, base, tz, prepared)


def _scan_layout(
    layout: Layout,
    table: str,
    bucket: int | None,
    *,
    tz: str,
    verify: bool,
    columns: Iterable[str] | None,
    options: SourceOptions,
) -> Scan:
    """A table of a bucket layout (``DIR/<table>/segrule_bucket=<k>/*.parquet``), or one
    bucket of it (``bucket``): its files read as one table, without the bucket folders'
    ``segrule_bucket`` column (it is not the user's), so that a run on the layout reads
    what a run on the table's source reads. Its CSV, NDJSON or Excel text (the marker's
    ``formats``) stays text, to be parsed as those files are; the options are checked
    against those formats as a run on the source checks them (the encoding and
    delimiter were applied when the layout was written, the decimal mark applies now)."""
    entry = layout.tables[table]
    base = layout.folder / table
    files = layout.table_files(table) if bucket is None else layout.files(table, bucket)
    if not files:
        # The one-line error: no file, no columns (a bucket folder without a file is
        # refused too: an empty bucket has no folder).
        layout.schema(table)
        raise DataError(f"{layout.bucket_folder(table, bucket or 0)}: holds no .parquet file")
    formats = frozenset(entry.formats) if entry.formats else None
    _check_options_kinds(set(formats) if formats else {"parquet"}, options, table, str(base))

    def shown(f: Path) -> str:
        return str(f.relative_to(base))

    if verify:
        for f in files:
            verify_parquet(f, shown(f), columns)
    with ThreadPoolExecutor(max_workers=8) as pool:
        schemas = list(pool.map(lambda f: _file_schema(f, shown(f)), files))
    if all(s == schemas[0] for s in schemas[1:]):
        try:
            frame = pl.scan_parquet([str(f) for f in files], hive_partitioning=False)
        except (Exception, pl.exceptions.PanicException) as exc:
            raise DataError(f"{base}: cannot be read: {first_line(exc)}") from exc
        return Scan(frame, files, formats=formats)
    scan = _scan_each(files, schemas, shown, None, tz, _Prepared())
    return Scan(scan.frame, files, scan.conflicts, formats=formats)


def _scan_cloud(location: Location, options: SourceOptions) -> Scan:
    """An object-store or web source scanned by polars' cloud I/O: one object, a prefix
    (``s3://bucket/orders/``, hive partitions allowed) or a glob, of one format. The
    objects are listed first (obstore), so a missing object or an empty prefix is a
    one-line error before any plan runs, and the scan reads exactly the listed keys
    (no ``_SUCCESS`` or hidden keys). CSV objects are checked as local CSV files are
    (:func:`check_csv`), through the store: the check reads each object once. Parquet
    page checksums are not verified here (the store checks what it receives)."""
    from segrule.io import cloud

    shown = location.shown
    objects, prefix = cloud.list_objects(location.text, options.storage_options, tuple(KINDS))
    if not objects:
        if prefix:
            raise DataError(
                f"{shown}: no .parquet/.arrow/.ipc/.csv/.ndjson object under this prefix; "
                "check the URL"
            )
        raise DataError(f"{shown}: no object matches this pattern; check the URL")
    suffixes = {cloud.key_path(o.url).suffix.lower() for o in objects}
    unknown = sorted(s or "(none)" for s in suffixes if s not in KINDS)
    if unknown:
        raise DataError(
            f"{shown}: unknown file type '{unknown[0]}'; use .parquet, .arrow/.ipc/.feather, "
            ".csv or .ndjson/.jsonl"
        )
    kinds = sorted({KINDS[s] for s in suffixes})
    if len(kinds) > 1:
        raise DataError(
            f"{shown}: holds objects of several formats ({', '.join(kinds)}); keep one "
            "format per table source"
        )
    kind = kinds[0]
    if kind in EXCEL_FORMATS:
        raise DataError(
            f"{shown}: Excel workbooks are read from local files; download it, or export the "
            "sheet as Parquet or CSV"
        )
    if options.encoding is not None and encodings.canonical_encoding(options.encoding) != "utf-8":
        raise DataError(
            f"{shown}: {option_name('encoding', None)} is applied to local files only; "
            "convert the object to UTF-8, or download it"
        )
    if options.sheet is not None or (kind != "csv" and options.delimiter is not None):
        key = "sheet" if options.sheet is not None else "delimiter"
        raise DataError(f"{shown}: {key} does not apply to {kind} objects")
    separator = separator_of(options)
    storage = cloud.storage_options_for(location, options.storage_options)
    urls = [o.url for o in objects]
    if kind == "csv":
        for obj in objects:
            _check_cloud_csv(obj, options.storage_options, storage, redact(obj.url), separator)
    try:
        if kind == "parquet":
            frame = pl.scan_parquet(urls, hive_partitioning=prefix, storage_options=storage)
        elif kind == "ipc":
            frame = pl.scan_ipc(urls, hive_partitioning=prefix, storage_options=storage)
        elif kind == "csv":
            frame = pl.scan_csv(
                urls, infer_schema=False, separator=separator, storage_options=storage
            )
        else:
            names: dict[str, None] = {}
            for url in urls:  # every key of every line: types as for a local file
                inferred = pl.scan_ndjson(
                    url, infer_schema_length=None, storage_options=storage
                ).collect_schema()
                names.update(dict.fromkeys(inferred.names()))
            schema = pl.Schema(dict.fromkeys(names, pl.String()))
            frame = pl.scan_ndjson(urls, schema=schema, storage_options=storage)
        # The footer or header now, so that an unreadable object (an expired signed
        # URL, a 404 from a web server) is reported here, its URL redacted.
        frame.collect_schema()
    except (Exception, pl.exceptions.PanicException) as exc:
        raise DataError(f"{shown}: cannot be read: {cloud.error_text(exc)}") from None
    return Scan(frame, urls)


def _check_cloud_csv(
    obj: CloudObject,
    given: dict[str, str] | None,
    storage: dict[str, str] | None,
    name: str,
    separator: str = ",",
) -> None:
    """:func:`check_csv` for an object in a store: the encoding from its first bytes,
    then one parse of every column as text through polars (this reads the object)."""
    from segrule.io import cloud

    head = cloud.read_head(obj, given, SNIFF_BYTES)
    encoding = sniff_encoding(head)
    if encoding is not None:
        iconv = "UTF-16" if encoding == "UTF-16" else "GBK"
        raise DataError(
            f"{name}: not UTF-8 (looks like {encoding}); convert it before uploading, e.g. "
            f"iconv -f {iconv} -t UTF-8, or copy it to a local file"
        )
    try:
        pl.scan_csv(
            obj.url, infer_schema=False, separator=separator, storage_options=storage
        ).select(pl.all().null_count()).collect(engine="streaming")
    except (Exception, pl.exceptions.PanicException) as exc:
        raise _csv_error(name, exc, lambda: cloud.count_bytes(obj, given, b'"') % 2 == 1) from exc


def _file_schema(f: Path, name: str, prepared: _Prepared | None = None) -> pl.Schema:
    """A file's schema from its metadata (footer, IPC schema or CSV header line)."""
    try:
        kind = KINDS[f.suffix.lower()]
        if kind == "parquet":
            return pl.Schema(pl.read_parquet_schema(f))
        if kind == "ipc":
            return pl.Schema(pl.read_ipc_schema(f))
        if kind == "ndjson":
            return ndjson_schema(f, name)
        prepared = prepared or _Prepared()
        if kind in EXCEL_FORMATS:
            return prepared.sheets[f].schema
        return pl.scan_csv(
            prepared.csv_path(f), infer_schema=False, separator=prepared.separator
        ).collect_schema()
    except DataError:
        raise
    except (Exception, pl.exceptions.PanicException) as exc:
        raise DataError(
            f"{name}: cannot be read ({first_line(exc)}); is it a complete, valid file?"
        ) from exc


def _scan_file(f: Path, schema: pl.Schema, prepared: _Prepared) -> pl.LazyFrame:
    kind = KINDS[f.suffix.lower()]
    if kind == "parquet":
        return pl.scan_parquet(f, hive_partitioning=False)
    if kind == "ipc":
        return pl.scan_ipc(f)
    if kind == "ndjson":
        return pl.scan_ndjson(f, schema=schema)
    if kind in EXCEL_FORMATS:
        return prepared.sheets[f].lazy()
    return pl.scan_csv(prepared.csv_path(f), infer_schema=False, separator=prepared.separator)


def ndjson_schema(path: Path, name: str) -> pl.Schema:
    """The columns of an NDJSON file (one JSON object a line), each as text: every key of
    every line counts (this reads the file once), so a key first seen late is not lost, and
    a value's JSON type may change from line to line (``7`` then ``"C7"``). Nested values
    become their JSON text. A line that is not a JSON object is a DataError naming it."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if sniff_encoding(head.removeprefix(b"\xef\xbb\xbf")) is not None:
        raise DataError(f"{name}: not UTF-8; NDJSON is UTF-8 text, convert it (e.g. with iconv)")
    try:
        inferred = pl.scan_ndjson(path, infer_schema_length=None).collect_schema()
    except (Exception, pl.exceptions.PanicException) as exc:
        line = _bad_json_line(path)
        where = f" (line {line})" if line else ""
        raise DataError(
            f"{name}: not valid NDJSON{where}: {first_line(exc)}; each line must be one JSON object"
        ) from None
    return pl.Schema(dict.fromkeys(inferred.names(), pl.String()))


def _bad_json_line(path: Path) -> int | None:
    """The number of the first line of ``path`` that is not a JSON object (only when
    reading it failed: this parses line by line in Python)."""
    import json

    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except ValueError:
                return number
            if not isinstance(value, dict):
                return number
    return None


def _hive_values(f: Path, base: Path | None) -> dict[str, str]:
    if base is None:
        return {}
    parts = f.relative_to(base).parts[:-1]
    return dict(p.split("=", 1) for p in parts if "=" in p)


def _unified(typed: list[pl.DataType]) -> pl.DataType | None:
    """One type for a column typed differently in Parquet/IPC files, or None when they
    cannot be reconciled without guessing (text against numbers, ...)."""
    if all(isinstance(t, pl.Datetime) or t == pl.Date for t in typed):
        return pl.Datetime("us")  # naive wall time in the business zone
    if all(t.is_integer() for t in typed):
        return pl.Int64()
    if all(t.is_numeric() for t in typed):
        return pl.Float64()
    if all(t in (pl.String, pl.Categorical) or isinstance(t, pl.Enum) for t in typed):
        return pl.String()
    if len(set(typed)) == 1:
        return typed[0]
    return None


def _to_type(
    col: str, have: pl.DataType, want: pl.DataType, tz: str, *, excel: bool = False
) -> pl.Expr:
    """The expression turning one file's column into the table's type (``excel``: the
    file is a workbook, whose text times may be serial days)."""
    c = pl.col(col)
    if have == want:
        return c
    if isinstance(want, pl.Datetime):
        if have == pl.String:
            return parse_timestamp_text(c, tz, excel_serials=excel)
        if isinstance(have, pl.Datetime) and have.time_zone is not None:
            c = c.dt.convert_time_zone(tz).dt.replace_time_zone(None)
        return c.cast(pl.Datetime("us"))
    if have == pl.String and want.is_numeric():
        return c.str.strip_chars().cast(want, strict=False)
    if have == pl.String and want == pl.Boolean:
        return parse_boolean_text(c)
    return c.cast(want)


def _scan_each(
    files: list[Path],
    schemas: list[pl.Schema],
    shown: Callable[[Path], str],
    base: Path | None,
    tz: str,
    prepared: _Prepared,
) -> Scan:
    """Each file scanned on its own and normalized to one type per column, then
    concatenated (diagonally: a column one file lacks is null in its rows)."""
    columns: dict[str, list[tuple[Path, pl.DataType, bool]]] = {}
    for f, schema in zip(files, schemas, strict=True):
        text_file = KINDS[f.suffix.lower()] in TEXT_FORMATS
        for name, dtype in schema.items():
            columns.setdefault(name, []).append((f, dtype, text_file))
    target: dict[str, pl.DataType] = {}
    conflicts: dict[str, str] = {}
    for name, seen in columns.items():
        # CSV text takes the type of the typed files; typed files must agree.
        typed = [t for _, t, text_file in seen if not text_file]
        want = _unified(typed) if typed else pl.String()
        if want is None:
            first_file, first_type, _ = next(s for s in seen if not s[2])
            other_file, other_type, _ = next(
                s for s in seen if not s[2] and _unified([first_type, s[1]]) is None
            )
            conflicts[name] = (
                f"column '{name}' is {first_type} in {shown(first_file)} but {other_type} in "
                f"{shown(other_file)}; convert {shown(other_file)} so that the files agree"
            )
            continue
        target[name] = want
    hive = {f: _hive_values(f, base) for f in files}
    hive_keys = sorted({k for values in hive.values() for k in values} - set(target))
    # A partition key is an integer when every value is one (as polars infers it).
    hive_int = {
        k: all(v.get(k, "0").lstrip("-").isdigit() for v in hive.values()) for k in hive_keys
    }
    frames = []
    for f, schema in zip(files, schemas, strict=True):
        excel_file = KINDS[f.suffix.lower()] in EXCEL_FORMATS
        exprs = [
            _to_type(name, schema[name], want, tz, excel=excel_file).alias(name)
            for name, want in target.items()
            if name in schema
        ]
        for key in hive_keys:
            value = hive[f].get(key)
            exprs.append(
                pl.lit(int(value) if value is not None and hive_int[key] else value)
                .cast(pl.Int64 if hive_int[key] else pl.String)
                .alias(key)
            )
        frames.append(_scan_file(f, schema, prepared).select(exprs))
    frame = pl.concat(frames, how="diagonal_relaxed")
    return Scan(frame.select([*target, *hive_keys]), files, conflicts)


#: Text times each value is parsed from, after 'T' -> ' ', '/' -> '-' and 'Z' -> '+00:00'.
_AWARE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f%z",)
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")


#: Excel serial days read as times: 1900-03-01 (61; before it Excel counts a 29 February
#: 1900 that never was) up to 9999-12-31.
EXCEL_SERIALS = (61, 2_958_466)


def parse_timestamp_text(text: pl.Expr, tz: str, *, excel_serials: bool = False) -> pl.Expr:
    """Text times parsed value by value into a naive wall time in ``tz``.

    A value with an offset (``+08:00``, ``+0800``, ``Z``) is converted from it; a value
    without one is a wall time in ``tz``. Each known format is tried on every value
    (``str.to_datetime`` without a format infers it from the first value, so a column
    mixing both kinds lost rows depending on their order). Unparseable text is null.
    ``excel_serials``: a plain number (``45296.4375``, from a workbook cell not
    formatted as a date) is Excel serial days since 1899-12-30, to the millisecond."""
    t = (
        text.str.strip_chars()
        .str.replace(r"(?i)z$", "+00:00")
        .str.replace("T", " ", literal=True)
        .str.replace_all("/", "-", literal=True)
    )
    aware = [
        t.str.to_datetime(f, time_unit="us", time_zone="UTC", strict=False)
        .dt.convert_time_zone(tz)
        .dt.replace_time_zone(None)
        for f in _AWARE_FORMATS
    ]
    naive = [t.str.to_datetime(f, time_unit="us", strict=False) for f in _NAIVE_FORMATS]
    parsed = [*aware, *naive]
    if excel_serials:
        days = t.str.extract(r"^(\d+(?:\.\d+)?)$").cast(pl.Float64, strict=False)
        low, high = EXCEL_SERIALS
        millis = (days * 86_400_000).round(0).cast(pl.Int64, strict=False)
        serial = pl.lit(dt.datetime(1899, 12, 30), dtype=pl.Datetime("us")) + pl.duration(
            milliseconds=millis
        )
        parsed.append(pl.when((days >= low) & (days < high)).then(serial))
    return pl.coalesce(parsed)


#: A number written with a decimal comma, after spaces are removed: thousands grouped
#: by dots in threes (``1.234.567,89``) or not grouped (``1234567,89``).
_DECIMAL_COMMA = r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$"


_GROUPED_POINT = r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$"


def grouped_point_text(text: pl.Expr) -> pl.Expr:
    """Numbers written with a decimal point and thousands grouped by commas in threes
    (``1,234.56``, ``12.5``, ``-3``; spaces between thousands too) as plain text
    (``1234.56``), ready to cast; other text is null, so that ``1,5`` (a decimal comma)
    is a bad value, not fifteen. For ``decimal: "."`` given in the rule set: without it,
    a comma in a number is never read (a European ``1,250`` must not become 1250)."""
    t = text.str.strip_chars().str.replace_all("[ \u00a0\u202f]", "")
    plain = t.str.replace_all(",", "", literal=True)
    return pl.when(t.str.contains(_GROUPED_POINT)).then(plain)


def number_text(text: pl.Expr, decimal: str | None) -> pl.Expr | None:
    """Number text as plain text with a decimal point for the rule set's ``decimal``
    option (``,``: :func:`decimal_comma_text`, ``.``: :func:`grouped_point_text`), or
    None when it gives none (the text is cast as it is)."""
    if decimal == ",":
        return decimal_comma_text(text)
    if decimal == ".":
        return grouped_point_text(text)
    return None


def decimal_comma_text(text: pl.Expr) -> pl.Expr:
    """Numbers written with a decimal comma (``1.234,56``, ``12,5``, ``-3``, ``1 234,5``
    with a space, no-break space or narrow no-break space between thousands) as text
    with a decimal point (``1234.56``), ready to cast; other text is null, so that
    ``1.5`` (neither form) is a bad value, not one and a half."""
    t = text.str.strip_chars().str.replace_all("[ \u00a0\u202f]", "")
    plain = t.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    return pl.when(t.str.contains(_DECIMAL_COMMA)).then(plain)


def parse_boolean_text(text: pl.Expr) -> pl.Expr:
    """true/t/yes/y/1 and false/f/no/n/0 (any case); anything else is null."""
    t = text.str.strip_chars().str.to_lowercase()
    return (
        pl.when(t.is_in(["true", "t", "yes", "y", "1"]))
        .then(True)
        .when(t.is_in(["false", "f", "no", "n", "0"]))
        .then(False)
    )


#: Bytes looked at to tell a CSV file's encoding.
SNIFF_BYTES = 64 * 1024


def sniff_encoding(head: bytes) -> str | None:
    """None when ``head`` (a file's first bytes) is UTF-8, else the probable encoding."""
    if (
        head.startswith((b"\xff\xfe", b"\xfe\xff"))
        or head[:4096].count(b"\x00") > len(head[:4096]) // 8
    ):
        return "UTF-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return None
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "GBK/GB18030"
    except UnicodeDecodeError:
        return "an unknown encoding"


def prepare_csv(
    path: Path,
    name: str,
    *,
    encoding: str | None = None,
    separator: str = ",",
    table: str | None = None,
) -> Path:
    """Check a CSV file and return the UTF-8 file to scan: ``path`` itself, or a UTF-8
    copy (:func:`segrule.io.encodings.utf8_copy`) when it is in another encoding.

    ``encoding`` (the rule set's; None: detected, :func:`~segrule.io.encodings.detect_encoding`)
    must decode every byte: the first that does not is a one-line DataError naming the
    file, the line and byte offset and the encoding, and how to give another (``table``
    names the option: ``tables.orders.encoding``). Then one parse of every column as
    text (this reads the file): polars reports a ragged line (more fields than the
    header) or an unterminated quote only when every column is read, so a run reading
    some columns would pass where one writing rejects (every column) fails, and an
    unterminated quote swallows the rest of the file into one value."""
    key = option_name("encoding", table)
    if encoding is None:
        enc = encodings.detect_encoding(path)
        if enc is None:
            raise DataError(
                f"{name}: cannot tell its text encoding; give it with {key} (e.g. gb18030, "
                "big5, utf-16, cp1252)"
            )
        how = f"read as {encodings.shown(enc)}, detected"
    else:
        enc = encodings.canonical_encoding(encoding)
        how = f"{key}: {encoding}"
    hint = (
        f"({how}); give its encoding with {key} (e.g. gb18030, big5, utf-16, cp1252) or "
        "fix that line"
    )
    read = path if encodings.is_utf8(enc) else encodings.utf8_copy(path, enc, name, hint)
    try:
        pl.scan_csv(read, infer_schema=False, separator=separator).select(
            pl.all().null_count()
        ).collect(engine="streaming")
    except (Exception, pl.exceptions.PanicException) as exc:
        message = first_line(exc)
        if "utf-8" in message.lower() or "utf8" in message.lower():
            bad = encodings.find_undecodable(read, "utf-8")
            if bad is not None:
                raise DataError(f"{name}: {bad.describe()} is not valid UTF-8 {hint}") from None
        if _odd_quotes(read):
            raise DataError(
                f'{name}: a quote (") is opened and never closed, so the rest of the file '
                'would be one value; fix that line (a quote inside a value is written "")'
            ) from exc
        if "more fields" in message:
            sep = "tab" if separator == "\t" else f"'{separator}'"
            raise DataError(
                f"{name}: a line has more fields than the header; quote values that hold "
                f'the separator {sep} (e.g. "1,000.00"), fix the export, or give the '
                f"right {option_name('delimiter', table)}"
            ) from exc
        raise DataError(f"{name}: not a valid CSV file ({message}); fix the file") from exc
    return read


def _csv_error(name: str, exc: BaseException, odd_quotes: Callable[[], bool]) -> DataError:
    """The one line for a CSV file polars could not parse; ``odd_quotes()`` tells
    whether it holds an odd number of '"' (called only here: it reads the file)."""
    message = first_line(exc)
    if odd_quotes():
        return DataError(
            f'{name}: a quote (") is opened and never closed, so the rest of the file '
            'would be one value; fix that line (a quote inside a value is written "")'
        )
    if "more fields" in message:
        return DataError(
            f"{name}: a line has more fields than the header; quote values that hold "
            'the separator (e.g. "1,000.00") or fix the export'
        )
    return DataError(f"{name}: not a valid CSV file ({message}); fix the file")


def _odd_quotes(path: Path) -> bool:
    """Whether the file holds an odd number of '"' (a well-formed CSV has pairs)."""
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(16 * 1024 * 1024):
            count += chunk.count(b'"')
    return count % 2 == 1


def verify_parquet(path: Path, name: str, columns: Iterable[str] | None = None) -> bool:
    """Check the page CRCs of a Parquet file that has them, of ``columns`` only when
    given (the columns a run reads; names the file lacks are ignored); a mismatch is a
    one-line DataError naming the file. Returns whether the file had checksums. polars
    neither checks nor writes them (2.1); :mod:`segrule.io.parquet_crc` compares them with
    the page bytes without decoding the pages."""
    from segrule.io.parquet_crc import FooterError, PageError, verify_pages

    try:
        return verify_pages(path, columns)
    except FooterError as exc:
        raise DataError(f"{name}: cannot be read ({exc}); is it a complete, valid file?") from exc
    except PageError as exc:
        raise DataError(f"{name}: corrupted ({exc}); restore the file from its source") from exc
    except Exception as exc:
        raise DataError(
            f"{name}: cannot be read ({first_line(exc)}); is it a complete, valid file?"
        ) from exc


def read_schema(frame: pl.LazyFrame, source: str) -> pl.Schema:
    """The schema of a scan (reads file metadata only)."""
    try:
        return frame.collect_schema()
    except (Exception, pl.exceptions.PanicException) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{source}: cannot be read ({msg}); is it a complete, valid file?") from exc
