"""Tests for segrule.generate: determinism, shapes, schema, realism and streaming."""

from __future__ import annotations

import datetime
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from segrule import Engine
from segrule import generate as gen_mod
from segrule.errors import UsageError
from segrule.generate import TABLE_GENERATORS, GenContext, generate, vertical_generators
from segrule.model.tables import Column, TableContract
from segrule.plugins.hookspecs import hookimpl as segrule_impl

ORDERS = 50_000
CUSTOMERS = 5_000
SEED = 7
END = datetime.date(2026, 11, 1)
DAYS = 730
TABLES = ("orders", "customers", "events", "feedback", "messages")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("gen")
    return generate(out, orders=ORDERS, customers=CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def frames(dataset: dict[str, Path]) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(path) for name, path in dataset.items()}


def _paid_revenue(orders: pl.DataFrame) -> pl.DataFrame:
    return (
        orders.filter(pl.col("status") == "paid")
        .group_by("customer_id")
        .agg(revenue=pl.col("amount").sum())
    )


# --- files, determinism -------------------------------------------------------------------


def test_returns_paths_for_all_tables(dataset: dict[str, Path]) -> None:
    assert set(dataset) == set(TABLES)
    for name, path in dataset.items():
        assert path.name == f"{name}.parquet"
        assert path.is_file()
    # no temporary files left behind
    assert sorted(p.name for p in next(iter(dataset.values())).parent.iterdir()) == sorted(
        f"{t}.parquet" for t in TABLES
    )


def test_byte_identical_for_same_args_and_different_for_other_seed(tmp_path: Path) -> None:
    kwargs = {"orders": 20_000, "customers": 2_000, "seed": 3}
    a = generate(tmp_path / "a", **kwargs)
    b = generate(tmp_path / "b", **kwargs)
    c = generate(tmp_path / "c", **{**kwargs, "seed": 4})
    for name in TABLES:
        assert a[name].read_bytes() == b[name].read_bytes(), name
        assert a[name].read_bytes() != c[name].read_bytes(), name


def test_chunk_rows_changes_row_groups_not_data(tmp_path: Path) -> None:
    # more rows than one internal block, so re-chunking across blocks is exercised
    n = gen_mod.BLOCK_ROWS + 20_000
    big = generate(tmp_path / "big", orders=n, customers=3_000, tables=("orders",))
    small = generate(
        tmp_path / "small", orders=n, customers=3_000, chunk_rows=30_000, tables=("orders",)
    )
    meta = pq.ParquetFile(small["orders"]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [30_000] * (n // 30_000) + [n % 30_000]
    assert pq.ParquetFile(big["orders"]).metadata.num_row_groups == 1
    assert pl.read_parquet(big["orders"]).equals(pl.read_parquet(small["orders"]))


def test_small_chunks_give_several_row_groups(tmp_path: Path) -> None:
    paths = generate(tmp_path, orders=5_000, customers=500, chunk_rows=1_000)
    meta = pq.ParquetFile(paths["orders"]).metadata
    assert meta.num_row_groups == 5
    assert all(meta.row_group(i).num_rows == 1_000 for i in range(5))
    cmeta = pq.ParquetFile(paths["customers"]).metadata
    assert cmeta.num_row_groups == 1


def test_parquet_zstd_with_statistics(dataset: dict[str, Path]) -> None:
    meta = pq.ParquetFile(dataset["orders"]).metadata
    col = meta.row_group(0).column(3)  # amount
    assert col.compression == "ZSTD"
    assert col.is_stats_set
    assert col.statistics.min > 0


def test_progress_reports_totals(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate(
        tmp_path,
        orders=3_000,
        customers=300,
        chunk_rows=1_000,
        progress=lambda t, d, n: calls.append((t, d, n)),
    )
    orders_calls = [c for c in calls if c[0] == "orders"]
    assert orders_calls == [("orders", i, 3_000) for i in (0, 1_000, 2_000, 3_000)]
    assert ("customers", 300, 300) in calls
    assert ("events", 600, 600) in calls
    assert ("feedback", 900, 900) in calls


# --- shapes and schema ----------------------------------------------------------------------


def test_row_counts(frames: dict[str, pl.DataFrame]) -> None:
    assert frames["orders"].height == ORDERS
    assert frames["customers"].height == CUSTOMERS
    assert frames["events"].height == 2 * CUSTOMERS
    assert frames["feedback"].height == round(0.3 * ORDERS)


def test_default_customers_is_orders_div_10(tmp_path: Path) -> None:
    paths = generate(tmp_path, orders=1_234, tables=("customers",))
    assert list(paths) == ["customers"]
    assert pq.ParquetFile(paths["customers"]).metadata.num_rows == 123


def test_schemas(frames: dict[str, pl.DataFrame]) -> None:
    ts = pl.Datetime("us", None)
    assert frames["orders"].schema == pl.Schema(
        {
            "order_id": pl.String,
            "customer_id": pl.String,
            "order_ts": ts,
            "amount": pl.Float64,
            "status": pl.String,
            "quantity": pl.Int32,
            "channel": pl.String,
            "category": pl.String,
            "coupon_used": pl.Boolean,
            "discount": pl.Float64,
        }
    )
    assert frames["customers"].schema == pl.Schema(
        {
            "customer_id": pl.String,
            "birth_year": pl.Int32,
            "gender": pl.String,
            "city": pl.String,
            "is_member": pl.Boolean,
            "signup_ts": ts,
            "tags": pl.String,
        }
    )
    assert frames["events"].schema == pl.Schema(
        {"customer_id": pl.String, "event_ts": ts, "event_type": pl.String}
    )
    assert frames["feedback"].schema == pl.Schema(
        {"customer_id": pl.String, "ts": ts, "score": pl.Int32}
    )


def test_zero_orders_writes_empty_tables_with_schema(tmp_path: Path) -> None:
    paths = generate(tmp_path, orders=0, customers=10)
    orders = pl.read_parquet(paths["orders"])
    assert orders.height == 0
    assert orders.columns[:3] == ["order_id", "customer_id", "order_ts"]
    assert pl.read_parquet(paths["feedback"]).height == 0
    assert pl.read_parquet(paths["customers"]).height == 10


# --- keys -----------------------------------------------------------------------------------


def test_order_ids_unique_and_formatted(frames: dict[str, pl.DataFrame]) -> None:
    ids = frames["orders"]["order_id"]
    assert ids.n_unique() == ORDERS
    assert ids.str.contains(r"^O\d{10}$").all()
    assert ids.sort()[0] == "O0000000000"
    assert ids.sort()[-1] == f"O{ORDERS - 1:010d}"


def test_customer_ids_complete(frames: dict[str, pl.DataFrame]) -> None:
    ids = frames["customers"]["customer_id"]
    assert ids.to_list() == [f"C{i:08d}" for i in range(CUSTOMERS)]


def test_foreign_keys(frames: dict[str, pl.DataFrame]) -> None:
    known = frames["customers"].select("customer_id")
    for name in ("orders", "events", "feedback"):
        orphans = frames[name].join(known, on="customer_id", how="anti")
        assert orphans.height == 0, name
    # feedback only from customers with orders
    buyers = frames["orders"].select("customer_id").unique()
    assert frames["feedback"].join(buyers, on="customer_id", how="anti").height == 0


def test_some_customers_have_no_orders(frames: dict[str, pl.DataFrame]) -> None:
    n_buyers = frames["orders"]["customer_id"].n_unique()
    no_orders = 1 - n_buyers / CUSTOMERS
    assert 0.10 <= no_orders <= 0.20


# --- values ---------------------------------------------------------------------------------


def test_categorical_values(frames: dict[str, pl.DataFrame]) -> None:
    o = frames["orders"]
    share = o["status"].value_counts(normalize=True)
    share = dict(zip(share["status"], share["proportion"], strict=True))
    assert set(share) == {"paid", "pending", "refunded", "cancelled"}
    assert 0.82 < share["paid"] < 0.88
    assert set(o["channel"].unique()) == {"app", "web", "mini_program", "store"}
    assert set(o["category"].unique()) <= {
        "dress",
        "shirt",
        "pants",
        "shoes",
        "accessories",
        "kids",
    }
    ev = frames["events"]["event_type"].value_counts(sort=True)["event_type"].to_list()
    assert set(ev) == {
        "campaign",
        "view",
        "cart",
        "favorite",
        "inquiry",
        "after_sales",
        "complaint",
    }
    assert set(ev[:2]) == {"campaign", "view"}


def test_amounts_and_discounts(frames: dict[str, pl.DataFrame]) -> None:
    o = frames["orders"]
    assert o["amount"].null_count() == 0
    assert (o["amount"] > 0).all()
    cents = o["amount"] * 100
    assert ((cents - cents.round(0)).abs() < 1e-6).all()
    assert o["discount"].is_between(0.0, 0.5).all()
    d = o["discount"] * 100
    assert ((d - d.round(0)).abs() < 1e-6).all()
    assert (o["quantity"] >= 1).all()
    # common price points exist (needed for ties)
    assert (o["amount"] == 99.0).sum() > 100


def test_timestamps_in_window_and_about_one_percent_after_end(
    frames: dict[str, pl.DataFrame],
) -> None:
    start = datetime.datetime.combine(END - datetime.timedelta(days=DAYS), datetime.time())
    end = datetime.datetime.combine(END, datetime.time())
    ts = frames["orders"]["order_ts"]
    assert ts.min() >= start
    assert ts.max() < end + datetime.timedelta(days=31)
    after = (ts >= end).mean()
    assert 0.005 <= after <= 0.02
    # orders are spread over the whole period
    months = ts.filter(ts < end).dt.truncate("1mo").n_unique()
    assert months == 24


def test_end_and_days_parameters(tmp_path: Path) -> None:
    end = datetime.date(2020, 3, 1)
    paths = generate(tmp_path, orders=2_000, customers=200, end=end, days=30, tables=("orders",))
    ts = pl.read_parquet(paths["orders"])["order_ts"]
    assert ts.min() >= datetime.datetime(2020, 1, 31)
    assert ts.max() < datetime.datetime(2020, 3, 31)


def test_customers_attributes(frames: dict[str, pl.DataFrame]) -> None:
    c = frames["customers"]
    by = c["birth_year"]
    assert by.drop_nulls().is_between(1950, 2012).all()
    assert 0.02 < by.null_count() / c.height < 0.08
    assert set(c["gender"].drop_nulls().unique()) == {"F", "M"}
    assert 0.01 < c["city"].null_count() / c.height < 0.05
    top = c["city"].drop_nulls().value_counts(sort=True)["city"].head(4).to_list()
    assert set(top) <= {"上海", "北京", "深圳", "广州", "杭州", "成都"}
    assert 0 < c["is_member"].mean() < 1
    assert 0 < c["tags"].null_count() < c.height


def test_signup_before_first_order(frames: dict[str, pl.DataFrame]) -> None:
    first = frames["orders"].group_by("customer_id").agg(first=pl.col("order_ts").min())
    j = first.join(frames["customers"], on="customer_id")
    assert (j["signup_ts"] < j["first"]).mean() > 0.99


def test_feedback_scores_skew_high(frames: dict[str, pl.DataFrame]) -> None:
    s = frames["feedback"]["score"]
    assert s.is_between(0, 100).all()
    assert (s >= 70).mean() > 0.75
    assert (s < 50).sum() > 0


# --- realism --------------------------------------------------------------------------------


def test_pareto_like_revenue(frames: dict[str, pl.DataFrame]) -> None:
    rev = _paid_revenue(frames["orders"])["revenue"].sort(descending=True)
    top = rev.head(int(0.2 * rev.len())).sum()
    assert top / rev.sum() > 0.5


def test_heterogeneous_activity(frames: dict[str, pl.DataFrame]) -> None:
    counts = frames["orders"].group_by("customer_id").len()["len"]
    assert (counts == 1).mean() > 0.15  # many one-time buyers
    assert counts.max() > 20 * counts.median()  # a few heavy buyers
    last = frames["orders"].group_by("customer_id").agg(pl.col("order_ts").max())["order_ts"]
    recent = last >= datetime.datetime(2026, 8, 1)
    assert 0.2 < recent.mean() < 0.8  # some active recently, some churned


def test_same_day_orders_and_tied_totals(frames: dict[str, pl.DataFrame]) -> None:
    o = frames["orders"]
    same_day = o.group_by("customer_id", pl.col("order_ts").dt.date()).len()
    assert (same_day["len"] > 1).any()
    ties = _paid_revenue(o).group_by("revenue").len()
    assert (ties["len"] > 1).any()


# --- validation, atomicity, registry -----------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"orders": -1}, "orders"),
        ({"orders": 10, "customers": 0}, "customers"),
        ({"orders": 5}, "customers"),
        ({"orders": 10, "chunk_rows": 0}, "chunk_rows"),
        ({"orders": 10, "days": 0}, "days"),
        ({"orders": 10, "seed": -1}, "seed"),
        ({"orders": 10.5}, "orders"),
        ({"orders": 10, "tables": ("nope",)}, "unknown table"),
        ({"orders": 10, "tables": "orders"}, "tables"),
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        generate(tmp_path / "out", **kwargs)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_failed_table_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: GenContext) -> Iterator[pa.Table]:
        yield pa.table({"x": [1]})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        generate(
            tmp_path,
            orders=100,
            customers=10,
            tables=("broken",),
            generators={"broken": gen_mod.TableSpec(broken, lambda ctx: 2)},
        )
    assert list(tmp_path.iterdir()) == []


def test_plugin_table_generator(tmp_path: Path) -> None:

    def loyalty(ctx: GenContext) -> Iterator[pa.Table]:
        for block, lo, hi in ctx.blocks(ctx.customers):
            rng = ctx.rng("loyalty", block)
            idx = ctx.sample_ordering(rng, hi - lo)
            yield pa.table(
                {
                    "customer_id": GenContext.customer_ids(idx),
                    "points": pa.array(rng.integers(0, 1000, hi - lo)),
                }
            )

    spec = gen_mod.TableSpec(loyalty, lambda ctx: ctx.customers)
    with pytest.raises(ValueError, match="table name"):
        generate(tmp_path, orders=10, tables=("orders",), generators={"../x": spec})
    paths = generate(
        tmp_path,
        orders=1_000,
        customers=100,
        tables=("orders", "loyalty"),
        generators={"loyalty": spec},
    )
    loyalty_df = pl.read_parquet(paths["loyalty"])
    assert loyalty_df.height == 100
    buyers = pl.read_parquet(paths["orders"]).select("customer_id").unique()
    assert loyalty_df.join(buyers, on="customer_id", how="anti").height == 0
    # given for one call only: core's registry is unchanged
    assert "loyalty" not in TABLE_GENERATORS


# -- vertical_generators: what `segrule generate --vertical NAME` adds -----------------
def _vertical_plugin(name: str, table: str, core: dict[str, Any]) -> types.ModuleType:
    def points(ctx: GenContext) -> Iterator[pa.Table]:
        yield pa.table({"customer_id": ["C00000000"], "points": [1]})

    def segrule_register_tables(register: Any) -> None:
        register(
            TableContract(
                table,
                [Column("customer_id", "string", True), Column("points", "integer", False)],
                generate=points,
                rows=lambda ctx: 1,
                core_generators=core,
            )
        )

    module = types.ModuleType(name)
    module.segrule_register_tables = segrule_impl(segrule_register_tables)  # type: ignore[attr-defined]
    return module


def _one_order(ctx: GenContext) -> Iterator[pa.Table]:
    """Every order is one fixed row: easy to tell apart from core's orders."""
    yield pa.table(
        {
            "order_id": ["O1"],
            "customer_id": ["C00000000"],
            "order_ts": pa.array([0], pa.timestamp("us")),
            "amount": [9.5],
            "status": ["paid"],
        }
    )


def test_vertical_generators_add_tables_and_replace_core_ones(tmp_path: Path) -> None:
    engine = Engine(
        [_vertical_plugin("pts", "pts_points", {"orders": (_one_order, lambda ctx: 1)})],
        autoload=False,
    )
    specs = vertical_generators(engine, ["pts"])
    assert sorted(specs) == ["orders", "pts_points"]
    paths = generate(
        tmp_path,
        orders=100,
        customers=10,
        tables=["orders", "customers", "pts_points"],
        generators=specs,
    )
    assert pl.read_parquet(paths["orders"])["order_id"].to_list() == ["O1"]
    assert pl.read_parquet(paths["pts_points"]).height == 1
    assert pl.read_parquet(paths["customers"]).height == 10  # core's generator still


def test_vertical_generators_errors() -> None:
    one = _vertical_plugin("one", "one_t", {"orders": (_one_order, lambda ctx: 1)})
    two = _vertical_plugin("two", "two_t", {"orders": (_one_order, lambda ctx: 1)})
    engine = Engine([one, two], autoload=False)
    with pytest.raises(
        UsageError,
        match="verticals 'on' is not a plugin with synthetic tables — did you mean 'one'",
    ):
        vertical_generators(engine, ["on"])
    with pytest.raises(
        UsageError, match="verticals one and verticals two both generate their own 'orders'"
    ):
        vertical_generators(engine, ["one", "two"])
    bad = _vertical_plugin("bad", "bad_t", {"bad_t2": (_one_order, lambda ctx: 1)})
    with pytest.raises(UsageError, match="'bad_t2', which is not a core table"):
        vertical_generators(Engine([bad], autoload=False), ["bad"])


# -- shapes: id type and order, orders per customer, skew, events per order ------------
SHAPE_ORDERS, SHAPE_CUSTOMERS, SHAPE_SEED = 20_000, 2_000, 11


def _shaped(tmp_path: Path, name: str, **shape: Any) -> dict[str, pl.DataFrame]:
    paths = generate(
        tmp_path / name, orders=SHAPE_ORDERS, customers=SHAPE_CUSTOMERS, seed=SHAPE_SEED, **shape
    )
    return {t: pl.read_parquet(p) for t, p in paths.items()}


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    return _shaped(tmp_path_factory.mktemp("plain"), "plain")


def _number(ids: pl.Series) -> pl.Series:
    """C00000042 / O0000000042 -> 42."""
    return ids.str.slice(1).cast(pl.Int64)


def test_shape_options_at_their_defaults_write_the_same_bytes(tmp_path: Path) -> None:
    implicit = generate(tmp_path / "a", orders=3_000, seed=2)
    explicit = generate(
        tmp_path / "b",
        orders=3_000,
        seed=2,
        orders_per_customer=10,
        id_type="string",
        customer_ids="in-order",
        order_ids="in-order",
        skew=0,
        events_per_order=None,
    )
    for name in TABLES:
        assert implicit[name].read_bytes() == explicit[name].read_bytes(), name


def test_int_ids_are_the_same_numbers_as_int64(
    tmp_path: Path, plain: dict[str, pl.DataFrame]
) -> None:
    shaped = _shaped(tmp_path, "int", id_type="int")
    for name in TABLES:
        assert shaped[name]["customer_id"].dtype == pl.Int64, name
        assert shaped[name]["customer_id"].equals(_number(plain[name]["customer_id"])), name
        rest = [c for c in plain[name].columns if c not in ("customer_id", "order_id")]
        assert shaped[name].select(rest).equals(plain[name].select(rest)), name
    assert shaped["orders"]["order_id"].dtype == pl.Int64
    assert shaped["orders"]["order_id"].equals(_number(plain["orders"]["order_id"]))


def test_shuffled_customer_ids_relabel_the_customers_consistently(
    tmp_path: Path, plain: dict[str, pl.DataFrame]
) -> None:
    shaped = _shaped(tmp_path, "shuffled", customer_ids="shuffled")
    ids = shaped["customers"]["customer_id"]
    assert not ids.is_sorted()
    assert ids.sort().equals(plain["customers"]["customer_id"])  # the same ids
    # ids are not dense in the table's order: few neighbours differ by one
    assert (_number(ids).diff().abs() == 1).mean() < 0.01
    relabel = dict(zip(plain["customers"]["customer_id"], ids, strict=True))
    for name in TABLES:
        before = plain[name]["customer_id"]
        assert shaped[name]["customer_id"].equals(before.replace_strict(relabel)), name
        rest = [c for c in plain[name].columns if c != "customer_id"]
        assert shaped[name].select(rest).equals(plain[name].select(rest)), name


def test_random_order_ids_are_unique_and_out_of_order(
    tmp_path: Path, plain: dict[str, pl.DataFrame]
) -> None:
    shaped = _shaped(tmp_path, "random", order_ids="random", id_type="int")
    ids = shaped["orders"]["order_id"]
    assert ids.dtype == pl.Int64 and ids.n_unique() == SHAPE_ORDERS
    assert ids.sort().to_list() == list(range(SHAPE_ORDERS))
    assert not ids.is_sorted()
    rest = [c for c in plain["orders"].columns if c not in ("order_id", "customer_id")]
    assert shaped["orders"].select(rest).equals(plain["orders"].select(rest))
    text = _shaped(tmp_path, "random-text", order_ids="random")["orders"]["order_id"]
    assert _number(text).equals(ids)
    assert text.str.contains(r"^O\d{10}$").all()


def test_the_permutation_is_a_bijection_computed_per_value() -> None:
    for n in (1, 2, 3, 7, 8, 9, 1000, gen_mod.BLOCK_ROWS + 3):
        values = np.arange(n, dtype=np.int64)
        image = gen_mod.permute(values, n, 5, "x")
        assert np.array_equal(np.sort(image), values), n
        half = n // 2  # in two blocks: the same image
        parts = [
            gen_mod.permute(values[:half], n, 5, "x"),
            gen_mod.permute(values[half:], n, 5, "x"),
        ]
        assert np.array_equal(np.concatenate(parts), image)
    values = np.arange(1000, dtype=np.int64)
    assert not np.array_equal(
        gen_mod.permute(values, 1000, 5, "x"), gen_mod.permute(values, 1000, 6, "x")
    )
    assert not np.array_equal(
        gen_mod.permute(values, 1000, 5, "x"), gen_mod.permute(values, 1000, 5, "y")
    )
    with pytest.raises(ValueError, match="range"):
        gen_mod.permute(np.array([1000]), 1000, 5, "x")


def test_orders_per_customer(tmp_path: Path) -> None:
    paths = generate(tmp_path, orders=20_000, orders_per_customer=100, seed=1)
    customers = pl.read_parquet(paths["customers"])
    orders = pl.read_parquet(paths["orders"])
    assert customers.height == 200
    per_buyer = orders.group_by("customer_id").len()["len"]
    assert per_buyer.mean() > 50  # about 100 per customer, 85 % of them buyers


def test_skew_gives_a_few_customers_very_many_plausible_orders(
    tmp_path: Path, plain: dict[str, pl.DataFrame]
) -> None:
    shaped = _shaped(tmp_path, "skewed", skew=3, skew_orders=4_000)
    orders = shaped["orders"]
    assert orders.height == SHAPE_ORDERS
    counts = orders.group_by("customer_id").len().sort("len", descending=True)
    assert (counts["len"].head(3) >= 4_000).all()
    assert counts["len"][3] < 500  # the others as before
    whales = orders.filter(pl.col("customer_id").is_in(counts["customer_id"].head(3).implode()))
    # spread over the whole period, a normal mix of statuses and amounts
    days = whales.group_by("customer_id").agg(pl.col("order_ts").dt.date().n_unique())
    assert (days["order_ts"] > 500).all()
    assert 0.8 < (whales["status"] == "paid").mean() < 0.9
    assert 0.3 < whales["amount"].median() / plain["orders"]["amount"].median() < 3
    # spread over the file, not in one run of rows
    rows = orders.with_row_index().filter(pl.col("customer_id") == counts["customer_id"][0])
    assert rows["index"].min() < SHAPE_ORDERS // 10 and rows["index"].max() > SHAPE_ORDERS * 9 // 10
    known = shaped["customers"].select("customer_id")
    assert orders.join(known, on="customer_id", how="anti").height == 0
    # every buyer of the regular rows still has an order
    assert orders["customer_id"].n_unique() >= 0.8 * SHAPE_CUSTOMERS


def test_events_per_order(tmp_path: Path) -> None:
    for ratio in (2, 10):
        paths = generate(
            tmp_path / str(ratio), orders=3_000, seed=1, events_per_order=ratio, tables=("events",)
        )
        assert pq.ParquetFile(paths["events"]).metadata.num_rows == ratio * 3_000


def test_shaped_data_is_deterministic(tmp_path: Path) -> None:
    shape: dict[str, Any] = {
        "orders": 5_000,
        "seed": 4,
        "id_type": "int",
        "customer_ids": "shuffled",
        "order_ids": "random",
        "skew": 2,
        "skew_orders": 500,
        "events_per_order": 10,
        "orders_per_customer": 20,
    }
    a = generate(tmp_path / "a", **shape)
    b = generate(tmp_path / "b", **shape)
    for name in TABLES:
        assert a[name].read_bytes() == b[name].read_bytes(), name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id_type": "long"}, "id_type must be one of string, int; got 'long'"),
        ({"customer_ids": "random"}, "customer_ids must be one of in-order, shuffled"),
        ({"order_ids": "shuffled"}, "order_ids must be one of in-order, random"),
        ({"orders_per_customer": 0}, "orders_per_customer must be >= 1"),
        ({"orders_per_customer": 5, "customers": 10}, "customers or orders_per_customer"),
        ({"orders_per_customer": 2000}, r"derived as orders // 2000 = 0"),
        ({"skew": -1}, "skew must be >= 0"),
        ({"skew": 2, "skew_orders": 600}, "skew: 2 customers x 600 orders each is more than"),
        ({"skew": 100, "skew_orders": 1}, "skew: 100 customers asked for, but only"),
        ({"events_per_order": -2}, "events_per_order must be >= 0"),
    ],
)
def test_invalid_shape_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        generate(tmp_path / "out", **{"orders": 1_000, **kwargs})
    assert "\n" not in str(info.value)


def test_id_shapes_are_refused_with_plugin_tables(tmp_path: Path) -> None:
    def points(ctx: GenContext) -> Iterator[pa.Table]:
        yield pa.table({"customer_id": ["C00000000"], "points": [1]})

    with pytest.raises(ValueError, match="id_type='int', skew=1: the id and skew options"):
        generate(
            tmp_path, orders=100, id_type="int", skew=1, skew_orders=5, generators={"p": points}
        )
