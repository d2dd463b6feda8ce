"""Shared builders for the test suite: tiny hand-made tables and rule files.

Tables are built row by row so that every expected value in a test can be computed by
hand from the rows written next to it.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

AS_OF = dt.datetime(2026, 11, 1)
"""The as-of instant most tests use (midnight at the start of 2026-11-01)."""

ORDER_SCHEMA: dict[str, pl.DataType] = {
    "order_id": pl.String(),
    "customer_id": pl.String(),
    "order_ts": pl.Datetime("us"),
    "amount": pl.Float64(),
    "status": pl.String(),
    "channel": pl.String(),
    "category": pl.String(),
}
CUSTOMER_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "birth_year": pl.Int64(),
    "gender": pl.String(),
    "city": pl.String(),
    "is_member": pl.Boolean(),
}
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "event_ts": pl.Datetime("us"),
    "event_type": pl.String(),
}
FEEDBACK_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "ts": pl.Datetime("us"),
    "score": pl.Float64(),
}


def days_before(days: float, as_of: dt.datetime = AS_OF) -> dt.datetime:
    """The instant ``days`` days before ``as_of``."""
    return as_of - dt.timedelta(days=days)


def order_frame(rows: Iterable[Sequence[Any] | dict[str, Any]]) -> pl.DataFrame:
    """Orders from rows ``(customer_id, order_ts, amount[, status[, category[, channel]]])``
    or dicts. ``order_id`` is numbered ``o1, o2, ...``; status defaults to ``paid``."""
    records = []
    for i, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            rec = {"order_id": f"o{i}", "status": "paid", **row}
        else:
            cid, ts, amount, *rest = row
            rec = {
                "order_id": f"o{i}",
                "customer_id": cid,
                "order_ts": ts,
                "amount": amount,
                "status": rest[0] if len(rest) > 0 else "paid",
            }
            if len(rest) > 1:
                rec["category"] = rest[1]
            if len(rest) > 2:
                rec["channel"] = rest[2]
        records.append(rec)
    cols = {k: [r.get(k) for r in records] for k in ORDER_SCHEMA}
    return pl.DataFrame(cols, schema=ORDER_SCHEMA)


def customer_frame(rows: Iterable[Sequence[Any] | dict[str, Any] | str]) -> pl.DataFrame:
    """Customers from ids, rows ``(customer_id, birth_year, city[, is_member[, gender]])``
    or dicts."""
    records = []
    for row in rows:
        if isinstance(row, str):
            rec: dict[str, Any] = {"customer_id": row}
        elif isinstance(row, dict):
            rec = dict(row)
        else:
            cid, birth_year, city, *rest = row
            rec = {
                "customer_id": cid,
                "birth_year": birth_year,
                "city": city,
                "is_member": rest[0] if len(rest) > 0 else None,
                "gender": rest[1] if len(rest) > 1 else None,
            }
        records.append(rec)
    cols = {k: [r.get(k) for r in records] for k in CUSTOMER_SCHEMA}
    return pl.DataFrame(cols, schema=CUSTOMER_SCHEMA)


def event_frame(rows: Iterable[Sequence[Any]]) -> pl.DataFrame:
    """Events from rows ``(customer_id, event_ts, event_type)``."""
    rows = list(rows)
    return pl.DataFrame(
        {k: [r[i] for r in rows] for i, k in enumerate(EVENT_SCHEMA)}, schema=EVENT_SCHEMA
    )


def feedback_frame(rows: Iterable[Sequence[Any]]) -> pl.DataFrame:
    """Feedback from rows ``(customer_id, ts, score)``."""
    rows = list(rows)
    return pl.DataFrame(
        {k: [r[i] for r in rows] for i, k in enumerate(FEEDBACK_SCHEMA)}, schema=FEEDBACK_SCHEMA
    )


def make_tables(
    orders: Iterable[Sequence[Any] | dict[str, Any]] | pl.DataFrame | None = (),
    customers: Iterable[Sequence[Any] | dict[str, Any] | str] | pl.DataFrame | None = None,
    events: Iterable[Sequence[Any]] | pl.DataFrame | None = None,
    feedback: Iterable[Sequence[Any]] | pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """The ``tables=`` mapping for ``segrule.compile/score/run`` from row lists.

    Tables given as None are left out (so the engine sees them as not given).
    """
    out: dict[str, pl.DataFrame] = {}
    builders: dict[str, Callable[[Any], pl.DataFrame]] = {
        "orders": order_frame,
        "customers": customer_frame,
        "events": event_frame,
        "feedback": feedback_frame,
    }
    for name, rows in (
        ("orders", orders),
        ("customers", customers),
        ("events", events),
        ("feedback", feedback),
    ):
        if rows is None:
            continue
        out[name] = rows if isinstance(rows, pl.DataFrame) else builders[name](rows)
    return out


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line number of the ``nth`` line of ``text`` containing ``needle``."""
    seen = 0
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == nth:
                return i
    raise AssertionError(f"{needle!r} not in text")


class RuleFiles:
    """Writes rule files into a temporary folder (dedented) and returns their paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.texts: dict[Path, str] = {}

    def __call__(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text).lstrip("\n")
        path.write_text(body, encoding="utf-8")
        self.texts[path] = body
        return path

    def line(self, path: Path, needle: str, nth: int = 1) -> int:
        return line_of(self.texts[path], needle, nth)


@pytest.fixture
def rules(tmp_path: Path) -> RuleFiles:
    """``rules("r.yaml", "...yaml...")`` writes a rule file and returns its path."""
    return RuleFiles(tmp_path / "rules")


class Builders:
    """The builders above as one namespace, for tests (``tb.orders(...)``, ``tb.AS_OF``).

    Test modules get them through fixtures rather than ``from conftest import``: with
    several conftest.py files in the tree, the module named ``conftest`` is ambiguous.
    """

    AS_OF = AS_OF
    days_before = staticmethod(days_before)
    orders = staticmethod(order_frame)
    customers = staticmethod(customer_frame)
    events = staticmethod(event_frame)
    feedback = staticmethod(feedback_frame)
    make_tables = staticmethod(make_tables)
    line_of = staticmethod(line_of)


@pytest.fixture
def tb() -> type[Builders]:
    """Table builders and constants (see :class:`Builders`)."""
    return Builders


@pytest.fixture(name="make_tables")
def make_tables_fixture() -> Callable[..., dict[str, pl.DataFrame]]:
    """``make_tables(orders=[...], customers=[...], events=[...], feedback=[...])``."""
    return make_tables


@pytest.fixture
def no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the builtin plugins, whatever plugin distributions are installed: core tests
    use it (``pytestmark = pytest.mark.usefixtures("no_plugin_autoload")``)."""
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("SEGRULE_PLUGINS", raising=False)
