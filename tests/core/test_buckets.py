"""The bucket hash (segrule.engine.buckets) against the reference XXH64 of the xxhash
package (seed 42, read as signed, nulls 42), and the layout reader (segrule.io.layout).
Spark itself is compared in tests/spark/test_bucket_hash.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st
from segrule.engine import buckets
from segrule.engine.buckets import (
    BUCKET_SEED,
    bucket_expr,
    bucket_of,
    check_buckets,
    check_id_dtype,
    read_layout,
    xxhash64_text,
)
from segrule.errors import DataError, UsageError
from segrule.io.layout import HASH_TEXT, MARKER, layout_table_of

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")


def reference(value: str | None) -> int:
    """Spark's xxhash64 of a string, from the xxhash package."""
    if value is None:
        return BUCKET_SEED
    h = xxhash.xxh64(value.encode("utf-8"), seed=42).intdigest()
    return h - (1 << 64) if h >= 1 << 63 else h


def pmod(h: int, b: int) -> int:
    """Spark's pmod with Java's truncating %, written out."""
    r = abs(h) % b * (1 if h >= 0 else -1)  # Java: the sign of the dividend
    return (r + b) % b


#: Unicode text without lone surrogates (they have no UTF-8), 0..300 bytes.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=100).filter(
    lambda s: len(s.encode("utf-8")) <= 300
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), texts), max_size=60))
def test_text_hash_is_xxh64_seed_42(values: list[str | None]) -> None:
    got = xxhash64_text(pl.Series("id", values, dtype=pl.String))
    assert got.dtype == pl.Int64 and got.name == "id"
    assert got.to_list() == [reference(v) for v in values]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=40))
def test_every_byte_length_to_300(raw: list[bytes]) -> None:
    """Every length 0..300 takes its own path (stripes, 8-, 4- and 1-byte tails)."""
    values = [b.decode("latin-1") for b in raw]  # 1 or 2 UTF-8 bytes per character
    got = xxhash64_text(pl.Series(values, dtype=pl.String)).to_list()
    assert got == [reference(v) for v in values]


def test_each_length_0_to_300_and_the_spark_checked_cases() -> None:
    values = ["x" * n for n in range(301)] + ["", "a", "C00001", "客户一", "🙂" * 9]
    assert xxhash64_text(pl.Series(values)).to_list() == [reference(v) for v in values]
    assert xxhash64_text(pl.Series([None, None], dtype=pl.String)).to_list() == [42, 42]
    assert xxhash64_text(pl.Series([], dtype=pl.String)).to_list() == []
    assert xxhash64_text(pl.Series([None, None])).to_list() == [42, 42]  # dtype Null


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=50),
    st.integers(1, 65536),
)
def test_integer_ids_hash_as_their_decimal_text(values: list[int | None], b: int) -> None:
    got = xxhash64_text(pl.Series(values, dtype=pl.Int64)).to_list()
    assert got == [reference(None if v is None else str(v)) for v in values]
    as_text = pl.Series([None if v is None else str(v) for v in values], dtype=pl.String)
    assert bucket_of(pl.Series(values, dtype=pl.Int64), b).to_list() == (
        bucket_of(as_text, b).to_list()
    )
    assert bucket_of(as_text, b).to_list() == [pmod(h, b) for h in got]


@pytest.mark.parametrize(
    "dtype", [pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64]
)
def test_every_integer_type(dtype: pl.DataType) -> None:
    values = [0, 1, 7, 100, None]
    if not dtype.is_unsigned_integer():
        values += [-1, -100]
    got = xxhash64_text(pl.Series(values, dtype=dtype)).to_list()
    assert got == [reference(None if v is None else str(v)) for v in values]


def test_uint64_fits_up_to_int64_max_and_is_refused_above() -> None:
    ok = pl.Series([2**63 - 1, 5], dtype=pl.UInt64)
    assert xxhash64_text(ok).to_list() == [reference(str(2**63 - 1)), reference("5")]
    with pytest.raises(DataError, match=r"above 2\*\*63-1: Spark has no such long") as exc:
        xxhash64_text(pl.Series("buyer", [5, 2**63], dtype=pl.UInt64))
    assert "buyer" in str(exc.value) and "\n" not in str(exc.value)


def test_categorical_and_enum_hash_as_their_text() -> None:
    values = ["b", "a", None, "客户一"]
    want = [reference(v) for v in values]
    assert xxhash64_text(pl.Series(values, dtype=pl.Categorical)).to_list() == want
    assert xxhash64_text(pl.Series(values, dtype=pl.Enum(["a", "b", "客户一"]))).to_list() == want


@pytest.mark.parametrize(
    "dtype", [pl.Float64, pl.Float32, pl.Decimal(10, 2), pl.Date, pl.Boolean, pl.Binary]
)
def test_other_id_types_are_one_line_errors(dtype: pl.DataType) -> None:
    with pytest.raises(DataError) as exc:
        check_id_dtype(dtype, "orders", "buyer")
    text = str(exc.value)
    assert "'orders'" in text and "'buyer'" in text and "text or integer" in text
    assert "\n" not in text
    with pytest.raises(DataError):
        xxhash64_text(pl.Series("buyer", [], dtype=dtype))


def test_chunk_boundaries_and_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashed in chunks (here of 7 rows) and from a slice whose Arrow offsets do not
    start at 0: the same values as at once."""
    values = [None if i % 11 == 0 else "id-" + "é" * (i % 40) + str(i) for i in range(100)]
    want = [reference(v) for v in values]
    monkeypatch.setattr(buckets, "CHUNK_ROWS", 7)
    series = pl.Series(values)
    assert xxhash64_text(series).to_list() == want
    assert xxhash64_text(series.slice(13, 50)).to_list() == want[13:63]
    chunked = pl.concat([series.slice(0, 30), series.slice(30)], rechunk=False)
    assert chunked.n_chunks() == 2
    assert xxhash64_text(chunked).to_list() == want


def test_buckets_are_spark_pmod_never_negative() -> None:
    values = [f"C{i:05d}" for i in range(2000)]
    hashes = [reference(v) for v in values]
    assert any(h < 0 for h in hashes)
    for b in (1, 2, 7, 64, 65536):
        got = bucket_of(pl.Series(values), b)
        assert got.dtype == pl.Int32
        assert got.to_list() == [pmod(h, b) for h in hashes]
    # Spread: 2000 ids over 8 buckets, none empty and none above twice the mean.
    counts = bucket_of(pl.Series(values), 8).value_counts()["count"].to_list()
    assert len(counts) == 8 and max(counts) < 2 * 2000 / 8


def test_bucket_expr_runs_inside_a_streaming_plan() -> None:
    n = 300_000  # several morsels
    frame = pl.LazyFrame({"buyer": [f"C{i}" for i in range(n)], "x": range(n)})
    got = (
        frame.with_columns(bucket_expr("buyer", 13))
        .filter(pl.col("x") % 1000 == 0)
        .collect(engine="streaming")
        .sort("x")
    )
    assert got.columns == ["buyer", "x", "segrule_bucket"]
    assert got["segrule_bucket"].to_list() == [
        pmod(reference(v), 13) for v in got["buyer"].to_list()
    ]


@pytest.mark.parametrize("bad", [0, -1, 65537, 2.5, "8", True, None])
def test_bucket_counts_outside_1_to_65536_are_usage_errors(bad: object) -> None:
    with pytest.raises(UsageError, match="buckets") as exc:
        check_buckets(bad)
    assert "\n" not in str(exc.value)
    assert check_buckets(65536) == 65536 and check_buckets(1) == 1


def test_without_numpy_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(UsageError, match=r"segrule\[spark\]") as exc:
        xxhash64_text(pl.Series(["a"]))
    assert "\n" not in str(exc.value)


# -- the layout reader ------------------------------------------------------------------
def marker(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "format": "segrule-buckets",
        "version": 1,
        "buckets": 4,
        "hash": HASH_TEXT,
        "seed": 42,
        "tables": {"orders": {"id_column": "buyer", "rows": 3, "source": "o.csv"}},
    }
    record.update(changes)
    return record


def write_layout(folder: Path, record: dict[str, object] | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = record if isinstance(record, str) else json.dumps(record)
    (folder / MARKER).write_text(text, encoding="utf-8")
    return folder


def test_a_folder_without_marker_is_not_a_layout(tmp_path: Path) -> None:
    assert read_layout(tmp_path) is None
    assert read_layout(tmp_path / "missing") is None
    (tmp_path / "orders" / "segrule_bucket=0").mkdir(parents=True)
    assert read_layout(tmp_path) is None
    assert layout_table_of(tmp_path / "orders") is None


def test_files_schema_and_empty_buckets(tmp_path: Path) -> None:
    lay = write_layout(tmp_path / "lay", marker())
    b1 = lay / "orders" / "segrule_bucket=1"
    b3 = lay / "orders" / "segrule_bucket=3"
    b1.mkdir(parents=True)
    b3.mkdir(parents=True)
    pl.DataFrame({"buyer": ["a"], "amount": ["1.5"]}).write_parquet(b3 / "b.parquet")
    pl.DataFrame({"buyer": ["c"], "amount": ["2"]}).write_parquet(b3 / "a.parquet")
    pl.DataFrame({"buyer": ["d"], "amount": ["3"]}).write_parquet(b1 / "x.parquet")
    (b3 / "_SUCCESS").write_text("")
    (b3 / ".a.parquet.crc").write_text("")
    (lay / "orders" / "_SUCCESS").write_text("")
    layout = read_layout(lay)
    assert layout is not None
    assert layout.buckets == 4 and list(layout.tables) == ["orders"]
    assert layout.tables["orders"].id_column == "buyer"
    assert layout.files("orders", 3) == [b3 / "a.parquet", b3 / "b.parquet"]
    assert layout.files("orders", 0) == []  # an empty bucket: no folder
    assert layout.nonempty_buckets("orders") == [1, 3]
    assert layout.table_files("orders") == [b1 / "x.parquet", b3 / "a.parquet", b3 / "b.parquet"]
    assert layout.schema("orders") == pl.Schema({"buyer": pl.String, "amount": pl.String})
    assert layout_table_of(lay / "orders") == (layout, "orders", None)
    assert layout_table_of(b3) == (layout, "orders", 3)
    assert layout_table_of(lay) is None
    for bad in (4, -1):
        with pytest.raises(DataError, match=r"0\.\.3"):
            layout.files("orders", bad)
    with pytest.raises(DataError, match="no table 'customers'"):
        layout.files("customers", 0)


@pytest.mark.parametrize(
    ("record", "says"),
    [
        ("{not json", "cannot be read as a bucket layout marker"),
        ("[1, 2]", "not a JSON object"),
        (marker(format="other"), "format 'other'"),
        (marker(version=2), "version 2 is not one this segrule reads"),
        (marker(version=True), "version True"),
        (marker(buckets=0), "buckets 0"),
        (marker(buckets=70000), "buckets 70000"),
        (marker(buckets="4"), "buckets '4'"),
        (marker(seed=7), "seed 7"),
        (marker(hash="hash(id) % buckets"), "hash 'hash(id) % buckets'"),
        (marker(tables=[]), "'tables' must be an object"),
        (marker(tables={"../x": {"id_column": "c", "rows": 1, "source": ""}}), "'../x'"),
        (marker(tables={"orders": {"rows": 1, "source": ""}}), "no id_column"),
        (marker(tables={"orders": {"id_column": "c", "rows": -1, "source": ""}}), "rows -1"),
        (marker(tables={"orders": {"id_column": "c", "rows": 1, "source": ""}}), "no folder"),
    ],
)
def test_a_bad_marker_is_one_line(tmp_path: Path, record: object, says: str) -> None:
    lay = write_layout(tmp_path / "lay", record)  # type: ignore[arg-type]
    with pytest.raises(DataError) as exc:
        read_layout(lay)
    assert says in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("entry", ["segrule_bucket=07", "segrule_bucket=4", "part.parquet", "x"])
def test_a_table_folder_with_other_entries_is_refused(tmp_path: Path, entry: str) -> None:
    lay = write_layout(tmp_path / "lay", marker())
    (lay / "orders" / entry).mkdir(parents=True)
    with pytest.raises(DataError, match="bucket") as exc:
        read_layout(lay)
    assert "\n" not in str(exc.value)


def test_a_table_without_any_file_has_no_schema(tmp_path: Path) -> None:
    lay = write_layout(tmp_path / "lay", marker())
    (lay / "orders").mkdir()
    layout = read_layout(lay)
    assert layout is not None
    with pytest.raises(DataError, match="holds no file of table 'orders'"):
        layout.schema("orders")
