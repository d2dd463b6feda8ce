"""The report opened in headless Chromium: it renders every chart, with no console
error, offline; and `segrule report` through the CLI, PNGs included."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import pytest
import segrule
from segrule.report import HEADINGS, UI, build_report
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SEGRULE_DEBUG", raising=False)


def open_page(browser: Any, path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, errors


def assert_offline(text: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?://""", text, re.I)
    assert "<script src" not in text.lower()
    assert "@import" not in text and "url(http" not in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_renders_in_chromium(
    browser: Any, scored: dict[str, Path], tmp_path: Path, lang: str
) -> None:
    out = tmp_path / "report.html"
    rollups = tmp_path / "rollups"
    segrule.rollup(
        "product-pareto",
        rollups,
        data=scored["data"],
        as_of="2026-11-01",
        engine=segrule.Engine(autoload=False),
    )
    result = build_report(
        scored["new"],
        out,
        previous=scored["old"],
        data=scored["data"],
        lang=lang,
        png_dir=tmp_path / "png",
        engine=segrule.Engine(autoload=False),
        rollups=rollups,
    )
    assert result.sections == list(HEADINGS)
    text = out.read_text(encoding="utf-8")
    assert_offline(text)
    page, errors = open_page(browser, out)
    try:
        charts = page.locator("figure.chart > svg")
        assert charts.count() == result.charts >= 20
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box and box["width"] > 50 and box["height"] > 50, f"chart {i} is empty"
        headings = page.locator("h2").all_inner_texts()
        assert headings == [UI[key][lang] for key in HEADINGS]
        assert page.locator("#playbook table").count() >= 3
        assert page.locator("#rollups table").count() == 4  # product-pareto's rollups
        assert errors == []
    finally:
        page.close()
    if lang == "zh":
        assert "超级VIP" in text and "Super VIP" in text  # the other language beside
    # PNGs: one per chart (the city chart and the core cities rollup's need a CJK
    # font), valid and not tiny
    assert len(result.pngs) >= result.charts - 2
    for png in result.pngs:
        head = png.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", head[16:24])
        assert 300 <= width <= 3000 and 200 <= height <= 3000


def test_png_labels_fall_back_to_english_without_cjk_font(
    scored: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("segrule.report.find_cjk_font", lambda: None)
    result = build_report(
        scored["new"],
        tmp_path / "r.html",
        data=scored["data"],
        png_dir=tmp_path / "png",
        engine=segrule.Engine(autoload=False),
    )
    assert any("no CJK font" in w for w in result.warnings)
    assert any("city names need a CJK font" in w for w in result.warnings)
    assert not any("city-top" in p.name for p in result.pngs)
    assert len(result.pngs) == result.charts - 1


def test_report_without_manifest_falls_back(
    browser: Any, scored: dict[str, Path], tmp_path: Path
) -> None:
    import polars as pl

    csv = tmp_path / "scores.csv"
    pl.read_parquet(scored["new"]).write_csv(csv)
    out = tmp_path / "r.html"
    result = build_report(csv, out, lang="en", engine=segrule.Engine(autoload=False))
    assert UI["fallback_labels"]["en"] in result.notes
    page, errors = open_page(browser, out)
    assert page.locator("figure.chart > svg").count() == result.charts
    assert errors == []
    page.close()
    # with --ruleset the labels come back
    result = build_report(
        csv, out, ruleset=["taobao-5-tier"], lang="en", engine=segrule.Engine(autoload=False)
    )
    assert not result.notes
    assert "Super VIP" in out.read_text(encoding="utf-8")


def test_cli_report(scored: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = runner.invoke(
        app,
        [
            "report",
            str(scored["new"]),
            "--out",
            str(out),
            "--lang",
            "en",
            "--png",
            str(tmp_path / "png"),
            "--previous",
            str(scored["old"]),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output and out.exists()
    assert "Migration matrix" in out.read_text(encoding="utf-8")
    assert list((tmp_path / "png").glob("*.png"))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.parquet"], 1, "output file not found"),
        (["{new}", "--lang", "fr"], 2, "--lang 'fr' is not zh or en"),
        (["{new}", "--revenue", "nope"], 2, "--revenue 'nope' is not a column"),
        (["{new}", "--ruleset", "no-such-preset"], 1, "neither a rule file nor a preset"),
    ],
)
def test_cli_report_errors_are_one_line(
    scored: dict[str, Path], tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    argv = [a.format(new=scored["new"]) for a in args]
    r = runner.invoke(app, ["report", *argv, "--out", str(tmp_path / "r.html")])
    assert r.exit_code == code, r.output
    assert message in r.output and "Traceback" not in r.output


#: Run in the page after load: what a script injected by user text would have left.
PAGE_STATE = """() => {
    // fire the handlers an injected attribute could carry
    for (const el of document.querySelectorAll('*')) {
        for (const type of ['mouseover', 'mouseenter', 'focus']) {
            el.dispatchEvent(new Event(type, {bubbles: true}));
        }
    }
    for (const a of document.querySelectorAll('a')) a.click();
    const all = [...document.querySelectorAll('*')];
    return {
        pwned: window.__pwned === undefined ? null : String(window.__pwned),
        scripts: document.scripts.length,
        handlers: all.flatMap(el => [...el.attributes]
            .filter(a => a.name.toLowerCase().startsWith('on'))
            .map(a => `${el.tagName} ${a.name}`)),
        urls: all.flatMap(el => ['href', 'src', 'xlink:href']
            .map(n => el.getAttribute(n) || '')
            .filter(v => /^\\s*(javascript|data:text\\/html)/i.test(v))),
        text: document.body.innerText,
        svgText: [...document.querySelectorAll('svg text')].map(t => t.textContent).join('\\n'),
        location: location.href,
    };
}"""


def test_hostile_report_runs_no_script_in_chromium(
    browser: Any,
    scored: dict[str, Path],
    hostile_scored: dict[str, Path],
    hostile_texts: Any,
    tmp_path: Path,
) -> None:
    """A rule set whose names, titles, labels and actions are script, attribute, title,
    style, CDATA and template break-outs: one page load, no script runs, no dialog
    opens, and every one of those strings is shown as written."""
    out = tmp_path / "hostile.html"
    result = build_report(
        hostile_scored["new"],
        out,
        previous=hostile_scored["old"],
        data=scored["data"],
        lang="zh",
        engine=segrule.Engine(autoload=False),
    )
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    try:
        page.goto(out.resolve().as_uri())
        page.wait_for_load_state("load")
        state = page.evaluate(PAGE_STATE)
        # an <img onerror> that got in fires during load; give late handlers a moment
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned === undefined")
    finally:
        page.close()
    assert dialogs == []
    assert state["pwned"] is None
    assert state["scripts"] == 0
    assert state["handlers"] == [] and state["urls"] == []
    assert errors == []
    assert state["location"].startswith(out.resolve().as_uri())
    assert page_has_all(state["text"], hostile_texts("zh"))
    assert "$\\frac{1}$ and $x$" in state["svgText"]  # chart labels as written too
    assert page.is_closed() and result.charts >= 10


def page_has_all(text: str, expected: list[str]) -> bool:
    """Whether every expected string is in the page's text; whitespace compared as single
    spaces (innerText folds runs of it)."""
    flat = " ".join(text.split())
    missing = [t for t in expected if " ".join(t.split()) not in flat]
    assert missing == [], missing
    return True
