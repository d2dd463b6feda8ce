"""One SQL tokenizer (segrule.model.sql.tokens) behind the security check, the number
literals of sweep and check, and explain's condition structure: they agree on what a
name, a number, a string and a comment are."""

from __future__ import annotations

from decimal import Decimal

import pytest
from segrule.model.conditions import Atom, comparison, split_condition
from segrule.model.literals import number_literals, simple_comparison
from segrule.model.sql import tokens


def test_tokens_keep_offsets_in_the_text_and_leave_comments_out() -> None:
    sql = "金额 >= 5000 -- a note\n AND \"月 消费\" < 'x -- y'"
    toks = tokens(sql)
    assert [t.kind for t in toks] == ["word", "op", "num", "word", "qid", "op", "str"]
    assert all(sql[t.start : t.end] == t.text for t in toks)
    assert toks[4].name == "月 消费"


@pytest.mark.parametrize("bad", ["x = 'open", "x /* open", 'x = "open'])
def test_unclosed_quotes_and_comments_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        tokens(bad)


def test_literals_read_unicode_and_quoted_names_and_skip_comments() -> None:
    (lit,) = number_literals('"月 消费" > -5 /* 5 */')
    assert (lit.value, lit.dimension) == (Decimal(-5), "月 消费")
    (lit,) = number_literals("金额 BETWEEN 'a 1' AND 2")
    assert (lit.value, lit.dimension) == (Decimal(2), "金额")
    cmp = simple_comparison("5000 <= 金额")
    assert cmp is not None and (cmp.dimension, cmp.op, cmp.value) == ("金额", ">=", 5000)


def test_explain_reads_the_same_names() -> None:
    atom = split_condition("金额 >= 5000")
    assert isinstance(atom, Atom)
    cmp = comparison(atom)
    assert cmp is not None and (cmp.name, cmp.op, cmp.number) == ("金额", ">=", 5000.0)
    both = split_condition("x == 1 AND y + 1 > 2")
    assert not isinstance(both, Atom)
    first, second = both.items
    assert isinstance(first, Atom) and comparison(first) is not None
    assert isinstance(second, Atom) and comparison(second) is None  # y + 1 is no name
