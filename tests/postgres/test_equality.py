"""The same rule sets on the same data give the same output from PostgreSQL as from
Parquet: generated tables (text and integer ids, a plugin vertical) loaded into the
test server, some columns given the types a real database has (numeric money,
timestamptz)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.generate import generate, vertical_generators

AS_OF = "2026-11-01"


def load_all(pg, paths: dict[str, Path], prefix: str) -> dict[str, str]:
    return {t: pg.load(pl.read_parquet(p), f"{prefix}_{t}") for t, p in paths.items()}


@pytest.fixture(scope="module")
def text_ids(pg, tmp_path_factory) -> tuple[dict[str, Path], dict[str, str]]:
    paths = generate(tmp_path_factory.mktemp("text"), orders=20_000, seed=3)
    uris = load_all(pg, paths, "gen_text")
    # What a shop database holds: money as numeric(12,2), aware times.
    pg.execute(
        "ALTER TABLE gen_text_orders ALTER COLUMN amount TYPE numeric(12,2)",
        "ALTER TABLE gen_text_orders ALTER COLUMN order_ts TYPE timestamptz "
        "USING order_ts AT TIME ZONE 'Asia/Shanghai'",
    )
    return paths, uris


@pytest.fixture(scope="module")
def int_ids(pg, tmp_path_factory) -> tuple[dict[str, Path], dict[str, str]]:
    paths = generate(
        tmp_path_factory.mktemp("int"),
        orders=20_000,
        seed=4,
        id_type="int",
        customer_ids="shuffled",
        order_ids="random",
    )
    return paths, load_all(pg, paths, "gen_int")


@pytest.mark.parametrize("preset", ["taobao-5-tier", "rfm", "pareto-80-20", "value-tiers"])
def test_presets_text_ids(text_ids, preset: str) -> None:
    paths, uris = text_ids
    want = segrule.score(preset, paths, as_of=AS_OF, tz="Asia/Shanghai")
    got = segrule.score(preset, uris, as_of=AS_OF, tz="Asia/Shanghai")
    assert want.height > 1000
    assert_frame_equal(got, want)


@pytest.mark.parametrize("preset", ["taobao-5-tier", "rfm", "lifecycle"])
def test_presets_int_ids(int_ids, preset: str) -> None:
    paths, uris = int_ids
    want = segrule.score(preset, paths, as_of=AS_OF)
    got = segrule.score(preset, uris, as_of=AS_OF)
    assert want.schema["customer_id"] == pl.Int64
    assert_frame_equal(got, want)


def test_plugin_preset(pg, tmp_path: Path) -> None:
    engine = segrule.Registry(plugins=["segrule_b2b.hooks"], autoload=False)
    generators = vertical_generators(engine, ["b2b"])
    tables = ["orders", "customers", *[t for t in generators if t not in ("orders", "customers")]]
    paths = generate(tmp_path, orders=5_000, seed=5, tables=tables, generators=generators)
    uris = load_all(pg, paths, "gen_b2b")
    for preset in ("b2b:value-matrix", "b2b:inquiry-quality"):
        want = segrule.score(preset, paths, as_of=AS_OF, engine=engine)
        got = segrule.score(preset, uris, as_of=AS_OF, engine=engine)
        assert_frame_equal(got, want)
