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
}
#: Formats a table source may have.
INPUT_FORMATS = ("parquet", "ipc", "csv", "ndjson")
#: Input formats read as text (every column a string; segrule parses the contract's
#: columns itself, so a bad value is a counted bad row, not a failed run).
TEXT_FORMATS = ("csv", "ndjson")
#: Formats an output may have.
OUTPUT_FORMATS = ("parquet", "csv", "ipc", "ndjson")
#: Extensions of table sources, in order of preference.
INPUT_EXTENSIONS = tuple(ext for ext, kind in FORMATS.items() if kind in INPUT_FORMATS)


def format_of(path: str | Path) -> str | None:
    """The format of ``path`` by its extension (any case), or None."""
    return FORMATS.get(Path(str(path)).suffix.lower())
