"""Customer ids keep the type they have in the input.

One rule, applied to every table of a run (see docs/engine.md, "Customer ids"):

- per table: text (String, Categorical, Enum) is String; integer types stay as they
  are; floats and Decimals holding whole numbers are Int64 (a value that is not whole,
  or beyond Int64, is an error naming it; NaN and infinity are null ids); an all-null
  column takes the other tables' type; any other type is an error;
- across tables: equal types stay; integers of different widths become Int64, or the
  widest unsigned type when all are unsigned; UInt64 with a signed type, and text with
  numbers, are refused with both tables and types named.

Ids are compared, sorted and ranked in that type's natural order (numeric for
integers), so a tie broken "by customer_id" follows the user's ids, not their text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from segrule.errors import DataError
from segrule.model.keys import BASE


def is_text(dtype: pl.DataType) -> bool:
    """True for id types compared as text (String, Categorical, Enum, Null)."""
    return dtype in (pl.String, pl.Categorical, pl.Null) or isinstance(
        dtype, pl.Enum | pl.Categorical
    )


def blank_id(col: pl.Expr) -> pl.Expr:
    """True where a text customer id is empty or whitespace only (null where null).

    A blank id starts with ASCII space or a control character (below '!') or with a
    Unicode space (U+0085 and above): the range test lets Parquet's min/max statistics
    skip row groups of ordinary ids before any string is stripped."""
    return ((col < "!") | (col >= "\u0085")) & (col.str.strip_chars() == "")


def valid_id(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where a customer id of type ``dtype`` is neither null nor (text) blank."""
    if dtype == pl.String:
        return col.is_not_null() & ~blank_id(col)
    return col.is_not_null()


def invalid_id(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where a customer id is null or (text) blank: ``null_customer_id``."""
    if dtype == pl.String:
        return col.is_null() | blank_id(col)
    return col.is_null()


def normalize_ids(
    lf: pl.LazyFrame,
    dtype: pl.DataType,
    label: str,
    table: str,
    *,
    text_file: bool = False,
    column: str = BASE,
) -> tuple[pl.Expr | None, pl.DataType]:
    """The expression turning ``column`` (of ``dtype``) into its id type (None when it
    is one already) and that type. ``text_file``: the column comes from a file that
    holds only text (CSV), so integers written as text are integers
    (:func:`text_ids_type`). Floats, Decimals and CSV ids are read once here (this
    collects, only for those)."""
    if text_file and dtype == pl.String:
        found = text_ids_type(lf, column)
        return (pl.col(column).cast(found) if found != pl.String else None), found
    expr = _id_expr(lf, dtype, label, table, column)
    if expr is None:
        return None, dtype
    return expr, pl.String() if isinstance(dtype, pl.Categorical | pl.Enum) else pl.Int64()


def _id_expr(
    lf: pl.LazyFrame, dtype: pl.DataType, label: str, table: str, column: str
) -> pl.Expr | None:
    col = pl.col(column)
    if dtype == pl.String or dtype == pl.Null or dtype.is_integer():
        return None
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return col.cast(pl.String)
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        as_int = col.cast(pl.Int64, strict=False)
        finite = col.is_finite() if dtype.is_float() else col.is_not_null()
        bad_value = finite & ((col != col.round(0)) | as_int.is_null())
        bad = lf.select(col).filter(bad_value).head(1).collect(engine="streaming")
        if bad.height:
            value = bad.item()
            text = repr(value) if dtype.is_float() else f"{value:f}"
            whole = value == round(value)
            what = "beyond the range of a 64-bit integer" if whole else "not a whole number"
            raise DataError(
                f"{label}: table '{table}' has {column} {text}, {what}; "
                f"ids must be whole numbers or text: map another column with "
                f"tables.{table}.columns.{column} or fix the export"
            )
        # NaN and infinity are no customer: null, counted as null_customer_id.
        return pl.when(finite).then(as_int).alias(column)
    raise DataError(
        f"{label}: table '{table}' has {column} of type {dtype}; ids must be integers or "
        f"text: map another column with tables.{table}.columns.{column}"
    )


#: Text that is an integer as written: optional minus, no leading zeros ("007" stays
#: text: its zeros are part of the id), at most 19 digits.
_INTEGER_TEXT = r"^-?(?:0|[1-9][0-9]{0,18})$"


def text_ids_type(lf: pl.LazyFrame, column: str = BASE) -> pl.DataType:
    """The type of an untyped (CSV) id column: Int64 when every value is an integer
    as written (see ``_INTEGER_TEXT``) and fits Int64, as DuckDB, pandas and polars
    infer it; Null when it holds no value; else String. This reads the column once."""
    c = pl.col(column)
    integer = c.str.contains(_INTEGER_TEXT) & c.cast(pl.Int64, strict=False).is_not_null()
    row = lf.select(
        c.is_not_null().any().alias("some"), (c.is_null() | integer).all().alias("ints")
    ).collect(engine="streaming")
    if not row["some"].item():
        return pl.Null()
    return pl.Int64() if row["ints"].item() else pl.String()


def unify_id_types(types: Mapping[str, pl.DataType]) -> pl.DataType:
    """The one id type of a run whose tables' (normalized) id types are ``types``
    (table name -> type), or a DataError naming two tables that cannot be joined."""
    known = {t: d for t, d in types.items() if d != pl.Null}
    if not known:
        return pl.String()
    distinct = list(dict.fromkeys(known.values()))
    if len(distinct) == 1:
        return distinct[0]
    text = [t for t, d in known.items() if d == pl.String]
    if text:
        other = next(t for t, d in known.items() if d != pl.String)
        raise DataError(
            f"customer ids are text in table '{text[0]}' ({known[text[0]]}) but numbers in "
            f"table '{other}' ({known[other]}): segrule does not guess how they match; "
            "export both with the same id type"
        )
    if all(d.is_unsigned_integer() for d in distinct):
        return max(distinct, key=_width)
    u64 = [t for t, d in known.items() if d == pl.UInt64]
    if u64:
        other = next(t for t, d in known.items() if d.is_signed_integer())
        raise DataError(
            f"customer ids are UInt64 in table '{u64[0]}' but {known[other]} in table "
            f"'{other}': no integer type holds both; export both as Int64 (or both UInt64)"
        )
    return pl.Int64()


def _width(dtype: pl.DataType) -> int:
    widths: dict[Any, int] = {pl.UInt8: 8, pl.UInt16: 16, pl.UInt32: 32, pl.UInt64: 64}
    return widths.get(type(dtype), 64)


def cast_ids(series: pl.Series, dtype: pl.DataType, what: str) -> pl.Series:
    """``series`` cast to the id type ``dtype``; a DataError naming a value that is not
    an id of that type (text ids keep their text; numbers as text are parsed)."""
    series = series.alias(BASE)
    if series.dtype == dtype:
        return series
    if is_text(dtype):
        if series.dtype.is_float():
            series = _whole(series, what)
        return series.cast(pl.String)
    source = series
    if series.dtype == pl.String or isinstance(series.dtype, pl.Categorical | pl.Enum):
        source = series.cast(pl.String).str.strip_chars()
    elif series.dtype.is_float() or isinstance(series.dtype, pl.Decimal):
        source = _whole(series, what)
    got = source.cast(dtype, strict=False)
    bad = series.filter(got.is_null() & series.is_not_null())
    if len(bad):
        raise DataError(
            f"{what}: {str(bad[0])!r} is not a customer id of this run: its ids are {dtype}"
        )
    return got.alias(BASE)


def _whole(series: pl.Series, what: str) -> pl.Series:
    not_whole = series.filter(series.is_not_null() & (series != series.round(0)))
    if len(not_whole):
        raise DataError(f"{what}: {str(not_whole[0])!r} is not a whole number")
    return series.cast(pl.Int64, strict=False)
