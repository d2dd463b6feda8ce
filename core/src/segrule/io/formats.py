"""File formats, by extension: the one list inputs, outputs and output readers use."""

from __future__ import annotations

from pathlib import Path

#: Extension -> format. The order is the preference when a data folder holds a table
#: in several formats (``orders.parquet`` before ``orders.csv``).
FORMATS: dict[str, str] = {
    ".parquet": "parquet",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".xlsx": "xlsx",
    ".xlsm": "xlsm",
    ".xls": "xls",
}
#: Formats a table source may have.
INPUT_FORMATS = ("parquet", "ipc", "csv", "ndjson", "xlsx", "xlsm", "xls")
#: Excel workbooks (read one sheet at a time: :mod:`segrule.io.excel`).
EXCEL_FORMATS = ("xlsx", "xlsm", "xls")
#: Input formats read as text (every column a string; segrule parses the contract's
#: columns itself, so a bad value is a counted bad row, not a failed run). Excel cells
#: are read as their text too.
TEXT_FORMATS = ("csv", "ndjson", *EXCEL_FORMATS)
#: Formats an output may have.
OUTPUT_FORMATS = ("parquet", "csv", "ipc", "ndjson", "xlsx")
#: Extensions of table sources, in order of preference.
INPUT_EXTENSIONS = tuple(ext for ext, kind in FORMATS.items() if kind in INPUT_FORMATS)


def format_of(path: str | Path) -> str | None:
    """The format of ``path`` by its extension (any case), or None."""
    return FORMATS.get(Path(str(path)).suffix.lower())
