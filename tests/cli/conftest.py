"""Shared fixtures of the CLI tests: an isolated environment and one generated data set."""

from __future__ import annotations

from pathlib import Path

import pytest
from segrule.generate import generate


@pytest.fixture
def isolated_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private cache folder, builtin plugins only, a wide terminal, no --debug."""
    monkeypatch.setenv("SEGRULE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SEGRULE_DEBUG", raising=False)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 generated orders (seed 3, up to 2026-11-01), shared by the CLI tests: they
    only read it."""
    import datetime as dt

    out = tmp_path_factory.mktemp("cli-data")
    generate(out, orders=3000, seed=3, end=dt.date(2026, 11, 1))
    return out
