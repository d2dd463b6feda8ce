"""PostgreSQL table and query sources (segrule.io.database) against a real server."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.errors import DataError
from segrule.io import database
from segrule.io.database import parse, scan_database, table_name

AS_OF = dt.datetime(2026, 11, 1)


@pytest.fixture(scope="module")
def typed(pg) -> str:
    pg.execute(
        "DROP TABLE IF EXISTS typed",
        """CREATE TABLE typed (
            id bigint, n int, cid text, label varchar(10), amount numeric(12,2),
            ratio numeric, uid uuid, ts timestamp, tstz timestamptz, day date, ok boolean,
            doc jsonb, "Mixed Case" int, price money, span interval)""",
        """INSERT INTO typed VALUES
            (1, 7, 'c1', 'a', 10.05, 1.125, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
             '2026-10-31 23:59:59.5', '2026-10-31 16:00:00+00', '2026-10-31', true,
             '{"k": 1}', 5, 1.5, '1 day'),
            (2, null, null, null, null, null, null, null, null, null, null, null, null, null,
             null),
            (3, -1, 'c3', 'b', 99999999.99, 12345678901234567890.123456789,
             '00000000-0000-0000-0000-000000000000', '2026-11-01 00:00:00',
             '2026-11-01 00:00:00+08', '2026-11-01', false, '[]', -5, -2, '2 hours')""",
    )
    return f"{pg.uri}#typed"


def test_types_are_read_exactly(typed: str) -> None:
    frame = scan_database(typed).collect().sort("id")
    schema = frame.schema
    assert schema["id"] == pl.Int64 and schema["n"] == pl.Int32
    assert schema["cid"] == pl.String and schema["label"] == pl.String
    assert schema["amount"] == pl.Decimal(12, 2)  # numeric(p,s): exact digits
    assert schema["ratio"] == pl.String  # numeric without a scale: its text, exact
    assert schema["uid"] == pl.String and schema["doc"] == pl.String
    assert schema["ts"] == pl.Datetime("us")
    assert schema["tstz"] == pl.Datetime("us", "UTC")
    assert schema["day"] == pl.Date and schema["ok"] == pl.Boolean
    first, _, third = frame.iter_rows(named=True)
    assert first["amount"] == Decimal("10.05") and third["amount"] == Decimal("99999999.99")
    assert third["ratio"] == "12345678901234567890.123456789"
    assert first["uid"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert first["ts"] == dt.datetime(2026, 10, 31, 23, 59, 59, 500000)
    assert first["tstz"] == dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC)
    assert third["tstz"] == dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC)
    assert first["Mixed Case"] == 5 and first["doc"] == '{"k": 1}'
    assert first["price"] == "1.50" and third["price"] == "-2.00"  # money: digits, not cents
    assert schema["span"] == pl.Duration or first["span"] == "1 day"
    assert frame.row(1, named=True)["amount"] is None


def test_columns_and_as_of_are_pushed_into_the_sql(pg, typed: str) -> None:
    start = pg.log_size()
    lf = scan_database(typed, before=("ts", AS_OF), tz="Asia/Shanghai")
    got = lf.select("id", "ts").collect()
    # Row 3 (exactly at as-of) is not read; the null time is (segrule counts it).
    assert sorted(got["id"].to_list()) == [1, 2]
    log = pg.statements(start)
    assert (
        'SELECT "id", "ts" FROM "typed" WHERE ("ts" < TIMESTAMP \'2026-11-01 00:00:00\' '
        'OR "ts" IS NULL)'
    ) in log
    assert '"amount"' not in log.split('SELECT "id", "ts"')[1].splitlines()[0]


def test_as_of_on_timestamptz_is_the_instant_in_the_business_zone(typed: str) -> None:
    lf = scan_database(typed, before=("tstz", AS_OF), tz="Asia/Shanghai")
    # 2026-11-01 00:00 in Shanghai is 2026-10-31 16:00 UTC: rows 1 and 3 are at it.
    assert lf.select("id").collect()["id"].to_list() == [2]
    utc = scan_database(typed, before=("tstz", AS_OF), tz="UTC")
    assert sorted(utc.select("id").collect()["id"].to_list()) == [1, 2, 3]


def test_as_of_on_a_date_keeps_a_superset(typed: str) -> None:
    lf = scan_database(typed, before=("day", dt.datetime(2026, 10, 31, 12)), tz="UTC")
    assert sorted(lf.select("id").collect()["id"].to_list()) == [1, 2]


def test_head_stops_early_and_filters_apply(typed: str) -> None:
    lf = scan_database(typed)
    assert lf.head(1).collect().height == 1
    assert lf.filter(pl.col("n") < 0).select("id").collect()["id"].to_list() == [3]
    assert lf.select(pl.len()).collect().item() == 3


def test_batches_are_streamed(pg, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = pg.load(pl.DataFrame({"customer_id": range(50_000), "v": ["x" * 20] * 50_000}), "big")
    sizes: list[int] = []
    original = database._frame

    def spy(batch, columns):
        sizes.append(batch.num_rows)
        return original(batch, columns)

    monkeypatch.setattr(database, "_frame", spy)
    monkeypatch.setattr(database, "BATCH_BYTES", 64 * 1024)
    total = scan_database(uri).select(pl.col("customer_id").sum()).collect().item()
    assert total == sum(range(50_000))
    assert len(sizes) > 5 and max(sizes) < 50_000  # many batches, none the whole table


def test_query_source_from_a_rule_set(pg, rules, tb) -> None:
    orders = tb.orders(
        [
            ("c1", tb.days_before(3), 100.0, "paid"),
            ("c1", tb.days_before(40), 50.0, "paid"),
            ("c2", tb.days_before(1), 70.0, "paid"),
        ]
    ).rename({"order_ts": "paid_at", "amount": "total"})
    pg.load(orders, "shop_orders", schema="public")
    pg.execute("ALTER TABLE shop_orders ALTER COLUMN total TYPE numeric(12,2)")
    path = rules(
        "r.yaml",
        f"""
name: q
tables:
  orders:
    source: "{pg.uri}"
    query: SELECT * FROM shop_orders WHERE customer_id <> 'c2';
    columns: {{order_ts: paid_at, amount: total}}
dimensions:
  spend: {{table: orders, aggregate: sum(amount)}}
outputs: [spend]
""",
    )
    got = segrule.score(path, as_of=tb.AS_OF)
    assert got.to_dicts() == [{"customer_id": "c1", "spend": 150.0}]


def test_table_from_the_rule_set_is_named_in_messages(pg, rules, tb) -> None:
    pg.load(tb.orders([("c1", tb.days_before(3), 1.0, "paid")]), "named")
    path = rules(
        "r.yaml",
        f"""
name: t
tables:
  orders: {{source: "{pg.uri}", table: public.named, columns: {{amount: price}}}}
outputs: [orders_30d]
""",
    )
    with pytest.raises(DataError) as err:
        segrule.score(path, as_of=tb.AS_OF)
    message = str(err.value)
    assert "#public.named: column 'price'" in message and "\n" not in message
    assert pg.password not in message and "***" in message


def test_errors_are_one_line_without_password(pg) -> None:
    cases = {
        f"{pg.uri}#no_such_table": "no_such_table",
        f"{pg.uri}": "name the table to read",
        f"{pg.uri}#a.b.c": "is not a table name",
    }
    for source, expected in cases.items():
        with pytest.raises(DataError) as err:
            scan_database(source)
        text = str(err.value)
        assert expected in text and "\n" not in text, text
        assert pg.password not in text and "s3cr" not in text, text


def test_table_names() -> None:
    assert table_name("orders", "x") == ("orders",)
    assert table_name("Public.Orders", "x") == ("public", "orders")
    assert table_name('sales."Order Lines"', "x") == ("sales", "Order Lines")
    assert table_name('"a""b"', "x") == ('a"b',)
    for bad in ("", "a.", ".a", "a b", 'a"b', "a.b.c", "x" * 64):
        with pytest.raises(DataError):
            table_name(bad, "x")
    db = parse("postgresql://u:p%23w@h/db?sslmode=disable#sales.%22Order%20Lines%22")
    assert db.uri == "postgresql://u:p%23w@h/db?sslmode=disable"
    assert db.table == 'sales."Order Lines"' and "p%23w" not in db.shown


def test_a_missing_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "adbc_driver_postgresql.dbapi", None)
    with pytest.raises(DataError, match=r"pip install 'segrule\[postgres\]'"):
        scan_database("postgresql://nowhere/db#t")


def test_scores_from_a_rule_file_source_equal_parquet(pg, tmp_path: Path, tb) -> None:
    orders = tb.orders(
        [
            ("c1", tb.days_before(3), 100.0, "paid"),
            ("c2", tb.days_before(400), 50.0, "refunded"),
            (None, tb.days_before(1), 70.0, "paid"),
            ("c1", tb.days_before(-2), 70.0, "paid"),  # after as-of
        ]
    )
    orders.write_parquet(tmp_path / "orders.parquet")
    uri = pg.load(orders, "few_orders")
    want = segrule.score("rfm", {"orders": tmp_path / "orders.parquet"}, as_of=tb.AS_OF)
    got = segrule.score("rfm", {"orders": uri}, as_of=tb.AS_OF)
    assert_frame_equal(got, want)


def test_empty_tables_and_nan_amounts(pg) -> None:
    pg.execute(
        "DROP TABLE IF EXISTS nan_amounts",
        "CREATE TABLE nan_amounts (customer_id text, amount numeric(8,2))",
        "INSERT INTO nan_amounts VALUES ('a', 'NaN'), ('b', 1.5)",
    )
    got = scan_database(f"{pg.uri}#nan_amounts").collect().sort("customer_id")
    # 'NaN' is no amount: null, which the data-quality checks count as bad_amount.
    assert got["amount"].to_list() == [None, Decimal("1.50")]
    pg.execute("TRUNCATE nan_amounts")
    empty = scan_database(f"{pg.uri}#nan_amounts")
    assert empty.collect().height == 0 and empty.select(pl.len()).collect().item() == 0
