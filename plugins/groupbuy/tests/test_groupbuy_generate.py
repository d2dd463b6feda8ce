"""The synthetic group-buy tables: deterministic, on contract, consistent with the core
customers, realistic in shape, and rich enough for every preset label."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
import segrule_groupbuy.hooks as plugin
from segrule.generate import TableSpec, generate
from segrule.model.tables import contract_frame
from segrule_groupbuy import generate as gb

TABLES = ("groupbuy_groups", "groupbuy_touches", "groupbuy_referrals")
CORE = ("orders", "customers", "events", "feedback")


def _specs(engine: Any, seen: dict[str, Any] | None = None) -> dict[str, TableSpec]:
    """The plugin's generators; with ``seen``, each records the GenContext it got."""
    specs = {}
    for name in TABLES:
        contract = engine.tables.items[name]

        def fn(ctx: Any, _f: Any = contract.generate, _n: str = name) -> Iterator[Any]:
            if seen is not None:
                seen[_n] = ctx
            return _f(ctx)

        specs[name] = TableSpec(fn, contract.rows)
    # --vertical groupbuy also rewrites core's orders and events with the customers' habits.
    for core, (fn, rows) in engine.tables.items["groupbuy_groups"].core_generators.items():
        specs[core] = TableSpec(fn, rows)
    return specs


@pytest.fixture(scope="module")
def engine() -> Any:
    return segrule.Engine(plugins=[plugin], autoload=False)


@pytest.fixture(scope="module")
def data(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("groupbuy-gen")
    seen: dict[str, Any] = {}
    generate(out, orders=20_000, seed=1, tables=[*CORE, *TABLES], generators=_specs(engine, seen))
    return out, seen


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_deterministic_per_seed(engine: Any, tmp_path: Path, data: Any) -> None:
    first, _ = data
    again, other = tmp_path / "again", tmp_path / "other"
    generate(
        again,
        orders=20_000,
        seed=1,
        tables=list(TABLES),
        generators=_specs(engine),
        chunk_rows=5_000,
    )
    generate(other, orders=20_000, seed=2, tables=list(TABLES), generators=_specs(engine))
    for name in TABLES:
        a = pl.read_parquet(first / f"{name}.parquet")
        assert a.equals(pl.read_parquet(again / f"{name}.parquet")), name  # chunking: same rows
        assert not a.equals(pl.read_parquet(other / f"{name}.parquet")), name
    third = tmp_path / "third"
    generate(third, orders=20_000, seed=1, tables=list(TABLES), generators=_specs(engine))
    for name in TABLES:  # same arguments: byte-identical files
        assert _digest(first / f"{name}.parquet") == _digest(third / f"{name}.parquet")


def test_schema_matches_the_contracts(engine: Any, data: Any) -> None:
    out, _ = data
    for name in TABLES:
        df = pl.read_parquet(out / f"{name}.parquet")
        contract = contract_frame(engine.tables.items[name])
        assert df.columns == contract.columns, name
        for column in df.columns:
            want, got = contract.schema[column], df.schema[column]
            assert got == want or (want == pl.Int64 and got.is_integer()), (name, column)
        assert df["customer_id"].null_count() == 0


def test_row_counts_and_ids(data: Any) -> None:
    out, seen = data
    ctx = seen["groupbuy_groups"]
    ids = set(pl.read_parquet(out / "customers.parquet")["customer_id"])
    groups = pl.read_parquet(out / "groupbuy_groups.parquet")
    touches = pl.read_parquet(out / "groupbuy_touches.parquet")
    referrals = pl.read_parquet(out / "groupbuy_referrals.parquet")
    assert groups["group_id"].n_unique() == gb.n_groups(ctx) == 1_200
    assert referrals.height == gb.referrals_rows(ctx)
    assert 0.8 * gb.touches_rows(ctx) <= touches.height <= gb.touches_rows(ctx)
    for df, column in (
        (groups, "customer_id"),
        (touches, "customer_id"),
        (referrals, "customer_id"),
        (referrals, "referred_id"),
    ):
        assert set(df[column].drop_nulls()) <= ids, column
    # one initiator per group, one row per customer and group, group_size = rows
    per_group = groups.group_by("group_id").agg(
        (pl.col("role") == "initiator").sum().alias("initiators"),
        pl.len().alias("rows"),
        pl.col("customer_id").n_unique().alias("people"),
        pl.col("group_size").first().alias("size"),
    )
    assert (per_group["initiators"] == 1).all()
    assert (per_group["rows"] == per_group["people"]).all()
    assert (per_group["rows"] == per_group["size"]).all()
    assert set(groups["status"]) == {"success", "failed", "open"}
    assert (groups["deal_price"] <= groups["list_price"]).all()


def test_realistic_shapes(data: Any) -> None:
    out, _ = data
    groups = pl.read_parquet(out / "groupbuy_groups.parquet")
    started = groups.filter(pl.col("role") == "initiator").group_by("customer_id").len()
    joiners = groups.filter(pl.col("role") == "joiner")["customer_id"].n_unique()
    # few initiators, many joiners; the busiest tenth of initiators start most groups
    assert started.height < joiners / 3
    top = started.sort("len", descending=True).head(started.height // 10)["len"].sum()
    assert top > 0.5 * started["len"].sum()
    sources = pl.read_parquet(out / "groupbuy_touches.parquet")
    first = sources.sort("touch_ts").group_by("customer_id").agg(pl.col("source").first())
    shares = first["source"].value_counts(normalize=True).sort("proportion", descending=True)
    assert shares["source"][0] == "social" and shares["proportion"][0] > 0.3
    # converted referrals convert after the invitation
    conv = pl.read_parquet(out / "groupbuy_referrals.parquet").drop_nulls("converted_ts")
    assert (conv["converted_ts"] > conv["referral_ts"]).all()


@pytest.mark.parametrize(
    "preset", ["groupbuy:sensitivity", "groupbuy:source", "groupbuy:roles", "groupbuy:behaviour"]
)
def test_every_label_is_reached_on_generated_data(engine: Any, data: Any, preset: str) -> None:
    out, _ = data
    plan = segrule.compile([preset], data=out, as_of="2026-11-01", engine=engine)
    df = plan.frame.collect()
    assert df.height == pl.read_parquet(out / "customers.parquet").height
    segments = [n for n in plan.outputs if n in plan.nodes and plan.nodes[n].role == "segment"]
    assert segments
    for column in segments:
        labels = set(plan.nodes[column].labels)
        counts = dict(df[column].cast(pl.String).value_counts().rows())
        missing = {lab for lab in labels if counts.get(lab, 0) == 0}
        assert not missing, (column, missing, counts)


def test_price_sensitive_majority_in_deal_choice(data: Any) -> None:
    """Most group buyers prefer deep-discount deals; a minority prefers premium ones."""
    out, _ = data
    groups = pl.read_parquet(out / "groupbuy_groups.parquet")
    per = (
        groups.group_by("customer_id")
        .agg(
            (1 - pl.col("deal_price") / pl.col("list_price")).mean().alias("depth"),
            pl.col("premium").mean().alias("premium"),
            pl.len(),
        )
        .filter(pl.col("len") >= 3)
    )
    assert (per["depth"] >= 0.35).mean() > 0.5
    assert 0.05 < (per["premium"] >= 0.5).mean() < 0.35


def test_orders_and_events_keep_core_rows_customers_and_times(data: Any, tmp_path: Path) -> None:
    out, _ = data
    core = generate(tmp_path, orders=20_000, seed=1, tables=["orders", "events"])
    for table, key in (
        ("orders", ["order_id", "customer_id", "order_ts", "quantity"]),
        ("events", ["customer_id", "event_ts"]),
    ):
        mine = pl.read_parquet(out / f"{table}.parquet")
        theirs = pl.read_parquet(core[table])
        if table == "orders":
            assert mine.select(key).equals(theirs.select(key))
        else:  # core's events first, then the extra service contacts
            assert mine.head(theirs.height).select(key).equals(theirs.select(key))
            assert mine.height > theirs.height


def test_sensitivity_labels_follow_the_generated_habits(data: Any) -> None:
    """The need type each customer was generated with is what groupbuy:sensitivity finds
    for most classified customers (chance would give about a quarter)."""
    import numpy as np

    out, seen = data
    need = gb.need_types(seen["groupbuy_groups"])
    names = np.array(["price", "quality", "service", "none"])
    truth = pl.DataFrame(
        {"customer_id": [f"C{i:08d}" for i in range(need.shape[0])], "trait": names[need]}
    )
    df = segrule.score(
        "groupbuy:sensitivity",
        data=out,
        as_of="2026-11-01",
        engine=segrule.Engine(plugins=[plugin], autoload=False),
    ).join(truth, on="customer_id")
    classified = df.filter(pl.col("groupbuy_need") != "unknown", pl.col("trait") != "none")
    for trait in ("price", "quality", "service"):
        rows = classified.filter(pl.col("trait") == trait)
        share = (rows["groupbuy_need"] == trait).mean()
        assert rows.height > 50 and share is not None and share >= 0.5, (trait, share)
