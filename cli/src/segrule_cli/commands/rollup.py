"""`segrule rollup`: tables grouped by product, category, city/region or segment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from segrule_cli.common import _engine, _tables, console, handle_errors, working
from segrule_cli.options import (
    AsOfOpt,
    BlacklistOpt,
    CsvFormulasOpt,
    DataOpt,
    PluginOpt,
    RulesetsArg,
    TableOpt,
    TablesOpt,
    TzOpt,
)
from segrule_cli.output import styled

RollupFormat = Literal["parquet", "csv", "ipc", "ndjson", "xlsx"]


@handle_errors
def rollup(
    rulesets: RulesetsArg,
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Folder to write one file per rollup into: new, empty, or a rollups folder "
            "written before (replaced whole, at the end). Never an input or a folder holding one.",
            show_default=False,
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
    names: Annotated[
        list[str] | None,
        typer.Option(
            "--rollup",
            "-r",
            metavar="NAME",
            help="Write only this rollup of the rule set; repeatable. Default: all of them.",
        ),
    ] = None,
    fmt: Annotated[
        RollupFormat,
        typer.Option("--format", "-f", help="File format of the rollups."),
    ] = "parquet",
    blacklist: BlacklistOpt = None,
    csv_formulas: CsvFormulasOpt = "neutralize",
    plugin: PluginOpt = None,
) -> None:
    """Write the rule set's rollups: tables grouped by keys other than the customer.

    Each rollup of the rule set's rollups: section (docs/rollups.md) groups the orders
    (or a plugin's table), read and checked exactly as `segrule run` reads them, or the
    scored customer rows, by columns such as category or product and by customer values
    such as region, a segment or a tier: orders, customers, revenue (exact to the cent),
    revenue share, cumulative share and the Pareto key groups (the fewest groups holding
    80% of the revenue). All rollups come from one plan; rows are ordered by revenue
    descending, then by the keys (nulls last). `segrule report --rollups DIR` shows them.

    Example: [bold]segrule rollup product-pareto --data data/ --as-of 2026-11-01 --out
    rollups/[/bold]
    """
    import segrule

    tables = _tables(table, orders=orders, customers=customers, events=events, feedback=feedback)
    with working("Rollups:"):
        result = segrule.rollup(
            list(rulesets),
            out,
            tables or None,
            names=names or (),
            as_of=as_of,
            data=data,
            tz=tz,
            fmt=fmt,
            engine=_engine(plugin),
            blacklist=blacklist,
            csv_formulas=csv_formulas,
        )
    for name, frame in result.tables.items():
        path = result.files[name]
        keys = int(frame.get_column("pareto_key").sum()) if frame.height else 0
        console.print(
            styled(
                ("wrote", "green"),
                " ",
                (str(path), "bold"),
                f": {frame.height:,} groups, {keys:,} of them Pareto key",
            ),
            highlight=False,
        )
    console.print(
        styled(f"{len(result.files)} rollups in ", (str(Path(str(result.folder))), "bold")),
        highlight=False,
    )
