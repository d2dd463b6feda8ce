"""The Python API: everything the CLI does is a function here first."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias, overload

import polars as pl

from segrule import bucketing, grouped
from segrule.bucketing import BucketResult
from segrule.engine import build, quality
from segrule.engine.build import as_ruleset, load_ruleset
from segrule.engine.compiler import Plan, TableInput
from segrule.engine.execute import (
    checked,
    checked_lazily,
    collect,
    data_folder_inputs,
    input_paths,
    plan_inputs,
    revenue_column,
)
from segrule.engine.passes import RunPass
from segrule.errors import UsageError, option
from segrule.explain import ExplainOptions, ExplainPass
from segrule.grouped import RollupDef, RollupResult, rollup, rollups
from segrule.io import outpaths
from segrule.io.cells import CsvFormulas
from segrule.io.cloud import check_writable, is_cloud
from segrule.io.encodings import copies_scope
from segrule.io.formats import FORMATS
from segrule.io.frames import TableLike
from segrule.io.locations import redact
from segrule.io.outpaths import Inputs
from segrule.io.sink import ROW_GROUP_ROWS, output_format, sink, sink_with
from segrule.model.ruleset import RuleSet
from segrule.plugins.registry import Registry
from segrule.spark import SparkOptions

#: Phase messages ("reading orders ..."): the CLI shows them as progress and with -v.
log = logging.getLogger(__name__)

#: Rule sets as the API takes them: a loaded RuleSet, a rule file or preset name, or
#: several (composed in order).
RuleSets: TypeAlias = RuleSet | str | Path | Sequence[str | Path]
#: Tables by name (orders, customers, ...): paths, URLs or frames (TableLike).
Tables: TypeAlias = Mapping[str, TableLike | None] | None
#: The as-of: a date (midnight at its start in the business time zone), a datetime (an
#: aware one is converted), an ISO text, or None for today.
AsOf: TypeAlias = str | dt.date | dt.datetime | None

__all__ = [
    "FORMATS",
    "ROW_GROUP_ROWS",
    "AsOf",
    "BucketResult",
    "Plan",
    "RollupResult",
    "RuleSets",
    "RunResult",
    "TableInput",
    "TableLike",
    "Tables",
    "bucket",
    "check_outputs",
    "checked",
    "collect",
    "compile",
    "data_folder_inputs",
    "input_paths",
    "load_ruleset",
    "output_format",
    "plan_inputs",
    "quality_report",
    "revenue_column",
    "rollup",
    "rollups",
    "run",
    "score",
    "sink",
    "sink_with",
    "summarize",
    "summary_queries",
]


def passes_for(rs: RuleSet, explain: ExplainOptions | None = None) -> list[object]:
    """The plan passes of a run of ``rs`` (:mod:`segrule.engine.passes`): explanation
    columns when asked for, the hysteresis entries' check when the rule set has some."""
    passes: list[object] = []
    if explain is not None:
        passes.append(ExplainPass(explain))
    if rs.model.hysteresis:
        from segrule.history import HysteresisCheck

        passes.append(HysteresisCheck())
    return passes


def compile(
    ruleset: RuleSets,
    tables: Tables = None,
    *,
    as_of: AsOf = None,
    data: str | Path | None = None,
    tz: str | None = None,
    outputs: list[str] | None = None,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
    check_only: bool = False,
    blacklist: str | Path | None = None,
    explain: ExplainOptions | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """Compile rule sets into one lazy plan without reading data (schemas only).

    ``check_only=True`` checks against the table contracts where no data is given;
    ``explain`` adds the explanation columns (:mod:`segrule.explain`); ``columns``: more
    table columns to read (:func:`segrule.engine.compiler.compile_plan`).
    """
    engine = engine or Registry(plugins=list(plugins))
    rs = as_ruleset(ruleset, engine)
    return build.compile(
        rs,
        tables,
        as_of=as_of,
        data=data,
        tz=tz,
        outputs=outputs,
        engine=engine,
        check_only=check_only,
        blacklist=blacklist,
        passes=passes_for(rs, explain),
        columns=columns,
    )


@overload
def score(
    ruleset: RuleSets,
    tables: Tables = None,
    *,
    as_of: AsOf = None,
    data: str | Path | None = None,
    tz: str | None = None,
    outputs: list[str] | None = None,
    lazy: Literal[False] = False,
    engine: Registry | Literal["local", "spark"] | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    explain: ExplainOptions | None = None,
    spark: SparkOptions | None = None,
) -> pl.DataFrame: ...


@overload
def score(
    ruleset: RuleSets,
    tables: Tables = None,
    *,
    as_of: AsOf = None,
    data: str | Path | None = None,
    tz: str | None = None,
    outputs: list[str] | None = None,
    lazy: Literal[True],
    engine: Registry | Literal["local", "spark"] | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    explain: ExplainOptions | None = None,
    spark: SparkOptions | None = None,
) -> pl.LazyFrame: ...


@overload
def score(
    ruleset: RuleSets,
    tables: Tables = None,
    *,
    as_of: AsOf = None,
    data: str | Path | None = None,
    tz: str | None = None,
    outputs: list[str] | None = None,
    lazy: bool = False,
    engine: Registry | Literal["local", "spark"] | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    explain: ExplainOptions | None = None,
    spark: SparkOptions | None = None,
) -> pl.DataFrame | pl.LazyFrame: ...


def score(
    ruleset: RuleSets,
    tables: Tables = None,
    *,
    as_of: AsOf = None,
    data: str | Path | None = None,
    tz: str | None = None,
    outputs: list[str] | None = None,
    lazy: bool = False,
    engine: Registry | Literal["local", "spark"] | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    explain: ExplainOptions | None = None,
    spark: SparkOptions | None = None,
) -> pl.DataFrame | pl.LazyFrame:
    """Score customers: one row per customer of the universe, sorted by customer_id.

    ``tables`` maps table names to paths, URLs, polars LazyFrames or DataFrames, pandas
    DataFrames, or pyarrow Tables, record batches, readers or datasets; ``data`` is a
    folder holding ``<table>.parquet`` files. Returns a DataFrame (collected with the
    streaming engine), or the LazyFrame when ``lazy=True``.

    Eager: the data-quality checks run first (:func:`quality_report`): a check whose
    policy is ``fail``, or a table losing more than its ``max_rejected_share``, raises
    DataQualityError; duplicate orders are left out.

    ``lazy=True`` reads no rows: the LazyFrame leaves duplicate orders out itself when it
    runs, but nothing counts the checks or enforces ``fail`` policies. Call
    :func:`quality_report` with the same arguments for the counts (it raises as the eager
    call does), or use :func:`run`, which does both with one read of the data.

    A CSV not in UTF-8 is read from a UTF-8 copy in the temporary folder: removed when an
    eager call returns; with ``lazy=True`` kept until the process exits, since the frame
    may be collected any time (:mod:`segrule.io.encodings`).

    ``engine="spark"`` (or ``spark=SparkOptions(...)``): the per-customer stage on Apache
    Spark, the population stage here (docs/spark.md); eager only.
    """
    executor, engine = _executor(engine, plugins, spark)
    if executor == "spark" and lazy:
        raise UsageError("engine='spark' runs eagerly: call score() without lazy=True")
    with contextlib.nullcontext() if lazy else copies_scope():
        plan = compile(
            ruleset,
            tables,
            as_of=as_of,
            data=data,
            tz=tz,
            outputs=outputs,
            engine=engine,
            plugins=plugins,
            blacklist=blacklist,
            explain=explain,
        )
        if lazy:
            return checked_lazily(plan).frame
        if executor == "spark":
            with _on_spark(
                plan, spark, outputs, explain, plan_inputs(plan, engine, data)
            ) as on_spark:
                found = on_spark.quality
                quality.raise_on_failures(
                    quality.report_rows(on_spark.plan, found), on_spark.plan, found
                )
                return collect(on_spark.plan.frame)
        plan, _ = checked(plan)
        return collect(plan.frame)


def quality_report(
    ruleset: RuleSets,
    tables: Tables = None,
    *,
    as_of: AsOf = None,
    data: str | Path | None = None,
    tz: str | None = None,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
) -> list[dict[str, Any]]:
    """The data-quality counts :func:`score` would find, one dict per table and check
    (``table``, ``check``, ``action``, ``rows``), as ``segrule run`` reports them. This
    reads the tables' rows the checks need. Raises DataQualityError (its ``report``
    holds the same rows) when a ``fail`` check finds rows or a table loses more than its
    ``max_rejected_share``."""
    with copies_scope():
        plan = compile(
            ruleset,
            tables,
            as_of=as_of,
            data=data,
            tz=tz,
            engine=engine,
            plugins=plugins,
            blacklist=blacklist,
        )
        plan, found = checked(plan)
        return quality.report_rows(plan, found)


@dataclass
class RunResult:
    """What a run wrote and measured. ``output`` is the file written, or for a database
    or object-store output its location as text (``postgresql://...#schema.table``,
    ``s3://bucket/key``; passwords hidden)."""

    output: Path | str
    rows: int
    plan: Plan
    seconds: dict[str, float] = field(default_factory=dict)
    summary: list[dict[str, Any]] = field(default_factory=list)
    #: data-quality counts: {"table", "check", "action", "rows"} per check that ran
    quality: list[dict[str, Any]] = field(default_factory=list)
    #: rows written per table to the rejects folder, when one was given
    rejects: dict[str, int] = field(default_factory=dict)
    #: the history partition written (``run(history=...)``)
    history: Path | None = None
    #: the rollup files written (``run(rollups=...)``), by rollup name
    rollups: dict[str, Path] = field(default_factory=dict)


def run(
    rulesets: RuleSets,
    out: str | Path,
    tables: Tables = None,
    *,
    as_of: AsOf = None,
    data: str | Path | None = None,
    tz: str | None = None,
    fmt: str | None = None,
    outputs: list[str] | None = None,
    engine: Registry | Literal["local", "spark"] | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    rejects: str | Path | None = None,
    explain: ExplainOptions | None = None,
    history: str | Path | None = None,
    other_outputs: Mapping[str, str | Path | None] | None = None,
    csv_formulas: CsvFormulas = "neutralize",
    spark: SparkOptions | None = None,
    rollups: str | Path | None = None,
    rollup_names: Sequence[str] = (),
) -> RunResult:
    """Compile, run with the streaming engine and write ``out``; then summarize it.

    ``engine``: the plugin registry, or where the run goes: ``"local"`` (this process,
    the default) or ``"spark"`` (the per-customer stage on Apache Spark, by buckets of
    customers; ``spark``: where and how, :class:`segrule.spark.SparkOptions`). Both give
    the same bytes (docs/spark.md).

    Data-quality checks are counted beside the run (``RunResult.quality``); a check
    whose policy is ``fail`` and that finds rows raises DataError and nothing is
    written; ``rejects``: a folder that receives ``<table>.parquet`` with the rows left
    out by a check and their ``reason``; ``explain``: the explanation columns to add
    (:mod:`segrule.explain`); ``history``: a folder that receives this run's memberships
    (one partition per as-of), continuing from its latest run with the rule set's
    hysteresis (:mod:`segrule.history`); ``other_outputs``: files the caller writes
    after the run (the CLI's ``--report``), by option name.

    Before anything runs, every path to write is checked against what the run reads
    (:mod:`segrule.io.outpaths`): none may be or hold an input, and ``rejects`` must be
    a new or empty folder or one segrule wrote before. ``csv_formulas``: what a CSV
    output does with text cells a spreadsheet would read as formulas
    (:mod:`segrule.io.cells`). UTF-8 copies of CSV files in other encodings are removed
    when it returns (:mod:`segrule.io.encodings`).

    ``rollups``: a folder that receives the rule set's rollups (``rollup_names``: some
    of them), computed in the run's own ``collect_all`` from its output rows and tables
    and written as Parquet after the output (:mod:`segrule.grouped`, docs/rollups.md);
    the customer values they group by must be outputs of the run; local engine only."""
    with copies_scope():
        return _run(
            rulesets,
            out,
            tables,
            as_of=as_of,
            data=data,
            tz=tz,
            fmt=fmt,
            outputs=outputs,
            engine=engine,
            plugins=plugins,
            blacklist=blacklist,
            rejects=rejects,
            explain=explain,
            history=history,
            other_outputs=other_outputs,
            csv_formulas=csv_formulas,
            spark=spark,
            rollups=rollups,
            rollup_names=rollup_names,
        )


def _run(
    rulesets: RuleSets,
    out: str | Path,
    tables: Tables,
    *,
    as_of: AsOf,
    data: str | Path | None,
    tz: str | None,
    fmt: str | None,
    outputs: list[str] | None,
    engine: Registry | str | None,
    plugins: Sequence[str],
    blacklist: str | Path | None,
    rejects: str | Path | None,
    explain: ExplainOptions | None,
    history: str | Path | None,
    other_outputs: Mapping[str, str | Path | None] | None,
    csv_formulas: CsvFormulas,
    spark: SparkOptions | None,
    rollups: str | Path | None = None,
    rollup_names: Sequence[str] = (),
) -> RunResult:
    t0 = time.perf_counter()
    log.info("compiling the rule sets into one plan")
    executor, engine = _executor(engine, plugins, spark)
    rollup_defs: list[RollupDef] = []
    columns: dict[str, dict[str, str]] | None = None
    if rollups is not None:
        if executor == "spark":
            raise UsageError(
                f"{option('rollups')} runs with the local engine only; write the rollups "
                "with segrule rollup"
            )
        rulesets = as_ruleset(rulesets, engine)
        rollup_defs, _, columns = grouped.for_run(rulesets, engine, rollup_names, as_of, tz)
    plan = compile(
        rulesets,
        tables,
        as_of=as_of,
        data=data,
        tz=tz,
        outputs=outputs,
        engine=engine,
        plugins=plugins,
        blacklist=blacklist,
        explain=explain,
        columns=columns,
    )
    inputs = plan_inputs(plan, engine, data)
    if rollup_defs:
        grouped.check_run_outputs(rollup_defs, plan)
        grouped.rollup_queries(plan, rollup_defs)  # their filters and money, before a read
    check_outputs(
        inputs, out, rejects=rejects, history=history, others=other_outputs, rollups=rollups
    )
    t1 = time.perf_counter()
    log.info(
        "reading %s and writing %s (streaming, with the data-quality checks beside it)",
        ", ".join(sorted(plan.tables)) or "the tables",
        redact(str(out)),
    )
    with contextlib.ExitStack() as stack:
        spark_run = None
        if executor == "spark":
            spark_run = stack.enter_context(
                _on_spark(plan, spark, outputs, explain, inputs, rejects=rejects is not None)
            )
            plan = spark_run.plan
        return _write_run(
            plan,
            out,
            fmt,
            inputs,
            rejects,
            history,
            csv_formulas,
            spark_run,
            t0,
            t1,
            (Path(rollups), rollup_defs) if rollups is not None else None,
        )


def _write_run(
    plan: Plan,
    out: str | Path,
    fmt: str | None,
    inputs: Inputs,
    rejects: str | Path | None,
    history: str | Path | None,
    csv_formulas: CsvFormulas,
    spark_run: Any,
    t0: float,
    t1: float,
    rollups: tuple[Path, list[RollupDef]] | None = None,
) -> RunResult:
    """The output of a compiled run written with its data-quality checks beside it; the
    counts come from ``spark_run`` when the per-customer stage ran on Spark. ``rollups``
    (folder, definitions): computed in the same ``collect_all``, written after the
    output."""
    from segrule.io.manifest import build_manifest

    report: list[dict[str, Any]] = []
    written: dict[str, int] = {}
    # The quality counts run beside the plan, each query on its own: in the run's
    # collect_all polars would merge them into one cached pass over every row instead
    # of answering most of them from Parquet statistics (segrule.engine.quality).
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segrule-quality")
    if spark_run is None:
        counting = pool.submit(quality.collect_quality, plan)
    else:
        counting = pool.submit(lambda: spark_run.quality)

    class _Again(Exception):
        """Duplicate orders were found: the plan is computed again without them."""

    def check(current: Plan, first: bool) -> Callable[[list[pl.DataFrame]], None]:
        def run_check(results: list[pl.DataFrame]) -> None:
            found = counting.result()
            rows = quality.report_rows(current, found)
            if rejects is not None and first:
                written.update(
                    quality.write_rejects(
                        current,
                        found,
                        rejects,
                        inputs=inputs,
                        frames=None if spark_run is None else spark_run.rejects,
                    )
                )
            quality.raise_on_failures(rows, current, found)
            # On Spark the buckets left duplicates out already (the driver chose the rows).
            if first and spark_run is None and quality.drops_duplicates(current, found):
                raise _Again
            report[:] = rows

        return run_check

    # Run passes (segrule.engine.passes.RunPass): each wraps the output frame with
    # queries of its own in the run's collect_all and commits what it writes with the
    # output. One pass at most puts the output in place (history's journaled commit).
    run_passes: list[RunPass] = []
    history_pass: Any = None
    if history is not None:
        from segrule.history import HistoryPass

        history_pass = HistoryPass(history, plan)
        run_passes.append(history_pass)
    kept: list[list[pl.DataFrame]] = []
    rolled: list[pl.DataFrame] = []
    rolled_plan: list[Plan] = []

    def write(current: Plan, first: bool) -> tuple[Path | str, list[pl.DataFrame], Any]:
        # Built on the plan's frame (the output rows) and tables: the sink shares them.
        rollup_q = grouped.rollup_queries(current, rollups[1]) if rollups else []
        frame = current.frame
        extra: list[pl.LazyFrame] = []
        counts: list[int] = []
        for p in run_passes:
            frame, queries_p = p.wrap(current, frame)
            extra += queries_p
            counts.append(len(queries_p))
        queries, finish = summary_queries(frame, current)
        run_check = check(current, first)

        def check_and_keep(results: list[pl.DataFrame]) -> None:
            run_check(results)
            rest = results[len(queries) :]
            kept[:] = []
            for n in counts:
                kept.append(rest[:n])
                rest = rest[n:]
            rolled[:] = rest
            rolled_plan[:] = [current]

        def commit(tmp: Path, target: Path) -> None:
            if not run_passes:
                os.replace(tmp, target)
                return
            (only,) = run_passes
            only.commit(current, kept[0], tmp, target)

        path, results = sink_with(
            frame,
            out,
            fmt,
            manifest=build_manifest(current),
            also=[*queries, *extra, *rollup_q],
            check=check_and_keep,
            # An object-store output is put in place by its upload, not renamed.
            rename=commit if run_passes or not is_cloud(out) else None,
            inputs=inputs,
            csv_formulas=csv_formulas,
        )
        return path, results[: len(queries)], finish

    try:
        try:
            path, results, finish = write(plan, True)
        except _Again:
            found = counting.result()
            assert found.duplicates is not None
            plan = quality.without_duplicates(plan, found.duplicates)
            log.info("duplicate order ids found: running the plan again without them")
            path, results, finish = write(plan, False)
    finally:
        pool.shutdown(wait=True)
    rollup_files: dict[str, Path] = {}
    if rollups is not None:
        folder, defs = rollups
        log.info("writing %d rollups to %s", len(defs), folder)
        rollup_files = grouped.write_folder(
            folder,
            rolled_plan[0],
            defs,
            {d.name: t for d, t in zip(defs, rolled, strict=True)},
            what=option("rollups"),
        )
    t2 = time.perf_counter()
    log.info("wrote %s in %.2fs; summarizing", redact(str(path)), t2 - t1)
    summary, rows = finish(results)
    t3 = time.perf_counter()
    return RunResult(
        path,
        rows,
        plan,
        {"compile": t1 - t0, "run": t2 - t1, "summary": t3 - t2},
        summary,
        report,
        written,
        None if history_pass is None else history_pass.written,
        rollup_files,
    )


def bucket(
    rulesets: RuleSets = (),
    *,
    data: str | Path | None = None,
    tables: Tables = None,
    buckets: int,
    out: str | Path,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
) -> BucketResult:
    """Split every table segrule would read for ``rulesets`` (or, without one, every
    known table in the ``data`` folder) into ``buckets`` buckets by
    ``pmod(xxhash64(cast(customer_id as string)), buckets)``, Spark's own hash, and write
    the bucket layout to the folder ``out`` (docs/buckets.md): one hive folder
    ``<table>/segrule_bucket=<k>/`` per non-empty bucket, the marker
    ``_segrule_buckets.json`` last, the whole folder put in place at the end. The
    customer id column is the rule set's ``tables.<t>.columns.customer_id``, else
    ``customer_id``. ``out`` must be new, empty or a layout written before, and never an
    input. Reading the layout back (``data=out``) gives the same tables as their
    sources. Needs NumPy and pyarrow (``segrule[spark]``)."""
    return bucketing.bucket(
        rulesets,
        data=data,
        tables=tables,
        buckets=buckets,
        out=out,
        engine=engine,
        plugins=plugins,
    )


def _on_spark(
    plan: Plan,
    spark: SparkOptions | None,
    outputs: list[str] | None,
    explain: ExplainOptions | None,
    inputs: Inputs,
    *,
    rejects: bool = False,
) -> contextlib.AbstractContextManager[Any]:
    """The per-customer stage of ``plan`` on Spark (:func:`segrule.spark.staged`), with
    the plan passes the workers compile again."""
    from segrule.spark import staged

    return staged(
        plan,
        spark or SparkOptions(),
        outputs=outputs,
        passes=tuple(passes_for(plan.ruleset, explain)),
        rejects=rejects,
        inputs=inputs,
    )


def _executor(
    engine: Registry | str | None, plugins: Sequence[str], spark: SparkOptions | None
) -> tuple[str, Registry]:
    """(where the run goes, the plugin registry) from ``run(engine=...)``."""
    if isinstance(engine, Registry):
        return ("spark" if spark is not None else "local"), engine
    name = engine or ("spark" if spark is not None else "local")
    if name not in EXECUTORS:
        raise UsageError(
            f"{option('engine')} {name!r} is not an engine: choose one of {', '.join(EXECUTORS)}"
        )
    return name, Registry(plugins=list(plugins))


#: Where a run can go (``run(engine=...)``, ``--engine``).
EXECUTORS = ("local", "spark")


def check_outputs(
    inputs: Inputs,
    out: str | Path,
    *,
    rejects: str | Path | None = None,
    history: str | Path | None = None,
    others: Mapping[str, str | Path | None] | None = None,
    rollups: str | Path | None = None,
) -> None:
    """Refuse, before a run, any path it would write that is or holds one of ``inputs``,
    is not a writable kind of file or folder, or overlaps another of its outputs. A
    database output (``postgresql://...#table``) must name a table the run does not read;
    an object-store output must not be or lie under an input URL. Neither is written with
    ``history`` (the history partition is committed together with an output file, which a
    table or an upload cannot be)."""
    from segrule.io.database import check_output, is_database

    database = is_database(out)
    cloud = isinstance(out, str) and is_cloud(out)
    if database:
        check_output(str(out), inputs, option("out"))
    elif cloud:
        # An object-store output: written locally, then put in one request (io.sink).
        check_writable(str(out), option("out"))
        outpaths.check_url(str(out), what=option("out"), inputs=inputs)
    if (database or cloud) and history is not None:
        raise UsageError(
            f"{option('history')} needs a local file {option('out')}: the history partition "
            "is committed together with the output file, which a database table or an "
            "object-store upload cannot be; write the history in a run with a file output"
        )
    if not (database or cloud):
        outpaths.check_file(out, what=option("out"), inputs=inputs)
    for what, path in (others or {}).items():
        if path is not None:
            outpaths.check_file(path, what=what, inputs=inputs, writes="text")
    if rejects is not None:
        quality.check_rejects_folder(rejects, inputs)
    if history is not None:
        outpaths.check_history_folder(history, inputs)
    if rollups is not None:
        grouped.check_folder(rollups, inputs, what=option("rollups"))
    outpaths.check_distinct(
        [
            *([] if database or cloud else [(option("out"), out)]),
            *(others or {}).items(),
            (option("rejects"), rejects),
            (option("history"), history),
            (option("rollups"), rollups),
        ]
    )


def summarize(frame: pl.LazyFrame | pl.DataFrame, plan: Plan) -> list[dict[str, Any]]:
    """Counts and revenue share per label of every segment and tier in the output.

    One row per (column, label): column, label, zh, en, customers, share, revenue_share.
    This function collects (one ``collect_all`` of the per-column counts).
    """
    queries, finish = summary_queries(frame.lazy(), plan)
    return finish(pl.collect_all(queries))[0]


def summary_queries(
    lf: pl.LazyFrame, plan: Plan
) -> tuple[
    list[pl.LazyFrame], Callable[[Sequence[pl.DataFrame]], tuple[list[dict[str, Any]], int]]
]:
    """The lazy queries behind :func:`summarize` and the function turning their results
    into (summary rows, number of customers). Collected together with the output's
    sink, they share its plan: the run is computed once."""
    cols = [
        n for n in plan.outputs if n in plan.nodes and plan.nodes[n].role in ("segment", "tier")
    ]
    money = revenue_column(plan)
    # Revenue is summed in integer cents (a money output is whole cents): a float sum
    # depends on the order the streaming engine adds rows in, and so would the shares.
    cents = (pl.col(money) * 100).round(0).cast(pl.Int64) if money else pl.lit(0)
    aggs = [pl.len().alias("customers")]
    if money:
        aggs.append(cents.sum().alias("revenue"))
    queries = [
        lf.group_by(pl.col(c).cast(pl.String).alias("label"))
        .agg(aggs)
        .with_columns(pl.lit(c).alias("column"))
        for c in cols
    ]
    totals = lf.select(pl.len().alias("n"), *([cents.sum().alias("rev")] if money else []))

    def finish(results: Sequence[pl.DataFrame]) -> tuple[list[dict[str, Any]], int]:
        total = results[-1]
        n = int(total["n"][0])
        rev = total["rev"][0] if money else None
        rows: list[dict[str, Any]] = []
        for c, res in zip(cols, results[:-1], strict=True):
            node = plan.nodes[c]
            order = list(node.labels) if node.labels else []
            for rec in res.sort("label", nulls_last=True).iter_rows(named=True):
                lab = rec["label"]
                info = node.labels.get(lab) if lab is not None else None
                rows.append(
                    {
                        "column": c,
                        "label": lab,
                        "zh": info.zh if info else None,
                        "en": info.en if info else None,
                        "customers": rec["customers"],
                        "share": rec["customers"] / n if n else 0.0,
                        "revenue_share": (rec["revenue"] or 0) / rev if money and rev else None,
                        "_order": order.index(lab) if lab in order else len(order),
                    }
                )
        rows.sort(key=lambda r: (cols.index(r["column"]), r["_order"], str(r["label"])))
        for r in rows:
            del r["_order"]
        return rows, n

    return [*queries, totals], finish
