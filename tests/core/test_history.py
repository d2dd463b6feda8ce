"""segrule.history: membership history per as-of, and hysteresis on downgrades.

Five monthly runs on hand-made orders, each customer's computed tier chosen per run,
so the published tier can be worked out by hand: a one-run dip is held, a two-run dip
is published, an upgrade is immediate, labels outside ``order`` are not held, a new
customer and a returning one are not held.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule import history
from segrule.diff import changes
from segrule.errors import DataError, RuleSetError
from segrule.testing import AS_OF, RuleFiles, days_before, make_tables

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

RULES = """
segments:
  tier:
    cases:
      - {when: "monetary_lifetime >= 1000", label: vip}
      - {when: "monetary_lifetime >= 100", label: advanced}
      - {when: "monetary_lifetime >= 1", label: normal}
    default: dormant
hysteresis:
  tier:
    order: [vip, advanced, normal]
    downgrade_after: 2
outputs: [customer_id, monetary_lifetime, tier]
"""

SPEND = {"vip": 2000.0, "advanced": 500.0, "normal": 50.0, "dormant": 0.0}
# computed tier per run (None: not a customer in that run)
COMPUTED = {
    "dip1": ["vip", "advanced", "vip", "vip", "vip"],
    "dip2": ["vip", "advanced", "normal", "normal", "normal"],
    "up": ["normal", "vip", "vip", "advanced", "vip"],
    "outside": ["vip", "dormant", "dormant", "vip", "advanced"],
    "late": [None, None, "normal", "normal", "normal"],
    "gone": ["vip", None, "advanced", "advanced", "advanced"],
}
PUBLISHED = {
    "dip1": ["vip", "vip", "vip", "vip", "vip"],
    "dip2": ["vip", "vip", "normal", "normal", "normal"],
    "up": ["normal", "vip", "vip", "vip", "vip"],
    "outside": ["vip", "dormant", "dormant", "vip", "vip"],
    "late": [None, None, "normal", "normal", "normal"],
    "gone": ["vip", None, "advanced", "advanced", "advanced"],
}
RUNS_BELOW = {
    "dip1": [0, 1, 0, 0, 0],
    "dip2": [0, 1, 0, 0, 0],
    "up": [0, 0, 0, 1, 0],
    "outside": [0, 0, 0, 0, 1],
}


def as_of(run: int) -> dt.datetime:
    return AS_OF + dt.timedelta(days=30 * run)


def tables(run: int) -> dict[str, pl.DataFrame]:
    rows = [
        (cid, days_before(1, as_of(run)), SPEND[labels[run]])
        for cid, labels in COMPUTED.items()
        if labels[run] is not None
    ]
    return make_tables(orders=rows)


@pytest.fixture
def rule(rules: RuleFiles) -> Path:
    return rules("tiers.yaml", RULES)


def run_all(rule: Path, tmp_path: Path, runs: int = 5) -> Path:
    hist = tmp_path / "hist"
    for r in range(runs):
        out = tmp_path / f"out{r}.parquet"
        result = segrule.run(rule, out, tables(r), as_of=as_of(r), history=hist)
        assert result.history == hist / history.partition_name(as_of(r)) / "part.parquet"
        published = dict(pl.read_parquet(out).select("customer_id", "tier").iter_rows())
        expected = {c: p[r] for c, p in PUBLISHED.items() if p[r] is not None}
        assert published == expected, f"run {r}"
    return hist


def test_hysteresis_over_five_runs(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path)
    assert [p.path.parent.name for p in history.partitions(hist)] == [
        f"as_of={as_of(r).date()}" for r in range(5)
    ]
    t = history.tiers(hist, column="tier")
    assert isinstance(t, pl.DataFrame)
    assert t.columns == ["as_of", "customer_id", "tier", "tier__computed", "tier__runs_below"]
    for cid, labels in COMPUTED.items():
        mine = t.filter(pl.col("customer_id") == cid)
        runs = [r for r in range(5) if labels[r] is not None]
        assert mine["as_of"].to_list() == [as_of(r) for r in runs]
        assert mine["tier__computed"].to_list() == [labels[r] for r in runs]
        assert mine["tier"].to_list() == [PUBLISHED[cid][r] for r in runs]
        if cid in RUNS_BELOW:
            assert mine["tier__runs_below"].to_list() == RUNS_BELOW[cid]


def test_history_partition_content(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path, runs=2)
    part = history.partitions(hist)[-1]
    df = pl.read_parquet(part.path)
    assert df.columns == [
        "customer_id",
        "tier",
        "tier__computed",
        "tier__runs_below",
        "monetary_lifetime",
    ]
    assert part.info()["labels"] == ["tier"]
    assert part.info()["previous"] == as_of(0).isoformat()
    assert df["customer_id"].to_list() == sorted(df["customer_id"].to_list())


def test_without_history_nothing_is_held(rule: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    segrule.run(rule, out, tables(1), as_of=as_of(1))
    got = dict(pl.read_parquet(out).select("customer_id", "tier").iter_rows())
    assert got == {c: v[1] for c, v in COMPUTED.items() if v[1] is not None}


def test_rerun_replaces_the_latest_and_earlier_is_refused(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path, runs=3)
    before = pl.read_parquet(history.partitions(hist)[-1].path)
    again = segrule.run(rule, tmp_path / "again.parquet", tables(2), as_of=as_of(2), history=hist)
    assert again.history_replaced
    assert pl.read_parquet(again.history).equals(before)  # continues run 1, as before
    with pytest.raises(DataError, match=r"already holds later runs \(as_of=.*\) than this as-of"):
        segrule.run(rule, tmp_path / "x.parquet", tables(1), as_of=as_of(1), history=hist)
    assert len(history.partitions(hist)) == 3
    assert not list(hist.rglob(".*.tmp"))


def test_events_are_changes_between_consecutive_runs(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path)
    ev = history.events(hist, column="tier")
    assert isinstance(ev, pl.DataFrame)
    parts = history.partitions(hist)
    expected = pl.concat(
        [
            changes(
                pl.read_parquet(a.path),
                pl.read_parquet(b.path),
                ["tier"],
                dimensions=["monetary_lifetime"],
                old_as_of=a.as_of.isoformat(),
                new_as_of=b.as_of.isoformat(),
            ).collect()
            for a, b in itertools.pairwise(parts)
        ]
    )
    assert ev.equals(expected)
    # published labels: dip1 never moves; dip2 leaves vip once, in the third run
    assert ev.filter(pl.col("customer_id") == "dip1").height == 0
    dip2 = ev.filter(pl.col("customer_id") == "dip2")
    assert dip2.select("event", "label", "new_as_of").rows() == [
        ("left", "vip", as_of(2).isoformat()),
        ("entered", "normal", as_of(2).isoformat()),
    ]
    gone = ev.filter(pl.col("customer_id") == "gone").select("event", "label", "new_label")
    assert gone.rows() == [("left", "vip", "(absent)"), ("entered", "advanced", "advanced")]


def test_tiers_of_one_customer_and_bad_reads(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path, runs=3)
    one = history.tiers(hist, customer_id="up")
    assert isinstance(one, pl.DataFrame)
    assert one["tier"].to_list() == ["normal", "vip", "vip"]
    with pytest.raises(DataError, match="has no label column 'teir' — did you mean 'tier'"):
        history.tiers(hist, column="teir")
    with pytest.raises(DataError, match="holds no runs"):
        history.events(tmp_path / "nothing")


def test_hysteresis_needs_a_history_to_hold(rule: Path, tmp_path: Path) -> None:
    # the first run of a history holds nothing: no previous label
    hist = tmp_path / "h"
    out = tmp_path / "o.parquet"
    segrule.run(rule, out, tables(1), as_of=as_of(1), history=hist)
    got = dict(pl.read_parquet(out).select("customer_id", "tier").iter_rows())
    assert got == {c: v[1] for c, v in COMPUTED.items() if v[1] is not None}


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        (
            "  tier:\n    order:",
            "  teir:\n    order:",
            "unknown column 'teir' — did you mean 'tier'",
        ),
        ("[vip, advanced, normal]", "[vip, advnced, normal]", "unknown label 'advnced'"),
        ("[vip, advanced, normal]", "[vip, vip, normal]", "label 'vip' appears twice"),
        ("downgrade_after: 2", "downgrade_after: 0", "greater than or equal to 1"),
        ("downgrade_after: 2", "downgrade_after: 2\n    after: 1", "unknown key 'after'"),
    ],
)
def test_hysteresis_errors_name_the_line(
    rules: RuleFiles, change: str, needle: str, message: str
) -> None:
    path = rules("bad.yaml", RULES.replace(change, needle))
    with pytest.raises(RuleSetError) as err:
        segrule.compile(path, check_only=True, as_of=AS_OF)
    text = str(err.value)
    assert message in text
    assert text.startswith(f"{path}:")
    line = int(text.split(":")[1])
    assert line in range(rules.line(path, "hysteresis:"), rules.line(path, "outputs:"))
    assert "\n" not in text


def test_hysteresis_on_a_flag_is_refused(rules: RuleFiles) -> None:
    path = rules(
        "flag.yaml",
        """
        segments:
          big: {flag: "monetary_lifetime >= 100"}
        hysteresis:
          big: {order: ["true", "false"]}
        outputs: [customer_id, big]
        """,
    )
    with pytest.raises(RuleSetError, match="'big' is a boolean flag"):
        segrule.compile(path, check_only=True, as_of=AS_OF)


def test_hysteresis_extends_and_schema(rules: RuleFiles) -> None:
    path = rules(
        "t.yaml",
        """
        extends: taobao-5-tier
        hysteresis:
          tier: {order: [super_vip, vip, advanced, normal], downgrade_after: 3}
        """,
    )
    plan = segrule.compile(path, check_only=True, as_of=AS_OF)
    assert plan.ruleset.model.hysteresis["tier"].downgrade_after == 3
    from segrule.ruleset import json_schema

    assert "hysteresis" in json_schema()["properties"]


def test_output_with_history_is_sorted_and_repeatable(rule: Path, tmp_path: Path) -> None:
    hist = run_all(rule, tmp_path, runs=2)
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    segrule.run(rule, a, tables(2), as_of=as_of(2), history=hist)
    segrule.run(rule, b, tables(2), as_of=as_of(2), history=hist)  # replaces: same result
    ids = pl.read_parquet(a)["customer_id"].to_list()
    assert ids == sorted(ids)
    assert a.read_bytes() == b.read_bytes()


def test_hysteresis_continues_a_history_written_without_it(
    rule: Path, rules: RuleFiles, tmp_path: Path
) -> None:
    plain = rules("plain.yaml", RULES.split("hysteresis:")[0] + "outputs: [customer_id, tier]\n")
    hist = tmp_path / "hist"
    segrule.run(plain, tmp_path / "0.parquet", tables(0), as_of=as_of(0), history=hist)
    assert "tier__runs_below" not in pl.read_parquet(history.partitions(hist)[0].path).columns
    out = tmp_path / "1.parquet"
    segrule.run(rule, out, tables(1), as_of=as_of(1), history=hist)
    got = dict(pl.read_parquet(out).select("customer_id", "tier").iter_rows())
    assert got == {c: p[1] for c, p in PUBLISHED.items() if p[1] is not None}
