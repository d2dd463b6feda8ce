"""The page template (segrule/templates/report.html.j2): every string that reaches the
page is escaped, wherever it lands; only segrule's own chart SVG is inserted as markup.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import segrule
from segrule.report import Chart, _Page, build_report, render_page

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
