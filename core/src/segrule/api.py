"""The Python API: everything the CLI does is a function here first."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segrule import cleanup, outpaths, quality
from segrule.cells import CsvFormulas, neutralize_formulas
from segrule.compiler import Plan, TableInput, compile_plan
from segrule.errors import SegruleError, UsageError
from segrule.explain import ExplainOptions
from segrule.outpaths import NO_INPUTS, Inputs
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


def data_folder_inputs(data: str | Path | None, engine: Engine) -> Inputs:
    """The table sources a ``--data`` folder offers for every table the engine knows,
    used or not by this run: an output must not replace tomorrow's input either."""
    if data is None:
        return NO_INPUTS
    from segrule.tables import find_table_source

    names = [*engine.tables.items, "orders", "customers", "events", "feedback"]
    return Inputs.of((f"the {n} table", find_table_source(data, n)) for n in dict.fromkeys(names))


def plan_inputs(plan: Plan, engine: Engine, data: str | Path | None = None) -> Inputs:
    """Every path a compiled run reads: its table sources (files, folders, globs), the
    blacklist, the rule files (``extends`` included) and the ``--data`` folder's tables."""
    sources: list[tuple[str, str | Path | None]] = [
        (f"the {name} table", src) for name, src in plan.tables.items()
    ]
    sources.append(("the blacklist", plan.blacklist))
    sources += [("a rule file", src) for src in plan.ruleset.sources]
    return Inputs.of(sources) | data_folder_inputs(data, engine)


def input_paths(
    rulesets: Sequence[str | Path] = (),
    *,
    tables: Mapping[str, TableInput] | None = None,
    data: str | Path | None = None,
    blacklist: str | Path | None = None,
    files: Sequence[tuple[str, str | Path | None]] = (),
    engine: Engine | None = None,
) -> Inputs:
    """What a command will read, found before it runs (for commands that do not compile
    one plan first): the rule files and what they name (table sources, blacklist),
    ``tables``, the ``--data`` folder's tables, the blacklist and other ``files``.
    A ruleset reference that is not a loadable rule set is skipped: the command itself
    reports it."""
    engine = engine or Engine()
    sources: list[tuple[str, str | Path | None]] = []
    for ref in rulesets:
        if Path(str(ref)).suffix.lower() not in (".yaml", ".yml"):
            sources.append(("an input", ref))
            continue
        try:
            rs = _load_one(ref, engine)
        except SegruleError:
            sources.append(("a rule file", ref))
            continue
        sources += [("a rule file", src) for src in rs.sources]
        sources += [(f"the {n} table", t.source) for n, t in rs.model.tables.items()]
        sources.append(("the blacklist", rs.model.blacklist))
    for name, src in (tables or {}).items():
        if isinstance(src, str | Path):
            sources.append((f"the {name} table", src))
    sources.append(("the blacklist", blacklist))
    # ``files`` (outputs given to diff/report) are read as written, not as globs.
    return Inputs.of(files, globs=False) | Inputs.of(sources) | data_folder_inputs(data, engine)


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

#: Values of SEGRULE_WRITE_CHECKSUMS that switch page checksums in outputs off.
_OFF = ("0", "false", "no", "off")


def sink(
    frame: pl.LazyFrame,
    out: str | Path,
    fmt: str | None = None,
    *,
    manifest: Mapping[str, Any] | None = None,
    inputs: Inputs = NO_INPUTS,
    what: str = "--out",
    csv_formulas: CsvFormulas = "neutralize",
) -> Path:
    """Write a plan straight to ``out`` with the streaming engine, atomically: to a
    temporary file beside it (named with this process id), synced, then renamed; a
    failed or killed run leaves no file at ``out`` and the previous one intact.
    Temporary files of killed runs are removed by the next write to the same target.
    ``manifest`` goes into a Parquet output's metadata (key ``segrule.manifest``).
    ``csv_formulas``: in a CSV, text cells a spreadsheet would read as a formula are
    prefixed with ``'`` (``neutralize``) or written as they are (``keep``); see
    :mod:`segrule.cells`.
    ``out`` is checked first (:func:`segrule.outpaths.check_file`): never one of
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
    what: str = "--out",
    csv_formulas: CsvFormulas = "neutralize",
) -> tuple[Path, list[pl.DataFrame]]:
    """:func:`sink`, and collect the queries ``also`` in the same ``collect_all``: built
    on ``frame``, they share its plan (the run is computed once). ``check(results)``
    runs before the output is renamed into place: if it raises, no output is written.
    ``rename(temporary, target)`` replaces ``os.replace`` to put the written file in
    place (:func:`run` commits the output and its history partition together with it);
    if it raises before renaming, the temporary file is removed.
    Returns the path and the results of ``also``."""
    import json

    from segrule.manifest import MANIFEST_KEY

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
            else:
                write = frame.sink_ndjson(tmp, sync_on_close=sync, lazy=True)
            # In a worker thread under the CLI, so that SIGTERM/SIGINT are handled at once.
            results = cleanup.interruptible(pl.collect_all, [write, *also], engine="streaming")
            if check is not None:
                check(list(results[1:]))
            if (
                kind == "parquet"
                and not outpaths.is_null_device(target)
                and os.environ.get("SEGRULE_WRITE_CHECKSUMS", "").lower() not in _OFF
            ):
                from segrule.parquet_crc import rewrite_with_checksums

                # Page checksums in every Parquet file segrule writes: polars' sink
                # writes none, so the file is written once more (docs/security.md).
                try:
                    rewrite_with_checksums(tmp)
                except OSError as exc:  # writing the file, not running the plan
                    raise outpaths.write_error(target, exc, what) from exc
    except (OSError, pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        # Write failures became OutputPathError in `replacing`; this is the plan failing
        # (polars raises a vanished input as FileNotFoundError, an OSError).
        raise SegruleError(f"the run failed: {_first_line(exc)}") from exc
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
    other_outputs: Mapping[str, str | Path | None] | None = None,
    csv_formulas: CsvFormulas = "neutralize",
) -> RunResult:
    """Compile, run with the streaming engine and write ``out``; then summarize it.

    Data-quality checks are counted beside the run (``RunResult.quality``); a check
    whose policy is ``fail`` and that finds rows raises DataError and nothing is
    written; ``rejects``: a folder that receives ``<table>.parquet`` with the rows left
    out by a check and their ``reason``; ``explain``: the explanation columns to add
    (:mod:`segrule.explain`); ``history``: a folder that receives this run's memberships
    (one partition per as-of), continuing from its latest run with the rule set's
    hysteresis (:mod:`segrule.history`); ``other_outputs``: files the caller writes
    after the run (the CLI's ``--report``), by option name.

    Before anything runs, every path to write is checked against what the run reads
    (:mod:`segrule.outpaths`): none may be or hold an input, and ``rejects`` must be
    a new or empty folder or one segrule wrote before. ``csv_formulas``: what a CSV
    output does with text cells a spreadsheet would read as formulas
    (:mod:`segrule.cells`)."""
    t0 = time.perf_counter()
    engine = engine or Engine(plugins=list(plugins))
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
    inputs = plan_inputs(plan, engine, data)
    check_outputs(inputs, out, rejects=rejects, history=history, others=other_outputs)
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
                written.update(quality.write_rejects(current, found, rejects, inputs=inputs))
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
    written_history: list[Path] = []

    def write(current: Plan, first: bool) -> tuple[Path, list[pl.DataFrame], Any]:
        frame = current.frame
        extra: list[pl.LazyFrame] = []
        if history is not None:
            from segrule import history as hist

            full = hist.apply(current, current.frame, previous, held)
            frame = full.select(current.outputs)
            extra = [full.select(hist.history_columns(current, held))]
        queries, finish = summary_queries(frame, current)
        run_check = check(current, first)

        def check_and_keep(results: list[pl.DataFrame]) -> None:
            run_check(results)
            kept[:] = results[len(queries) :]

        def commit(tmp: Path, target: Path) -> None:
            if history is None or not kept:
                os.replace(tmp, target)
                return
            from segrule import history as hist

            # The partition is written first and renamed after the output, in one
            # journaled commit: the output is never at an as-of the history lacks.
            written_history.append(
                hist.write_partition(history, current.ctx.as_of, kept[0], output=(tmp, target))
            )

        path, results = sink_with(
            frame,
            out,
            fmt,
            manifest=build_manifest(current),
            also=[*queries, *extra],
            check=check_and_keep,
            rename=commit,
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
            path, results, finish = write(plan, False)
    finally:
        pool.shutdown(wait=True)
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
        written_history[-1] if written_history else None,
    )


def check_outputs(
    inputs: Inputs,
    out: str | Path,
    *,
    rejects: str | Path | None = None,
    history: str | Path | None = None,
    others: Mapping[str, str | Path | None] | None = None,
) -> None:
    """Refuse, before a run, any path it would write that is or holds one of ``inputs``,
    is not a writable kind of file or folder, or overlaps another of its outputs."""
    outpaths.check_file(out, what="--out", inputs=inputs)
    for what, path in (others or {}).items():
        if path is not None:
            outpaths.check_file(path, what=what, inputs=inputs, writes="text")
    if rejects is not None:
        quality.check_rejects_folder(rejects, inputs)
    if history is not None:
        outpaths.check_history_folder(history, inputs)
    outpaths.check_distinct(
        [("--out", out), *(others or {}).items(), ("--rejects", rejects), ("--history", history)]
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
