"""Excel workbooks: tables read from .xlsx/.xlsm/.xls sheets, outputs written as .xlsx.

Reading uses polars' ``read_excel`` with the calamine engine (the ``fastexcel``
package); writing uses polars' ``write_excel`` (the ``xlsxwriter`` package). Both come
with the ``excel`` extra: ``pip install 'segrule[excel]'``.

A sheet is read eagerly (a sheet holds at most 1,048,576 rows) with every cell as text,
as a CSV file is: segrule parses the contract's columns itself, so an id column mixing
numbers and text keeps both, an amount is summed from its digits, and a bad cell is a
counted bad row instead of a failed run. calamine writes numbers as their shortest text
(``12.5``; whole numbers without ``.0``) and cells formatted as dates as ISO text
(``2024-01-05 10:30:15``); a time column holding plain serial numbers (``45296.4375``)
is read as Excel serial days by the engine. The first row is the header.

Writing: text cells a spreadsheet would read as formulas are prefixed with ``'``
(:mod:`segrule.io.cells`) and every text is written as a text cell, never as a formula
or a link; integers beyond 15 digits (Excel keeps 15 significant digits) are written as
text; times lose their zone (Excel has none): the wall-clock time shown is kept.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from segrule.errors import DataError, UsageError, first_line

#: Rows of a worksheet, the header included.
EXCEL_MAX_ROWS = 1_048_576
#: Columns of a worksheet.
EXCEL_MAX_COLUMNS = 16_384
#: Largest integer Excel shows exactly (it keeps 15 significant digits).
EXCEL_MAX_EXACT_INT = 10**15 - 1
#: The worksheet an output is written to.
OUTPUT_SHEET = "segrule"
#: What to install for workbooks.
INSTALL = "pip install 'segrule[excel]'"


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def require_reader(name: str) -> None:
    """DataError naming ``name`` when fastexcel (reading workbooks) is not installed."""
    if not _installed("fastexcel"):
        raise DataError(f"{name}: reading Excel workbooks needs the excel extra: {INSTALL}")


def require_writer(target: str | Path) -> None:
    """UsageError when xlsxwriter (writing .xlsx) is not installed: checked before a run."""
    if not _installed("xlsxwriter"):
        raise UsageError(f"{target}: writing .xlsx needs the excel extra: {INSTALL}")


def sheet_names(path: Path, name: str) -> list[str]:
    """The sheets of the workbook at ``path``; a one-line DataError naming ``name`` when
    it cannot be opened (corrupt, encrypted, not a workbook)."""
    require_reader(name)
    import fastexcel

    try:
        return list(fastexcel.read_excel(path).sheet_names)
    except Exception as exc:
        raise DataError(_unreadable(name, exc)) from None


def _unreadable(name: str, exc: BaseException) -> str:
    reason = first_line(exc).removeprefix("calamine error: ")
    if "password" in reason.lower() or "encrypt" in reason.lower() or "CFB" in reason:
        return (
            f"{name}: cannot be read as an Excel workbook ({reason}); it may be "
            "password-protected: save a copy without a password"
        )
    return (
        f"{name}: cannot be read as an Excel workbook ({reason}); is it a complete .xlsx/.xls "
        "file? Open it in Excel and save it again"
    )


def pick_sheet(names: list[str], sheet: str | int | None, name: str) -> str:
    """The sheet ``sheet`` asks for (a name, or a 0-based index; None: the first), by
    name; a one-line DataError listing the sheets when there is none such."""
    listed = ", ".join(f"'{n}'" for n in names[:20]) + (" ..." if len(names) > 20 else "")
    if not names:
        raise DataError(f"{name}: the workbook has no sheet")
    if sheet is None:
        return names[0]
    if isinstance(sheet, bool) or not isinstance(sheet, int | str):
        raise DataError(f"{name}: sheet must be a sheet name or a 0-based index; sheets: {listed}")
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
        named = f" (for the sheet named '{sheet}', quote it: sheet: '{sheet}')"
        raise DataError(
            f"{name}: no sheet at index {sheet} (0-based; the workbook has {len(names)})"
            f"{named if str(sheet) in names else ''}; sheets: {listed}"
        )
    if sheet in names:
        return sheet
    folded = [n for n in names if n.strip().casefold() == sheet.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    raise DataError(f"{name}: no sheet named '{sheet}'; sheets: {listed}")


def read_sheet(path: Path, name: str, sheet: str | int | None = None) -> pl.DataFrame:
    """One sheet of the workbook at ``path`` with every column as text (this reads it).
    Empty rows are dropped; the first row is the header."""
    chosen = pick_sheet(sheet_names(path, name), sheet, name)
    try:
        frame = pl.read_excel(
            path,
            engine="calamine",
            sheet_name=chosen,
            infer_schema_length=0,  # every column as text
            drop_empty_rows=True,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except Exception as exc:
        raise DataError(_unreadable(f"{name} (sheet '{chosen}')", exc)) from None
    assert isinstance(frame, pl.DataFrame)
    if frame.width and any(dtype != pl.String for dtype in frame.dtypes):
        frame = frame.with_columns(pl.all().cast(pl.String))
    return frame


# -- writing -------------------------------------------------------------------------------
def check_size(frame: pl.DataFrame, target: str | Path) -> None:
    """A one-line error when ``frame`` does not fit one worksheet."""
    if frame.height + 1 > EXCEL_MAX_ROWS:
        raise UsageError(
            f"{target}: {frame.height:,} rows do not fit an Excel sheet (at most "
            f"{EXCEL_MAX_ROWS - 1:,} rows below the header); write .parquet or .csv instead"
        )
    if frame.width > EXCEL_MAX_COLUMNS:
        raise UsageError(
            f"{target}: {frame.width:,} columns do not fit an Excel sheet (at most "
            f"{EXCEL_MAX_COLUMNS:,}); write .parquet or .csv instead"
        )


def excel_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the values Excel cannot hold as they are made into ones it can:
    aware times as their wall-clock time, integers beyond 15 digits and nested or
    binary values as text, Decimals as floats, categoricals as text."""
    exprs: list[pl.Expr] = []
    for col, dtype in frame.schema.items():
        c = pl.col(col)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            exprs.append(c.dt.replace_time_zone(None))
        elif dtype.is_integer():
            big = frame.select((c.abs() > EXCEL_MAX_EXACT_INT).any()).item()
            if big:
                exprs.append(c.cast(pl.String))
        elif isinstance(dtype, pl.Decimal):
            exprs.append(c.cast(pl.Float64))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            exprs.append(c.cast(pl.String))
        elif isinstance(dtype, pl.List | pl.Array | pl.Struct):
            exprs.append(c.struct.json_encode() if isinstance(dtype, pl.Struct) else _json(c))
        elif dtype in (pl.Binary, pl.Object):
            exprs.append(c.cast(pl.String))
    return frame.with_columns(exprs) if exprs else frame


def _json(c: pl.Expr) -> pl.Expr:
    name = c.meta.output_name()
    return pl.struct(c.alias("v")).struct.json_encode().str.slice(5).str.head(-1).alias(name)


def write_workbook(frame: pl.DataFrame, path: Path, target: str | Path) -> None:
    """Write ``frame`` (formulas already neutralized) as one sheet of an .xlsx at
    ``path``: every text as a text cell (never a formula or a link), a header row with
    an autofilter, frozen. ``target`` names the output in errors."""
    check_size(frame, target)
    require_writer(target)
    import xlsxwriter

    options = {
        # A text cell stays text: no formula, no hyperlink, no number made of "0012".
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": True,
    }
    from xlsxwriter.exceptions import FileCreateError

    try:
        with xlsxwriter.Workbook(str(path), options) as workbook:
            excel_ready(frame).write_excel(
                workbook,
                worksheet=OUTPUT_SHEET,
                table_style=None,
                autofilter=True,
                autofit=False,
                freeze_panes=(1, 0),
            )
    except FileCreateError as exc:
        # The system's error (a full disk, ...) is what the atomic writer reports.
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
        raise (cause or OSError(str(exc))) from exc


def read_output_sheet(path: Path, text_columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """An .xlsx output (the first sheet) with the types Excel cells hold: numbers,
    times, booleans; ``text_columns`` as text (customer ids keep leading zeros). This
    reads it."""
    require_reader(str(path))
    import fastexcel

    reader = fastexcel.read_excel(path)
    header = reader.load_sheet(0, n_rows=0).to_polars().columns
    overrides = {c: pl.String for c in text_columns if c in header}
    frame = pl.read_excel(
        path,
        engine="calamine",
        sheet_id=1,
        schema_overrides=overrides or None,
        infer_schema_length=None,
        raise_if_empty=False,
    )
    assert isinstance(frame, pl.DataFrame)
    return frame
