"""Explanations: why a customer has its segments, scores and tier, what it lacks to
move up, and when it falls a tier if nothing else happens.

Everything here builds polars expressions that are added to the run's own plan as
extra columns (``segrule run --explain --distance --rolloff``), so every customer is
explained at batch speed; :func:`explain_customer` evaluates the same expressions for
one customer (``segrule explain``).

Reasons. A case's SQL condition is split into its boolean structure (AND, OR, NOT,
parentheses) and its comparisons; for each customer the comparisons that decided the
outcome are shown with the customer's values: an AND that holds shows all its parts,
an AND that fails the first part that fails; an OR the other way round. A comparison
that failed is shown negated: ``monetary_365d > 10000`` false for 8200 reads
``monetary_365d=8200<=10000``. A classification's reason lists the earlier cases that
failed (``not high: ...``) and the case that matched (or the default).

Distances. A *threshold ladder* is a classification with at least two inequality
cases on the same numeric column, highest first (``score >= 11 -> super_vip``, ``score
>= 9 -> vip``, ...), other cases being gates (``lifecycle = 'new'``); a points
strategy's tier ladder is one too. The rung above a customer's value is the next tier;
the gap is how much more of the column it needs. A points score's parts that are
themselves ladders (``amount_tier`` over ``monetary_365d``) say which single change
would cover the gap: ``monetary_365d +1800.01 (amount_tier -> high)``.

Roll-off. For a ladder over a windowed count or sum (``orders_30d``,
``monetary_365d``), the date on which enough of the customer's rows leave the window
for the value to fall below its rung, if nothing else happens: computed in the
table's group-by, newest rows first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import polars as pl

from segrule.engine.compiler import Plan
from segrule.errors import RuleSetError, option
from segrule.model.conditions import NEGATE, Atom, Cond, comparison, split_condition
from segrule.model.keys import BASE
from segrule.model.ladders import OPS, Ladder, find_ladder, why_no_ladder
from segrule.model.nodes import BuildContext, Case, Node, PointsPart, RankLadder
from segrule.model.sql import parse_sql, referenced_names

REASON, NEXT, GAP, LACKS, ROLLOFF = "_reason", "_next", "_gap", "_lacks", "_rolloff"


# -- rendering values -------------------------------------------------------------------
def value_text(expr: pl.Expr, dtype: pl.DataType | None = None) -> pl.Expr:
    """A value as short text: whole floats without '.0', times to the second, 'null'."""
    if isinstance(dtype, pl.Datetime):
        text = expr.dt.to_string("%Y-%m-%d %H:%M:%S").str.strip_suffix(" 00:00:00")
    elif isinstance(dtype, pl.Date):
        text = expr.dt.to_string("%Y-%m-%d")
    elif dtype is not None and dtype.is_float():
        text = expr.cast(pl.String).str.strip_suffix(".0")
    else:
        text = expr.cast(pl.String)
    return text.fill_null("null")


@dataclass(frozen=True)
class Rendered:
    """A condition's truth (SQL's three values) and the text of what decided it."""

    truth: pl.Expr
    text: pl.Expr


Values = Callable[[str], pl.Expr]


def _atom_text(atom: Atom, truth: pl.Expr, value: Values, known: Mapping[str, Any]) -> pl.Expr:
    held = truth.fill_null(False)
    cmp = comparison(atom) if atom.toks else None
    if cmp is not None and cmp.name in known:
        col = pl.col(cmp.name)
        op = cmp.op if cmp.op != "!=" else "<>"
        verdict = (
            pl.when(held)
            .then(pl.lit(f"{op}{cmp.rhs}"))
            .when(col.is_not_null())
            .then(pl.lit(f"{NEGATE[op]}{cmp.rhs}"))
            .otherwise(pl.lit(""))
        )
        return pl.concat_str([pl.lit(f"{cmp.name}="), value(cmp.name), verdict])
    toks = atom.toks
    words = [t.upper for t in toks]
    first = toks[0] if toks else None
    if first is not None and first.kind == "word" and first.text in known and len(toks) >= 3:
        name = first.text
        shown = pl.concat_str([pl.lit(f"{name}="), value(name)])
        if words[1:3] in (["IS", "NULL"], ["IS", "NOT"]):
            return shown
        negated = words[1] == "NOT"
        kw_at = 2 if negated else 1
        if words[kw_at] in ("IN", "BETWEEN", "LIKE", "ILIKE"):
            rest = atom.sql[toks[kw_at].start - first.start :]
            rest_pos = rest[len(words[kw_at]) :]
            yes = f" {words[kw_at]}{rest_pos}"
            no = f" NOT {words[kw_at]}{rest_pos}"
            if negated:
                yes, no = no, yes
            verdict = (
                pl.when(held)
                .then(pl.lit(yes))
                .when(pl.col(name).is_not_null())
                .then(pl.lit(no))
                .otherwise(pl.lit(""))
            )
            return pl.concat_str([shown, verdict])
    names = [n for n in referenced_names(parse_sql(atom.sql)) if n in known] if toks else []
    head = pl.when(held).then(pl.lit(atom.sql)).otherwise(pl.lit(f"NOT ({atom.sql})"))
    if not names:
        return head
    values = [pl.concat_str([pl.lit(f"{n}="), value(n)]) for n in names]
    return pl.concat_str([head, pl.lit(" ["), pl.concat_str(values, separator=", "), pl.lit("]")])


def render(cond: Cond, value: Values, known: Mapping[str, Any]) -> Rendered:
    """The truth of ``cond`` and the text of what decided it, per customer."""
    if isinstance(cond, Atom):
        truth = parse_sql(cond.sql)
        return Rendered(truth, _atom_text(cond, truth, value, known))
    parts = [render(c, value, known) for c in cond.items]
    if cond.kind == "not":
        return Rendered(~parts[0].truth, parts[0].text)
    truth = parts[0].truth
    for p in parts[1:]:
        truth = (truth & p.truth) if cond.kind == "and" else (truth | p.truth)
    # Which parts decided: an AND that holds, all; one that fails, its first failing part;
    # an OR the other way round. Each part's text appears once (null when left out):
    # choosing whole texts with when/then instead cost 7x (measured on 1M rows).
    whole = truth.fill_null(False)
    if cond.kind == "or":
        whole = ~whole
    before = pl.lit(True)
    pieces = []
    for p in parts:
        held = p.truth.fill_null(False)
        if cond.kind == "or":
            held = ~held
        include = whole | (~held & before)
        before = before & held
        pieces.append(pl.concat_str([pl.when(include).then(pl.lit("")), p.text]))
    return Rendered(truth, pl.concat_str(pieces, separator="; ", ignore_nulls=True))


def values_of(dtypes: Mapping[str, pl.DataType], shared: set[str] | None = None) -> Values:
    """How a value is shown: as text computed in place, or (``shared`` given) read from
    the column ``_<name>_text`` computed once for all reasons; ``shared`` collects the
    names read (measured on 1M customers: the float-to-text casts repeated in every
    comparison were a third of the reasons' time)."""

    def value(name: str) -> pl.Expr:
        if shared is None:
            return value_text(pl.col(name), dtypes.get(name))
        shared.add(name)
        return pl.col(text_column(name))

    return value


def text_column(name: str) -> str:
    return f"_{name}_text"


# -- reasons -------------------------------------------------------------------------
#: Classifications with more cases than this get the compact reason (``compact_reason``).
MAX_SHOWN_CASES = 6


def matched_index(cases: Sequence[Case]) -> pl.Expr:
    """0-based index of the first case that holds, ``len(cases)`` for the default."""
    return pl.coalesce(
        [pl.when(c.when).then(pl.lit(i, dtype=pl.UInt32)) for i, c in enumerate(cases)]
        + [pl.lit(len(cases), dtype=pl.UInt32)]
    )


def case_texts(node: Node, value: Values, dtypes: Mapping[str, pl.DataType]) -> list[pl.Expr]:
    """Per case of ``node``, the text of what decided it for each customer."""
    return [render(split_condition(c.sql), value, dtypes).text for c in node.cases]


def classification_reason(node: Node, value: Values, dtypes: Mapping[str, pl.DataType]) -> pl.Expr:
    cases = node.cases
    if len(cases) > MAX_SHOWN_CASES:
        return compact_reason(node, value, dtypes)
    if len(cases) == 1 and cases[0].label == "true" and node.default == "false":
        return case_texts(node, value, dtypes)[0]  # a flag: what decided it
    texts = case_texts(node, value, dtypes)
    m = matched_index(cases)
    pieces: list[pl.Expr] = []
    for i, (case, text) in enumerate(zip(cases, texts, strict=True)):
        # Cases after the matched one are null, so left out; one text per case.
        prefix = (
            pl.when(m == i)
            .then(pl.lit(f"{case.label}: "))
            .when(m > i)
            .then(pl.lit(f"not {case.label}: "))
        )
        pieces.append(pl.concat_str([prefix.otherwise(None), text]))
    pieces.append(pl.when(m == len(cases)).then(pl.lit(f"default {node.default}")))
    return pl.concat_str(pieces, separator="; ", ignore_nulls=True)


def compact_reason(node: Node, value: Values, dtypes: Mapping[str, pl.DataType]) -> pl.Expr:
    """A long classification (the named RFM segments): the matched case's number and
    label and the values of every column its cases read, e.g. ``promising (case 6 of
    11): r_score=4; f_score=1``. Rendering every case of every customer cost 0.9 s on 1M
    customers for the 11 RFM cases; this costs a few hundredths."""
    m = matched_index(node.cases)
    n = len(node.cases)
    # One lookup of literal texts per customer (formatting the number per row cost 3x).
    heads = [f"{c.label} (case {i + 1} of {n}): " for i, c in enumerate(node.cases)]
    heads.append(f"{node.default} (default): ")
    head = m.replace_strict(list(range(n + 1)), heads, return_dtype=pl.String)
    names: dict[str, None] = {}
    for case in node.cases:
        names.update(dict.fromkeys(n for n in referenced_names(case.when) if n in dtypes))
    values = [pl.concat_str([pl.lit(f"{k}="), value(k)]) for k in names if k != BASE]
    if not values:
        return head
    return pl.concat_str([head, pl.concat_str(values, separator="; ")])


def points_reason(node: Node, value: Values, dtypes: Mapping[str, pl.DataType]) -> pl.Expr:
    pieces = []
    for part in node.parts:
        pts = value_text(part.points, pl.Float64())
        if part.value is not None and part.label in dtypes:
            shown = pl.concat_str([pl.lit(f"{part.label}="), value(part.label)])
        elif part.value is not None:
            shown = pl.concat_str([pl.lit(f"{part.label}="), value_text(part.value)])
        else:
            texts = [render(split_condition(c.sql), value, dtypes).text for c in part.cases]
            first: Any = pl
            for c, t in zip(part.cases, texts, strict=True):
                first = first.when(c.when).then(t)
            shown = first.otherwise(pl.lit("no case"))
        pieces.append(pl.concat_str([shown, pl.lit(" +"), pts]))
    total = pl.concat_str([pl.lit(" = "), value(node.name)])
    return pl.concat_str([pl.concat_str(pieces, separator="; "), total])


def generic_reason(node: Node, value: Values) -> pl.Expr:
    pieces = []
    for dep in node.deps:
        shown = dep
        m = re.fullmatch(r"_(.+)_rank", dep)
        if m:
            shown = "rank"
        elif dep.startswith("_"):
            continue
        pieces.append(pl.concat_str([pl.lit(f"{shown}="), value(dep)]))
    if not pieces:
        return pl.lit(node.description or "", dtype=pl.String)
    return pl.concat_str(pieces, separator="; ")


def reason_expr(
    node: Node, dtypes: Mapping[str, pl.DataType], value: Values | None = None
) -> pl.Expr:
    """Why ``node`` has its value, per customer (text)."""
    value = value or values_of(dtypes)
    if node.cases:
        return classification_reason(node, value, dtypes)
    if node.parts:
        return points_reason(node, value, dtypes)
    return generic_reason(node, value)


LACKS_TEXT = {
    "en": {
        "needs": " needs ",
        "more_than": "more than ",
        "more_for": " more for ",
        "or": " or ",
        "points": " points",
    },
    "zh": {
        "needs": " 还需增加 ",
        "more_than": "超过 ",
        "more_for": " 才能升至 ",
        "or": " 或 ",
        "points": " 分",
    },
}


def distance_exprs(node: Node, ladder: Ladder) -> tuple[pl.Expr, pl.Expr]:
    """Per customer: the next label up and the gap in the ladder's column (whether the
    gap is 'more than': :func:`ladder_strict`; the sentence: :func:`lacks_sentence`).

    Null when the customer is on the top rung, or was classified by a gate case that
    comes before the next rung (e.g. 'new' customers), or the column is null.
    """
    col = pl.col(ladder.column)
    m = matched_index(node.cases)
    next_label: Any = pl
    gap: Any = pl
    for k, interval in enumerate(ladder.intervals):
        found = ladder.next_up(k)
        if found is None:
            continue
        above = found[1]
        target = ladder.rung_case.get(above.label, len(node.cases))
        gated = pl.lit(False)
        for g in ladder.gates:
            if g < target:
                gated = gated | (m == g)
        cond = interval.expr(col) & ~gated
        next_label = next_label.when(cond).then(pl.lit(above.label))
        gap = gap.when(cond).then(pl.lit(above.low) - col)
    if next_label is pl:
        return pl.lit(None, dtype=pl.String), pl.lit(None, dtype=pl.Float64)
    nxt = next_label.otherwise(None).cast(pl.String)
    gap_e = gap.otherwise(None).cast(pl.Float64)
    return nxt, pl.when(gap_e.is_finite()).then(gap_e)


def ladder_strict(ladder: Ladder) -> pl.Expr:
    """Whether the rung above a customer's value is a strict bound (``> 10000``: 'more
    than' the gap)."""
    strict = pl.lit(False)
    for k, interval in enumerate(ladder.intervals):
        found = ladder.next_up(k)
        if found is not None and not found[1].low_in:
            strict = strict | interval.expr(pl.col(ladder.column))
    return strict


def lacks_sentence(
    column: str, strict: pl.Expr, gap: pl.Expr, nxt: pl.Expr, lang: str = "en"
) -> pl.Expr:
    """``<column> needs [more than ]<gap> more for <next>`` (or its ``lang`` form)."""
    words = LACKS_TEXT[lang]
    return pl.concat_str(
        [
            pl.lit(column + words["needs"]),
            pl.when(strict).then(pl.lit(words["more_than"])).otherwise(pl.lit("")),
            value_text(gap.round(6), pl.Float64()),
            pl.lit(words["more_for"]),
            nxt,
        ]
    )


def rank_distance_exprs(ladder: RankLadder, lang: str = "en") -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Top-share tiers: the next tier up, and how much more of the ranked column it takes
    to outrank the customer now last in it (the cut-off moves with the data). Equal
    values go to the lower customer_id, so the gap is 'more than' for a customer whose
    id is above that customer's. Null for the top tier, for customers not ranked (not
    eligible) and for a tier nobody is in."""
    rank = ladder.rank
    # The value and id of the customer last in each tier (rank == its limit).
    cutoffs = [
        (ladder.value.filter(rank == limit).first(), pl.col(BASE).filter(rank == limit).first())
        for _, limit in ladder.rungs
    ]
    nxt: Any = pl
    gap: Any = pl
    strict: Any = pl
    for j, (_, limit) in enumerate([*ladder.rungs, ("", None)]):
        ranked = rank.is_not_null() if limit is None else rank <= limit
        if j == 0:
            nxt = nxt.when(ranked).then(pl.lit(None, dtype=pl.String))
            gap = gap.when(ranked).then(pl.lit(None))
            strict = strict.when(ranked).then(pl.lit(None, dtype=pl.Boolean))
            continue
        above = ladder.rungs[j - 1][0]
        value, last_id = cutoffs[j - 1]
        nxt = nxt.when(ranked).then(pl.lit(above))
        gap = gap.when(ranked).then(value - ladder.value)
        strict = strict.when(ranked).then(pl.col(BASE) > last_id)
    gap_e = gap.otherwise(None).cast(pl.Float64)
    if ladder.scale != 1:
        gap_e = (gap_e / ladder.scale).round(6)
    nxt_e = pl.when(gap_e.is_not_null()).then(nxt.otherwise(None).cast(pl.String))
    sentence = lacks_sentence(ladder.column, strict.otherwise(None), gap_e, nxt_e, lang)
    return nxt_e, gap_e, sentence


def part_alternatives(
    score: Node,
    needed: pl.Expr,
    ladders: Mapping[str, Ladder],
    nodes: Mapping[str, Node],
    columns: Callable[[str], tuple[pl.Expr, pl.Expr]],
    column: Callable[[str, pl.Expr], pl.Expr],
    lang: str = "en",
) -> pl.Expr | None:
    """For a points score: which single part, moved up one rung, covers ``needed`` points,
    e.g. ``monetary_365d +1800.01 (amount_tier -> high)``, or for a ``bins`` part over a
    value the least rise of it that does, ``monetary_365d +1800 (10 -> 30 points)``;
    None when no part is a ladder. ``columns(part)`` gives a part's next label and gap,
    ``column(name, expr)`` makes ``expr`` a hidden column of the plan (read by name, so
    computed once however often it is read)."""
    words = LACKS_TEXT[lang]
    options = []
    for i, part in enumerate(score.parts):
        if part.bins and part.value is not None and part.points_of is not None:
            options.append(_bins_alternative(part, needed, words, column, f"_{score.name}_{i}"))
            continue
        sub = ladders.get(part.label)
        if sub is None or part.label not in nodes:
            continue
        if part.points_of is None:
            continue
        nxt, gap = columns(part.label)
        gained = part.points_of(nxt)  # the part's points at the next label
        strict = ladder_strict(sub)
        option = pl.when((gained - part.points) >= needed).then(
            pl.concat_str(
                [
                    pl.lit(f"{sub.column} "),
                    pl.when(strict).then(pl.lit(words["more_than"])).otherwise(pl.lit("")),
                    pl.lit("+"),
                    value_text(gap.round(6), pl.Float64()),
                    pl.lit(f" ({part.label} -> "),
                    nxt,
                    pl.lit(")"),
                ]
            )
        )
        options.append(option)
    if not options:
        return None
    joined = pl.concat_str(options, separator=words["or"], ignore_nulls=True)
    return joined.replace("", None)  # no part alone is enough: null


def _bins_alternative(
    part: PointsPart,
    needed: pl.Expr,
    words: Mapping[str, str],
    column: Callable[[str, pl.Expr], pl.Expr],
    prefix: str,
) -> pl.Expr:
    """The least rise of a ``bins`` part's value that alone gives ``needed`` more points
    (bins are ``value >= min``: the rise is to a threshold), as text; null when none does.
    The rise is the hidden column ``<prefix>_rise``."""
    assert part.value is not None and part.points_of is not None
    value = part.value
    rises = []
    for low in part.bins:
        gained = part.points_of(pl.lit(low)) - part.points
        rises.append(pl.when((value < low) & (gained >= needed)).then(pl.lit(low) - value))
    rise = column(f"{prefix}_rise", pl.min_horizontal(rises))
    text = pl.concat_str(
        [
            pl.lit(f"{part.label} +"),
            value_text(rise.cast(pl.Float64).round(6), pl.Float64()),
            pl.lit(" ("),
            value_text(part.points.cast(pl.Float64), pl.Float64()),
            pl.lit(" -> "),
            value_text(part.points_of(value + rise).cast(pl.Float64), pl.Float64()),
            pl.lit(words["points"] + ")"),
        ]
    )
    return pl.when(rise.is_not_null()).then(text)


# -- the extra nodes of an explained run -------------------------------------------------
@dataclass(frozen=True)
class ExplainOptions:
    """Which explanation columns a run adds (per segment, score or tier output)."""

    reasons: bool = True
    distance: bool = False
    rolloff: bool = False
    lang: str = "en"  # language of the ``_lacks`` sentences: en or zh

    def __post_init__(self) -> None:
        if self.lang not in LACKS_TEXT:
            raise ValueError(f"ExplainOptions.lang '{self.lang}': use one of {sorted(LACKS_TEXT)}")


def distance_notes(
    nodes: Mapping[str, Node], dtypes: Mapping[str, pl.DataType], outputs: Sequence[str]
) -> list[tuple[str, str]]:
    """The output segments and tiers ``--distance`` gives no columns, each with why
    (``(name, reason)``): neither a threshold ladder nor a top-share ladder."""
    out = []
    for n in outputs:
        node = nodes.get(n)
        if node is None or node.role not in ("segment", "tier") or n == BASE:
            continue
        if node.rank_ladder is None and find_ladder(node, dtypes) is None:
            out.append((n, why_no_ladder(node, dtypes) or "it is not a threshold ladder"))
    return out


def explain_nodes(
    nodes: Mapping[str, Node],
    dtypes: Mapping[str, pl.DataType],
    outputs: Sequence[str],
    options: ExplainOptions,
    ctx: BuildContext,
) -> list[Node]:
    """The nodes computing the explanation columns of ``outputs`` (added to the plan)."""
    extra: list[Node] = []
    explained = [
        n for n in outputs if n in nodes and nodes[n].role in ("segment", "tier") and n != BASE
    ]
    names = set(nodes)

    def add(node: Node) -> None:
        if node.name in names:
            raise RuleSetError(
                f"cannot add the explanation column '{node.name}': a dimension or segment "
                "has that name; rename it",
                where=nodes[node.name].origin,
            )
        names.add(node.name)
        extra.append(node)

    def derived(name: str, expr: pl.Expr, of: str, what: str) -> Node:
        deps = tuple(d for d in dict.fromkeys(referenced_names(expr)) if d != BASE)
        return Node(
            name, "derived", expr.alias(name), deps=deps, role="reason", description=f"{what} {of}"
        )

    def population(name: str, expr: pl.Expr, of: str, what: str) -> Node:
        node = derived(name, expr, of, what)
        node.kind = "population"  # reads whole columns (the cut-off of each tier)
        return node

    if options.reasons:
        shared: set[str] = set()
        value = values_of(dtypes, shared)
        reasons = [
            derived(n + REASON, reason_expr(nodes[n], dtypes, value), n, "why") for n in explained
        ]
        for name in sorted(shared):
            expr = value_text(pl.col(name), dtypes.get(name))
            add(derived(text_column(name), expr, name, "text of"))
        for node in reasons:
            add(node)
    decay = Decay(nodes, dtypes, ctx)
    rolloffs: list[Node] = []
    if options.distance or options.rolloff:
        ladders = {n: lad for n, node in nodes.items() if (lad := find_ladder(node, dtypes))}

        def column(name: str, expr: pl.Expr) -> pl.Expr:
            """``expr`` as a hidden column of the plan, added once, read by name."""
            if name not in names:
                add(derived(name, expr, name, "helper of the distance sentences:"))
            return pl.col(name)

        def ladder_columns(label: str) -> tuple[pl.Expr, pl.Expr]:
            """A ladder's next label and gap as columns: its own outputs when it is
            explained, else hidden columns."""
            if label in explained:
                return pl.col(label + NEXT), pl.col(label + GAP)
            nx, gp = distance_exprs(nodes[label], ladders[label])
            return column(f"_{label}_next_up", nx), column(f"_{label}_gap_up", gp)

        for n in explained:
            lad = ladders.get(n)
            ranked = nodes[n].rank_ladder
            if lad is None and ranked is not None and options.distance:
                nxt, gap, sentence = rank_distance_exprs(ranked, options.lang)
                add(population(n + NEXT, nxt, n, "next label up of"))
                add(population(n + GAP, gap, n, f"{ranked.column} lacking for the next label of"))
                add(population(n + LACKS, sentence, n, "what lacks for the next label of"))
            if lad is None:
                continue
            if options.distance:
                # The next label and the gap are columns, and the sentence reads them: an
                # expression used in several places is computed at each (the tier's
                # sentence with its alternatives cost 1 s at 1M customers that way).
                nxt, gap = distance_exprs(nodes[n], lad)
                add(derived(n + NEXT, nxt, n, "next label up of"))
                add(derived(n + GAP, gap, n, f"{lad.column} lacking for the next label of"))
                sentence = lacks_sentence(
                    lad.column, ladder_strict(lad), pl.col(n + GAP), pl.col(n + NEXT), options.lang
                )
                score = nodes.get(lad.column)
                if score is not None and score.parts:
                    alts = part_alternatives(
                        score, pl.col(n + GAP), ladders, nodes, ladder_columns, column, options.lang
                    )
                    if alts is not None:
                        colon = "：" if options.lang == "zh" else ": "
                        more = pl.concat_str([pl.lit(colon), column(f"_{n}_alternatives", alts)])
                        sentence = pl.concat_str([sentence, more.fill_null("")])
                add(derived(n + LACKS, sentence, n, "what lacks for the next label of"))
            if options.rolloff:
                found = rolloff_node(nodes[n], lad, decay, dtypes)
                if found is not None:
                    rolloffs.append(found)
    for node in [*decay.aggregates.values(), *rolloffs]:
        add(node)
    return extra


# -- roll-off dates ---------------------------------------------------------------------
def _window_source(column: str, nodes: Mapping[str, Node]) -> Node | None:
    """The aggregate node with a window behind ``column`` (itself, or its cents)."""
    node = nodes.get(column)
    if node is None:
        return None
    if node.window is not None:
        return node
    if node.cents and node.cents in nodes and nodes[node.cents].window is not None:
        return nodes[node.cents]
    return None


# -- one customer ---------------------------------------------------------------------
@dataclass
class CaseResult:
    label: str
    sql: str
    holds: bool | None  # SQL's three values: None when the condition is null
    matched: bool
    why: str | None


@dataclass
class Explained:
    """One node's value for one customer and why (see :func:`explain_customer`)."""

    name: str
    role: str
    kind: str
    value: Any
    title: dict[str, str] = field(default_factory=dict)
    description: str = ""
    label: Any = None  # the Label of the value, for classifications
    labels: dict[str, Any] = field(default_factory=dict)  # every label's Label, by key
    cases: list[CaseResult] = field(default_factory=list)
    default: str | None = None
    parts: list[tuple[str, Any, Any]] = field(default_factory=list)  # (part, value, points)
    reason: str | None = None
    next_label: str | None = None
    gap: float | None = None
    lacks: str | None = None
    rolloff: Any = None


@dataclass
class CustomerExplanation:
    customer_id: str | int  #: in the run's id type
    as_of: Any
    items: list[Explained]

    def by_role(self, *roles: str) -> list[Explained]:
        return [i for i in self.items if i.role in roles]


def explain_customer(plan: Plan, customer_id: str | int) -> CustomerExplanation:
    """Every dimension, segment, score and tier of one customer and why (this collects).

    ``plan`` is compiled with explanations (``ExplainOptions(True, True, True)``); the
    whole plan runs (population ranks need every customer) and the customer's row is
    kept, with each case's truth and text and each points part beside it. The data-
    quality checks run first, as in a run, so the answer is the run's.
    """
    from segrule.engine.execute import checked, collect
    from segrule.engine.ids import cast_ids
    from segrule.errors import DataError

    plan, _ = checked(plan)
    nodes: Mapping[str, Node] = plan.nodes
    dtypes = plan.dtypes
    frame = plan.full_frame()
    extra: list[pl.Expr] = []
    value = values_of(dtypes)
    for node in nodes.values():
        for i, case in enumerate(node.cases):
            r = render(split_condition(case.sql), value, dtypes)
            extra.append(case.when.alias(f"__holds_{node.name}_{i}"))
            extra.append(r.text.alias(f"__why_{node.name}_{i}"))
        for j, part in enumerate(node.parts):
            extra.append(part.points.alias(f"__points_{node.name}_{j}"))
            if part.value is not None:
                extra.append(part.value.alias(f"__value_{node.name}_{j}"))
    # The id as the run's type: "123" is customer 123 when ids are integers.
    wanted = cast_ids(pl.Series([customer_id]), dtypes[BASE], option("customer_id"))[0]
    row_frame = frame.with_columns(extra).filter(pl.col(BASE) == pl.lit(wanted, dtypes[BASE]))
    rows = collect(row_frame)
    if rows.height == 0:
        raise DataError(
            f"customer '{customer_id}' is not in the universe of this run (the customers "
            f"table, else the customers with orders); check the id and {option('as_of')}"
        )
    row = rows.row(0, named=True)
    items: list[Explained] = []
    for name in _display_order(plan):
        node = nodes[name]
        item = Explained(
            name,
            node.role,
            node.kind,
            row.get(name),
            title=dict(node.title),
            description=node.description,
            labels=dict(node.labels),
            default=node.default,
            reason=row.get(name + REASON),
            next_label=row.get(name + NEXT),
            gap=row.get(name + GAP),
            lacks=row.get(name + LACKS),
            rolloff=row.get(name + ROLLOFF),
        )
        if node.labels and row.get(name) is not None:
            key = row[name]
            key = ("true" if key else "false") if isinstance(key, bool) else str(key)
            item.label = node.labels.get(key)
        seen_match = False
        for i, case in enumerate(node.cases):
            holds = row.get(f"__holds_{name}_{i}")
            matched = bool(holds) and not seen_match
            seen_match = seen_match or matched
            item.cases.append(
                CaseResult(case.label, case.sql, holds, matched, row.get(f"__why_{name}_{i}"))
            )
        for j, part in enumerate(node.parts):
            item.parts.append(
                (part.label, row.get(f"__value_{name}_{j}"), row.get(f"__points_{name}_{j}"))
            )
        items.append(item)
    return CustomerExplanation(wanted, plan.ctx.as_of, items)


def _display_order(plan: Plan) -> list[str]:
    """Dimensions first (aggregates and attributes, then derived), then segments, scores
    and tiers in dependency order; helpers and explanation columns left out."""
    order = [n for n, node in plan.nodes.items() if node.kind in ("aggregate", "attribute")]
    order += [n for layer in plan.layers for n in layer]
    return [
        n
        for n in dict.fromkeys(order)
        if not plan.nodes[n].hidden and plan.nodes[n].role not in ("reason", "helper")
    ]


class Decay:
    """Conditions evaluated at a later instant ``c`` as windowed rows leave their windows
    and no new rows come: the roll-off model.

    A comparison of a windowed count or sum (``orders_30d >= 3``, ``monetary_365d >
    10000``, also ``<``/``<=``) with a number holds at ``c`` while the instant at which
    the value falls below the number is after ``c``; that instant is one aggregate in
    the table's group-by (:meth:`falls_below`). A points score at ``c`` is the sum of its
    parts at ``c``; a classification's label at ``c`` is its first case that holds then.
    Everything else (lifetime counts, attributes, feedback, the as-of) is taken as it is
    now, so time-based rules (recency, 'new' for 90 days) do not roll off here.
    """

    def __init__(
        self, nodes: Mapping[str, Node], dtypes: Mapping[str, pl.DataType], ctx: BuildContext
    ):
        self.nodes = nodes
        self.dtypes = dtypes
        self.ctx = ctx
        self.aggregates: dict[str, Node] = {}
        self.dates: dict[str, pl.Expr] = {}  # every instant a condition can change
        self.touched: set[str] = set()  # the instants read since the last reset

    def falls_below(self, column: str, bound: float, inclusive: bool) -> pl.Expr | None:
        """The instant at which ``column`` stops being ``>= bound`` (``> bound`` when not
        ``inclusive``), null when it is not now; None when the column has no window."""
        src = _window_source(column, self.nodes)
        if src is None or src.window is None:
            return None
        w = src.window
        scaled = Fraction(str(bound)) * (100 if src.name != column else 1)
        limit: float | int = int(scaled) if scaled.denominator == 1 else float(scaled)
        key = f"_{column}_{'ge' if inclusive else 'gt'}_{limit}".replace(".", "p").replace("-", "m")
        helper = f"_rolloff{key}"
        if helper not in self.aggregates:
            start = self.ctx.as_of - dt.timedelta(days=w.days)
            in_window = (
                (pl.col(w.ts) >= pl.lit(start, dtype=pl.Datetime("us"))) & w.rows
            ).fill_null(False)
            row_columns: tuple[pl.Expr, ...] = ()
            if limit <= 0 if inclusive else limit < 0:
                # Counts and sums of amounts (never negative) never fall below 0.
                agg = pl.lit(None, dtype=pl.Datetime("us"))
            else:
                # The value stays at or above the bound until the row at which the running
                # total (a count: the running number of rows), newest rows first, reaches
                # it leaves the window: the newest row whose running total reaches it.
                # The running total is a row-level column of the table, one per window and
                # shared by every bound, computed before the group-by: sorting each
                # customer's rows inside the group-by cost 3x more (10M orders, two bounds
                # of monetary_365d: 2.4 s against 0.7 s), a top-k of the times for counts
                # 2.2 s for orders_30d alone. Rows with equal times leave together, so their
                # order among themselves does not matter.
                running = f"_running{src.name if src.name.startswith('_') else '_' + src.name}"
                per_row = w.value.cast(pl.Int64) if w.value is not None else pl.lit(1, pl.Int64)
                row_columns = (
                    pl.when(in_window)
                    .then(per_row)
                    .otherwise(0)
                    .fill_null(0)
                    .cum_sum()
                    .over(BASE, order_by=w.ts, descending=True)
                    .alias(running),
                )
                reach = pl.col(running) >= limit if inclusive else pl.col(running) > limit
                agg = pl.col(w.ts).filter(in_window & reach).max()
            self.aggregates[helper] = Node(
                helper,
                "aggregate",
                agg.alias(helper),
                table=w.table,
                role="helper",
                description=f"time of the row keeping {column} {'>=' if inclusive else '>'} "
                f"{bound}",
                mask=in_window,
                row_columns=row_columns,
            )
            self.dates[helper] = pl.col(helper) + pl.duration(days=w.days)
        self.touched.add(helper)
        return self.dates[helper]

    def holds_at(self, sql: str, c: pl.Expr) -> pl.Expr:
        """Whether the condition ``sql`` holds at instant ``c`` (null counts as false)."""
        return self._cond(split_condition(sql), c).fill_null(False)

    def _cond(self, cond: Cond, c: pl.Expr) -> pl.Expr:
        if isinstance(cond, Atom):
            return self._atom(cond, c)
        parts = [self._cond(i, c) for i in cond.items]
        if cond.kind == "not":
            return ~parts[0]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if cond.kind == "and" else (out | p)
        return out

    def _atom(self, atom: Atom, c: pl.Expr) -> pl.Expr:
        cmp = comparison(atom) if atom.toks else None
        if cmp is not None and cmp.number is not None and cmp.op in OPS:
            score = self.nodes.get(cmp.name)
            if score is not None and score.parts:
                value = self.score_at(score, c)
                return _OPS_EXPR[cmp.op](value, cmp.number)
            upward = cmp.op in (">=", ">")
            inclusive = cmp.op in (">=", "<")  # x < b is not (x >= b)
            falls = self.falls_below(cmp.name, cmp.number, inclusive)
            if falls is not None:
                above = (falls > c).fill_null(False)
                return above if upward else ~above
        quoted = cmp is not None and re.fullmatch(r"'(?:[^']|'')*'", cmp.rhs) is not None
        if cmp is not None and quoted and cmp.op in ("=", "<>", "!="):
            node = self.nodes.get(cmp.name)
            if node is not None and node.cases:
                # a condition on another classification's label: its label at c
                label = self.label_at(node, c)
                text = cmp.rhs[1:-1].replace("''", "'")
                return label == text if cmp.op == "=" else label != text
        return parse_sql(atom.sql)

    def label_at(self, node: Node, c: pl.Expr) -> pl.Expr:
        out: Any = pl
        for case in node.cases:
            out = out.when(self.holds_at(case.sql, c)).then(pl.lit(case.label))
        return out.otherwise(pl.lit(node.default)).cast(pl.String)

    def score_at(self, score: Node, c: pl.Expr) -> pl.Expr:
        total: list[pl.Expr] = []
        for part in score.parts:
            node = self.nodes.get(part.label)
            if part.points_of is not None and node is not None and node.cases:
                total.append(part.points_of(self.label_at(node, c)))
            elif part.points_of is not None and part.cases:  # bins: the first rung that holds
                got: Any = pl
                for case in part.cases:
                    cmp = comparison(split_condition(case.sql))  # type: ignore[arg-type]
                    if cmp is None or cmp.number is None:
                        got = None
                        break
                    got = got.when(self.holds_at(case.sql, c)).then(
                        part.points_of(pl.lit(cmp.number))
                    )
                total.append(
                    part.points if got is None else got.otherwise(part.points_of(pl.lit(None)))
                )
            else:
                total.append(part.points)
        return pl.sum_horizontal(total)


_OPS_EXPR: dict[str, Callable[[pl.Expr, float], pl.Expr]] = {
    ">=": lambda v, b: v >= b,
    ">": lambda v, b: v > b,
    "<=": lambda v, b: v <= b,
    "<": lambda v, b: v < b,
}


def rolloff_node(
    node: Node, ladder: Ladder, decay: Decay, dtypes: Mapping[str, pl.DataType]
) -> Node | None:
    """``<node>_rolloff``: the first date on which the customer's label falls a rung of
    ``ladder`` if nothing else happens (:class:`Decay`); null when it never does within
    the windows (or the customer is on the lowest rung or classified by a gate case)."""
    decay.touched = set()
    decay.label_at(node, pl.lit(None, dtype=pl.Datetime("us")))  # which instants matter
    dates = [decay.dates[k] for k in sorted(decay.touched)]
    if not dates:
        return None
    now = pl.col(node.name)
    rank = {iv.label: k for k, iv in enumerate(ladder.intervals)}

    def rank_of(label: pl.Expr) -> pl.Expr:
        return label.replace_strict(
            list(rank), list(rank.values()), default=None, return_dtype=pl.Int64
        )

    candidates = []
    for c in dates:
        later = decay.label_at(node, c)
        candidates.append(pl.when(rank_of(later) < rank_of(now)).then(c))
    date = pl.min_horizontal(candidates)
    name = node.name + ROLLOFF
    expr = pl.when(~_gated(node, ladder)).then(date.dt.date()).alias(name)
    deps = tuple(d for d in dict.fromkeys(referenced_names(expr)) if d != BASE)
    return Node(
        name,
        "derived",
        expr,
        deps=deps,
        role="reason",
        description=f"date on which {node.name} falls a rung if nothing else happens",
    )


def _gated(node: Node, ladder: Ladder) -> pl.Expr:
    """Whether a customer was classified by a gate case (not a rung) of ``ladder``."""
    m = matched_index(node.cases)
    gated = pl.lit(False)
    for g in ladder.gates:
        gated = gated | (m == g)
    return gated


@dataclass(frozen=True)
class ExplainPass:
    """The plan pass adding the explanation columns of ``options`` after type checking
    (:mod:`segrule.engine.passes`)."""

    options: ExplainOptions

    def add_nodes(
        self,
        nodes: Mapping[str, Node],
        dtypes: Mapping[str, pl.DataType],
        outputs: Sequence[str],
        ctx: BuildContext,
    ) -> list[Node]:
        return explain_nodes(nodes, dtypes, outputs, self.options, ctx)
