"""Options that several commands take, each defined once as an ``Annotated`` alias.

A command declares ``data: DataOpt = None``; the flag, its short form and its help
text come from here, so they read the same in every command's ``--help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

RulesetsArg = Annotated[
    list[str], typer.Argument(help="Rule files or preset names.", show_default=False)
]
PluginOpt = Annotated[
    list[str] | None,
    typer.Option("--plugin", "-p", help="Load a plugin module (import path); repeatable."),
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        "-d",
        help="Folder holding <table>.parquet (or .arrow/.ipc/.csv, or a "
        "<table>/ hive folder) for orders, customers, events, feedback.",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="As-of date or time (2026-11-01, or ISO time with offset); only "
        "rows before it count. Default: today in the business time zone.",
    ),
]
TzOpt = Annotated[
    str | None,
    typer.Option(
        "--tz",
        help="Business time zone (IANA name, e.g. Asia/Shanghai) in which as-of "
        "dates and windows are read. Default: the rule set's timezone, else UTC.",
    ),
]
TableOpt = Annotated[str | None, typer.Option(help="Path, glob or folder overriding this table.")]
TablesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--table",
        "-t",
        help="NAME=PATH: read table NAME (e.g. a plugin's apparel_items) from PATH; repeatable.",
    ),
]
BlacklistOpt = Annotated[
    Path | None, typer.Option("--blacklist", help="File of customer ids to leave out.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
LabelLangOpt = Annotated[str, typer.Option(help="Label language: zh or en.")]
# segrule.io.cells.CSV_FORMULAS (spelt out here: importing core at start-up costs time)
CsvFormulas = Literal["neutralize", "keep"]
CsvFormulasOpt = Annotated[
    CsvFormulas,
    typer.Option(
        "--csv-formulas",
        help="In a CSV file, text cells starting with = + - @ tab or CR (read as formulas by "
        "spreadsheets) get a ' in front (neutralize), or are written as they are (keep).",
    ),
]
