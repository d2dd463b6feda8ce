"""Each kind of bad input gets one clear line and exit code 1, never a traceback.

The line names the file, the column or the rule (with the YAML line and column) and
what to do; every case below is one the platform teams' unattended jobs can meet.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from segrule.generate import generate
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()

RULES = {
    "syntax.yaml": 'name: s\nsegments:\n  a: {flag: "x > 1"\n',
    "unknownkey.yaml": 'name: s\nsegmnets:\n  a: {flag: "orders_30d > 1"}\n',
    "unknowndim.yaml": 'name: s\nsegments:\n  a: {flag: "order_30d > 1"}\n',
    "cycle.yaml": 'name: s\nsegments:\n  a: {flag: "b"}\n  b: {flag: "a"}\n',
    "notbool.yaml": 'name: s\nsegments:\n  a: {flag: "orders_30d + 1"}\n',
    "typemis.yaml": "name: s\nsegments:\n  a: {flag: \"orders_30d > 'abc'\"}\n",
    "order.yaml": (
        "name: s\nscores:\n  sc:\n    strategy: points\n    params:\n      parts:\n"
        "        - {dimension: orders_30d, bins: [{min: 0, points: 1}, {min: 5, points: 2}]}\n"
    ),
    "datetext.yaml": "name: s\nsegments:\n  a: {flag: \"first_order_ts >= '2026-10-01'\"}\n",
    "loop1.yaml": "name: l1\nextends: loop2.yaml\n",
    "loop2.yaml": "name: l2\nextends: loop1.yaml\n",
}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("bad")
    good = base / "good"
    generate(good, orders=500, seed=4)
    orders = pl.read_parquet(good / "orders.parquet")
    variants = {
        "truncated": (good / "orders.parquet").read_bytes()[:3000],
        "zero": b"",
    }
    for name, content in variants.items():
        (base / name).mkdir()
        (base / name / "customers.parquet").write_bytes((good / "customers.parquet").read_bytes())
        (base / name / "orders.parquet").write_bytes(content)
    for name, frame in {
        "noamount": orders.drop("amount"),
        "listamount": orders.with_columns(pl.lit([1, 2]).alias("amount")),
    }.items():
        (base / name).mkdir()
        frame.write_parquet(base / name / "orders.parquet")
    for file, text in RULES.items():
        (base / file).write_text(text)
    _bad_csvs(base, good, orders)
    return base


def _bad_csvs(base: Path, good: Path, orders: pl.DataFrame) -> None:
    """Folders whose orders.csv segrule must refuse (or that a check mostly rejects)."""
    text = orders.head(50).with_columns(pl.lit("连衣裙").alias("category")).write_csv()
    lines = text.splitlines()
    unterminated = [*lines[:5], lines[5].replace(",", ',"', 1), *lines[6:]]
    ragged = [*lines[:5], lines[5] + ",extra", *lines[6:]]
    damaged = [*lines[:29], lines[29] + ",\x00", *lines[30:]]
    files = {
        # A byte GB18030 has no character for (0xff) on line 30 of a GBK export.
        "gbk": "\n".join(damaged).encode("gb18030").replace(b"\x00", b"\xff"),
        # UTF-16 cut after an odd number of bytes.
        "utf16": text.encode("utf-16")[:-1],
        "unterminated": "\n".join(unterminated).encode(),
        "ragged": "\n".join(ragged).encode(),
        "textamount": orders.with_columns(pl.lit("abc").alias("amount")).write_csv().encode(),
    }
    for name, content in files.items():
        (base / name).mkdir()
        (base / name / "customers.parquet").write_bytes((good / "customers.parquet").read_bytes())
        (base / name / "orders.csv").write_bytes(content)
    clash = base / "clash" / "orders"
    clash.mkdir(parents=True)
    (base / "clash" / "customers.parquet").write_bytes((good / "customers.parquet").read_bytes())
    orders.head(100).write_parquet(clash / "a.parquet")
    orders.slice(100).with_columns(pl.col("amount").cast(pl.String)).write_parquet(
        clash / "b.parquet"
    )


def _run(work: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(work)
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


RUN = ["run", "rfm", "--out", "o.parquet", "--as-of", "2026-11-01"]

CASES = {
    "missing data folder": (
        [*RUN, "--data", "nowhere"],
        ["table 'orders' is needed", "not found in nowhere", "--orders PATH"],
    ),
    "missing file": (
        [*RUN, "--data", "good", "--orders", "missing.parquet"],
        ["missing.parquet: file not found"],
    ),
    "truncated parquet": (
        [*RUN, "--data", "truncated"],
        ["truncated/orders.parquet: cannot be read", "complete, valid file"],
    ),
    "empty file": ([*RUN, "--data", "zero"], ["zero/orders.parquet: cannot be read"]),
    "missing required column": (
        [*RUN, "--data", "noamount"],
        ["no column 'amount' (needed by monetary_lifetime)", "tables.orders.columns.amount"],
    ),
    "type that cannot be cast": (
        [*RUN, "--data", "listamount"],
        ["listamount/orders.parquet", "'orders.amount' is List(Int64), not a number"],
    ),
    "YAML syntax error": (["validate", "syntax.yaml"], ["syntax.yaml:4:1: YAML syntax error"]),
    "unknown key": (
        ["validate", "unknownkey.yaml"],
        ["unknownkey.yaml:2:1: unknown key 'segmnets'", "did you mean 'segments'"],
    ),
    "unknown dimension": (
        ["validate", "unknowndim.yaml"],
        ["unknowndim.yaml:3:6", "'order_30d'", "did you mean 'orders_30d'"],
    ),
    "cycle": (["validate", "cycle.yaml"], ["cycle.yaml:", "cyclic definition:", "a -> b"]),
    "condition not boolean": (
        ["validate", "notbool.yaml"],
        ["notbool.yaml:3:13", "is Int64, not true/false"],
    ),
    "type mismatch in a comparison": (
        ["validate", "typemis.yaml"],
        ["typemis.yaml:3:13", "cannot compare string with numeric"],
    ),
    "date compared with text": (
        ["validate", "datetext.yaml"],
        ["datetext.yaml:3:13", "DATE '2026-10-01'", "TIMESTAMP"],
    ),
    "thresholds not in order": (
        ["validate", "order.yaml"],
        ["order.yaml:", "thresholds [0, 5] are not in order"],
    ),
    "extends loop": (["validate", "loop1.yaml"], ["extends chain loops", "loop1.yaml"]),
    "unknown preset": (["validate", "rfmm"], ["'rfmm' is neither", "did you mean 'rfm'"]),
    "unknown plugin": (["--plugin", "nosuch", "validate", "rfm"], ["plugin module 'nosuch'"]),
    "GBK CSV with a byte that is no character": (
        [*RUN, "--data", "gbk"],
        [
            "orders.csv: byte 0xff at line 30 (byte offset",
            "is not valid GB18030 (read as GB18030, detected)",
            "give its encoding with tables.orders.encoding",
        ],
    ),
    "UTF-16 CSV cut short": (
        [*RUN, "--data", "utf16"],
        ["orders.csv: byte 0x0a at line 51", "is not valid UTF-16 (read as UTF-16, detected)"],
    ),
    "unterminated quote": (
        [*RUN, "--data", "unterminated"],
        ['unterminated/orders.csv: a quote (") is opened and never closed', "fix that line"],
    ),
    "ragged CSV": (
        [*RUN, "--data", "ragged"],
        ["ragged/orders.csv: a line has more fields than the header", "quote values"],
    ),
    "ragged CSV with rejects": (
        [*RUN, "--data", "ragged", "--rejects", "rej"],
        ["ragged/orders.csv: a line has more fields than the header"],
    ),
    "glob files disagree on a column type": (
        [*RUN, "--data", "clash"],
        ["column 'amount' is Float64 in a.parquet but String in b.parquet", "convert b.parquet"],
    ),
    "a check rejects the whole table": (
        [*RUN, "--data", "textamount"],
        [
            "rows (100%) rejected by bad_amount (column amount, e.g. 'abc')",
            "tables.orders.quality.max_rejected_share",
        ],
    ),
    "as-of that does not parse": (
        ["run", "rfm", "--data", "good", "--out", "o.parquet", "--as-of", "2026-13-45"],
        ["as-of '2026-13-45' is not a date", "2026-11-01"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_one_clear_line(
    case: str, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args, fragments = CASES[case]
    line = _run(work, args, monkeypatch)
    for fragment in fragments:
        assert fragment in line, line
    assert not (work / "o.parquet").exists()


def test_blacklist_is_counted_on_the_command_line(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(work)
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    ids = pl.read_parquet(work / "good" / "customers.parquet")["customer_id"].head(3).to_list()
    (work / "bl.txt").write_text("\n".join(ids))
    args = [*RUN, "--data", "good", "--blacklist", "bl.txt", "-q"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "excluded 3 blacklisted customers (bl.txt)" in result.output
    (work / "o.parquet").unlink()


def test_quality_report_and_rejects_on_the_command_line(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.chdir(work)
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    orders = pl.read_parquet(work / "good" / "orders.parquet")
    dirty = work / "dirty"
    dirty.mkdir(exist_ok=True)
    (dirty / "customers.parquet").write_bytes((work / "good" / "customers.parquet").read_bytes())
    bad = pl.concat(
        [
            orders,
            orders.head(2),  # two duplicate orders
            orders.head(1).with_columns(
                pl.lit(-1.0).alias("amount"), pl.lit("neg").alias("order_id")
            ),
        ]
    )
    bad.write_parquet(dirty / "orders.parquet")
    args = [*RUN, "--data", "dirty", "-q", "--rejects", "rej", "--report", "run.json"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "1 bad_amount drop" in result.output
    assert "2 duplicate_order_id drop" in result.output
    assert "wrote 3 rejected orders rows to rej/orders.parquet" in result.output
    assert sorted(pl.read_parquet(work / "rej" / "orders.parquet")["reason"]) == [
        "bad_amount",
        "duplicate_order_id",
        "duplicate_order_id",
    ]
    report = json.loads((work / "run.json").read_text())
    counts = {(q["table"], q["check"]): q["rows"] for q in report["quality"]}
    assert counts[("orders", "rows_read")] == bad.height
    assert counts[("orders", "duplicate_order_id")] == 2

    # a fail policy stops the run: one error line, no output, the report still written
    (work / "fail.yaml").write_text(
        "name: f\nextends: rfm\ntables:\n  orders:\n    quality: {bad_amount: fail}\n"
    )
    (work / "run.json").unlink()
    (work / "o.parquet").unlink()
    line = _run(
        work,
        [
            "run",
            "fail.yaml",
            "--out",
            "o.parquet",
            "--as-of",
            "2026-11-01",
            "--data",
            "dirty",
            "--report",
            "run.json",
        ],
        monkeypatch,
    )
    assert "orders: 1 rows fail bad_amount" in line
    assert not (work / "o.parquet").exists()
    report = json.loads((work / "run.json").read_text())
    assert "bad_amount" in report["error"]
    assert any(q["check"] == "bad_amount" and q["rows"] == 1 for q in report["quality"])
    for leftover in ["run.json", "rej"]:
        path = work / leftover
        if path.is_dir():
            for f in path.iterdir():
                f.unlink()
            path.rmdir()
        else:
            path.unlink()
