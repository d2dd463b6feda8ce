"""Comparing two outputs: how customers moved between the labels of a column.

Minimal stand-in for the report's migration matrix; the fuller ``segrule diff``
(branch ``wip/diff``) replaces this module at merge with the same
:func:`migration_matrix` signature and result.
"""

from __future__ import annotations

import polars as pl

#: The label of a customer missing from one of the two outputs.
ABSENT = "(absent)"


def migration_matrix(
    old: pl.DataFrame | pl.LazyFrame,
    new: pl.DataFrame | pl.LazyFrame,
    column: str,
    revenue: str | None,
) -> pl.DataFrame:
    """Customers per (old label, new label) of ``column``, long form.

    Columns ``old``, ``new`` (labels as text; a customer in only one output has
    ``"(absent)"`` on the other side), ``customers``, ``revenue_old`` and
    ``revenue_new`` (sums of ``revenue`` in each output; null when ``revenue`` is
    None). A full outer join on ``customer_id``; sorted by old, then new.
    This function collects.
    """

    def side(frame: pl.DataFrame | pl.LazyFrame, suffix: str) -> pl.LazyFrame:
        money = (
            pl.col(revenue).cast(pl.Float64) if revenue else pl.lit(None, dtype=pl.Float64)
        ).alias(f"revenue_{suffix}")
        return frame.lazy().select(
            "customer_id",
            pl.col(column).cast(pl.String).alias(suffix),
            money,
            pl.lit(True).alias(f"_in_{suffix}"),
        )

    joined = side(old, "old").join(
        side(new, "new"), on="customer_id", how="full", coalesce=True, nulls_equal=False
    )
    label = {
        s: pl.when(pl.col(f"_in_{s}").is_null()).then(pl.lit(ABSENT)).otherwise(pl.col(s)).alias(s)
        for s in ("old", "new")
    }
    agg = [pl.len().cast(pl.Int64).alias("customers")]
    for s in ("old", "new"):
        total = pl.col(f"revenue_{s}").sum()
        agg.append((total if revenue else pl.lit(None, dtype=pl.Float64)).alias(f"revenue_{s}"))
    return (
        joined.group_by(label["old"], label["new"])
        .agg(agg)
        .sort("old", "new", nulls_last=True)
        .collect()
    )
