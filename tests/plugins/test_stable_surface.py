"""Plugins import core only through ``segrule.plugin``, the stable surface: the four
plugins of this workspace and the ``segrule new-plugin`` skeleton (every import
statement, function-level ones included), and every name the surface offers exists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import segrule.plugin

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("plugins/*/src/**/*.py")) + sorted(
    ROOT.glob("cli/src/segrule_cli/skeleton/src/*.tmpl")
)


def core_imports(path: Path) -> list[str]:
    """``segrule`` modules imported by a file (``import x`` and ``from x import y``)."""
    tree = ast.parse(path.read_text(encoding="utf-8").replace("{name}", "name"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            mods = [node.module]
        elif isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        else:
            continue
        found += [m for m in mods if m == "segrule" or m.startswith("segrule.")]
    return found


def test_there_are_plugin_sources_to_check() -> None:
    plugins = {p.relative_to(ROOT).parts[1] for p in SOURCES if p.is_relative_to(ROOT / "plugins")}
    assert len(plugins) == 4, plugins
    assert any(p.suffix == ".tmpl" for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_the_stable_surface(path: Path) -> None:
    other = [m for m in core_imports(path) if m != "segrule.plugin"]
    assert not other, f"{path.relative_to(ROOT)} imports {other}: import from segrule.plugin"


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from segrule.engine.compiler import Plan\n")
    assert core_imports(bad) == ["segrule.engine.compiler"]


def test_every_name_of_the_surface_exists() -> None:
    for name in segrule.plugin.__all__:
        assert getattr(segrule.plugin, name) is not None, name
    with pytest.raises(AttributeError):
        segrule.plugin.not_a_name  # noqa: B018
