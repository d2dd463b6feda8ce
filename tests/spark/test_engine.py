"""``engine="spark"`` gives the bytes of the local run: every preset and plugin preset,
text and integer ids in random order, with the dirty rows of the staged-plan tests (null,
blank and unknown customer ids, rows after as-of, a bad amount, an order id shared by two
customers of different buckets), explanation columns, a blacklist, rejects and history,
an input that is already a bucket layout, and a bucket with no rows.

Each run compares the output file's bytes (the manifest included), the data-quality
report and the rejects files."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
from segrule.explain import ExplainOptions
from segrule.spark import SparkOptions

#: One worker runs every Spark test (conftest.py).
pytestmark = pytest.mark.xdist_group("spark")

BASE = "customer_id"
HERE = Path(__file__).resolve().parent


def _module(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden = _module("golden_outputs", HERE.parent / "golden" / "outputs.py")
staged_tests = _module("staged_tests", HERE.parent / "core" / "test_stages.py")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for kind in ("text", "integer"):
        folder = staged_tests._dirty(tmp_path_factory.mktemp(f"spark-{kind}"), kind == "integer")
        # Rows in random order (exports are rarely sorted by customer).
        for f in folder.glob("*.parquet"):
            df = pl.read_parquet(f)
            df.sample(fraction=1.0, shuffle=True, seed=3).write_parquet(f)
        out[kind] = folder
    return out


def _pair(
    spark: Any, tmp_path: Path, name: str, rulesets: list[str], buckets: int = 5, **kw: Any
) -> tuple[segrule.RunResult, segrule.RunResult, Path, Path]:
    local = tmp_path / f"{name}-local"
    remote = tmp_path / f"{name}-spark"
    local.mkdir()
    remote.mkdir()
    extra: dict[str, dict[str, Any]] = {"local": {}, "spark": {}}
    for where, folder in (("local", local), ("spark", remote)):
        if kw.get("rejects"):
            extra[where]["rejects"] = folder / "rejects"
        if kw.get("history"):
            extra[where]["history"] = folder / "history"
    args = {k: v for k, v in kw.items() if k not in ("rejects", "history")}
    a = segrule.run(
        rulesets, local / "out.parquet", engine=golden.engine(), **args, **extra["local"]
    )
    b = segrule.run(
        rulesets,
        remote / "out.parquet",
        engine=golden.engine(),
        spark=SparkOptions(session=spark, buckets=buckets),
        **args,
        **extra["spark"],
    )
    return a, b, local, remote


def _same(a: segrule.RunResult, b: segrule.RunResult, local: Path, remote: Path) -> None:
    assert (remote / "out.parquet").read_bytes() == (local / "out.parquet").read_bytes()
    assert b.quality == a.quality
    assert b.rows == a.rows and b.summary == a.summary
    assert b.rejects == a.rejects
    for f in sorted(local.rglob("*.parquet")):
        twin = remote / f.relative_to(local)
        assert twin.read_bytes() == f.read_bytes(), f.relative_to(local)


JOBS: dict[str, dict[str, Any]] = {
    "core presets, explained, rejects": {
        "rulesets": ["taobao-5-tier", "rfm", "pareto-80-20", "value-tiers", "lifecycle"],
        "explain": ExplainOptions(reasons=True, distance=True, rolloff=True),
        "rejects": True,
    },
    "rfm and pareto, blacklist, history": {
        "rulesets": ["rfm", "pareto-80-20"],
        "blacklist": True,
        "history": True,
    },
    "generation and transaction stage": {"rulesets": ["generation", "transaction-stage"]},
    # A k-means fit in the population stage, on the driver over the hand-off.
    "rfm-clusters": {"rulesets": ["rfm-clusters"]},
    "product pareto": {"rulesets": ["product-pareto"]},
    "emotion tags": {"rulesets": ["emotion-tags"]},
    # The population stage's model fit (one map_batches over every customer) on the driver.
    "clv and churn risk": {"rulesets": ["clv", "churn-risk"]},
    # Each vertical's presets composed into one run (the plugins' tables keep text ids).
    **{
        f"{vertical} presets": {
            "rulesets": sorted(p for p in golden.engine().presets.items if p.startswith(vertical)),
            "text_only": True,
        }
        for vertical in sorted({p.split(":")[0] for p in golden.engine().presets.items if ":" in p})
    },
}
CASES = [("text", job) for job in JOBS] + [
    ("integer", job) for job, spec in JOBS.items() if not spec.get("text_only")
]


@pytest.mark.usefixtures("no_plugin_autoload")
@pytest.mark.parametrize(("ids", "job"), CASES)
def test_spark_run_is_byte_identical_to_the_local_run(
    spark: Any, ids: str, job: str, datasets: dict[str, Path], tmp_path: Path
) -> None:
    spec = JOBS[job]
    data = datasets[ids]
    kw: dict[str, Any] = {"data": data, "as_of": golden.AS_OF}
    if spec.get("explain"):
        kw["explain"] = spec["explain"]
    for flag in ("rejects", "history"):
        if spec.get(flag):
            kw[flag] = True
    if spec.get("blacklist"):
        ids_ = pl.read_parquet(data / "customers.parquet")[BASE].head(7)
        # and the owners of duplicated order ids: a blacklisted row that is also a
        # duplicate is counted once, whichever bucket holds the kept row
        orders_ = pl.read_parquet(data / "orders.parquet").filter(pl.col(BASE).is_not_null())
        owners = orders_.filter(pl.col("order_id").is_duplicated())[BASE]
        ids_ = pl.concat([ids_, owners.cast(ids_.dtype)]).unique().sort()
        kw["blacklist"] = tmp_path / "blacklist.csv"
        pl.DataFrame({BASE: ids_}).write_csv(kw["blacklist"])
    a, b, local, remote = _pair(spark, tmp_path, "run", spec["rulesets"], buckets=3, **kw)
    _same(a, b, local, remote)
    counts = {(r["table"], r["check"]): r["rows"] for r in a.quality}
    if "orders" in {t for t, _ in counts}:
        # The dirty rows were seen: the comparison is not between two clean runs.
        assert counts[("orders", "duplicate_order_id")] >= 1
        assert counts[("orders", "null_customer_id")] >= 1
    if spec.get("blacklist"):
        assert counts[("orders", "blacklisted")] >= 1
    if spec.get("rejects"):
        assert (local / "rejects" / "orders.parquet").is_file()
    if spec.get("history"):
        assert a.history is not None and b.history is not None
        assert sorted(p.name for p in (local / "history").rglob("*")) == sorted(
            p.name for p in (remote / "history").rglob("*")
        )


@pytest.mark.usefixtures("no_plugin_autoload")
@pytest.mark.parametrize("source", ["parquet text ids", "parquet integer ids", "csv"])
def test_a_bucket_layout_is_read_without_a_shuffle_and_gives_the_local_bytes(
    spark: Any, source: str, datasets: dict[str, Path], tmp_path: Path
) -> None:
    """``segrule bucket`` writes the layout (from Parquet, or from CSV: text columns parsed
    as CSV); the local run and the Spark run on that layout write the same bytes, and the
    Spark run reads it as it is (its bucket count, not --buckets)."""
    data = datasets["integer" if "integer" in source else "text"]
    if source == "csv":
        csv = tmp_path / "csv"
        csv.mkdir()
        for name in ("orders", "customers", "events", "feedback"):
            pl.read_parquet(data / f"{name}.parquet").write_csv(csv / f"{name}.csv")
        data = csv
    layout = tmp_path / "layout"
    rulesets = ["rfm", "taobao-5-tier"]
    segrule.bucket(rulesets, data=data, buckets=6, out=layout)
    a = segrule.run(rulesets, tmp_path / "local.parquet", data=layout, as_of=golden.AS_OF)
    b = segrule.run(
        rulesets,
        tmp_path / "spark.parquet",
        data=layout,
        as_of=golden.AS_OF,
        spark=SparkOptions(session=spark, buckets=2),
    )
    assert (tmp_path / "spark.parquet").read_bytes() == (tmp_path / "local.parquet").read_bytes()
    assert b.quality == a.quality
    # The same customers and values as the run on the tables themselves.
    direct = segrule.score(rulesets, data=data, as_of=golden.AS_OF)
    assert pl.read_parquet(tmp_path / "spark.parquet").equals(direct)
