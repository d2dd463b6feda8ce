"""The benchmark's shape matrix at a tiny size: every shape generates what it says,
every peer agrees with every other peer on every shape (text and integer ids, with and
without a customers table), segrule agrees with them on every shape, and the job floor runs
and agrees with itself across engines. No test asserts a time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.bench import PRESETS, BenchError
from segrule.bench import sidebyside as sbs
from segrule.bench.compare import compare_outputs
from segrule.bench.data import (
    MATRIX,
    SKEW_CUSTOMERS,
    Shape,
    ShapeError,
    bench_data,
    bench_data_dir,
    parse_shapes,
)
from segrule.bench.peers import OUTPUT_COLUMNS, duckdb_sql, jobfloor, pandas_script, polars_lazy

ORDERS = 2_000
PEERS: dict[str, Callable[..., Path]] = {
    "duckdb": duckdb_sql.run,
    "polars": polars_lazy.run,
    "pandas": pandas_script.run,
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def data(cache: Path) -> dict[str, Path]:
    return {name: bench_data(ORDERS, seed=1, cache_dir=cache, shape=name) for name in MATRIX}


@pytest.fixture(scope="module")
def outputs(data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every peer's output on every shape, and segrule's."""
    out = tmp_path_factory.mktemp("out")
    engine = segrule.Engine()
    result: dict[str, dict[str, Path]] = {}
    for name, folder in data.items():
        result[name] = {
            peer: run(folder, out / f"{peer}-{name}.parquet") for peer, run in PEERS.items()
        }
        result[name]["segrule"] = segrule.run(
            list(PRESETS),
            out / f"segrule-{name}.parquet",
            data=folder,
            engine=engine,
            as_of="2026-11-01",
        ).output
    return result


def test_every_shape_generates_what_it_says(data: dict[str, Path]) -> None:
    for name, folder in data.items():
        shape = Shape.parse(name)
        files = sorted(p.stem for p in folder.glob("*.parquet"))
        assert files == sorted(shape.tables), name
        orders = pl.read_parquet(folder / "orders.parquet")
        assert orders.height == ORDERS, name
        id_type = pl.Int64 if shape.int_ids else pl.String
        assert orders.schema["customer_id"] == orders.schema["order_id"] == id_type, name
        assert orders["order_id"].is_sorted() != shape.random_order_ids, name
        if shape.customers_table:
            ids = pl.read_parquet(folder / "customers.parquet")["customer_id"]
            assert ids.len() == ORDERS // shape.orders_per_customer, name
            assert ids.is_sorted() != shape.shuffled_customers, name
        events = pl.scan_parquet(folder / "events.parquet").select(pl.len()).collect().item()
        per_order = shape.events_per_order
        customers = ORDERS // shape.orders_per_customer
        assert events == (per_order * ORDERS if per_order else 2 * customers), name
        if shape.skewed:
            counts = orders.group_by("customer_id").len()["len"].sort(descending=True)
            assert counts.head(SKEW_CUSTOMERS).min() >= shape.skew_orders(ORDERS), name


def test_the_default_shape_keeps_its_cache_folder(tmp_path: Path) -> None:
    assert bench_data_dir(10, seed=1, cache_dir=tmp_path).name == "orders-10-seed-1"
    named = bench_data_dir(10, seed=1, cache_dir=tmp_path, shape="events-10x+int")
    assert named.name == "orders-10-seed-1-int+events-10x"


@pytest.mark.parametrize("shape", MATRIX)
def test_every_peer_agrees_with_every_other_peer(shape: str, outputs: dict[str, dict]) -> None:
    outs = outputs[shape]
    for peer in ("polars", "pandas"):
        assert compare_outputs(outs["duckdb"], outs[peer]) == [], peer
    frame = pl.read_parquet(outs["duckdb"])
    assert frame.columns == list(OUTPUT_COLUMNS)
    # ids keep their type and come in their natural order (numeric for integers)
    assert frame["customer_id"].dtype == (pl.Int64 if Shape.parse(shape).int_ids else pl.String)
    assert frame["customer_id"].is_sorted() and frame["customer_id"].n_unique() == frame.height


@pytest.mark.parametrize("shape", MATRIX)
def test_every_shape_agrees_with_segrule(shape: str, outputs: dict[str, dict]) -> None:
    for peer in PEERS:
        assert compare_outputs(outputs[shape]["segrule"], outputs[shape][peer]) == [], peer


def test_without_customers_the_universe_is_the_customers_of_orders(
    data: dict[str, Path], outputs: dict[str, dict]
) -> None:
    orders = pl.read_parquet(data["no-customers"] / "orders.parquet")
    before = orders.filter(pl.col("order_ts") < pl.datetime(2026, 11, 1))["customer_id"]
    out = pl.read_parquet(outputs["no-customers"]["duckdb"])
    assert out["customer_id"].to_list() == before.unique().sort().to_list()
    assert (out["orders_lifetime"] == 0).any()  # a customer without paid orders is in


@pytest.mark.parametrize("shape", MATRIX)
def test_the_job_floor_runs_and_agrees_across_engines(
    shape: str, data: dict[str, Path], outputs: dict[str, dict], tmp_path: Path
) -> None:
    a = jobfloor.run_polars(data[shape], tmp_path / "polars.parquet")
    b = jobfloor.run_duckdb(data[shape], tmp_path / "duck db's.parquet")
    assert compare_outputs(a, b) == []
    floor = pl.read_parquet(a)
    assert floor.columns == list(jobfloor.OUTPUT_COLUMNS)
    job = pl.read_parquet(outputs[shape]["duckdb"])
    # one row per customer of the universe, in the job's order, the same counts
    assert floor["customer_id"].equals(job["customer_id"])
    assert (
        floor["orders"]
        .fill_null(0)
        .cast(pl.Int64)
        .equals(job["orders_lifetime"], check_names=False)
    )


def test_shape_names_parse_and_errors_are_one_line() -> None:
    assert Shape.parse("events-10x+int").name == "int+events-10x"
    assert Shape.parse("10-per-customer").name == "default"
    assert [s.name for s in parse_shapes("default, int+shuffled,int+shuffled")] == [
        "default",
        "int+shuffled",
    ]
    assert [s.name for s in parse_shapes("matrix")] == list(MATRIX)
    for bad, message in (
        ("intt", "unknown token 'intt'"),
        ("int+int", "'int' given twice"),
        ("events-2x+events-10x", "'events-10x' given twice or with a conflicting token"),
        ("0-per-customer", "unknown token"),
        (" , ", "give at least one shape"),
    ):
        with pytest.raises(ShapeError, match=message) as info:
            parse_shapes(bad)
        assert "\n" not in str(info.value)
    assert issubclass(ShapeError, BenchError)
    with pytest.raises(BenchError, match="unknown token 'ints'"):
        sbs.run_side_by_side([1000], ["segrule"], shapes=["ints"])


def test_peers_among_themselves_says_who_differs(outputs: dict[str, dict]) -> None:
    outs = {**outputs["default"]}
    assert "segrule is the one that differs" in sbs._peers_among_themselves(
        ["segrule", "duckdb", "polars", "floor-duckdb"], outs, 1e-9
    )
    outs["polars"] = outputs["shuffled"]["polars"]
    assert "polars differ from duckdb" in sbs._peers_among_themselves(
        ["segrule", "duckdb", "polars"], outs, 1e-9
    )
    assert sbs._peers_among_themselves(["segrule", "duckdb", "jobfloor-duckdb"], outs, 1e-9) == ""


def test_segrule_unchecked_writes_nothing_to_build_its_command(tmp_path: Path) -> None:
    """Building a command only builds it: the rule set that switches the set checks off
    ships with the harness, nothing is written beside ``out``."""
    out = tmp_path / "out.parquet"
    cmd = sbs.engine_command("segrule-unchecked", tmp_path / "data", out)
    assert list(tmp_path.iterdir()) == []
    assert str(sbs.UNCHECKED_RULES) in cmd and sbs.UNCHECKED_RULES.is_file()


def test_segrule_unchecked_gives_segrules_output(tmp_path: Path) -> None:
    results = sbs.run_side_by_side(
        [2000], ["segrule", "segrule-unchecked"], 1, cache_dir=tmp_path / "cache"
    )
    assert {r.engine for r in results[0].engines} == {"segrule", "segrule-unchecked"}
