"""The boolean structure of a rule's condition, read from its SQL text: atoms (a
comparison, IN, IS NULL, ...) joined by AND, OR and NOT, and an atom read as ``name OP
value``. Used to explain a condition part by part, and to read threshold ladders
(:mod:`segrule.model.ladders`). Tokens come from the one SQL tokenizer
(:func:`segrule.model.sql.tokens`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from segrule.model.sql import COMPARISONS, Token
from segrule.model.sql import tokens as sql_tokens

KEYWORDS = {
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "LIKE",
    "ILIKE",
    "TRUE",
    "FALSE",
    "INTERVAL",
    "DATE",
    "TIMESTAMP",
}
NEGATE = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "=": "<>", "==": "<>", "<>": "=", "!=": "="}
MIRROR = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "=": "=", "==": "==", "<>": "<>", "!=": "!="}


def tokens(sql: str) -> list[Token]:
    """The tokens of :func:`segrule.model.sql.tokens` in this module's kinds: ``word``,
    ``quoted`` (a quoted name), ``op`` (comparisons only), ``punct`` (``(``, ``)``,
    ``,``), ``str`` and ``other`` (numbers, arithmetic)."""
    out = []
    for t in sql_tokens(sql):
        kind = t.kind
        if kind == "qid":
            kind = "quoted"
        elif (kind == "op" and t.text not in COMPARISONS) or kind == "num":
            kind = "other"
        elif kind == "other" and t.text in "(),":
            kind = "punct"
        out.append(Token(kind, t.text, t.start, t.end))
    return out


@dataclass(frozen=True)
class Atom:
    """A condition without AND/OR/NOT at its top level (a comparison, IN, IS NULL...)."""

    sql: str
    toks: tuple[Token, ...] = field(repr=False, compare=False)


@dataclass(frozen=True)
class BoolOp:
    kind: Literal["and", "or", "not"]
    items: tuple[Atom | BoolOp, ...]


Cond = Atom | BoolOp


class _Parser:
    def __init__(self, sql: str):
        self.sql = sql
        self.toks = tokens(sql)
        self.i = 0
        self.end = len(self.toks)

    def kw(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.toks[j].upper if j < self.end else ""

    def parse(self) -> Cond:
        cond = self.parse_or()
        if self.i != self.end:
            raise ValueError("unbalanced condition")
        return cond

    def parse_or(self) -> Cond:
        items = [self.parse_and()]
        while self.kw() == "OR":
            self.i += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Cond:
        items = [self.parse_not()]
        while self.kw() == "AND":
            self.i += 1
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_not(self) -> Cond:
        if self.kw() == "NOT":
            self.i += 1
            return BoolOp("not", (self.parse_not(),))
        return self.parse_primary()

    def _close(self, i: int) -> int:
        depth = 0
        for j in range(i, self.end):
            t = self.toks[j].text
            if t == "(":
                depth += 1
            elif t == ")":
                depth -= 1
                if depth == 0:
                    return j
        raise ValueError("unbalanced parentheses")

    def parse_primary(self) -> Cond:
        if self.i >= self.end:
            raise ValueError("a condition is missing")
        if self.toks[self.i].text == "(":
            j = self._close(self.i)
            after = self.toks[j + 1] if j + 1 < self.end else None
            if after is None or after.upper in ("AND", "OR") or after.text == ")":
                outer_end = self.end
                self.i += 1
                self.end = j
                inner = self.parse_or()
                if self.i != j:
                    raise ValueError("unbalanced condition")
                self.end = outer_end
                self.i = j + 1
                return inner
        start = self.i
        depth = case = 0
        between = False
        while self.i < self.end:
            t = self.toks[self.i]
            if t.text == "(":
                depth += 1
            elif t.text == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and case == 0:
                if t.upper == "CASE":
                    case += 1
                elif t.upper == "BETWEEN":
                    between = True
                elif t.upper == "AND" and between:
                    between = False
                elif t.upper in ("AND", "OR"):
                    break
            elif t.upper == "CASE":
                case += 1
            elif t.upper == "END" and case:
                case -= 1
            self.i += 1
        toks = self.toks[start : self.i]
        if not toks:
            raise ValueError("a condition is missing")
        return Atom(self.sql[toks[0].start : toks[-1].end], tuple(toks))


def split_condition(sql: str) -> Cond:
    """The boolean structure of a SQL condition; a condition it cannot read is one atom."""
    try:
        return _Parser(sql).parse()
    except ValueError:
        return Atom(sql.strip(), ())


@dataclass(frozen=True)
class Comparison:
    """An atom ``name OP rhs`` (rhs as written), with ``number`` when rhs is a number."""

    name: str
    op: str
    rhs: str
    number: float | None


def comparison(atom: Atom) -> Comparison | None:
    """The atom as ``name OP rhs`` when it is one comparison with a bare name on a side."""
    toks = atom.toks
    depth = 0
    ops = []
    for i, t in enumerate(toks):
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        elif t.kind == "op" and depth == 0:
            ops.append(i)
    if len(ops) != 1:
        return None
    i = ops[0]
    lhs, rhs, op = toks[:i], toks[i + 1 :], toks[i].text
    if not lhs or not rhs:
        return None

    def name_of(side: Sequence[Token]) -> str | None:
        if len(side) == 1 and side[0].kind == "word" and side[0].upper not in KEYWORDS:
            return side[0].text
        if len(side) == 1 and side[0].kind == "quoted":
            return side[0].name
        return None

    name = name_of(lhs)
    other = rhs
    if name is None:
        name = name_of(rhs)
        other = lhs
        op = MIRROR[op]
        if name is None:
            return None
    text = atom.sql[other[0].start - toks[0].start : other[-1].end - toks[0].start]
    try:
        number: float | None = float(text)
    except ValueError:
        number = None
    if number is not None and not math.isfinite(number):
        number = None
    return Comparison(name, op, text.strip(), number)
