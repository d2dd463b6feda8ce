"""docs/architecture.md lists every module of the core, and only modules that exist:
the map stays true when modules move."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
CORE = ROOT / "core" / "src"
CLI = ROOT / "cli" / "src"


def listed() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("<!-- modules:start -->")[1].split("<!-- modules:end -->")[0]
    return re.findall(r"^\| `([^`]+)` \|", table, re.M)


def existing() -> set[str]:
    """Every module of the core and the CLI (bench's modules as its folder)."""
    found = set()
    for src in (CORE, CLI):
        for path in src.rglob("*.py"):
            rel = path.relative_to(src).as_posix()
            if "/bench/" in rel:
                found.add(rel.split("/bench/")[0] + "/bench/")
            elif not rel.endswith("__init__.py") or rel.count("/") == 1:
                found.add(rel)
    return found


def test_every_listed_module_exists() -> None:
    names = listed()
    assert len(names) > 30
    missing = [n for n in names if not ((CORE / n).exists() or (CLI / n).exists())]
    assert not missing, f"docs/architecture.md lists modules that do not exist: {missing}"


def test_every_module_is_listed() -> None:
    unlisted = sorted(existing() - set(listed()))
    assert not unlisted, f"docs/architecture.md does not list: {unlisted}"
