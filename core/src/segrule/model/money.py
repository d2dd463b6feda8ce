"""Exact money arithmetic in ``expr:`` dimensions.

Money dimensions are integer cents inside the plan (``Node.cents``). An ``expr:`` that
only adds and subtracts money values and amounts with at most two decimals
(``monetary_365d - monetary_30d``, ``monetary_lifetime - 99.9``) is computed on those
cents and converted once, so it is exact: 5290.42, not 5290.419999999999.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from segrule.model.sql import tokens

_OPS = {"+", "-"}
_PARENS = {"(", ")"}


def cents_sql(sql: str, cents_of: Mapping[str, str]) -> str | None:
    """``sql`` over the cents columns (``cents_of``: money dimension -> its cents
    column), or None when it is not a sum/difference of money values and amounts with
    at most two decimals (then the expression stays as written, in floats)."""
    try:
        toks = tokens(sql)
    except ValueError:
        return None
    out: list[str] = []
    names = 0
    for tok in toks:
        if tok.kind in ("word", "qid"):
            cents = cents_of.get(tok.name)
            if cents is None:
                return None
            out.append('"' + cents.replace('"', '""') + '"')
            names += 1
        elif tok.kind == "num":
            try:
                value = Decimal(tok.text) * 100
            except InvalidOperation:
                return None
            if value != value.to_integral_value() or abs(value) >= 2**62:
                return None
            out.append(str(int(value)))
        elif tok.text in _OPS or tok.text in _PARENS:
            out.append(tok.text)
        else:
            return None
    return " ".join(out) if names else None
