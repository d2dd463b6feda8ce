"""Excel workbooks as table sources (.xlsx/.xlsm/.xls, a sheet by name or index) and
.xlsx outputs (formulas neutralised, Excel's sheet size checked first)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule import DataError, UsageError
from segrule.generate import generate
from segrule.io import encodings, excel
from segrule.io.cells import neutralize_formulas
from segrule.io.outputs import read_output, scan_output
from segrule.io.sources import find_table_source

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = "2026-11-01"
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都"]


def with_ids(frame: pl.DataFrame, ids: str) -> pl.DataFrame:
    if ids == "int":
        return frame.with_columns(pl.col("customer_id").str.strip_prefix("C").cast(pl.Int64))
    return frame


@pytest.fixture(scope="module", params=["int", "str"])
def parquet_data(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(f"parquet-{request.param}")
    generate(out, orders=1500, seed=7)
    for table in ("orders", "customers", "events", "feedback"):
        frame = with_ids(pl.read_parquet(out / f"{table}.parquet"), request.param)
        if table == "customers":  # Chinese city names, as a Chinese shop's export has
            frame = frame.with_columns(
                pl.col("city")
                .rank("dense")
                .cast(pl.Int64)
                .mod(len(CITIES))
                .map_elements(CITIES.__getitem__, return_dtype=pl.String)
            )
        frame.write_parquet(out / f"{table}.parquet")
    return out


@pytest.fixture(scope="module")
def workbook_data(parquet_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """orders.xlsx (Excel's own types: numbers, dates) and customers.csv in GBK."""
    out = tmp_path_factory.mktemp("workbook")
    orders = pl.read_parquet(parquet_data / "orders.parquet")
    orders.sample(fraction=1.0, shuffle=True, seed=1).write_excel(out / "orders.xlsx")
    customers = pl.read_parquet(parquet_data / "customers.parquet").write_csv()
    (out / "customers.csv").write_bytes(customers.encode("gbk"))
    for table in ("events", "feedback"):
        shutil.copy(parquet_data / f"{table}.parquet", out)
    return out


@pytest.mark.parametrize("preset", ["taobao-5-tier", "rfm", "value-tiers"])
def test_workbook_and_gbk_csv_score_as_parquet(
    preset: str, parquet_data: Path, workbook_data: Path
) -> None:
    assert find_table_source(workbook_data, "orders") == workbook_data / "orders.xlsx"
    want = segrule.score(preset, data=parquet_data, as_of=AS_OF)
    got = segrule.score(preset, data=workbook_data, as_of=AS_OF)
    assert_frame_equal(got, want)
    assert encodings.copy_paths() == []


def test_preference_and_excel_lock_files(tmp_path: Path, parquet_data: Path) -> None:
    orders = pl.read_parquet(parquet_data / "orders.parquet")
    orders.write_excel(tmp_path / "orders.xlsx")
    assert find_table_source(tmp_path, "orders") == tmp_path / "orders.xlsx"
    orders.write_csv(tmp_path / "orders.csv")
    assert find_table_source(tmp_path, "orders") == tmp_path / "orders.csv"
    orders.write_parquet(tmp_path / "orders.parquet")
    assert find_table_source(tmp_path, "orders") == tmp_path / "orders.parquet"
    # A folder of workbooks: the lock file Excel keeps beside an open one is not read.
    folder = tmp_path / "parts"
    folder.mkdir()
    orders.head(700).write_excel(folder / "a.xlsx")
    orders.slice(700).write_excel(folder / "b.xlsx")
    (folder / "~$a.xlsx").write_bytes(b"\x00" * 165)
    want = segrule.score("rfm", {"orders": tmp_path / "orders.parquet"}, as_of=AS_OF)
    got = segrule.score("rfm", {"orders": folder}, as_of=AS_OF)
    assert_frame_equal(got, want)


def test_a_folder_mixing_a_workbook_and_a_gbk_csv(tmp_path: Path, parquet_data: Path) -> None:
    orders = pl.read_parquet(parquet_data / "orders.parquet")
    folder = tmp_path / "orders"
    folder.mkdir()
    orders.head(900).write_excel(folder / "2026-h1.xlsx")
    text = orders.slice(900).with_columns(pl.lit("连衣裙").alias("category")).write_csv()
    (folder / "2026-h2.csv").write_bytes(text.encode("gbk"))
    want = segrule.score("rfm", {"orders": parquet_data / "orders.parquet"}, as_of=AS_OF)
    got = segrule.score("rfm", {"orders": folder}, as_of=AS_OF)
    assert_frame_equal(got, want)


def two_sheet_workbook(path: Path, orders: pl.DataFrame) -> None:
    import xlsxwriter

    with xlsxwriter.Workbook(path) as workbook:
        pl.DataFrame({"说明": ["订单导出", "2026-11"]}).write_excel(workbook, worksheet="说明")
        orders.write_excel(workbook, worksheet="订单")


@pytest.mark.parametrize("sheet", ["订单", "1", "' 订单 '"])
def test_sheet_by_name_or_index(tmp_path: Path, parquet_data: Path, sheet: str) -> None:
    orders = pl.read_parquet(parquet_data / "orders.parquet")
    book = tmp_path / "export.xlsx"
    two_sheet_workbook(book, orders)
    rule = tmp_path / "r.yaml"
    rule.write_text(f"name: r\nextends: rfm\ntables:\n  orders:\n    sheet: {sheet}\n", "utf-8")
    want = segrule.score("rfm", {"orders": parquet_data / "orders.parquet"}, as_of=AS_OF)
    assert_frame_equal(segrule.score(rule, {"orders": book}, as_of=AS_OF), want)


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("2", "no sheet at index 2 (0-based; the workbook has 2); sheets: '说明', '订单'"),
        ("订单2", "no sheet named '订单2'; sheets: '说明', '订单'"),
        (None, "table 'orders' has no column"),  # the first sheet holds notes
    ],
)
def test_a_missing_sheet_lists_the_sheets(
    tmp_path: Path, parquet_data: Path, sheet: str | None, message: str
) -> None:
    book = tmp_path / "export.xlsx"
    two_sheet_workbook(book, pl.read_parquet(parquet_data / "orders.parquet").head(20))
    rule = tmp_path / "r.yaml"
    extra = f"  orders:\n    sheet: {sheet}\n" if sheet else "  orders: {}\n"
    rule.write_text(f"name: r\nextends: rfm\ntables:\n{extra}", "utf-8")
    with pytest.raises(DataError) as err:
        segrule.score(rule, {"orders": book}, as_of=AS_OF)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 not really a zip", b"order_id,customer_id\n1,2\n", b""],
    ids=["damaged", "a-csv-named-xlsx", "empty"],
)
def test_a_damaged_workbook_is_one_line(tmp_path: Path, content: bytes) -> None:
    book = tmp_path / "orders.xlsx"
    book.write_bytes(content)
    with pytest.raises(DataError) as err:
        segrule.score("rfm", {"orders": book}, as_of=AS_OF)
    message = str(err.value)
    assert message.startswith(f"{book}: cannot be read as an Excel workbook (")
    assert "save it again" in message and "\n" not in message


def test_times_as_serial_numbers_or_text_cells(tmp_path: Path, parquet_data: Path) -> None:
    orders = pl.read_parquet(parquet_data / "orders.parquet")
    epoch = pl.datetime(1899, 12, 30)
    serial = (pl.col("order_ts") - epoch).dt.total_milliseconds() / 86_400_000
    orders.with_columns(serial.alias("order_ts")).write_excel(tmp_path / "serial.xlsx")
    assert pl.read_excel(tmp_path / "serial.xlsx").schema["order_ts"] == pl.Float64
    as_text = pl.col("order_ts").dt.strftime("%Y/%m/%d %H:%M:%S")
    orders.with_columns(as_text).write_excel(tmp_path / "text.xlsx")
    want = segrule.score("rfm", {"orders": parquet_data / "orders.parquet"}, as_of=AS_OF)
    for book in ("serial.xlsx", "text.xlsx"):
        assert_frame_equal(segrule.score("rfm", {"orders": tmp_path / book}, as_of=AS_OF), want)


# -- .xlsx outputs ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def risky_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Customer ids a spreadsheet would take for formulas (and a negative number)."""
    out = tmp_path_factory.mktemp("risky")
    generate(out, orders=800, seed=3)
    ids = {"C00000000": '=HYPERLINK("http://x")', "C00000001": "+cmd|' /C calc'!A0"}
    ids |= {"C00000002": "-5", "C00000003": "@SUM(1)", "C00000004": "http://example.com"}
    for table in ("orders", "customers", "events", "feedback"):
        frame = pl.read_parquet(out / f"{table}.parquet")
        frame.with_columns(pl.col("customer_id").replace(ids)).write_parquet(
            out / f"{table}.parquet"
        )
    return out


def test_xlsx_output_reads_back_as_the_parquet_output(tmp_path: Path, risky_data: Path) -> None:
    segrule.run("taobao-5-tier", tmp_path / "s.parquet", data=risky_data, as_of=AS_OF)
    result = segrule.run("taobao-5-tier", tmp_path / "s.xlsx", data=risky_data, as_of=AS_OF)
    assert result.rows == 80
    parquet = pl.read_parquet(tmp_path / "s.parquet")
    want = neutralize_formulas(parquet.lazy()).collect()
    want = want.with_columns(pl.col(pl.Datetime("us", "UTC")).dt.replace_time_zone(None))
    got = pl.read_excel(tmp_path / "s.xlsx", schema_overrides={"customer_id": pl.String})
    assert_frame_equal(got, want, check_dtypes=False)
    ids = set(got["customer_id"])
    assert {'\'=HYPERLINK("http://x")', "'+cmd|' /C calc'!A0", "-5", "'@SUM(1)"} <= ids
    assert "http://example.com" in ids
    with zipfile.ZipFile(tmp_path / "s.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet  # no formula anywhere
        assert "hyperlink" not in sheet.lower()  # and no link made of a text cell
    # The output readers (diff, report, history) read it too, ids as text.
    frame, manifest = read_output(tmp_path / "s.xlsx")
    assert manifest is None and frame["customer_id"].dtype == pl.String
    assert_frame_equal(frame, got)
    assert scan_output(tmp_path / "s.xlsx").collect_schema()["customer_id"] == pl.String


def test_more_rows_than_a_sheet_holds_is_refused_before_writing(
    tmp_path: Path, risky_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "EXCEL_MAX_ROWS", 50)
    out = tmp_path / "s.xlsx"
    with pytest.raises(UsageError) as err:
        segrule.run("rfm", out, data=risky_data, as_of=AS_OF)
    assert "s.xlsx: 80 rows do not fit an Excel sheet (at most 49 rows below the header)" in str(
        err.value
    )
    assert "write .parquet or .csv instead" in str(err.value)
    assert os.listdir(tmp_path) == []  # neither the output nor a temporary file


def test_without_the_excel_extra(
    tmp_path: Path, parquet_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pl.read_parquet(parquet_data / "orders.parquet").write_excel(tmp_path / "orders.xlsx")
    real = importlib.util.find_spec

    def missing(name: str, *args: object, **kwargs: object) -> object:
        if name in ("fastexcel", "xlsxwriter"):
            return None
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", missing)
    with pytest.raises(DataError, match=r"needs the excel extra: pip install 'segrule\[excel\]'"):
        segrule.score("rfm", {"orders": tmp_path / "orders.xlsx"}, as_of=AS_OF)
    out = tmp_path / "s.xlsx"
    with pytest.raises(UsageError, match=r"writing .xlsx needs the excel extra: pip install"):
        segrule.run("rfm", out, data=parquet_data, as_of=AS_OF)
    assert not out.exists()
