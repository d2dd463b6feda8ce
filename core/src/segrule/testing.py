"""pytest fixtures and helpers for testing segrule plugins and rule sets.

Installed with segrule as a pytest plugin (entry point ``pytest11``), so any project
that has segrule installed gets these fixtures without importing anything:

- ``segrule_engine(*plugins)``: an :class:`~segrule.Registry` holding only the builtins
  and the given plugin modules (no entry-point autoload), so a plugin is tested alone;
- ``segrule_rules(name, yaml_text)``: writes a rule file into a temporary folder;
- ``segrule_tables``: builders of tiny tables from rows (``segrule_tables.orders([...])``,
  ``segrule_tables.make_tables(orders=[...], customers=[...])``, ``frame(rows, schema)``
  for a plugin's own tables) and the default as-of instant ``AS_OF``.

And plain functions: :func:`score_rows` (score and return a DataFrame) and
:func:`check_plugin` (a plugin's conformance checks: its hooks are known, everything
it registers has a name, a description and an owner, and every preset it ships
compiles against the table contracts).

Example (a plugin's ``tests/test_plugin.py``)::

    import segrule_myplugin.plugin as plugin
    from segrule.testing import check_plugin, score_rows

    def test_conformance():
        check_plugin(plugin)

    def test_dimension(segrule_engine, segrule_tables, segrule_rules):
        engine = segrule_engine(plugin)
        rules = segrule_rules("r.yaml", "outputs: [customer_id, my_dimension]")
        tables = segrule_tables.make_tables(orders=[("c1", segrule_tables.days_before(3), 10.0)])
        assert score_rows(rules, tables, engine=engine)["my_dimension"].to_list() == [...]
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest

__all__ = [
    "AS_OF",
    "Builders",
    "RuleFiles",
    "check_plugin",
    "customer_frame",
    "days_before",
    "event_frame",
    "feedback_frame",
    "frame",
    "make_tables",
    "order_frame",
    "score_rows",
]

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
            cid, birth_year, city, *rest = row  # type: ignore[str-unpack]
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


def frame(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> pl.DataFrame:
    """A DataFrame of ``schema`` from dict rows (missing keys are null): for a plugin's
    own tables, e.g. ``frame([{"customer_id": "c1", "size": "110"}], ITEM_SCHEMA)``."""
    records = list(rows)
    unknown = sorted({k for r in records for k in r} - set(schema))
    if unknown:
        raise ValueError(f"columns {unknown} are not in the schema {list(schema)}")
    return pl.DataFrame({k: [r.get(k) for r in records] for k in schema}, schema=dict(schema))


class Builders:
    """The table builders as one namespace (the ``segrule_tables`` fixture)."""

    AS_OF = AS_OF
    days_before = staticmethod(days_before)
    orders = staticmethod(order_frame)
    customers = staticmethod(customer_frame)
    events = staticmethod(event_frame)
    feedback = staticmethod(feedback_frame)
    make_tables = staticmethod(make_tables)
    frame = staticmethod(frame)
    line_of = staticmethod(line_of)


def score_rows(
    ruleset: Any,
    tables: Mapping[str, Any],
    *,
    engine: Any = None,
    as_of: Any = AS_OF,
    tz: str | None = None,
) -> pl.DataFrame:
    """Score ``ruleset`` (a path, preset name or list) on ``tables``; a DataFrame."""
    import segrule

    engine = engine or segrule.Registry(autoload=False)
    out = segrule.score(ruleset, tables, as_of=as_of, tz=tz, engine=engine)
    assert isinstance(out, pl.DataFrame)
    return out


def check_plugin(plugin: ModuleType | str, *, as_of: Any = AS_OF) -> Any:
    """Conformance checks for one plugin module; returns the Registry it was loaded in.

    Loads the plugin alone with the builtins (a conflict or failing hook raises the
    plugin error), then checks that it registered something, that every dimension and
    strategy has a description, every table contract has a ``customer_id`` column, and
    that every preset it ships compiles (names and types) against the table contracts.
    """
    import segrule

    engine = segrule.Registry(plugins=[plugin], autoload=False)
    info = next(i for i in engine.plugins.values() if not i.builtin)
    registered = {k: v for k, v in info.registered.items() if v}
    assert registered, f"plugin {info.name} registered nothing"
    for name in registered.get("dimensions", []):
        assert engine.dimensions.items[name].description, f"dimension {name} has no description"
    for name in registered.get("strategies", []):
        assert engine.strategies.items[name].description, f"strategy {name} has no description"
    for name in registered.get("tables", []):
        contract = engine.tables.items[name]
        assert contract.column("customer_id"), f"table {name} has no customer_id column"
    for name in registered.get("presets", []):
        segrule.compile([name], engine=engine, check_only=True, as_of=as_of)
    return engine


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture
def segrule_engine() -> Callable[..., Any]:
    """``segrule_engine(*plugins)``: an Registry with the builtins and only these plugins."""
    import segrule

    def make(*plugins: ModuleType | str) -> Any:
        return segrule.Registry(plugins=list(plugins), autoload=False)

    return make


@pytest.fixture
def segrule_rules(tmp_path: Path) -> RuleFiles:
    """``segrule_rules("r.yaml", "...yaml...")`` writes a rule file, returns its path."""
    return RuleFiles(tmp_path / "segrule-rules")


@pytest.fixture
def segrule_tables() -> type[Builders]:
    """Table builders: ``segrule_tables.make_tables(orders=[...])`` and friends."""
    return Builders
