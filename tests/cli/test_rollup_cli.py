"""`segrule rollup` through the CLI: the files and the marker, the folder guards, one-line
errors naming the rollup and the column, and `segrule report --rollups`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_cli")

AS_OF = "2026-11-01"


def _rollup(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["rollup", *args])
    return result.exit_code, result.output


def test_writes_one_file_per_rollup_and_the_marker(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rollups"
    code, text = _rollup(
        "product-pareto", "--data", str(data_dir), "--as-of", AS_OF, "--out", str(out)
    )
    assert code == 0, text
    names = ["key_categories", "regional_demand", "core_cities", "segments_by_region"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".segrule-rollups", *(f"{n}.parquet" for n in names)]
    )
    marker = json.loads((out / ".segrule-rollups").read_text(encoding="utf-8"))
    assert list(marker["rollups"]) == names
    assert marker["rollups"]["segments_by_region"]["keys"] == ["region", "rfm_segment"]
    assert marker["rollups"]["core_cities"]["zh"] == "核心城市"
    for n in names:
        assert f"wrote {out / n}.parquet" in text.replace("\n", "")
    # The same tables as the API computes, and the file carries the manifest.
    api = segrule.rollups("product-pareto", data=data_dir, as_of=AS_OF)
    for n in names:
        assert pl.read_parquet(out / f"{n}.parquet").equals(api.tables[n])
    meta = pl.read_parquet_metadata(out / "key_categories.parquet")
    manifest = json.loads(meta["segrule.manifest"])
    assert manifest["rollup"]["name"] == "key_categories"
    assert manifest["as_of"].startswith("2026-11-01")
    # Orders revenue adds up to the customers' lifetime spend.
    scores = segrule.score("product-pareto", data=data_dir, as_of=AS_OF)
    total = round(scores["monetary_lifetime"].sum() * 100)
    for n in names:
        frame = pl.read_parquet(out / f"{n}.parquet")
        assert round((frame["revenue"] * 100).round(0).sum()) == total


def test_some_rollups_in_csv_replace_the_folder(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rollups"
    args = ["product-pareto", "--data", str(data_dir), "--as-of", AS_OF, "--out", str(out)]
    assert _rollup(*args)[0] == 0
    code, text = _rollup(*args, "--rollup", "core_cities", "-r", "key_categories", "-f", "csv")
    assert code == 0, text
    # Written whole: the Parquet files of the first run are gone.
    assert sorted(p.name for p in out.iterdir()) == [
        ".segrule-rollups",
        "core_cities.csv",
        "key_categories.csv",
    ]
    cities = pl.read_csv(out / "core_cities.csv")
    assert cities.columns[0] == "city"
    assert cities["cumulative_share"][-1] == 1.0


def test_unknown_group_column_is_one_line_naming_rollup_and_column(
    data_dir: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text("extends: rfm\nrollups:\n  key_products:\n    by: [sku]\n", encoding="utf-8")
    code, text = _rollup(str(rules), "--data", str(data_dir), "--out", str(tmp_path / "o"))
    assert code == 1
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert re.match(r"error: .*no column 'sku' \(needed by rollup 'key_products'\)", lines[0])
    assert not (tmp_path / "o").exists()


def test_unknown_customer_key_and_unknown_rollup(data_dir: Path, tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text("rollups:\n  by_region:\n    by: [customer.regoin]\n", encoding="utf-8")
    code, text = _rollup(str(rules), "--data", str(data_dir), "--out", str(tmp_path / "o"))
    assert code == 1
    assert text.strip().splitlines() == [
        f"error: {rules}:3:10: rollup 'by_region': group key 'customer.regoin': no dimension, "
        "segment or tier 'regoin' — did you mean 'region'?; `segrule dimensions` lists the "
        "builtin ones"
    ]
    code, text = _rollup(
        "product-pareto", "--data", str(data_dir), "--out", str(tmp_path / "o"), "-r", "key_cats"
    )
    assert code == 2
    assert "error: --rollup: unknown rollup 'key_cats' — did you mean 'key_categories'?" in text


@pytest.mark.parametrize("case", ["data", "foreign-file", "a-file"])
def test_output_folder_guards(data_dir: Path, tmp_path: Path, case: str) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    before = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()}
    if case == "data":
        out, said = data, "which this command reads"
    elif case == "foreign-file":
        out = tmp_path / "mine"
        out.mkdir()
        (out / "notes.txt").write_text("keep me", encoding="utf-8")
        said = "holds files segrule did not write (notes.txt)"
    else:
        out = tmp_path / "rollups"
        out.write_text("a file", encoding="utf-8")
        said = "is a file, not a folder"
    code, text = _rollup("product-pareto", "--data", str(data), "--as-of", AS_OF, "--out", str(out))
    assert code == 1
    assert len(text.strip().splitlines()) == 1 and said in text.replace("\n", " "), text
    assert {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()} == before
    if case == "foreign-file":
        assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    # A folder written before that later got a foreign file is refused too.
    if case == "foreign-file":
        done = tmp_path / "done"
        assert (
            _rollup("product-pareto", "--data", str(data), "--as-of", AS_OF, "--out", str(done))[0]
            == 0
        )
        (done / "extra.csv").write_text("x\n", encoding="utf-8")
        code, text = _rollup(
            "product-pareto", "--data", str(data), "--as-of", AS_OF, "--out", str(done)
        )
        assert code == 1 and "extra.csv" in text


def test_report_shows_the_rollups(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rollups"
    assert (
        _rollup("product-pareto", "--data", str(data_dir), "--as-of", AS_OF, "--out", str(out))[0]
        == 0
    )
    segrule.run("product-pareto", tmp_path / "scores.parquet", data=data_dir, as_of=AS_OF)
    html = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "report",
            str(tmp_path / "scores.parquet"),
            "--out",
            str(html),
            "--rollups",
            str(out),
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    page = html.read_text(encoding="utf-8")
    for name in ("key_categories", "regional_demand", "core_cities", "segments_by_region"):
        assert f'id="rollup-{name}"' in page
    assert "Key categories (80/20)" in page
    first = pl.read_parquet(out / "key_categories.parquet").row(0, named=True)
    assert f"{first['revenue']:,.2f}" in page  # the table's numbers are the file's
    assert "Pareto key" in page
    # The rollups folder is an input of the report: never its --out.
    bad = runner.invoke(
        app,
        [
            "report",
            str(tmp_path / "scores.parquet"),
            "--out",
            str(out / "r.html"),
            "--rollups",
            str(out),
        ],
    )
    assert bad.exit_code == 1 and "the rollups folder" in bad.output
    # Not a rollups folder: one line.
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = runner.invoke(
        app,
        ["report", str(tmp_path / "scores.parquet"), "--out", str(html), "--rollups", str(empty)],
    )
    assert bad.exit_code == 1 and "is not a rollups folder" in bad.output


def test_validate_checks_the_rollups(data_dir: Path, tmp_path: Path) -> None:
    ok = runner.invoke(app, ["validate", "product-pareto"])
    assert ok.exit_code == 0
    assert "rollups: key_categories, regional_demand, core_cities, segments_by_region" in (
        " ".join(ok.output.split())
    )
    rules = tmp_path / "r.yaml"
    rules.write_text("extends: rfm\nrollups:\n  key_products:\n    by: [sku]\n", encoding="utf-8")
    # Without data a column no contract lists may be the user's: checked with --data.
    assert runner.invoke(app, ["validate", str(rules)]).exit_code == 0
    bad = runner.invoke(app, ["validate", str(rules), "--data", str(data_dir)])
    assert bad.exit_code == 1 and "needed by rollup 'key_products'" in bad.output
    rules.write_text("rollups:\n  x:\n    by: [customer.regoin]\n", encoding="utf-8")
    bad = runner.invoke(app, ["validate", str(rules)])
    assert bad.exit_code == 1 and "rollup 'x': group key 'customer.regoin'" in bad.output


def test_run_writes_the_rollups_from_its_own_plan(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rollups"
    run = ["run", "product-pareto", "--data", str(data_dir), "--as-of", AS_OF]
    result = runner.invoke(
        app,
        [*run, "--out", str(tmp_path / "s.parquet"), "--rollups", str(out), "-q"],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 4 rollups to" in result.output
    api = segrule.rollups("product-pareto", data=data_dir, as_of=AS_OF)
    for name, table in api.tables.items():
        assert pl.read_parquet(out / f"{name}.parquet").equals(table), name
    # A customer value the run does not write: one line, exit 2, nothing written.
    bad = runner.invoke(
        app,
        [
            *run,
            *("--out", str(tmp_path / "t.parquet"), "--rollups", str(tmp_path / "r2")),
            *("--outputs", "customer_id,rfm_segment"),
        ],
    )
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [
        "error: --rollups: rollup 'regional_demand' reads region, which the run does not "
        "write; add it to the rule set's outputs (or --outputs), or write the rollups with "
        "segrule rollup"
    ]
    assert not (tmp_path / "t.parquet").exists() and not (tmp_path / "r2").exists()
    spark = runner.invoke(
        app,
        [
            *run,
            *("--out", str(tmp_path / "u.parquet"), "--rollups", str(tmp_path / "r3")),
            *("--engine", "spark"),
        ],
    )
    assert spark.exit_code == 2 and "--rollups runs with the local engine only" in spark.output
