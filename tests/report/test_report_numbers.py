"""The report's numbers against plain-Python references on small frames."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from segrule.diff import ABSENT, migration_matrix
from segrule.report import (
    geo_counts,
    histogram,
    label_sizes,
    pareto_curve,
    pick_revenue,
    rfm_grid,
    ruleset_columns,
)

FRAME = pl.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e", "f", "g"],
        "tier": ["vip", "normal", "vip", None, "normal", "normal", "new"],
        "monetary_lifetime": [500.10, 20.0, 300.0, 0.0, 0.0, 179.90, 0.0],
        "r_score": [5, 1, 5, None, 2, 1, None],
        "f_score": [4, 1, 4, None, 2, 1, None],
        "city": ["上海", "北京", "上海", "广州", None, "北京", "上海"],
    }
)


def test_label_sizes_match_plain_python() -> None:
    table = label_sizes(FRAME, "tier", "monetary_lifetime", ["vip", "normal", "super_vip"])
    rows = {r["label"]: r for r in table.iter_rows(named=True)}
    assert table["label"].to_list() == ["vip", "normal", "super_vip", "new", None]
    tiers = FRAME["tier"].to_list()
    money = FRAME["monetary_lifetime"].to_list()
    total = sum(money)
    for label in ("vip", "normal", "new", None):
        n = sum(1 for t in tiers if t == label)
        rev = sum(m for t, m in zip(tiers, money, strict=True) if t == label)
        assert rows[label]["customers"] == n
        assert rows[label]["share"] == pytest.approx(n / len(tiers))
        assert rows[label]["revenue"] == pytest.approx(rev)
        assert rows[label]["revenue_share"] == pytest.approx(rev / total)
    assert rows["super_vip"]["customers"] == 0  # a label of the rule set with nobody in it
    assert sum(table["revenue_share"]) == pytest.approx(1.0)


def test_label_sizes_without_revenue() -> None:
    table = label_sizes(FRAME, "tier", None)
    assert table["revenue_share"].null_count() == table.height
    assert table["customers"].sum() == FRAME.height


def reference_pareto(values: list[float], target: float) -> tuple[list[float], float]:
    ordered = sorted(values, reverse=True)
    total = sum(ordered)
    cum, running = [], 0.0
    for v in ordered:
        running += v
        cum.append(running / total)
    k = next(i for i, c in enumerate(cum) if c >= target - 1e-12) + 1
    return cum, k / len(values)


def test_pareto_curve_matches_plain_python() -> None:
    values = [100.0, 1.0, 5.5, 0.0, 40.0, 40.0, 3.25, 0.0, 12.0, 900.0]
    frame = pl.DataFrame({"monetary_lifetime": values})
    p = pareto_curve(frame, "monetary_lifetime", points=10)
    cum, share = reference_pareto(values, 0.8)
    assert p.points["customer_share"].to_list() == [i / 10 for i in range(11)]
    assert p.points["revenue_share"].to_list() == pytest.approx([0.0, *cum])
    assert p.customers_at_target == pytest.approx(share)
    buyers = sum(1 for v in values if v > 0)
    assert p.buyers_at_target == pytest.approx(share * len(values) / buyers)


def test_pareto_exactly_at_the_target_counts() -> None:
    # 80.00 of 100.00 reached exactly by the first customer: one in five customers
    frame = pl.DataFrame({"m": [80.0, 5.0, 5.0, 5.0, 5.0]})
    assert pareto_curve(frame, "m").customers_at_target == pytest.approx(0.2)


def test_pareto_without_revenue_is_flat() -> None:
    p = pareto_curve(pl.DataFrame({"m": [0.0, 0.0]}), "m", points=4)
    assert p.customers_at_target == 0.0
    assert set(p.points["revenue_share"].to_list()) == {0.0}


def test_rfm_grid_counts_every_cell() -> None:
    grid = rfm_grid(FRAME, "monetary_lifetime")
    assert grid.height == 25
    cells = Counter(
        (r, f)
        for r, f in zip(FRAME["r_score"].to_list(), FRAME["f_score"].to_list(), strict=True)
        if r is not None and f is not None
    )
    for row in grid.iter_rows(named=True):
        assert row["customers"] == cells.get((row["r"], row["f"]), 0)
    cell = grid.filter((pl.col("r") == 5) & (pl.col("f") == 4)).row(0, named=True)
    assert cell["mean_monetary"] == pytest.approx((500.10 + 300.0) / 2)
    assert grid.filter(pl.col("customers") == 0)["mean_monetary"].null_count() == 22


def test_histogram_clips_tails_and_counts_everyone() -> None:
    values = [float(v) for v in range(100)] + [10_000.0, None]
    frame = pl.DataFrame({"monetary_365d": values})
    h = histogram(frame, "monetary_365d", bins=10)
    assert sum(h.counts) == 101 and h.nulls == 1
    assert h.edges[-1] < 10_000  # the long tail does not stretch the range
    assert h.above == 1 and h.below == 1
    ints = pl.DataFrame({"orders_30d": [0, 0, 1, 3, 3, 3]})
    hi = histogram(ints, "orders_30d", lower=0, upper=1)
    assert hi.integer and hi.counts == [2, 1, 0, 3]  # one bin per value 0..3


def test_geo_counts_top_and_others() -> None:
    table = geo_counts(FRAME, "city", "monetary_lifetime", top=2)
    assert table["label"].to_list() == ["上海", "北京", None]
    assert table["customers"].to_list() == [3, 2, 2]  # 广州 and the null city
    assert sum(table["share"]) == pytest.approx(1.0)


def reference_migration(old: pl.DataFrame, new: pl.DataFrame) -> Counter:
    o = dict(zip(old["customer_id"], old["tier"], strict=True))
    n = dict(zip(new["customer_id"], new["tier"], strict=True))
    return Counter((o.get(c, ABSENT), n.get(c, ABSENT)) for c in set(o) | set(n))


def test_migration_matrix_matches_plain_python() -> None:
    old = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "x"],
            "tier": ["vip", "vip", "normal", "new"],
            "m": [1.0, 2.0, 3.0, 4.0],
        }
    )
    new = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "y"],
            "tier": ["vip", "normal", "normal", "new"],
            "m": [10.0, 20.0, 30.0, 40.0],
        }
    )
    m = migration_matrix(old, new, "tier", "m")
    assert m.columns == ["old", "new", "customers", "revenue_old", "revenue_new"]
    got = Counter({(r["old"], r["new"]): r["customers"] for r in m.iter_rows(named=True)})
    assert got == reference_migration(old, new)
    vip_normal = m.filter((pl.col("old") == "vip") & (pl.col("new") == "normal")).row(0, named=True)
    assert (vip_normal["revenue_old"], vip_normal["revenue_new"]) == (2.0, 20.0)
    absent = m.filter(pl.col("old") == ABSENT).row(0, named=True)
    assert absent["new"] == "new" and absent["revenue_new"] == 40.0
    assert migration_matrix(old, new, "tier", None)["revenue_old"].null_count() == m.height


def test_columns_from_the_manifest_and_fallback(scored: dict[str, Path]) -> None:
    from segrule.io.outputs import read_output

    frame, manifest = read_output(scored["new"])
    cols, refs, origin = ruleset_columns(frame, manifest)
    assert origin == "manifest" and refs == ["taobao-5-tier", "rfm", "pareto-80-20"]
    names = [c.name for c in cols]
    assert {"tier", "lifecycle", "rfm_segment", "pareto_key"} <= set(names)
    tier = cols[names.index("tier")]
    assert (
        tier.label("super_vip", "zh") == "超级VIP" and tier.other("super_vip", "zh") == "Super VIP"
    )
    assert tier.labels["super_vip"].actions
    fallback, _, origin = ruleset_columns(frame, None)
    assert origin == "fallback" and "tier" in [c.name for c in fallback]
    assert "customer_id" not in [c.name for c in fallback]


def test_pick_revenue() -> None:
    assert pick_revenue(FRAME) == "monetary_lifetime"
    assert pick_revenue(FRAME.drop("monetary_lifetime")) is None
    assert not math.isnan(FRAME["monetary_lifetime"].sum())


def test_tiers_in_ladder_order_and_the_legend_covers_no_bar(tmp_path) -> None:
    """taobao-5-tier's tier: rungs best first, then the labels off the ladder; the
    legend of a share chart sits outside the axes."""
    import segrule
    from segrule.generate import generate
    from segrule.report import _ladder_first, _matplotlib, ruleset_columns, share_bars

    data = tmp_path / "d"
    generate(data, orders=800, seed=5)
    out = tmp_path / "s.parquet"
    segrule.run(["taobao-5-tier"], out, as_of="2026-11-01", data=data)
    import polars as pl
    from segrule.io.manifest import read_manifest

    columns, _, _ = ruleset_columns(pl.read_parquet(out), read_manifest(out))
    tier = next(c for c in columns if c.name == "tier")
    assert list(tier.labels)[:4] == ["super_vip", "vip", "advanced", "normal"]
    assert set(list(tier.labels)[4:]) == {"new", "prospect"}
    assert callable(_ladder_first)
    fig = share_bars(["a", "b", "c"], [0.9, 0.05, 0.05], [0.95, 0.03, 0.02], "en", "t")
    fig.canvas.draw()
    (ax,) = fig.axes
    legend = ax.get_legend().get_window_extent()
    bars = [p.get_window_extent() for p in ax.patches]
    assert bars and not any(legend.overlaps(b) for b in bars)
    assert legend.y1 <= ax.get_window_extent().y0  # below the plot area
    _matplotlib().close(fig)
