"""The numbers written in a rule's SQL text: where each is, and what it is compared with.

Used to substitute one threshold in a condition (``segrule sweep``) and to read a
threshold ladder's order (``segrule check``). It reads the tokens of segrule's one SQL
tokenizer (:func:`segrule.model.sql.tokens`): quoted strings (``'90 days'`` holds no
number), identifiers (``monetary_365d`` holds no number either), numbers with an
optional unary minus, comparison operators. The rewritten text is parsed again by
polars' SQL parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from segrule.model.sql import COMPARISONS
from segrule.model.sql import tokens as sql_tokens

KEYWORDS = frozenset(
    [
        "and",
        "or",
        "not",
        "between",
        "in",
        "is",
        "null",
        "case",
        "when",
        "then",
        "else",
        "end",
        "true",
        "false",
        "interval",
        "like",
        "ilike",
        "as",
        "cast",
        "date",
        "timestamp",
    ]
)
#: After one of these a ``-`` is a sign, not a subtraction.
_SIGN_AFTER = {"op", "start", "open", "comma", "keyword"}


@dataclass(frozen=True)
class NumberLiteral:
    """A number in SQL text: ``text[start:end]`` (a leading minus included), its value,
    and the identifier it is compared with (the nearest one before it, else after)."""

    start: int
    end: int
    value: Decimal
    dimension: str | None


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int


def _tokens(sql: str) -> list[_Tok]:
    """The tokens of :func:`segrule.model.sql.tokens`, in this module's kinds: ``id``
    (names, quoted or not), ``keyword``, ``num``, ``op`` (comparisons), ``str`` and
    ``other`` (arithmetic operators, parentheses, commas)."""
    out = []
    for t in sql_tokens(sql):
        kind = t.kind
        if kind == "word":
            kind = "keyword" if t.low in KEYWORDS else "id"
        elif kind == "qid":
            kind = "id"
        elif kind == "op" and t.text not in COMPARISONS:
            kind = "other"
        out.append(_Tok(kind, t.name if kind == "id" else t.text, t.start, t.end))
    return out


def _name(tok: _Tok) -> str:
    return tok.text


def number_literals(sql: str) -> list[NumberLiteral]:
    """Every number of ``sql`` in order (numbers inside quoted strings are text)."""
    toks = _tokens(sql)
    out = []
    for i, tok in enumerate(toks):
        if tok.kind != "num":
            continue
        start = tok.start
        value = Decimal(tok.text)
        if i >= 1 and toks[i - 1].text == "-":
            before = toks[i - 2] if i >= 2 else None
            kind = (
                "start"
                if before is None
                else "open"
                if before.text == "("
                else "comma"
                if before.text == ","
                else before.kind
            )
            if kind in _SIGN_AFTER:
                start = toks[i - 1].start
                value = -value
        out.append(NumberLiteral(start, tok.end, value, _compared_with(toks, i, start)))
    return out


def _compared_with(toks: list[_Tok], i: int, start: int) -> str | None:
    """The name compared with the number ``toks[i]``: across the comparison next to it
    (``x > 5``, ``5 < x``), else the nearest name before it (``x BETWEEN 1 AND 5``),
    else after it."""
    j = i - 1 if toks[i].start == start else i - 2  # skip a sign
    if j >= 1 and toks[j].kind == "op" and toks[j - 1].kind == "id":
        return _name(toks[j - 1])
    if i + 2 < len(toks) and toks[i + 1].kind == "op" and toks[i + 2].kind == "id":
        return _name(toks[i + 2])
    before = next((_name(t) for t in reversed(toks[:i]) if t.kind == "id"), None)
    return before or next((_name(t) for t in toks[i + 1 :] if t.kind == "id"), None)


def replace_number(sql: str, literal: NumberLiteral, value: Decimal) -> str:
    """``sql`` with ``literal`` replaced by ``value`` (negative values in parentheses, so
    ``x - 5`` never becomes ``x --3``, an SQL comment)."""
    text = format_number(value)
    if value < 0:
        text = f"({text})"
    return sql[: literal.start] + text + sql[literal.end :]


def format_number(value: Decimal) -> str:
    """A decimal as plain SQL text: ``5000``, ``0.15``, never an exponent."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class Comparison:
    """A condition that is one comparison of a column with a number: ``dim op value``
    (``5 < x`` is read as ``x > 5``)."""

    dimension: str
    op: str
    value: Decimal

    def holds(self, x: Decimal) -> bool:
        return {
            ">": x > self.value,
            ">=": x >= self.value,
            "<": x < self.value,
            "<=": x <= self.value,
            "=": x == self.value,
            "==": x == self.value,
        }.get(self.op, False)


_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "==": "=="}


def simple_comparison(sql: str) -> Comparison | None:
    """``sql`` as one comparison of a column with a number, or None."""
    toks = _tokens(sql)
    while len(toks) >= 2 and toks[0].text == "(" and toks[-1].text == ")":
        toks = toks[1:-1]
    nums = number_literals(sql)
    if len(nums) != 1:
        return None
    kinds = [t.kind for t in toks]
    if kinds[:2] == ["id", "op"] and (
        kinds[2:] == ["num"] or (kinds[2:] == ["other", "num"] and toks[2].text == "-")
    ):
        op = toks[1].text
        if op in _FLIP:
            return Comparison(_name(toks[0]), op, nums[0].value)
    if kinds[-2:] == ["op", "id"] and (
        kinds[:-2] == ["num"] or (kinds[:-2] == ["other", "num"] and toks[0].text == "-")
    ):
        op = toks[-2].text
        if op in _FLIP:
            return Comparison(_name(toks[-1]), _FLIP[op], nums[0].value)
    return None
