"""Checking a rule set against real data (``segrule check``): rules that do nothing or
do the wrong thing, each finding with a count and example customers.

Findings:

- ``matches_nobody``: a case whose condition holds for no customer;
- ``shadowed``: a case whose condition holds for some customers, but every one of them
  is taken by an earlier case of the same first-match ladder (named, with counts);
- ``no_tier``: customers whose segment or tier is null (e.g. a points tier ladder
  without ``default_tier``, below its lowest ``min``);
- ``monotonicity``: customers who would drop a tier by spending more. The simulation
  adds an amount to every money dimension of every customer (``more="amount"``) or one
  more paid order of that amount, today (``more="order"``: also ``orders_<window>`` + 1,
  ``last_order_ts`` = as-of, ``first_order_ts`` = as-of when there was none), computes
  the per-customer rules again on the changed values, and compares each customer's
  rank in every ranked segment or tier before and after.

Ranks: a points tier ladder's rungs (highest ``min`` first, ``default_tier`` and then
null last); a segment whose cases are all ``DIMENSION >= n`` / ``DIMENSION > n`` over
one dimension with ``n`` descending (first case highest, default lowest); or the order
given by the caller (``orders={"tier": ["super_vip", "vip", ...]}``). Labels outside an
order (``new``, ``prospect``) are not compared. Population-relative values (ranks,
quantile tiers, Pareto, RFM scores) keep their computed values: one customer spending
more can only move up in its own rank, which those strategies turn into an equal or
higher tier, and re-ranking the population per customer is not one pass.

Everything is computed in one collect over the plan's per-customer frame plus extra
columns (and, for the default amount, the median paid order amount of the orders).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl

from segrule.engine.compiler import BASE, LONG_LADDER, Plan, TableInput
from segrule.engine.stages import derive_layer
from segrule.errors import UsageError, did_you_mean, option
from segrule.model.ladders import ladder_labels
from segrule.model.nodes import WINDOW_RE, Case
from segrule.model.ruleset import RuleSet
from segrule.plugins.registry import Registry
from segrule.sweep import label_order

SpendMode = Literal["amount", "order"]
#: RankOrder.source of an order the caller gave (``orders``).
GIVEN = "given"
#: Why a classification's monotonicity is not checked when no order of its labels is
#: known: the caller can give one (``orders={column: [best, ..., worst]}``; the CLI
#: says how).
NO_ORDER = "no order known"

KINDS = ("matches_nobody", "shadowed", "no_tier", "monotonicity")
EXAMPLES = 5
#: Ladders with more labels than this get no per-pair transition counts.
MAX_PAIRS_LABELS = 12
_ORDERS_COUNT = re.compile(f"orders_({WINDOW_RE})")


@dataclass(frozen=True)
class Ladder:
    """A first-match classification to check: a segment, a tier, or a points part."""

    column: str  # node name, or "score.parts[2]" for a part of a points score
    node: str
    cases: tuple[Case, ...]
    default: str | None
    where: str


@dataclass
class CaseStats:
    """One case: customers for whom it is the first match, for whom its condition holds
    (``raw``), and those taken by earlier cases (``shadowed``, by which in ``by``)."""

    column: str
    index: int  # from 1
    label: str
    sql: str
    where: str
    matched: int
    raw: int
    shadowed: int
    by: dict[str, int] = field(default_factory=dict)


@dataclass
class Finding:
    kind: str  # one of KINDS
    column: str
    label: str | None
    where: str
    count: int
    examples: list[str]
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RankOrder:
    """How a column is ranked for the monotonicity check: labels, highest first."""

    column: str
    labels: list[str]
    source: str  # "tier ladder", "cases (threshold ladder)", GIVEN


@dataclass
class LintResult:
    """What :func:`check_ruleset` found."""

    ruleset: str
    customers: int
    cases: list[CaseStats]
    findings: list[Finding]
    orders: list[RankOrder]
    unchecked: dict[str, str]  # column -> why its monotonicity is not checked
    more: SpendMode
    spend_more: float  # currency units added per customer
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "ruleset": self.ruleset,
            "customers": self.customers,
            "ok": self.ok,
            "findings": [f.__dict__ for f in self.findings],
            "cases": [c.__dict__ for c in self.cases],
            "monotonicity": {
                "simulated": self.more,
                "spend_more": self.spend_more,
                "ranked": [o.__dict__ for o in self.orders],
                "unchecked": self.unchecked,
            },
            "seconds": self.seconds,
        }


def ladders(plan: Plan) -> list[Ladder]:
    """The plan's first-match classifications with cases: segments, flags, tier
    ladders, and the ``bins``/``cases`` parts of points scores."""
    out = []
    for name, node in plan.nodes.items():
        if node.hidden:
            continue
        if node.cases and node.role in ("segment", "tier"):
            out.append(Ladder(name, name, node.cases, node.default, node.origin))
        for i, part in enumerate(node.parts):
            if part.cases:
                out.append(
                    Ladder(
                        f"{name}.parts[{i + 1}]",
                        name,
                        part.cases,
                        str(part.default),
                        node.origin,
                    )
                )
    return out


def _depends_on(plan: Plan, name: str, targets: set[str]) -> bool:
    seen: set[str] = set()
    todo = [name]
    while todo:
        n = todo.pop()
        if n in targets:
            return True
        if n in seen or n not in plan.nodes:
            continue
        seen.add(n)
        todo.extend(plan.nodes[n].deps)
    return False


def rank_orders(
    plan: Plan, given: Mapping[str, Sequence[str]], more: SpendMode
) -> tuple[list[RankOrder], dict[str, str]]:
    """Which segments and tiers are ranked, how, and why the others are not."""
    candidates = {
        n: node
        for n, node in plan.nodes.items()
        if not node.hidden and node.role in ("segment", "tier")
    }
    for col, labels in given.items():
        if col not in candidates:
            raise UsageError(
                f"{option('orders')} {col}=...: '{col}' is not a segment or tier of the rule set"
                f"{did_you_mean(col, candidates)}; those are: {', '.join(sorted(candidates))}"
            )
        known = [x for x in label_order(candidates[col]) if x is not None]
        unknown = [x for x in labels if known and x not in known]
        if unknown:
            raise UsageError(
                f"{option('orders')} {col}=...: '{unknown[0]}' is not a label of {col}"
                f"{did_you_mean(unknown[0], known)}; its labels: {', '.join(known)}"
            )
        if len(set(labels)) != len(labels) or len(labels) < 2:
            raise UsageError(
                f"{option('orders')} {col}=...: give two or more different labels, best first"
            )
    orders: list[RankOrder] = []
    unchecked: dict[str, str] = {}
    for name, node in candidates.items():
        if name in given:
            orders.append(RankOrder(name, list(given[name]), GIVEN))
        elif node.kind == "population":
            unchecked[name] = (
                "population-relative (kept at its computed value: spending more only "
                "raises a customer's own rank)"
            )
        elif node.ladder:
            labels = [lab for lab, _ in node.ladder]
            if node.default is not None:
                labels.append(str(node.default))
            orders.append(RankOrder(name, list(dict.fromkeys(labels)), "tier ladder"))
        else:
            # Also a ladder with gates or upper bounds (taobao's amount_tier: '>' then
            # '<'; tier: gates new/prospect, then score rungs): its rungs by value.
            inferred = ladder_labels(node, plan.dtypes)
            if (
                inferred is not None
                and more == "order"
                and _depends_on(plan, name, {"last_order_ts", "first_order_ts"})
            ):
                inferred = None  # recency falls with one more order: a value ladder is no rank
            if inferred is not None and node.cases[0].sql:
                source = "threshold ladder (cases, highest first)"
                orders.append(RankOrder(name, inferred, source))
            else:
                unchecked[name] = NO_ORDER
    return orders, unchecked


def _rank(column: str, labels: Sequence[str]) -> pl.Expr:
    """Rank of ``column``'s label: len(labels) for the first (best) down to 1; null
    (no label) is 0, below every label; a label outside ``labels`` has no rank."""
    n = len(labels)
    ranked = (
        pl.col(column)
        .cast(pl.String)
        .replace_strict(list(labels), list(range(n, 0, -1)), default=None, return_dtype=pl.Int32)
    )
    return pl.when(pl.col(column).is_null()).then(pl.lit(0, dtype=pl.Int32)).otherwise(ranked)


def _examples(cond: pl.Expr) -> pl.Expr:
    """Up to EXAMPLES customer ids where ``cond`` holds, smallest first."""
    return pl.col(BASE).filter(cond.fill_null(False)).bottom_k(EXAMPLES).sort().implode()


def _simulation(plan: Plan, more: SpendMode) -> tuple[list[pl.Expr], list[str]]:
    """The aggregate columns changed by spending more (they read ``__delta_cents``)."""
    changes: list[pl.Expr] = []
    touched: list[str] = []
    delta = pl.col("__delta_cents")
    for node in plan.nodes.values():
        cents = plan.nodes.get(node.cents) if node.cents else None
        if (
            cents is not None
            and cents.kind == "aggregate"
            and cents.table == "orders"
            and cents.name not in touched
        ):
            changes.append((pl.col(cents.name).fill_null(0) + delta).alias(cents.name))
            touched.append(cents.name)
    if more == "order":
        as_of = plan.ctx.as_of_lit() - pl.duration(microseconds=1)
        for node in plan.nodes.values():
            if node.kind != "aggregate" or node.table != "orders":
                continue
            if _ORDERS_COUNT.fullmatch(node.name):
                changes.append((pl.col(node.name).fill_null(0) + 1).alias(node.name))
            elif node.name == "last_order_ts":
                changes.append(as_of.alias(node.name))
            elif node.name == "first_order_ts":
                changes.append(pl.col(node.name).fill_null(as_of).alias(node.name))
            else:
                continue
            touched.append(node.name)
    return changes, touched


def _median_order_cents(plan: Plan) -> pl.LazyFrame:
    """One row: the median amount, in cents, of the paid orders with an amount."""
    orders = plan.loaded.get("orders")
    if orders is None or "amount_cents" not in orders.schema:
        return pl.LazyFrame({"__delta_cents": [0]}, schema={"__delta_cents": pl.Int64})
    lf = orders.frame
    if "status" in orders.schema:
        lf = lf.filter(pl.col("status") == "paid")
    return lf.select(
        pl.col("amount_cents")
        .filter(pl.col("amount_cents") > 0)
        .median()
        .round(0)
        .cast(pl.Int64)
        .fill_null(0)
        .alias("__delta_cents")
    )


def check_ruleset(
    ruleset: RuleSet | str | Path | Sequence[str | Path],
    tables: Mapping[str, TableInput] | None = None,
    *,
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    orders: Mapping[str, Sequence[str]] | None = None,
    spend_more: float | None = None,
    more: SpendMode = "amount",
) -> LintResult:
    """Check a rule set against data (this collects, once): cases that match nobody or
    are fully shadowed, customers without a tier, and customers who would drop a tier
    by spending ``spend_more`` more (currency units; default: the median paid order
    amount). ``orders``: label order, best first, of segments whose rank is not
    known from the rule set. See the module docstring for what is simulated.
    """
    from segrule.engine.build import as_ruleset, compile
    from segrule.engine.execute import checked

    t0 = time.perf_counter()
    if more not in ("amount", "order"):
        raise UsageError(f"{option('more')} '{more}': use amount or order")
    if spend_more is not None and spend_more < 0:
        raise UsageError(f"{option('spend_more')} must be 0 or more")
    engine = engine or Registry(plugins=list(plugins))
    rs = as_ruleset(ruleset, engine)
    plan = compile(rs, tables, as_of=as_of, data=data, tz=tz, engine=engine, blacklist=blacklist)
    ranked, unchecked = rank_orders(plan, orders or {}, more)
    plan, _ = checked(plan)

    frame = plan.full_frame()
    if spend_more is None:
        frame = frame.join(_median_order_cents(plan), how="cross")
    else:
        cents = int((Decimal(str(spend_more)) * 100).to_integral_value())
        frame = frame.with_columns(pl.lit(cents, dtype=pl.Int64).alias("__delta_cents"))

    aggs: list[pl.Expr] = [pl.len().alias("customers"), pl.col("__delta_cents").first()]
    raw_columns: list[pl.Expr] = []  # before ``before``, which reads them
    before: list[pl.Expr] = []
    found_ladders = ladders(plan)
    for li, lad in enumerate(found_ladders):
        raws = [c.when.fill_null(False).alias(f"__raw{li}_{i}") for i, c in enumerate(lad.cases)]
        idx = pl.coalesce(
            [pl.when(pl.col(f"__raw{li}_{i}")).then(pl.lit(i, pl.UInt32)) for i in range(len(raws))]
        ).alias(f"__idx{li}")
        raw_columns.extend(raws)
        before.append(idx)
        for i in range(len(lad.cases)):
            raw = pl.col(f"__raw{li}_{i}")
            first = (pl.col(f"__idx{li}") == i).fill_null(False)
            shadow = raw & (pl.col(f"__idx{li}") < i).fill_null(False)
            aggs += [
                raw.sum().alias(f"r{li}_{i}"),
                first.sum().alias(f"f{li}_{i}"),
                shadow.sum().alias(f"s{li}_{i}"),
                _examples(shadow).alias(f"e{li}_{i}"),
            ]
            if len(lad.cases) <= LONG_LADDER:
                aggs += [
                    (raw & (pl.col(f"__idx{li}") == j).fill_null(False))
                    .sum()
                    .alias(f"b{li}_{i}_{j}")
                    for j in range(i)
                ]
    tiers = [
        n for n, node in plan.nodes.items() if not node.hidden and node.role in ("segment", "tier")
    ]
    for k, name in enumerate(tiers):
        before.append(pl.col(name).is_null().alias(f"__null{k}"))
        aggs += [
            pl.col(f"__null{k}").sum().alias(f"n{k}"),
            _examples(pl.col(f"__null{k}")).alias(f"ne{k}"),
        ]
    for k, order in enumerate(ranked):
        before.append(_rank(order.column, order.labels).alias(f"__rb{k}"))
    if raw_columns:
        frame = frame.with_columns(raw_columns)
    frame = frame.with_columns(before)

    changes, touched = _simulation(plan, more)
    if ranked and changes:
        frame = frame.with_columns(changes)
        for layer in plan.layers:
            names = [n for n in layer if plan.nodes[n].kind != "population"]
            frame = derive_layer(frame, names, plan.nodes, plan.dtypes)
        for k, order in enumerate(ranked):
            after = _rank(order.column, order.labels)
            drop = (after < pl.col(f"__rb{k}")).fill_null(False)
            frame = frame.with_columns(after.alias(f"__ra{k}"), drop.alias(f"__drop{k}"))
            aggs += [
                pl.col(f"__drop{k}").sum().alias(f"m{k}"),
                _examples(pl.col(f"__drop{k}")).alias(f"me{k}"),
            ]
            n = len(order.labels)
            if n <= MAX_PAIRS_LABELS:
                # rank r is labels[n - r]; null is 0
                for hi in range(1, n + 1):
                    for lo in range(0, hi):
                        aggs.append(
                            (
                                pl.col(f"__drop{k}")
                                & (pl.col(f"__rb{k}") == hi)
                                & (pl.col(f"__ra{k}") == lo)
                            )
                            .sum()
                            .alias(f"t{k}_{hi}_{lo}")
                        )
    elif ranked:
        for order in ranked:
            unchecked[order.column] = "nothing to simulate: the rule set reads no money dimension"
        ranked = []

    try:
        row = frame.select(aggs).collect(engine="streaming").row(0, named=True)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        from segrule.errors import SegruleError, first_line

        raise SegruleError(f"the check failed while reading data: {first_line(exc)}") from exc

    customers = int(row["customers"])
    delta_units = float(Decimal(int(row["__delta_cents"] or 0)) / 100)
    stats: list[CaseStats] = []
    findings: list[Finding] = []
    for li, lad in enumerate(found_ladders):
        for i, case in enumerate(lad.cases):
            by = {}
            if len(lad.cases) <= LONG_LADDER:
                by = {
                    _case_name(lad, j): int(row[f"b{li}_{i}_{j}"])
                    for j in range(i)
                    if row[f"b{li}_{i}_{j}"]
                }
            st = CaseStats(
                lad.column,
                i + 1,
                _case_name(lad, i),
                case.sql,
                case.where or lad.where,
                int(row[f"f{li}_{i}"]),
                int(row[f"r{li}_{i}"]),
                int(row[f"s{li}_{i}"]),
                by,
            )
            stats.append(st)
            what = f"case {st.index} '{st.label}' of {lad.column}" + (
                f" ({case.sql})" if case.sql else ""
            )
            if st.raw == 0:
                findings.append(
                    Finding(
                        "matches_nobody",
                        lad.column,
                        st.label,
                        st.where,
                        0,
                        [],
                        f"{what} matches nobody: no customer meets its condition",
                    )
                )
            elif st.matched == 0:
                takers = ", ".join(
                    f"{k} {v:,}" for k, v in sorted(by.items(), key=lambda kv: -kv[1])
                )
                findings.append(
                    Finding(
                        "shadowed",
                        lad.column,
                        st.label,
                        st.where,
                        st.raw,
                        list(row[f"e{li}_{i}"]),
                        f"{what} is fully shadowed: {st.raw:,} customers meet it but earlier "
                        f"cases took them all" + (f" ({takers})" if takers else ""),
                        {"by": by},
                    )
                )
    for k, name in enumerate(tiers):
        n = int(row[f"n{k}"])
        if n:
            node = plan.nodes[name]
            findings.append(
                Finding(
                    "no_tier",
                    name,
                    None,
                    node.origin,
                    n,
                    list(row[f"ne{k}"]),
                    f"{n:,} customers are left without a {name} (null)"
                    + (
                        ": they are below the lowest rung; add default_tier"
                        if node.ladder and node.default is None
                        else ""
                    ),
                )
            )
    for k, order in enumerate(ranked):
        n = int(row[f"m{k}"])
        if not n:
            continue
        labels = order.labels
        moves: dict[str, int] = {}
        if len(labels) <= MAX_PAIRS_LABELS:
            for hi in range(1, len(labels) + 1):
                for lo in range(0, hi):
                    c = int(row[f"t{k}_{hi}_{lo}"])
                    if c:
                        name_hi = labels[len(labels) - hi]
                        name_lo = "(none)" if lo == 0 else labels[len(labels) - lo]
                        moves[f"{name_hi} -> {name_lo}"] = c
        spent = (
            f"one more order of {delta_units:,.2f}"
            if more == "order"
            else f"{delta_units:,.2f} more"
        )
        top = ", ".join(f"{m} {c:,}" for m, c in sorted(moves.items(), key=lambda kv: -kv[1]))
        findings.append(
            Finding(
                "monotonicity",
                order.column,
                None,
                plan.nodes[order.column].origin,
                n,
                list(row[f"me{k}"]),
                f"{n:,} customers would drop in {order.column} by spending {spent}"
                + (f": {top}" if top else ""),
                {"moves": moves, "order": labels, "changed": touched},
            )
        )
    findings.sort(key=lambda f: (KINDS.index(f.kind), f.column, f.label or ""))
    return LintResult(
        rs.name,
        customers,
        stats,
        findings,
        ranked,
        unchecked,
        more,
        delta_units,
        time.perf_counter() - t0,
    )


def _case_name(lad: Ladder, i: int) -> str:
    """A case's label; a points part's cases are named by position and points."""
    if "." in lad.column:
        return f"#{i + 1} ({lad.cases[i].label} points)"
    return lad.cases[i].label


def parse_orders(items: Sequence[str]) -> dict[str, list[str]]:
    """``--order tier=super_vip,vip,advanced,normal`` (repeatable) as a mapping."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, labels = item.partition("=")
        values = [x.strip() for x in labels.split(",") if x.strip()]
        if not sep or not name.strip() or not values:
            raise UsageError(
                f"{option('orders')} '{item}' is not NAME=BEST,...,WORST, e.g. "
                f"{option('orders')} tier=super_vip,vip,advanced,normal"
            )
        out[name.strip()] = values
    return out
