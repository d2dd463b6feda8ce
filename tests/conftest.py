"""Shared fixtures for the test suite: tiny hand-made tables and rule files.

The builders live in :mod:`segrule.testing` (public, for plugin authors too).

Tables are built row by row so that every expected value in a test can be computed by
hand from the rows written next to it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from segrule.testing import (  # the builders plugin authors get too
    AS_OF,
    Builders,
    RuleFiles,
    customer_frame,
    days_before,
    event_frame,
    feedback_frame,
    line_of,
    make_tables,
    order_frame,
)

__all__ = [
    "AS_OF",
    "customer_frame",
    "days_before",
    "event_frame",
    "feedback_frame",
    "line_of",
    "order_frame",
]


@pytest.fixture
def rules(tmp_path: Path) -> RuleFiles:
    """``rules("r.yaml", "...yaml...")`` writes a rule file and returns its path."""
    return RuleFiles(tmp_path / "rules")


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
