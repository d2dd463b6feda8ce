"""Rollups (segrule.rollup): exact numbers against DuckDB computing the same groups from
the raw rows by its own SQL, on hand-made and generated data; integer and text ids,
Chinese cities, null keys, data-quality checks as in the customer run, empty inputs,
the order of rows and of the input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
import segrule
from segrule.errors import DataError, RuleSetError, UsageError
from segrule.generate import generate
from segrule.grouped import MARKER
from segrule.io.outputs import read_rollups
from segrule.model.geo import CITY_REGION
from segrule.testing import AS_OF, days_before, make_tables

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

RULES = """
name: rollup-test
extends: rfm
rollups:
  by_category:
    zh: 品类
    by: [category]
  by_city_category:
    by: [customer.city, category]
  by_region:
    by: [customer.region]
    pareto: 0.5
  segment_region:
    table: customers
    by: [rfm_segment, region]
"""

MEASURE_COLUMNS = ["revenue", "revenue_share", "cumulative_share", "pareto_key"]


def _sql_rollup(
    con: duckdb.DuckDBPyConnection,
    rows_sql: str,
    keys: list[str],
    counts: list[tuple[str, str]],
    share: float = 0.8,
) -> pl.DataFrame:
    """DuckDB's rollup of ``rows_sql`` (columns: keys, customer_id, cents): counts, exact
    revenue, shares, cumulative share and the Pareto key groups, ordered by revenue
    descending, the first count descending, then the keys (nulls last)."""
    key_list = ", ".join(f'"{k}"' for k in keys)
    count_sql = ", ".join(f"{expr} AS {name}" for name, expr in counts)
    order = ", ".join(
        ["cents DESC", f"{counts[0][0]} DESC", *[f'"{k}" ASC NULLS LAST' for k in keys]]
    )
    sql = f"""
    WITH g AS (
      SELECT {key_list}, {count_sql}, CAST(SUM(cents) AS BIGINT) AS cents
      FROM ({rows_sql}) GROUP BY ALL
    ), r AS (
      SELECT *, SUM(cents) OVER () AS total,
             SUM(cents) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING) AS running,
             ROW_NUMBER() OVER (ORDER BY {order}) AS pos
      FROM g
    )
    SELECT {key_list}, {", ".join(n for n, _ in counts)},
           cents,
           CASE WHEN total > 0 THEN cents / total END AS revenue_share,
           CASE WHEN total > 0 THEN running / total END AS cumulative_share,
           (total > 0 AND (running - cents) < {share} * total) AS pareto_key
    FROM r ORDER BY pos
    """
    return con.sql(sql).pl()


def _as_cents(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        (pl.col("revenue") * 100).round(0).cast(pl.Int64).alias("cents")
    ).drop("revenue")


def _same(ours: pl.DataFrame, theirs: pl.DataFrame) -> None:
    """``ours`` (revenue in units) holds DuckDB's rows in DuckDB's order: keys, counts
    and cents exactly, shares to 1e-12."""
    cols = theirs.columns
    left = _as_cents(ours).select(cols)
    exact = [c for c in cols if c not in ("revenue_share", "cumulative_share")]
    assert (
        left.select(exact).to_dicts()
        == theirs.select(exact).cast({c: left.schema[c] for c in exact}).to_dicts()
    )
    for c in ("revenue_share", "cumulative_share"):
        a, b = left[c].to_list(), theirs[c].to_list()
        assert [x is None for x in a] == [x is None for x in b]
        assert all(x is None or abs(x - y) < 1e-12 for x, y in zip(a, b, strict=True))


def _hand_tables(ids: str) -> dict[str, pl.DataFrame]:
    """Orders with a null category, a refunded order, an order after as-of, an unknown
    customer, a negative amount and a duplicated order id; customers in Chinese cities,
    one without a city."""
    c = (lambda i: str(i)) if ids == "int" else (lambda i: f"客{i:03d}")
    orders = [
        {"customer_id": c(1), "order_ts": days_before(3), "amount": 10.05, "category": "裙装"},
        {"customer_id": c(1), "order_ts": days_before(40), "amount": 20.0, "category": "鞋"},
        {"customer_id": c(2), "order_ts": days_before(3), "amount": 30.10, "category": None},
        {
            "customer_id": c(2),
            "order_ts": days_before(5),
            "amount": 99.0,
            "category": "裙装",
            "status": "refunded",
        },
        {"customer_id": c(3), "order_ts": days_before(1), "amount": 1.01, "category": "裙装"},
        {
            "customer_id": c(3),
            "order_ts": AS_OF + dt.timedelta(hours=1),
            "amount": 500.0,
            "category": "鞋",
        },
        {"customer_id": c(9), "order_ts": days_before(2), "amount": 7.0, "category": "鞋"},
        {"customer_id": c(4), "order_ts": days_before(9), "amount": -3.0, "category": "鞋"},
        {"customer_id": c(4), "order_ts": days_before(8), "amount": 0.07, "category": "包"},
        {
            "customer_id": c(5),
            "order_ts": days_before(6),
            "amount": 1000.0,
            "category": "包",
            "order_id": "dup",
        },
        {
            "customer_id": c(5),
            "order_ts": days_before(2),
            "amount": 1000.0,
            "category": "包",
            "order_id": "dup",
        },
    ]
    customers = [
        (c(1), 1990, "上海"),
        (c(2), 1985, "北京"),
        (c(3), 1999, None),
        (c(4), 2000, "成都"),
        (c(5), 1970, "上海"),
        (c(6), 1980, "广州"),  # no orders
    ]
    tables = make_tables(orders=orders, customers=customers)
    if ids == "int":
        tables = {
            k: v.with_columns(pl.col("customer_id").cast(pl.Int64)) for k, v in tables.items()
        }
    return tables


@pytest.fixture(params=["int", "text"])
def hand(request: pytest.FixtureRequest, rules: Any) -> tuple[Path, dict[str, pl.DataFrame]]:
    return rules("r.yaml", RULES), _hand_tables(request.param)


def _clean_orders_sql() -> str:
    """The orders the customer run counts, by DuckDB's own SQL: before as-of, paid, a
    valid amount, a known customer, the first row of a duplicated order id."""
    return f"""
      SELECT * FROM orders
      WHERE order_ts < TIMESTAMP '{AS_OF.isoformat(sep=" ")}'
        AND amount IS NOT NULL AND amount >= 0
        AND customer_id IN (SELECT customer_id FROM customers)
      QUALIFY ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY order_ts) = 1
    """


def _connect(tables: dict[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("orders", tables["orders"].to_arrow())
    con.register("customers", tables["customers"].to_arrow())
    geo = pl.DataFrame({"city": list(CITY_REGION), "region": list(CITY_REGION.values())})
    con.register("geo", geo.to_arrow())
    return con


def test_hand_made_against_duckdb(hand: tuple[Path, dict[str, pl.DataFrame]]) -> None:
    path, tables = hand
    result = segrule.rollups(path, tables, as_of=AS_OF)
    con = _connect(tables)
    paid = f"""
      SELECT o.*, c.city, g.region, CAST(ROUND(CAST(o.amount AS DECIMAL(18, 2)) * 100) AS BIGINT)
             AS cents
      FROM ({_clean_orders_sql()}) o JOIN customers c USING (customer_id)
      LEFT JOIN geo g ON g.city = c.city
      WHERE o.status = 'paid'
    """
    counts = [("orders", "COUNT(*)"), ("customers", "COUNT(DISTINCT customer_id)")]
    _same(result.tables["by_category"], _sql_rollup(con, paid, ["category"], counts))
    _same(result.tables["by_city_category"], _sql_rollup(con, paid, ["city", "category"], counts))
    _same(result.tables["by_region"], _sql_rollup(con, paid, ["region"], counts, share=0.5))
    # The numbers by hand: 包 holds 1000.00 + 0.07 (the duplicate and the negative amount
    # left out), the null category is a group of its own, counted.
    by_cat = result.tables["by_category"]
    assert by_cat.rows() == [
        (
            "包",
            2,
            2,
            1000.07,
            pytest.approx(1000.07 / 1061.23),
            pytest.approx(1000.07 / 1061.23),
            True,
        ),
        (
            None,
            1,
            1,
            30.10,
            pytest.approx(30.10 / 1061.23),
            pytest.approx(1030.17 / 1061.23),
            False,
        ),
        ("鞋", 1, 1, 20.0, pytest.approx(20 / 1061.23), pytest.approx(1050.17 / 1061.23), False),
        ("裙装", 2, 2, 11.06, pytest.approx(11.06 / 1061.23), 1.0, False),
    ]


def test_customer_rows_against_duckdb(hand: tuple[Path, dict[str, pl.DataFrame]]) -> None:
    path, tables = hand
    result = segrule.rollups(path, tables, as_of=AS_OF)
    scored = segrule.score(
        path,
        tables,
        as_of=AS_OF,
        outputs=["customer_id", "rfm_segment", "region", "monetary_lifetime"],
    )
    con = _connect(tables)
    con.register("scored", scored.to_arrow())
    rows = """SELECT rfm_segment, region, customer_id,
                     CAST(ROUND(monetary_lifetime * 100) AS BIGINT) AS cents FROM scored"""
    expected = _sql_rollup(con, rows, ["rfm_segment", "region"], [("customers", "COUNT(*)")])
    ours = result.tables["segment_region"]
    _same(ours.drop("customer_share"), expected)
    assert ours["customers"].sum() == 6  # every customer of the universe, c(6) included
    assert ours["customer_share"].to_list() == [n / 6 for n in ours["customers"]]
    # Customers without a city are a null region group, counted.
    assert ours.filter(pl.col("region").is_null())["customers"].sum() == 1


def test_order_revenue_equals_the_customer_run(hand: tuple[Path, dict[str, pl.DataFrame]]) -> None:
    path, tables = hand
    result = segrule.rollups(path, tables, as_of=AS_OF)
    scored = segrule.score(path, tables, as_of=AS_OF)
    total = round(scored["monetary_lifetime"].sum() * 100)
    for name in ("by_category", "by_city_category", "by_region", "segment_region"):
        frame = result.tables[name]
        assert round((frame["revenue"] * 100).round(0).sum()) == total, name
    assert result.tables["by_category"]["orders"].sum() == scored["orders_lifetime"].sum()


def test_blacklisted_customers_are_left_out(rules: Any, tmp_path: Path) -> None:
    tables = _hand_tables("text")
    bl = tmp_path / "bl.txt"
    bl.write_text("客005\n", encoding="utf-8")
    path = rules("r.yaml", RULES)
    result = segrule.rollups(path, tables, as_of=AS_OF, blacklist=bl, names=["by_category"])
    assert "包" in result.tables["by_category"]["category"].to_list()
    assert result.tables["by_category"].filter(pl.col("category") == "包")["revenue"].item() == 0.07
    assert list(result.tables) == ["by_category"]


def test_same_input_in_another_order_gives_the_same_tables(rules: Any) -> None:
    path = rules("r.yaml", RULES)
    tables = _hand_tables("int")
    first = segrule.rollups(path, tables, as_of=AS_OF)
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=7) for k, v in tables.items()}
    second = segrule.rollups(path, shuffled, as_of=AS_OF)
    for name, frame in first.tables.items():
        assert frame.equals(second.tables[name]), name


def test_window_where_top_and_a_product_column(rules: Any) -> None:
    path = rules(
        "r.yaml",
        """
rollups:
  recent_products:
    by: [sku]
    window: 30d
    where: status IN ('paid', 'refunded')
    top: 2
""",
    )
    orders = pl.DataFrame(
        {
            "order_id": ["a", "b", "c", "d", "e"],
            "customer_id": [1, 2, 3, 1, 2],
            "order_ts": [days_before(d) for d in (1, 2, 3, 40, 5)],
            "amount": [5.0, 7.0, 1.0, 100.0, 3.0],
            "status": ["paid", "refunded", "paid", "paid", "cancelled"],
            "sku": ["007", "008", "009", "007", "007"],
        }
    )
    out = segrule.rollups(path, {"orders": orders}, as_of=AS_OF).tables["recent_products"]
    assert out.select("sku", "orders", "revenue").rows() == [("008", 1, 7.0), ("007", 1, 5.0)]
    # Shares are of every group, before top keeps the first two.
    assert out["cumulative_share"].to_list() == [pytest.approx(7 / 13), pytest.approx(12 / 13)]


def test_empty_orders(rules: Any) -> None:
    path = rules("r.yaml", RULES)
    tables = make_tables(orders=[], customers=[("c1", 1990, "上海")])
    result = segrule.rollups(path, tables, as_of=AS_OF)
    assert result.tables["by_category"].height == 0
    assert result.tables["by_category"].columns == [
        "category",
        "orders",
        "customers",
        "revenue",
        *MEASURE_COLUMNS[1:],
    ]
    seg = result.tables["segment_region"]
    assert seg.rows() == [("no_purchase", "east", 1, 1.0, 0.0, None, None, False)]


def test_errors_name_the_rollup(rules: Any) -> None:
    tables = _hand_tables("text")
    bad_column = rules("a.yaml", "rollups:\n  key_products:\n    by: [sku]\n")
    with pytest.raises(DataError, match=r"no column 'sku' \(needed by rollup 'key_products'\)"):
        segrule.rollups(bad_column, tables, as_of=AS_OF)
    bad_key = rules("b.yaml", "rollups:\n  by_region:\n    by: [customer.regoin]\n")
    with pytest.raises(
        RuleSetError, match=r"b.yaml:3:\d+: rollup 'by_region'.*'regoin'.*did you mean 'region'"
    ):
        segrule.rollups(bad_key, tables, as_of=AS_OF)
    bad_where = rules("c.yaml", "rollups:\n  x:\n    by: [category]\n    where: amount > 'a'\n")
    with pytest.raises(RuleSetError, match="rollup 'x': where"):
        segrule.rollups(bad_where, tables, as_of=AS_OF)
    bad_table = rules("d.yaml", "rollups:\n  x:\n    table: order\n    by: [category]\n")
    with pytest.raises(
        RuleSetError, match=r"rollup 'x': unknown table 'order'.*did you mean 'orders'"
    ):
        segrule.rollups(bad_table, tables, as_of=AS_OF)
    clash = rules("e.yaml", "rollups:\n  x:\n    by: [city, customer.city]\n")
    with pytest.raises(RuleSetError, match="two group keys give the column 'city'"):
        segrule.rollups(clash, tables, as_of=AS_OF)
    bad_name = rules("f.yaml", "rollups:\n  ../x:\n    by: [category]\n")
    with pytest.raises(RuleSetError, match="not a file name"):
        segrule.rollups(bad_name, tables, as_of=AS_OF)
    none = rules("g.yaml", "name: none\n")
    with pytest.raises(RuleSetError, match="has no rollups"):
        segrule.rollups(none, tables, as_of=AS_OF)
    with pytest.raises(UsageError, match="unknown rollup 'nope'"):
        segrule.rollups(rules("h.yaml", RULES), tables, as_of=AS_OF, names=["nope"])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rollup-data")
    generate(out, orders=20_000, seed=11, end=dt.date(2026, 11, 1), id_type="int")
    return out


def test_generated_against_duckdb(generated: Path, rules: Any, tmp_path: Path) -> None:
    path = rules("r.yaml", RULES)
    result = segrule.rollup(path, tmp_path / "rollups", data=generated, as_of="2026-11-01")
    con = duckdb.connect()
    orders = pl.read_parquet(generated / "orders.parquet")
    customers = pl.read_parquet(generated / "customers.parquet")
    con.register("orders", orders.to_arrow())
    con.register("customers", customers.to_arrow())
    geo = pl.DataFrame({"city": list(CITY_REGION), "region": list(CITY_REGION.values())})
    con.register("geo", geo.to_arrow())
    paid = f"""
      SELECT o.*, c.city, g.region, CAST(ROUND(CAST(o.amount AS DECIMAL(18, 2)) * 100) AS BIGINT)
             AS cents
      FROM ({_clean_orders_sql()}) o JOIN customers c USING (customer_id)
      LEFT JOIN geo g ON g.city = c.city
      WHERE o.status = 'paid'
    """
    counts = [("orders", "COUNT(*)"), ("customers", "COUNT(DISTINCT customer_id)")]
    written = read_rollups(tmp_path / "rollups")
    assert list(written) == ["by_category", "by_city_category", "by_region", "segment_region"]
    assert written["by_category"]["zh"] == "品类"
    for name, keys, share in (
        ("by_category", ["category"], 0.8),
        ("by_city_category", ["city", "category"], 0.8),
        ("by_region", ["region"], 0.5),
    ):
        expected = _sql_rollup(con, paid, keys, counts, share)
        assert expected.height > 3
        _same(result.tables[name], expected)
        assert written[name]["table"].equals(result.tables[name])
    assert sorted(p.name for p in (tmp_path / "rollups").iterdir()) == sorted(
        [MARKER, *(f"{n}.parquet" for n in written)]
    )


def test_files_are_byte_identical_across_runs(generated: Path, rules: Any, tmp_path: Path) -> None:
    path = rules("r.yaml", RULES)
    segrule.rollup(path, tmp_path / "a", data=generated, as_of="2026-11-01", fmt="csv")
    segrule.rollup(path, tmp_path / "b", data=generated, as_of="2026-11-01", fmt="csv")
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name


def test_one_customer_ties_and_zero_revenue(rules: Any) -> None:
    path = rules(
        "r.yaml",
        "rollups:\n  by_category:\n    by: [category]\n"
        "  all_rows:\n    by: [category]\n    where: 'TRUE'\n",
    )
    # Equal revenues: the order is the keys'; one customer; a group of refunds only.
    orders = [
        ("c1", days_before(1), 5.0, "paid", "b"),
        ("c1", days_before(2), 5.0, "paid", "a"),
        ("c1", days_before(3), 5.0, "paid", "c"),
        ("c1", days_before(4), 9.0, "refunded", "d"),
    ]
    result = segrule.rollups(path, make_tables(orders=orders), as_of=AS_OF)
    paid = result.tables["by_category"]
    assert paid["category"].to_list() == ["a", "b", "c"]
    assert paid["cumulative_share"].to_list() == [pytest.approx(1 / 3), pytest.approx(2 / 3), 1.0]
    # 0.8 of 15.00 is 12.00: a and b (10.00 before c) are key, c crosses it and is key too.
    assert paid["pareto_key"].to_list() == [True, True, True]
    every = result.tables["all_rows"]
    assert every["category"].to_list() == ["d", "a", "b", "c"]
    # Nothing paid at all: no shares and no key group.
    refunds = make_tables(orders=[("c1", days_before(4), 9.0, "refunded", "d")])
    none = segrule.rollups(path, refunds, as_of=AS_OF).tables["by_category"]
    assert none.height == 0
    zero = segrule.rollups(
        path, make_tables(orders=[("c1", days_before(4), 0.0, "paid", "d")]), as_of=AS_OF
    ).tables["by_category"]
    assert zero.rows() == [("d", 1, 1, 0.0, None, None, False)]


def test_csv_cells_a_spreadsheet_would_run_are_neutralized(rules: Any, tmp_path: Path) -> None:
    path = rules("r.yaml", "rollups:\n  by_category:\n    by: [category]\n")
    orders = [("c1", days_before(1), 5.0, "paid", '=HYPERLINK("http://x")')]
    segrule.rollup(path, tmp_path / "out", make_tables(orders=orders), as_of=AS_OF, fmt="csv")
    text = (tmp_path / "out" / "by_category.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and '\n"=' not in text and "\n=" not in text
    segrule.rollup(
        path,
        tmp_path / "keep",
        make_tables(orders=orders),
        as_of=AS_OF,
        fmt="csv",
        csv_formulas="keep",
    )
    kept = (tmp_path / "keep" / "by_category.csv").read_text(encoding="utf-8")
    assert '\n"=HYPERLINK' in kept and "'=" not in kept


def test_a_plugin_table(tmp_path: Path, rules: Any) -> None:
    generate(
        tmp_path / "data",
        orders=2000,
        seed=4,
        end=dt.date(2026, 11, 1),
        tables=["orders", "customers", "apparel_items"],
        generators={
            n: t.generate
            for n, t in segrule.Engine(
                plugins=["segrule_apparel.hooks"], autoload=False
            ).tables.items.items()
            if n == "apparel_items"
        },
    )
    path = rules("r.yaml", "rollups:\n  sizes:\n    table: apparel_items\n    by: [size]\n")
    engine = segrule.Engine(plugins=["segrule_apparel.hooks"], autoload=False)
    out = segrule.rollups(path, data=tmp_path / "data", as_of=AS_OF, engine=engine)
    sizes = out.tables["sizes"]
    items = pl.read_parquet(tmp_path / "data" / "apparel_items.parquet")
    customers = pl.read_parquet(tmp_path / "data" / "customers.parquet")
    con = duckdb.connect()
    con.register("items", items.to_arrow())
    con.register("customers", customers.to_arrow())
    rows = f"""SELECT size, customer_id,
                 CAST(ROUND(CAST(amount AS DECIMAL(18, 2)) * 100) AS BIGINT) AS cents
               FROM items WHERE {_ts_column()} < TIMESTAMP '{AS_OF.isoformat(sep=" ")}'
                 AND customer_id IN (SELECT customer_id FROM customers)"""
    counts = [("rows", "COUNT(*)"), ("customers", "COUNT(DISTINCT customer_id)")]
    expected = _sql_rollup(con, rows, ["size"], counts)
    assert expected.height > 3
    _same(sizes, expected)


def _ts_column() -> str:
    from segrule_apparel.tables import TS

    return TS


def test_run_with_rollups_after_duplicates_are_dropped(rules: Any, tmp_path: Path) -> None:
    """The run computes its plan again without duplicate orders: the rollups come from
    that plan too."""
    path = rules("r.yaml", RULES)
    tables = _hand_tables("text")
    outputs = ["customer_id", "city", "region", "rfm_segment", "monetary_lifetime"]
    result = segrule.run(
        path,
        tmp_path / "s.parquet",
        tables,
        as_of=AS_OF,
        outputs=outputs,
        rollups=tmp_path / "rollups",
    )
    assert sorted(result.rollups) == sorted(
        ["by_category", "by_city_category", "by_region", "segment_region"]
    )
    alone = segrule.rollups(path, tables, as_of=AS_OF)
    for name, file in result.rollups.items():
        assert pl.read_parquet(file).equals(alone.tables[name]), name
    assert (
        pl.read_parquet(result.rollups["by_category"])
        .filter(pl.col("category") == "包")["revenue"]
        .item()
        == 1000.07
    )
