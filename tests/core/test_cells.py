"""segrule.io.cells: CSV cells a spreadsheet would read as formulas get a ``'`` in front.

Checked on a frame of every text-like type against a plain-Python rule, then end to end:
a rule set whose label keys and column name start with ``=``, ``+``, ``-``, ``@``, tab
and CR, scored on an orders CSV whose customer ids do too, written by ``run`` and by
``diff --changes``; with ``csv_formulas="keep"`` the same cells are written verbatim.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.diff import diff
from segrule.io.cells import CSV_FORMULAS, is_formula, neutralize_formulas
from segrule.testing import RuleFiles

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\tTAB",
    "\rCR",
]
HARMLESS = ["ok", "'quoted", " =space first", "-5", "-12.50", "a=b", "", "超级VIP"]


def reference(text: str | None) -> str | None:
    """OWASP's rule written plainly: a leading = + - @ tab or CR gets a quote, unless the
    text is a negative number."""
    if text is None or text == "":
        return text
    if text[0] in "=+-@\t\r" and not re.fullmatch(r"-[0-9]+(\.[0-9]+)?", text):
        return "'" + text
    return text


def test_every_text_type_is_neutralized_and_numbers_are_not() -> None:
    values = [*FORMULAS, *HARMLESS, None]
    frame = pl.DataFrame(
        {
            "text": values,
            "cat": pl.Series(values, dtype=pl.Categorical),
            "enum": pl.Series(values, dtype=pl.Enum(sorted({v for v in values if v is not None}))),
            "negative": [-i for i in range(len(values))],
            "money": [-1.5] * len(values),
            "=HYPERLINK(1)": ["x"] * len(values),
        }
    )
    got = neutralize_formulas(frame.lazy()).collect()
    expected = [reference(v) for v in values]
    assert got["text"].to_list() == expected
    assert got["cat"].to_list() == expected
    assert got["enum"].to_list() == expected
    assert got["negative"].to_list() == frame["negative"].to_list()
    assert got.schema["negative"] == pl.Int64 and got.schema["money"] == pl.Float64
    assert got.columns == ["text", "cat", "enum", "negative", "money", "'=HYPERLINK(1)"]
    assert [is_formula(v) for v in FORMULAS] == [True] * len(FORMULAS)
    assert not any(is_formula(v) for v in HARMLESS)


#: customer id -> orders; the order count picks the label (see RULES)
CUSTOMERS = {"=1+1": 1, "+id": 2, "@id": 3, "-2+3": 4, "\tid": 5, "-5": 6, "c7": 7}

RULES = """
name: formulas
dimensions:
  orders_all: {aggregate: "count(*)"}
  below_ten: {expr: "orders_all - 10"}
segments:
  "=seg":
    cases:
      - {when: "orders_all = 1", label: '=HYPERLINK("http://x","y")'}
      - {when: "orders_all = 2", label: "+cmd|' /C calc'!A0"}
      - {when: "orders_all = 3", label: "@SUM(1+1)"}
      - {when: "orders_all = 4", label: "-2+3"}
      - {when: "orders_all = 5", label: "\\tTAB"}
      - {when: "orders_all = 6", label: "\\rCR"}
    default: plain
outputs: [customer_id, orders_all, below_ten, "=seg"]
"""


def orders_csv(folder: Path) -> Path:
    rows = []
    n = 0
    for cid, count in CUSTOMERS.items():
        for _ in range(count):
            n += 1
            rows.append(
                {
                    "order_id": f"o{n}",
                    "customer_id": cid,
                    "order_ts": "2026-10-01 10:00:00",
                    "amount": "10.00",
                    "status": "paid",
                }
            )
    path = folder / "orders.csv"
    pl.DataFrame(rows).write_csv(path)
    return path


def read_back(path: Path) -> pl.DataFrame:
    # as a spreadsheet sees the file: text, nothing inferred
    return pl.read_csv(path, infer_schema=False).sort("orders_all")


@pytest.mark.parametrize("mode", CSV_FORMULAS)
def test_run_csv_output(rules: RuleFiles, tmp_path: Path, mode: str) -> None:
    path = rules("formulas.yaml", RULES)
    tables = {"orders": str(orders_csv(tmp_path))}
    out = tmp_path / "out.csv"
    segrule.run(path, out, tables, as_of="2026-11-01", csv_formulas=mode)  # type: ignore[arg-type]
    got = read_back(out)
    ids = list(CUSTOMERS)
    labels = [*FORMULAS, "plain"]
    if mode == "keep":
        assert got.columns == ["customer_id", "orders_all", "below_ten", "=seg"]
        assert got["customer_id"].to_list() == ids
        assert got["=seg"].to_list() == labels
    else:
        assert got.columns == ["customer_id", "orders_all", "below_ten", "'=seg"]
        assert got["customer_id"].to_list() == [reference(c) for c in ids]
        assert got["customer_id"].to_list()[:3] == ["'=1+1", "'+id", "'@id"]
        assert got["customer_id"].to_list()[5] == "-5"  # a negative number as text
        assert got["'=seg"].to_list() == [reference(v) for v in labels]
        assert got["'=seg"].to_list()[0] == "'" + FORMULAS[0]
    # a numeric column keeps its minus sign: it is a number, not a formula
    assert got["below_ten"].to_list() == [str(n - 10) for n in CUSTOMERS.values()]
    # other formats hold data, not spreadsheet cells: verbatim
    parquet = segrule.run(path, tmp_path / "out.parquet", tables, as_of="2026-11-01").output
    assert pl.read_parquet(parquet).sort("orders_all")["=seg"].to_list() == labels


@pytest.mark.parametrize("mode", CSV_FORMULAS)
def test_diff_changes_csv(rules: RuleFiles, tmp_path: Path, mode: str) -> None:
    path = rules("formulas.yaml", RULES)
    other = rules("other.yaml", RULES.replace("default: plain", "default: '=other'"))
    tables = {"orders": str(orders_csv(tmp_path))}
    out = tmp_path / "changes.csv"
    diff(
        path,
        other,
        tables=tables,
        as_of="2026-11-01",
        changes_out=out,
        csv_formulas=mode,  # type: ignore[arg-type]
    )
    text = out.read_text(encoding="utf-8")
    if mode == "keep":
        assert ",=other" in text and "\n=" not in text.replace(",=other", "")
        assert re.search(r"(^|,)=other(,|$)", text, re.M)
    else:
        assert "'=other" in text
        assert not re.search(r"(^|,)\"?[=+@]", text, re.M), text
