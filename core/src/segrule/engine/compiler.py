"""From a rule set to one lazy polars plan.

1. Nodes: the rule set's own dimensions, segments and scores, plus every registered
   dimension the outputs reach (name patterns such as ``orders_<window>`` included).
2. Checks before any data is read: unknown names (with suggestions), cycles, missing
   tables and columns, and types (each node is evaluated on a one-row all-null frame
   of the real schema, since polars reports type errors only when a plan runs).
3. The plan: per table one scan (projection and ``ts < as_of`` pushed down) and one
   ``group_by(customer_id).agg(...)`` holding every aggregate; joined onto the
   customer universe; derived and population-relative columns in dependency layers;
   sorted by customer_id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from segrule.engine import quality
from segrule.engine.ids import cast_ids, normalize_ids, unify_id_types
from segrule.engine.passes import AddsNodes, ChecksPlan
from segrule.engine.quality import TableQuality
from segrule.engine.stages import (
    Stages,
    aggregate_frame,
    build_frame,
    full_frame,
    split_stages,
    with_row_columns,
)
from segrule.errors import (
    DataError,
    PluginError,
    RuleSetError,
    RuleSetErrors,
    SegruleError,
    did_you_mean,
)
from segrule.io.formats import EXCEL_FORMATS, TEXT_FORMATS, format_of
from segrule.io.locations import LocationError, locate, redact
from segrule.io.sources import (
    NO_OPTIONS,
    SourceOptions,
    find_table_source,
    number_text,
    options_problem,
    parse_boolean_text,
    parse_timestamp_text,
    read_schema,
    scan_source,
    scan_table,
)
from segrule.model.keys import BASE
from segrule.model.money import cents_sql
from segrule.model.nodes import (
    BuildContext,
    Case,
    Label,
    Node,
    cents_to_units,
    masked,
    money_nodes,
    parse_window,
)
from segrule.model.ruleset import DimensionSpec, RuleSet, SegmentSpec, TableSpec, outputs_of
from segrule.model.sql import parse_sql, polars_reason, reads_across_customers, referenced_names
from segrule.model.tables import TableContract, contract_frame
from segrule.plugins.registry import Registry

#: What evaluating an expression may raise: polars errors, and (for a few inputs) a
#: Rust panic, which is a BaseException.
FAILURES = (Exception, pl.exceptions.PanicException)
TableInput = str | Path | pl.LazyFrame | pl.DataFrame


# -- as-of and time zone ---------------------------------------------------------
def parse_as_of(value: str | dt.date | dt.datetime | None, tz: str) -> dt.datetime:
    """The as-of instant as a naive wall-clock time in ``tz``.

    A date means midnight at its start in the business time zone; an aware datetime
    is converted into it. None means today's midnight in ``tz``.
    """
    zone = check_tz(tz)
    if value is None:
        now = dt.datetime.now(zone)
        return dt.datetime(now.year, now.month, now.day)
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise SegruleError(
                f"as-of '{value}' is not a date or time; write e.g. 2026-11-01 or "
                "2026-11-01T08:00:00+08:00"
            ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone).replace(tzinfo=None)
    return parsed


def check_tz(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SegruleError(
            f"unknown time zone '{tz}'; use an IANA name such as UTC or Asia/Shanghai"
        ) from None


#: Segments with more cases than this are built flat (``first_match``): polars' optimizer
#: takes time quadratic in the depth of a when/then chain (1,000 cases 1.6 s, 2,000
#: 9.6 s, 5,000 88 s to compile and run on 3 rows; flat, 10,000 cases 0.3 s).
LONG_LADDER = 32


def first_match(conds: list[pl.Expr], labels: list[str], default: str) -> pl.Expr:
    """The label of the first true condition, else ``default``: SQL's ``CASE WHEN``
    written as a flat coalesce of case numbers, then one lookup."""
    index = pl.coalesce([pl.when(c).then(pl.lit(i, dtype=pl.UInt32)) for i, c in enumerate(conds)])
    return index.replace_strict(
        list(range(len(labels))),
        labels,
        default=pl.lit(default, dtype=pl.String),
        return_dtype=pl.String,
    )


# -- the compiled plan -----------------------------------------------------------
@dataclass
class Plan:
    """A compiled run: its nodes, layers, the lazy frame and what it reads."""

    ruleset: RuleSet
    ctx: BuildContext
    nodes: dict[str, Node]
    layers: list[list[str]]
    outputs: list[str]
    frame: pl.LazyFrame
    tables: dict[str, str] = field(default_factory=dict)  # table -> source description
    loaded: dict[str, LoadedTable] = field(default_factory=dict, repr=False)
    dtypes: dict[str, pl.DataType] = field(default_factory=dict, repr=False)
    blacklist: str | None = None
    excluded: pl.DataFrame | None = field(default=None, repr=False)  # blacklisted ids

    def quality_tables(self) -> dict[str, TableQuality]:
        """Each loaded table's data-quality checks (:mod:`segrule.engine.quality`)."""
        return {k: t.quality for k, t in self.loaded.items() if t.quality is not None}

    def rebuilt(self, frames: Mapping[str, pl.LazyFrame]) -> Plan:
        """This plan with some tables' frames replaced (:func:`rebuild_frame`)."""
        return rebuild_frame(self, frames)

    @property
    def stages(self) -> Stages:
        """The plan's stages as data (:mod:`segrule.engine.stages`)."""
        universe = "customers" if "customers" in self.loaded else "orders"
        return split_stages(self.nodes, self.layers, self.outputs, self.loaded, universe)

    def full_frame(self) -> pl.LazyFrame:
        """Every node of this plan as a column, sorted by customer_id
        (:func:`segrule.engine.stages.full_frame`)."""
        return full_frame(self.nodes, self.layers, self.loaded, self.dtypes, self.excluded)

    def aggregates(self) -> pl.LazyFrame:
        """The per-customer aggregates this plan starts from (``aggregate_frame``)."""
        return aggregate_frame(self.nodes, self.loaded, self.excluded)

    def graph_lines(self) -> list[str]:
        """The dependency graph, one node per line, in evaluation order."""
        lines = []
        for table in sorted({n.table or "" for n in self.nodes.values() if n.kind == "aggregate"}):
            aggs = [n for n in self.nodes.values() if n.kind == "aggregate" and n.table == table]
            lines.append(
                f"scan {table} ({self.tables.get(table, '?')}) -> group_by(customer_id): "
                + ", ".join(a.name for a in aggs)
            )
        attrs = [n.name for n in self.nodes.values() if n.kind == "attribute"]
        if attrs:
            lines.append(f"customers attributes: {', '.join(attrs)}")
        for i, layer in enumerate(self.layers):
            parts = []
            for name in layer:
                node = self.nodes[name]
                deps = ", ".join(node.deps)
                parts.append(
                    f"{name} <- [{deps}]" + (" (population)" if node.kind == "population" else "")
                )
            lines.append(f"layer {i + 1}: " + "; ".join(parts))
        lines.append(
            "hand-off (per-customer stage -> population stage): " + ", ".join(self.stages.handoff)
        )
        lines.append("outputs: " + ", ".join(self.outputs))
        return lines


class Compiler:
    """Compiles a (composed) rule set against an engine's registries."""

    def __init__(self, engine: Registry, ruleset: RuleSet, ctx: BuildContext):
        self.engine = engine
        self.rs = ruleset
        self.ctx = ctx
        self.defined: dict[str, Node] = {}
        self.errors: list[RuleSetError] = []
        self.conditions: list[tuple[str, str, pl.Expr, str]] = []  # node, label, cond, where
        self.failed: set[str] = set()  # definitions that raised (not reported again as unknown)
        self.expr_sql: dict[str, tuple[str, str]] = {}  # expr: dimension -> (sql, where)

    # -- definitions from the rule set ----------------------------------------
    def define(self) -> None:
        m = self.rs.model
        for name, spec in m.dimensions.items():
            self._guard(lambda n=name, s=spec: self._add(self._dimension(n, s)), name)
        for name, seg in m.segments.items():
            self._guard(lambda n=name, s=seg: self._add([self._segment(n, s)]), name)
        for name, score in m.scores.items():
            where = self.rs.where("scores", name)

            def build(n: str = name, s: Any = score, w: str = where) -> None:
                strategy = self.engine.strategy(s.strategy, w)
                nodes = _call_builder(
                    strategy, lambda: strategy.build(self.ctx, n, dict(s.params), w), w, n
                )
                for node in nodes:
                    node.origin = node.origin or w
                    if (s.zh or s.en) and node.name == n:  # the score's own column only
                        node.title = node.title or {"zh": s.zh or "", "en": s.en or ""}
                    elif (s.zh or s.en) and node.role == "tier" and not node.title:
                        # A tier column beside the score (points' tiers:) is named after it.
                        node.title = {
                            "zh": f"{s.zh}等级" if s.zh else "",
                            "en": f"{s.en} tier" if s.en else "",
                        }
                self._add(nodes)

            self._guard(build, name)

    def _guard(self, fn: Any, name: str) -> None:
        try:
            fn()
        except RuleSetErrors as exc:
            self.errors.extend(exc.errors)
            self.failed.add(name)
        except RuleSetError as exc:
            self.errors.append(exc)
            self.failed.add(name)

    def _add(self, nodes: list[Node]) -> None:
        for node in nodes:
            if node.name == BASE:
                raise RuleSetError(
                    "'customer_id' is the key and cannot be redefined", where=node.origin
                )
            if node.name in self.defined and self.defined[node.name].origin != node.origin:
                prev = self.defined[node.name]
                raise RuleSetError(
                    f"'{node.name}' is defined twice: at {prev.origin} and here; rename one",
                    where=node.origin,
                )
            self.defined[node.name] = node

    def _labels(self, specs: Mapping[str, Any]) -> dict[str, Label]:
        return {
            str(k): Label(str(k), v.zh, v.en, v.description, *v.actions_by_language())
            for k, v in specs.items()
        }

    def _dimension(self, name: str, spec: DimensionSpec) -> list[Node]:
        where = self.rs.where("dimensions", name)
        title = {k: v for k, v in (("zh", spec.zh), ("en", spec.en)) if v}
        desc = spec.description or ""
        if spec.use:
            found = self.engine.find_dimension(spec.use)
            if found is None:
                raise RuleSetError(
                    f"use: unknown dimension '{spec.use}'"
                    f"{did_you_mean(spec.use, self.known_names())}",
                    where=where,
                    name=name,
                )
            dim, groups = found
            nodes = _call_builder(
                dim, lambda: dim.build(self.ctx, name, groups, dict(spec.params)), where, name
            )
            for n in nodes:
                n.origin = where
            nodes[0].title = title or nodes[0].title or dim.title_for(groups)
            nodes[0].labels = self._labels(spec.labels) or nodes[0].labels
            return nodes
        if spec.attribute:
            return [
                Node(
                    name,
                    "attribute",
                    pl.col(spec.attribute).alias(name),
                    table="customers",
                    columns=(spec.attribute,),
                    origin=where,
                    description=desc,
                    title=title,
                    labels=self._labels(spec.labels),
                )
            ]
        if spec.expr:
            expr_where = self.rs.where("dimensions", name, "expr")
            expr = parse_sql(spec.expr, where=expr_where, name=name)
            self.expr_sql[name] = (spec.expr, expr_where)
            return [
                Node(
                    name,
                    _kind_of(expr),
                    expr.alias(name),
                    deps=self._deps(expr),
                    origin=where,
                    description=desc or spec.expr,
                    title=title,
                    labels=self._labels(spec.labels),
                )
            ]
        # aggregate
        assert spec.aggregate is not None
        agg_where = self.rs.where("dimensions", name, "aggregate")
        contract = self._contract(spec.table, where, name)
        conds: list[pl.Expr] = []
        if spec.where:
            conds.append(
                parse_sql(spec.where, where=self.rs.where("dimensions", name, "where"), name=name)
            )
        if spec.window:
            try:
                parse_window(spec.window)
            except RuleSetError as exc:
                raise RuleSetError(
                    exc.detail, where=self.rs.where("dimensions", name, "window"), name=name
                ) from None
            if contract.ts_column is None:
                raise RuleSetError(
                    f"table '{spec.table}' has no time column, so no window", where=where, name=name
                )
            conds.append(self.ctx.in_window(contract.ts_column, spec.window))
        cond = None
        for c in conds:
            cond = c if cond is None else cond & c
        order_by: tuple[str, ...] = ()
        if contract.ts_column is not None:
            row_id = contract.extra.get("row_id")
            order_by = (contract.ts_column, *((row_id,) if row_id else ()))
        agg, columns, fill = build_aggregate(
            spec.aggregate, cond, where=agg_where, name=name, order_by=order_by
        )
        # all() of no rows is true but a customer without rows gets the fill (null), and a
        # custom fill differs from sum/count of no rows: only the plain cases drop rows.
        func = spec.aggregate.strip().split("(", 1)[0].strip().lower()
        mask = cond.fill_null(False) if cond is not None and func != "all" else None
        if spec.fill is not None:
            mask = mask if spec.fill == fill else None
            fill = spec.fill
        m = AGG_RE.match(spec.aggregate)
        if m and func == "sum" and not m.group(2) and m.group(3).strip() == "amount" and fill == 0:
            # sum(amount): a money value, kept in cents for exact expr: arithmetic.
            cents = (
                masked(pl.col("amount_cents"), mask) if mask is not None else pl.col("amount_cents")
            )
            nodes = money_nodes(
                name,
                cents.sum(),
                table=spec.table,
                columns=columns,
                description=desc or spec.aggregate,
                title=title,
                mask=mask,
            )
            nodes[0].origin = nodes[1].origin = where
            nodes[0].labels = self._labels(spec.labels)
            return nodes
        return [
            Node(
                name,
                "aggregate",
                agg.alias(name),
                table=spec.table,
                columns=columns,
                fill=fill,
                origin=where,
                description=desc or spec.aggregate,
                title=title,
                labels=self._labels(spec.labels),
                mask=mask,
            )
        ]

    def _segment(self, name: str, seg: SegmentSpec) -> Node:
        where = self.rs.where("segments", name)
        title = {k: v for k, v in (("zh", seg.zh), ("en", seg.en)) if v}
        if seg.flag is not None:
            cw = self.rs.where("segments", name, "flag")
            cond = parse_sql(seg.flag, where=cw, name=name)
            self.conditions.append((name, "flag", cond, cw))
            labels = self._labels(seg.labels)
            return Node(
                name,
                _kind_of(cond),
                cond.fill_null(False).alias(name),
                deps=self._deps(cond),
                origin=where,
                role="segment",
                title=title,
                labels=labels,
                description=seg.description or seg.flag,
                cases=(Case("true", cond, str(seg.flag), cw),),
                default="false",
            )
        if seg.default is None:
            raise RuleSetError("a segment with cases needs a default label", where=where, name=name)
        expr: Any = pl
        deps: dict[str, None] = {}
        cases: list[Case] = []
        assert seg.cases is not None
        if not seg.cases:
            raise RuleSetError("cases is empty: give at least one case", where=where, name=name)
        conds = []
        for i, case in enumerate(seg.cases):
            cw = self.rs.where("segments", name, "cases", i, "when")
            cond = parse_sql(case.when, where=cw, name=f"{name} case {i + 1}")
            self.conditions.append((name, case.label, cond, cw))
            deps.update(dict.fromkeys(self._deps(cond)))
            conds.append(cond)
            cases.append(Case(case.label, cond, case.when, cw))
        labels = self._labels(seg.labels)
        if len(conds) <= LONG_LADDER:
            for cond, case in zip(conds, seg.cases, strict=True):
                expr = expr.when(cond).then(pl.lit(case.label, dtype=pl.String))
            expr = expr.otherwise(pl.lit(seg.default, dtype=pl.String)).alias(name)
        else:
            expr = first_match(conds, [c.label for c in seg.cases], seg.default).alias(name)
        return Node(
            name,
            _kind_of(*conds),
            expr,
            deps=tuple(deps),
            origin=where,
            role="segment",
            title=title,
            labels=labels,
            description=seg.description or "",
            cases=tuple(cases),
            default=seg.default,
        )

    def _deps(self, expr: pl.Expr) -> tuple[str, ...]:
        return tuple(n for n in referenced_names(expr) if n != BASE)

    def _contract(self, table: str, where: str, name: str) -> TableContract:
        contract = self.engine.tables.items.get(table)
        if contract is None:
            raise RuleSetError(
                f"unknown table '{table}'{did_you_mean(table, self.engine.tables.items)}",
                where=where,
                name=name,
            )
        return contract

    def known_names(self) -> list[str]:
        names = list(self.defined)
        for dim in self.engine.dimensions.items.values():
            names.extend(dim.examples or (dim.name,))
        return names

    # -- resolution --------------------------------------------------------------
    def resolve(self, roots: list[str], root_where: str) -> dict[str, Node]:
        nodes: dict[str, Node] = {}
        pending: list[tuple[str, str, str | None]] = [
            (r, root_where, None) for r in roots if r != BASE
        ]
        deferred: list[tuple[str, str, str | None]] = []
        while pending or deferred:
            if not pending:
                # Helper nodes (``_x_cents``) come with the dimension that builds them.
                pending, deferred = [d for d in deferred if d[0] not in nodes], []
                if not pending:
                    break
                retry = True
            else:
                retry = False
            name, where, needed_by = pending.pop()
            if name in nodes or name == BASE:
                continue
            if name.startswith("_") and name not in self.defined and not retry:
                deferred.append((name, where, needed_by))
                continue
            node_list: list[Node] | None = None
            if name in self.defined:
                node_list = [self.defined[name]]
            else:
                found = self.engine.find_dimension(name)
                if found is not None:
                    dim, groups = found
                    try:
                        node_list = _call_builder(
                            dim,
                            functools.partial(dim.build, self.ctx, name, groups, {}),
                            where,
                            name,
                        )
                    except RuleSetError as exc:
                        self.errors.append(exc)
                        continue
                    for n in node_list:
                        n.origin = n.origin or (f"{dim.owner}" if dim.owner else "builtin")
                    if node_list and not node_list[0].title and dim.title:
                        node_list[0].title = dim.title_for(groups)
            if node_list is None:
                if name in self.failed or (self.failed and needed_by is None):
                    continue  # its definition's own error says what is wrong
                what = f"used by '{needed_by}'" if needed_by else "in outputs"
                self.errors.append(
                    RuleSetError(
                        f"unknown dimension or segment '{name}' ({what})"
                        f"{did_you_mean(name, self.known_names())}",
                        where=where,
                    )
                )
                continue
            for n in node_list:
                if n.name in nodes:
                    continue
                nodes[n.name] = n
                for d in n.deps:
                    if d not in nodes:
                        pending.append((d, n.origin or where, n.name))
        return nodes

    def exact_money(self, nodes: dict[str, Node]) -> None:
        """``expr:`` dimensions that add and subtract money values (and amounts with at
        most two decimals) computed on integer cents (:mod:`segrule.model.money`); they
        are money values themselves, so an ``expr:`` over them is exact too."""
        changed = True
        while changed:
            changed = False
            cents_of = {n: node.cents for n, node in nodes.items() if node.cents}
            for name, (sql, where) in self.expr_sql.items():
                node = nodes.get(name)
                helper = f"_{name}_cents"
                if node is None or node.cents or helper in nodes:
                    continue
                text = cents_sql(sql, cents_of)
                if text is None:
                    continue
                expr = parse_sql(text, where=where, name=name)
                nodes[helper] = Node(
                    helper,
                    _kind_of(expr),
                    expr.alias(helper),
                    deps=self._deps(expr),
                    origin=node.origin,
                    role="helper",
                    description=f"{name} in integer cents",
                )
                node.expr = cents_to_units(pl.col(helper)).alias(name)
                node.deps = (helper,)
                node.cents = helper
                changed = True

    def layers(self, nodes: dict[str, Node]) -> list[list[str]]:
        """Topological layers of the derived/population/constant nodes; cycles are errors."""
        depth: dict[str, int] = {}
        state: dict[str, int] = {}

        def visit(name: str, stack: list[str]) -> int:
            node = nodes.get(name)
            if node is None or node.kind in ("aggregate", "attribute"):
                return 0
            if state.get(name) == 2:
                return depth[name]
            if state.get(name) == 1:
                cycle = [*stack[stack.index(name) :], name]
                raise RuleSetError(
                    "cyclic definition: " + " -> ".join(cycle), where=nodes[name].origin, name=name
                )
            state[name] = 1
            d = 1 + max((visit(x, [*stack, name]) for x in node.deps), default=0)
            state[name] = 2
            depth[name] = d
            return d

        for name in nodes:
            visit(name, [])
        out: dict[int, list[str]] = {}
        for name, d in depth.items():
            out.setdefault(d, []).append(name)
        return [sorted(out[d]) for d in sorted(out)]


AGG_RE = re.compile(r"^\s*([A-Za-z_]+)\s*\(\s*(DISTINCT\s+)?(.*?)\s*\)\s*$", re.I | re.S)
AGG_FUNCS = (
    "count",
    "sum",
    "avg",
    "mean",
    "min",
    "max",
    "median",
    "n_unique",
    "any",
    "all",
    "first",
    "last",
    "mode",
)
#: Aggregates that pick one row's value by time: they need the table's time column.
ORDERED_AGGS = ("first", "last")


def build_aggregate(
    sql: str,
    cond: pl.Expr | None,
    *,
    where: str,
    name: str,
    order_by: tuple[str, ...] = (),
) -> tuple[pl.Expr, tuple[str, ...], Any]:
    """``FUNC(expr)`` / ``count(*)`` / ``count(DISTINCT expr)`` with a row condition.

    Returns the aggregate expression, the table columns read and the fill value for
    customers without rows. ``sum(amount)`` and ``avg(amount)`` run on integer cents,
    so they are exact. ``first``/``last`` take the value of the earliest/latest row by
    ``order_by`` (the table's time column, then its row id where it has one, then the
    value itself, so ties never depend on the read order); ``mode`` is the most frequent
    non-null value, ties broken by the smallest value.
    """
    m = AGG_RE.match(sql)
    if not m or m.group(1).lower() not in AGG_FUNCS:
        raise RuleSetError(
            f"aggregate '{sql}' is not understood: write FUNC(expression) with FUNC one of "
            + ", ".join(AGG_FUNCS)
            + ", or count(*), or count(DISTINCT expression)",
            where=where,
            name=name,
        )
    func, distinct, inner_sql = m.group(1).lower(), bool(m.group(2)), m.group(3)
    mask = cond.fill_null(False) if cond is not None else None
    columns: set[str] = set(referenced_names(cond)) if cond is not None else set()
    if inner_sql.strip() == "*":
        if func != "count" or distinct:
            raise RuleSetError(f"'{sql}': only count(*) takes *", where=where, name=name)
        expr = (mask.sum() if mask is not None else pl.len()).cast(pl.Int64)
        return expr, tuple(sorted(columns)), 0
    inner = parse_sql(inner_sql, where=where, name=name)
    columns |= set(referenced_names(inner))
    money = inner_sql.strip() == "amount" and func in ("sum", "avg", "mean") and not distinct
    if money:
        inner = pl.col("amount_cents")
        columns = (columns - {"amount"}) | {"amount_cents"}
    value = masked(inner, mask) if mask is not None else inner
    if distinct or func == "n_unique":
        if func not in ("count", "n_unique"):
            raise RuleSetError(f"'{sql}': DISTINCT works with count only", where=where, name=name)
        return value.drop_nulls().n_unique().cast(pl.Int64), tuple(sorted(columns)), 0
    if func == "count":
        return value.count().cast(pl.Int64), tuple(sorted(columns)), 0
    if func in ORDERED_AGGS:
        if not order_by:
            raise RuleSetError(
                f"'{sql}': {func}() needs a table with a time column to order its rows",
                where=where,
                name=name,
            )
        columns |= set(order_by)
        keys = [pl.col(c) for c in order_by]
        picked = inner
        if mask is not None:
            picked, keys = inner.filter(mask), [k.filter(mask) for k in keys]
        ordered = picked.sort_by([*keys, picked], nulls_last=True)
        return getattr(ordered, func)(), tuple(sorted(columns)), None
    if func == "mode":
        return value.drop_nulls().mode().min(), tuple(sorted(columns)), None
    if func == "sum":
        expr = value.sum()
        return (cents_to_units(expr) if money else expr), tuple(sorted(columns)), 0
    if func in ("avg", "mean"):
        expr = value.sum() / value.count() if money else value.mean()
        return (expr / 100 if money else expr), tuple(sorted(columns)), None
    if func == "any":
        return value.any(), tuple(sorted(columns)), False
    if func == "all":
        return value.all(), tuple(sorted(columns)), None
    return getattr(value, func)(), tuple(sorted(columns)), None


# -- tables ------------------------------------------------------------------------
@dataclass
class LoadedTable:
    name: str
    frame: pl.LazyFrame  # normalized: contract names, ts as naive wall time, ts < as_of
    schema: pl.Schema
    source: str
    quality: TableQuality | None = field(default=None, repr=False)  # checks and counts


def source_options(spec: TableSpec | None) -> SourceOptions:
    """The reading options a rule set gives a table (encoding, sheet, query, ...)."""
    if spec is None:
        return NO_OPTIONS
    return SourceOptions(
        encoding=spec.encoding,
        delimiter=spec.delimiter,
        decimal=spec.decimal,
        sheet=spec.sheet,
        table=spec.table,
        query=spec.query,
        storage_options=dict(spec.storage_options) if spec.storage_options else None,
    )


def locate_kind(source: str) -> str | None:
    """The kind of location ``source`` is (file, cloud, database), None when unknown."""
    try:
        return locate(source).kind
    except LocationError:
        return None


def _describe(source: TableInput) -> str:
    if isinstance(source, (pl.LazyFrame, pl.DataFrame)):
        return f"<{type(source).__name__}>"
    return redact(str(source))


def _call_builder(item: Any, build: Callable[[], list[Node]], where: str, name: str) -> list[Node]:
    """Run a dimension's or strategy's builder: a RuleSetError without a place gets the
    rule's file:line; any other exception is a PluginError naming the item's owner."""
    try:
        return build()
    except RuleSetError as exc:
        if exc.where:
            raise
        raise RuleSetError(exc.detail, where=where, name=exc.name or name) from None
    except SegruleError:
        raise
    except Exception as exc:  # a plugin's bug must not be a bare traceback
        raise PluginError(
            f"{item.owner or 'builtin'} raised while building '{name}' ({where}) from "
            f"'{item.name}': {type(exc).__name__}: {exc}"
        ) from exc


def load_table(
    engine: Registry,
    rs: RuleSet,
    ctx: BuildContext,
    contract: TableContract,
    source: TableInput,
    needed: dict[str, str],
    universe_table: str | None = None,
) -> LoadedTable:
    """Scan, map columns, normalize types and filter ``ts < as_of``, all lazily.

    ``needed`` maps each contract column the plan reads to the dimension that needs it,
    for the error message when it is missing. ``universe_table`` (customers or orders)
    decides which tables are checked for unknown customers.
    """
    label = _describe(source)
    conflicts: dict[str, str] = {}
    spec = rs.model.tables.get(contract.name)
    # A database source whose table the rule set names: messages (and the manifest, the
    # check that the output is not an input) name the table too.
    if (
        spec
        and spec.table
        and isinstance(source, str)
        and "#" not in source
        and locate_kind(source) == "database"
    ):
        label = f"{label}#{spec.table}"
    mapping = dict(spec.columns) if spec else {}
    # The contract columns the run reads from this table (the quality checks read
    # order_id and status): files disagreeing on the type of another column do not fail
    # the run, and page checksums are verified for these only.
    used = {BASE, *needed, *([contract.ts_column] if contract.ts_column else [])}
    if "amount_cents" in needed:
        used.add("amount")
    if spec and spec.where:
        where_at = rs.where("tables", contract.name, "where")
        where_expr = parse_sql(spec.where, where=where_at, name=f"tables.{contract.name}.where")
        used |= set(referenced_names(where_expr))
    untyped = False  # CSV, NDJSON, Excel: every column is text as read
    excel_serials = False  # Excel: a number in a time column is serial days
    decimal: str | None = None  # CSV: the decimal mark of number columns
    options = source_options(spec)
    problem = options_problem(options)
    if problem is not None:
        key, message = problem
        raise RuleSetError(
            message,
            where=rs.where("tables", contract.name, key),
            name=f"tables.{contract.name}.{key}",
        )
    if isinstance(source, pl.DataFrame):
        lf = source.lazy()
    elif isinstance(source, pl.LazyFrame):
        lf = source
    else:
        read = {*used, "order_id", "status", "amount"} - {"amount_cents"}
        ts = contract.ts_column
        ts_source = mapping.get(ts, ts) if ts else None
        scanned = scan_table(
            source,
            ctx.tz,
            columns=[mapping.get(c, c) for c in sorted(read)],
            options=options,
            table=contract.name,
            before=(ts_source, ctx.as_of) if ts_source else None,
        )
        lf, conflicts = scanned.frame, scanned.conflicts
        # A bucket layout's table says what its rows were read from (CSV text in Parquet).
        formats = (
            set(scanned.formats)
            if scanned.formats is not None
            else {format_of(f) for f in scanned.files}
        )
        untyped = bool(formats) and formats <= set(TEXT_FORMATS)
        excel_serials = bool(formats & set(EXCEL_FORMATS))
        decimal = options.decimal if untyped else None
    raw = read_schema(lf, label)
    if conflicts:
        for used_column in sorted(used):
            name = mapping.get(used_column, used_column)
            if name in conflicts:
                raise DataError(f"{label}: {conflicts[name]}")
    for target, src in mapping.items():
        if src not in raw:
            raise DataError(
                f"{label}: column '{src}' (mapped to {contract.name}.{target} in "
                f"{rs.where('tables', contract.name, 'columns', target)}) is missing"
                f"{did_you_mean(src, raw.names())}; columns are: {', '.join(raw.names()[:20])}"
            )
    rename = {src: target for target, src in mapping.items() if src != target}
    # A column already named like a contract column that another one is mapped onto goes away.
    clash = [t for t in rename.values() if t in raw and t not in rename]
    if clash:
        lf = lf.drop(clash)
    lf = lf.rename(rename) if rename else lf
    schema = {rename.get(k, k): v for k, v in raw.items() if k not in clash}

    def check_needed(columns: Iterable[str], have: Mapping[str, Any]) -> None:
        for col in columns:
            if col not in have and not (col == "amount_cents" and "amount" in have):
                # amount_cents is made from amount: the user's table lacks amount.
                shown = "amount" if col == "amount_cents" else col
                hint = f"; map it with tables.{contract.name}.columns.{shown}: <your column>"
                raise DataError(
                    f"{label}: table '{contract.name}' has no column '{shown}' (needed by "
                    f"{needed[col]}){did_you_mean(shown, have)}{hint}"
                )

    # The time column must be there before the as-of filter; other columns may be added
    # by a plugin's segrule_prepare_table (a default for an optional input), so they are
    # checked after it.
    check_needed([c for c in needed if c == contract.ts_column], schema)
    if BASE not in schema:
        raise DataError(
            f"{label}: table '{contract.name}' has no column 'customer_id'; map it with "
            f"tables.{contract.name}.columns.customer_id"
        )
    exprs: list[pl.Expr] = []
    # Ids keep their type (segrule.engine.ids); integers written in a CSV are integers.
    id_expr, id_dtype = normalize_ids(lf, schema[BASE], label, contract.name, text_file=untyped)
    if id_expr is not None:
        exprs.append(id_expr)
    ts = contract.ts_column
    parse_ts: pl.Expr | None = None
    before_as_of: pl.Expr | None = None
    if ts and ts in schema:
        parse_ts, ts_expr, before_as_of = _normalize_ts(
            lf, ts, schema[ts], ctx, label, contract.name, excel_serials=excel_serials
        )
        exprs.append(ts_expr)
    for column in contract.columns:
        if column.name == "order_id" and column.name in schema and schema["order_id"].is_numeric():
            # Order ids keep their type too: the duplicate check compares them as they
            # are (integer ids sort and compare for less than their text; 10 and "10"
            # are not the same id).
            continue
        if column.name in schema and column.name not in (BASE, ts):
            e = _normalize_column(
                column.name,
                column.type,
                schema[column.name],
                label,
                contract.name,
                ctx.tz,
                decimal=decimal,
                excel_serials=excel_serials,
            )
            if e is not None:
                exprs.append(e)
    if contract.name == "orders" and spec and spec.status_values and "status" in schema:
        lookup = {v: k for k, values in spec.status_values.items() for v in values}
        # It casts to text too: it replaces the cast of a categorical status.
        exprs = [e for e in exprs if e.meta.output_name() != "status"]
        # A when/then chain, not Expr.replace(dict): on polars 2.1 a replace by mapping
        # took the whole plan off the streaming engine (10M orders: peak RSS 1.59 GB
        # with status_values against 0.16 GB without, /usr/bin/time -v).
        status = pl.col("status").cast(pl.String)
        mapped: Any = pl
        for target in dict.fromkeys(lookup.values()):
            values = [v for v, t in lookup.items() if t == target]
            mapped = mapped.when(status.is_in(values)).then(pl.lit(target))
        exprs.append(mapped.otherwise(status).alias("status"))
    renamed = lf
    if parse_ts is not None:
        lf = lf.with_columns(parse_ts)
    if before_as_of is not None:
        lf = lf.filter(before_as_of)  # on the column as read, so it pushes down
    # Cents of a text or Decimal amount come from its decimal digits (1.005 is 1.00499...
    # as a float), computed before the amount becomes a float.
    exact = (
        quality.exact_amount(pl.col("amount"), schema["amount"], decimal)
        if contract.name == "orders" and "amount" in schema
        else None
    )
    if exact is not None:
        lf = lf.with_columns(quality.to_cents(exact).alias(quality.EXACT_CENTS))
    if exprs:
        lf = lf.with_columns(exprs)
    unfiltered = quality.quality_frame(renamed, exprs, parse_ts, ts)
    statuses = tuple(contract.extra.get("statuses", ())) if contract.extra else ()
    policies = quality.policies_for(rs, contract.name, universe_table)
    checks = quality.row_checks(contract, schema, ctx.as_of_lit(), statuses, id_dtype, decimal)
    lf = quality.drop_failing_rows(lf, checks, policies, contract, statuses)
    if contract.name == "orders" and "amount" in schema:
        lf = quality.with_amount_cents(lf, policies, exact=exact is not None)
    where_cond = _table_where(rs, contract.name, schema, label, lf)
    if where_cond is not None:
        lf = lf.filter(where_cond)
    table_quality = quality.TableQuality(
        contract.name, unfiltered, list(schema), checks, policies, where_cond, ts
    )
    lf = engine.prepare_table(contract.name, lf, ctx)
    try:
        final_schema = lf.collect_schema()
    except FAILURES as exc:  # a panic included: one line, never a traceback
        raise DataError(
            f"{label}: cannot prepare table '{contract.name}': {str(exc).splitlines()[0]}"
        ) from None
    check_needed(needed, final_schema)
    return LoadedTable(contract.name, lf, final_schema, label, table_quality)


def _table_where(
    rs: RuleSet, table: str, schema: Mapping[str, Any], label: str, lf: pl.LazyFrame
) -> pl.Expr | None:
    """The table's ``where`` filter (``tables.<t>.where``) checked against its columns
    and types, or None."""
    spec = rs.model.tables.get(table)
    if not (spec and spec.where):
        return None
    at = rs.where("tables", table, "where")
    cond = parse_sql(spec.where, where=at, name=f"tables.{table}.where")
    missing = [c for c in referenced_names(cond) if c not in schema]
    if missing:
        raise RuleSetError(
            f"where refers to column '{missing[0]}' that {label} does not have"
            f"{did_you_mean(missing[0], schema)}",
            where=at,
        )
    try:
        lf.filter(cond).collect_schema()
    except FAILURES as exc:
        raise RuleSetError(
            f"where '{spec.where}' cannot filter {label}: {_short(exc)}", where=at
        ) from None
    return cond


def _normalize_ts(
    lf: pl.LazyFrame,
    ts: str,
    dtype: pl.DataType,
    ctx: BuildContext,
    label: str,
    table: str,
    *,
    excel_serials: bool = False,
) -> tuple[pl.Expr | None, pl.Expr, pl.Expr]:
    """The expression parsing a string time column (else None), the expression turning
    the time column into a naive wall-clock time in the business time zone, and the
    condition ``ts < as_of`` on the column as read, or as parsed (applied by the caller
    before normalizing, so it pushes down). ``excel_serials``: the table comes from a
    workbook, where a time may be a serial number."""
    as_of = ctx.as_of
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        aware = as_of.replace(tzinfo=check_tz(ctx.tz))
        # polars compares datetimes only within one time zone: use the column's.
        cond = pl.col(ts) < pl.lit(aware).dt.convert_time_zone(dtype.time_zone)
        expr = (
            pl.col(ts)
            .dt.convert_time_zone(ctx.tz)
            .dt.replace_time_zone(None)
            .cast(pl.Datetime("us"))
        )
        return None, expr, cond
    if isinstance(dtype, pl.Datetime):
        cond = pl.col(ts) < pl.lit(as_of, dtype=pl.Datetime(dtype.time_unit))
        return None, pl.col(ts).cast(pl.Datetime("us")), cond
    if dtype == pl.Date:
        cond = pl.col(ts).cast(pl.Datetime("us")) < pl.lit(as_of)
        return None, pl.col(ts).cast(pl.Datetime("us")), cond
    if dtype == pl.String:
        # Each value on its own: with and without an offset may be mixed in one column.
        parsed = parse_timestamp_text(pl.col(ts), ctx.tz, excel_serials=excel_serials)
        return parsed.alias(ts), pl.col(ts), pl.col(ts) < pl.lit(as_of)
    raise DataError(
        f"{label}: column '{table}.{ts}' is {dtype}, not a timestamp; give a datetime "
        "or an ISO-8601 string column"
    )


def _normalize_column(
    name: str,
    kind: str,
    dtype: pl.DataType,
    label: str,
    table: str,
    tz: str,
    *,
    decimal: str | None = None,
    excel_serials: bool = False,
) -> pl.Expr | None:
    """The expression turning a contract column into its type, or None when it has it.
    ``decimal`` ``,``/``.``: numbers in text are written with that decimal mark (and
    thousands grouped: :func:`segrule.io.sources.number_text`);
    ``excel_serials``: times in text may be Excel serial days."""
    plain = number_text(pl.col(name), decimal) if dtype == pl.String else None
    if plain is not None and kind in ("number", "integer"):
        want = pl.Float64 if kind == "number" else pl.Int64
        return plain.cast(want, strict=False).alias(name)
    if kind == "number" and not dtype.is_numeric():
        if dtype == pl.String:
            return pl.col(name).str.strip_chars().cast(pl.Float64, strict=False)
        raise DataError(f"{label}: column '{table}.{name}' is {dtype}, not a number; convert it")
    if kind == "number" and isinstance(dtype, pl.Decimal):
        return pl.col(name).cast(pl.Float64)
    if kind == "integer" and not dtype.is_integer():
        if dtype == pl.String:
            return pl.col(name).str.strip_chars().cast(pl.Int64, strict=False)
        if dtype.is_numeric():
            return pl.col(name).cast(pl.Int64, strict=False)
        raise DataError(f"{label}: column '{table}.{name}' is {dtype}, not an integer; convert it")
    if kind == "string" and dtype != pl.String:
        return pl.col(name).cast(pl.String)
    if kind == "boolean" and dtype == pl.String:
        return parse_boolean_text(pl.col(name)).alias(name)
    if kind == "datetime" and dtype == pl.String:
        # ISO-8601 text (a CSV column), each value on its own: unparseable ones are null.
        return parse_timestamp_text(pl.col(name), tz, excel_serials=excel_serials).alias(name)
    if kind == "datetime" and isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        # Like the time column: the wall-clock time in the business time zone.
        return pl.col(name).dt.convert_time_zone(tz).dt.replace_time_zone(None)
    return None


# -- type checks on one-row frames ----------------------------------------------
def _null_frame(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame({k: pl.Series(k, [None], dtype=v) for k, v in schema.items()})


def _short(exc: BaseException) -> str:
    # polars_reason keeps a regex error's reason (its first line is only "regex parse
    # error:") and drops syntax-tree dumps.
    first = polars_reason(exc)
    if "cannot compare 'date/datetime/time' to a string value" in first:
        # polars' own advice speaks of Python objects; in a rule file it is SQL.
        return (
            "a date or time is compared with a text value; write the value as "
            "DATE '2026-10-01' or TIMESTAMP '2026-10-01 08:00:00', or use as_of - "
            "INTERVAL '30 days'"
        )
    return first[:300]


def type_check(
    nodes: dict[str, Node],
    layers: list[list[str]],
    tables: dict[str, LoadedTable],
    conditions: list[tuple[str, str, pl.Expr, str]],
) -> dict[str, pl.DataType]:
    """Evaluate every node on a one-row all-null frame of its inputs' schema.

    Returns each node's dtype; raises all type problems at once, each at its rule. A
    node reading a node that failed is not checked (its error would only repeat the
    first one's cause).
    """
    dtypes: dict[str, pl.DataType] = {BASE: next(iter(tables.values())).schema[BASE]}
    errors: list[RuleSetError] = []
    failed: set[str] = set()
    for name, node in nodes.items():
        if node.kind == "aggregate":
            t = tables[node.table or ""]
            try:
                out = (
                    with_row_columns(_null_frame(t.schema).lazy(), [node])
                    .group_by(BASE)
                    .agg(node.expr)
                    .collect(engine="in-memory")
                )
                dtypes[name] = out.schema[name]
            except FAILURES as exc:
                errors.append(
                    RuleSetError(
                        f"type error in aggregate over {node.table}: {_short(exc)}",
                        where=node.origin,
                        name=name,
                    )
                )
                dtypes[name] = pl.Null()
        elif node.kind == "attribute":
            t = tables["customers"]
            try:
                dtypes[name] = _null_frame(t.schema).select(node.expr).schema[name]
            except FAILURES as exc:
                errors.append(RuleSetError(f"{_short(exc)}", where=node.origin, name=name))
                dtypes[name] = pl.Null()
    by_node: dict[str, list[tuple[str, pl.Expr, str]]] = {}
    for node_name, label, cond, where in conditions:
        by_node.setdefault(node_name, []).append((label, cond, where))
    for layer in layers:
        for name in layer:
            node = nodes[name]
            if failed.intersection(node.deps):
                failed.add(name)
                dtypes[name] = pl.Null()
                continue
            # Each case's condition first, so a problem is reported at the case's own line.
            case_errors = []
            for label, cond, where in by_node.get(name, []):
                deps = [n for n in referenced_names(cond) if n != BASE]
                frame = _null_frame({d: dtypes.get(d, pl.Null()) for d in (BASE, *deps)})
                try:
                    dt_ = frame.select(cond.alias("_c")).schema["_c"]
                except FAILURES as exc:
                    case_errors.append(
                        RuleSetError(
                            f"type error in the condition for '{label}': {_short(exc)}",
                            where=where,
                            name=name,
                        )
                    )
                    continue
                if dt_ not in (pl.Boolean, pl.Null):
                    case_errors.append(
                        RuleSetError(
                            f"condition for '{label}' is {dt_}, not true/false; compare it, e.g. "
                            "`x > 0`",
                            where=where,
                            name=name,
                        )
                    )
            if case_errors:
                errors.extend(case_errors)
                dtypes[name] = pl.String()
                continue
            frame = _null_frame({d: dtypes.get(d, pl.Null()) for d in (BASE, *node.deps)})
            try:
                dtypes[name] = frame.select(node.expr).schema[name]
            except FAILURES as exc:
                errors.append(
                    RuleSetError(f"type error: {_short(exc)}", where=node.origin, name=name)
                )
                failed.add(name)
                dtypes[name] = pl.Null()
    if errors:
        raise RuleSetErrors(errors) if len(errors) > 1 else errors[0]
    return dtypes


# -- the whole compile -------------------------------------------------------------
def resolve_nodes(
    engine: Registry,
    rs: RuleSet,
    ctx: BuildContext,
    outputs: list[str],
    *,
    check_unused: bool = True,
) -> tuple[Compiler, dict[str, Node], list[list[str]]]:
    """The nodes ``outputs`` need and their dependency layers (reads no data); every
    problem found is raised at once. ``check_unused``: also check the names of
    definitions no output uses."""
    comp = Compiler(engine, rs, ctx)
    comp.define()
    nodes = comp.resolve(outputs, rs.where("outputs"))
    # Definitions that no output uses are not computed, but their names are checked too.
    unused = [n for n in comp.defined if n not in nodes] if check_unused else []
    if unused:
        comp.layers(comp.resolve(unused, rs.where("outputs")) | nodes)
    if comp.errors:
        raise RuleSetErrors(comp.errors) if len(comp.errors) > 1 else comp.errors[0]
    comp.exact_money(nodes)
    return comp, nodes, comp.layers(nodes)


def compile_plan(
    engine: Registry,
    rs: RuleSet,
    *,
    as_of: Any,
    tz: str | None = None,
    tables: Mapping[str, TableInput] | None = None,
    data_dir: str | Path | None = None,
    outputs: list[str] | None = None,
    check_only: bool = False,
    blacklist: str | Path | None = None,
    passes: Sequence[object] = (),
) -> Plan:
    """Compile ``rs`` into one lazy plan (nothing is collected but the blacklist).

    ``check_only``: tables that are not given are replaced by empty frames of their
    contract, so rules can be checked (names and types) without any data.
    ``blacklist`` (else the rule set's ``blacklist:``): a file of customer ids that are
    left out of the universe (counted by :func:`segrule.engine.quality.collect_quality`).
    ``passes``: features' plan passes, in order (:mod:`segrule.engine.passes`): nodes
    they add after type checking (explanation columns), checks on the compiled plan.
    """
    tz = tz or rs.model.timezone or "UTC"
    check_tz(tz)
    ctx = BuildContext(as_of=parse_as_of(as_of, tz), tz=tz, engine=engine)
    out_names = list(outputs) if outputs else outputs_of(rs)
    if BASE in out_names:
        out_names.remove(BASE)
    out_names = [BASE, *dict.fromkeys(out_names)]
    comp, nodes, layers = resolve_nodes(engine, rs, ctx, out_names)

    # Tables: which are needed, their sources, columns and the dimension asking.
    needed: dict[str, dict[str, str]] = {}
    for node in nodes.values():
        if node.kind in ("aggregate", "attribute"):
            cols = needed.setdefault(node.table or "", {})
            for c in node.columns:
                cols.setdefault(c, _user_facing(node.name, nodes))
    # The universe is the customers table whenever one is available, else order customers.
    if "customers" not in needed and _has_source(rs, tables or {}, data_dir, "customers"):
        needed["customers"] = {}
    if "customers" not in needed:
        needed.setdefault("orders", {})
    order = ["orders", "customers", "events", "feedback"]
    needed = dict(
        sorted(
            needed.items(),
            key=lambda kv: (kv[0] not in order, order.index(kv[0]) if kv[0] in order else 0, kv[0]),
        )
    )
    sources = _table_sources(engine, rs, tables or {}, data_dir, needed, check_only)
    universe = "customers" if "customers" in needed else "orders"
    loaded: dict[str, LoadedTable] = {}
    for tname, cols in needed.items():
        contract = engine.tables.items.get(tname)
        if contract is None:
            raise RuleSetError(f"unknown table '{tname}'{did_you_mean(tname, engine.tables.items)}")
        loaded[tname] = load_table(
            engine, rs, ctx, contract, sources[tname], cols, universe_table=universe
        )
    loaded = unify_ids(loaded)
    dtypes = type_check(nodes, layers, loaded, comp.conditions)
    for p in passes:
        if not isinstance(p, AddsNodes):
            continue
        extra = p.add_nodes(nodes, dtypes, out_names, ctx)
        if extra:
            nodes = {**nodes, **{n.name: n for n in extra}}
            layers = comp.layers(nodes)
            out_names += [n.name for n in extra if not n.hidden]
            dtypes = type_check(nodes, layers, loaded, comp.conditions)
    bl_source = str(blacklist) if blacklist is not None else rs.model.blacklist
    bl_where = rs.where("blacklist") if blacklist is None else ""
    excluded = read_blacklist(bl_source, bl_where, dtypes[BASE]) if bl_source else None
    universe = "customers" if "customers" in loaded else "orders"
    stages = split_stages(nodes, layers, out_names, loaded, universe)
    frame = build_frame(stages, nodes, loaded, out_names, ctx, dtypes, excluded)
    plan = Plan(
        rs,
        ctx,
        nodes,
        layers,
        out_names,
        frame,
        {k: v.source for k, v in loaded.items()},
        loaded,
        dtypes,
        bl_source,
        excluded,
    )
    for p in passes:
        if isinstance(p, ChecksPlan):
            p.check(plan)
    return plan


def rebuild_frame(plan: Plan, frames: Mapping[str, pl.LazyFrame]) -> Plan:
    """``plan`` with some tables' frames replaced (e.g. duplicates removed) and its
    lazy frame built again from them; the rest of the plan is shared."""
    loaded = dict(plan.loaded)
    for name, lf in frames.items():
        loaded[name] = dataclasses.replace(loaded[name], frame=lf)
    frame = build_frame(
        plan.stages, plan.nodes, loaded, plan.outputs, plan.ctx, plan.dtypes, plan.excluded
    )
    return dataclasses.replace(plan, frame=frame, loaded=loaded)


def unify_ids(loaded: Mapping[str, LoadedTable]) -> dict[str, LoadedTable]:
    """``loaded`` with every table's customer_id in the run's one id type
    (:func:`segrule.engine.ids.unify_id_types`; a DataError when two cannot be joined)."""
    target = unify_id_types({name: t.schema[BASE] for name, t in loaded.items()})
    out: dict[str, LoadedTable] = {}
    for name, t in loaded.items():
        if t.schema[BASE] == target:
            out[name] = t
            continue
        cast = pl.col(BASE).cast(target)
        schema = pl.Schema({k: (target if k == BASE else v) for k, v in t.schema.items()})
        tq = t.quality
        if tq is not None:
            tq = dataclasses.replace(tq, frame=tq.frame.with_columns(cast))
        out[name] = dataclasses.replace(
            t, frame=t.frame.with_columns(cast), schema=schema, quality=tq
        )
    return out


def _user_facing(name: str, nodes: Mapping[str, Node]) -> str:
    """A helper node (``_x_cents``) is reported as the dimension that uses it."""
    seen = {name}
    frontier = [name]
    while frontier:
        current = frontier.pop()
        if not current.startswith("_"):
            return current
        for n in nodes.values():
            if current in n.deps and n.name not in seen:
                seen.add(n.name)
                frontier.append(n.name)
    return name


def _has_source(
    rs: RuleSet, given: Mapping[str, TableInput], data_dir: str | Path | None, table: str
) -> bool:
    spec = rs.model.tables.get(table)
    return (
        given.get(table) is not None
        or bool(spec and spec.source)
        or (data_dir is not None and find_table_source(data_dir, table) is not None)
    )


def _table_sources(
    engine: Registry,
    rs: RuleSet,
    given: Mapping[str, TableInput],
    data_dir: str | Path | None,
    needed: Mapping[str, Any],
    check_only: bool = False,
) -> dict[str, TableInput]:
    out: dict[str, TableInput] = {}
    for tname in needed:
        if tname in given and given[tname] is not None:
            out[tname] = given[tname]
            continue
        spec = rs.model.tables.get(tname)
        if spec and spec.source:
            out[tname] = spec.source
            continue
        if data_dir is not None:
            found = find_table_source(data_dir, tname)
            if found is not None:
                out[tname] = found
                continue
        if check_only and tname in engine.tables.items:
            # Without data the id type is not known: a null column takes the others'.
            frame = contract_frame(engine.tables.items[tname]).with_columns(
                pl.lit(None, dtype=pl.Null).alias(BASE)
            )
            out[tname] = _as_named_by(frame, spec.columns if spec else {})
            continue
        users = ", ".join(sorted(set(needed[tname].values()))[:5]) or "the customer universe"
        where = f" in {data_dir}" if data_dir else ""
        raise DataError(
            f"table '{tname}' is needed (by {users}) but was not found{where}: put "
            f"{tname}.parquet (or .arrow/.csv/.ndjson/.xlsx) in the data folder, pass --{tname} "
            f"PATH, or set tables.{tname}.source in the rule set"
        )
    # Other given tables are ignored when not needed; the universe may still need customers.
    return out


def _as_named_by(frame: pl.DataFrame, columns: Mapping[str, str]) -> pl.DataFrame:
    """A contract frame with its columns named as the rule set's ``columns:`` map says
    the user's data names them (``order_ts: pay_time``), so a check without data reads
    the map as a check with data would. A contract column mapped from a column that
    another contract column already takes is added as a copy."""
    names = frame.columns
    exprs = [pl.col(c) for c in names if c not in columns]
    taken = {c for c in names if c not in columns}
    for target, source in columns.items():
        if target in names and source not in taken:
            exprs.append(pl.col(target).alias(source))
            taken.add(source)
    return frame.select(exprs)


def _kind_of(*exprs: pl.Expr) -> Literal["derived", "population"]:
    """A rule's node kind: population-relative when an expression reads across
    customers (``x / AVG(x)``, a window), else derived per customer."""
    return "population" if any(reads_across_customers(e) for e in exprs) else "derived"


def read_blacklist(
    source: str | Path, where: str = "", id_dtype: pl.DataType | None = None
) -> pl.DataFrame:
    """The customer ids of a blacklist file (this function reads it), as ids of the
    run's type ``id_dtype`` (text "123" is customer 123 when ids are integers; an
    entry that is not an id of that type is a DataError naming it).

    ``.txt``: one id per line (blank lines and ``#`` comments skipped); ``.csv``,
    ``.parquet``, ``.arrow``: the ``customer_id`` column, or the only column.
    """
    ids = _read_blacklist_ids(source, where)
    if id_dtype is None or id_dtype == pl.Null:
        id_dtype = pl.String()
    path = Path(source)
    label = f"blacklist {path}" + (f" (named in {where})" if where and where != str(path) else "")
    try:
        cast = cast_ids(ids, id_dtype, label)
    except DataError:
        if where:  # a list named in a rule file: its errors quote none of it
            raise DataError(
                f"{label}: has an entry that is not a customer id of this run ({id_dtype})"
            ) from None
        raise
    return cast.to_frame().unique()


def _read_blacklist_ids(source: str | Path, where: str = "") -> pl.Series:
    path = Path(source)
    label = f"blacklist {path}" + (f" (named in {where})" if where and where != str(path) else "")
    # A list named in a rule file is read for the rule file's author, who may not be
    # allowed to see it: its errors quote none of it. One given on the command line
    # (no `where`) is the user's own file, and its column names help.
    quote = not where
    try:
        mode: int | None = path.stat().st_mode
    except (OSError, ValueError):  # missing, or a name the OS refuses (too long, NUL)
        mode = None
    if mode is None:
        raise DataError(f"{label}: file not found; give a file of customer ids")
    if not stat.S_ISREG(mode):
        raise DataError(f"{label}: not a regular file (a folder, device or pipe)")
    try:
        if path.suffix.lower() in (".txt", ""):
            ids = [
                line.strip()
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
            return pl.Series(BASE, ids, dtype=pl.String)
        frame = scan_source(path).collect()
    except SegruleError:
        raise
    except (Exception, pl.exceptions.PanicException) as exc:
        reason = _short(exc) if quote else type(exc).__name__
        raise DataError(f"{label}: cannot be read ({reason})") from None
    if BASE in frame.columns:
        column = BASE
    elif frame.width == 1:
        column = frame.columns[0]
    else:
        shown = (
            f"columns are: {', '.join(frame.columns[:10])}"
            if quote
            else (f"it has {frame.width} columns")
        )
        raise DataError(
            f"{label}: has no customer_id column; {shown}; name the id column customer_id "
            "or give a one-column file"
        )
    return frame.get_column(column).alias(BASE).drop_nulls()
