"""SQL expressions of rule files, parsed by polars' own SQL expression parser.

Nothing in a rule file is evaluated as Python: text goes to ``pl.sql_expr`` only, and
only after :func:`check_sql` has read it token by token.

Why the check comes first: ``pl.sql_expr`` runs subqueries while it parses. On polars
2.1, ``pl.sql_expr("x IN (SELECT a FROM read_csv('/etc/passwd'))")`` reads the file
at once (its error names the file's first line as a column), so refusing the text
after parsing, or at plan run, is too late. A rule's SQL is one expression over
dimensions and segments: no query (``SELECT``, ``WITH``, ``VALUES``, ``TABLE``,
``EXISTS``), and only the functions of :data:`ALLOWED_FUNCTIONS`.

The tokenizer knows every quoting form polars' parser (sqlparser, generic dialect)
knows, and refuses the ones segrule does not need (``$$dollar$$`` strings, ``E'...'``
escape strings), so that it never reads as a string what the parser reads as code.
Comments are dropped from the text before it is parsed, which removes the one place
(nested ``/* */``, line ends) where two tokenizers could disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from segrule.errors import RuleSetError
from segrule.limits import (
    MAX_ECHO_CHARS,
    MAX_SQL_CHARS,
    MAX_SQL_COPY_LEVELS,
    MAX_SQL_TERM_OPERATORS,
    SPLIT_CHAINS_LONGER_THAN,
)

# Functions that polars 2.1 panics on when called without arguments (found by
# tests/fuzz: GREATEST() and LEAST() anywhere, COALESCE() in a table's where).
_EMPTY_VARIADIC = re.compile(r"\b(greatest|least|coalesce)\s*\(\s*\)", re.IGNORECASE)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: The scalar, aggregate and window functions of polars 2.1's SQL that a rule may call.
#: An allow-list, not a deny-list: a function polars adds later (a new table or file
#: function among them) stays refused until it is added here. Checked against polars
#: 2.1.0 (each name below parses; ``read_csv``/``read_parquet``/... are table
#: functions, usable only in a query's FROM). Left out on purpose: ``unnest`` and
#: ``generate_series`` (they make rows, a rule makes one value per customer).
ALLOWED_FUNCTIONS = _words(
    """
    abs acos acosd approx_quantile array_agg array_contains array_dot_product array_get
    array_inner_product array_length array_lower array_mean array_reverse array_sum
    array_to_string array_unique array_upper asin asind atan atan2 atan2d atand avg
    bit_and bit_count bit_length bit_or bit_xor cbrt ceil ceiling char_length
    character_length coalesce concat concat_ws corr cos cosd cot cotd count covar
    covar_pop covar_samp cume_dist current_date current_time current_timestamp date
    date_part date_trunc day dayofmonth dayofweek dayofyear degrees dense_rank div
    ends_with erf exp first first_value floor greatest hour if ifnull initcap lag last
    last_value lead least left length ln localtime localtimestamp log log10 log1p log2
    lower lpad ltrim max median min minute mod month normalize now nth_value ntile
    nullif octet_length percent_rank pi pow power quantile_cont quantile_disc quarter
    radians rank regexp_like regexp_replace replace reverse right round row_number rpad
    rtrim second sign sin sind split_part sqrt starts_with stddev stddev_samp stdev
    stdev_samp strftime string_agg string_to_array strpos strptime substr substring sum
    tan tand time timestamp trim trunc upper var var_samp variance week year
    """
)

#: Words that may stand before ``(`` without being a function call.
_NOT_CALLS = _words(
    """
    and or not in is any all some over filter within group as when then else case end
    between like ilike similar regexp rlike escape distinct by on partition order asc
    desc nulls cast try_cast safe_cast extract trim substring position overlay interval
    array row rows range preceding following current unbounded
    """
)
#: A query can start after ``(`` with these; SELECT and EXISTS are refused anywhere.
_QUERY_AFTER_PAREN = frozenset({"select", "with", "values", "table", "from"})
_QUERY_ANYWHERE = frozenset({"select", "exists"})
#: Words that may be glued to a string (``DATE'2026-01-01'``); other prefixes make
#: another kind of string (``E'\''`` reads backslash escapes), so they are refused.
_STRING_PREFIXES_OK = frozenset({"date", "time", "timestamp", "interval"})
#: Operators counted against MAX_SQL_TERM_OPERATORS (each one a level of recursion in
#: polars' parser and optimizer).
_COUNTED_WORDS = frozenset({"and", "or", "not", "like", "ilike", "in", "is", "between", "when"})

_TOKEN = re.compile(
    r"""
     (?P<str>'(?:[^']|'')*')
    |(?P<qid>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    |(?P<lcom>--[^\n]*)
    |(?P<bcom>/\*)
    |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<word>[^\W\d]\w*)
    |(?P<op>\|\||::|<=|>=|<>|!=|==|!~\*?|~\*|[-+*/%=<>~^&|!])
    |(?P<ws>\s+)
    |(?P<other>.)
    """,
    re.X | re.S,
)


#: Comparison operators (a token of kind ``op``).
COMPARISONS = frozenset({"<=", ">=", "<>", "!=", "==", "=", "<", ">"})


@dataclass(frozen=True)
class Token:
    """A token of a rule's SQL text: the one tokenizer of segrule (:func:`tokens`)."""

    kind: str  # str, qid (quoted identifier), num, word, op, other ("(" "," ...)
    text: str
    start: int  # offsets in the text (comment-free text for check_sql's tokens)
    end: int

    @property
    def low(self) -> str:
        return self.text.lower() if self.kind == "word" else ""

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def name(self) -> str:
        """An identifier's name: a quoted one without its quotes."""
        if self.kind == "qid":
            return self.text[1:-1].replace(self.text[0] * 2, self.text[0])
        return self.text


_Tok = Token


class _Refused(Exception):
    """The text is not a rule's SQL; the message says why and what to do."""


def _tokenize(sql: str) -> tuple[str, list[_Tok]]:
    """The text with comments made spaces, and its tokens (whitespace dropped)."""
    clean: list[str] = []
    toks: list[_Tok] = []
    pos = 0
    at = 0  # length of ``clean`` so far
    prev_end = -1  # end offset (in sql) of the previous token, to see glued strings
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        assert m is not None  # `other` matches any character
        kind = m.lastgroup or "other"
        text = m.group()
        if kind == "bcom":
            end = _block_comment_end(sql, pos)
            text, kind = " ", "ws"
            pos_next = end
        else:
            pos_next = m.end()
        if kind == "lcom":
            text, kind = " ", "ws"
        if kind == "other" and text in "'\"`":
            raise _Refused(f"a quote ({text}) is not closed; close it or double it inside")
        if kind == "other" and text in "$\\;":
            raise _Refused(
                f"the character '{text}' has no use in a rule's SQL (no $$ strings, "
                "backslash escapes or several statements); write one plain expression"
            )
        if kind == "str" and toks and prev_end == pos:
            before = toks[-1]
            if (before.kind == "word" and before.low not in _STRING_PREFIXES_OK) or (
                before.text == "&"
            ):
                raise _Refused(
                    f"a prefixed string ({before.text}'...') is not supported; write a "
                    "plain 'text' (a quote inside is written twice: 'it''s')"
                )
        if kind != "ws":
            toks.append(_Tok(kind, text, at, at + len(text)))
            prev_end = pos_next
        clean.append(text)
        at += len(text)
        pos = pos_next
    return "".join(clean), toks


def tokens(sql: str) -> list[Token]:
    """The tokens of ``sql`` with offsets in ``sql`` itself; whitespace and comments are
    left out. Raises ValueError for text no rule's SQL can be (an unclosed quote or
    comment, a character with no use): such text never passes :func:`parse_sql`."""
    toks: list[Token] = []
    pos = 0
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        assert m is not None  # `other` matches any character
        kind = m.lastgroup or "other"
        end = m.end()
        try:
            if kind == "bcom":
                end = _block_comment_end(sql, pos)
        except _Refused as exc:
            raise ValueError(str(exc)) from None
        if kind == "other" and m.group() in "'\"`":
            raise ValueError(f"a quote ({m.group()}) is not closed")
        if kind not in ("ws", "lcom", "bcom"):
            toks.append(Token(kind, m.group(), pos, end))
        pos = end
    return toks


def _block_comment_end(sql: str, start: int) -> int:
    """End of the (nested, as polars' parser reads them) block comment at ``start``."""
    depth = 0
    i = start
    while i < len(sql):
        two = sql[i : i + 2]
        if two == "/*":
            depth += 1
            i += 2
        elif two == "*/":
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise _Refused("a /* comment is not closed; close it with */")


def _check_tokens(toks: list[_Tok]) -> None:
    """Refuse queries and functions that are not on the allow-list."""
    for i, tok in enumerate(toks):
        prev = toks[i - 1] if i else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        after_paren = prev is not None and prev.text == "("
        if tok.low in _QUERY_ANYWHERE or (after_paren and tok.low in _QUERY_AFTER_PAREN):
            raise _Refused(
                f"a subquery ({tok.text.upper()} ...) is not allowed: a rule's SQL is "
                "one expression over dimensions and segments and reads no tables or "
                "files; compute the value as a dimension instead"
            )
        if tok.kind not in ("word", "qid") or nxt is None or nxt.text != "(":
            continue
        if prev is not None and prev.text == ".":
            owner = toks[i - 2].text if i >= 2 else ""
            raise _Refused(
                f"a qualified function name ({_echo(owner, 40)}.{tok.text}) is not allowed; "
                "call the function by its plain name"
            )
        if tok.kind == "word" and tok.low in _NOT_CALLS:
            continue
        if prev is not None and (prev.low == "as" or prev.text == "::"):
            continue  # a type with a size: CAST(x AS DECIMAL(10, 2)), x::VARCHAR(5)
        name = tok.text[1:-1] if tok.kind == "qid" else tok.text
        if name.lower() not in ALLOWED_FUNCTIONS:
            kind = (
                "a table function (it reads files or tables)"
                if re.match(r"(?i)(read|scan)_", name)
                else "not a SQL function segrule allows"
            )
            raise _Refused(
                f"function '{_echo(name, 60)}' is {kind}; use one of the functions listed "
                "in docs/security.md"
            )


def _operators(toks: list[_Tok]) -> int:
    return sum(
        1
        for t in toks
        if (t.kind == "op" and t.text != "::") or (t.kind == "word" and t.low in _COUNTED_WORDS)
    )


_SEGMENT_BREAKS = frozenset({"and", "or", "when", "then", "else"})


def _copy_levels(toks: list[_Tok]) -> int:
    """How many times over polars copies a piece of the expression, as nesting levels.

    polars expands ``a BETWEEN x AND y`` to ``a >= x AND a <= y``, ``NULLIF(a, b)`` and
    ``CASE a WHEN ...`` likewise repeat ``a``: nested, each level doubles the plan (33
    nested BETWEENs, 1,275 characters, hung the fuzz run: 2**33 nodes). Counted per
    segment (a boolean operand, a CASE branch, an argument), so side-by-side
    conditions (``a BETWEEN 1 AND 2 AND b BETWEEN 3 AND 4``, a CASE ladder) add nothing.
    """
    # one frame per open "(" or CASE: [levels of the current segment, max so far,
    # BETWEEN waiting for its AND, is a NULLIF call, CASE operand levels, WHEN count]
    frames: list[list[int]] = [[0, 0, 0, 0, -1, 0]]
    worst = 0
    prev: _Tok | None = None
    for tok in toks:
        top = frames[-1]
        if tok.text == "(" or tok.low == "case":
            nullif = int(tok.text == "(" and prev is not None and prev.low == "nullif")
            frames.append([0, 0, 0, nullif, -1 if tok.low == "case" else -2, 0])
        elif (tok.text == ")" or tok.low == "end") and len(frames) > 1:
            done = frames.pop()
            levels = max(done[0], done[1])
            if done[3]:
                levels += 1  # NULLIF(a, b): a twice
            if done[4] >= 0 and done[5] > 0:  # CASE a WHEN ...: a once per WHEN
                levels = max(levels, done[4] + max(1, (done[5] - 1).bit_length()))
            frames[-1][0] += levels
        elif tok.low == "between":
            top[0] += 1
            top[2] += 1
        elif tok.low == "and" and top[2]:
            top[2] -= 1  # BETWEEN's own AND
        elif tok.low in _SEGMENT_BREAKS or tok.text == ",":
            if tok.low == "when":
                if top[4] == -1 and top[5] == 0:
                    top[4] = top[0]  # CASE with an operand: its levels so far
                elif top[4] == -1:
                    top[4] = -3
                top[5] += 1
            elif top[4] == -1 and prev is not None and prev.low == "case":
                top[4] = -3
            top[1] = max(top[1], top[0])
            top[0] = 0
        if prev is not None and prev.low == "case" and tok.low == "when":
            frames[-1][4] = -3  # CASE WHEN ...: no operand
        worst = max(worst, frames[-1][0])
        prev = tok
    return max([worst] + [max(f[0], f[1]) for f in frames])


def _echo(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (with '…')."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


_DEBUG_STRUCT = re.compile(r"\s*\{[^{}]*\}")
_DEBUG_CALL = re.compile(r"\b(\w+)\((?:[\w\s,.]*)\)")


def polars_reason(exc: BaseException, sql: str | None = None) -> str:
    """The reason in a polars error as one line.

    A regex error keeps its reason (polars puts the pattern and a caret first and
    ``error: unclosed group`` last); a Rust syntax-tree dump (``SimilarTo { negated:
    false, expr: Identifier(Ident { ... }) ... }``) is reduced to its type's name; the
    rule's own SQL, when polars repeats it, is not echoed a second time.
    """
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    text = text.split("\n\nThis error occurred", 1)[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "regex parse error" in lines[0] or "regex error" in lines[0]:
        reason = next((ln[6:].strip() for ln in lines if ln.startswith("error:")), None)
        pattern = lines[1] if len(lines) > 1 and not lines[1].startswith("error:") else None
        if reason:
            shown = f" {_echo(pattern, 60)!r}" if pattern else ""
            return f"invalid regular expression{shown}: {reason}; fix the pattern"
    first = lines[0]
    if sql:  # polars may quote the whole text again ("unable to parse '...' as Expr")
        first = first.replace(f"'{sql.strip()}'", sql.strip())
        first = first.replace(sql.strip(), "the expression")
    before = None
    while before != first:  # innermost struct dumps first, then what held them
        before = first
        first = _DEBUG_STRUCT.sub("", first)
        first = _DEBUG_CALL.sub(r"\1", first)
    return _echo(first, 300)


def check_sql(text: str) -> tuple[str, list[_Tok]]:
    """Refuse what a rule's SQL may not hold; return the comment-free text and tokens.

    Raises ``_Refused`` (parse_sql turns it into a RuleSetError with the rule's place).
    """
    if len(text) > MAX_SQL_CHARS:
        raise _Refused(
            f"the expression is {len(text):,} characters long, more than the "
            f"{MAX_SQL_CHARS:,} allowed; split it into dimensions or segments"
        )
    clean, toks = _tokenize(text)
    _check_tokens(toks)
    return clean, toks


def parse_sql(text: object, *, where: str | None = None, name: str | None = None) -> pl.Expr:
    """Parse one SQL expression (``orders_30d >= 3 AND monetary_365d > 10000``).

    The text is checked first (:func:`check_sql`); a long ``AND``/``OR`` chain is
    parsed term by term and combined as a balanced tree (see :func:`_build`).
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise RuleSetError(
            f"expected a SQL expression (text), got {_echo(repr(text), 80)}",
            where=where,
            name=name,
        )
    sql = str(text).strip()
    if not sql:
        raise RuleSetError("empty SQL expression", where=where, name=name)
    try:
        clean, toks = check_sql(sql)
        if not toks:
            raise _Refused("the expression holds only comments")
        return _build(clean, toks)
    except _Refused as exc:
        raise RuleSetError(f"SQL '{_echo(sql)}' refused: {exc}", where=where, name=name) from None
    except _ParseError as exc:
        raise RuleSetError(
            f"cannot parse SQL '{_echo(exc.sql)}': {exc.reason}", where=where, name=name
        ) from None


class _ParseError(Exception):
    def __init__(self, sql: str, reason: str):
        super().__init__(reason)
        self.sql = sql
        self.reason = reason


def _parse_one(clean: str, toks: list[_Tok]) -> pl.Expr:
    """``pl.sql_expr`` on one term (its operators are within the limit)."""
    sql = clean[toks[0].start : toks[-1].end] if toks else clean
    ops = _operators(toks)
    if ops > MAX_SQL_TERM_OPERATORS:
        raise _Refused(
            f"one term of the expression has {ops:,} operators, more than the "
            f"{MAX_SQL_TERM_OPERATORS:,} allowed (long AND/OR chains are fine, other "
            "operators are not); split it into dimensions"
        )
    copies = _copy_levels(toks)
    if copies > MAX_SQL_COPY_LEVELS:
        raise _Refused(
            f"BETWEEN, NULLIF or CASE x WHEN are nested {copies} deep in one term, more "
            f"than the {MAX_SQL_COPY_LEVELS} allowed (polars copies their operand, so each "
            "level doubles the work); put parentheses or AND between the conditions, or "
            "compute the inner part as a dimension"
        )
    empty = _EMPTY_VARIADIC.search(sql)
    if empty:
        # polars 2.1 panics on these (found by tests/fuzz): say it before it does.
        raise _ParseError(sql, f"{empty.group(1).upper()}() needs at least one argument")
    try:
        return pl.sql_expr(sql)
    except (Exception, pl.exceptions.PanicException) as exc:  # SQL*Error, ComputeError, ...
        raise _ParseError(sql, polars_reason(exc, sql)) from None


def _build(clean: str, toks: list[_Tok], *, split_above: int | None = None) -> pl.Expr:
    """The expression of ``toks``: parsed whole when short; a long top-level OR/AND chain
    is split into its terms, each built alone, and combined as a balanced tree.

    polars' SQL parser builds ``a AND b AND c ...`` left-deep: it crashed (stack
    overflow) at ~6,000 terms, and its optimizer took 2.3 s for 1,600 (quadratic). A
    balanced tree of the same ``&``/``|`` keeps SQL's three-valued logic exactly and
    is log2(n) deep.
    """
    limit = SPLIT_CHAINS_LONGER_THAN if split_above is None else split_above
    if _operators(toks) <= limit:
        return _parse_one(clean, toks)
    inner = _unwrap(toks)
    for op in ("or", "and"):
        spans = _split_top(inner, op)
        if len(spans) > 1:
            # Neighbouring terms are parsed together while they stay short: fewer
            # calls into polars, and each call sees a plain piece of the rule's text.
            groups: list[list[_Tok]] = []
            first, last = spans[0]
            for start, end in spans[1:]:
                if _operators(inner[first:end]) <= limit:
                    last = end
                else:
                    groups.append(inner[first:last])
                    first, last = start, end
            groups.append(inner[first:last])
            exprs = [_build(clean, g, split_above=split_above) for g in groups]
            return _balanced(exprs, op)
    if inner is not toks:
        return _build(clean, inner, split_above=split_above)
    if len(toks) > 1 and toks[0].low == "not" and _unwrap(toks[1:]) is not toks[1:]:
        return ~_build(clean, toks[1:], split_above=split_above)
    return _parse_one(clean, toks)


def _balanced(exprs: list[pl.Expr], op: str) -> pl.Expr:
    while len(exprs) > 1:
        paired = []
        for i in range(0, len(exprs) - 1, 2):
            a, b = exprs[i], exprs[i + 1]
            paired.append(a | b if op == "or" else a & b)
        if len(exprs) % 2:
            paired.append(exprs[-1])
        exprs = paired
    return exprs[0]


def _depth_step(tok: _Tok) -> int:
    if tok.text == "(" or tok.low == "case":
        return 1
    if tok.text == ")" or tok.low == "end":
        return -1
    return 0


def _unwrap(toks: list[_Tok]) -> list[_Tok]:
    """``toks`` without parentheses around all of it (the same list when there are none)."""
    out = toks
    while len(out) >= 2 and out[0].text == "(" and out[-1].text == ")":
        depth = 0
        for i, tok in enumerate(out):
            depth += 1 if tok.text == "(" else -1 if tok.text == ")" else 0
            if depth == 0 and i < len(out) - 1:
                return out  # the first "(" closes before the end: (a) AND (b)
        out = out[1:-1]
    return out


def _split_top(toks: list[_Tok], op: str) -> list[tuple[int, int]]:
    """Index spans of the terms of ``toks`` split at ``op`` (and/or) outside parentheses
    and CASE ... END; the AND of ``BETWEEN x AND y`` is not a split point."""
    spans: list[tuple[int, int]] = []
    start = 0
    depth = 0
    between: set[int] = set()  # depths with a BETWEEN waiting for its AND
    for i, tok in enumerate(toks):
        step = _depth_step(tok)
        if step < 0:
            between.discard(depth)
        depth += step
        if depth < 0:
            raise _Refused("a ')' or END has no matching '(' or CASE")
        if tok.low == "between":
            between.add(depth)
        elif tok.low == "and" and depth in between:
            between.discard(depth)
        elif tok.low == op and depth == 0:
            if i == start:
                return [(0, len(toks))]  # AND AND, a leading OR: the parser says why
            spans.append((start, i))
            start = i + 1
    if depth != 0:
        raise _Refused("a '(' or CASE is not closed")
    if start == len(toks):
        return [(0, len(toks))]
    spans.append((start, len(toks)))
    return spans


def referenced_names(expr: pl.Expr) -> tuple[str, ...]:
    """The column names an expression reads, deduplicated, in first-use order."""
    try:
        names = expr.meta.root_names()
    except Exception:
        return ()
    return tuple(dict.fromkeys(names))


#: Expression nodes (keys of polars' serialized tree) that read other rows than the
#: row being computed: aggregations (AVG(x)), windows (OVER), sorting and slicing.
_ACROSS_NODES = frozenset(
    {"Agg", "Over", "Window", "Rolling", "Sort", "SortBy", "Gather", "Slice", "Filter", "Explode"}
)
#: Functions (polars' names) whose value at a row depends on other rows: ranks,
#: quantiles, cumulative and shifted values, counts of the column, ranges over its length.
_ACROSS_FUNCTIONS = frozenset(
    {
        "Rank", "Quantile", "NullCount", "Shift", "ShiftAndFill", "CumSum", "CumCount",
        "CumProd", "CumMin", "CumMax", "CumulativeEval", "Range", "Unique", "UniqueCounts",
        "Mode", "Diff", "PctChange", "Reverse", "Head", "Tail", "First", "Last", "NUnique",
        "ArgUnique", "ArgMin", "ArgMax", "ArgSort", "Implode", "Repeat", "ValueCounts",
        "RLE", "RLEID", "Interpolate", "FillNullWithStrategy", "ForwardFill", "BackwardFill",
        "Entropy", "Skew", "Kurtosis", "Std", "Var", "Median", "Mean", "Sum", "Min", "Max",
        "Product", "Hist", "Corr", "Cov", "ApproxNUnique", "Rolling", "RollingExpr",
        "EwmMean", "EwmStd", "EwmVar", "Peak", "PeakMin", "PeakMax", "Search", "SearchSorted",
        "ReinterpretSorted", "SetSortedFlag", "GatherEvery", "Cut", "QCut",
    }
)  # fmt: skip


def reads_across_customers(expr: pl.Expr) -> bool:
    """Whether ``expr`` reads other rows than its own: an aggregation (``x /
    AVG(x)``), a window (``RANK() OVER (...)``), a count of all rows (``COUNT(*)``), a
    rank, cumulative or shifted value. Such a rule-set expression is population-relative
    (computed once over all customers), not per customer.

    Decided by walking polars' serialized expression tree: ``meta.is_row_separable()``
    says True for both examples above (polars 2.1). An expression that cannot be
    serialized is taken as reading across rows, the safe side for a staged run."""
    import json

    try:
        tree = json.loads(expr.meta.serialize(format="json"))
    except Exception:
        return True
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if node in ("Len", *_ACROSS_FUNCTIONS):
                return True
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in _ACROSS_NODES or key in _ACROSS_FUNCTIONS:
                    return True
                if key == "function" and isinstance(value, str) and value in _ACROSS_FUNCTIONS:
                    return True
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return False
