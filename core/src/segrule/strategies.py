"""The strategy contract and shared ranking helpers.

A strategy turns a rule set's ``scores:`` entry into plan nodes. Population-relative
helpers here rank customers without Python per row: ordinal ranks over a struct of
(not eligible, key, customer_id) give SQL's ``ROW_NUMBER() OVER (ORDER BY key,
customer_id)`` among the eligible customers, with ties broken by customer_id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from segrule.nodes import BuildContext, Node

if TYPE_CHECKING:
    from segrule.registry import Owner

StrategyBuilder = Callable[[BuildContext, str, dict[str, Any], str], list[Node]]


@dataclass
class Strategy:
    """A registered scoring strategy.

    ``build(ctx, name, params, origin)`` returns the nodes; the first is named
    ``name``. ``params_doc`` maps each parameter to its description (shown by
    ``segrule dimensions --strategies`` and in docs).
    """

    name: str
    build: StrategyBuilder
    description: str
    params_doc: dict[str, str] = field(default_factory=dict)
    owner: Owner | None = None


def row_number(key: pl.Expr, eligible: pl.Expr, *, descending: bool = False) -> pl.Expr:
    """1-based position among eligible rows ordered by (key, customer_id); null if not eligible."""
    k = -key if descending else key
    rank = pl.struct((~eligible).alias("_ne"), k.alias("_k"), pl.col("customer_id")).rank("ordinal")
    return pl.when(eligible).then(rank.cast(pl.Int64))


def tie_rank(key: pl.Expr, eligible: pl.Expr, *, descending: bool = False) -> pl.Expr:
    """1-based min-rank among eligible rows (equal keys share the rank); null if not eligible."""
    k = -key if descending else key
    rank = pl.struct((~eligible).alias("_ne"), k.alias("_k")).rank("min")
    return pl.when(eligible).then(rank.cast(pl.Int64))


def ntile(position: pl.Expr, n: pl.Expr, k: int) -> pl.Expr:
    """SQL ``NTILE(k)`` bucket of a 1-based position among ``n`` rows.

    The first ``n % k`` buckets hold one row more than the others, as in SQL.
    """
    q = n // k
    r = n % k
    idx = position - 1
    big = r * (q + 1)
    return (
        pl.when(idx < big)
        .then(idx // (q + 1) + 1)
        .otherwise(r + (idx - big) // pl.max_horizontal(q, pl.lit(1)) + 1)
        .cast(pl.Int64)
    )
