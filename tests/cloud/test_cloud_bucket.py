"""``segrule.bucket`` reads tables from an object store as a run does, and the local
layout it writes scores as the tables in the store."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.generate import generate
from segrule.io.layout import MARKER

from .conftest import SECRET


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cloud-bucket-data")
    generate(out, orders=2_000, seed=8, tables=["orders", "customers"], id_type="int")
    return out


def test_a_data_folder_in_a_store_is_bucketed_locally(bucket, data: Path, tmp_path: Path) -> None:
    bucket.put("data/orders.parquet", data / "orders.parquet")
    csv = tmp_path / "customers.csv"
    pl.read_parquet(data / "customers.parquet").write_csv(csv)
    bucket.put("data/customers.csv", csv)
    layout = tmp_path / "lay"
    result = segrule.bucket(data=bucket.url("data/"), buckets=4, out=layout)
    assert {name: t.rows for name, t in result.tables.items()} == {
        "orders": 2_000,
        "customers": pl.read_parquet(data / "customers.parquet").height,
    }
    text = (layout / MARKER).read_text(encoding="utf-8")
    assert SECRET not in text
    record = json.loads(text)
    assert record["tables"]["orders"]["source"] == bucket.url("data/orders.parquet")
    assert record["tables"]["customers"]["formats"] == ["csv"]
    want = segrule.score(["rfm"], data=bucket.url("data/"), as_of="2026-11-01")
    assert want.height > 100 and want.schema["customer_id"] == pl.Int64
    assert_frame_equal(segrule.score(["rfm"], data=layout, as_of="2026-11-01"), want)
