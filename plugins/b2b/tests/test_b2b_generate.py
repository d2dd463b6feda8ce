"""The synthetic b2b tables: deterministic, on contract, keyed by real customers, and rich
enough that every label of the presets' segments occurs at 20 000 orders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import segrule
import segrule_b2b.generate as bgen
import segrule_b2b.hooks as plugin
from segrule.generate import ORDERS_SCHEMA, TableSpec, generate
from segrule_b2b import inquiry

CORE = ["orders", "customers", "events", "feedback"]
MINE = ["b2b_inquiries", "b2b_accounts"]


def _specs(engine: segrule.Engine) -> dict[str, TableSpec]:
    return {
        t.name: TableSpec(t.generate, t.rows)
        for t in engine.tables.items.values()
        if t.owner.plugin == "b2b" and t.generate is not None
    }


@pytest.fixture(scope="module")
def engine() -> segrule.Engine:
    return segrule.Engine(plugins=[plugin], autoload=False)


@pytest.fixture(scope="module")
def data(engine, tmp_path_factory) -> dict[str, Path]:
    """20k orders with the core orders generator, and with the plugin's B2B orders."""
    out = {}
    for kind in ("core", "b2b"):
        gens = _specs(engine)
        if kind == "b2b":
            gens["orders"] = TableSpec(bgen.generate_orders, bgen.order_rows)
        path = tmp_path_factory.mktemp(f"b2b-{kind}")
        generate(path, orders=20_000, seed=1, tables=CORE + MINE, generators=gens)
        out[kind] = path
    return out


def test_contracts_carry_the_generators(engine) -> None:
    assert set(_specs(engine)) == set(MINE)


def _files(engine, path: Path, seed: int, orders_fn=None) -> dict[str, bytes]:
    gens = _specs(engine)
    tables = ["customers", *MINE]
    if orders_fn is not None:
        gens["orders"] = TableSpec(orders_fn, bgen.order_rows)
        tables.append("orders")
    generate(path, orders=5_000, seed=seed, tables=tables, generators=gens, chunk_rows=700)
    return {t: (path / f"{t}.parquet").read_bytes() for t in tables if t != "customers"}


def test_deterministic(engine, tmp_path) -> None:
    a = _files(engine, tmp_path / "a", 7, bgen.generate_orders)
    b = _files(engine, tmp_path / "b", 7, bgen.generate_orders)
    c = _files(engine, tmp_path / "c", 8, bgen.generate_orders)
    assert a == b
    for table in a:
        assert a[table] != c[table], table


def test_schema_and_contract(engine, data) -> None:
    for kind in data:
        for name, schema in (
            ("b2b_inquiries", bgen.inquiry_schema()),
            ("b2b_accounts", bgen.account_schema()),
        ):
            got = pq.read_schema(data[kind] / f"{name}.parquet")
            assert got.equals(schema, check_metadata=False), name
            contract = engine.tables.items[name]
            assert set(got.names) == {c.name for c in contract.columns}
    got = pq.read_schema(data["b2b"] / "orders.parquet")
    assert got.equals(ORDERS_SCHEMA, check_metadata=False)


def test_rows_and_ids(data) -> None:
    for kind, path in data.items():
        customers = pl.read_parquet(path / "customers.parquet")["customer_id"]
        inq = pl.read_parquet(path / "b2b_inquiries.parquet")
        acc = pl.read_parquet(path / "b2b_accounts.parquet")
        assert 2 * customers.len() < inq.height < 10 * customers.len()
        assert inq["inquiry_id"].n_unique() == inq.height
        assert 0.7 * customers.len() < acc.height <= customers.len()
        assert acc["customer_id"].n_unique() == acc.height  # one row per account
        for table in (inq, acc):
            assert table["customer_id"].is_in(customers.implode()).all(), kind
        assert inq["inquiry_ts"].null_count() == 0
        # about 1 % after the end of the window, so as-of filtering is exercised
        late = (inq["inquiry_ts"] >= dt.datetime(2026, 11, 1)).mean()
        assert 0.003 < late < 0.03
        m = acc["margin"].drop_nulls()
        assert m.min() >= 0.02 and m.max() <= 0.45
    orders = pl.read_parquet(data["b2b"] / "orders.parquet")
    customers = pl.read_parquet(data["b2b"] / "customers.parquet")["customer_id"]
    assert orders.height == 20_000
    assert orders["order_id"].n_unique() == 20_000
    assert orders["customer_id"].is_in(customers.implode()).all()
    assert (orders["amount"] > 0).all() and (orders["quantity"] >= 1).all()


def test_inquiries_look_like_a_trade_inbox(data) -> None:
    config = inquiry.parse_config({})
    inq = pl.read_parquet(data["core"] / "b2b_inquiries.parquet").with_columns(
        config.row_score().alias("score"),
        inquiry.email_domain().str.contains(config.free_regex).alias("free"),
    )
    junk = inq.filter(pl.col("score") < 4)
    valid = inq.filter(pl.col("score") >= 7)
    assert junk.height > 0.1 * inq.height  # many junk inquiries ...
    assert junk["free"].mean() > 0.8  # ... mostly from free mail
    assert valid["free"].mean() < 0.3


def _labels(df: pl.DataFrame, plan_nodes, column: str) -> tuple[set, set]:
    return set(df[column].cast(pl.String).unique().to_list()), set(plan_nodes[column].labels)


@pytest.mark.parametrize("kind", ["core", "b2b"])
@pytest.mark.parametrize("preset", ["b2b:inquiry-quality", "b2b:value-matrix"])
def test_every_label_occurs_on_generated_data(engine, data, kind, preset) -> None:
    plan = segrule.compile(preset, data=data[kind], as_of="2026-11-01", engine=engine)
    df = plan.frame.collect()
    segments = [
        n for n in plan.outputs if n in plan.nodes and plan.nodes[n].role in ("segment", "tier")
    ]
    assert segments
    for column in segments:
        seen, declared = _labels(df, plan.nodes, column)
        if df.schema[column] == pl.Boolean:
            declared = {"true", "false"}
        assert declared <= seen, (column, declared - seen)


def test_b2b_orders_have_regular_big_accounts(data, engine) -> None:
    df = segrule.score("b2b:value-matrix", data=data["b2b"], as_of="2026-11-01", engine=engine)
    top = df.filter(pl.col("b2b_account_value") == "most_profitable")
    rest = df.filter(pl.col("b2b_account_value").is_in(["growing", "declining", "stable"]))
    regular = pl.col("b2b_order_regularity") == "regular"
    assert top.select(regular.mean()).item() > rest.select(regular.mean()).item()
    transactional = df.filter(pl.col("b2b_relationship") == "transactional")
    relationship = df.filter(pl.col("b2b_relationship") == "relationship")
    assert (
        transactional["b2b_quotes_per_order"].median()
        > relationship["b2b_quotes_per_order"].median()
    )
