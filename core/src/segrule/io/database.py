"""PostgreSQL sources and outputs through ADBC (``adbc-driver-postgresql``, libpq
underneath): Arrow record batches all the way, never a Python object per row.

A source is ``postgresql://[user[:password]@][host][:port]/database[?libpq params]``
with the table in the URI's fragment (``#schema.table``) or in the rule set
(``tables.<t>.table`` or ``tables.<t>.query``); an output is such a URI whose fragment
names the table to (re)place. Credentials come from the URI, libpq's environment
(``PGHOST``, ``PGUSER``, ``PGPASSWORD``, ``PGSERVICE``, ``PGPASSFILE``...) or a service
file (``?service=name``): libpq reads them, segrule only passes the URI on. A password
is never printed: messages go through :func:`segrule.io.locations.redact` and every
password segrule can see is blanked out of the driver's messages.

Reading (:func:`scan_database`): one ``LIMIT 0`` query gives the schema; the scan is a
polars IO source (``register_io_source``) whose generator runs one SELECT per collect
with the columns polars asks for in its SELECT list and, when the caller names the time
column, ``WHERE ts < as_of OR ts IS NULL`` (segrule filters again after: a superset is
safe). Record batches are turned into frames one at a time, so memory is bounded by
the driver's batch size. Types Arrow has no native type for are cast in SQL:
``numeric(p,s)`` is read as text and turned into an exact ``Decimal(p,s)`` (money keeps
its digits), other ``numeric`` and opaque types (uuid, json, ...) are read as text.

Writing (:func:`write_database`): the frame is streamed into a staging table with ADBC's
bulk ingest (COPY), then, in the same transaction, the previous table is dropped, the
staging table renamed into its place, given its primary key and the run manifest as
its comment (``COMMENT ON TABLE``): readers see the old table or the new one, never
half of one, and a failed or killed run leaves the old table as it was (the
transaction is rolled back, the staging table with it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import polars as pl

from segrule.errors import DataError, SegruleError, first_line, option
from segrule.io.locations import locate, redact

#: Where a missing driver is installed from: the extra of the segrule distribution.
EXTRA = "pip install 'segrule[postgres]'"
#: The schema-less name of the table a run's output is written to first.
STAGING_PREFIX = "segrule_staging_"
#: Bytes per record batch the driver aims for when reading (its option
#: ``adbc.postgresql.batch_size_hint_bytes``): what one batch holds in memory.
BATCH_BYTES = 16 * 1024 * 1024
#: PostgreSQL's longest identifier (NAMEDATALEN - 1).
MAX_IDENTIFIER = 63


@dataclass(frozen=True)
class Database:
    """A parsed ``postgresql://`` location: ``uri`` is what libpq gets (no fragment),
    ``table`` the fragment's table name (None when there is none), ``shown`` the whole
    location with its password hidden."""

    uri: str
    table: str | None
    shown: str


def parse(text: str) -> Database:
    """Split a ``postgresql://`` location into the URI libpq gets and the table named by
    its fragment (``#schema.table``, percent-decoded)."""
    base, sep, fragment = text.partition("#")
    table = unquote(fragment).strip() if sep else ""
    return Database(base, table or None, redact(text))


def is_database(where: Any) -> bool:
    """Whether ``where`` is a database URI (a :class:`~pathlib.Path` never is)."""
    if not isinstance(where, str) or "://" not in where:
        return False
    try:
        return locate(where).kind == "database"
    except ValueError:
        return False


# -- identifiers -------------------------------------------------------------------------
_PART = re.compile(r'\s*(?:"((?:[^"]|"")+)"|([^".\s]+))\s*(\.|$)')


def table_name(text: str, where: str) -> tuple[str, ...]:
    """``schema.table`` or ``table`` as identifier parts, as PostgreSQL reads them: an
    unquoted part is folded to lower case, a double-quoted one is kept as written
    (``"Order Lines"``). ``where`` names the setting in the error."""
    parts: list[str] = []
    pos = 0
    ended = False  # the last part was not followed by a dot
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None or m.end() == pos:
            break
        parts.append(
            m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2).lower()
        )
        pos = m.end()
        if m.group(3) == "":
            ended = True
            break
    if pos != len(text) or not ended or not 1 <= len(parts) <= 2 or not all(parts):
        raise DataError(
            f"{where}: '{text}' is not a table name; write table or schema.table (double "
            'quotes keep case and spaces: "Order Lines")'
        )
    if any(len(p.encode()) > MAX_IDENTIFIER for p in parts):
        raise DataError(f"{where}: '{text}' is longer than PostgreSQL's 63-byte names")
    return tuple(parts)


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    if "\x00" in name:
        raise DataError(f"column name {name!r} holds a NUL character; rename it")
    return '"' + name.replace('"', '""') + '"'


def qualified(parts: Sequence[str]) -> str:
    return ".".join(quote(p) for p in parts)


def literal(text: str) -> str:
    """``text`` as an SQL string literal (standard conforming strings, which segrule
    sets for its own sessions)."""
    if "\x00" in text:
        raise DataError("a text value holds a NUL character")
    return "'" + text.replace("'", "''") + "'"


# -- connecting --------------------------------------------------------------------------
def _driver(error: type[SegruleError]) -> Any:
    try:
        import adbc_driver_postgresql.dbapi as dbapi
    except ImportError:
        raise error(
            f"reading or writing postgresql:// needs the PostgreSQL driver: {EXTRA}"
        ) from None
    return dbapi


def _secrets(uri: str) -> list[str]:
    """Every password segrule can see for ``uri`` (to blank out of messages)."""
    found = []
    try:
        parts = urlsplit(uri)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        for key, _, value in (p.partition("=") for p in parts.query.split("&")):
            if "password" in key.lower() and value:
                found += [value, unquote(value)]
    except ValueError:
        pass
    env = os.environ.get("PGPASSWORD")
    if env:
        found.append(env)
    return sorted({s for s in found if s}, key=len, reverse=True)


def clean(message: str, uri: str) -> str:
    """The driver's message on one line, without a password and without the driver's
    prefixes (``IO: [libpq] ``)."""
    text = " ".join(message.split())
    for secret in _secrets(uri):
        text = text.replace(secret, "***")
    text = re.sub(r"^(?:[A-Z_]+: )?(?:\[libpq\] )?", "", text)
    text = re.sub(r"(?i)(password\s*=\s*)\S+", r"\1***", text)
    return redact(text)


def connect(db: Database, error: type[SegruleError] = DataError, *, readonly: bool = False) -> Any:
    """An ADBC connection to ``db`` (autocommit off; ``readonly``: every transaction of
    the session is read-only, so a source query cannot change anything). A failure is
    one ``error`` line naming the location (password hidden) and libpq's reason."""
    dbapi = _driver(error)
    try:
        conn = dbapi.connect(db.uri)
    except Exception as exc:
        raise error(f"{db.shown}: cannot connect: {clean(str(exc), db.uri)}") from None
    try:
        with conn.cursor() as cur:
            cur.execute("SET standard_conforming_strings = on")
            if readonly:
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        conn.commit()
    except Exception as exc:
        conn.close()
        raise error(f"{db.shown}: {clean(str(exc), db.uri)}") from None
    return conn


# -- reading -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A source column: its name, the polars type segrule reads it as, and how it is
    selected (``text``: cast to text in SQL; ``decimal``: then parsed into a Decimal)."""

    name: str
    dtype: pl.DataType
    pg_type: str
    text: bool = False


def _numeric_typmod(field: Any) -> tuple[int, int] | None:
    """(precision, scale) of a ``numeric(p,s)`` column from its typmod, else None."""
    meta = field.metadata or {}
    raw = meta.get(b"POSTGRESQL:typmod")
    if raw is None:
        return None
    try:
        typmod = int(raw)
    except ValueError:
        return None
    if typmod < 4:
        return None
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    return (precision, scale) if 0 < precision <= 38 and scale <= precision else None


def _columns(schema: Any) -> list[Column]:
    """How each column of a result's Arrow schema (with the driver's PostgreSQL type
    in the field metadata) is read."""
    import pyarrow as pa

    out: list[Column] = []
    for field in schema:
        meta = field.metadata or {}
        pg_type = meta.get(b"POSTGRESQL:type", b"").decode() or str(field.type)
        if isinstance(field.type, pa.BaseExtensionType) or pg_type in ("numeric", "money"):
            # money arrives as its internal integer (cents): read its digits instead.
            numeric = _numeric_typmod(field) if pg_type == "numeric" else None
            dtype: pl.DataType = pl.Decimal(*numeric) if numeric else pl.String()
            out.append(Column(field.name, dtype, pg_type, text=True))
            continue
        try:
            empty = pa.table({"c": pa.array([], type=field.type)})
            dtype = pl.from_arrow(empty).schema["c"]  # type: ignore[union-attr]
        except (Exception, pl.exceptions.PanicException):  # polars panics on some types
            out.append(Column(field.name, pl.String(), pg_type, text=True))
            continue
        out.append(Column(field.name, dtype, pg_type))
    return out


def _select_item(col: Column) -> str:
    if not col.text:
        return quote(col.name)
    cast = "::numeric::text" if col.pg_type == "money" else "::text"
    return f"{quote(col.name)}{cast} AS {quote(col.name)}"


def _before_as_of(col: Column, as_of: dt.datetime, tz: str) -> str | None:
    """``col < as_of OR col IS NULL`` in SQL for a time column, or None when the column's
    type is not one PostgreSQL compares to a time (segrule then filters alone)."""
    q = quote(col.name)
    if col.pg_type == "timestamp":
        value = f"TIMESTAMP {literal(as_of.isoformat(sep=' '))}"
    elif col.pg_type == "timestamptz":
        instant = as_of.replace(tzinfo=ZoneInfo(tz))
        value = f"TIMESTAMPTZ {literal(instant.isoformat(sep=' '))}"
    elif col.pg_type == "date":
        # A date is midnight at its start: every date up to as-of's own may be before it.
        return f"({q} <= DATE {literal(as_of.date().isoformat())} OR {q} IS NULL)"
    else:
        return None
    return f"({q} < {value} OR {q} IS NULL)"


@dataclass(frozen=True)
class Query:
    """What a database source selects from: a table, or a query used as a subquery."""

    relation: str  # SQL: a quoted table name, or "(<query>) AS segrule_source"
    shown: str  # for messages: the location and the table or "query"

    def select(
        self,
        columns: Sequence[Column],
        where: str | None = None,
        limit: int | None = None,
    ) -> str:
        items = ", ".join(_select_item(c) for c in columns) if columns else "*"
        sql = f"SELECT {items} FROM {self.relation}"
        if where:
            sql += f" WHERE {where}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql


def source_query(db: Database, table: str | None, query: str | None) -> Query:
    """The relation a source reads: the URI's fragment table, else the rule set's
    ``table`` or ``query`` (one of them is needed)."""
    name = db.table or table
    if db.table and query:
        # The fragment is given at the call, the query in the rule set: the call wins.
        query = None
    if name and query:
        raise DataError(
            f"{db.shown}: give a table or a query for a database source, not both "
            "(tables.<t>.table and tables.<t>.query)"
        )
    if query:
        text = query.strip().rstrip(";").strip()
        if not text:
            raise DataError(f"{db.shown}: tables.<t>.query is empty")
        return Query(f"({text}) AS segrule_source", f"{db.shown} (query)")
    if not name:
        raise DataError(
            f"{db.shown}: name the table to read: postgresql://.../db#schema.table, or "
            "tables.<t>.table (or tables.<t>.query) in the rule set"
        )
    parts = table_name(name, db.shown)
    shown = db.shown if db.table else f"{db.shown}#{'.'.join(parts)}"
    return Query(qualified(parts), shown)


def _read_schema(conn: Any, db: Database, rel: Query) -> list[Column]:
    try:
        with conn.cursor() as cur:
            cur.execute(rel.select((), limit=0))
            schema = cur.fetch_arrow_table().schema
    except Exception as exc:
        raise DataError(f"{rel.shown}: cannot be read: {clean(str(exc), db.uri)}") from None
    finally:
        conn.rollback()
    columns = _columns(schema)
    names = [c.name for c in columns]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise DataError(f"{rel.shown}: column '{dup}' appears twice; give each column one name")
    return columns


def _frame(batch: Any, columns: Mapping[str, Column]) -> pl.DataFrame:
    """One record batch as a frame of the scan's types (Decimal parsed from text)."""
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    # A text value that is not a number ('NaN' fits a numeric column) becomes null, which
    # the data-quality checks count (bad_amount) instead of failing the read.
    casts = [
        pl.col(n).cast(columns[n].dtype, strict=False)
        for n in frame.columns
        if isinstance(columns[n].dtype, pl.Decimal) or frame.schema[n] != columns[n].dtype
    ]
    return frame.with_columns(casts) if casts else frame


def scan_database(
    source: str,
    *,
    table: str | None = None,
    query: str | None = None,
    before: tuple[str, dt.datetime] | None = None,
    tz: str = "UTC",
) -> pl.LazyFrame:
    """A PostgreSQL table or query as a LazyFrame (reads the schema now, rows when the
    plan runs; see the module docstring). ``before``: (time column as named in the
    source, as-of as a wall time in ``tz``): rows at or after it are not read."""
    db = parse(source)
    rel = source_query(db, table, query)
    conn = connect(db, readonly=True)
    try:
        columns = _read_schema(conn, db, rel)
    finally:
        conn.close()
    by_name = {c.name: c for c in columns}
    schema = {c.name: c.dtype for c in columns}
    where = None
    if before is not None and before[0] in by_name:
        where = _before_as_of(by_name[before[0]], before[1], tz)

    def read(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        wanted = list(schema) if with_columns is None else list(with_columns)
        needed = set(wanted)
        if predicate is not None:
            needed |= set(predicate.meta.root_names())
        picked = [c for c in columns if c.name in needed] or columns[:1]
        limit = n_rows if predicate is None else None
        sql = rel.select(picked, where, limit)
        conn = connect(db, readonly=True)
        left = n_rows
        try:
            with conn.cursor() as cur:
                try:
                    cur.adbc_statement.set_options(
                        **{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)}
                    )
                    cur.execute(sql)
                    reader = cur.fetch_record_batch()
                except Exception as exc:
                    raise DataError(
                        f"{rel.shown}: cannot be read: {clean(str(exc), db.uri)}"
                    ) from None
                for batch in reader:
                    frame = _frame(batch, by_name)
                    if predicate is not None:
                        frame = frame.filter(predicate)
                    frame = frame.select(wanted)
                    if left is not None:
                        frame = frame.head(left)
                        left -= frame.height
                    yield frame
                    if left is not None and left <= 0:
                        break
        finally:
            conn.close()

    from polars.io.plugins import register_io_source

    return register_io_source(read, schema=schema)


# -- writing -----------------------------------------------------------------------------
def output_table(db: Database, what: str = option("out")) -> tuple[str, ...]:
    """The table an output URI names (its fragment), as identifier parts."""
    from segrule.io.outpaths import OutputPathError

    if not db.table:
        raise OutputPathError(
            f"{what}: {db.shown} names no table; add it after '#': "
            "postgresql://host/db#schema.table"
        )
    try:
        return table_name(db.table, f"{what} {db.shown}")
    except DataError as exc:
        raise OutputPathError(str(exc)) from None


def check_output(out: str, inputs: Any = None, what: str = option("out")) -> Database:
    """Check an output URI before a run: it names a table, and not one the run reads
    (``inputs``: :class:`segrule.io.outpaths.Inputs`). Connects to nothing."""
    from segrule.io.outpaths import OutputPathError

    db = parse(out)
    output_table(db, what)
    for source, name in (inputs.databases if inputs is not None else {}).items():
        if same_table(db.shown, source):
            raise OutputPathError(
                f"{what} {db.shown} is {name}, which this command reads; segrule never "
                f"writes over its inputs: choose another table for {what}"
            )
    return db


def same_table(a: str, b: str) -> bool:
    """Whether two database locations name the same table (same URI, same table)."""
    da, db_ = parse(redact(a)), parse(redact(b))
    if da.uri != db_.uri or not da.table or not db_.table:
        return False
    try:
        return table_name(da.table, "") == table_name(db_.table, "")
    except DataError:
        return False


def _arrow_ready(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Types ADBC's ingest takes: categoricals and enums as text."""
    schema = frame.collect_schema()
    casts = [
        pl.col(n).cast(pl.String)
        for n, t in schema.items()
        if isinstance(t, (pl.Categorical, pl.Enum))
    ]
    return frame.with_columns(casts) if casts else frame


class _Feed:
    """Frames handed from polars' sink (a callback) to the ingest (a reader), through a
    bounded queue: at most ``depth`` frames wait, so memory stays bounded."""

    _END = object()

    def __init__(self, schema: Any, depth: int = 4) -> None:
        self.schema = schema
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.failed = threading.Event()  # the ingest stopped: drop what comes

    def put(self, frame: pl.DataFrame) -> bool | None:
        if frame.height == 0:
            return None
        while not self.failed.is_set():
            try:
                self.queue.put(frame, timeout=0.2)
                return None
            except queue.Full:
                continue
        return True  # stop the sink

    def close(self, error: BaseException | None = None) -> None:
        item = self._END if error is None else error
        while not self.failed.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def batches(self) -> Iterator[Any]:
        while True:
            item = self.queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item.to_arrow().cast(self.schema).to_batches()


def write_database(
    frame: pl.LazyFrame,
    out: str,
    *,
    manifest: Mapping[str, Any] | None = None,
    also: Sequence[pl.LazyFrame] = (),
    check: Callable[[list[pl.DataFrame]], None] | None = None,
    run: Callable[..., Any] | None = None,
    what: str = option("out"),
) -> list[pl.DataFrame]:
    """Write ``frame`` to the table ``out`` names, atomically (see the module
    docstring), collecting ``also`` in the same ``collect_all``; ``check(results)`` runs
    before the commit: if it raises, nothing is written. ``run(fn, *args)`` calls the
    collect (the CLI's interruptible call). Returns the results of ``also``."""
    import pyarrow as pa

    from segrule.io.outpaths import OutputPathError

    db = parse(out)
    parts = output_table(db, what)
    schema_name, name = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    frame = _arrow_ready(frame)
    arrow_schema = pl.DataFrame(schema=frame.collect_schema()).to_arrow().schema
    conn = connect(db, OutputPathError)
    # Unique among concurrent runs (it is invisible to them until the commit renames it).
    staging = f"{STAGING_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    feed = _Feed(arrow_schema)
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            reader = pa.RecordBatchReader.from_batches(arrow_schema, feed.batches())
            with conn.cursor() as cur:
                cur.adbc_ingest(staging, reader, mode="create", db_schema_name=schema_name)
        except BaseException as exc:
            errors.append(exc)
            feed.failed.set()

    worker = threading.Thread(target=ingest, name="segrule-ingest", daemon=True)
    worker.start()
    write = frame.sink_batches(feed.put, lazy=True)
    collect = run or (lambda fn, *a, **k: fn(*a, **k))
    try:
        try:
            results = collect(pl.collect_all, [write, *also], engine="streaming")
        except BaseException as exc:
            feed.close(exc)
            raise
        feed.close()
        worker.join()
        if errors:
            raise OutputPathError(
                f"cannot write {db.shown}: {clean(str(errors[0]), db.uri)}; nothing was replaced"
            )
        if check is not None:
            check(list(results[1:]))
        _replace(conn, db, schema_name, name, staging, arrow_schema, manifest)
    except BaseException:
        feed.failed.set()
        worker.join(timeout=5)
        try:
            conn.rollback()
        finally:
            conn.close()
        raise
    conn.close()
    return list(results[1:])


def _replace(
    conn: Any,
    db: Database,
    schema_name: str | None,
    name: str,
    staging: str,
    arrow_schema: Any,
    manifest: Mapping[str, Any] | None,
) -> None:
    """In the ingest's transaction: drop the previous table, rename the staging table
    into its place, add the primary key and the manifest; commit."""
    from segrule.io.outpaths import OutputPathError

    prefix = f"{quote(schema_name)}." if schema_name else ""
    target = f"{prefix}{quote(name)}"
    steps = [f"DROP TABLE IF EXISTS {target}"]
    steps.append(f"ALTER TABLE {prefix}{quote(staging)} RENAME TO {quote(name)}")
    if "customer_id" in arrow_schema.names:
        steps.append(f"ALTER TABLE {target} ADD PRIMARY KEY ({quote('customer_id')})")
    if manifest:
        text = json.dumps(manifest, sort_keys=True, ensure_ascii=False)
        steps.append(f"COMMENT ON TABLE {target} IS {literal(text)}")
    try:
        with conn.cursor() as cur:
            for sql in steps:
                cur.execute(sql)
        conn.commit()
    except Exception as exc:
        raise OutputPathError(
            f"cannot replace {db.shown}: {first_line(Exception(clean(str(exc), db.uri)))}; "
            "the previous table is unchanged"
        ) from None


def read_manifest(out: str) -> dict[str, Any] | None:
    """The manifest stored with an output table (its ``COMMENT``), or None."""
    db = parse(out)
    parts = output_table(db)
    conn = connect(db, readonly=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT obj_description({literal(qualified(parts))}::regclass, 'pg_class')"
            )
            row = cur.fetchone()
    except Exception as exc:
        raise DataError(f"{db.shown}: {clean(str(exc), db.uri)}") from None
    finally:
        conn.close()
    text = row[0] if row else None
    return json.loads(text) if text else None


def read_table(source: str) -> pl.DataFrame:
    """A whole table (``postgresql://...#schema.table``) as a DataFrame (this reads it)."""
    return scan_database(source).collect()


__all__ = [
    "EXTRA",
    "Database",
    "is_database",
    "parse",
    "read_manifest",
    "read_table",
    "scan_database",
    "write_database",
]
