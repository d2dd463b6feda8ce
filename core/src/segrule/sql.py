"""SQL expressions of rule files, parsed by polars' own SQL expression parser.

Nothing in a rule file is evaluated as Python: text goes to ``pl.sql_expr`` only.
"""

from __future__ import annotations

import re

import polars as pl

from segrule.errors import RuleSetError

# Functions that polars 2.1 panics on when called without arguments (found by
# tests/fuzz: GREATEST() and LEAST() anywhere, COALESCE() in a table's where).
_EMPTY_VARIADIC = re.compile(r"\b(greatest|least|coalesce)\s*\(\s*\)", re.IGNORECASE)


def parse_sql(text: object, *, where: str | None = None, name: str | None = None) -> pl.Expr:
    """Parse one SQL expression (``orders_30d >= 3 AND monetary_365d > 10000``)."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise RuleSetError(
            f"expected a SQL expression (text), got {text!r}", where=where, name=name
        )
    sql = str(text).strip()
    if not sql:
        raise RuleSetError("empty SQL expression", where=where, name=name)
    empty = _EMPTY_VARIADIC.search(sql)
    if empty:
        # polars 2.1 panics on these (found by tests/fuzz): say it before it does.
        raise RuleSetError(
            f"cannot parse SQL '{sql}': {empty.group(1).upper()}() needs at least one argument",
            where=where,
            name=name,
        )
    try:
        return pl.sql_expr(sql)
    except (Exception, pl.exceptions.PanicException) as exc:  # SQL*Error, ComputeError, ...
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RuleSetError(f"cannot parse SQL '{sql}': {msg}", where=where, name=name) from None


def referenced_names(expr: pl.Expr) -> tuple[str, ...]:
    """The column names an expression reads, deduplicated, in first-use order."""
    try:
        names = expr.meta.root_names()
    except Exception:
        return ()
    return tuple(dict.fromkeys(names))
