"""The Python API takes tables as polars, pandas and pyarrow objects (and any Arrow
stream), with one-line errors for anything else; ``score(lazy=True)`` reads no rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pytest
import segrule
from polars.io.plugins import register_io_source
from polars.testing import assert_frame_equal
from segrule import DataQualityError, UsageError
from segrule.generate import generate

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = "2026-11-01"
PRESETS = ["taobao-5-tier", "rfm"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("inputs")
    generate(out, orders=3000, seed=11)
    return out


@pytest.fixture(scope="module")
def frames(data: Path) -> dict[str, pl.DataFrame]:
    return {
        t: pl.read_parquet(data / f"{t}.parquet")
        for t in ("orders", "customers", "events", "feedback")
    }


@pytest.fixture(scope="module")
def expected(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {p: segrule.score(p, frames, as_of=AS_OF) for p in PRESETS}


class ArrowStream:
    """A stranger's object that speaks only the Arrow PyCapsule stream interface."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.table.__arrow_c_stream__(requested_schema)


CONVERSIONS: dict[str, Any] = {
    "pandas": lambda df: df.to_pandas(),
    "pandas-arrow": lambda df: df.to_pandas(use_pyarrow_extension_array=True),
    "pyarrow-table": lambda df: df.to_arrow(),
    "pyarrow-batch": lambda df: df.to_arrow().combine_chunks().to_batches()[0],
    "pyarrow-reader": lambda df: df.to_arrow().to_reader(max_chunksize=500),
    "pyarrow-dataset": lambda df: pads.dataset(df.to_arrow()),
    "arrow-stream": lambda df: ArrowStream(df.to_arrow()),
}


@pytest.mark.parametrize("kind", sorted(CONVERSIONS))
@pytest.mark.parametrize("preset", PRESETS)
def test_foreign_frames_score_as_polars_frames(
    kind: str, preset: str, frames: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]
) -> None:
    given = {name: CONVERSIONS[kind](df) for name, df in frames.items()}
    assert_frame_equal(segrule.score(preset, given, as_of=AS_OF), expected[preset])


def test_a_pandas_frame_with_text_ids_and_missing_values(frames: dict[str, pl.DataFrame]) -> None:
    text = {
        name: df.with_columns(pl.col("customer_id").cast(pl.String)) for name, df in frames.items()
    }
    want = segrule.score("taobao-5-tier", text, as_of=AS_OF)
    got = segrule.score(
        "taobao-5-tier", {name: df.to_pandas() for name, df in text.items()}, as_of=AS_OF
    )
    assert_frame_equal(got, want)


class Secret:
    def __repr__(self) -> str:
        return "SECRET-ROW " * 1000


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ([{"customer_id": 1}], "a list is not a table"),
        (42, "a int is not a table"),
        (Secret(), "Secret is not a table"),
        (pd.Series([1, 2], name="customer_id"), "series.to_frame()"),
        (pl.Series("customer_id", [1]), "polars.Series is one column"),
    ],
)
def test_anything_else_is_a_one_line_error_without_the_value(value: Any, shown: str) -> None:
    with pytest.raises(UsageError) as info:
        segrule.score("taobao-5-tier", {"orders": value}, as_of=AS_OF)
    message = str(info.value)
    assert "\n" not in message
    assert "table 'orders'" in message and shown in message
    assert "SECRET" not in message and len(message) < 400


def test_tables_must_be_a_mapping(frames: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(UsageError, match="tables must be a mapping"):
        segrule.score("taobao-5-tier", [frames["orders"]], as_of=AS_OF)  # type: ignore[arg-type]


def counting_source(df: pl.DataFrame, reads: list[int]) -> pl.LazyFrame:
    """``df`` as a lazy source that counts the batches it hands out."""

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        out = df if with_columns is None else df.select(with_columns)
        if predicate is not None:
            out = out.filter(predicate)
        if n_rows is not None:
            out = out.head(n_rows)
        reads.append(out.height)
        yield out

    return register_io_source(io_source=source, schema=df.schema)


def with_duplicates(orders: pl.DataFrame) -> pl.DataFrame:
    """Orders with some orders written twice (later, with another amount)."""
    again = orders.head(40).with_columns(
        pl.col("order_ts") + dt.timedelta(minutes=5), pl.col("amount") * 3
    )
    return pl.concat([orders, again]).sample(fraction=1.0, shuffle=True, seed=3)


@pytest.mark.parametrize("preset", PRESETS)
def test_lazy_reads_no_rows_and_equals_the_eager_result(
    preset: str, frames: dict[str, pl.DataFrame]
) -> None:
    orders = with_duplicates(frames["orders"])
    reads: list[int] = []
    given = {**frames, "orders": orders}
    tables = {name: counting_source(df, reads) for name, df in given.items()}
    lazy = segrule.score(preset, tables, as_of=AS_OF, lazy=True)
    assert isinstance(lazy, pl.LazyFrame)
    assert reads == []
    eager = segrule.score(preset, given, as_of=AS_OF)
    assert_frame_equal(lazy.collect(), eager)
    assert reads  # the rows are read when the LazyFrame is collected


def test_lazy_leaves_duplicate_orders_out_when_orders_are_the_universe(
    tmp_path: Path, frames: dict[str, pl.DataFrame]
) -> None:
    orders = with_duplicates(frames["orders"])
    lazy = segrule.score("rfm", {"orders": orders}, as_of=AS_OF, lazy=True)
    assert isinstance(lazy, pl.LazyFrame)
    got = lazy.collect()
    assert_frame_equal(got, segrule.score("rfm", {"orders": orders}, as_of=AS_OF))
    # Kept, the duplicates change the result: the comparison above can fail.
    keep = tmp_path / "keep.yaml"
    keep.write_text(
        "extends: rfm\ntables:\n  orders:\n    quality: {duplicate_order_id: keep}\n",
        encoding="utf-8",
    )
    kept = segrule.score(str(keep), {"orders": orders}, as_of=AS_OF, lazy=True)
    assert isinstance(kept, pl.LazyFrame)
    assert not kept.collect().equals(got)


def test_quality_report_counts_what_lazy_does_not(
    tmp_path: Path, frames: dict[str, pl.DataFrame]
) -> None:
    orders = with_duplicates(frames["orders"])
    rows = segrule.quality_report("rfm", {"orders": orders}, as_of=AS_OF)
    dup = [r for r in rows if r["check"] == "duplicate_order_id"]
    # 40 orders written twice; one may be left out by another check (after as-of, ...)
    assert dup and 30 <= dup[0]["rows"] <= 40
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "extends: rfm\ntables:\n  orders:\n    quality: {duplicate_order_id: fail}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataQualityError, match="duplicate_order_id"):
        segrule.quality_report(str(strict), {"orders": orders}, as_of=AS_OF)
    # The lazy frame itself does not enforce ``fail``: documented, and quality_report does.
    assert isinstance(
        segrule.score(str(strict), {"orders": orders}, as_of=AS_OF, lazy=True), pl.LazyFrame
    )
