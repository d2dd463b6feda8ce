"""The synthetic ``apparel_items`` generator: deterministic, valid, consistent with the
generated orders, and rich enough for every preset label."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import segrule
import segrule_apparel.hooks as plugin
from segrule.generate import TableSpec, generate
from segrule_apparel.generate import LINES_PER_ORDER, SCHEMA
from segrule_apparel.tables import ITEMS

TABLES = ["orders", "customers", "apparel_items"]
SPEC = {"apparel_items": TableSpec(ITEMS.generate, ITEMS.rows)}  # type: ignore[arg-type]


def make(out: Path, orders: int, seed: int) -> Path:
    generate(out, orders=orders, seed=seed, tables=TABLES, generators=SPEC)
    return out


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make(tmp_path_factory.mktemp("apparel20k"), 20_000, 1)


def test_deterministic_by_seed(data: Path, tmp_path: Path) -> None:
    same = make(tmp_path / "same", 20_000, 1)
    other = make(tmp_path / "other", 20_000, 2)
    items = "apparel_items.parquet"
    assert digest(same / items) == digest(data / items)
    assert digest(other / items) != digest(data / items)


def test_chunk_rows_changes_only_the_layout(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "chunked"
    generate(out, orders=20_000, seed=1, tables=TABLES, generators=SPEC, chunk_rows=7_000)
    a = pl.read_parquet(out / "apparel_items.parquet")
    b = pl.read_parquet(data / "apparel_items.parquet")
    assert a.equals(b)


def test_schema_and_rows_follow_the_orders(data: Path) -> None:
    assert pq.read_schema(data / "apparel_items.parquet") == SCHEMA
    items = pl.read_parquet(data / "apparel_items.parquet")
    orders = pl.read_parquet(data / "orders.parquet")
    customers = pl.read_parquet(data / "customers.parquet")
    bought = orders.filter(pl.col("status").is_in(["paid", "refunded"]))
    # every line belongs to a paid or refunded order, and every such order has lines
    assert set(items["order_id"].unique()) == set(bought["order_id"])
    assert set(items["customer_id"].unique()) <= set(customers["customer_id"])
    per_order = items.group_by("order_id").agg(
        pl.col("customer_id").first(),
        pl.col("item_ts").first(),
        pl.col("customer_id").n_unique().alias("ids"),
        pl.col("item_ts").n_unique().alias("times"),
        pl.col("quantity").sum().alias("units"),
        (pl.col("amount") * 100).round(0).cast(pl.Int64).sum().alias("cents"),
        pl.len().alias("lines"),
    )
    joined = per_order.join(bought, on="order_id", suffix="_order")
    assert joined.height == bought.height
    assert (joined["ids"] == 1).all() and (joined["times"] == 1).all()
    assert (joined["customer_id"] == joined["customer_id_order"]).all()
    assert (joined["item_ts"] == joined["order_ts"]).all()
    assert (joined["units"] == joined["quantity"]).all()
    order_cents = (joined["amount"] * 100).round(0).cast(pl.Int64)
    assert (joined["cents"] == order_cents).all()  # line amounts add up to the order
    assert joined["lines"].max() <= 6
    # the progress estimate of the contract is close to the real row count
    estimate = round(20_000 * LINES_PER_ORDER)
    assert abs(items.height - estimate) < 0.05 * estimate, (items.height, estimate)
    # refunded orders: every line returned
    refunded = items.join(bought.filter(pl.col("status") == "refunded"), on="order_id")
    assert refunded["returned"].all()
    assert items.filter(pl.col("returned"))["return_ts"].null_count() == 0
    assert items.filter(~pl.col("returned"))["return_ts"].null_count() == (~items["returned"]).sum()
    assert (items["amount"] > 0).all() and (items["quantity"] >= 1).all()
    assert items["category"].null_count() == 0 and items["item_ts"].null_count() == 0


def test_distributions_a_merchant_would_recognise(data: Path) -> None:
    items = pl.read_parquet(data / "apparel_items.parquet")
    by_cat = items.group_by("category").agg(
        pl.col("amount").median().alias("price"), pl.col("returned").mean().alias("returns")
    )
    cat = {r["category"]: r for r in by_cat.iter_rows(named=True)}
    assert cat["outerwear"]["price"] > cat["dress"]["price"] > cat["tshirt"]["price"]
    assert cat["tshirt"]["price"] > cat["accessories"]["price"]
    assert cat["dress"]["returns"] > cat["tshirt"]["returns"] > cat["accessories"]["returns"]
    month = pl.col("item_ts").dt.month()
    winter = items.filter(month.is_in([12, 1, 2]))
    summer = items.filter(month.is_in([6, 7, 8]))

    def share(df: pl.DataFrame, category: str) -> float:
        return float((df["category"] == category).mean() or 0.0)

    assert share(winter, "outerwear") > 2 * share(summer, "outerwear")
    assert share(summer, "shorts") > 2 * share(winter, "shorts")
    assert (winter["season"] == "winter").mean() > 0.4 > (summer["season"] == "winter").mean()
    # new-arrival flag agrees with the launch time and the 30-day rule
    rule = (pl.col("item_ts") < pl.col("launch_ts") + pl.duration(days=30)).fill_null(False)
    assert items.select((rule == pl.col("is_new_arrival")).all()).item()
    assert 0.1 < items["returned"].mean() < 0.35


@pytest.mark.parametrize(
    ("preset", "segment"),
    [
        ("apparel:category-needs", "apparel_category_customer"),
        ("apparel:category-needs", "apparel_return_risk"),
        ("apparel:category-needs", "apparel_new_arrival_buyer"),
        ("apparel:size-season", "apparel_season_buyer"),
        ("apparel:size-season", "apparel_size_fit"),
    ],
)
def test_every_preset_label_has_customers(data: Path, preset: str, segment: str) -> None:
    engine = segrule.Engine(plugins=[plugin], autoload=False)
    plan = segrule.compile(preset, data=data, as_of="2026-11-01", engine=engine)
    df = plan.frame.collect(engine="streaming")
    assert df.height == pl.read_parquet(data / "customers.parquet").height
    counts = dict(df[segment].value_counts().iter_rows())
    expected = set(plan.nodes[segment].labels)
    assert set(counts) == expected, (segment, counts)
    assert all(n >= 1 for n in counts.values())


def test_no_orders_gives_an_empty_table_with_the_schema(tmp_path: Path) -> None:
    generate(tmp_path, orders=0, customers=5, tables=TABLES, generators=SPEC)
    table = pq.read_table(tmp_path / "apparel_items.parquet")
    assert table.num_rows == 0 and table.schema == SCHEMA
