"""Every hook is documented (typed docstring, docs/plugins.md) and tested.

Adding a hook without its reference section or without a test that implements it
fails here.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from segrule.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(n for n, f in vars(hookspecs).items() if n.startswith("segrule_") and callable(f))
GUIDE = ROOT / "docs" / "plugins.md"


def test_there_are_hooks() -> None:
    assert {
        "segrule_register_dimensions",
        "segrule_register_strategies",
        "segrule_register_tables",
        "segrule_register_presets",
        "segrule_prepare_table",
    } <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_typed_docstring(hook: str) -> None:
    fn = getattr(hookspecs, hook)
    doc = inspect.getdoc(fn) or ""
    assert len(doc.splitlines()) >= 3, f"{hook}: the docstring is its reference; write one"
    sig = inspect.signature(fn)
    assert sig.return_annotation is not inspect.Signature.empty, f"{hook}: annotate the return"
    for p in sig.parameters.values():
        assert p.annotation is not inspect.Parameter.empty, f"{hook}: annotate '{p.name}'"
        assert p.name in doc, f"{hook}: the docstring does not mention '{p.name}'"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_in_the_plugin_guide(hook: str) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert re.search(rf"^#+ `?{hook}", text, re.M), f"docs/plugins.md has no section {hook}"
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert doc in text, f"docs/plugins.md does not carry the docstring of {hook}"


def test_plugin_guide_reference_is_generated_from_the_docstrings() -> None:
    """Regenerate with: segrule plugins --hooks (between the hooks:start/end markers)."""
    text = GUIDE.read_text(encoding="utf-8")
    start, end = "<!-- hooks:start -->\n", "<!-- hooks:end -->"
    assert start in text and end in text
    assert text.split(start, 1)[1].split(end, 1)[0] == hookspecs.reference()


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_implemented_by_a_test(hook: str) -> None:
    """A test module outside this one defines an implementation of the hook."""
    here = Path(__file__).resolve()
    pattern = re.compile(rf"\bdef {hook}\(|\b{hook}=")
    for path in (ROOT / "tests").rglob("test_*.py"):
        if path.resolve() != here and pattern.search(path.read_text(encoding="utf-8")):
            return
    pytest.fail(f"no test implements {hook}")
