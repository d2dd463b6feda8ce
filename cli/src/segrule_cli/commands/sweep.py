"""`segrule sweep`: tier sizes and revenue share over a grid of thresholds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from segrule_cli import output
from segrule_cli.common import _engine, _lang, _tables, console, handle_errors, working
from segrule_cli.options import (
    AsOfOpt,
    BlacklistOpt,
    CsvFormulasOpt,
    DataOpt,
    LabelLangOpt,
    PluginOpt,
    RulesetsArg,
    TablesOpt,
    TzOpt,
)
from segrule_cli.output import styled
from segrule_cli.texts import words


@handle_errors
def sweep(
    rulesets: RulesetsArg,
    param: Annotated[
        list[str],
        typer.Option(
            "--param",
            help="NAME=VALUES: the threshold to sweep and its values; repeatable (a grid). "
            "NAME: SEGMENT.LABEL (the number in that case's condition; SEGMENT.LABEL[2] or "
            "SEGMENT.LABEL.DIMENSION when it holds several), TIER.LABEL (a points tier's "
            "min) or SCORE.PARAM.PATH (e.g. value_tier.tiers.high.top). VALUES: "
            "START..STOP:STEP (STOP included) or a comma list.",
            show_default=False,
        ),
    ],
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    tz: TzOpt = None,
    table: TablesOpt = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="LABEL=SHARE or COLUMN.LABEL=SHARE (0.10 or 10%): mark the value that "
            "gives that label the share closest to it; repeatable.",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the results as JSON instead of tables.")
    ] = False,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Also write one row per grid point, column and label to this file "
            "(.parquet, .csv, .arrow/.ipc or .ndjson).",
        ),
    ] = None,
    max_grid: Annotated[
        int, typer.Option("--max-grid", help="Most grid points allowed.", min=1)
    ] = 500,
    csv_formulas: CsvFormulasOpt = "neutralize",
    blacklist: BlacklistOpt = None,
    plugin: PluginOpt = None,
    lang: LabelLangOpt = "en",
) -> None:
    """Try a grid of thresholds in one pass: tier sizes and revenue share for each value.

    The data is read once; for each value only the swept rule and the rules that depend
    on it are computed again.

    Example: [bold]segrule sweep taobao-5-tier --data data/ --as-of 2026-11-01 --param
    amount_tier.high=5000..20000:1000 --target vip=10%[/bold]
    """
    import segrule
    from segrule.api import input_paths, output_format
    from segrule.io.outpaths import NO_INPUTS, check_file
    from segrule.sweep import sweep as run_sweep

    lang = _lang(lang)
    engine = _engine(plugin)
    inputs = NO_INPUTS
    if out is not None:
        # Checked before the sweep, which can take a while.
        inputs = input_paths(
            rulesets, tables=_tables(table), data=data, blacklist=blacklist, engine=engine
        )
        check_file(out, what="--out", inputs=inputs)
        output_format(Path(out))
    with working("Sweeping:"):
        result = run_sweep(
            rulesets,
            param,
            _tables(table),
            as_of=as_of,
            data=data,
            tz=tz,
            engine=engine,
            blacklist=blacklist,
            targets=target or [],
            max_grid=max_grid,
        )
    if out is not None:
        import polars as pl

        segrule.sink(
            pl.DataFrame(result.rows()).lazy(), out, inputs=inputs, csv_formulas=csv_formulas
        )
    if json_out:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    output.print_sweep(console, result, lang)
    if out is not None:
        console.print(styled((words("sweep", lang)["wrote"], "green"), f" {out}"), highlight=False)
