"""The Python API: everything the CLI does is a function here first."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segrule import quality
from segrule.compiler import Plan, TableInput, compile_plan
from segrule.errors import SegruleError, UsageError
from segrule.explain import ExplainOptions
from segrule.registry import Engine
from segrule.ruleset import RuleSet, compose
from segrule.ruleset import load_ruleset as _load_one

FORMATS = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}


def load_ruleset(*refs: str | Path, engine: Engine | None = None) -> RuleSet:
    """Load one or more rule sets (files or preset names) and compose them into one."""
    if not refs:
        raise UsageError("give at least one rule set (a YAML file or a preset name)")
    engine = engine or Engine()
    return compose([_load_one(r, engine) for r in refs])


def compile(
    ruleset: RuleSet | str | Path | Sequence[str | Path],
    tables: Mapping[str, TableInput] | None = None,
    *,
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    outputs: list[str] | None = None,
    engine: Engine | None = None,
    plugins: Sequence[str] = (),
    check_only: bool = False,
    blacklist: str | Path | None = None,
    explain: ExplainOptions | None = None,
) -> Plan:
    """Compile rule sets into one lazy plan without reading data (schemas only).

    ``check_only=True`` checks against the table contracts where no data is given;
    ``explain`` adds the explanation columns (:mod:`segrule.explain`).
    """
    engine = engine or Engine(plugins=list(plugins))
    rs = _as_ruleset(ruleset, engine)
    return compile_plan(
        engine,
        rs,
        as_of=as_of,
        tz=tz,
        tables=tables,
        data_dir=data,
        outputs=outputs,
        check_only=check_only,
        blacklist=blacklist,
        explain=explain,
    )


def score(
    ruleset: RuleSet | str | Path | Sequence[str | Path],
    tables: Mapping[str, TableInput] | None = None,
    *,
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    outputs: list[str] | None = None,
    lazy: bool = False,
    engine: Engine | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    explain: ExplainOptions | None = None,
) -> pl.DataFrame | pl.LazyFrame:
    """Score customers: one row per customer of the universe, sorted by customer_id.

    ``tables`` maps table names to paths, LazyFrames or DataFrames; ``data`` is a
    folder holding ``<table>.parquet`` files. Returns a DataFrame (collected with the
    streaming engine), or the LazyFrame when ``lazy=True``.

    The data-quality checks run first (also with ``lazy=True``: they read the tables'
    ids): a check whose policy is ``fail`` raises DataError; duplicate orders are left
    out of the returned plan. Their counts are what :func:`run` reports.
    """
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
    plan, _ = checked(plan)
    if lazy:
        return plan.frame
    return collect(plan.frame)


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """Collect a plan with the streaming engine (this function collects)."""
    try:
        return frame.collect(engine="streaming")
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise SegruleError(f"the run failed while reading data: {_first_line(exc)}") from exc


@dataclass
class RunResult:
    """What a run wrote and measured."""

    output: Path
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


def output_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in ("parquet", "csv", "ipc", "ndjson"):
            raise UsageError(f"unknown output format '{fmt}'; use parquet, csv, ipc or ndjson")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise UsageError(
            f"cannot tell the format of '{path}' from its extension; use .parquet, "
            ".csv, .arrow/.ipc or .ndjson, or pass --format"
        ) from None


#: Rows per Parquet row group (records per IPC batch). Fixed, so that the file's layout
#: does not follow the streaming engine's morsels: with the default, 10M orders gave
#: different row groups (and bytes) with 1 and 2 threads.
ROW_GROUP_ROWS = 262_144


def _temp_prefix(target: Path) -> str:
    return f".{target.name}."


def _remove_stale_temps(target: Path) -> None:
    """Remove temporary files a killed run left beside ``target`` (their process is gone)."""
    prefix = _temp_prefix(target)
    for tmp in target.parent.glob(f"{prefix}*.tmp"):
        pid_text = tmp.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:  # alive, someone else's
            continue


def sink(
    frame: pl.LazyFrame,
    out: str | Path,
    fmt: str | None = None,
    *,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Write a plan straight to ``out`` with the streaming engine, atomically: to a
    temporary file beside it (named with this process id), synced, then renamed; a
    failed or killed run leaves no file at ``out`` and the previous one intact.
    Temporary files of killed runs are removed by the next write to the same target.
    ``manifest`` goes into a Parquet output's metadata (key ``segrule.manifest``).
    """
    return sink_with(frame, out, fmt, manifest=manifest)[0]


def sink_with(
    frame: pl.LazyFrame,
    out: str | Path,
    fmt: str | None = None,
    *,
    manifest: Mapping[str, Any] | None = None,
    also: Sequence[pl.LazyFrame] = (),
    check: Callable[[list[pl.DataFrame]], None] | None = None,
) -> tuple[Path, list[pl.DataFrame]]:
    """:func:`sink`, and collect the queries ``also`` in the same ``collect_all``: built
    on ``frame``, they share its plan (the run is computed once). ``check(results)``
    runs before the output is renamed into place: if it raises, no output is written.
    Returns the path and the results of ``also``."""
    import json

    from segrule.manifest import MANIFEST_KEY

    target = Path(out)
    kind = output_format(target, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{_temp_prefix(target)}{os.getpid()}.", suffix=".tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if kind == "parquet":
            meta = {MANIFEST_KEY: json.dumps(manifest, sort_keys=True)} if manifest else None
            write = frame.sink_parquet(
                tmp,
                compression="zstd",
                statistics=True,
                row_group_size=ROW_GROUP_ROWS,
                metadata=meta,
                sync_on_close="all",
                lazy=True,
            )
        elif kind == "csv":
            write = frame.sink_csv(tmp, sync_on_close="all", lazy=True)
        elif kind == "ipc":
            write = frame.sink_ipc(
                tmp, record_batch_size=ROW_GROUP_ROWS, sync_on_close="all", lazy=True
            )
        else:
            write = frame.sink_ndjson(tmp, sync_on_close="all", lazy=True)
        results = pl.collect_all([write, *also], engine="streaming")
        if check is not None:
            check(list(results[1:]))
        os.replace(tmp, target)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise SegruleError(f"the run failed: {_first_line(exc)}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return target, list(results[1:])


def run(
    rulesets: RuleSet | str | Path | Sequence[str | Path],
    out: str | Path,
    tables: Mapping[str, TableInput] | None = None,
    *,
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    fmt: str | None = None,
    outputs: list[str] | None = None,
    engine: Engine | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    rejects: str | Path | None = None,
    explain: ExplainOptions | None = None,
    history: str | Path | None = None,
) -> RunResult:
    """Compile, run with the streaming engine and write ``out``; then summarize it.

    Data-quality checks are counted beside the run (``RunResult.quality``); a check
    whose policy is ``fail`` and that finds rows raises DataError and nothing is
    written; ``rejects``: a folder that receives ``<table>.parquet`` with the rows left
    out by a check and their ``reason``; ``explain``: the explanation columns to add
    (:mod:`segrule.explain`); ``history``: a folder that receives this run's memberships
    (one partition per as-of), continuing from its latest run with the rule set's
    hysteresis (:mod:`segrule.history`)."""
    t0 = time.perf_counter()
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
    )
    t1 = time.perf_counter()
    from segrule.manifest import build_manifest

    report: list[dict[str, Any]] = []
    written: dict[str, int] = {}
    # The quality counts run beside the plan, each query on its own: in the run's
    # collect_all polars would merge them into one cached pass over every row instead
    # of answering most of them from Parquet statistics (segrule.quality).
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segrule-quality")
    counting = pool.submit(quality.collect_quality, plan)

    class _Again(Exception):
        """Duplicate orders were found: the plan is computed again without them."""

    def check(current: Plan, first: bool) -> Callable[[list[pl.DataFrame]], None]:
        def run_check(results: list[pl.DataFrame]) -> None:
            found = counting.result()
            rows = quality.report_rows(current, found)
            if rejects is not None and first:
                written.update(quality.write_rejects(current, found, rejects))
            quality.raise_on_failures(rows, current, found)
            if first and quality.drops_duplicates(current, found):
                raise _Again
            report[:] = rows

        return run_check

    held: list[Any] = []
    previous: Path | None = None
    if history is not None:
        from segrule import history as hist

        held = hist.hysteresis_of(plan)
        previous = hist.previous_partition(history, plan.ctx.as_of)
    kept: list[pl.DataFrame] = []

    def write(current: Plan, first: bool) -> tuple[Path, list[pl.DataFrame], Any]:
        frame = current.frame
        extra: list[pl.LazyFrame] = []
        if history is not None:
            from segrule import history as hist

            full = hist.apply(current, current.frame, previous, held)
            frame = full.select(current.outputs)
            extra = [full.select(hist.history_columns(current, held))]
        queries, finish = summary_queries(frame, current)
        path, results = sink_with(
            frame,
            out,
            fmt,
            manifest=build_manifest(current),
            also=[*queries, *extra],
            check=check(current, first),
        )
        kept[:] = results[len(queries) :]
        return path, results[: len(queries)], finish

    try:
        try:
            path, results, finish = write(plan, True)
        except _Again:
            found = counting.result()
            assert found.duplicates is not None
            plan = quality.without_duplicates(plan, found.duplicates)
            path, results, finish = write(plan, False)
    finally:
        pool.shutdown(wait=True)
    written_history = None
    if history is not None and kept:
        from segrule import history as hist

        written_history = hist.write_partition(history, plan.ctx.as_of, kept[0])
    t2 = time.perf_counter()
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
        written_history,
    )


def checked(plan: Plan) -> tuple[Plan, quality.QualityResult]:
    """Run the plan's data-quality checks (this collects): raise when a ``fail`` check
    finds rows; return the plan without duplicate orders when they are dropped."""
    try:
        found = quality.collect_quality(plan)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise SegruleError(f"the run failed while reading data: {_first_line(exc)}") from exc
    quality.raise_on_failures(quality.report_rows(plan, found), plan, found)
    if quality.drops_duplicates(plan, found):
        assert found.duplicates is not None
        plan = quality.without_duplicates(plan, found.duplicates)
    return plan, found


def revenue_column(plan: Plan) -> str | None:
    """The money output that revenue shares are computed on."""
    for name in ("monetary_lifetime", "monetary_365d"):
        if name in plan.outputs:
            return name
    return next((n for n in plan.outputs if plan.nodes.get(n) and plan.nodes[n].cents), None)


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
    aggs = [pl.len().alias("customers")]
    if money:
        aggs.append(pl.col(money).sum().alias("revenue"))
    queries = [
        lf.group_by(pl.col(c).cast(pl.String).alias("label"))
        .agg(aggs)
        .with_columns(pl.lit(c).alias("column"))
        for c in cols
    ]
    totals = lf.select(pl.len().alias("n"), *([pl.col(money).sum().alias("rev")] if money else []))

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


def _as_ruleset(ruleset: RuleSet | str | Path | Sequence[str | Path], engine: Engine) -> RuleSet:
    if isinstance(ruleset, RuleSet):
        return ruleset
    if isinstance(ruleset, (str, Path)):
        return load_ruleset(ruleset, engine=engine)
    return load_ruleset(*ruleset, engine=engine)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if "to `i64` failed in column 'amount'" in line:
        # amount -> integer cents (exact sums) failed: NaN, infinite or too large.
        line += (
            "; amounts are summed as integer cents, so each must be a finite number below "
            "92,233,720,368,547,758 in absolute value: fix those rows or exclude them with "
            "tables.orders.where"
        )
    return line
