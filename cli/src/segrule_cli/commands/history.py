"""`segrule history`: read a membership history written by `segrule run --history`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from segrule.model.keys import BASE

from segrule_cli import output
from segrule_cli.common import _lang, console, handle_errors
from segrule_cli.options import CsvFormulasOpt, LabelLangOpt
from segrule_cli.texts import words


@handle_errors
def history_command(
    folder: Annotated[
        Path, typer.Argument(help="History folder written by `segrule run --history`.")
    ],
    customer: Annotated[
        str | None,
        typer.Option(
            "--customer", "-c", help="One customer's labels over time (its id as in your data)."
        ),
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", help="Only this segment or tier column.")
    ] = None,
    events: Annotated[
        bool,
        typer.Option(
            "--events",
            help="Customers whose label of --column changed between consecutive runs.",
        ),
    ] = False,
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", help="Write the table to a file (.parquet, .csv, .ndjson)."),
    ] = None,
    csv_formulas: CsvFormulasOpt = "neutralize",
    lang: LabelLangOpt = "en",
) -> None:
    """Read a membership history: its runs, a customer's tier over time, or the
    entered/left events between consecutive runs.

    Example: [bold]segrule history hist/ --customer C00000008[/bold] or
    [bold]segrule history hist/ --events --column tier --out changes.ndjson[/bold]
    """
    from segrule import history as hist
    from segrule.api import output_format, sink
    from segrule.errors import UsageError
    from segrule.io.outpaths import Inputs, check_file

    lang = _lang(lang)
    w = words("history", lang)
    # The history is this command's input: --out may not land in it.
    inputs = Inputs.of([("the history folder", folder)])
    if out is not None:
        check_file(out, what="--out", inputs=inputs)
        output_format(Path(out))
    if events:
        if column is None:
            raise UsageError("--events needs --column, e.g. --column tier")
        table = hist.events(folder, column)
    elif customer is not None:
        table = hist.tiers(folder, customer, column)
    else:
        runs = hist.describe(folder)["runs"]
        if not runs:
            hist.read(folder)  # raises the "no runs" error
        output.print_history_runs(console, runs, lang)
        return
    if out is not None:
        sink(table.lazy(), out, inputs=inputs, csv_formulas=csv_formulas)
        console.print(w["wrote"].format(rows=table.height, path=out), highlight=False)
        return
    if events:
        # On screen the runs come first, and --column and label (old_label for left,
        # new_label for entered) are not repeated on every row; the file keeps the shape
        # of `segrule diff --changes`.
        first = [BASE, "old_as_of", "new_as_of", "event", "old_label", "new_label"]
        shown = [*first, *(c for c in table.columns if c not in (*first, "column", "label"))]
        table = table.select(shown)
    # On screen the fixed columns have headers in --lang; the file keeps its names.
    fixed = (
        "as_of",
        "old_as_of",
        "new_as_of",
        "event",
        "old_label",
        "new_label",
        "column",
        "label",
    )
    output.print_frame(console, table, lang=lang, headers={c: w[c] for c in fixed})
