"""`segrule plan`: the dependency graph and the polars plan a run would execute."""

from __future__ import annotations

from typing import Annotated

import typer

from segrule_cli.common import _engine, _tables, console, handle_errors
from segrule_cli.options import AsOfOpt, DataOpt, PluginOpt, RulesetsArg, TablesOpt, TzOpt
from segrule_cli.output import styled


@handle_errors
def plan(
    rulesets: RulesetsArg,
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    tz: TzOpt = None,
    optimized: Annotated[
        bool, typer.Option(help="Show polars' optimized plan (else the unoptimized one).")
    ] = True,
    graph_only: Annotated[bool, typer.Option("--graph", help="Only the dependency graph.")] = False,
    table: TablesOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Show the dependency graph and the polars plan that a run would execute."""
    import segrule

    engine = _engine(plugin)
    tables = _tables(table)
    p = segrule.compile(
        rulesets,
        tables,
        as_of=as_of,
        data=data,
        tz=tz,
        engine=engine,
        check_only=data is None and not tables,
    )
    console.print("Dependency graph", style="bold")
    for line in p.graph_lines():
        console.print("  " + line, highlight=False, markup=False, soft_wrap=True)
    if not graph_only:
        console.print(
            styled(
                "\n", ("Polars plan", "bold"), f" ({'optimized' if optimized else 'unoptimized'})"
            )
        )
        text = p.frame.explain(optimized=optimized)
        console.print(text, highlight=False, markup=False, soft_wrap=True)
