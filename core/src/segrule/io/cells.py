"""CSV cells that are safe to open in a spreadsheet.

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``, ``-``
or ``@`` as a formula (``=HYPERLINK(...)`` leaks data when clicked, ``+cmd|' /C
calc'!A0`` runs a program through DDE), and a leading tab or carriage return can hide
such a start. Labels, display names, customer ids and column names come from rule
files and input data, so they are not trusted. OWASP's rule for CSV injection: prefix
such a cell with a single quote, which spreadsheets show as text and do not store.

Only text cells (and the header row, which is text) are changed: a numeric column's
``-5`` is a number and stays one. Text that is a plain negative number (``-5``,
``-12.50``) is left as it is too: a spreadsheet reads it as that number, not as a
formula, and a prefix would change ids such as ``-1``. Nulls stay empty.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

#: What CSV writers do with cells a spreadsheet would read as a formula: ``neutralize``
#: (the default) prefixes them with ``'``; ``keep`` writes them as they are.
CsvFormulas = Literal["neutralize", "keep"]
CSV_FORMULAS: tuple[CsvFormulas, ...] = ("neutralize", "keep")

#: A cell starting with one of these is read as a formula (OWASP's list).
FORMULA_START = r"^[=+\-@\t\r]"
#: ... unless it is a plain negative number, which a spreadsheet reads as a number.
NEGATIVE_NUMBER = r"^-[0-9]+(\.[0-9]+)?$"
PREFIX = "'"

_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def is_formula(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as a formula (the rule of
    :func:`neutralize_formulas`, for single strings such as column names)."""
    import re

    return bool(re.match(FORMULA_START, text)) and not re.match(NEGATIVE_NUMBER, text)


def neutralize(text: str) -> str:
    """``text`` prefixed with ``'`` when a spreadsheet would read it as a formula."""
    return PREFIX + text if is_formula(text) else text


def neutralize_expr(column: str) -> pl.Expr:
    """``column`` (text) with formula-like cells prefixed by ``'``; other cells, nulls
    included, unchanged."""
    text = pl.col(column).cast(pl.String)
    risky = text.str.contains(FORMULA_START) & ~text.str.contains(NEGATIVE_NUMBER)
    return pl.when(risky).then(pl.lit(PREFIX) + text).otherwise(text).alias(column)


def neutralize_formulas(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``frame`` with every text cell and column name that a spreadsheet would read as a
    formula prefixed by ``'``. Lazy: one expression per text column, no Python per row.
    Text-like columns (categorical, enum) become plain text; a CSV keeps no type."""
    schema = frame.collect_schema()
    text_columns = [name for name, dtype in schema.items() if isinstance(dtype, _TEXT_TYPES)]
    if text_columns:
        frame = frame.with_columns(neutralize_expr(name) for name in text_columns)
    renamed = {name: neutralize(name) for name in schema.names() if is_formula(name)}
    return frame.rename(renamed) if renamed else frame


__all__ = [
    "CSV_FORMULAS",
    "CsvFormulas",
    "is_formula",
    "neutralize",
    "neutralize_expr",
    "neutralize_formulas",
]
