"""A run split into buckets of customers: the work of one bucket, and what the driver
does with the buckets' results. No cluster library is imported here: an executor
(:mod:`segrule.spark`) ships a :class:`BucketJob` to its workers and calls
:func:`run_bucket` there, once per bucket.

A bucket holds every row of its customers in every table (the layout of
:mod:`segrule.engine.buckets`: ``pmod(xxhash64(cast(customer_id as string)), B)``), so
the per-customer stage (:mod:`segrule.engine.stages`) is exact on it. Each bucket:

1. compiles the driver's rule set again over its own files (the same composed rule set,
   as-of, time zone, outputs, plan passes and plugins: the same nodes);
2. counts its data-quality checks (they sum across buckets, but for duplicate order ids);
3. leaves duplicated order ids out with the rows the driver chose (:func:`winners`): a
   duplicated id can be shared by customers of two buckets, so which row is kept is
   decided once, over the candidates of every bucket (:func:`duplicate_candidates`);
4. writes its hand-off columns (one row per customer) and its rejected rows to the
   staging folder.

The driver then runs the population stage once over every bucket's hand-off
(:func:`population_plan`): ranks, NTILE, running sums and quantile tiers see every
customer, sorted by customer_id, exactly as in the one-plan run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from segrule.engine import quality
from segrule.engine.build import compile as compile_plan
from segrule.engine.compiler import Plan
from segrule.engine.stages import per_customer_frame, population_frame
from segrule.errors import DataError, SegruleError
from segrule.io.layout import BUCKET_COLUMN as LAYOUT_BUCKET
from segrule.model.keys import BASE
from segrule.model.ruleset import RuleSet
from segrule.plugins.registry import Registry

#: The checks whose counts a bucket cannot know alone (they are counted by the driver).
GLOBAL = "duplicate_order_id"
#: Staging sub-folders.
HANDOFF = "handoff"
REJECTS = "rejects"
CANDIDATES = "duplicates"


@dataclass(frozen=True)
class BucketJob:
    """Everything a worker needs to run one bucket: picklable, no frames of data but the
    blacklist and the duplicate winners (small)."""

    ruleset: RuleSet
    as_of: dt.datetime
    tz: str
    outputs: list[str] | None
    passes: tuple[object, ...]
    #: plugin modules by import path, loaded without autoload: the driver's set exactly
    plugins: tuple[str, ...]
    #: per table: the folder of its buckets (``<layout>/<table>``) and its schema as read
    tables: dict[str, tuple[str, dict[str, pl.DataType]]]
    #: the driver's hand-off schema (every bucket's hand-off is cast to it)
    handoff: dict[str, pl.DataType]
    staging: str
    versions: dict[str, str]
    excluded: pl.DataFrame | None = None
    #: the duplicated order ids (order_id, rows) and the row kept for each, with the
    #: bucket it belongs to (``__segrule_bucket``); None before the duplicate pass
    duplicates: pl.DataFrame | None = None
    winners: pl.DataFrame | None = None
    rejects: bool = False
    #: the order ids seen more than once over every bucket (``duplicate_candidates``)
    candidate_ids: pl.DataFrame | None = None


#: The column naming the bucket of a duplicate candidate row.
DUP_BUCKET = "__segrule_bucket"


def runtime_versions(plugins: Sequence[str] = ()) -> dict[str, str]:
    """The versions a bucket's result depends on: Python (major.minor), polars, segrule
    and each plugin module's distribution. A worker compares them with the driver's."""
    import importlib.metadata as md

    from segrule.version import __version__

    out = {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "polars": pl.__version__,
        "segrule": __version__,
    }
    # One scan of the installed distributions (every bucket task calls this).
    by_package = md.packages_distributions() if plugins else {}
    for path in plugins:
        top = path.split(".")[0]
        dists = by_package.get(top, [])
        for dist in dists:
            try:
                out[dist] = md.version(dist)
            except md.PackageNotFoundError:
                out[dist] = "not installed"
        if not dists:
            out[path] = "not a distribution"
    return out


def version_mismatch(driver: Mapping[str, str], worker: Mapping[str, str]) -> str | None:
    """One line naming every version that differs between driver and worker, or None."""
    diffs = [
        f"{k} {driver.get(k, 'missing')} on the driver, {worker.get(k, 'missing')} on a worker"
        for k in sorted(set(driver) | set(worker))
        if driver.get(k) != worker.get(k)
    ]
    if not diffs:
        return None
    return (
        "the workers run other versions than the driver ("
        + "; ".join(diffs)
        + "): give the executors the driver's environment (docs/spark.md, packaging)"
    )


def plugin_paths(engine: Registry) -> tuple[str, ...]:
    """The driver's non-builtin plugin modules by import path."""
    return tuple(
        sorted(info.module.__name__ for info in engine.plugins.values() if not info.builtin)
    )


def bucket_tables(job: BucketJob, k: int) -> dict[str, str | pl.LazyFrame]:
    """The rows of bucket ``k`` of every table: its folder in the layout (read as a
    layout's bucket is read locally, text columns of a layout made from CSV parsed as
    CSV), or, for a bucket without rows, an empty frame of the table's schema."""
    out: dict[str, str | pl.LazyFrame] = {}
    for name, (folder, schema) in job.tables.items():
        bucket = Path(folder, f"{LAYOUT_BUCKET}={k}")
        if bucket.is_dir() and any(p.suffix == ".parquet" for p in bucket.iterdir()):
            out[name] = str(bucket)
        else:
            out[name] = pl.LazyFrame(schema=schema)
    return out


@functools.lru_cache(maxsize=4)
def _registry(plugins: tuple[str, ...]) -> Registry:
    """The plugin registry of a worker process (loading plugins once, not per bucket)."""
    return Registry(plugins=list(plugins), autoload=False)


def bucket_plan(job: BucketJob, k: int) -> Plan:
    """The driver's rule set compiled over bucket ``k``'s rows."""
    engine = _registry(job.plugins)
    rs = dataclasses.replace(
        job.ruleset, model=job.ruleset.model.model_copy(update={"blacklist": None})
    )
    plan = compile_plan(
        rs,
        bucket_tables(job, k),
        as_of=job.as_of,
        tz=job.tz,
        outputs=job.outputs,
        engine=engine,
        passes=job.passes,
    )
    if job.excluded is not None:
        plan = dataclasses.replace(plan, excluded=job.excluded)
    return plan


def duplicate_candidates(job: BucketJob, k: int) -> pl.DataFrame:
    """The rows of bucket ``k`` whose order id is a candidate duplicate
    (``job.candidate_ids``, found over every bucket) among the rows the plan reads whose
    customer is valid and in the universe, as the plan reads them, with the bucket."""
    plan = bucket_plan(job, k)
    assert job.candidate_ids is not None
    ids = job.candidate_ids.get_column("order_id")
    orders = plan.loaded["orders"].frame
    dtype = orders.collect_schema()["order_id"]
    rows = orders.filter(pl.col("order_id").is_in(ids.cast(dtype, strict=False).implode()))
    rows = rows.filter(quality._valid(plan))
    if quality.universe_table(plan.loaded) != "orders":
        rows = rows.join(quality.known_ids(plan), on=BASE, how="semi")
    return rows.with_columns(pl.lit(k, pl.Int32).alias(DUP_BUCKET)).collect()


def winners(plan: Plan, candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """From every bucket's candidate rows: the duplicated ids (``order_id``, ``rows``, as
    :func:`segrule.engine.quality.collect_quality` reports them) and the row kept for
    each (the first by :func:`segrule.engine.quality.dedupe_order`, as the one-plan run
    keeps it)."""
    counted = candidates.group_by("order_id").agg(pl.len().alias("rows"))
    dups = counted.filter(pl.col("rows") > 1).sort("order_id")
    dup_rows = candidates.filter(pl.col("order_id").is_in(dups["order_id"].implode()))
    keys = quality.dedupe_order(
        dup_rows.drop(DUP_BUCKET).lazy(), plan.quality_tables()["orders"].ts_column
    )
    first = dup_rows.sort(keys, nulls_last=True).unique(
        "order_id", keep="first", maintain_order=True
    )
    return dups.with_columns(pl.col("rows").cast(pl.UInt32)), first


def _without_duplicates(plan: Plan, job: BucketJob, k: int) -> Plan:
    """Bucket ``k``'s plan with every duplicated order id left out but for the kept row,
    when that row is this bucket's."""
    assert job.duplicates is not None and job.winners is not None
    orders = plan.loaded["orders"].frame
    dtype = orders.collect_schema()["order_id"]
    ids = job.duplicates.get_column("order_id").cast(dtype, strict=False).implode()
    keep = job.winners.filter(pl.col(DUP_BUCKET) == k).drop(DUP_BUCKET)
    schema = orders.collect_schema()
    keep_lf = keep.lazy().select([pl.col(c).cast(t) for c, t in schema.items()])
    others = orders.filter(~pl.col("order_id").is_in(ids).fill_null(False))
    return plan.rebuilt({"orders": pl.concat([others, keep_lf], how="vertical")})


def run_bucket(job: BucketJob, k: int) -> dict[str, Any]:
    """Bucket ``k`` through the per-customer stage (this collects): writes its hand-off
    to ``<staging>/handoff/<k>.parquet`` (and its rejects when asked) and returns its
    data-quality counts, the customers written and the worker's versions."""
    mismatch = version_mismatch(job.versions, runtime_versions(job.plugins))
    if mismatch:
        raise SegruleError(mismatch)
    plan = bucket_plan(job, k)
    found = _count(plan)
    if plan.excluded is not None and job.duplicates is not None and job.duplicates.height:
        # Blacklisted rows that are duplicates dropped as such count there (as locally).
        quality.count_blacklisted(
            plan, dataclasses.replace(found, duplicates=job.duplicates), _kept(job, k)
        )
    rejected: dict[str, int] = {}
    if job.rejects:
        # From the rows as read, before duplicates are left out (as the one-plan run).
        rejected = _write_rejects(plan, found, job, k)
    if job.duplicates is not None and job.duplicates.height:
        plan = _without_duplicates(plan, job, k)
    handoff = per_customer_frame(
        plan.stages, plan.nodes, plan.loaded, plan.dtypes, plan.excluded, sort=True
    ).select([pl.col(c).cast(t) for c, t in job.handoff.items()])
    folder = Path(job.staging, HANDOFF)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{k:05d}.parquet"
    tmp = folder / f".{k:05d}.{os.getpid()}.tmp"
    df = handoff.collect(engine="streaming")
    df.write_parquet(tmp)
    os.replace(tmp, target)
    return {
        "bucket": k,
        "customers": df.height,
        "counts": found.counts,
        "blacklisted": found.blacklisted,
        "rejects": rejected,
    }


def _count(plan: Plan) -> quality.QualityResult:
    """The bucket's data-quality counts, but for duplicate order ids (the driver's)."""
    tables = plan.quality_tables()
    no_dups = {}
    for name, tq in tables.items():
        if GLOBAL in tq.policies:
            policies = {c: p for c, p in tq.policies.items() if c != GLOBAL}
            no_dups[name] = dataclasses.replace(
                plan.loaded[name], quality=dataclasses.replace(tq, policies=policies)
            )
    counted = dataclasses.replace(plan, loaded={**plan.loaded, **no_dups}) if no_dups else plan
    return quality.collect_quality(counted)


def _kept(job: BucketJob, k: int) -> pl.Series | None:
    """The duplicated order ids whose kept row is in bucket ``k`` (None: no winners)."""
    if job.winners is None:
        return None
    return job.winners.filter(pl.col(DUP_BUCKET) == k).get_column("order_id")


def _write_rejects(
    plan: Plan, found: quality.QualityResult, job: BucketJob, k: int
) -> dict[str, int]:
    found = dataclasses.replace(found, duplicates=job.duplicates)
    frames = quality.rejected_frames(plan, found, _kept(job, k))
    out: dict[str, int] = {}
    for name, frame in frames.items():
        folder = Path(job.staging, REJECTS, name)
        folder.mkdir(parents=True, exist_ok=True)
        df = frame.collect(engine="streaming")
        tmp = folder / f".{k:05d}.{os.getpid()}.tmp"
        df.write_parquet(tmp)
        os.replace(tmp, folder / f"{k:05d}.parquet")
        out[name] = df.height
    return out


def merge_results(
    plan: Plan,
    results: Sequence[Mapping[str, Any]],
    duplicates: pl.DataFrame | None,
) -> quality.QualityResult:
    """The whole run's data-quality counts from every bucket's (they sum) and the
    driver's duplicate pass."""
    counts: dict[str, dict[str, int]] = {}
    blacklisted: int | None = None
    for r in results:
        for table, cs in r["counts"].items():
            into = counts.setdefault(table, {})
            for check, n in cs.items():
                into[check] = into.get(check, 0) + int(n)
        if r["blacklisted"] is not None:
            blacklisted = (blacklisted or 0) + int(r["blacklisted"])
    for name, tq in plan.quality_tables().items():
        if tq.policies.get(GLOBAL, "unchecked") != "unchecked" and name in counts:
            n = 0 if duplicates is None else int((duplicates["rows"].cast(pl.Int64) - 1).sum())
            # The one-plan run counts it after the row checks, before ``where``.
            ordered = {}
            for check, value in counts[name].items():
                if check == "where":
                    ordered[GLOBAL] = n
                ordered[check] = value
            ordered.setdefault(GLOBAL, n)
            counts[name] = ordered
    order = [t for t in plan.quality_tables() if t in counts]
    counts = {t: counts[t] for t in [*order, *(t for t in counts if t not in order)]}
    return quality.QualityResult(counts, duplicates, blacklisted)


def population_plan(plan: Plan, staging: str | Path) -> Plan:
    """``plan`` whose frame is the population stage over the buckets' hand-off files."""
    handoff = pl.scan_parquet(
        sorted(str(p) for p in Path(staging, HANDOFF).glob("*.parquet")),
        schema=pl.Schema(plan_handoff_schema(plan)),
    )
    frame = population_frame(plan.stages, handoff, plan.nodes, plan.outputs, plan.ctx, plan.dtypes)
    return dataclasses.replace(plan, frame=frame)


def plan_handoff_schema(plan: Plan) -> dict[str, pl.DataType]:
    """The hand-off columns' types of the one-plan run."""
    stages = plan.stages
    frame = per_customer_frame(stages, plan.nodes, plan.loaded, plan.dtypes, plan.excluded)
    return dict(frame.collect_schema())


def rejects_frames(staging: str | Path) -> dict[str, pl.LazyFrame]:
    """Every bucket's rejected rows per table, in the one-plan run's order."""
    out = {}
    root = Path(staging, REJECTS)
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            files = sorted(str(p) for p in folder.glob("*.parquet"))
            if files:
                out[folder.name] = quality.rejects_order(pl.scan_parquet(files))
    return out


def dump_result(result: Mapping[str, Any]) -> str:
    return json.dumps(result)


def load_result(text: str) -> dict[str, Any]:
    try:
        out: dict[str, Any] = json.loads(text)
    except ValueError as exc:  # pragma: no cover - written by run_bucket
        raise DataError(f"a bucket's result is not readable: {exc}") from exc
    return out


#: Plan nodes (polars' serialized LazyFrame) whose rows depend on other rows.
_ACROSS_PLAN = frozenset({"GroupBy", "Sort", "Distinct", "Slice", "Cache"})
#: Plan-level functions (``MapFunction``) that map each row on its own.
_ROW_FUNCTIONS = frozenset({"Rename", "Explode", "Unnest", "Unpivot"})
#: Keys of a serialized plan that hold data or scan settings.
_NOT_COMPUTED = frozenset(
    {"df", "file_info", "sources", "schema", "scan_type", "unified_scan_args"}
)


def reads_across_customers(frame: pl.LazyFrame) -> str | None:
    """What in ``frame``'s plan makes a row depend on other customers' rows (a window
    over another column than customer_id, an aggregation, a group-by, a sort, a rank, a
    cumulative value, an opaque Python function), or None when every row is computed
    from its own customer's rows. A split run cannot compute such a table bucket by
    bucket. Decided by walking polars' serialized plan (as
    :func:`segrule.model.sql.reads_across_customers` does for expressions); a plan that
    cannot be serialized is taken as reading across customers."""
    import warnings

    from segrule.model.sql import _ACROSS_FUNCTIONS, _ACROSS_NODES

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = json.loads(frame.serialize(format="json"))
    except Exception as exc:  # an opaque source or function
        return f"a plan polars cannot describe ({type(exc).__name__})"
    per_customer = [{"Column": BASE}]
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if node in ("Len", *_ACROSS_FUNCTIONS):
                return f"the function {node}"
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in (
                    "df",
                    "file_info",
                    "sources",
                    "schema",
                    "scan_type",
                    "unified_scan_args",
                ):
                    continue  # data and scan settings, not computations
                if key in _ACROSS_PLAN:
                    return f"a {key} step"
                if key == "MapFunction" and isinstance(value, dict):
                    function = value.get("function")
                    kind = next(iter(function), "?") if isinstance(function, dict) else function
                    if kind not in _ROW_FUNCTIONS:
                        return f"a {kind} step"
                    stack.append(value.get("input"))
                    continue
                if key == "Filter" and isinstance(value, dict) and "predicate" in value:
                    stack.append(value)  # a filter of rows by a row condition
                    continue
                if key in ("Over", "Window") and isinstance(value, dict):
                    if value.get("partition_by") == per_customer and not value.get("order_by"):
                        continue  # a value per customer
                    cols = [
                        c.get("Column", "?") if isinstance(c, dict) else "?"
                        for c in value.get("partition_by") or []
                    ]
                    return f"a window over {', '.join(cols) or 'all rows'}"
                if key == "AnonymousFunction":
                    # A Python function in an expression: serialized only when cloudpickle
                    # is installed (else the plan fails to serialize, caught above); what
                    # it reads cannot be seen.
                    return "an opaque Python function"
                if key in _ACROSS_NODES or key in _ACROSS_FUNCTIONS:
                    return f"the expression {key}"
                if key == "function" and isinstance(value, str) and value in _ACROSS_FUNCTIONS:
                    return f"the function {value}"
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return None
