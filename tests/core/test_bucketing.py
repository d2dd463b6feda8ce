"""``segrule.bucket``: the layout it writes (every row in the bucket of its customer id,
the columns as read, the marker), that a run on the layout gives what a run on the
tables gives, and that the output folder is checked and replaced like every output."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
import pytest
import segrule
import xxhash
from segrule.errors import DataError, UsageError
from segrule.generate import generate
from segrule.io.layout import MARKER, read_layout
from segrule.io.outpaths import OutputPathError

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = "2026-11-01"
PRESETS = ["rfm", "taobao-5-tier", "pareto-80-20"]


def spark_bucket(value: object, b: int) -> int:
    """pmod(xxhash64(cast(value as string)), b), from the xxhash package."""
    if value is None:
        h = 42
    else:
        h = xxhash.xxh64(str(value).encode("utf-8"), seed=42).intdigest()
        h = h - (1 << 64) if h >= 1 << 63 else h
    return h % b  # Python's % is pmod for a positive b


def shuffled(path: Path, seed: int) -> pl.DataFrame:
    return pl.read_parquet(path).sample(fraction=1.0, shuffle=True, seed=seed)


@pytest.fixture(scope="module")
def text_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Text ids (C00000042), every table's rows in random order."""
    out = tmp_path_factory.mktemp("text-ids")
    generate(out, orders=3000, seed=11, end=dt.date(2026, 11, 1), customer_ids="shuffled")
    for f in out.glob("*.parquet"):
        shuffled(f, 1).write_parquet(f)
    return out


@pytest.fixture(scope="module")
def int_csv_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Integer ids in random order, as CSV files: orders in GB18030 with ';' between
    fields and the id in a column named ``buyer``, mapped by the rule set."""
    gen = tmp_path_factory.mktemp("int-gen")
    generate(
        gen, orders=3000, seed=12, end=dt.date(2026, 11, 1), id_type="int", customer_ids="shuffled"
    )
    out = tmp_path_factory.mktemp("int-csv")
    orders = shuffled(gen / "orders.parquet", 2).rename({"customer_id": "buyer"})
    text = orders.write_csv(separator=";")
    (out / "orders.csv").write_bytes(text.encode("gb18030"))
    shuffled(gen / "customers.parquet", 3).write_csv(out / "customers.csv")
    shuffled(gen / "events.parquet", 4).write_csv(out / "events.csv")
    rules = out.parent / f"{out.name}-rules.yaml"
    rules.write_text(
        "extends: rfm\n"
        "tables:\n"
        "  orders:\n"
        "    encoding: gb18030\n"
        "    delimiter: ';'\n"
        "    columns:\n"
        "      customer_id: buyer\n",
        encoding="utf-8",
    )
    return out, rules


def layout_ids(folder: Path, table: str, column: str) -> dict[object, int]:
    """id -> bucket of every row of ``table`` in the layout (an id in two buckets fails)."""
    layout = read_layout(folder)
    assert layout is not None
    placed: dict[object, int] = {}
    for k in range(layout.buckets):
        for f in layout.files(table, k):
            frame = pl.read_parquet(f)
            assert "segrule_bucket" not in frame.columns
            for value in frame[column].to_list():
                assert placed.setdefault(value, k) == k
    return placed


def test_every_row_is_in_its_customers_bucket_and_the_marker_says_so(
    text_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lay"
    result = segrule.bucket(data=text_data, buckets=16, out=out)
    assert sorted(result.tables) == ["customers", "events", "feedback", "messages", "orders"]
    record = json.loads((out / MARKER).read_text(encoding="utf-8"))
    assert {k: record[k] for k in ("format", "version", "buckets", "hash", "seed")} == {
        "format": "segrule-buckets",
        "version": 1,
        "buckets": 16,
        "hash": "pmod(xxhash64(cast(id as string)), buckets)",
        "seed": 42,
    }
    for name, table in result.tables.items():
        source = pl.read_parquet(text_data / f"{name}.parquet")
        entry = record["tables"][name]
        assert entry["id_column"] == "customer_id"
        assert entry["rows"] == source.height == table.rows == sum(table.bucket_rows)
        assert entry["source"] == str((text_data / f"{name}.parquet").absolute())
        assert entry["formats"] == ["parquet"]
        placed = layout_ids(out, name, "customer_id")
        assert placed == {v: spark_bucket(v, 16) for v in source["customer_id"].to_list()}
        assert table.largest == max(table.bucket_rows) and table.smallest == min(table.bucket_rows)
        # The columns as read, in their order and types; every row once.
        back = pl.read_parquet(out / name, hive_partitioning=False)
        assert back.schema == source.schema
        assert back.sort(back.columns).equals(source.sort(source.columns))
    assert sorted(os.listdir(out)) == sorted([MARKER, *result.tables])
    # Page checksums, as in every Parquet file segrule writes.
    from segrule.io.parquet_crc import verify_pages

    assert all(verify_pages(f) for f in out.rglob("*.parquet"))


def run_both(
    tmp_path: Path,
    rulesets: list[str],
    data: Path,
    layout: Path,
    **kwargs: object,
) -> tuple[segrule.RunResult, segrule.RunResult]:
    results = []
    for name, folder in (("from-tables", data), ("from-layout", layout)):
        results.append(
            segrule.run(rulesets, tmp_path / f"{name}.parquet", data=folder, as_of=AS_OF, **kwargs)
        )
    return results[0], results[1]


def same_output(a: segrule.RunResult, b: segrule.RunResult) -> None:
    first, second = pl.read_parquet(a.output), pl.read_parquet(b.output)
    assert first.height > 100
    assert first.schema == second.schema
    assert first.equals(second)
    assert a.quality == b.quality
    assert a.summary == b.summary


def test_a_run_on_the_layout_gives_the_run_on_the_tables_text_ids(
    text_data: Path, tmp_path: Path
) -> None:
    layout = tmp_path / "lay"
    segrule.bucket(data=text_data, buckets=8, out=layout)
    a, b = run_both(tmp_path, PRESETS, text_data, layout, rejects=None)
    same_output(a, b)
    assert pl.read_parquet(b.output).schema["customer_id"] == pl.String


def test_a_run_on_the_layout_gives_the_run_on_the_tables_int_csv_mapped(
    int_csv_data: tuple[Path, Path], tmp_path: Path
) -> None:
    data, rules = int_csv_data
    layout = tmp_path / "lay"
    result = segrule.bucket(str(rules), data=data, buckets=5, out=layout)
    assert result.tables["orders"].id_column == "buyer"
    record = json.loads((layout / MARKER).read_text(encoding="utf-8"))
    assert record["tables"]["orders"]["formats"] == ["csv"]
    # CSV text stays text in the layout (the run parses it as it parses the CSV) ...
    assert set(read_layout(layout).schema("orders").values()) == {pl.String}  # type: ignore[union-attr]
    # ... and the integer ids land where Spark puts those integers.
    orders = pl.read_csv(
        (data / "orders.csv").read_bytes().decode("gb18030").encode(),
        separator=";",
        infer_schema=False,
    )
    placed = layout_ids(layout, "orders", "buyer")
    assert placed == {v: spark_bucket(int(v), 5) for v in orders["buyer"].to_list()}
    a, b = run_both(tmp_path, [str(rules)], data, layout)
    same_output(a, b)
    assert pl.read_parquet(b.output).schema["customer_id"] == pl.Int64
    # One bucket's folder is a table source too (what one worker of a cluster reads):
    # its rows only, no bucket column, its text still known as CSV's.
    from segrule.io.sources import scan_table

    seen = 0
    for k in range(5):
        scan = scan_table(layout / "orders" / f"segrule_bucket={k}")
        assert scan.formats == frozenset({"csv"})
        rows = scan.frame.collect()
        assert "segrule_bucket" not in rows.columns
        assert {placed[v] for v in rows["buyer"].to_list()} <= {k}
        seen += rows.height
    assert seen == orders.height


def test_a_layout_is_read_as_a_table_path_too_and_rebucketed(
    text_data: Path, tmp_path: Path
) -> None:
    layout = tmp_path / "lay"
    segrule.bucket(data=text_data, buckets=4, out=layout)
    given = {"orders": str(layout / "orders"), "customers": str(layout / "customers")}
    a = segrule.score("rfm", data=text_data, as_of=AS_OF)
    b = segrule.score("rfm", given, as_of=AS_OF)
    assert a.equals(b)
    # A layout is a data folder like another: bucketed again, into 3 buckets.
    again = tmp_path / "again"
    result = segrule.bucket(data=layout, buckets=3, out=again)
    assert result.tables["orders"].rows == pl.read_parquet(text_data / "orders.parquet").height
    ids = pl.read_parquet(text_data / "customers.parquet")["customer_id"].to_list()
    assert layout_ids(again, "customers", "customer_id") == {v: spark_bucket(v, 3) for v in ids}


def test_an_empty_table_keeps_its_columns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pl.DataFrame(
        schema={"customer_id": pl.Int64, "event_ts": pl.Datetime("us"), "event_type": pl.String}
    ).write_parquet(data / "events.parquet")
    pl.DataFrame({"customer_id": [None, 1, 2]}, schema={"customer_id": pl.Int64}).write_parquet(
        data / "customers.parquet"
    )
    result = segrule.bucket(data=data, buckets=4, out=tmp_path / "lay")
    assert result.tables["events"].bucket_rows == [0, 0, 0, 0]
    assert result.tables["events"].nonempty == 0
    layout = read_layout(tmp_path / "lay")
    assert layout is not None
    assert layout.schema("events") == pl.Schema(
        {"customer_id": pl.Int64, "event_ts": pl.Datetime("us"), "event_type": pl.String}
    )
    assert [pl.read_parquet(f).height for f in layout.table_files("events")] == [0]
    # A null id goes where Spark puts it: pmod(42, 4) = 2.
    assert layout_ids(tmp_path / "lay", "customers", "customer_id") == {
        None: 2,
        1: spark_bucket(1, 4),
        2: spark_bucket(2, 4),
    }


def write_orders(folder: Path, frame: pl.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "orders.parquet")
    return folder


def test_a_table_without_the_id_column_is_one_line(tmp_path: Path) -> None:
    data = write_orders(tmp_path / "data", pl.DataFrame({"custome_id": ["a"], "x": [1]}))
    with pytest.raises(DataError) as exc:
        segrule.bucket(data=data, buckets=4, out=tmp_path / "lay")
    text = str(exc.value)
    assert "\n" not in text
    assert "table 'orders' has no column 'customer_id'" in text and "custome_id" in text
    assert not (tmp_path / "lay").exists()
    rules = tmp_path / "rules.yaml"
    rules.write_text("extends: rfm\ntables:\n  orders:\n    columns:\n      customer_id: buyer\n")
    with pytest.raises(DataError, match="table 'orders' has no column 'buyer'"):
        segrule.bucket(str(rules), data=data, buckets=4, out=tmp_path / "lay")


@pytest.mark.parametrize(
    ("ids", "says"),
    [
        (pl.Series([1.0, 2.0]), "Float64"),
        (pl.Series([dt.date(2026, 1, 1)]), "Date"),
        (pl.Series([5, 2**63], dtype=pl.UInt64), "above 2**63-1"),
    ],
)
def test_ids_spark_cannot_hash_alike_are_refused(tmp_path: Path, ids: pl.Series, says: str) -> None:
    data = write_orders(tmp_path / "data", pl.DataFrame({"customer_id": ids}))
    with pytest.raises(DataError) as exc:
        segrule.bucket(data=data, buckets=4, out=tmp_path / "lay")
    assert says in str(exc.value) and "'orders'" in str(exc.value)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "lay").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no temporary folder left


def test_a_column_named_like_the_bucket_folders_is_refused(tmp_path: Path) -> None:
    data = write_orders(
        tmp_path / "data", pl.DataFrame({"customer_id": ["a"], "segrule_bucket": [1]})
    )
    with pytest.raises(DataError, match="column 'segrule_bucket'"):
        segrule.bucket(data=data, buckets=4, out=tmp_path / "lay")


@pytest.mark.parametrize("bad", [0, 65537, -3])
def test_bucket_counts_are_checked_before_reading(tmp_path: Path, bad: int) -> None:
    with pytest.raises(UsageError, match="between 1 and 65536"):
        segrule.bucket(data=tmp_path / "missing", buckets=bad, out=tmp_path / "lay")


def test_no_table_found_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(UsageError, match="no table to bucket") as exc:
        segrule.bucket(data=tmp_path / "data", buckets=4, out=tmp_path / "lay")
    assert "orders" in str(exc.value) and "\n" not in str(exc.value)


def test_frames_and_table_paths_are_bucketed_too(tmp_path: Path) -> None:
    frame = pl.DataFrame({"customer_id": ["b", "a", "客户一"], "amount": [1, 2, 3]})
    result = segrule.bucket(
        tables={"orders": frame, "customers": frame.lazy().select("customer_id")},
        buckets=2,
        out=tmp_path / "lay",
    )
    assert result.tables["orders"].source == "<DataFrame>"
    record = json.loads((tmp_path / "lay" / MARKER).read_text(encoding="utf-8"))
    assert record["tables"]["customers"]["formats"] == ["frame"]
    assert layout_ids(tmp_path / "lay", "orders", "customer_id") == {
        v: spark_bucket(v, 2) for v in ["a", "b", "客户一"]
    }


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "_marker", "x=1", ""])
def test_a_table_name_that_is_no_folder_name_is_refused(tmp_path: Path, name: str) -> None:
    frame = pl.DataFrame({"customer_id": ["a"]})
    with pytest.raises(UsageError, match="cannot name a folder of the layout"):
        segrule.bucket(tables={name: frame}, buckets=2, out=tmp_path / "lay")
    assert not (tmp_path / "lay").exists() and not (tmp_path / "evil").exists()


def test_rows_are_counted_from_the_files_when_polars_reports_none(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-file counts polars reports are checked against the files written."""
    real = pl.LazyFrame.sink_parquet

    def silent(self: pl.LazyFrame, *args: object, **kwargs: object) -> object:
        kwargs.pop("sinked_paths_callback", None)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", silent)
    result = segrule.bucket(data=small, buckets=2, out=tmp_path / "lay")
    assert result.tables["orders"].bucket_rows == [
        sum(1 for v in ["a", "b", "c"] if spark_bucket(v, 2) == k) for k in range(2)
    ]


# -- the output folder -------------------------------------------------------------------
@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_orders(
        tmp_path / "data", pl.DataFrame({"customer_id": ["a", "b", "c"], "n": [1, 2, 3]})
    )


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("data", "holds"),  # the data folder holds the inputs
        (".", "holds"),  # a folder holding the data folder
        ("data/orders.parquet", "is the orders table"),
        ("data/orders", "would be read as the orders table"),
        ("data/customers", "would be read as the customers table"),
    ],
)
def test_an_output_among_the_inputs_is_refused(
    small: Path, tmp_path: Path, where: str, says: str
) -> None:
    target = tmp_path / where
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(OutputPathError, match=says) as exc:
        segrule.bucket(data=small, buckets=2, out=target)
    assert "\n" not in str(exc.value)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_an_output_inside_an_input_folder_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "data" / "orders"
    table.mkdir(parents=True)
    pl.DataFrame({"customer_id": ["a"]}).write_parquet(table / "part.parquet")
    with pytest.raises(OutputPathError, match="inside"):
        segrule.bucket(data=tmp_path / "data", buckets=2, out=table / "lay")


def test_a_folder_of_other_files_is_refused_a_layout_is_replaced(
    small: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(OutputPathError, match=r"holds files segrule did not write \(keep.txt\)"):
        segrule.bucket(data=small, buckets=2, out=other)
    assert (other / "keep.txt").read_text() == "mine"

    out = tmp_path / "lay"
    segrule.bucket(data=small, buckets=8, out=out)
    assert len(os.listdir(out / "orders")) == 3
    segrule.bucket(data=small, buckets=1, out=out)  # replaced whole
    assert os.listdir(out / "orders") == ["segrule_bucket=0"]
    assert json.loads((out / MARKER).read_text())["buckets"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "lay", "other"]

    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError, match="also holds files segrule did not write"):
        segrule.bucket(data=small, buckets=2, out=out)
    (out / "notes.txt").unlink()
    (out / MARKER).write_text("{broken")
    with pytest.raises(OutputPathError, match="cannot be replaced"):
        segrule.bucket(data=small, buckets=2, out=out)


def test_an_empty_folder_is_filled_and_a_link_refused(small: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    segrule.bucket(data=small, buckets=2, out=empty)
    assert (empty / MARKER).is_file()
    link = tmp_path / "link"
    link.symlink_to(empty)
    with pytest.raises(OutputPathError, match="symbolic link"):
        segrule.bucket(data=small, buckets=2, out=link)
    with pytest.raises(OutputPathError, match="s3://"):
        segrule.bucket(data=small, buckets=2, out="s3://bucket/lay")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        segrule.bucket(data=small, buckets=2, out=tmp_path / "a-file")


def test_a_failed_run_leaves_the_previous_layout(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "lay"
    segrule.bucket(data=small, buckets=3, out=out)
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # customers is read after orders, whose buckets are already written: it lacks the id.
    pl.DataFrame({"id": [1]}).write_parquet(small / "customers.parquet")
    with pytest.raises(DataError, match="table 'customers' has no column 'customer_id'"):
        segrule.bucket(data=small, buckets=5, out=out)
    after = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "lay"]  # no temporary


def test_a_folder_without_marker_is_read_as_hive_folders_not_a_layout(
    small: Path, tmp_path: Path
) -> None:
    """A half-written layout (no marker) is never read as one: its tables are plain hive
    folders, whose bucket column shows (it is what the folders say)."""
    out = tmp_path / "lay"
    segrule.bucket(data=small, buckets=2, out=out)
    (out / MARKER).unlink()
    from segrule.io.sources import scan_table

    assert "segrule_bucket" in scan_table(out / "orders").frame.collect_schema()


@pytest.mark.parametrize("exchange", [True, False])
def test_a_folder_is_replaced_whole_with_or_without_renameat2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    """Linux swaps the old and the new folder in one step; elsewhere the old one is
    moved aside first. Either way the target ends with the new content only and no
    temporary folder is left; a failing block leaves the old content."""
    from segrule.io import outpaths

    calls: list[tuple[Path, Path]] = []
    real = outpaths._exchange

    def spy(a: Path, b: Path) -> bool:
        calls.append((a, b))
        return real(a, b) if exchange else False

    monkeypatch.setattr(outpaths, "_exchange", spy)
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with outpaths.replacing_folder(target) as tmp:
        (tmp / "new.txt").write_text("new")
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.folder-")
    assert os.listdir(target) == ["new.txt"] and len(calls) == 1
    with pytest.raises(RuntimeError), outpaths.replacing_folder(target) as tmp:
        (tmp / "half.txt").write_text("x")
        raise RuntimeError("the write failed")
    assert os.listdir(target) == ["new.txt"]
    assert os.listdir(tmp_path) == ["out"]
