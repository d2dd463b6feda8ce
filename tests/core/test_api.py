"""segrule.run / sink / summarize: atomic writes in every format and the run summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule import SegruleError, UsageError

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)

RULES = """
    segments:
      size:
        cases:
          - {when: "monetary_lifetime >= 100", label: big}
        default: small
        labels:
          small: {zh: 小, en: Small}
          big: {zh: 大, en: Big}
    scores:
      value:
        strategy: quantile
        params:
          dimension: monetary_lifetime
          tiers: [{label: top, top: 0.5}]
          default: rest
    outputs: [customer_id, monetary_lifetime, orders_lifetime, last_order_ts, size, value]
    """


def ago(days: int) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


@pytest.fixture
def tables(make_tables) -> dict[str, pl.DataFrame]:
    # a 150 (big, top), b 50 (small, top), c 30 (small, rest), d nothing (small, rest).
    return make_tables(
        orders=[
            ("a", ago(1), 100.0),
            ("a", ago(2), 50.0),
            ("b", ago(3), 50.0),
            ("c", ago(4), 30.0),
        ],
        customers=["d", "c", "b", "a"],
    )


@pytest.fixture
def rules_path(rules) -> Path:
    return rules("run.yaml", RULES)


def read(path: Path, fmt: str) -> pl.DataFrame:
    return {
        "parquet": pl.read_parquet,
        "ipc": pl.read_ipc,
        "csv": pl.read_csv,
        "ndjson": pl.read_ndjson,
    }[fmt](path)


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("out.parquet", "parquet"),
        ("out.csv", "csv"),
        ("out.arrow", "ipc"),
        ("out.ndjson", "ndjson"),
    ],
)
def test_run_writes_each_format_atomically(
    tmp_path: Path, rules_path: Path, tables, name: str, fmt: str
) -> None:
    out_dir = tmp_path / "nested" / "out"  # created on demand
    result = segrule.run(rules_path, out_dir / name, tables, as_of="2026-11-01")
    assert result.output == out_dir / name
    assert result.rows == 4
    assert sorted(p.name for p in out_dir.iterdir()) == [name]  # no temporary file left
    written = read(out_dir / name, fmt)
    assert written["customer_id"].to_list() == ["a", "b", "c", "d"]
    assert written["size"].to_list() == ["big", "small", "small", "small"]
    assert written["value"].to_list() == ["top", "top", "rest", "rest"]
    assert written["monetary_lifetime"].to_list() == [150.0, 50.0, 30.0, 0.0]
    assert set(result.seconds) == {"compile", "run", "summary"}


def test_parquet_output_equals_score(tmp_path: Path, rules_path: Path, tables) -> None:
    out = tmp_path / "out.parquet"
    segrule.run(rules_path, out, tables, as_of="2026-11-01")
    expected = segrule.score(rules_path, tables, as_of="2026-11-01")
    assert isinstance(expected, pl.DataFrame)
    assert pl.read_parquet(out).equals(expected)


def test_same_input_gives_byte_identical_output(tmp_path: Path, rules_path: Path, tables) -> None:
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    segrule.run(rules_path, one, tables, as_of="2026-11-01")
    segrule.run(rules_path, two, {k: v.reverse() for k, v in tables.items()}, as_of="2026-11-01")
    assert one.read_bytes() == two.read_bytes()


def test_failing_run_leaves_the_previous_output_untouched(
    tmp_path: Path, rules_path: Path, tables
) -> None:
    out = tmp_path / "out.parquet"
    segrule.run(rules_path, out, tables, as_of="2026-11-01")
    before = out.read_bytes()
    # Compiles (the schema says Float64) but fails when the rows are read.
    bad_orders = (
        tables["orders"]
        .lazy()
        .with_columns(pl.lit("n/a").alias("amount"))
        .with_columns(pl.col("amount").cast(pl.Float64, strict=True))
    )
    with pytest.raises(SegruleError, match="the run failed"):
        segrule.run(rules_path, out, {**tables, "orders": bad_orders}, as_of="2026-11-01")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "rules"]


def test_failing_first_run_leaves_no_file(tmp_path: Path, rules_path: Path, tables) -> None:
    out = tmp_path / "out" / "scores.csv"
    bad_orders = (
        tables["orders"]
        .lazy()
        .with_columns(pl.lit("n/a").alias("amount"))
        .with_columns(pl.col("amount").cast(pl.Float64, strict=True))
    )
    with pytest.raises(SegruleError):
        segrule.run(rules_path, out, {**tables, "orders": bad_orders}, as_of="2026-11-01")
    assert list(out.parent.iterdir()) == []


def test_rule_error_writes_nothing(tmp_path: Path, rules, tables) -> None:
    path = rules("bad.yaml", 'segments:\n  s:\n    flag: "order_30d > 1"\n')
    with pytest.raises(segrule.RuleSetError):
        segrule.run(path, tmp_path / "out.parquet", tables, as_of="2026-11-01")
    assert not (tmp_path / "out.parquet").exists()


def test_output_format_from_extension_or_argument(tmp_path: Path, rules_path: Path, tables) -> None:
    with pytest.raises(UsageError, match="cannot tell the format"):
        segrule.run(rules_path, tmp_path / "out.xls", tables, as_of="2026-11-01")
    with pytest.raises(UsageError, match="unknown output format 'xls'"):
        segrule.run(rules_path, tmp_path / "out.csv", tables, as_of="2026-11-01", fmt="xls")
    result = segrule.run(rules_path, tmp_path / "out.dat", tables, as_of="2026-11-01", fmt="csv")
    assert pl.read_csv(result.output)["customer_id"].to_list() == ["a", "b", "c", "d"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dat", "rules"]


# -- summary -----------------------------------------------------------------------------
def test_summarize_counts_and_shares(tmp_path: Path, rules_path: Path, tables) -> None:
    result = segrule.run(rules_path, tmp_path / "out.parquet", tables, as_of="2026-11-01")
    rows = result.summary
    table = {(r["column"], r["label"]): r for r in rows}
    assert [(r["column"], r["label"]) for r in rows] == [
        ("size", "small"),
        ("size", "big"),  # the order the labels are declared in
        ("value", "rest"),
        ("value", "top"),
    ]
    assert table[("size", "big")]["customers"] == 1
    assert table[("size", "small")]["customers"] == 3
    assert table[("size", "big")]["share"] == 0.25
    assert table[("size", "big")]["zh"] == "大" and table[("size", "big")]["en"] == "Big"
    assert table[("value", "top")]["customers"] == 2
    # Revenue shares on monetary_lifetime (230 in all).
    assert table[("size", "big")]["revenue_share"] == pytest.approx(150 / 230)
    assert table[("value", "rest")]["revenue_share"] == pytest.approx(30 / 230)
    for column in ("size", "value"):
        part = [r for r in rows if r["column"] == column]
        assert sum(r["customers"] for r in part) == result.rows
        assert sum(r["share"] for r in part) == pytest.approx(1.0)
        assert sum(r["revenue_share"] for r in part) == pytest.approx(1.0)


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "ipc"])
def test_summary_is_the_same_for_every_format(
    tmp_path: Path, rules_path: Path, tables, fmt: str
) -> None:
    base = segrule.run(rules_path, tmp_path / "out.parquet", tables, as_of="2026-11-01")
    other = segrule.run(rules_path, tmp_path / "out.x", tables, as_of="2026-11-01", fmt=fmt)
    assert other.summary == base.summary


def test_summarize_a_data_frame_with_nulls_and_flags(rules, make_tables) -> None:
    path = rules(
        "flags.yaml",
        """
        segments:
          buyer:
            flag: "orders_lifetime > 0"
        scores:
          key:
            strategy: pareto
        outputs: [customer_id, generation, buyer, key]
        """,
    )
    tables = make_tables(
        orders=[("a", ago(1), 10.0)],
        customers=[("a", 1990, "上海"), ("b", None, None), ("c", 1985, None)],
    )
    plan = segrule.compile(path, tables, as_of="2026-11-01")
    df = segrule.collect(plan.frame)
    rows = segrule.summarize(df, plan)
    # Only segments and tiers are summarized (generation is a dimension).
    assert {r["column"] for r in rows} == {"buyer", "key"}
    for column in ("buyer", "key"):
        part = {r["label"]: r["customers"] for r in rows if r["column"] == column}
        assert part == {"true": 1, "false": 2}
        assert sum(r["share"] for r in rows if r["column"] == column) == pytest.approx(1.0)
    # No money column among the outputs: no revenue share.
    assert all(r["revenue_share"] is None for r in rows)


def test_summarize_without_segments_is_empty(rules, make_tables) -> None:
    path = rules("plain.yaml", "outputs: [customer_id, orders_lifetime]\n")
    plan = segrule.compile(path, make_tables(orders=[("a", ago(1), 1.0)]), as_of="2026-11-01")
    assert segrule.summarize(plan.frame, plan) == []
