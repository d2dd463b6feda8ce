"""``--engine spark``: a run's per-customer stage on Apache Spark, bucket by bucket; the
population stage once, on the driver (docs/spark.md).

1. Tables are bucketed by ``pmod(xxhash64(cast(customer_id as string)), B)``: an input
   that already is a bucket layout (``segrule bucket``, :mod:`segrule.engine.buckets`)
   is read as it is; other Parquet inputs are shuffled by Spark into a layout in the
   staging folder (one file per table and bucket).
2. A small job checks that the workers run the driver's versions of Python, polars,
   segrule and the plugins (a mismatch is one line, before any data is read).
3. When the orders table checks duplicate order ids: Spark counts the order ids (a
   shuffle of one column); the rows of ids seen more than once come to the driver,
   which keeps one per id as the one-plan run does.
4. One task per bucket (``mapInArrow`` over the bucket numbers) runs
   :func:`segrule.engine.distributed.run_bucket`: the per-customer stage with polars,
   its hand-off columns and rejected rows written to the staging folder, its
   data-quality counts returned.
5. The driver runs the population stage over every bucket's hand-off and writes the
   output as a local run does (atomically, with the manifest): the bytes are the same.

The staging folder must be reachable by the driver and every worker under the same
path (a local folder with ``local[N]``; a shared file system on a cluster).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segrule.engine import distributed as dist
from segrule.engine.buckets import check_buckets
from segrule.engine.compiler import Plan
from segrule.engine.quality import QualityResult
from segrule.errors import DataError, SegruleError, UsageError, first_line, option
from segrule.io.layout import (
    BUCKET_COLUMN,
    MARKER,
    Layout,
    LayoutTable,
    layout_record,
    layout_table_of,
    read_layout,
)
from segrule.io.outpaths import NO_INPUTS, Inputs, check_folder
from segrule.model.keys import BASE

log = logging.getLogger("segrule.api")

#: The partition column of a bucket layout (also Spark's ``partitionBy`` column).
BUCKET = BUCKET_COLUMN
#: Buckets when neither the input layout nor the caller says.
DEFAULT_BUCKETS = 16


@dataclass(frozen=True)
class SparkOptions:
    """Where and how ``engine="spark"`` runs.

    ``master``: ``local[N]``, ``spark://host:port``, ``yarn``, ``k8s://...`` (default
    ``local[*]``); ``remote``: a Spark Connect URL (``sc://host:15002``; then no JVM runs
    here); ``session``: an existing SparkSession (Python API), used as it is;
    ``buckets``: for inputs that are not a bucket layout (default 16); ``staging``: a
    folder every worker and the driver reach under the same path (default: the system's
    temporary folder, which only a local master shares); ``conf``: extra Spark
    settings."""

    master: str | None = None
    remote: str | None = None
    session: Any = None
    buckets: int | None = None
    staging: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass
class SparkRun:
    """What the Spark stage hands back to the run: the plan whose frame is the
    population stage over the staged hand-off, the counts, and the staging folder
    (removed by :meth:`close`)."""

    plan: Plan
    quality: QualityResult
    staging: Path
    rejects: dict[str, pl.LazyFrame]

    def close(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def session(options: SparkOptions) -> Any:
    """The SparkSession to run on (made once per process, reused after)."""
    if options.session is not None:
        return options.session
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError(
            "the spark engine needs PySpark: install segrule[spark] (pip install 'segrule[spark]')"
        ) from None
    # Workers must run this interpreter (with segrule and polars), not the first python
    # on PATH: set before the session starts its JVM.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    log.info("starting Spark (%s)", options.remote or options.master or "local[*]")
    builder = SparkSession.builder.appName("segrule")
    if options.remote:
        if options.master:
            raise UsageError(f"give {option('spark_master')} or {option('spark_remote')}, not both")
        if not options.remote.startswith("sc://"):
            raise UsageError(
                f"{option('spark_remote')} {options.remote}: a Spark Connect URL starts with "
                "sc:// (e.g. sc://spark.example.com:15002)"
            )
        _reachable(options.remote)
        # Settings of the server's start (the UI, the driver's JVM) are the server's.
        builder = builder.remote(options.remote)
    else:
        master = options.master or "local[*]"
        if master.startswith("local"):
            # One machine: no need to look for a network address (Spark warns when the
            # host name resolves to loopback).
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        log4j = Path(__file__).with_name("spark-log4j2.properties")
        builder = (
            builder.master(master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={log4j.as_uri()}")
        )
    for key, value in {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **dict(options.conf),
    }.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:
        hint = ""
        if "JAVA_GATEWAY_EXITED" in str(exc):
            hint = (
                "; Spark needs Java 17 or newer here: install it (Debian: "
                "openjdk-17-jre-headless) or set JAVA_HOME, or use a Spark Connect server"
            )
        raise SegruleError(f"Spark did not start: {first_line(exc).rstrip('.')}{hint}") from exc


def _reachable(url: str, timeout: float = 10.0) -> None:
    """A Spark Connect URL's server answers on its port (the client itself retries for
    minutes before it gives up)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 15002
    if not host:
        raise UsageError(
            f"{option('spark_remote')} {url}: no host (e.g. sc://spark.example.com:15002)"
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise SegruleError(
            f"the Spark Connect server {host}:{port} does not answer ({exc.strerror or exc}); "
            "is it running, and is the port right?"
        ) from None


def _layout_of(plan: Plan) -> Layout | None:
    """The bucket layout every table of ``plan`` comes from (each table's source is its
    folder in the layout), or None."""
    found: list[Layout] = []
    for source in plan.tables.values():
        hit = layout_table_of(source) if "://" not in source else None
        if hit is None or hit[2] is not None:
            return None
        found.append(hit[0])
    if not found or len({layout.folder.resolve() for layout in found}) != 1:
        return None
    return found[0]


def _raw_name(plan: Plan, table: str, column: str) -> str:
    spec = plan.ruleset.model.tables.get(table)
    return spec.columns.get(column, column) if spec else column


def _check_sources(plan: Plan) -> None:
    for name, source in plan.tables.items():
        if source.startswith("<") or source.startswith("postgresql"):
            raise UsageError(
                f"the {name} table ({source}) cannot be read by Spark: the spark engine reads "
                "Parquet files, folders and object-store prefixes; write it as a bucket "
                "layout first with `segrule bucket`"
            )
        suffixes = {p.suffix.lower() for p in _files(source)}
        if suffixes - {".parquet", ""}:
            raise UsageError(
                f"the {name} table ({source}) is not Parquet: the spark engine reads Parquet "
                "files, folders and object-store prefixes; write it as a bucket layout first "
                "with `segrule bucket`"
            )


def spark_path(source: str) -> str:
    """A source as Spark names it: Hadoop's S3 connector reads ``s3a://`` (polars and
    object-store tools write ``s3://``); other sources are the same."""
    return "s3a://" + source[len("s3://") :] if source.startswith("s3://") else source


def column(name: str) -> Any:
    """A column of a Spark frame by its exact name. The names come from the user's data
    and rule file: quoted, never put into SQL text (a name such as ``x`), reflect(...``
    must stay a name)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _check_per_customer(plan: Plan) -> None:
    """Refuse a table whose preparation reads across customers (a plugin's
    ``segrule_prepare_table`` counting rows of a group-buy group over all customers,
    say): bucket by bucket it would give other values."""
    engine = plan.ctx.engine
    preparers = sorted(
        info.name
        for info in (engine.plugins.values() if engine is not None else ())
        if "segrule_prepare_table" in info.hooks()
    )
    for name, table in plan.loaded.items():
        reason = dist.reads_across_customers(table.frame)
        if reason is None:
            continue
        by = f"; plugins preparing tables: {', '.join(preparers)}" if preparers else ""
        raise UsageError(
            f"the {name} table cannot be split by customer: its preparation reads other "
            f"customers' rows ({reason}{by}), so bucket by bucket it would give other "
            "values; run this rule set with the local engine, or give the table the "
            "column the preparation computes"
        )


def _files(source: str) -> list[Path]:
    if "://" in source:
        return [Path(source.rsplit("/", 1)[-1] or "x.parquet")]
    p = Path(source)
    if p.is_dir():
        return [f for f in p.rglob("*") if f.is_file() and not f.name.startswith((".", "_"))]
    return [p]


@contextlib.contextmanager
def _settings(spark: Any, values: Mapping[str, str]) -> Iterator[None]:
    """Spark SQL settings for the jobs inside, the session's own put back after."""
    before = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _shuffle(spark: Any, plan: Plan, staging: Path, buckets: int) -> Layout:
    """Each table read by Spark and written as a bucket layout in ``staging``."""
    layout = staging / "layout"
    # Spark's default writes timestamps as INT96: micros keep polars' types and values.
    with _settings(spark, {"spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}):
        _write_buckets(spark, plan, layout, buckets)
    tables = {}
    for name, source in plan.tables.items():
        files = sorted((layout / name).glob(f"{BUCKET}=*/*.parquet"))
        rows = pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0
        tables[name] = LayoutTable(
            name, _raw_name(plan, name, BASE), int(rows), source, ("parquet",)
        )
    (layout / MARKER).write_text(json.dumps(layout_record(buckets, tables)))
    found = read_layout(layout)
    assert found is not None
    return found


def _write_buckets(spark: Any, plan: Plan, layout: Path, buckets: int) -> None:
    from pyspark.sql import functions as F

    for name, source in plan.tables.items():
        raw = _raw_name(plan, name, BASE)
        df = spark.read.parquet(spark_path(source))
        if raw not in df.columns:
            raise DataError(f"the {name} table ({source}) has no column '{raw}' (its customer id)")
        key = F.pmod(F.xxhash64(column(raw).cast("string")), F.lit(buckets)).cast("int")
        (
            df.withColumn(BUCKET, key)
            .repartition(buckets, BUCKET)
            .write.partitionBy(BUCKET)
            .mode("error")
            .parquet(str(layout / name))
        )


def _schemas(plan: Plan, layout: Layout) -> dict[str, tuple[str, dict[str, pl.DataType]]]:
    """Per table: its folder in the layout and its schema as read (an empty bucket is a
    frame of it)."""
    return {name: (str(layout.folder / name), dict(layout.schema(name))) for name in plan.tables}


def _map(spark: Any, count: int, fn: Any, schema: str) -> list[dict[str, Any]]:
    """``fn(k)`` for k in range(count), one Spark task per number; the rows it returns."""
    import pyarrow as pa

    def per_batch(batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            results = [fn(int(k)) for k in batch.column(0).to_pylist()]
            yield pa.RecordBatch.from_pylist(results, schema=pa_schema)

    pa_schema = pa.schema([pa.field("k", pa.int64()), pa.field("result", pa.string())])
    frame = spark.range(0, count, 1, numPartitions=max(1, count)).mapInArrow(per_batch, schema)
    try:
        table = frame.toArrow()
    except Exception as exc:
        raise SegruleError(f"a Spark task failed: {_task_error(exc)}") from exc
    return sorted(table.to_pylist(), key=lambda r: r["k"])


def _task_error(exc: BaseException) -> str:
    """The segrule error a worker raised, out of Spark's wrapping, or Spark's first line."""
    text = str(exc)
    for marker in ("segrule.errors.", "SegruleError: ", "DataError: "):
        i = text.rfind(marker)
        if i >= 0:
            line = text[i:].splitlines()[0]
            return line.split(": ", 1)[-1] if ": " in line else line
    return first_line(exc)


#: Sessions whose workers were found to run the driver's versions (per plugin set).
_CHECKED: set[tuple[int, str]] = set()


def _check_versions(spark: Any, versions: dict[str, str], plugins: tuple[str, ...]) -> None:
    """One small job: the workers' versions against the driver's, a one-line error when
    they differ (before any data is read). Once per session and set of versions. Every
    bucket task checks again (a worker may join later)."""
    key = (id(spark), json.dumps(versions, sort_keys=True))
    if key in _CHECKED:
        return

    def check(k: int) -> dict[str, Any]:
        return {"k": k, "result": json.dumps(dist.runtime_versions(plugins), sort_keys=True)}

    for row in _map(spark, 2, check, "k long, result string"):
        mismatch = dist.version_mismatch(versions, json.loads(row["result"]))
        if mismatch:
            raise SegruleError(mismatch)
    _CHECKED.add(key)


def run_stages(
    plan: Plan,
    options: SparkOptions,
    *,
    outputs: list[str] | None,
    passes: tuple[object, ...],
    rejects: bool = False,
    inputs: Inputs = NO_INPUTS,
) -> SparkRun:
    """The per-customer stage of ``plan`` on Spark and the population plan over it
    (the driver's plan, compiled over the same sources; see the module docstring).
    The staging folder (a new folder of its own under ``options.staging``) must not be
    one of ``inputs`` or inside one: Spark would read its files as the table's."""
    _check_sources(plan)
    _check_per_customer(plan)
    base = Path(options.staging) if options.staging else Path(tempfile.gettempdir())
    staging = base / f"segrule-spark-{uuid.uuid4().hex}"
    check_folder(staging, what=option("spark_staging"), inputs=inputs)
    spark = session(options)
    staging.mkdir(parents=True)
    try:
        return _run_stages(spark, plan, options, staging, outputs, passes, rejects)
    except SegruleError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if type(exc).__module__.startswith(("pyspark", "py4j", "grpc")):
            raise SegruleError(f"Spark failed: {_task_error(exc)}") from exc
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _run_stages(
    spark: Any,
    plan: Plan,
    options: SparkOptions,
    staging: Path,
    outputs: list[str] | None,
    passes: tuple[object, ...],
    rejects: bool,
) -> SparkRun:
    engine = plan.ctx.engine
    plugins = dist.plugin_paths(engine) if engine is not None else ()
    versions = dist.runtime_versions(plugins)

    log.info("checking the workers' versions")
    _check_versions(spark, versions, plugins)

    layout = _layout_of(plan)
    if layout is not None:
        buckets = layout.buckets
        log.info("reading the bucket layout %s (%d buckets, no shuffle)", layout.folder, buckets)
    else:
        buckets = check_buckets(options.buckets or DEFAULT_BUCKETS)
        log.info("shuffling the tables into %d buckets with Spark", buckets)
        layout = _shuffle(spark, plan, staging, buckets)
    job = dist.BucketJob(
        ruleset=plan.ruleset,
        as_of=plan.ctx.as_of,
        tz=plan.ctx.tz,
        outputs=outputs,
        passes=passes,
        plugins=plugins,
        tables=_schemas(plan, layout),
        handoff=dist.plan_handoff_schema(plan),
        staging=str(staging),
        versions=versions,
        excluded=plan.excluded,
        rejects=rejects,
    )

    duplicates = None
    tq = plan.quality_tables().get("orders")
    if tq is not None and tq.policies.get(dist.GLOBAL, "unchecked") != "unchecked":
        log.info("looking for duplicate order ids with Spark")
        raw = _raw_name(plan, "orders", "order_id")
        # As many partitions as buckets: the session's default (200) costs a task each,
        # 19.6 s against 9.2 s for 10M order ids on local[2] (measured once each).
        with _settings(spark, {"spark.sql.shuffle.partitions": str(buckets)}):
            from pyspark.sql import functions as F

            ids = (
                spark.read.parquet(str(layout.folder / "orders"))
                .where(column(raw).isNotNull())
                .groupBy(column(raw).alias("order_id"))
                .agg(F.count(F.lit(1)).alias("rows"))
                .where(F.col("rows") > 1)
                .select("order_id")
                .toArrow()
            )
        log.info("%d order ids seen more than once", ids.num_rows)
        candidate_ids = pl.from_arrow(ids)
        assert isinstance(candidate_ids, pl.DataFrame)
        duplicates = pl.DataFrame(schema={"order_id": pl.String, "rows": pl.UInt32})
        if candidate_ids.height:
            cjob = dataclasses.replace(job, candidate_ids=candidate_ids)
            folder = staging / dist.CANDIDATES

            def candidates(k: int) -> dict[str, Any]:
                rows = dist.duplicate_candidates(cjob, k)
                folder.mkdir(parents=True, exist_ok=True)
                rows.write_parquet(folder / f"{k:05d}.parquet")
                return {"k": k, "result": str(rows.height)}

            _map(spark, buckets, candidates, "k long, result string")
            found = pl.concat(
                [pl.read_parquet(f) for f in sorted(folder.glob("*.parquet"))], how="vertical"
            )
            duplicates, kept = dist.winners(plan, found)
            job = dataclasses.replace(job, duplicates=duplicates, winners=kept)
        else:
            oid = plan.loaded["orders"].schema.get("order_id", pl.String)
            duplicates = pl.DataFrame(schema={"order_id": oid, "rows": pl.UInt32})

    log.info("running the per-customer stage in %d buckets", buckets)

    def one(k: int) -> dict[str, Any]:
        try:
            return {"k": k, "result": dist.dump_result(dist.run_bucket(job, k))}
        except SegruleError as exc:
            raise RuntimeError(f"SegruleError: {exc}") from exc

    results = [
        dist.load_result(r["result"]) for r in _map(spark, buckets, one, "k long, result string")
    ]
    found_q = dist.merge_results(plan, results, duplicates)
    log.info("running the population stage on the driver")
    return SparkRun(
        dist.population_plan(plan, staging),
        found_q,
        staging,
        dist.rejects_frames(staging) if rejects else {},
    )


@contextlib.contextmanager
def staged(
    plan: Plan,
    options: SparkOptions,
    *,
    outputs: list[str] | None,
    passes: tuple[object, ...],
    rejects: bool = False,
    inputs: Inputs = NO_INPUTS,
) -> Iterator[SparkRun]:
    """:func:`run_stages`, its staging folder removed on leaving."""
    run = run_stages(plan, options, outputs=outputs, passes=passes, rejects=rejects, inputs=inputs)
    try:
        yield run
    finally:
        run.close()


__all__ = [
    "BUCKET",
    "DEFAULT_BUCKETS",
    "SparkOptions",
    "SparkRun",
    "run_stages",
    "session",
    "staged",
]
