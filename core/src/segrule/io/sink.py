"""Writing outputs: the output formats, and the atomic sink that writes a plan straight
to a file with the streaming engine (temporary file, sync, rename). An .xlsx output is
collected, checked against Excel's sheet size, then written (:mod:`segrule.io.excel`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import polars as pl

from segrule.errors import SegruleError, UsageError, first_line, option
from segrule.io import cleanup, excel, outpaths
from segrule.io.cells import CsvFormulas, neutralize_formulas
from segrule.io.cloud import is_cloud
from segrule.io.formats import FORMATS, OUTPUT_FORMATS, format_of
from segrule.io.outpaths import NO_INPUTS, Inputs


def output_format(path: PurePath, fmt: str | None = None) -> str:
    """The format to write ``path`` in: ``fmt``, else the one its extension says."""
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise UsageError(
                f"unknown output format '{fmt}'; use parquet, csv, ipc, ndjson or xlsx"
            )
        kind = fmt
    else:
        found = format_of(str(path))
        if found is None or found not in OUTPUT_FORMATS:
            raise UsageError(
                f"cannot tell the format of '{path}' from its extension; use .parquet, "
                f".csv, .arrow/.ipc, .ndjson or .xlsx, or pass {option('fmt')}"
            )
        kind = found
    if kind == "xlsx":
        excel.require_writer(str(path))  # before the run, not after it
    return kind


#: Rows per Parquet row group (records per IPC batch). Fixed, so that the file's layout
#: does not follow the streaming engine's morsels: with the default, 10M orders gave
#: different row groups (and bytes) with 1 and 2 threads.
ROW_GROUP_ROWS = 262_144

#: Values of SEGRULE_WRITE_CHECKSUMS that switch page checksums in outputs off.
_OFF = ("0", "false", "no", "off")


def writes_checksums() -> bool:
    """Whether Parquet files segrule writes get page checksums: yes unless the
    ``SEGRULE_WRITE_CHECKSUMS`` environment variable is 0/false/no/off."""
    return os.environ.get("SEGRULE_WRITE_CHECKSUMS", "").lower() not in _OFF


def sink(
    frame: pl.LazyFrame,
    out: str | Path,
    fmt: str | None = None,
    *,
    manifest: Mapping[str, Any] | None = None,
    inputs: Inputs = NO_INPUTS,
    what: str = option("out"),
    csv_formulas: CsvFormulas = "neutralize",
) -> Path | str:
    """Write a plan straight to ``out`` with the streaming engine, atomically: to a
    temporary file beside it (named with this process id), synced, then renamed; a
    failed or killed run leaves no file at ``out`` and the previous one intact.
    Temporary files of killed runs are removed by the next write to the same target.
    ``manifest`` goes into a Parquet output's metadata (key ``segrule.manifest``).
    ``csv_formulas``: in a CSV or .xlsx, text cells a spreadsheet would read as a
    formula are prefixed with ``'`` (``neutralize``) or written as they are (``keep``;
    an .xlsx still holds them as text cells, never formulas); see :mod:`segrule.io.cells`.
    An .xlsx output is collected first: more rows than an Excel sheet holds is a
    UsageError and nothing is written.
    ``out`` is checked first (:func:`segrule.io.outpaths.check_file`): never one of
    ``inputs``, never a folder, device, FIFO or socket; the null device is written
    into (the plan is computed, nothing kept). ``what`` names ``out`` in errors.
    """
    return sink_with(
        frame, out, fmt, manifest=manifest, inputs=inputs, what=what, csv_formulas=csv_formulas
    )[0]


def sink_with(
    frame: pl.LazyFrame,
    out: str | Path,
    fmt: str | None = None,
    *,
    manifest: Mapping[str, Any] | None = None,
    also: Sequence[pl.LazyFrame] = (),
    check: Callable[[list[pl.DataFrame]], None] | None = None,
    rename: Callable[[Path, Path], None] | None = None,
    inputs: Inputs = NO_INPUTS,
    what: str = option("out"),
    csv_formulas: CsvFormulas = "neutralize",
) -> tuple[Path | str, list[pl.DataFrame]]:
    """:func:`sink`, and collect the queries ``also`` in the same ``collect_all``: built
    on ``frame``, they share its plan (the run is computed once). ``check(results)``
    runs before the output is renamed into place: if it raises, no output is written.
    ``rename(temporary, target)`` replaces ``os.replace`` to put the written file in
    place (:func:`run` commits the output and its history partition together with it);
    if it raises before renaming, the temporary file is removed.
    Returns the path and the results of ``also``.

    A ``postgresql://...#schema.table`` output is written to that table
    (:func:`segrule.io.database.write_database`: staging table, then drop and rename in
    one transaction, the manifest as the table's comment); the location is returned as
    text, its password hidden, and ``rename`` is not used.

    An object-store URL (``s3://bucket/key.parquet``, gs://, az://) is written locally
    first, exactly as a local output (checks, page checksums), then uploaded in one
    put (:func:`segrule.io.cloud.upload`): the object appears whole or not at all. The
    URL is returned as text; ``rename`` cannot be used with it."""
    import json

    from segrule.io.database import is_database
    from segrule.io.manifest import MANIFEST_KEY

    if is_database(out):
        from segrule.io.database import check_output, write_database

        db = check_output(str(out), inputs, what)
        results = write_database(
            frame,
            str(out),
            manifest=manifest,
            also=also,
            check=check,
            run=cleanup.interruptible,
            what=what,
        )
        return db.shown, results
    if isinstance(out, str) and is_cloud(out):
        return _sink_cloud(
            frame,
            out,
            fmt,
            manifest=manifest,
            also=also,
            check=check,
            rename=rename,
            inputs=inputs,
            what=what,
            csv_formulas=csv_formulas,
        )
    # The path first: "is a folder" says more than "cannot tell the format".
    outpaths.check_file(out, what=what, inputs=inputs)
    if fmt is None and outpaths.is_null_device(out) and Path(out).suffix.lower() not in FORMATS:
        fmt = "parquet"  # `--out /dev/null`: nothing is kept, any format computes the run
    kind = output_format(Path(out), fmt)
    target = outpaths.check_file(out, what=what, inputs=inputs, writes=kind)
    # The null device cannot be fsynced (EINVAL); there is nothing to keep anyway.
    sync: Any = "none" if outpaths.is_null_device(target) else "all"
    try:
        with outpaths.replacing(target, what=what, rename=rename) as tmp:
            if kind == "parquet":
                meta = {MANIFEST_KEY: json.dumps(manifest, sort_keys=True)} if manifest else None
                write = frame.sink_parquet(
                    tmp,
                    compression="zstd",
                    statistics=True,
                    row_group_size=ROW_GROUP_ROWS,
                    metadata=meta,
                    sync_on_close=sync,
                    lazy=True,
                )
            elif kind == "csv":
                safe = neutralize_formulas(frame) if csv_formulas == "neutralize" else frame
                write = safe.sink_csv(tmp, sync_on_close=sync, lazy=True)
            elif kind == "ipc":
                write = frame.sink_ipc(
                    tmp, record_batch_size=ROW_GROUP_ROWS, sync_on_close=sync, lazy=True
                )
            elif kind == "xlsx":
                # Collected (a sheet holds at most 1,048,576 rows), then written.
                write = neutralize_formulas(frame) if csv_formulas == "neutralize" else frame
            else:
                write = frame.sink_ndjson(tmp, sync_on_close=sync, lazy=True)
            # In a worker thread under the CLI, so that SIGTERM/SIGINT are handled at once.
            results = cleanup.interruptible(pl.collect_all, [write, *also], engine="streaming")
            if kind == "xlsx":
                excel.check_size(results[0], target)
            if check is not None:
                check(list(results[1:]))
            if kind == "xlsx":
                cleanup.interruptible(excel.write_workbook, results[0], tmp, target)
            if kind == "parquet" and not outpaths.is_null_device(target) and writes_checksums():
                from segrule.io.parquet_crc import rewrite_with_checksums

                # Page checksums in every Parquet file segrule writes: polars' sink
                # writes none, so the file is written once more (docs/security.md).
                try:
                    rewrite_with_checksums(tmp)
                except OSError as exc:  # writing the file, not running the plan
                    raise outpaths.write_error(target, exc, what) from exc
    except (OSError, pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        # Write failures became OutputPathError in `replacing`; this is the plan failing
        # (polars raises a vanished input as FileNotFoundError, an OSError).
        raise SegruleError(f"the run failed: {first_line(exc)}") from exc
    return target, list(results[1:])


def _sink_cloud(
    frame: pl.LazyFrame,
    url: str,
    fmt: str | None,
    *,
    manifest: Mapping[str, Any] | None,
    also: Sequence[pl.LazyFrame],
    check: Callable[[list[pl.DataFrame]], None] | None,
    rename: Callable[[Path, Path], None] | None,
    inputs: Inputs,
    what: str,
    csv_formulas: CsvFormulas,
) -> tuple[Path | str, list[pl.DataFrame]]:
    """:func:`sink_with` to an object store: the output is written into a private
    temporary folder (``TMPDIR``) as a local output would be, and its rename is the
    upload; the folder is removed whatever happens (also on SIGTERM/SIGINT)."""
    import shutil
    import tempfile

    from segrule.io import cloud
    from segrule.io.locations import redact

    if rename is not None:
        raise UsageError(
            f"{what} {redact(url)}: an object-store output cannot be committed together with "
            f"other outputs ({option('history')}); write it to a local file"
        )
    key = cloud.check_writable(url, what)
    outpaths.check_url(url, what=what, inputs=inputs)
    kind = output_format(cloud.key_path(url), fmt)
    # Checked before the run: a missing obstore must not cost the whole computation.
    cloud.require()
    staging = Path(tempfile.mkdtemp(prefix="segrule-upload-"))
    cleanup.register(staging)
    try:
        local = staging / Path(key).name

        def upload(tmp: Path, target: Path) -> None:
            cloud.upload(tmp, url, None, what)

        _, results = sink_with(
            frame,
            local,
            kind,
            manifest=manifest,
            also=also,
            check=check,
            rename=upload,
            inputs=inputs,
            what=what,
            csv_formulas=csv_formulas,
        )
    finally:
        cleanup.unregister(staging)
        shutil.rmtree(staging, ignore_errors=True)
    return redact(url), results
