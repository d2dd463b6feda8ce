"""`segrule diff`: who moved from which label to which between two runs (or rule sets),
and the revenue they carry."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from segrule_cli import output
from segrule_cli.common import _engine, _lang, _tables, console, handle_errors, working
from segrule_cli.options import (
    AsOfOpt,
    CsvFormulasOpt,
    DataOpt,
    LabelLangOpt,
    PluginOpt,
    TablesOpt,
    TzOpt,
)


@handle_errors
def diff(
    old: Annotated[
        str,
        typer.Argument(
            help="The earlier run: an output file (.parquet/.csv/.arrow/.ipc/.feather/"
            ".ndjson/.jsonl) or a rule set (file or preset name) scored on --data.",
            show_default=False,
        ),
    ],
    new: Annotated[
        str,
        typer.Argument(help="The later run or the changed rule set, as OLD.", show_default=False),
    ],
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="Column to compare (repeatable). Default: every segment and tier column "
            "both sides have.",
        ),
    ] = None,
    revenue: Annotated[
        str | None,
        typer.Option(
            help="Money column summed per cell. Default: the rule set's revenue column "
            "(monetary_lifetime, monetary_365d or the first money output)."
        ),
    ] = None,
    changes: Annotated[
        str | None,
        typer.Option(
            "--changes",
            help="Write the customers who left/entered a label: .parquet, .csv or .ndjson "
            "(one event per row; see docs/migration.md).",
        ),
    ] = None,
    lang: LabelLangOpt = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print the matrices as JSON.")] = False,
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    tz: TzOpt = None,
    table: TablesOpt = None,
    plugin: PluginOpt = None,
    csv_formulas: CsvFormulasOpt = "neutralize",
) -> None:
    """Who moved from which segment or tier label to which between two runs, and the
    revenue they carry: the triggers for follow-up.

    OLD and NEW are outputs of `segrule run`, or rule sets scored on the same --data
    at the same --as-of (a rule change previewed before it ships).

    Example: [bold]segrule diff october.parquet november.parquet --column tier --changes
    moves.ndjson[/bold]
    """
    from segrule.diff import diff as compare

    lang = _lang(lang)
    engine = _engine(plugin)
    with working("Comparing:"):
        result = compare(
            old,
            new,
            columns=column,
            revenue=revenue,
            changes_out=changes,
            tables=_tables(table),
            data=data,
            as_of=as_of,
            tz=tz,
            engine=engine,
            csv_formulas=csv_formulas,
        )
    if as_json:
        print(json.dumps(result.to_json(lang), ensure_ascii=False, indent=2, default=str))
        return
    output.print_migration(console, result, lang)
