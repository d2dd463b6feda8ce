"""Compare two outputs of the job column by column (reads both files)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

MAX_SHOWN = 5  # differing rows shown per column


def _normalize(s: pl.Series) -> pl.Series:
    """One representation per kind of value: Int64, Float64, naive UTC microseconds."""
    dtype = s.dtype
    if dtype.is_integer():
        return s.cast(pl.Int64)
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return s.cast(pl.Float64)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            s = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return s.cast(pl.Datetime("us"))
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return s.cast(pl.String)
    return s


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "float"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.String:
        return "string"
    if dtype == pl.Boolean:
        return "boolean"
    return str(dtype)


def _differs(a: pl.Series, b: pl.Series, rel: float) -> pl.Series:
    """True where two normalized columns of one kind disagree (null only equals null)."""
    if not a.dtype.is_float():
        return a.ne_missing(b)
    x, y = pl.col("a"), pl.col("b")
    same = (x == y) | ((x - y).abs() <= rel * pl.max_horizontal(x.abs(), y.abs()))
    same = same | (x.is_nan() & y.is_nan())
    expr = (x.is_null() != y.is_null()) | (x.is_not_null() & y.is_not_null() & ~same)
    return pl.DataFrame({"a": a, "b": b}).select(expr.alias("differs")).to_series()


def compare_frames(
    reference: pl.DataFrame, other: pl.DataFrame, *, rel: float = 1e-9, key: str = "customer_id"
) -> list[str]:
    """Human-readable differences between two frames; an empty list when they agree.

    Columns must have the same names in the same order, and the frames the same number
    of rows; rows are compared by position (outputs are sorted by ``key``). Integers,
    strings and booleans must be equal (integer widths may differ), floats equal to
    ``rel`` relative, datetimes equal as instants (time-zone-aware values are read in
    UTC, naive ones as UTC wall time); nulls must match nulls.
    """
    problems: list[str] = []
    ref_cols, other_cols = reference.columns, other.columns
    missing = [c for c in ref_cols if c not in other_cols]
    extra = [c for c in other_cols if c not in ref_cols]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if extra:
        problems.append(f"extra columns: {', '.join(extra)}")
    common = [c for c in ref_cols if c in other_cols]
    if not missing and not extra and ref_cols != other_cols:
        problems.append(f"column order differs: {', '.join(other_cols)}")
    if reference.height != other.height:
        problems.append(f"row count: {reference.height:,} in the reference, {other.height:,} here")
        ref_keys = set(reference[key].to_list()) if key in reference.columns else set()
        other_keys = set(other[key].to_list()) if key in other.columns else set()
        for what, ids in (("missing", ref_keys - other_keys), ("extra", other_keys - ref_keys)):
            if ids:
                listed = ", ".join(repr(k) for k in sorted(ids, key=str)[:MAX_SHOWN])
                problems.append(f"{what} {key} values ({len(ids):,}): {listed}")
        return problems
    key_values = reference[key] if key in reference.columns else None
    for name in common:
        a, b = _normalize(reference[name]), _normalize(other[name])
        if _kind(a.dtype) != _kind(b.dtype):
            problems.append(
                f"{name}: type {reference[name].dtype} in the reference, {other[name].dtype} here"
            )
            continue
        differs = _differs(a, b, rel)
        n = int(differs.sum())
        if n == 0:
            continue
        rows = differs.arg_true().head(MAX_SHOWN).to_list()
        shown: list[str] = []
        for i in rows:
            where = f"{key}={key_values[i]!r}" if key_values is not None else f"row {i}"
            shown.append(f"{where}: {a[i]!r} vs {b[i]!r}")
        problems.append(f"{name}: {n:,} rows differ; " + "; ".join(shown))
    return problems


def compare_outputs(reference: Path, other: Path, *, rel: float = 1e-9) -> list[str]:
    """Differences between two Parquet outputs (see :func:`compare_frames`); [] if equal."""
    return compare_frames(pl.read_parquet(reference), pl.read_parquet(other), rel=rel)
