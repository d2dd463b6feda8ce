"""NDJSON (JSON Lines) table sources: read as text like CSV, found in data folders."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule import DataError
from segrule.generate import generate
from segrule.io.sources import find_table_source

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = "2026-11-01"
TABLES = ("orders", "customers", "events", "feedback")


@pytest.fixture(scope="module")
def parquet_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parquet")
    generate(out, orders=2500, seed=5)
    return out


@pytest.fixture(scope="module")
def ndjson_data(parquet_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ndjson")
    for i, table in enumerate(TABLES):
        df = pl.read_parquet(parquet_data / f"{table}.parquet")
        # Shuffled, and half of the tables as .jsonl
        df = df.sample(fraction=1.0, shuffle=True, seed=i)
        df.write_ndjson(out / f"{table}{'.jsonl' if i % 2 else '.ndjson'}")
    return out


@pytest.mark.parametrize("preset", ["taobao-5-tier", "rfm", "value-tiers"])
def test_ndjson_data_scores_as_parquet(preset: str, parquet_data: Path, ndjson_data: Path) -> None:
    assert find_table_source(ndjson_data, "orders") == ndjson_data / "orders.ndjson"
    assert find_table_source(ndjson_data, "customers") == ndjson_data / "customers.jsonl"
    want = segrule.score(preset, data=parquet_data, as_of=AS_OF)
    got = segrule.score(preset, data=ndjson_data, as_of=AS_OF)
    assert_frame_equal(got, want)


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def orders_rows(n: int) -> list[dict[str, object]]:
    return [
        {
            "order_id": i,
            "customer_id": i % 5,
            "order_ts": "2026-10-01 10:00:00",
            "amount": 10.25,
            "status": "paid",
        }
        for i in range(n)
    ]


def test_types_that_change_and_keys_seen_late(tmp_path: Path) -> None:
    rows = orders_rows(300)
    # After 100+ lines: an id as text, an amount as text, a new key, a nested value
    rows.append(
        {
            "order_id": "x-1",
            "customer_id": "4",
            "order_ts": "2026-10-02T08:00:00+08:00",
            "amount": "99.10",
            "status": "paid",
            "channel": "app",
            "extra": {"coupon": [1, 2]},
        }
    )
    write_lines(tmp_path / "orders.ndjson", rows)
    out = segrule.score(
        "rfm", data=tmp_path, as_of=AS_OF, outputs=["monetary_lifetime", "orders_lifetime"]
    )
    assert out["customer_id"].dtype == pl.Int64  # integers written as text stay integers
    by_id = dict(zip(out["customer_id"], out["monetary_lifetime"], strict=True))
    assert by_id[4] == pytest.approx(60 * 10.25 + 99.10)
    assert by_id[0] == pytest.approx(60 * 10.25)


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('{"customer_id": 1}\n{"customer_id": 2,\n{"customer_id": 3}\n', 2),
        ('{"customer_id": 1}\n[1, 2]\n', 2),
        ('{"customer_id": 1}\n\n{"customer_id": 2}\nnot json\n', 4),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, content: str, line: int) -> None:
    (tmp_path / "orders.ndjson").write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        segrule.score("rfm", data=tmp_path, as_of=AS_OF)
    message = str(info.value)
    assert "\n" not in message
    assert "orders.ndjson" in message and f"line {line}" in message


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "orders.ndjson").write_bytes(
        '{"customer_id": "张三", "order_id": 1}\n'.encode("gb18030") * 50
    )
    with pytest.raises(DataError, match="not UTF-8"):
        segrule.score("rfm", data=tmp_path, as_of=AS_OF)


def test_a_folder_of_ndjson_files(tmp_path: Path) -> None:
    folder = tmp_path / "orders"
    folder.mkdir()
    rows = orders_rows(40)
    write_lines(folder / "part-0.ndjson", rows[:20])
    write_lines(folder / "part-1.jsonl", rows[20:])
    (folder / "_SUCCESS").write_text("")
    one = write_lines(tmp_path / "all.ndjson", rows)
    want = segrule.score("rfm", {"orders": str(one)}, as_of=AS_OF)
    got = segrule.score("rfm", {"orders": str(folder)}, as_of=AS_OF)
    assert_frame_equal(got, want)


def test_an_ndjson_output_reads_back_as_an_input(tmp_path: Path, parquet_data: Path) -> None:
    out = tmp_path / "scores.ndjson"
    segrule.run("rfm", out, data=parquet_data, as_of=AS_OF)
    back = segrule.score(
        "taobao-5-tier",
        {"customers": str(out), "orders": str(parquet_data / "orders.parquet")},
        as_of=AS_OF,
        outputs=["orders_lifetime"],
    )
    assert back.height == pl.read_ndjson(out).height
