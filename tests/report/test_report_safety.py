"""The report of a hostile rule set (tests/conftest.py): every user string is text on the
page, never markup; ids and PNG file names are made from safe slugs.

The page is parsed with html.parser (fast, no browser): no tag or attribute beyond what
the report itself writes, the hostile strings in the page's text exactly as written.
test_report_browser.py opens the same page in Chromium.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import segrule
from segrule.report import build_report, slug
from segrule_cli.app import app
from typer.testing import CliRunner

#: Every tag the report writes: its own HTML and matplotlib's SVG (html.parser lowers
#: the case of SVG names such as clipPath).
REPORT_TAGS = {
    *("html", "head", "meta", "link", "title", "style", "body", "main", "h1", "h2", "h3"),
    *("h4", "nav", "a", "section", "dl", "div", "dt", "dd", "ul", "li", "p", "code"),
    *("table", "thead", "tbody", "tr", "th", "td", "figure", "footer"),
    *("svg", "g", "path", "defs", "clippath", "use", "text", "rect", "image", "metadata"),
    *("rdf:rdf", "cc:work", "cc:agent", "dc:type", "dc:format", "dc:creator", "dc:title"),
    *("dc:date", "tspan", "polyline", "polygon", "line", "circle", "ellipse"),
}
SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")  # matplotlib writes ids like matplotlib.axis_1


class PageScan(HTMLParser):
    """Tags, attributes and text of a page, as a browser's parser splits them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str, str]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attrs += [(tag, name, value or "") for name, value in attrs]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


@pytest.fixture(scope="module")
def hostile_report(
    hostile_scored: dict[str, Path], scored: dict[str, Path], tmp_path_factory: Any
) -> dict[str, Any]:
    """The report of the hostile outputs in both languages, with PNGs (written once)."""
    root = tmp_path_factory.mktemp("hostile-report")
    made = {}
    for lang in ("zh", "en"):
        folder = root / lang
        result = build_report(
            hostile_scored["new"],
            folder / "report.html",
            previous=hostile_scored["old"],
            data=scored["data"],
            lang=lang,
            png_dir=folder / "png",
            engine=segrule.Engine(autoload=False),
        )
        made[lang] = {"result": result, "folder": folder}
    return made


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_user_strings_are_text_never_markup(
    hostile_report: dict[str, Any], hostile_texts: Any, lang: str
) -> None:
    result = hostile_report[lang]["result"]
    html_text = result.output.read_text(encoding="utf-8")
    page = PageScan()
    page.feed(html_text)
    page.close()
    # nothing but the report's own tags: an injected <script>, <img>, <svg onload> or
    # <b> would show up here
    assert set(page.tags) <= REPORT_TAGS, set(page.tags) - REPORT_TAGS
    assert page.tags["script"] == 0
    assert page.tags["title"] == 1  # no </title> break-out
    assert page.tags["style"] == 1 + result.charts  # ours and one per matplotlib SVG
    assert page.tags["svg"] == page.tags["figure"] == result.charts  # one SVG per chart slot
    for tag, name, value in page.attrs:
        assert not name.startswith("on"), (tag, name, value)
        assert not value.strip().lower().startswith("javascript:"), (tag, name, value)
        if name == "id":
            assert SAFE_ID.match(value), (tag, value)
    ours = [v for t, n, v in page.attrs if n == "id" and t in ("figure", "h3", "section")]
    assert len(ours) == len(set(ours))
    # the hostile strings are on the page, as written
    text = "".join(page.texts)
    missing = [t for t in hostile_texts(lang) if t not in text]
    assert missing == []
    # chart text too: "$...$" drawn as written, not as mathtext
    svg_texts = re.findall(r"<text[^>]*>([^<]*)</text>", html_text)
    assert any("$\\frac{1}$ and $x$" in t for t in svg_texts)
    assert "\x00" not in html_text


def test_png_names_are_slugs_inside_the_folder(hostile_report: dict[str, Any]) -> None:
    for lang in ("zh", "en"):
        result, folder = hostile_report[lang]["result"], hostile_report[lang]["folder"]
        png_dir = (folder / "png").resolve()
        assert len(result.pngs) >= result.charts - 1  # the city chart may need a CJK font
        names = [p.name for p in result.pngs]
        assert len(set(names)) == len(names)
        for png in result.pngs:
            assert png.resolve().parent == png_dir
            assert re.fullmatch(r"\d{2}(-[A-Za-z0-9_][A-Za-z0-9_-]*)?\.png", png.name), png.name
            assert len(png.name) <= 80
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # nothing written anywhere else
        written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
        assert written == sorted(["png", "report.html", *(f"png/{n}" for n in names)])
    # the hostile names made charts of their own
    assert any("onerror" in n for n in names) and any("hidden" in n for n in names)


def test_report_png_through_the_cli(
    hostile_scored: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`segrule report --png` with '/' in a segment name: exit 0, one line per message."""
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SEGRULE_DEBUG", raising=False)
    out = tmp_path / "r.html"
    done = CliRunner().invoke(
        app, ["report", str(hostile_scored["new"]), "--out", str(out), "--png", str(tmp_path)]
    )
    assert done.exit_code == 0, done.output
    assert "internal error" not in done.output and "Traceback" not in done.output
    assert out.exists()
    assert {p.parent for p in tmp_path.rglob("*.png")} == {tmp_path}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tier", "tier"),
        ("rfm_segment", "rfm_segment"),
        ("sizes-../../etc/passwd", "sizes-etc-passwd"),
        ("..", ""),
        (".hidden\\x\x00y", "hidden-x-y"),
        ('"><img src=x>', "img-src-x"),
        ("客户等级", ""),
        ("a" * 300, "a" * 60),
    ],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected
