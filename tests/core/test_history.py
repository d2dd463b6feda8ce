"""Membership history (run --history) and hysteresis (downgrade_after)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule import history
from segrule.errors import RuleSetError, UsageError

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

T0 = dt.datetime(2026, 10, 1)
RUNS = [T0 + dt.timedelta(days=10 * k) for k in range(1, 5)]  # R1..R4, ten days apart

RULES = """
    segments:
      level:
        cases:
          - {when: "monetary_10d >= 100", label: gold}
          - {when: "monetary_10d >= 10", label: silver}
        default: bronze
    hysteresis:
      level: {downgrade_after: 2}
    outputs: [customer_id, monetary_10d, level]
    """


def before(run: int, amount: float, cid: str) -> tuple[str, dt.datetime, float]:
    """An order of ``cid`` a day before run ``run`` (1-based): inside that run's 10 days."""
    return (cid, RUNS[run - 1] - dt.timedelta(days=1), amount)


@pytest.fixture
def tables(make_tables):
    return make_tables(
        orders=[
            # a dips for one run (R2): held gold.
            before(1, 100, "a"),
            before(3, 100, "a"),
            before(4, 100, "a"),
            # b dips from R2 on: held at R2, downgraded at R3.
            before(1, 100, "b"),
            # c goes up at R2: at once; then no orders.
            before(1, 20, "c"),
            before(2, 100, "c"),
            # d is new at R3 (gold at once) and dips at R4 (held).
            before(3, 100, "d"),
        ]
    )


def run_all(rules, tables, folder: Path, out: Path) -> list[dict[str, str]]:
    path = rules("r.yaml", RULES)
    published = []
    for at in RUNS:
        result = segrule.run(path, out, tables, as_of=at, history=folder)
        assert result.history == folder / history.partition_name(at) / "part.parquet"
        df = pl.read_parquet(out)
        published.append(dict(zip(df["customer_id"], df["level"], strict=True)))
    return published


def test_hysteresis_holds_a_one_run_dip_and_publishes_a_second(rules, tables, tmp_path) -> None:
    folder = tmp_path / "hist"
    published = run_all(rules, tables, folder, tmp_path / "out.parquet")
    assert [p.get("a") for p in published] == ["gold", "gold", "gold", "gold"]
    assert [p.get("b") for p in published] == ["gold", "gold", "bronze", "bronze"]
    # c: up at R2 at once, then nothing for two runs: held at R3, down at R4.
    assert [p.get("c") for p in published] == ["silver", "gold", "gold", "bronze"]
    assert [p.get("d") for p in published] == [None, None, "gold", "gold"]
    # The history keeps what was computed and the runs in a row below.
    rows = history.read(folder).collect()
    b = rows.filter(pl.col("customer_id") == "b").sort("as_of")
    assert b["level__computed"].to_list() == ["gold", "bronze", "bronze", "bronze"]
    assert b["level__below"].to_list() == [0, 1, 0, 0]
    assert b["level"].to_list() == ["gold", "gold", "bronze", "bronze"]
    d = rows.filter(pl.col("customer_id") == "d").sort("as_of")
    assert d["level__computed"].to_list() == ["gold", "bronze"]
    assert d["level__below"].to_list() == [0, 1]
    # Read back: a customer's labels over time, and the events between runs.
    over_time = history.tiers(folder, "b", "level")
    assert over_time["level"].to_list() == ["gold", "gold", "bronze", "bronze"]
    assert over_time["as_of"].to_list() == RUNS
    # the events are diff's changes between consecutive runs: left/entered rows
    events = history.events(folder, "level")
    at = [r.isoformat() for r in RUNS]
    assert events.select("new_as_of", "customer_id", "event", "label").rows() == [
        (at[1], "c", "left", "silver"),
        (at[1], "c", "entered", "gold"),
        (at[2], "b", "left", "gold"),
        (at[2], "b", "entered", "bronze"),
        (at[2], "d", "entered", "gold"),  # new to the history: nothing left
        (at[3], "c", "left", "gold"),
        (at[3], "c", "entered", "bronze"),
    ]
    assert events.filter(pl.col("customer_id") == "d")["old_label"].to_list() == ["(absent)"]


def test_without_history_the_computed_label_is_written(rules, tables, tmp_path) -> None:
    path = rules("r.yaml", RULES)
    df = segrule.score(path, tables, as_of=RUNS[1])
    assert dict(zip(df["customer_id"], df["level"], strict=True))["a"] == "bronze"


def test_rerun_replaces_the_latest_and_an_earlier_run_is_refused(rules, tables, tmp_path) -> None:
    folder = tmp_path / "hist"
    out = tmp_path / "out.parquet"
    path = rules("r.yaml", RULES)
    for at in RUNS[:2]:
        segrule.run(path, out, tables, as_of=at, history=folder)
    segrule.run(path, out, tables, as_of=RUNS[1], history=folder)  # the latest again
    assert [at for at, _ in history.partitions(folder)] == RUNS[:2]
    # Held again from R1, not from the replaced R2: a is still gold with one run below.
    again = pl.read_parquet(folder / history.partition_name(RUNS[1]) / "part.parquet")
    a = again.filter(pl.col("customer_id") == "a").row(0, named=True)
    assert (a["level"], a["level__computed"], a["level__below"]) == ("gold", "bronze", 1)
    with pytest.raises(UsageError, match="has runs up to 2026-10-21"):
        segrule.run(path, out, tables, as_of=RUNS[0], history=folder)
    # no temporary files or folders left; the lock file stays (removing one races)
    assert [p.name for p in folder.glob(".*")] == [history.LOCK]


def test_hysteresis_entries_are_checked(rules, tables, tmp_path) -> None:
    bad_column = RULES.replace("level: {downgrade_after: 2}", "levl: {downgrade_after: 2}")
    with pytest.raises(RuleSetError, match="'levl' is not a segment or tier"):
        segrule.run(
            rules("a.yaml", bad_column),
            tmp_path / "o.parquet",
            tables,
            as_of=RUNS[0],
            history=tmp_path / "h",
        )
    bad_label = RULES.replace(
        "level: {downgrade_after: 2}", "level: {order: [gold, silvr, bronze]}"
    )
    with pytest.raises(RuleSetError, match="no label 'silvr'") as err:
        segrule.run(
            rules("b.yaml", bad_label),
            tmp_path / "o.parquet",
            tables,
            as_of=RUNS[0],
            history=tmp_path / "h",
        )
    assert "b.yaml:" in str(err.value)
    zero = RULES.replace("downgrade_after: 2", "downgrade_after: 0")
    with pytest.raises(RuleSetError, match="downgrade_after"):
        segrule.load_ruleset(rules("c.yaml", zero))


@pytest.mark.parametrize("written", ["2 runs", "'2 runs'", "2run", " 2 "])
def test_downgrade_after_may_say_runs(rules, tables, tmp_path, written) -> None:
    """`downgrade_after: 2 runs` (as people say it) is the number 2: the same history."""
    said = RULES.replace("downgrade_after: 2", f"downgrade_after: {written}")
    path = rules("said.yaml", said)
    spec = segrule.load_ruleset(path).model.hysteresis["level"]
    assert spec.downgrade_after == 2
    out = tmp_path / "o.parquet"
    published = []
    for at in RUNS:
        segrule.run(path, out, tables, as_of=at, history=tmp_path / "h")
        published.append(dict(pl.read_parquet(out).select("customer_id", "level").rows()))
    assert [p.get("b") for p in published] == ["gold", "gold", "bronze", "bronze"]


@pytest.mark.parametrize("written", ["two runs", "2 weeks", "runs"])
def test_downgrade_after_that_is_no_count_is_a_rule_error(rules, written) -> None:
    bad = RULES.replace("downgrade_after: 2", f"downgrade_after: {written}")
    with pytest.raises(RuleSetError, match=r"is not a number of runs: write e\.g\. 2") as err:
        segrule.load_ruleset(rules("bad.yaml", bad))
    assert "bad.yaml:" in str(err.value)


def test_validate_checks_hysteresis_without_data(rules) -> None:
    typo = RULES.replace("level: {downgrade_after: 2}", "levl: {downgrade_after: 2}")
    with pytest.raises(RuleSetError, match="did you mean 'level'") as err:
        segrule.compile(rules("v.yaml", typo), as_of=RUNS[0], check_only=True)
    assert "v.yaml:" in str(err.value)


def test_a_held_label_says_so_in_its_reason(rules, tables, tmp_path) -> None:
    from segrule.explain import ExplainOptions

    path = rules("r.yaml", RULES)
    out = tmp_path / "out.parquet"
    for at in RUNS[:2]:
        segrule.run(path, out, tables, as_of=at, history=tmp_path / "h", explain=ExplainOptions())
    a = pl.read_parquet(out).filter(pl.col("customer_id") == "a").row(0, named=True)
    assert a["level"] == "gold"  # held: computed bronze at R2
    assert a["level_reason"] == (
        "not gold: monetary_10d=0<100; not silver: monetary_10d=0<10; default bronze; "
        "held at gold by hysteresis (1 of 2 runs below)"
    )


def test_hysteresis_over_top_share_tiers(rules, make_tables, tmp_path) -> None:
    """A quantile strategy's tiers (no labels given) hold downgrades like a ladder: the
    order defaults to its tiers, best first; written out, its labels are known."""
    text = """
    scores:
      share:
        strategy: quantile
        params:
          dimension: monetary_365d
          tiers: [{label: top, top: 0.5}]
          default: rest
    hysteresis:
      share: {downgrade_after: 2}
    outputs: [customer_id, monetary_365d, share]
    """
    for order in ("", "\n      share: {order: [top, rest], downgrade_after: 2}"):
        body = text if not order else text.replace("\n      share: {downgrade_after: 2}", order)
        plan = segrule.compile(rules("q.yaml", body), as_of=RUNS[0], check_only=True)
        assert [(h.column, h.order) for h in history.hysteresis_of(plan)] == [
            ("share", ("top", "rest"))
        ]
    # b outspends a at R1, a outspends b from R2: a rises at once, b is held a run.
    tables = make_tables(
        orders=[before(1, 10, "a"), before(1, 50, "b"), before(2, 90, "a"), before(3, 90, "a")]
    )
    path = rules("q.yaml", text)
    out, folder = tmp_path / "o.parquet", tmp_path / "h"
    seen = []
    for at in RUNS[:3]:
        segrule.run(path, out, tables, as_of=at, history=folder)
        seen.append(dict(pl.read_parquet(out).select("customer_id", "share").rows()))
    assert [s["a"] for s in seen] == ["rest", "top", "top"]
    assert [s["b"] for s in seen] == ["top", "top", "rest"]
