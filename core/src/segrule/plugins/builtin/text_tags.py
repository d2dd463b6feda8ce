"""The ``text_tags`` strategy: tags from the words customers write (the messages table).

Per customer and tag, the score is the sum over the customer's messages in the window
of weight x matches of each keyword (literal, case-insensitive) and pattern (regex) of
the tag's lexicon (:mod:`segrule.model.lexicons`); the hits are the matches unweighted.
Both are conditional sums in the one ``group_by(customer_id)`` of the messages table:
each message's per-tag sums are row-level helper columns, computed once. A tag applies
(its flag) when its score reaches ``min_score`` and its hits ``min_hits``, or when one
of its behavioural proxies (SQL conditions over dimensions, e.g. ``messages_365d =
0`` for silent) holds. The label is the applying text tag with the highest score (ties:
the lexicon's tag order), else the first proxy that holds, else ``default``.

Every condition is also written as SQL over the visible columns, so explanations show
which comparison decided.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from segrule.errors import RuleSetError, did_you_mean
from segrule.model.lexicons import TAG_KEY, Lexicon, TagLexicon, Term, load
from segrule.model.nodes import BuildContext, Case, Label, Node, actions_of, masked, parse_window
from segrule.model.sql import parse_sql, referenced_names
from segrule.model.strategies import Strategy
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Register

TABLE = "messages"
PARAMS = {"lexicon", "window", "tags", "proxies", "default", "labels"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quoted(name: str) -> str:
    """``name`` as a SQL identifier (double-quoted unless plain)."""
    return name if _IDENT.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def term_count(term: Term) -> pl.Expr:
    """Matches of ``term`` in one message (0 for a null text), as Int64.

    Keywords are searched literally in the lower-cased text (the keyword is stored
    lower-cased), patterns as regular expressions in the text as written.
    """
    text = pl.col("text")
    if term.regex:
        hits = text.str.count_matches(term.text)
    else:
        hits = text.str.to_lowercase().str.count_matches(term.text, literal=True)
    return hits.cast(pl.Int64).fill_null(0)


def _fail(msg: str, where: str, name: str) -> RuleSetError:
    return RuleSetError(msg, where=where, name=name)


def _selected(lex: Lexicon, params: dict[str, Any], where: str, name: str) -> list[TagLexicon]:
    chosen = params.get("tags")
    if chosen is None:
        return list(lex.tags.values())
    if not isinstance(chosen, list) or not chosen:
        raise _fail("tags must be a non-empty list of the lexicon's tag keys", where, name)
    out = []
    for key in map(str, chosen):
        if key not in lex.tags:
            raise _fail(
                f"tags: '{key}' is not a tag of the lexicon{did_you_mean(key, lex.tags)}; its "
                f"tags are {', '.join(lex.tags)}",
                where,
                name,
            )
        out.append(lex.tags[key])
    return out


def _proxies(params: dict[str, Any], where: str, name: str) -> list[tuple[str, str, pl.Expr]]:
    raw = params.get("proxies") or []
    if not isinstance(raw, list):
        raise _fail("proxies must be a list of {tag, when}", where, name)
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != {"tag", "when"}:
            raise _fail(
                f"proxies[{i}] must be {{tag: <tag key>, when: <SQL condition>}}", where, name
            )
        tag, sql = str(item["tag"]), str(item["when"])
        if not TAG_KEY.fullmatch(tag):
            raise _fail(
                f"proxies[{i}]: tag '{tag[:60]}' is not a valid key (lower-case letters, "
                "digits, _)",
                where,
                name,
            )
        out.append((tag, sql, parse_sql(sql, where=where, name=f"{name}.proxies[{i}]")))
    return out


def _label_of(tag: TagLexicon | None, key: str, override: Any) -> Label:
    zh = tag.zh if tag else None
    en = tag.en if tag else None
    desc = tag.description if tag else None
    actions, actions_zh = (tag.actions, tag.actions_zh) if tag else ((), ())
    if isinstance(override, dict):
        zh = override.get("zh", zh)
        en = override.get("en", en)
        desc = override.get("description", desc)
        if "actions" in override:
            actions, actions_zh = actions_of(override["actions"])
    return Label(key, zh, en, desc, actions, actions_zh)


def _text_tags(ctx: BuildContext, name: str, params: dict[str, Any], where: str) -> list[Node]:
    unknown = sorted(set(map(str, params)) - PARAMS)
    if unknown:
        raise _fail(
            f"unknown parameter '{unknown[0]}'{did_you_mean(unknown[0], PARAMS)}; allowed: "
            + ", ".join(sorted(PARAMS)),
            where,
            name,
        )
    lex = load(params.get("lexicon", "emotion"), where=where, name=name)
    window = params.get("window")
    try:
        parse_window(None if window is None else str(window))
    except RuleSetError as exc:
        raise _fail(exc.detail, where, name) from None
    window = None if window is None else str(window)
    tags = _selected(lex, params, where, name)
    proxies = _proxies(params, where, name)
    default = str(params.get("default", "none"))
    overrides = params.get("labels") or {}
    if not isinstance(overrides, dict):
        raise _fail("labels must map labels to {zh, en, description, actions}", where, name)

    in_window = ctx.in_window("ts", window)
    mask = None if window is None else in_window
    scored = [t for t in tags if t.terms]
    nodes: list[Node] = []
    cases: list[Case] = []
    qualified: dict[str, tuple[pl.Expr, str]] = {}
    for tag in scored:
        score, hits = f"{name}_{tag.key}_score", f"{name}_{tag.key}_hits"
        row_score, row_hits = f"_{name}_{tag.key}_score_row", f"_{name}_{tag.key}_hits_row"
        counts = [(term, term_count(term)) for term in tag.terms]
        rows = (
            pl.sum_horizontal([c * t.weight for t, c in counts]).alias(row_score),
            pl.sum_horizontal([c for _t, c in counts]).alias(row_hits),
        )
        what = f"'{tag.key}' ({tag.en or tag.zh or tag.key})"
        span = f", {window}" if window else ""
        for col, row, desc in (
            (score, row_score, f"weighted keyword/pattern matches of {what} in messages{span}"),
            (hits, row_hits, f"keyword/pattern matches of {what} in messages{span}"),
        ):
            nodes.append(
                Node(
                    col,
                    "aggregate",
                    masked(pl.col(row), in_window).sum().cast(pl.Int64).alias(col),
                    table=TABLE,
                    columns=("ts", "text"),
                    fill=0,
                    origin=where,
                    role="score",
                    description=desc,
                    mask=mask,
                    row_columns=rows,
                )
            )
        sql = f"{quoted(score)} >= {tag.min_score} AND {quoted(hits)} >= {tag.min_hits}"
        cond = (pl.col(score) >= tag.min_score) & (pl.col(hits) >= tag.min_hits)
        qualified[tag.key] = (cond, sql)

    top = f"{name}_top_score"
    if scored:
        best = pl.max_horizontal(
            [pl.when(qualified[t.key][0]).then(pl.col(f"{name}_{t.key}_score")) for t in scored]
        )
        nodes.append(
            Node(
                top,
                "derived",
                best.cast(pl.Int64).alias(top),
                deps=tuple(f"{name}_{t.key}_{k}" for t in scored for k in ("score", "hits")),
                origin=where,
                role="score",
                description="highest score among the text tags that apply (null: none applies)",
            )
        )
    for tag in scored:
        cond, sql = qualified[tag.key]
        score = f"{name}_{tag.key}_score"
        cases.append(
            Case(
                tag.key,
                cond & (pl.col(score) == pl.col(top)),
                f"{quoted(score)} = {quoted(top)} AND {sql}",
            )
        )
    for tag_key, sql, cond in proxies:
        cases.append(Case(tag_key, cond, sql))

    # One flag per tag that text or a proxy can give.
    keys = [t.key for t in tags] + [p[0] for p in proxies if p[0] not in lex.tags]
    labels: dict[str, Label] = {}
    for key in dict.fromkeys(keys):
        labels[key] = _label_of(lex.tags.get(key), key, overrides.get(key))
        parts = ([qualified[key]] if key in qualified else []) + [
            (c, f"({s})") for k, s, c in proxies if k == key
        ]
        if not parts:
            continue
        flag_expr = parts[0][0]
        for c, _s in parts[1:]:
            flag_expr = flag_expr | c
        flag_sql = " OR ".join(s if len(parts) == 1 else f"({s})" for _c, s in parts)
        flag = f"{name}_{key}"
        lab = labels[key]
        nodes.append(
            Node(
                flag,
                "derived",
                flag_expr.fill_null(False).alias(flag),
                deps=_deps(flag_expr),
                origin=where,
                role="segment",
                description=f"tag '{key}' applies: {flag_sql}",
                labels={
                    "true": Label("true", lab.zh, lab.en),
                    "false": Label(
                        "false",
                        f"非{lab.zh}" if lab.zh else None,
                        f"not {lab.en}" if lab.en else None,
                    ),
                },
                cases=(Case("true", flag_expr, flag_sql),),
                default="false",
            )
        )
    labels[default] = _label_of(lex.tags.get(default), default, overrides.get(default))
    for key in overrides:
        if str(key) not in labels:
            raise _fail(
                f"labels: '{key}' is neither a tag ({', '.join(labels)}) nor the default",
                where,
                name,
            )
    expr: Any = pl
    for case in cases:
        expr = expr.when(case.when).then(pl.lit(case.label, dtype=pl.String))
    label_expr = (
        expr.otherwise(pl.lit(default, dtype=pl.String))
        if cases
        else pl.lit(default, dtype=pl.String)
    )
    deps = _deps(*(c.when for c in cases))
    nodes.insert(
        0,
        Node(
            name,
            "derived",
            label_expr.alias(name),
            deps=deps,
            origin=where,
            role="segment",
            labels=labels,
            cases=tuple(cases),
            default=default,
            description=(
                "text tag with the highest score (ties: lexicon order), else the first "
                f"behavioural proxy that holds, else {default}"
            ),
        ),
    )
    return nodes


def _deps(*exprs: pl.Expr) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for e in exprs:
        for n in referenced_names(e):
            if n != "customer_id":
                names[n] = None
    return tuple(names)


TEXT_TAGS = Strategy(
    "text_tags",
    _text_tags,
    "tags from message text: per tag, weight x matches of its lexicon's keywords "
    "(literal, case-insensitive) and patterns (regex) summed over the customer's messages; "
    "the label is the applying tag with the highest score (ties: lexicon order), then "
    "behavioural proxies (SQL conditions), then the default",
    {
        "lexicon": "packaged name (emotion), a .yaml file relative to the rule file, an inline "
        "mapping, or a list of these merged in order (default emotion)",
        "window": "messages counted: '<n>d', '<n>w' or lifetime (default lifetime)",
        "tags": "the lexicon's tags to use, in tie-break order (default all)",
        "proxies": "list of {tag, when: SQL condition}: tags from behaviour, e.g. "
        "messages_365d = 0",
        "default": "label when no tag applies (default none)",
        "labels": "{label: {zh, en, description, actions}} overriding the lexicon's",
    },
    file_params=("lexicon",),
)


@hookimpl
def segrule_register_strategies(register: Register) -> None:
    register(TEXT_TAGS)
