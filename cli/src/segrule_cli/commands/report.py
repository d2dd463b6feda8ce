"""`segrule report`: an HTML report of an output, charts also as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segrule_cli.common import _engine, console, err_console, handle_errors, working
from segrule_cli.options import PluginOpt
from segrule_cli.output import styled


@handle_errors
def report(
    output_file: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT",
            help="An output of `segrule run` (.parquet with its manifest, or .csv/.arrow/.ndjson).",
            show_default=False,
        ),
    ],
    out: Annotated[
        str, typer.Option("--out", "-o", help="HTML file to write (one file, works offline).")
    ],
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous", help="An older output of the same rule sets: adds the migration matrix."
        ),
    ] = None,
    ruleset: Annotated[
        list[str] | None,
        typer.Option(
            "--ruleset",
            "-r",
            help="Rule file or preset to take labels and actions from; repeatable. Default: "
            "the rule sets in the output's manifest.",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="Folder with the customers table: cities when the output has no city column.",
        ),
    ] = None,
    lang: Annotated[
        str,
        typer.Option(
            "--lang", metavar="zh|en", help="Language of labels, headings and tables: zh or en."
        ),
    ] = "zh",
    png: Annotated[
        str | None,
        typer.Option("--png", help="Also save every chart as PNG in this folder (for e-mail)."),
    ] = None,
    revenue: Annotated[
        str | None,
        typer.Option(
            "--revenue",
            help="Money column for revenue shares (default monetary_lifetime, else monetary_365d).",
        ),
    ] = None,
    rollups: Annotated[
        Path | None,
        typer.Option(
            "--rollups",
            metavar="DIR",
            help="A folder written by `segrule rollup`: adds its tables (per product, "
            "category, city/region, segment) with their Pareto key groups.",
        ),
    ] = None,
    plugin: PluginOpt = None,
) -> None:
    """Write an HTML report of an output: tier and segment sizes with revenue share, the
    Pareto curve, the RFM grid, distributions, the migration matrix (with --previous),
    customers by city, the rollups (with --rollups) and the playbook; charts also as PNG
    with --png.

    Example: [bold]segrule report scores.parquet --out report.html --previous
    last-month.parquet --png charts/[/bold]
    """
    from segrule.report import build_report

    with working("Report:"):
        result = build_report(
            output_file,
            out,
            previous=previous,
            ruleset=ruleset or (),
            data=data,
            lang=lang,
            png_dir=png,
            revenue=revenue,
            engine=_engine(plugin),
            rollups=rollups,
        )
    for note in result.notes:
        console.print(styled(("note:", "yellow"), f" {note}"), highlight=False)
    for warning in result.warnings:
        err_console.print(styled(("warning:", "yellow"), f" {warning}"), highlight=False)
    console.print(
        styled(
            ("wrote", "green"),
            " ",
            (str(result.output), "bold"),
            f": {result.customers:,} customers, {len(result.sections)} sections, "
            f"{result.charts} charts ({result.seconds:.2f}s)",
        ),
        highlight=False,
    )
    if png is not None:
        console.print(f"wrote {len(result.pngs)} PNG charts to {png}", highlight=False)
