"""The synthetic childrenswear_items: deterministic, valid, realistic, and rich enough
for every label of the preset."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import segrule
import segrule_childrenswear.hooks as plugin
from segrule.generate import TableSpec, generate

TABLES = ["orders", "customers", "childrenswear_items"]
ORDERS = 20_000


def _generate(out: Path, seed: int, orders: int = ORDERS) -> Path:
    engine = segrule.Engine(plugins=[plugin], autoload=False)
    contract = engine.tables.items["childrenswear_items"]
    assert contract.generate is not None and contract.rows is not None
    spec = TableSpec(contract.generate, contract.rows)
    generate(out, orders=orders, seed=seed, tables=TABLES, generators={"childrenswear_items": spec})
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("cw-seed1"), seed=1)


@pytest.fixture(scope="module")
def items(data: Path) -> pl.DataFrame:
    return pl.read_parquet(data / "childrenswear_items.parquet")


def test_deterministic_per_seed(data: Path, tmp_path: Path) -> None:
    again = _generate(tmp_path / "again", seed=1)
    other = _generate(tmp_path / "other", seed=2)
    name = "childrenswear_items.parquet"
    assert (again / name).read_bytes() == (data / name).read_bytes()
    assert not pl.read_parquet(other / name).equals(pl.read_parquet(data / name))


def test_schema_rows_and_ids(data: Path, items: pl.DataFrame) -> None:
    assert items.schema == pl.Schema(
        {
            "customer_id": pl.String,
            "order_id": pl.String,
            "item_ts": pl.Datetime("us"),
            "size_cm": pl.String,
            "product_gender": pl.String,
            "fabric": pl.String,
            "category": pl.String,
            "amount": pl.Float64,
            "quantity": pl.Int32,
        }
    )
    assert len(items) == ORDERS  # one line per core order
    customers = pl.read_parquet(data / "customers.parquet")["customer_id"]
    assert items["customer_id"].is_in(customers.implode()).all()
    assert items["customer_id"].null_count() == 0
    # Lines of one order share the customer and the time.
    per_order = items.group_by("order_id").agg(
        pl.col("customer_id").n_unique().alias("c"), pl.col("item_ts").n_unique().alias("t")
    )
    assert per_order["c"].max() == 1 and per_order["t"].max() == 1
    assert 1.5 < len(items) / len(per_order) < 2.2  # 1-4 lines per order, ~1.8 on average
    # Every customer with orders bought children's items too (one order each is guaranteed).
    buyers = pl.read_parquet(data / "orders.parquet")["customer_id"].unique().sort()
    assert items["customer_id"].unique().sort().equals(buyers)
    assert (items["amount"] > 0).all() and (items["quantity"] >= 1).all()


def test_children_grow_and_fabrics_follow_the_season(items: pl.DataFrame) -> None:
    from segrule_childrenswear.tables import prepare_items

    it = prepare_items(items.lazy()).collect()
    assert it["size_cm"].null_count() == (it["category"] == "accessories").sum()
    assert set(it["product_gender"].unique().to_list()) == {"boy", "girl", "unisex"}
    # Within a household, later lines are larger sizes.
    growth = (
        it.drop_nulls("size_cm")
        .group_by("customer_id")
        .agg(
            pl.len().alias("n"),
            (pl.col("item_ts").max() - pl.col("item_ts").min()).dt.total_days().alias("span"),
            pl.corr(
                pl.col("item_ts").dt.epoch("s").cast(pl.Float64),
                pl.col("size_cm").cast(pl.Float64),
                method="spearman",
            ).alias("rho"),
        )
        .filter((pl.col("n") >= 8) & (pl.col("span") > 365))
    )
    assert len(growth) >= 30
    assert growth["rho"].median() > 0.3
    month = (
        it.with_columns(pl.col("item_ts").dt.month().alias("m"))
        .group_by("m")
        .agg(
            (pl.col("fabric") == "linen").mean().alias("linen"),
            (pl.col("fabric") == "wool").mean().alias("wool"),
            (pl.col("category") == "outerwear").mean().alias("outerwear"),
        )
    )
    by = {r["m"]: r for r in month.to_dicts()}
    assert by[7]["linen"] > 5 * by[1]["linen"]
    assert by[1]["wool"] > 5 * by[7]["wool"]
    assert by[1]["outerwear"] > 3 * by[7]["outerwear"]
    # Babies get cotton more often than older children.
    baby = it.filter(pl.col("size_cm") < 80)["fabric"].eq("cotton").mean()
    older = it.filter(pl.col("size_cm") >= 110)["fabric"].eq("cotton").mean()
    assert baby > older + 0.15  # type: ignore[operator]


def test_preset_labels_all_reached_on_generated_data(data: Path) -> None:
    engine = segrule.Engine(plugins=[plugin], autoload=False)
    df = segrule.score("childrenswear:child-stage", data=data, as_of="2026-11-01", engine=engine)
    assert isinstance(df, pl.DataFrame)
    assert len(df) == ORDERS // 10
    expected = {
        "child_stage": {"infant", "toddler", "young_child", "older_child", "unknown"},
        "next_size": {"due_now", "upcoming", "later", "overdue", "top_size", "unknown"},
        "household": {"multi_child", "single_child", "unknown"},
        "child_gender": {"boy", "girl", "mixed", "unknown"},
        "next_size_due_now": {True, False},
    }
    for segment, labels in expected.items():
        assert set(df[segment].unique().to_list()) == labels, segment
    # The main segment: every label holds a real share of the customers.
    shares = df["child_stage"].value_counts(normalize=True)
    assert shares["proportion"].min() > 0.05
