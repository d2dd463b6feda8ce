"""Threshold ladders: a classification read as rungs over one numeric column
(``monetary_365d > 10000 -> high``, ``>= 5000 -> mid``, else ``low``), and the order of
its labels, best first. The one detector used by explain (distance to the next tier),
check (monotonicity), history (hysteresis order) and sweep."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from segrule.model.conditions import Atom, Comparison, comparison, split_condition
from segrule.model.literals import simple_comparison
from segrule.model.nodes import Node

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Interval:
    """Values ``low..high`` (bounds included when ``low_in``/``high_in``) given ``label``."""

    low: float
    low_in: bool
    high: float
    high_in: bool
    label: str

    def expr(self, col: pl.Expr) -> pl.Expr:
        parts = []
        if self.low > -math.inf:
            parts.append(col >= self.low if self.low_in else col > self.low)
        if self.high < math.inf:
            parts.append(col <= self.high if self.high_in else col < self.high)
        out = pl.lit(True)
        for p in parts:
            out = out & p
        return out & col.is_not_null()


@dataclass(frozen=True)
class Ladder:
    """A classification read as rungs over one numeric column, lowest values first."""

    node: str
    column: str
    intervals: tuple[Interval, ...]
    gates: tuple[int, ...]  # case indexes that are not rungs
    rung_case: Mapping[str, int]  # label -> its case index (absent: the default)

    def next_up(self, k: int) -> tuple[Interval, Interval] | None:
        """The interval holding ``k`` and the first one above with another label."""
        here = self.intervals[k]
        for above in self.intervals[k + 1 :]:
            if above.label != here.label:
                return here, above
        return None


def _numeric_cases(node: Node) -> list[tuple[int, Comparison]]:
    """The cases that compare one column with a number (``monetary_365d >= 5000``)."""
    out = []
    for i, case in enumerate(node.cases):
        cond = split_condition(case.sql)
        cmp = comparison(cond) if isinstance(cond, Atom) and cond.toks else None
        if cmp is not None and cmp.number is not None and cmp.op in OPS:
            out.append((i, cmp))
    return out


def ladder_column(node: Node) -> tuple[str | None, str]:
    """The column a classification's rungs compare, and why there is none ('' when
    found): the column most of its numeric cases compare, at least two of them (one for
    a declared ``ladder``). A numeric case over another column is a gate
    (``active_quarters_4 < 2 -> lapsed`` before ``monetary_365d`` rungs)."""
    if not node.cases:
        return None, "it has no cases"
    if node.default is None:
        return None, "it has no default"
    per: dict[str, int] = {}
    for _, c in _numeric_cases(node):
        per[c.name] = per.get(c.name, 0) + 1
    if not per:
        return None, "no case compares a column with a number"
    most = max(per.values())
    tops = sorted(c for c, n in per.items() if n == most)
    if most < 2 and not node.ladder:
        return None, "fewer than two cases compare the same column with a number"
    if len(tops) > 1:
        return None, (
            f"its cases compare {' and '.join(tops)} with numbers equally often, so "
            "which one is the ladder is ambiguous"
        )
    return tops[0], ""


def find_ladder(node: Node, dtypes: Mapping[str, pl.DataType]) -> Ladder | None:
    """``node`` as a threshold ladder (see the module docs), else None
    (:func:`why_no_ladder` says why)."""
    column, _ = ladder_column(node)
    if column is None:
        return None
    rungs = [(i, c) for i, c in _numeric_cases(node) if c.name == column]
    rung_index = {i for i, _ in rungs}
    gates = [i for i in range(len(node.cases)) if i not in rung_index]
    dtype = dtypes.get(column)
    if dtype is None or not dtype.is_numeric():
        return None
    if rungs[0][1].op not in (">", ">="):
        return None  # highest first: the first rung is a lower bound
    cuts = sorted({c.number for _, c in rungs if c.number is not None})

    def label_at(x: float) -> str:
        for i, c in rungs:
            assert c.number is not None
            if OPS[c.op](x, c.number):
                return node.cases[i].label
        return str(node.default)

    # Each cut alone and each open stretch between cuts: the classification is constant
    # on each (rungs are comparisons with these numbers only).
    pieces: list[Interval] = []
    edges = [-math.inf, *cuts, math.inf]
    for j in range(len(edges) - 1):
        lo, hi = edges[j], edges[j + 1]
        mid = (
            (lo + hi) / 2
            if math.isfinite(lo) and math.isfinite(hi)
            else (hi - 1 if math.isfinite(hi) else lo + 1)
        )
        pieces.append(Interval(lo, False, hi, False, label_at(mid)))
        if math.isfinite(hi):
            pieces.append(Interval(hi, True, hi, True, label_at(hi)))
    merged: list[Interval] = []
    for p in pieces:
        if merged and merged[-1].label == p.label:
            last = merged[-1]
            merged[-1] = Interval(last.low, last.low_in, p.high, p.high_in, p.label)
        else:
            merged.append(p)
    # A ladder's labels rise with the value: the highest rung's label is on top.
    if merged[-1].label != node.cases[rungs[0][0]].label:
        return None
    rung_case = {node.cases[i].label: i for i, _ in rungs}
    return Ladder(node.name, column, tuple(merged), tuple(gates), rung_case)


def why_no_ladder(node: Node, dtypes: Mapping[str, pl.DataType]) -> str:
    """Why ``node`` is not a threshold ladder (one clause; '' when it is one)."""
    if find_ladder(node, dtypes) is not None:
        return ""
    column, why = ladder_column(node)
    if column is None:
        return why
    dtype = dtypes.get(column)
    if dtype is None or not dtype.is_numeric():
        return f"{column} is not a number"
    first = next(c for _, c in _numeric_cases(node) if c.name == column)
    if first.op not in (">", ">="):
        return f"its first {column} case is not a lower bound (write the highest rung first)"
    return f"its labels do not rise with {column} (the highest rung's label is not on top)"


# The words of the "what it lacks" sentences, per language (``ExplainOptions.lang``).


def threshold_order(node: Node) -> list[str] | None:
    """The labels of a threshold ladder, highest first: every case ``d >= n`` or
    ``d > n`` over one dimension ``d`` with ``n`` descending; the default last."""
    comps = [simple_comparison(c.sql) if c.sql else None for c in node.cases]
    if not comps or any(c is None or c.op not in (">", ">=") for c in comps):
        return None
    dims = {c.dimension for c in comps if c is not None}
    values = [c.value for c in comps if c is not None]
    if len(dims) != 1 or values != sorted(values, reverse=True):
        return None
    labels = [c.label for c in node.cases]
    if node.default is not None:
        labels.append(str(node.default))
    return list(dict.fromkeys(labels))


def ladder_labels(node: Node, dtypes: Mapping[str, pl.DataType]) -> list[str] | None:
    """A classification's labels best first when it is a threshold ladder, else None:
    a declared ``ladder`` (points tiers), every case ``d >= n`` over one dimension with
    ``n`` descending, or rungs found among gates and upper bounds (:func:`find_ladder`;
    labels only a gate gives are left out)."""
    if node.ladder:
        labels = [lab for lab, _ in node.ladder]
        if node.default is not None:
            labels.append(str(node.default))
        return list(dict.fromkeys(labels))
    if not node.cases:
        return None
    inferred = threshold_order(node)
    if inferred is None:
        found = find_ladder(node, dtypes)
        if found is not None:
            inferred = list(dict.fromkeys(iv.label for iv in reversed(found.intervals)))
    return inferred
