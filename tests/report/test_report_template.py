"""The page template (segrule/templates/report.html.j2): every string that reaches the
page is escaped, wherever it lands; only segrule's own chart SVG is inserted as markup.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.report import HEADINGS, UI, Chart, _Page, build_report, render_page

from .test_report_safety import REPORT_TAGS, PageScan

SCRIPT = "<script>alert(1)</script>"
#: breaks out of a double- or single-quoted attribute if written unescaped
ATTR = '" onmouseover="alert(2)" x=\'y\''
HOSTILE = SCRIPT + ATTR


def scan(page_html: str) -> PageScan:
    page = PageScan()
    page.feed(page_html)
    page.close()
    return page


def test_every_block_of_the_template_escapes() -> None:
    """A hostile string in every field of every kind of block, and as a chart's name:
    no tag or attribute of its own, the text exactly as written."""
    page = _Page("en")
    page.section("headline", HOSTILE)
    page.add("facts", entries=[(HOSTILE, HOSTILE)])
    page.add("notes")
    page.heading(HOSTILE, HOSTILE, HOSTILE)
    page.add("h4", text=HOSTILE)
    page.para(HOSTILE, HOSTILE)
    page.add("list", entries=[HOSTILE])
    page.table([HOSTILE, HOSTILE], [[HOSTILE, HOSTILE]], 1)
    page.chart(Chart("x", lambda lang: None))  # type: ignore[arg-type,return-value]
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><text>&lt;script&gt;</text></svg>'
    html_text = render_page(page, [{"name": HOSTILE, "svg": svg}], [HOSTILE], HOSTILE)
    parsed = scan(html_text)
    assert set(parsed.tags) <= REPORT_TAGS
    assert parsed.tags["script"] == 0
    assert "<script" not in html_text.lower()
    assert not [a for a in parsed.attrs if a[1].startswith("on")]
    # facts (2), notes, h3 text and code, h4, para, list, table header (2) and cell (2)
    # cell (2), the section's heading (in the nav too) and the footer's version: 15
    text = "".join(parsed.texts)
    assert text.count(HOSTILE) == 15
    # in attributes it stays one attribute value: the id of the h3, the class of the
    # paragraph, the id of the figure
    values = {(t, n): v for t, n, v in parsed.attrs}
    assert values[("h3", "id")] == HOSTILE
    assert values[("p", "class")] == HOSTILE
    assert values[("figure", "id")] == "chart-" + HOSTILE
    # the SVG is markup (segrule's own), inserted as is
    assert svg in html_text
    assert parsed.tags["svg"] == 1


def test_hostile_data_in_titles_headings_cells_and_charts(tmp_path: Path) -> None:
    """An output without rule set (labels are the values) whose labels, column names and
    cities are <script> tags: escaped in the headings, table cells and the SVG text of
    the charts, in both languages."""
    n = 12
    output = tmp_path / "scores.csv"
    pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            SCRIPT: [SCRIPT if i % 2 else ATTR for i in range(n)],
            "city": [SCRIPT if i % 3 else "上海" for i in range(n)],
            "monetary_lifetime": [float(i * 10) for i in range(n)],
        }
    ).write_csv(output)
    for lang in ("zh", "en"):
        out = tmp_path / f"{lang}.html"
        result = build_report(output, out, lang=lang, engine=segrule.Engine(autoload=False))
        html_text = out.read_text(encoding="utf-8")
        parsed = scan(html_text)
        assert parsed.tags["script"] == 0 and "<script" not in html_text.lower()
        assert set(parsed.tags) <= REPORT_TAGS
        assert not [a for a in parsed.attrs if a[1].startswith("on")]
        # h3 of the column (sizes and playbook), its label cells, the city cells
        h3 = re.findall(r"<h3[^>]*>(.*?)</h3>", html_text)
        assert sum("&lt;script&gt;" in h for h in h3) >= 2
        cells = re.findall(r"<td[^>]*>(.*?)</td>", html_text)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cells
        assert "&#34; onmouseover=&#34;alert(2)&#34; x=&#39;y&#39;" in cells
        # the charts' SVG text: matplotlib escaped the labels, the bar chart's title
        # (the column name) and the city names
        svg_texts = [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", html_text)]
        assert sum("&lt;script&gt;alert(1)&lt;/script&gt;" in t for t in svg_texts) >= 3
        assert result.charts >= 2


# -- --lang zh: the page's own texts in Chinese --------------------------------------
#: The page's fixed English texts a Chinese page must not show: section headings, the
#: sub-headings, table headers, chart titles, axis labels and legends.
ENGLISH_FIXED = [
    *(UI[k]["en"] for k in HEADINGS),
    *(UI[k]["en"] for k in ("title", "geo_top", "moved", "stayed")),
    *(UI[k]["en"] for k in ("label", "name", "customers", "share", "revenue")),
    *(UI[k]["en"] for k in ("revenue_share", "old", "new", "actions", "city", "region")),
    *(UI[k]["en"] for k in ("pareto_x", "pareto_y", "rfm_counts", "rfm_monetary")),
    *("f_score", "r_score", "Other cities", "North", "East", "South"),
]


def _chart_texts(html_text: str, figure_id_end: str = "") -> list[str]:
    figures = re.findall(
        r'<figure class="chart" id="chart-([^"]*)">(.*?)</figure>', html_text, re.S
    )
    return [
        t
        for name, svg in figures
        if name.endswith(figure_id_end)
        for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    ]


def test_cli_report_lang_zh_has_no_english_heading(
    scored: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segrule.model.geo import REGION_LABELS
    from segrule_cli.app import app
    from typer.testing import CliRunner

    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    out = tmp_path / "zh.html"
    args = ["report", str(scored["new"]), "--out", str(out), "--lang", "zh"]
    args += ["--previous", str(scored["old"]), "--data", str(scored["data"])]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    html_text = out.read_text(encoding="utf-8")
    # headings, table headers, fact names: what a reader takes in first
    fixed = re.findall(r"<(h[1-4]|th|dt|title|a)\b[^>]*>(.*?)</\1>", html_text, re.S)
    shown = [re.sub(r"<code>.*?</code>", "", text) for _, text in fixed]
    shown += _chart_texts(html_text)
    assert len(shown) > 100
    left = sorted({e for e in ENGLISH_FIXED for s in shown if e in s})
    assert left == []
    assert {"迁移矩阵", "客户地域分布", "营销行动手册", "原标签", "收入占比"} <= set(shown)
    # the region chart: Chinese title and region names, none in English
    region = _chart_texts(html_text, "-sizes-region")
    assert "区域" in region
    assert {zh for zh, _ in REGION_LABELS.values()} <= set(region)
    assert not {en for _, en in REGION_LABELS.values()} & set(region)
    assert "region" not in region
    # the RFM grid's axes and the histograms' titles
    assert "F 评分（购买频率）" in shown and "累计订单数" in shown


# -- no CJK font: the page says which PNGs fell back and how to fix it -----------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_says_when_pngs_fell_back_for_want_of_a_cjk_font(
    scored: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.setattr("segrule.report.find_cjk_font", lambda: None)
    out = tmp_path / "r.html"
    result = build_report(
        scored["new"],
        out,
        data=scored["data"],  # Chinese city names: that chart's PNG cannot be written
        lang=lang,
        png_dir=tmp_path / "png",
        engine=segrule.Engine(autoload=False),
    )
    notes = scan(out.read_text(encoding="utf-8"))
    text = "".join(notes.texts)
    skipped = [w.split(" ")[0] for w in result.warnings if "not written" in w]
    assert len(skipped) == 1 and skipped[0].endswith("-city-top.png")
    assert skipped[0] in text
    assert "fonts-noto-cjk" in text
    if lang == "zh":
        # every PNG drawn in English: said, in Chinese
        assert f"{len(result.pngs)} 张 PNG 图表（png）改用英文标签" in text
        assert "安装中文字体后重新运行" in text
    else:
        # English PNGs are what was asked for: only the city chart fell back
        assert "English labels" not in text
        assert "Install a CJK font, then run the report again" in text
    assert [n for n in result.notes if "fonts-noto-cjk" in n]


def test_no_font_note_when_nothing_fell_back(
    scored: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --png nothing is rasterized: the page's SVG text uses the reader's fonts."""
    monkeypatch.setattr("segrule.report.find_cjk_font", lambda: None)
    out = tmp_path / "r.html"
    build_report(scored["new"], out, data=scored["data"], engine=segrule.Engine(autoload=False))
    assert "fonts-noto-cjk" not in out.read_text(encoding="utf-8")
