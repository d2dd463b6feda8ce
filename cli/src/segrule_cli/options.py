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
    str | None,
    typer.Option(
        "--data",
        "-d",
        help="Folder holding <table>.parquet (or .arrow/.ipc/.csv/.ndjson/.xlsx, or a "
        "<table>/ hive folder) for orders, customers, events, feedback, messages and "
        "plugin tables; or an object-store prefix such as s3://bucket/data/.",
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
LabelLangOpt = Annotated[
    str,
    typer.Option(
        metavar="zh|en",
        help="Language of headings, column headers, fixed words and label names on screen: "
        "zh or en (--json keeps its English keys).",
    ),
]
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


#: The CLI's words for each option core names in its messages (``segrule.errors.option``:
#: core writes the Python parameter, the CLI shows its flag). A test checks that every
#: option core names is here.
FLAGS: dict[str, str] = {
    "out": "--out",
    "params": "--param",
    "max_grid": "--max-grid",
    "targets": "--target",
    "orders": "--order",
    "more": "--more",
    "spend_more": "--spend-more",
    "data": "--data",
    "revenue": "--revenue",
    "lang": "--lang",
    "png_dir": "--png",
    "history": "--history",
    "customer_id": "--customer",
    "as_of": "--as-of",
    "columns": "--column",
    "changes_out": "--changes",
    "rejects": "--rejects",
    "allow_paths": "--allow-path",
    "tz": "--tz",
    "fmt": "--format",
    "engine": "--engine",
    "spark_master": "--master",
    "spark_remote": "--remote",
    "spark_staging": "--staging",
    "verticals": "--vertical",
    "buckets": "--buckets",
    "names": "--rollup",
    "rollups": "--rollups",
    "outputs": "--outputs",
    "all_problems": "run `segrule validate` to see all",
    "history_resume": "the next `segrule run --history` or `segrule history` of this folder",
    "history_write": "write one with segrule run --history",
}


def message(error: BaseException) -> str:
    """An error's message with options named as this CLI's flags."""
    from segrule.errors import SegruleError

    return error.rendered(FLAGS) if isinstance(error, SegruleError) else str(error)
