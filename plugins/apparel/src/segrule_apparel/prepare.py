"""Lazy normalisation of the ``apparel_items`` table (``segrule_prepare_table``).

Shops write categories, sizes and seasons in many ways (连衣裙 / Dress / dresses,
XXL / 2XL, 夏季 / summer). Before any dimension reads the table, values are mapped onto
the canonical keys in :mod:`segrule_apparel.vocab`, flags and timestamps given as text
are parsed, and optional columns the table lacks are added with their documented
default. Only the schema is read (``collect_schema``); no row is.
"""

from __future__ import annotations

import polars as pl

from segrule_apparel.dimensions import KEPT_FLAG
from segrule_apparel.vocab import (
    CATEGORY_SYNONYMS,
    SEASON_SYNONYMS,
    SIZE_SYNONYMS,
    TRUE_WORDS,
)


def normalize_key(column: str, synonyms: dict[str, str]) -> pl.Expr:
    """Trim, lower-case, spaces/hyphens to ``_``, then map synonyms; blank -> null."""
    e = (
        pl.col(column)
        .cast(pl.String)
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"[\s\-]+", "_")
    )
    # A blank value becomes null through the same lookup (cheaper than a when/then).
    return e.replace({**synonyms, "": None}).alias(column)


def normalize_size() -> pl.Expr:
    """Trim, upper-case, drop spaces/hyphens/underscores, map aliases (XXL -> 2XL,
    均码/FREE/F/OS -> ONE_SIZE); blank -> null. Numeric sizes stay as written."""
    e = (
        pl.col("size")
        .cast(pl.String)
        .str.strip_chars()
        .str.to_uppercase()
        .str.replace_all(r"[\s\-_]+", "")
    )
    return e.replace({**SIZE_SYNONYMS, "": None}).alias("size")


def to_flag(column: str, dtype: pl.DataType) -> pl.Expr | None:
    """A boolean column from booleans, numbers (non-zero is true) or words (true/yes/是)."""
    col = pl.col(column)
    if dtype == pl.Boolean:
        return None
    if dtype.is_numeric():
        return (col != 0).alias(column)
    if dtype == pl.String:
        word = col.str.strip_chars().str.to_lowercase()
        return pl.when(col.is_not_null()).then(word.is_in(list(TRUE_WORDS))).alias(column)
    return col.cast(pl.Boolean).alias(column)


def to_datetime(column: str, dtype: pl.DataType) -> pl.Expr | None:
    """Naive microsecond datetimes from dates or ISO-8601 text."""
    col = pl.col(column)
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).alias(column)
    if dtype == pl.String:
        return col.str.to_datetime(time_unit="us", strict=False).alias(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_unit != "us":
        return col.cast(pl.Datetime("us")).alias(column)
    return None


def prepare_items(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The normalised ``apparel_items`` frame (lazy)."""
    schema = frame.collect_schema()
    exprs: list[pl.Expr] = []
    if "category" in schema:
        exprs.append(normalize_key("category", CATEGORY_SYNONYMS))
    if "season" in schema:
        exprs.append(normalize_key("season", SEASON_SYNONYMS))
    if "size" in schema:
        exprs.append(normalize_size())
    if "quantity" not in schema:
        exprs.append(pl.lit(1, dtype=pl.Int64).alias("quantity"))
    if "returned" in schema:
        flag = to_flag("returned", schema["returned"])
        exprs.append(flag if flag is not None else pl.col("returned"))
        exprs.append((flag if flag is not None else pl.col("returned")).alias(KEPT_FLAG))
    else:
        # No return information: every line counts as kept. Only the private flag is
        # added, so the return dimensions (which read `returned`) report it missing.
        exprs.append(pl.lit(False).alias(KEPT_FLAG))
    if "is_new_arrival" in schema:
        flag = to_flag("is_new_arrival", schema["is_new_arrival"])
        if flag is not None:
            exprs.append(flag)
    if "return_ts" in schema:
        ts = to_datetime("return_ts", schema["return_ts"])
        if ts is not None:
            exprs.append(ts)
    else:
        exprs.append(pl.lit(None, dtype=pl.Datetime("us")).alias("return_ts"))
    if "launch_ts" in schema:
        ts = to_datetime("launch_ts", schema["launch_ts"])
        if ts is not None:
            exprs.append(ts)
    return frame.with_columns(exprs) if exprs else frame
