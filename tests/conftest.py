"""Shared fixtures for the test suite: tiny hand-made tables and rule files.

The builders live in :mod:`segrule.testing` (public, for plugin authors too).

Tables are built row by row so that every expected value in a test can be computed by
hand from the rows written next to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


# -- a hostile rule set: what a careless or malicious rule author can put in free text --
#: Each breaks out of an HTML text node, attribute, <title>, <style>, CDATA or comment,
#: or runs as a template, a JavaScript line break or mathtext, if written unescaped.
#: A script that runs sets window.__pwned or opens a dialog.
HOSTILE_HTML = (
    '"><script>window.__pwned=1</script>',
    "' onmouseover='window.__pwned=2' x='",
    "</title><script>window.__pwned=3</script>",
    "javascript:alert(4)",
    '<img src=x onerror="window.__pwned=5">',
    '</style><svg onload="alert(6)">',
    "]]><!-- {{7*7}} ${7*7} --> </svg><b>x</b>",
    "a\u2028b\u2029c",
    "$\\frac{1}$ and $x$",
    "\x00chart:0\x00 \x00notes\x00",
)
#: rich console markup, emoji codes and a terminal escape sequence (clear the screen,
#: then red): printed as written (the ESC as U+FFFD), never interpreted.
HOSTILE_MARKUP = (
    "[/x]",
    "[bold red]boom[/]",
    "[link=file:///etc/passwd]x[/link]",
    ":thumbs_up:",
    "\x1b[2J\x1b[31mred",
)
#: cells a spreadsheet runs as formulas
HOSTILE_FORMULAS = ('=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3")
#: segment names that are bad file names: a path, a parent, a backslash, a leading dot
#: with a NUL, far too long
HOSTILE_NAMES = (
    '"><img src=x onerror="window.__pwned=7">/../[/x]',
    "..",
    ".hidden\\x\x00y",
    "long-" + "y" * 300,
)


@dataclass(frozen=True)
class HostileRules:
    """A rule file (extending taobao-5-tier) whose free text is all hostile.

    ``segments``: the hostile segment names (HOSTILE_NAMES), all in ``outputs``; the
    first classifies customers by their number of orders (``orders_all`` = 0, 1, 2, ...)
    into labels whose keys are ``labels``; display names, titles, descriptions and
    actions hold the rest of the hostile strings."""

    path: Path
    segments: tuple[str, ...]
    labels: tuple[str, ...]
    texts: tuple[str, ...]  # every hostile string used anywhere in the file


def hostile_ruleset(folder: Path) -> HostileRules:
    import yaml

    html, markup = HOSTILE_HTML, HOSTILE_MARKUP
    keys = (*HOSTILE_FORMULAS, html[0], html[4], markup[0], markup[1])
    first, dots, hidden, long = HOSTILE_NAMES
    labels = {
        key: {
            "zh": html[(i + 2) % len(html)] + " " + markup[i % len(markup)],
            "en": html[(i + 5) % len(html)] + " " + markup[(i + 1) % len(markup)],
            "description": html[i % len(html)],
            "actions": [html[(i + 3) % len(html)], markup[(i + 2) % len(markup)]],
        }
        for i, key in enumerate(keys)
    }
    rules = {
        "name": html[0] + " " + markup[0],
        "title": {"zh": html[2], "en": markup[1]},
        "description": html[1] + " " + markup[2],
        "extends": "taobao-5-tier",
        "dimensions": {
            "orders_all": {"aggregate": "count(*)", "description": html[5] + " " + markup[0]},
        },
        "segments": {
            first: {
                "zh": html[2] + " " + markup[1],
                "en": html[1] + " " + markup[2],
                "description": html[6] + " " + markup[3],
                "cases": [
                    {"when": f"orders_all = {n}", "label": key} for n, key in enumerate(keys[:-1])
                ],
                "default": keys[-1],
                "labels": labels,
            },
            dots: {"zh": html[8], "en": html[9], "flag": "orders_all > 3"},
            hidden: {
                "en": markup[2],
                "cases": [{"when": "orders_all > 2", "label": html[9]}],
                "default": html[7],
            },
            long: {
                "zh": html[3],
                "cases": [{"when": "orders_all > 1", "label": markup[3]}],
                "default": html[8],
            },
        },
        "outputs": [
            "customer_id",
            "orders_all",
            "monetary_365d",
            "recency_days",
            "score",
            "tier",
            *HOSTILE_NAMES,
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hostile.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return HostileRules(path, HOSTILE_NAMES, keys, (*html, *markup, *HOSTILE_FORMULAS))


@pytest.fixture(scope="session")
def hostile_rules(tmp_path_factory: pytest.TempPathFactory) -> HostileRules:
    """:class:`HostileRules`, written once per session (tests only read it)."""
    return hostile_ruleset(tmp_path_factory.mktemp("hostile"))
