"""The strategy contract and shared ranking helpers.

A strategy turns a rule set's ``scores:`` entry into plan nodes. Population-relative
helpers here rank customers without Python per row: on the frame sorted by
customer_id, an ordinal rank of the key masked to the eligible customers gives SQL's
``ROW_NUMBER() OVER (ORDER BY key, customer_id)`` among them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from segrule.model.nodes import BuildContext, Node

if TYPE_CHECKING:
    from segrule.plugins.registry import Owner

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
    #: parameters that may name files (``lexicon: mine.yaml``): the rule-set loader makes
    #: such a path absolute, relative to the rule file naming it, and refuses one outside
    #: its folder (as for ``blacklist:``); a value without ``/`` or ``.yaml`` is left as is
    file_params: tuple[str, ...] = ()


def row_number(key: pl.Expr, eligible: pl.Expr, *, descending: bool = False) -> pl.Expr:
    """1-based position among eligible rows ordered by (key, customer_id); null if not eligible.

    Population-relative expressions run on the frame sorted by customer_id (the engine
    sorts it before the first derived layer), and an ordinal rank numbers equal keys in
    the order they occur, so ties are broken by customer_id without ranking a struct
    that holds the id strings (3x slower on 1M customers: 0.36 s against 0.12 s per
    score, streaming engine).
    """
    return pl.when(eligible).then(key).rank("ordinal", descending=descending).cast(pl.Int64)


def tie_rank(key: pl.Expr, eligible: pl.Expr, *, descending: bool = False) -> pl.Expr:
    """1-based min-rank among eligible rows (equal keys share the rank); null if not eligible."""
    return pl.when(eligible).then(key).rank("min", descending=descending).cast(pl.Int64)


def rank_column(
    name: str, rank: pl.Expr, *, deps: tuple[str, ...], origin: str = ""
) -> tuple[Node, pl.Expr]:
    """A hidden population node ``_<name>_rank`` holding ``rank``, and the expression
    that reads it.

    Use it when a strategy reads a rank more than once (NTILE buckets, tier limits, a
    running sum in rank order): the streaming engine of polars 2.1 evaluates a repeated
    rank sub-expression at each use instead of once. Measured on 1M customers: an NTILE
    over a rank column 140 ms, over the inline rank 313 ms.
    """
    col = f"_{name}_rank"
    node = Node(
        col,
        "population",
        rank.alias(col),
        deps=deps,
        origin=origin,
        role="helper",
        description=f"rank behind {name}",
    )
    return node, pl.col(col)


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
