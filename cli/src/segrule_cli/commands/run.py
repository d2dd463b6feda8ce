"""`segrule run`: score customers with rule sets and write one row per customer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from segrule_cli import output
from segrule_cli.common import (
    _engine,
    _lang,
    _tables,
    _write_json,
    console,
    handle_errors,
    working,
)
from segrule_cli.options import (
    AsOfOpt,
    CsvFormulasOpt,
    DataOpt,
    PluginOpt,
    TableOpt,
    TablesOpt,
    TzOpt,
    message,
)
from segrule_cli.texts import words


@handle_errors
def run(
    rulesets: Annotated[
        list[str],
        typer.Argument(
            help="Rule files or preset names; all are computed in one plan.", show_default=False
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Output file: .parquet, .csv, .arrow/.ipc, .ndjson or .xlsx (written "
            "atomically), an object: s3://bucket/key.parquet, gs://, az:// (uploaded whole or "
            "not at all), or a PostgreSQL table: postgresql://host/db#schema.table (replaced "
            "atomically).",
        ),
    ],
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    tz: TzOpt = None,
    orders: TableOpt = None,
    customers: TableOpt = None,
    events: TableOpt = None,
    feedback: TableOpt = None,
    table: TablesOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="parquet, csv, ipc, ndjson or xlsx (default: from the extension)."
        ),
    ] = None,
    outputs: Annotated[
        str | None,
        typer.Option(
            "--outputs", help="Comma-separated columns to write instead of the rule sets' outputs."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no summary.")] = False,
    blacklist: Annotated[
        Path | None,
        typer.Option(
            "--blacklist",
            help="File of customer ids to leave out (.txt one per line, or .csv/.parquet "
            "with customer_id); they are counted. Overrides the rule set's blacklist:.",
        ),
    ] = None,
    report: Annotated[
        str | None,
        typer.Option(
            "--report",
            help="Also save the run report as JSON: rows read and used per table, each "
            "data-quality check with its action and rows, the summary, timings. Written "
            "also when a check with policy fail stops the run.",
        ),
    ] = None,
    rejects: Annotated[
        str | None,
        typer.Option(
            "--rejects",
            help="Folder to write the rows that data-quality checks left out: "
            "<table>.parquet, the columns as read plus reason.",
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Add <column>_reason for every segment, score and tier output: the case that "
            "matched and the values that decided it, e.g. 'not high: monetary_365d=8200<=10000; "
            "default mid'. Computed in the same plan.",
        ),
    ] = False,
    distance: Annotated[
        bool,
        typer.Option(
            "--distance",
            help="Add <column>_next, <column>_gap and <column>_lacks for threshold ladders and "
            "points tiers: the next label up and what the customer lacks to reach it.",
        ),
    ] = False,
    rolloff: Annotated[
        bool,
        typer.Option(
            "--rolloff",
            help="Add <column>_rolloff for ladders over windowed counts and sums (orders_30d, "
            "monetary_365d): the date the customer falls a rung if nothing else happens.",
        ),
    ] = False,
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            metavar="zh|en",
            help="Language of what is printed (the summary's headings, titles and label "
            "names, the data-quality lines) and of the --distance sentences "
            "(<column>_lacks): en or zh.",
        ),
    ] = "en",
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            help="Also append this run's segments and tiers to a history folder, one "
            "partition per as-of (DIR/as_of=2026-11-01/part.parquet), and apply the rule "
            "set's hysteresis against the previous run. Read it back with `segrule history`.",
        ),
    ] = None,
    plugin: PluginOpt = None,
    csv_formulas: CsvFormulasOpt = "neutralize",
    run_engine: Annotated[
        str,
        typer.Option(
            "--engine",
            metavar="local|spark",
            help="Where the run goes: local (this process, the default) or spark (the "
            "per-customer work on Apache Spark by buckets of customers, the population "
            "ranks once here; the same output bytes). Needs segrule[spark]; see "
            "docs/spark.md.",
        ),
    ] = "local",
    master: Annotated[
        str | None,
        typer.Option(
            "--master",
            metavar="URL",
            help="With --engine spark: local[N], spark://HOST:PORT, yarn or k8s://... "
            "(default local[*]).",
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote",
            metavar="sc://HOST:PORT",
            help="With --engine spark: a Spark Connect server instead of --master (no "
            "Java needed here).",
        ),
    ] = None,
    buckets: Annotated[
        int | None,
        typer.Option(
            "--buckets",
            min=1,
            max=65536,
            help="With --engine spark: buckets of customers for inputs that are not a "
            "bucket layout already (`segrule bucket`); default 16.",
        ),
    ] = None,
    staging: Annotated[
        str | None,
        typer.Option(
            "--staging",
            metavar="DIR",
            help="With --engine spark: a folder the driver and every worker reach under "
            "the same path, for the buckets' intermediate files (default: the temporary "
            "folder, which only a local master shares). Removed after the run.",
        ),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(
            "--spark-conf",
            metavar="KEY=VALUE",
            help="With --engine spark: a Spark setting (repeatable), e.g. "
            "--spark-conf spark.executor.memory=4g.",
        ),
    ] = None,
) -> None:
    """Score customers with one or more rule sets and write one row per customer.

    Example: [bold]segrule run taobao-5-tier rfm pareto-80-20 --data data/ --as-of 2026-11-01
    --out scores.parquet[/bold]

    On Spark: [bold]segrule run rfm --data s3://shop/orders-2026/ --out scores.parquet
    --engine spark --master yarn[/bold]
    """
    import segrule

    engine = _engine(plugin)
    spark = _spark_options(run_engine, master, remote, buckets, staging, spark_conf)
    tables = _tables(table, orders=orders, customers=customers, events=events, feedback=feedback)
    cols = [c.strip() for c in outputs.split(",")] if outputs else None
    with working("Scoring:"):
        try:
            result = segrule.run(
                rulesets,
                out,
                tables,
                as_of=as_of,
                data=data,
                tz=tz,
                fmt=fmt,
                outputs=cols,
                engine=engine,
                blacklist=blacklist,
                rejects=rejects,
                explain=_explain_options(explain, distance, rolloff, _lang(lang)),
                history=history,
                other_outputs={"--report": report},
                csv_formulas=csv_formulas,
                spark=spark,
            )
        except segrule.SegruleError as exc:
            found = getattr(exc, "quality", None)
            if report and found is not None:
                _write_json(
                    report, {"error": message(exc), "rulesets": list(rulesets), "quality": found}
                )
            raise
    lang = _lang(lang)
    t = words("quality", lang)
    if not quiet:
        output.print_summary(console, result, lang=lang)
    # Rows left out are never silent, not even with --quiet.
    output.print_quality(console, result, lang=lang)
    for name, n in result.rejects.items():
        path = f"{rejects or '.'}/{name}.parquet"
        console.print(t["rejects"].format(rows=n, table=name, path=path), highlight=False)
    if result.history is not None:
        console.print(t["history"].format(path=result.history), highlight=False)
    elif result.plan.ruleset.model.hysteresis and not quiet:
        console.print(t["hysteresis"], style="yellow", highlight=False)
    if distance and not quiet:
        from segrule.explain import distance_notes

        plan = result.plan
        for name, why in distance_notes(plan.nodes, plan.dtypes, plan.outputs):
            note = t["no_distance"].format(name=name, why=why)
            console.print(note, style="yellow", highlight=False)
    if report:
        record = {
            "output": str(result.output),
            "customers": result.rows,
            "rulesets": list(rulesets),
            "as_of": result.plan.ctx.as_of.isoformat(),
            "quality": result.quality,
            "rejects": {t: str(Path(rejects) / f"{t}.parquet") for t in result.rejects}
            if rejects
            else {},
            "summary": result.summary,
            "seconds": result.seconds,
        }
        _write_json(report, record)


def _spark_options(
    run_engine: str,
    master: str | None,
    remote: str | None,
    buckets: int | None,
    staging: str | None,
    conf: list[str] | None,
) -> Any:
    """SparkOptions for --engine spark; None for a local run (Spark options refused)."""
    if run_engine not in ("local", "spark"):
        raise typer.BadParameter(
            f"{run_engine!r} is not an engine: choose local or spark", param_hint="--engine"
        )
    given = [
        flag
        for flag, value in (
            ("--master", master),
            ("--remote", remote),
            ("--buckets", buckets),
            ("--staging", staging),
            ("--spark-conf", conf),
        )
        if value
    ]
    if run_engine == "local":
        if given:
            raise typer.BadParameter(f"{given[0]} needs --engine spark", param_hint=given[0])
        return None
    if master and remote:
        raise typer.BadParameter("give --master or --remote, not both", param_hint="--remote")
    settings = {}
    for item in conf or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(
                f"{item!r} is not KEY=VALUE (e.g. spark.executor.memory=4g)",
                param_hint="--spark-conf",
            )
        settings[key.strip()] = value.strip()
    from segrule.spark import SparkOptions

    return SparkOptions(
        master=master, remote=remote, buckets=buckets, staging=staging, conf=settings
    )


def _explain_options(reasons: bool, distance: bool, rolloff: bool, lang: str = "en") -> Any:
    if not (reasons or distance or rolloff):
        return None
    from segrule.explain import ExplainOptions

    return ExplainOptions(reasons=reasons, distance=distance, rolloff=rolloff, lang=lang)
