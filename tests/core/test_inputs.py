"""Reading tables: never silently wrong.

Files of one table that differ (time zones, kinds, extra columns), hidden files, text
times with and without offsets, float customer ids, amounts with more than two
decimals, a table mostly rejected by a check, and corrupted Parquet pages.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import segrule
from segrule.errors import DataError, RuleSetError
from segrule.io.manifest import read_manifest
from segrule.io.sources import scan_table, source_files, verify_parquet

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")
AS_OF = dt.datetime(2026, 11, 1)
SPEND = """name: spend
timezone: Asia/Shanghai
dimensions:
  rows_all: {table: orders, aggregate: "count(*)"}
  last_at: {table: orders, aggregate: "max(order_ts)"}
outputs: [rows_all, last_at, monetary_lifetime]
"""


def _orders(ids: list[object], times: list[object], amounts: list[object]) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "order_id": [f"{ids[i]}-{i}" for i in range(n)],  # unique across files
            "customer_id": ids,
            "order_ts": times,
            "amount": amounts,
            "status": ["paid"] * n,
        }
    )


def _run(tmp_path: Path, orders: object, rule: str = SPEND, **tables: object) -> pl.DataFrame:
    (tmp_path / "r.yaml").write_text(rule)
    out = tmp_path / "out.parquet"
    segrule.run(
        [str(tmp_path / "r.yaml")],
        out,
        {"orders": orders, **tables},
        as_of=AS_OF,
        engine=segrule.Engine(autoload=False),
    )
    return pl.read_parquet(out).sort("customer_id")


def test_files_of_different_time_zones_are_each_normalized(tmp_path: Path) -> None:
    folder = tmp_path / "orders"
    folder.mkdir()
    # a: naive wall times in the business zone (Asia/Shanghai); b: UTC instants.
    _orders(["a"], [dt.datetime(2026, 10, 31, 20, 0)], [1.0]).write_parquet(folder / "a.parquet")
    b = _orders(
        ["b", "b"], [dt.datetime(2026, 10, 31, 10, 0), dt.datetime(2026, 10, 31, 17, 0)], [2.0, 4.0]
    )
    b.with_columns(pl.col("order_ts").dt.replace_time_zone("UTC")).write_parquet(
        folder / "b.parquet"
    )
    out = _run(tmp_path, folder)
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert rows["a"]["last_at"].replace(tzinfo=None) == dt.datetime(2026, 10, 31, 20, 0)
    # 10:00 UTC is 18:00 in Shanghai; 17:00 UTC is 01:00 on Nov 1: after as-of, not counted
    assert rows["b"]["last_at"].replace(tzinfo=None) == dt.datetime(2026, 10, 31, 18, 0)
    assert rows["b"]["rows_all"] == 1 and rows["b"]["monetary_lifetime"] == 2.0


def test_a_folder_of_several_file_kinds_is_read_whole_and_listed(tmp_path: Path) -> None:
    folder = tmp_path / "orders"
    folder.mkdir()
    t = dt.datetime(2026, 10, 1, 12, 0)
    _orders(["a"], [t], [1.0]).write_parquet(folder / "a.parquet")
    _orders(["b"], [t], [2.0]).write_ipc(folder / "b.arrow")
    _orders(["c"], [str(t)], ["3.00"]).write_csv(folder / "c.csv")
    # hidden: a dot file, a dot folder, a temporary file of an interrupted write
    _orders(["h"], [t], [9.0]).write_parquet(folder / ".h.parquet")
    (folder / ".cache").mkdir()
    _orders(["h"], [t], [9.0]).write_parquet(folder / ".cache" / "h.parquet")
    _orders(["h"], [t], [9.0]).write_parquet(folder / ".a.parquet.123.x.tmp")
    (folder / "_SUCCESS").write_text("")
    assert [p.name for p in source_files(folder)] == ["a.parquet", "b.arrow", "c.csv"]
    out = _run(tmp_path, folder)
    assert out["customer_id"].to_list() == ["a", "b", "c"]
    assert out["monetary_lifetime"].to_list() == [1.0, 2.0, 3.0]
    manifest = read_manifest(tmp_path / "out.parquet")
    assert manifest is not None
    listed = [f["file"] for f in manifest["inputs"]["orders"]["files"]]
    assert listed == ["a.parquet", "b.arrow", "c.csv"]


def test_links_to_folders_are_followed_once(tmp_path: Path) -> None:
    folder = tmp_path / "orders"
    (folder / "2026").mkdir(parents=True)
    t = dt.datetime(2026, 10, 1, 12, 0)
    _orders(["a"], [t], [1.0]).write_parquet(folder / "2026" / "a.parquet")
    archive = tmp_path / "archive"
    archive.mkdir()
    _orders(["b"], [t], [2.0]).write_parquet(archive / "b.parquet")
    (folder / "2025").symlink_to(archive)  # a partition kept elsewhere: read
    (folder / "2026" / "loop").symlink_to(folder)  # a link back up the tree: once
    (folder / "again").symlink_to(archive)  # the same real folder twice: once
    assert [p.name for p in source_files(folder)] == ["b.parquet", "a.parquet"]
    out = _run(tmp_path, folder)
    assert out["customer_id"].to_list() == ["a", "b"]
    assert out["monetary_lifetime"].to_list() == [1.0, 2.0]


def test_files_of_one_schema_stay_one_scan(tmp_path: Path) -> None:
    folder = tmp_path / "orders"
    for year in (2025, 2026):
        (folder / f"year={year}").mkdir(parents=True)
        _orders(["a"], [dt.datetime(year, 1, 1)], [1.0]).write_parquet(
            folder / f"year={year}" / "part.parquet"
        )
    scan = scan_table(folder)
    plan = scan.frame.explain()
    assert "UNION" not in plan and plan.count("SCAN") == 1
    assert scan.frame.collect()["year"].to_list() == [2025, 2026]
    # one file with an extra column: scanned one by one, the partition key kept
    _orders(["b"], [dt.datetime(2026, 2, 1)], [2.0]).with_columns(
        pl.lit("x").alias("note")
    ).write_parquet(folder / "year=2026" / "more.parquet")
    frame = scan_table(folder).frame.collect()
    assert sorted(frame["year"].to_list()) == [2025, 2026, 2026]
    assert frame["note"].drop_nulls().to_list() == ["x"]


def test_files_disagreeing_on_a_used_column_type_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "orders"
    folder.mkdir()
    t = dt.datetime(2026, 10, 1)
    _orders(["a"], [t], [1.0]).with_columns(pl.lit(1).alias("note")).write_parquet(
        folder / "a.parquet"
    )
    _orders(["b"], [t], [2.0]).with_columns(pl.lit("x").alias("note")).write_parquet(
        folder / "b.parquet"
    )
    # 'note' is not used: it is no reason to fail
    assert _run(tmp_path, folder)["customer_id"].to_list() == ["a", "b"]
    _orders(["c"], [t], ["3"]).write_parquet(folder / "c.parquet")  # amount as text
    with pytest.raises(
        DataError,
        match=r"'amount' is Float64 in a\.parquet but String in c\.parquet; convert c\.parquet",
    ):
        _run(tmp_path, folder)


@pytest.mark.parametrize("first", ["naive", "offset"])
def test_text_times_are_parsed_value_by_value(tmp_path: Path, first: str) -> None:
    naive = ("a", "2026-10-31 20:00:00")  # wall time in Shanghai
    offset = ("b", "2026-10-31T10:00:00Z")  # 18:00 in Shanghai
    late = ("b", "2026-10-31T17:30:00+00:00")  # 01:30 on Nov 1 in Shanghai: after as-of
    rows = [naive, offset, late] if first == "naive" else [offset, late, naive]
    path = tmp_path / "orders.csv"
    _orders([r[0] for r in rows], [r[1] for r in rows], ["1"] * 3).write_csv(path)
    out = {r["customer_id"]: r for r in _run(tmp_path, path).iter_rows(named=True)}
    assert out["a"]["last_at"].replace(tzinfo=None) == dt.datetime(2026, 10, 31, 20, 0)
    assert out["b"]["last_at"].replace(tzinfo=None) == dt.datetime(2026, 10, 31, 18, 0)
    assert out["b"]["rows_all"] == 1


def test_whole_float_ids_are_the_integer_customers(tmp_path: Path) -> None:
    t = dt.datetime(2026, 10, 1)
    orders = _orders([1.0, 2.0, 2.0], [t] * 3, [1.0, 2.0, 3.0])
    customers = pl.DataFrame({"customer_id": [1, 2, 3]})
    out = _run(tmp_path, orders, customers=customers)
    assert out["customer_id"].to_list() == [1, 2, 3]
    assert out.schema["customer_id"] == pl.Int64
    assert out["monetary_lifetime"].to_list() == [1.0, 5.0, 0.0]
    with pytest.raises(
        DataError, match=r"customer_id 1\.5, not a whole number.*columns\.customer_id"
    ):
        _run(tmp_path, _orders([1.5], [t], [1.0]), customers=customers)


def test_amounts_with_more_than_two_decimals_are_rounded_and_counted(tmp_path: Path) -> None:
    t = "2026-10-01 10:00:00"
    # text: cents from the digits, ties to even: 1.005 -> 1.00, 1.015 -> 1.02
    csv = tmp_path / "orders.csv"
    _orders(["a", "a", "a"], [t] * 3, ["1.005", "1.015", "2.50"]).write_csv(csv)
    (tmp_path / "r.yaml").write_text(SPEND)
    result = segrule.run(
        [str(tmp_path / "r.yaml")],
        tmp_path / "o.parquet",
        {"orders": csv},
        as_of=AS_OF,
        engine=segrule.Engine(autoload=False),
    )
    counts = {q["check"]: (q["action"], q["rows"]) for q in result.quality}
    assert counts["rounded_amount"] == ("keep", 2)
    assert pl.read_parquet(tmp_path / "o.parquet")["monetary_lifetime"].to_list() == [4.52]
    # a float 1.005 is 1.00499... in binary: rounded down, and counted
    floats = _orders(["a", "a"], [dt.datetime(2026, 10, 1)] * 2, [1.005, 1.1])
    result = segrule.run(
        [str(tmp_path / "r.yaml")],
        tmp_path / "o.parquet",
        {"orders": floats},
        as_of=AS_OF,
        engine=segrule.Engine(autoload=False),
    )
    counts = {q["check"]: (q["action"], q["rows"]) for q in result.quality}
    assert counts["rounded_amount"] == ("keep", 1)
    assert pl.read_parquet(tmp_path / "o.parquet")["monetary_lifetime"].to_list() == [2.10]


def test_a_table_mostly_rejected_fails_with_one_line(tmp_path: Path) -> None:
    t = dt.datetime(2026, 10, 1)
    orders = _orders([f"c{i % 7}" for i in range(1000)], [t] * 1000, ["abc"] * 1000)
    path = tmp_path / "orders.csv"
    orders.write_csv(path)
    (tmp_path / "r.yaml").write_text(SPEND)
    out = tmp_path / "out.parquet"
    with pytest.raises(DataError) as info:
        segrule.run(
            [str(tmp_path / "r.yaml")],
            out,
            {"orders": path},
            as_of=AS_OF,
            engine=segrule.Engine(autoload=False),
            rejects=tmp_path / "rej",
        )
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        "orders: 1,000 of 1,000 rows (100%) rejected by bad_amount (column amount, e.g. "
        "'abc'); check the column mapping (tables.orders.columns) or raise "
        "tables.orders.quality.max_rejected_share (now 0.5)"
    )
    assert not out.exists()
    assert pl.read_parquet(tmp_path / "rej" / "orders.parquet").height == 1000
    assert getattr(info.value, "quality", None)  # the report is written by the CLI
    # the share is the rule set's: allowing all lets the run through
    (tmp_path / "r.yaml").write_text(
        SPEND + "tables:\n  orders:\n    quality: {max_rejected_share: 1}\n"
    )
    segrule.run(
        [str(tmp_path / "r.yaml")],
        out,
        {"orders": path},
        as_of=AS_OF,
        engine=segrule.Engine(autoload=False),
    )
    assert out.exists()


def test_max_rejected_share_is_validated(tmp_path: Path) -> None:
    from segrule.model.ruleset import json_schema

    (tmp_path / "r.yaml").write_text(
        SPEND + "tables:\n  orders:\n    quality: {max_rejected_share: 2}\n"
    )
    with pytest.raises(
        RuleSetError, match=r"r\.yaml:\d+:\d+: max_rejected_share is a share of rows from 0 to 1"
    ):
        segrule.compile(
            str(tmp_path / "r.yaml"),
            as_of=AS_OF,
            check_only=True,
            engine=segrule.Engine(autoload=False),
        )
    quality = json.dumps(json_schema())
    assert '"max_rejected_share": {' in quality


def _corrupt_page(path: Path) -> None:
    """Flip a byte inside the last data page of the first column chunk of ``amount``."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    col = meta.row_group(0).column(names.index("amount"))
    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + col.total_compressed_size - 50] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_corrupted_page_is_found_where_the_file_has_checksums(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segrule.generate import generate

    data = tmp_path / "data"
    generate(data, orders=2000, seed=1)
    orders = data / "orders.parquet"
    assert verify_parquet(orders, "orders.parquet")  # generate writes checksums
    _corrupt_page(orders)
    with pytest.raises(DataError, match=r"^orders\.parquet: corrupted \(.*CRC.*\); restore"):
        verify_parquet(orders, "orders.parquet")
    # verified by default: the run reads amount
    with pytest.raises(DataError, match=r"orders\.parquet: corrupted .* restore the file"):
        segrule.run(
            ["rfm"],
            tmp_path / "o.parquet",
            data=data,
            as_of=AS_OF,
            engine=segrule.Engine(autoload=False),
        )
    assert not (tmp_path / "o.parquet").exists()
    # ... and only the columns a run reads: `amount` is read, `channel` is not
    assert verify_parquet(orders, "orders.parquet", ["customer_id", "channel"])
    with pytest.raises(DataError, match="corrupted"):
        verify_parquet(orders, "orders.parquet", ["customer_id", "amount"])
    # SEGRULE_VERIFY_CHECKSUMS=0 switches the check off (the damage then goes unseen)
    monkeypatch.setenv("SEGRULE_VERIFY_CHECKSUMS", "0")
    segrule.run(
        ["rfm"],
        tmp_path / "o.parquet",
        data=data,
        as_of=AS_OF,
        engine=segrule.Engine(autoload=False),
    )
    # a file without checksums cannot be verified (polars writes none)
    pl.read_parquet(data / "customers.parquet").write_parquet(tmp_path / "c.parquet")
    assert not verify_parquet(tmp_path / "c.parquet", "c.parquet")


def test_history_partitions_have_checksums(tmp_path: Path) -> None:
    from segrule.history import write_partition

    path = write_partition(tmp_path / "h", AS_OF, pl.DataFrame({"customer_id": ["a"]}))
    assert verify_parquet(path, "part.parquet")


def test_orders_of_unknown_customers_count_toward_the_share_events_do_not(
    tmp_path: Path,
) -> None:
    from segrule.testing import event_frame

    t = dt.datetime(2026, 10, 1)
    customers = pl.DataFrame({"customer_id": ["a", "b"]})
    events = event_frame([("v1", t, "view"), ("v2", t, "view"), ("a", t, "view")])
    rule = SPEND + '  views: {table: events, aggregate: "count(*)"}\n'
    rule = rule.replace("outputs: [rows_all, last_at, monetary_lifetime]\n", "")
    rule += "outputs: [rows_all, views]\n"
    # two of three events are visitors outside the universe: no failure
    out = _run(tmp_path, _orders(["a"], [t], [1.0]), rule, customers=customers, events=events)
    assert out["views"].to_list() == [1, 0]
    # orders whose ids match no customer (a wrong mapping) fail
    with pytest.raises(
        DataError, match=r"orders: 2 of 3 rows \(67%\) rejected by unknown_customer"
    ):
        _run(
            tmp_path,
            _orders(["x", "y", "a"], [t] * 3, [1.0] * 3),
            rule,
            customers=customers,
            events=events,
        )


def test_a_fifo_where_a_table_or_blacklist_is_read_is_refused(tmp_path: Path) -> None:
    import os

    data = tmp_path / "data"
    data.mkdir()
    os.mkfifo(data / "orders.parquet")  # reading it would block forever
    with pytest.raises(DataError, match=r"orders\.parquet: not a regular file"):
        segrule.run(
            ["rfm"], tmp_path / "o.parquet", data=data, as_of=AS_OF, engine=segrule.Engine()
        )
    os.mkfifo(tmp_path / "bl.txt")
    from segrule.engine.compiler import read_blacklist

    with pytest.raises(DataError, match=r"bl\.txt: not a regular file"):
        read_blacklist(tmp_path / "bl.txt")
