"""The Spark engine's edges: buckets with no rows, customers with no orders, an order id
shared by customers of two buckets, repeated customer rows, expressions that read across
customers (population stage), mapped column names, and what it refuses (one line)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
from segrule.spark import SparkOptions

pytestmark = [pytest.mark.usefixtures("no_plugin_autoload"), pytest.mark.xdist_group("spark")]

AS_OF = "2026-11-01"

RULES = """\
name: edges
tables:
  orders:
    columns: {customer_id: buyer, order_id: order_no, order_ts: paid_at}
dimensions:
  spend_index:
    expr: "monetary_lifetime / AVG(monetary_lifetime)"
  spend_rank:
    expr: "RANK() OVER (ORDER BY monetary_lifetime DESC)"
segments:
  big:
    cases:
      - when: spend_index > 1.5
        label: big
    default: small
outputs: [customer_id, monetary_lifetime, orders_lifetime, spend_index, spend_rank, big]
"""


def _tables(folder: Path, ids: str) -> Path:
    """Seven customers (two with no orders, one listed twice), orders with a mapped id
    column, an order id shared by two customers, a null buyer."""
    folder.mkdir()
    cust = ["a1", "b22", "c333", "d4444", "e5", "f6", "g7", "b22"]
    buyers = ["a1", "a1", "b22", "c333", "c333", "c333", "d4444", "e5", None]
    order_no = ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o3", "o9"]
    amount = [10.5, 20.0, 7.25, 100.0, 0.0, 3.0, 55.5, 7.25, 9.0]
    ts = [dt.datetime(2026, 1, 1) + dt.timedelta(days=i * 17) for i in range(len(buyers))]
    if ids == "integer":
        to_int = {c: i * 7919 for i, c in enumerate(dict.fromkeys(cust))}
        cust = [to_int[c] for c in cust]
        buyers = [None if b is None else to_int[b] for b in buyers]
    pl.DataFrame({"customer_id": cust, "city": ["x"] * len(cust)}).write_parquet(
        folder / "customers.parquet"
    )
    pl.DataFrame(
        {
            "order_no": order_no,
            "buyer": buyers,
            "paid_at": ts,
            "amount": amount,
            "status": ["paid"] * len(buyers),
        }
    ).sample(fraction=1.0, shuffle=True, seed=2).write_parquet(folder / "orders.parquet")
    return folder


@pytest.mark.parametrize("ids", ["text", "integer"])
def test_empty_buckets_population_expressions_and_shared_order_ids(
    spark: Any, tmp_path: Path, ids: str
) -> None:
    data = _tables(tmp_path / "data", ids)
    rules = tmp_path / "edges.yaml"
    rules.write_text(RULES)
    a = segrule.run(rules, tmp_path / "local.parquet", data=data, as_of=AS_OF)
    # 16 buckets for 7 customers: most buckets are empty for some or every table.
    b = segrule.run(
        rules,
        tmp_path / "spark.parquet",
        data=data,
        as_of=AS_OF,
        spark=SparkOptions(session=spark, buckets=16),
    )
    assert (tmp_path / "spark.parquet").read_bytes() == (tmp_path / "local.parquet").read_bytes()
    assert b.quality == a.quality
    out = pl.read_parquet(tmp_path / "spark.parquet")
    assert out.height == 7  # the repeated customer row counts once
    dup = {(r["table"], r["check"]): r["rows"] for r in a.quality}
    assert dup[("orders", "duplicate_order_id")] == 1
    # A population expression saw every customer, not one bucket's.
    assert out["spend_rank"].max() >= 5


def test_a_csv_input_is_refused_with_the_way_out(spark: Any, tmp_path: Path) -> None:
    data = _tables(tmp_path / "data", "text")
    pl.read_parquet(data / "orders.parquet").write_csv(data / "orders.csv")
    (data / "orders.parquet").unlink()
    rules = tmp_path / "edges.yaml"
    rules.write_text(RULES)
    with pytest.raises(segrule.UsageError) as err:
        segrule.run(
            rules,
            tmp_path / "spark.parquet",
            data=data,
            as_of=AS_OF,
            spark=SparkOptions(session=spark),
        )
    text = str(err.value)
    assert "orders.csv" in text and "segrule bucket" in text and "\n" not in text
    assert not (tmp_path / "spark.parquet").exists()


def test_a_frame_input_is_refused(spark: Any, tmp_path: Path) -> None:
    data = _tables(tmp_path / "data", "text")
    rules = tmp_path / "edges.yaml"
    rules.write_text(RULES)
    with pytest.raises(segrule.UsageError, match="cannot be read by Spark"):
        segrule.run(
            rules,
            tmp_path / "spark.parquet",
            {"orders": pl.read_parquet(data / "orders.parquet")},
            data=data,
            as_of=AS_OF,
            spark=SparkOptions(session=spark),
        )


def test_workers_with_other_versions_are_refused_in_one_line(spark: Any) -> None:
    from segrule.spark import _check_versions

    driver = {"python": "3.11", "polars": "0.0.1", "segrule": "9.9"}
    with pytest.raises(segrule.SegruleError) as err:
        _check_versions(spark, driver, ())
    text = str(err.value)
    assert "polars 0.0.1 on the driver" in text and "on a worker" in text
    assert "\n" not in text


def test_the_staging_folder_is_removed_after_a_run_and_after_a_failure(
    spark: Any, tmp_path: Path
) -> None:
    data = _tables(tmp_path / "data", "text")
    rules = tmp_path / "edges.yaml"
    rules.write_text(RULES)
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "keep.txt").write_text("not segrule's")
    opts = SparkOptions(session=spark, buckets=3, staging=str(staging))
    segrule.run(rules, tmp_path / "out.parquet", data=data, as_of=AS_OF, spark=opts)
    assert sorted(p.name for p in staging.iterdir()) == ["keep.txt"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("order_no", "no_such_column"))
    with pytest.raises(segrule.SegruleError):
        segrule.run(bad, tmp_path / "out2.parquet", data=data, as_of=AS_OF, spark=opts)
    assert sorted(p.name for p in staging.iterdir()) == ["keep.txt"]
    assert not (tmp_path / "out2.parquet").exists()


def test_a_table_prepared_across_customers_is_refused(spark: Any, tmp_path: Path) -> None:
    """groupbuy counts a group's rows over every customer when the source has no
    group_size: bucket by bucket that count would be wrong, so the run is refused."""
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location(
        "golden_outputs", Path(__file__).resolve().parents[1] / "golden" / "outputs.py"
    )
    assert spec and spec.loader
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    data = golden.make_data(tmp_path / "data")
    groups = data / "groupbuy_groups.parquet"
    pl.read_parquet(groups).drop("group_size").write_parquet(groups)
    with pytest.raises(segrule.UsageError) as err:
        segrule.run(
            ["groupbuy:roles"],
            tmp_path / "out.parquet",
            data=data,
            as_of=golden.AS_OF,
            engine=golden.engine(),
            spark=SparkOptions(session=spark),
        )
    text = str(err.value)
    assert "groupbuy_groups" in text and "window over group_id" in text and "\n" not in text
    assert not (tmp_path / "out.parquet").exists()
    # With the column given, the same preset runs (the comparison is in test_engine.py).
    shutil.rmtree(data)


def test_rows_of_one_customer_read_together_are_per_customer() -> None:
    from segrule.engine.distributed import reads_across_customers

    lf = pl.LazyFrame({"customer_id": ["a"], "x": [1], "g": ["k"]})
    assert reads_across_customers(lf.with_columns(pl.col("x") * 2)) is None
    assert reads_across_customers(lf.with_columns(pl.col("x").sum().over("customer_id"))) is None
    assert reads_across_customers(lf.filter(pl.col("x") > 0)) is None
    assert reads_across_customers(lf.with_columns(pl.col("x").sum().over("g"))) is not None
    assert reads_across_customers(lf.with_columns(pl.col("x").rank())) is not None
    assert reads_across_customers(lf.with_columns(pl.col("x").cum_sum())) is not None
    assert reads_across_customers(lf.sort("x")) is not None
    assert reads_across_customers(lf.rename({"x": "y"})) is None
    assert reads_across_customers(lf.with_row_index()) is not None
    assert reads_across_customers(lf.unique("g")) is not None
    assert reads_across_customers(lf.group_by("g").agg(pl.len())) is not None
    assert reads_across_customers(lf.with_columns(pl.col("x").map_batches(lambda s: s))) is not None


def test_score_with_engine_spark_returns_the_local_frame(spark: Any, tmp_path: Path) -> None:
    from polars.testing import assert_frame_equal

    data = _tables(tmp_path / "data", "integer")
    rules = tmp_path / "edges.yaml"
    rules.write_text(RULES)
    local = segrule.score(rules, data=data, as_of=AS_OF)
    remote = segrule.score(
        rules, data=data, as_of=AS_OF, engine="spark", spark=SparkOptions(session=spark, buckets=4)
    )
    assert_frame_equal(remote, local, check_exact=True)
    with pytest.raises(segrule.UsageError, match="eagerly"):
        segrule.score(rules, data=data, as_of=AS_OF, engine="spark", lazy=True)


def test_a_staging_folder_inside_an_input_is_refused(spark: Any, tmp_path: Path) -> None:
    """Spark would read the staged buckets as rows of the table folder they sit in."""
    data = _tables(tmp_path / "data", "text")
    # The orders table as a folder of files, as exports by month are.
    (data / "orders").mkdir()
    (data / "orders.parquet").rename(data / "orders" / "part-0.parquet")
    rules = tmp_path / "edges.yaml"
    rules.write_text(RULES)
    before = sorted(p.name for p in data.rglob("*"))
    from segrule.io.outpaths import OutputPathError

    with pytest.raises(OutputPathError) as err:
        segrule.run(
            rules,
            tmp_path / "out.parquet",
            data=data,
            as_of=AS_OF,
            spark=SparkOptions(session=spark, staging=str(data / "orders")),
        )
    assert "\n" not in str(err.value) and "staging" in str(err.value)
    assert sorted(p.name for p in data.rglob("*")) == before


@pytest.mark.parametrize(
    "name", ["buyer`), reflect('java.lang.System', 'exit', 3", "a.b c", "买家`ID"]
)
def test_column_names_from_the_data_are_names_never_sql(
    spark: Any, tmp_path: Path, name: str
) -> None:
    """The id and order-id columns' names reach Spark quoted: a name that would close the
    quote and call a function stays a name (and the run matches the local one)."""
    data = _tables(tmp_path / "data", "text")
    orders = pl.read_parquet(data / "orders.parquet").rename(
        {"buyer": name, "order_no": name + "#order"}
    )
    orders.write_parquet(data / "orders.parquet")
    rules = tmp_path / "edges.yaml"
    mapped = RULES.replace(
        "columns: {customer_id: buyer, order_id: order_no, order_ts: paid_at}",
        "columns: "
        + json.dumps(
            {"customer_id": name, "order_id": name + "#order", "order_ts": "paid_at"},
            ensure_ascii=False,
        ),
    )
    rules.write_text(mapped, encoding="utf-8")
    a = segrule.run(rules, tmp_path / "local.parquet", data=data, as_of=AS_OF)
    b = segrule.run(
        rules,
        tmp_path / "spark.parquet",
        data=data,
        as_of=AS_OF,
        spark=SparkOptions(session=spark, buckets=3),
    )
    assert (tmp_path / "spark.parquet").read_bytes() == (tmp_path / "local.parquet").read_bytes()
    assert b.quality == a.quality
    assert spark.range(1).count() == 1  # the session is alive
