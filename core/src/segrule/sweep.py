"""Threshold sweeps: a grid of values for a rule set's thresholds, evaluated in one pass.

``segrule sweep RULESET --param amount_tier.high=5000..20000:1000`` answers "which cut
makes the top 10% VIP?": for every value of the grid, the customers and revenue share
of each label of the swept segment and of every segment and tier that depends on it.

One pass over the data: the plan's per-customer frame (aggregates and every derived
column) is collected once; then, for each grid point, the rule set is rebuilt with the
substituted number and compiled against the same tables (compiling reads no rows), and
only the nodes whose expression changed and the nodes downstream of them are derived
again, on the shared in-memory frame. All grid points are collected together.

A parameter names a threshold:

- ``SEGMENT.LABEL``: the number in the condition of that case (``amount_tier.high`` is
  the 10000 of ``monetary_365d > 10000``); when the condition holds several numbers say
  which: ``SEGMENT.LABEL[2]`` (the second, counting from 1) or
  ``SEGMENT.LABEL.DIMENSION`` (the number compared with that dimension);
- ``TIER.LABEL``: the ``min`` of that rung of a points score's tier ladder;
- ``SCORE.PATH``: a number in a score's ``params``, by keys; list items are chosen by
  position (from 1) or by their ``label`` (``value_tier.tiers.high.top``).

Values: ``START..STOP:STEP`` (STOP included), or a comma list ``5000,8000,12000``.
Several parameters make a grid (their product), at most ``max_grid`` points.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from segrule.engine.compiler import Plan, TableInput, resolve_nodes, type_check
from segrule.engine.stages import derive_layer
from segrule.errors import RuleSetError, UsageError, did_you_mean, option
from segrule.model.literals import NumberLiteral, format_number, number_literals, replace_number
from segrule.model.nodes import Node
from segrule.model.ruleset import RuleSet, RuleSetModel, base_raw
from segrule.plugins.registry import Registry

#: Default cap on the number of grid points (the product of the parameters' values).
MAX_GRID = 500
#: Values one range may expand to, whatever the cap (a typo such as ``0..1e9:1``).
MAX_VALUES = 10_000


@dataclass(frozen=True)
class SweepParam:
    """One swept threshold: where it is in the rule set and the values it takes."""

    name: str  # as written, e.g. amount_tier.high
    path: tuple[Any, ...]  # key path in the rule set's data to the value (or its SQL)
    current: Decimal
    values: tuple[Decimal, ...]
    where: str  # file:line:col of the threshold
    literal: NumberLiteral | None = None  # for a condition: the number in its SQL text

    def describe(self) -> str:
        return f"{self.name} (now {format_number(self.current)}, at {self.where})"


@dataclass
class SweepPoint:
    """The result at one grid point: ``values[param]``, and per column and label
    ``(customers, share, revenue_share)``."""

    values: dict[str, Decimal]
    labels: dict[str, dict[str | None, tuple[int, float, float | None]]]


@dataclass
class TargetMatch:
    """The grid point whose share of ``column = label`` is closest to ``share``."""

    column: str
    label: str
    share: float
    point: int  # index into SweepResult.points
    found: float


@dataclass
class SweepResult:
    """What :func:`sweep` computed."""

    params: list[SweepParam]
    columns: list[str]  # reported columns: the swept ones and those downstream
    order: dict[str, list[str | None]]  # per column, its labels in display order
    points: list[SweepPoint]
    customers: int
    revenue: str | None
    seconds: dict[str, float] = field(default_factory=dict)
    targets: list[TargetMatch] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per grid point, column and label (the ``--json``/``--out`` records);
        parameter values as numbers."""
        out = []
        for i, p in enumerate(self.points):
            for col in self.columns:
                for label in self.order[col]:
                    if label not in p.labels[col]:
                        continue
                    n, share, rev = p.labels[col][label]
                    out.append(
                        {
                            "point": i,
                            **{k: _number(v) for k, v in p.values.items()},
                            "column": col,
                            "label": label,
                            "customers": n,
                            "share": share,
                            "revenue_share": rev,
                        }
                    )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "params": [
                {
                    "name": p.name,
                    "current": _number(p.current),
                    "values": [_number(v) for v in p.values],
                    "where": p.where,
                }
                for p in self.params
            ],
            "columns": self.columns,
            "customers": self.customers,
            "revenue": self.revenue,
            "rows": self.rows(),
            "targets": [
                {
                    "column": t.column,
                    "label": t.label,
                    "share": t.share,
                    "found": t.found,
                    "values": {k: _number(v) for k, v in self.points[t.point].values.items()},
                }
                for t in self.targets
            ],
            "seconds": self.seconds,
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


# -- parameters ------------------------------------------------------------------
def parse_values(text: str, name: str) -> tuple[Decimal, ...]:
    """``START..STOP:STEP`` (STOP included when on the grid) or ``a,b,c``."""
    text = text.strip()
    how = (
        f"{option('params')} {name}={text}: write START..STOP:STEP (e.g. 5000..20000:1000, STOP "
        "included) or a comma list (e.g. 5000,8000,12000)"
    )
    try:
        if ".." in text:
            bounds, sep, step_text = text.partition(":")
            start_text, _, stop_text = bounds.partition("..")
            if not sep:
                raise UsageError(f"{how}; the range has no :STEP")
            start, stop, step = Decimal(start_text), Decimal(stop_text), Decimal(step_text)
            if step <= 0:
                raise UsageError(f"{how}; STEP must be above 0")
            if stop < start:
                raise UsageError(f"{how}; STOP is below START")
            count = int((stop - start) / step) + 1
            if count > MAX_VALUES:
                raise UsageError(f"{how}; it gives {count:,} values, more than {MAX_VALUES:,}")
            values = tuple(start + i * step for i in range(count))
        else:
            values = tuple(Decimal(v) for v in text.split(",") if v.strip())
    except (InvalidOperation, ValueError):
        raise UsageError(how) from None
    if not values or any(not v.is_finite() for v in values):
        raise UsageError(how)
    return tuple(dict.fromkeys(values))


def parse_param(rs: RuleSet, spec: str) -> SweepParam:
    """``NAME=VALUES`` as a :class:`SweepParam` of ``rs`` (see the module docstring)."""
    name, sep, values_text = spec.partition("=")
    name = name.strip()
    if not sep or not name or not values_text.strip():
        raise UsageError(
            f"{option('params')} '{spec}' is not NAME=VALUES, e.g. {option('params')} "
            "amount_tier.high=5000..20000:1000"
        )
    path, current, where, literal = resolve_threshold(rs, name)
    return SweepParam(name, path, current, parse_values(values_text, name), where, literal)


def _tier_ladders(rs: RuleSet) -> dict[str, str]:
    """Tier column -> score name, for points scores with a tier ladder."""
    out = {}
    for sname, spec in rs.model.scores.items():
        if spec.strategy == "points" and isinstance(spec.params.get("tiers"), list):
            out[str(spec.params.get("tier", f"{sname}_tier"))] = sname
    return out


def resolve_threshold(
    rs: RuleSet, name: str
) -> tuple[tuple[Any, ...], Decimal, str, NumberLiteral | None]:
    """Where the threshold ``name`` is: (key path, current value, file:line:col, the
    number in a condition's SQL text or None)."""
    head, _, rest = name.partition(".")
    raw = base_raw(rs)
    segments = {k: v for k, v in rs.model.segments.items() if v.cases is not None}
    ladders = _tier_ladders(rs)
    if head in segments and rest:
        return _case_threshold(rs, head, rest)
    if head in ladders and rest:
        label = rest
        tiers = raw["scores"][ladders[head]]["params"]["tiers"]
        idx = next((i for i, t in enumerate(tiers) if str(t.get("label")) == label), None)
        if idx is None:
            labels = [str(t.get("label")) for t in tiers]
            raise UsageError(
                f"{option('params')} {name}: tier ladder '{head}' has no rung '{label}'"
                f"{did_you_mean(label, labels)}; its rungs: {', '.join(labels)}"
            )
        path = ("scores", ladders[head], "params", "tiers", idx, "min")
        return path, _decimal(tiers[idx].get("min"), name), rs.where(*path), None
    if head in rs.model.scores and rest:
        return _param_threshold(rs, raw, head, rest.split("."), name)
    known = sorted({*segments, *ladders, *rs.model.scores})
    raise UsageError(
        f"{option('params')} {name}: '{head}' is not a segment with cases, a points tier ladder "
        "or a "
        f"score of {rs.name}{did_you_mean(head, known)}; write SEGMENT.LABEL (e.g. "
        "amount_tier.high), TIER.LABEL or SCORE.PARAM.PATH; sweepable here: " + ", ".join(known)
    )


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{option('params')} {name}: the value there is {value!r}, not a number")
    return Decimal(str(value))


def _case_threshold(
    rs: RuleSet, segment: str, rest: str
) -> tuple[tuple[Any, ...], Decimal, str, NumberLiteral | None]:
    name = f"{segment}.{rest}"
    label, _, dim = rest.partition(".")
    index: int | None = None
    if label.endswith("]") and "[" in label:
        label, _, idx_text = label[:-1].partition("[")
        if not idx_text.isdigit() or int(idx_text) < 1:
            raise UsageError(f"{option('params')} {name}: [{idx_text}] must be a number from 1")
        index = int(idx_text)
    cases = rs.model.segments[segment].cases or []
    found = [i for i, c in enumerate(cases) if c.label == label]
    if not found:
        labels = [c.label for c in cases]
        raise UsageError(
            f"{option('params')} {name}: segment '{segment}' has no case '{label}'"
            f"{did_you_mean(label, labels)}; its cases: {', '.join(labels)} (the default "
            "has no condition)"
        )
    i = found[0]  # a label given by several cases: the first one
    path = ("segments", segment, "cases", i, "when")
    sql = cases[i].when
    where = rs.where(*path)
    numbers = number_literals(sql)
    if not numbers:
        raise UsageError(
            f"{option('params')} {name}: the condition '{sql}' ({where}) holds no number"
        )
    if index is not None:
        if index > len(numbers):
            raise UsageError(
                f"{option('params')} {name}: the condition '{sql}' holds {len(numbers)} "
                f"number(s), not {index}"
            )
        chosen = numbers[index - 1]
    elif dim:
        matching = [n for n in numbers if n.dimension == dim]
        if len(matching) != 1:
            dims = sorted({n.dimension or "?" for n in numbers})
            what = "no number compared with" if not matching else "several numbers compared with"
            raise UsageError(
                f"{option('params')} {name}: the condition '{sql}' has {what} '{dim}' (it compares "
                f"{', '.join(dims)}); say which number by position: {segment}.{label}[N]"
            )
        chosen = matching[0]
    elif len(numbers) > 1:
        options = "; ".join(
            f"{segment}.{label}[{k}] = {format_number(n.value)}"
            + (f" ({segment}.{label}.{n.dimension})" if n.dimension else "")
            for k, n in enumerate(numbers, 1)
        )
        raise UsageError(
            f"{option('params')} {name}: the condition '{sql}' ({where}) holds {len(numbers)} "
            "numbers; "
            f"say which: {options}"
        )
    else:
        chosen = numbers[0]
    return path, chosen.value, where, chosen


def _param_threshold(
    rs: RuleSet, raw: dict[str, Any], score: str, keys: list[str], name: str
) -> tuple[tuple[Any, ...], Decimal, str, NumberLiteral | None]:
    node: Any = raw["scores"][score].get("params", {})
    path: tuple[Any, ...] = ("scores", score, "params")
    for key in keys:
        if isinstance(node, dict):
            if key not in node:
                raise UsageError(
                    f"{option('params')} {name}: "
                    f"'{'.'.join(str(p) for p in path[3:]) or 'params'}' of "
                    f"score '{score}' has no '{key}'{did_you_mean(key, map(str, node))}; it "
                    f"has: {', '.join(map(str, node))}"
                )
            path += (key,)
            node = node[key]
        elif isinstance(node, list):
            if key.isdigit() and 1 <= int(key) <= len(node):
                idx = int(key) - 1
            else:
                idx = next(
                    (
                        i
                        for i, item in enumerate(node)
                        if isinstance(item, dict)
                        and key in (str(item.get("label")), str(item.get("dimension")))
                    ),
                    -1,
                )
                if idx < 0:
                    raise UsageError(
                        f"{option('params')} {name}: no item of '{path[-1]}' has label '{key}'; "
                        "choose "
                        f"an item by its label or position (1 to {len(node)})"
                    )
            path += (idx,)
            node = node[idx]
        else:
            raise UsageError(
                f"{option('params')} {name}: '{path[-1]}' is a value, it has no '{key}'"
            )
    return path, _decimal(node, name), rs.where(*path), None


def grid(params: Sequence[SweepParam], max_grid: int = MAX_GRID) -> list[dict[str, Decimal]]:
    """Every combination of the parameters' values (the first parameter varies slowest)."""
    size = 1
    for p in params:
        size *= len(p.values)
    if size > max_grid:
        sizes = " × ".join(f"{len(p.values)} ({p.name})" for p in params)
        raise UsageError(
            f"the grid has {size:,} points ({sizes}), more than {max_grid:,}: use coarser "
            f"steps or fewer parameters, or raise {option('max_grid')}"
        )
    names = [p.name for p in params]
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(p.values for p in params))
    ]


def with_values(
    rs: RuleSet, params: Sequence[SweepParam], values: Mapping[str, Decimal]
) -> RuleSet:
    """``rs`` with each parameter's threshold replaced by ``values[param.name]``."""
    raw = base_raw(rs)
    # Several numbers of one condition: replace from the last, so offsets stay valid.
    edits = sorted(
        params, key=lambda p: (p.path, -(p.literal.start if p.literal else 0)), reverse=False
    )
    for p in edits:
        *parents, key = p.path
        holder: Any = raw
        for k in parents:
            holder = holder[k]
        value = values[p.name]
        if p.literal is not None:
            holder[key] = replace_number(str(holder[key]), p.literal, value)
        else:
            holder[key] = _number(value)
    model = RuleSetModel.model_validate(raw)
    return RuleSet(model, rs.source, rs.base_dir, dict(rs.origins), list(rs.sources), raw)


# -- the plan pieces -----------------------------------------------------------------
@dataclass
class Variant:
    nodes: dict[str, Node]
    layers: list[list[str]]
    dtypes: dict[str, pl.DataType]


def compile_variant(base: Plan, rs: RuleSet) -> Variant:
    """The nodes of ``rs`` compiled against ``base``'s tables and outputs (reads no
    rows: the loaded tables of ``base`` are reused, types are checked again)."""
    engine = base.ctx.engine or Registry()
    comp, nodes, layers = resolve_nodes(
        engine, rs, base.ctx, list(base.outputs), check_unused=False
    )
    dtypes = type_check(nodes, layers, base.loaded, comp.conditions)
    return Variant(nodes, layers, dtypes)


def changed_nodes(base: Plan, variant: Variant) -> set[str]:
    """Nodes of ``variant`` whose expression differs from ``base``'s, and every node
    downstream of them."""
    changed = {
        name
        for name, node in variant.nodes.items()
        if name not in base.nodes or not node.expr.meta.eq(base.nodes[name].expr)
    }
    grew = True
    while grew:
        more = {
            n for n, node in variant.nodes.items() if n not in changed and changed & set(node.deps)
        }
        changed |= more
        grew = bool(more)
    return changed


def label_order(node: Node) -> list[str | None]:
    """A classification's labels in the rule set's order."""
    labels: list[str | None] = list(node.labels)
    labels += [lab for lab, _ in node.ladder]
    labels += [c.label for c in node.cases]
    if node.default is not None:
        labels.append(str(node.default))
    return list(dict.fromkeys(labels))


# -- the sweep -------------------------------------------------------------------
def sweep(
    ruleset: RuleSet | str | Path | Sequence[str | Path],
    params: Sequence[str],
    tables: Mapping[str, TableInput] | None = None,
    *,
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    targets: Sequence[str] = (),
    max_grid: int = MAX_GRID,
) -> SweepResult:
    """Evaluate a grid of threshold values in one pass over the data (this collects).

    ``params``: ``NAME=VALUES`` strings (see the module docstring); ``targets``:
    ``LABEL=SHARE`` or ``COLUMN.LABEL=SHARE`` (share as 0.1 or 10%): the grid point
    whose share of that label is closest is reported. The data-quality checks run first,
    as in a run (duplicate orders left out, ``fail`` policies raise).
    """
    from segrule.engine.build import as_ruleset, compile
    from segrule.engine.execute import checked, revenue_column

    t0 = time.perf_counter()
    engine = engine or Registry(plugins=list(plugins))
    rs = as_ruleset(ruleset, engine)
    if not params:
        raise UsageError(
            f"give at least one {option('params')} NAME=VALUES, e.g. "
            "amount_tier.high=5000..20000:1000"
        )
    swept = [parse_param(rs, p) for p in params]
    seen: dict[tuple[Any, ...], str] = {}
    for p in swept:
        key = (p.path, p.literal.start if p.literal else None)
        if key in seen:
            raise UsageError(
                f"{option('params')} {p.name} and {option('params')} {seen[key]} name the same "
                "threshold"
            )
        seen[key] = p.name
    points = grid(swept, max_grid)
    wanted = [_parse_target(t) for t in targets]
    base = compile(rs, tables, as_of=as_of, data=data, tz=tz, engine=engine, blacklist=blacklist)
    variants: list[Variant] = []
    for values in points:
        variant_rs = with_values(rs, swept, values)
        try:
            variants.append(compile_variant(base, variant_rs))
        except RuleSetError as exc:
            at = ", ".join(f"{k}={format_number(v)}" for k, v in values.items())
            raise RuleSetError(f"with {at}: {exc}") from None
    changed: set[str] = set()
    per_point = [changed_nodes(base, v) for v in variants]
    for c in per_point:
        changed |= c
    if not changed:
        raise UsageError(
            "the swept values change no output: "
            + "; ".join(p.describe() for p in swept)
            + " (is the rule used by an output?)"
        )
    layer_of = {n: i for i, layer in enumerate(variants[0].layers) for n in layer}
    columns = sorted(
        (
            n
            for n in changed
            if not variants[0].nodes[n].hidden and variants[0].nodes[n].role in ("segment", "tier")
        ),
        key=lambda n: (layer_of.get(n, 0), n),
    )
    if not columns:
        raise UsageError(
            "the swept values change no segment or tier (only "
            + ", ".join(sorted(changed))
            + "); sweep a threshold of a segment, a tier ladder or a tier strategy"
        )
    money = revenue_column(base)
    t1 = time.perf_counter()

    base, _ = checked(base)
    frame = base.full_frame().collect(engine="streaming")
    total = frame.height
    # Revenue in integer cents (a money column is whole cents): a float sum depends on
    # the order rows are added in, which the streaming engine does not fix, and the
    # shares' last digits varied between runs of the same sweep.
    cents = (pl.col(money) * 100).round(0).cast(pl.Int64) if money else pl.lit(0)
    revenue_total = int(frame.select(cents.sum()).item() or 0) if money else 0
    t2 = time.perf_counter()

    queries: list[pl.LazyFrame] = []
    for variant, todo in zip(variants, per_point, strict=True):
        lazy = frame.lazy()
        for layer in variant.layers:
            names = [n for n in layer if n in todo]
            lazy = derive_layer(lazy, names, variant.nodes, variant.dtypes)
        aggs = [pl.len().alias("customers")]
        if money:
            aggs.append(cents.sum().alias("revenue"))
        for col in columns:
            queries.append(lazy.group_by(pl.col(col).cast(pl.String).alias("label")).agg(aggs))
    results = pl.collect_all(queries, engine="streaming")
    t3 = time.perf_counter()

    out_points = []
    observed: dict[str, set[str | None]] = {c: set() for c in columns}
    it = iter(results)
    for values in points:
        labels: dict[str, dict[str | None, tuple[int, float, float | None]]] = {}
        for col in columns:
            res = next(it)
            per: dict[str | None, tuple[int, float, float | None]] = {}
            for rec in res.iter_rows(named=True):
                n = int(rec["customers"])
                rev = (rec["revenue"] or 0) / revenue_total if money and revenue_total else None
                per[rec["label"]] = (n, n / total if total else 0.0, rev)
                observed[col].add(rec["label"])
            labels[col] = per
        out_points.append(SweepPoint(dict(values), labels))
    order: dict[str, list[str | None]] = {}
    for col in columns:
        known = label_order(variants[0].nodes[col])
        extra = sorted(str(x) for x in observed[col] if x is not None and x not in known)
        order[col] = [*known, *extra] + ([None] if None in observed[col] else [])
    result = SweepResult(swept, columns, order, out_points, total, money)
    result.targets = [_closest(result, col, label, share) for col, label, share in wanted]
    result.seconds = {"compile": t1 - t0, "aggregates": t2 - t1, "grid": t3 - t2}
    return result


def _parse_target(text: str) -> tuple[str | None, str, float]:
    name, sep, value = text.partition("=")
    how = (
        f"{option('targets')} '{text}' is not LABEL=SHARE or COLUMN.LABEL=SHARE, "
        "e.g. vip=0.10 or vip=10%"
    )
    if not sep or not name.strip():
        raise UsageError(how)
    value = value.strip()
    try:
        share = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise UsageError(how) from None
    if not 0 <= share <= 1:
        raise UsageError(
            f"{option('targets')} '{text}': the share must be between 0 and 1 (or 0% and 100%)"
        )
    col, _, label = name.strip().rpartition(".")
    return (col or None), label, share


def _closest(result: SweepResult, col: str | None, label: str, share: float) -> TargetMatch:
    if col is not None and col not in result.columns:
        raise UsageError(
            f"{option('targets')} {col}.{label}: '{col}' is not a swept or downstream "
            "column; those are: " + ", ".join(result.columns)
        )
    cols = [col] if col else [c for c in result.columns if label in result.order[c]]
    if not cols:
        known = [str(x) for c in result.columns for x in result.order[c] if x is not None]
        raise UsageError(
            f"{option('targets')} {label}: no swept or downstream column has the label '{label}'"
            f"{did_you_mean(label, known)}"
        )
    if len(cols) > 1:
        raise UsageError(
            f"{option('targets')} {label}: several columns have the label '{label}' ("
            + ", ".join(cols)
            + f"); write COLUMN.LABEL, e.g. {cols[-1]}.{label}={share}"
        )
    chosen = cols[0]
    shares = [p.labels[chosen].get(label, (0, 0.0, None))[1] for p in result.points]
    best = min(range(len(shares)), key=lambda i: (abs(shares[i] - share), i))
    return TargetMatch(chosen, label, share, best, shares[best])
