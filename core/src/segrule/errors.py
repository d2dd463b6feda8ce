"""The exception tree of segrule.

Every error a user can cause is a :class:`SegruleError` whose message is one line
that names the file, the rule or the column and says what to do. The CLI prints the
message and exits 1; only ``--debug`` shows a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Marks around an option named in a message (:func:`option`).
_OPT, _SEP, _END = "\x1e", "\x1f", "\x1d"
_OPTION = re.compile(f"{_OPT}([^{_SEP}{_END}]*)(?:{_SEP}([^{_END}]*))?{_END}")


def option(param: str, text: str | None = None) -> str:
    """An option named in a message by its Python parameter (``params``), or ``text``
    for it. ``str(error)`` shows that; a front end shows its own name for the option
    (the CLI: ``--param``, :meth:`SegruleError.rendered`). Core never writes a CLI flag
    into a message."""
    return f"{_OPT}{param}{_SEP}{text}{_END}" if text is not None else f"{_OPT}{param}{_END}"


def render(text: str, names: Mapping[str, str] | None = None) -> str:
    """``text`` with each :func:`option` shown as ``names[param]``, else as written."""
    names = names or {}
    return _OPTION.sub(lambda m: names.get(m.group(1)) or m.group(2) or m.group(1), text)


class SegruleError(Exception):
    """Root of every error segrule raises on purpose."""

    exit_code = 1

    def __str__(self) -> str:
        return render(super().__str__())

    def rendered(self, names: Mapping[str, str]) -> str:
        """The message with each option named by ``names`` (parameter -> a front end's
        name for it, e.g. ``{"params": "--param"}``)."""
        return render(super().__str__(), names)


class RuleSetError(SegruleError):
    """A rule file is invalid: syntax, unknown key, unknown name, type mismatch, cycle.

    ``where`` is ``file:line:col`` (or a preset/plugin name) and ``name`` the rule or
    key at fault; both are put in front of the message.
    """

    def __init__(self, message: str, *, where: str | None = None, name: str | None = None):
        self.where = where
        self.name = name
        self.detail = message
        prefix = ""
        if where:
            prefix += f"{where}: "
        if name:
            prefix += f"{name}: "
        super().__init__(prefix + message)


class RuleSetErrors(RuleSetError):
    """Several rule-set problems found in one pass (validate reports all of them)."""

    def __init__(self, errors: list[RuleSetError]):
        self.errors = errors
        first = Exception.__str__(errors[0])  # options still marked (see option)
        every = option("all_problems", "RuleSetErrors.errors lists them")
        more = f" (and {len(errors) - 1} more problem(s); {every})"
        super().__init__(first + (more if len(errors) > 1 else ""))


class DataError(SegruleError):
    """An input table is missing, unreadable, or lacks a column or type it needs."""


class DataQualityError(DataError):
    """A data-quality check whose policy is ``fail`` found rows, or a table lost more
    than its share of rows to the checks. ``quality`` holds the run's quality report
    (one dict per table and check: table, check, action, rows); nothing was written."""

    def __init__(self, message: str, quality: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.quality = quality


class PluginError(SegruleError):
    """A plugin failed to import or raised inside a hook."""


class PluginConflictError(PluginError):
    """Two plugins (builtins included) registered the same name."""


class UsageError(SegruleError):
    """Bad command-line usage (exit code 2)."""

    exit_code = 2


def did_you_mean(name: str, candidates: Iterable[str], *, n: int = 3) -> str:
    """Return ``" — did you mean 'x'?"`` for the closest candidates, or ``""``."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=n, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f" — did you mean '{close[0]}'?"
    return " — did you mean " + ", ".join(f"'{c}'" for c in close) + "?"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (polars' messages go on for pages), with
    what to do where segrule knows more than polars' text says."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if "to `i64` failed in column 'amount'" in line:
        # amount -> integer cents (exact sums) failed: NaN, infinite or too large.
        line += (
            "; amounts are summed as integer cents, so each must be a finite number below "
            "92,233,720,368,547,758 in absolute value: fix those rows or exclude them with "
            "tables.orders.where"
        )
    return line
