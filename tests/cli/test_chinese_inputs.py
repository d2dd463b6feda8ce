"""`segrule run` on a data folder of Chinese exports: GBK CSV files, a workbook, and an
.xlsx output; a bad reading option is one line."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from segrule.generate import generate
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    parquet = tmp_path_factory.mktemp("parquet")
    generate(parquet, orders=1200, seed=11)
    # 泉州: its GBK bytes are no Big5 character.
    customers = pl.read_parquet(parquet / "customers.parquet").with_columns(
        pl.when(pl.col("city").is_null()).then(None).otherwise(pl.lit("泉州")).alias("city")
    )
    customers.write_parquet(parquet / "customers.parquet")
    gbk = tmp_path_factory.mktemp("gbk")
    for table in ("orders", "customers", "events", "feedback"):
        text = pl.read_parquet(parquet / f"{table}.parquet").write_csv()
        (gbk / f"{table}.csv").write_bytes(text.encode("gbk"))
    return parquet, gbk


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, where: Path) -> str:
    monkeypatch.chdir(where)
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output
    return f"{result.exit_code}\n{result.output}"


def test_run_on_a_gbk_folder_with_an_xlsx_output(
    folders: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parquet, gbk = folders
    run = ["run", "taobao-5-tier", "--as-of", AS_OF]
    out = invoke([*run, "--data", str(parquet), "--out", "want.parquet"], monkeypatch, tmp_path)
    assert out.startswith("0\n"), out
    out = invoke([*run, "--data", str(gbk), "--out", "scores.xlsx"], monkeypatch, tmp_path)
    assert out.startswith("0\n"), out
    assert "scores.xlsx" in out
    want = pl.read_parquet(tmp_path / "want.parquet")
    want = want.with_columns(pl.col(pl.Datetime("us", "UTC")).dt.replace_time_zone(None))
    got = pl.read_excel(tmp_path / "scores.xlsx", schema_overrides={"customer_id": pl.String})
    assert_frame_equal(got, want, check_dtypes=False)
    # diff reads the .xlsx output as any other
    out = invoke(["diff", "want.parquet", "scores.xlsx"], monkeypatch, tmp_path)
    assert out.startswith("0\n"), out


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ("    encoding: big5\n", "is not valid BIG5 (tables.customers.encoding: big5)"),
        ("    delimiter: ab\n", "tables.customers.delimiter: the delimiter must be one"),
        ("    sheet: 订单\n", "tables.customers.sheet applies to Excel workbooks"),
    ],
)
def test_a_bad_reading_option_is_one_line(
    folders: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: str,
    fragment: str,
) -> None:
    _, gbk = folders
    (tmp_path / "r.yaml").write_text(
        f"name: r\nextends: rfm\ntables:\n  customers:\n{options}", encoding="utf-8"
    )
    args = ["run", "r.yaml", "--data", str(gbk), "--as-of", AS_OF, "--out", "o.parquet"]
    out = invoke(args, monkeypatch, tmp_path)
    code, *lines = [line for line in out.splitlines() if line.strip()]
    assert code == "1" and len(lines) == 1, out
    assert lines[0].startswith("error: ") and fragment in lines[0], out
    assert not (tmp_path / "o.parquet").exists()
