"""segrule.diff: migration matrices and change events between two runs.

The matrix and the changes are checked against a plain-Python reference on small
frames with customers on one side only, null labels and null revenue; then end to end
on outputs written by ``segrule.run`` (manifest: roles, labels, as-of) and on two rule
sets scored on the same tables.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.diff import ABSENT, changes, diff, migration_matrices, migration_matrix, open_side
from segrule.errors import DataError, RuleSetError, UsageError
from segrule.testing import AS_OF, RuleFiles, days_before, make_tables

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

OLD = pl.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e", "ü1"],
        "tier": ["vip", "vip", "normal", None, "normal", "vip"],
        "spend": [100.10, 200.20, 0.0, 5.0, None, 1.0],
    }
)
NEW = pl.DataFrame(
    {
        "customer_id": ["b", "c", "d", "e", "f", "ü1"],
        "tier": ["normal", "normal", "vip", None, "vip", "vip"],
        "spend": [10.0, 0.3, 7.0, 1.0, 50.0, 2.5],
    }
)


def reference_matrix(old: pl.DataFrame, new: pl.DataFrame, column: str, revenue: str | None):
    o = {r["customer_id"]: r for r in old.iter_rows(named=True)}
    n = {r["customer_id"]: r for r in new.iter_rows(named=True)}
    cells: dict[tuple[Any, Any], list[Any]] = defaultdict(lambda: [0, None, None])
    for cid in set(o) | set(n):
        key = (
            o[cid][column] if cid in o else ABSENT,
            n[cid][column] if cid in n else ABSENT,
        )
        cell = cells[key]
        cell[0] += 1
        for i, side in ((1, o), (2, n)):
            if revenue and cid in side and side[cid][revenue] is not None:
                cell[i] = round((cell[i] or 0) + side[cid][revenue], 2)
    return {k: tuple(v) for k, v in cells.items()}


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("revenue", ["spend", None])
def test_matrix_matches_reference(lazy: bool, revenue: str | None) -> None:
    old, new = (OLD.lazy(), NEW.lazy()) if lazy else (OLD, NEW)
    m = migration_matrix(old, new, "tier", revenue)
    assert m.columns == ["old", "new", "customers", "revenue_old", "revenue_new"]
    got = {
        (r["old"], r["new"]): (
            r["customers"],
            None if r["revenue_old"] is None else round(r["revenue_old"], 2),
            None if r["revenue_new"] is None else round(r["revenue_new"], 2),
        )
        for r in m.iter_rows(named=True)
    }
    ref = reference_matrix(OLD, NEW, "tier", revenue)
    # a cell whose customers all lack the side has revenue 0 in polars' sum, None in ref
    for key, (n, ro, rn) in ref.items():
        assert got[key][0] == n, key
        if revenue:
            assert got[key][1] == (ro or 0), key
            assert got[key][2] == (rn or 0), key
        else:
            assert got[key][1:] == (None, None)
    assert set(got) == set(ref)
    assert m["customers"].sum() == 7  # a..f and ü1: every customer once


def test_matrix_cells_by_hand() -> None:
    m = migration_matrix(OLD, NEW, "tier", "spend")
    rows = {(r["old"], r["new"]): r for r in m.iter_rows(named=True)}
    assert rows[("vip", ABSENT)]["customers"] == 1  # a left the customer base
    assert rows[("vip", ABSENT)]["revenue_new"] == 0
    assert rows[(ABSENT, "vip")]["revenue_new"] == pytest.approx(50.0)  # f is new
    assert rows[("vip", "normal")]["revenue_old"] == pytest.approx(200.20)
    assert rows[(None, "vip")]["customers"] == 1  # d had a null label
    assert rows[("vip", "vip")]["revenue_new"] == pytest.approx(2.5)


def test_matrix_money_is_summed_in_cents() -> None:
    # 0.1 + 0.2 in float is 0.30000000000000004; in cents it is 0.3.
    old = pl.DataFrame({"customer_id": ["x", "y"], "t": ["a", "a"], "m": [0.1, 0.2]})
    m = migration_matrix(old, old, "t", "m")
    assert m["revenue_old"].to_list() == [0.3]


def test_matrix_empty_sides() -> None:
    empty = OLD.clear()
    m = migration_matrix(empty, NEW, "tier", "spend")
    assert set(m["old"].to_list()) == {ABSENT}
    assert m["customers"].sum() == NEW.height
    assert migration_matrix(empty, empty, "tier", None).height == 0


def test_matrix_unknown_column_names_it() -> None:
    with pytest.raises(DataError, match=r"no label column 'teir'.*did you mean 'tier'"):
        migration_matrix(OLD, NEW, "teir")
    with pytest.raises(DataError, match="revenue column 'money'"):
        migration_matrix(OLD, NEW, "tier", "money")


def test_changes_rows() -> None:
    got = changes(OLD, NEW, ["tier"], dimensions=["spend"], old_as_of="t0", new_as_of="t1")
    df = got.collect()
    assert df.columns == [
        "customer_id",
        "column",
        "event",
        "label",
        "old_label",
        "new_label",
        "old_as_of",
        "new_as_of",
        "old_spend",
        "new_spend",
    ]
    rows = [
        (r["customer_id"], r["event"], r["label"], r["old_label"], r["new_label"])
        for r in df.iter_rows(named=True)
    ]
    assert rows == [
        ("a", "left", "vip", "vip", ABSENT),
        ("b", "left", "vip", "vip", "normal"),
        ("b", "entered", "normal", "vip", "normal"),
        ("d", "entered", "vip", None, "vip"),  # from no label: nothing to leave
        ("e", "left", "normal", "normal", None),  # to no label: nothing entered
        ("f", "entered", "vip", ABSENT, "vip"),
    ]
    b = df.filter(pl.col("customer_id") == "b").row(0, named=True)
    assert (b["old_spend"], b["new_spend"], b["old_as_of"], b["new_as_of"]) == (
        200.20,
        10.0,
        "t0",
        "t1",
    )


def test_changes_reference_on_every_column() -> None:
    old = OLD.with_columns(flag=pl.Series([True, False, None, True, False, True]))
    new = NEW.with_columns(flag=pl.Series([True, True, True, None, False, True]))
    df = changes(old, new, ["tier", "flag"]).collect()
    o = {r["customer_id"]: r for r in old.iter_rows(named=True)}
    n = {r["customer_id"]: r for r in new.iter_rows(named=True)}
    expected = []
    for cid in sorted(set(o) | set(n)):
        for col in ("tier", "flag"):
            a = o[cid][col] if cid in o else ABSENT
            b = n[cid][col] if cid in n else ABSENT
            if a == b:
                continue
            if cid in o and a is not None:
                expected.append((cid, col, "left", str(a).lower()))
            if cid in n and b is not None:
                expected.append((cid, col, "entered", str(b).lower()))
    got = [(r[0], r[1], r[2], r[3]) for r in df.select(df.columns[:4]).iter_rows()]
    assert got == expected


# -- end to end -----------------------------------------------------------------------
RULES = """
segments:
  tier:
    zh: 等级
    en: Tier
    cases:
      - {when: "monetary_lifetime >= 1000", label: vip}
      - {when: "monetary_lifetime >= 100", label: advanced}
    default: normal
    labels:
      vip: {zh: 贵宾, en: VIP}
      advanced: {zh: 高级, en: Advanced}
      normal: {zh: 普通, en: Normal}
  big:
    flag: "orders_lifetime >= 2"
outputs: [customer_id, monetary_lifetime, orders_lifetime, tier, big]
"""


def _orders(spend: dict[str, list[float]], as_of: dt.datetime = AS_OF) -> dict[str, pl.DataFrame]:
    rows = [
        (c, days_before(1 + i, as_of), a)
        for c, amounts in spend.items()
        for i, a in enumerate(amounts)
    ]
    return make_tables(orders=rows)


@pytest.fixture
def two_runs(rules: RuleFiles, tmp_path: Path) -> tuple[Path, Path]:
    rule = rules("tiers.yaml", RULES)
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    segrule.run(
        rule,
        old,
        _orders({"a": [2000.0], "b": [500.0], "c": [50.0], "d": [10.0]}, days_before(30)),
        as_of=days_before(30),
    )
    segrule.run(
        rule,
        new,
        _orders({"a": [600.0, 10.0], "b": [500.0], "c": [700.0, 800.0], "e": [5.0]}),
        as_of=AS_OF,
    )
    return old, new


def test_diff_of_two_outputs(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = two_runs
    out = tmp_path / "changes.ndjson"
    result = diff(old, new, changes_out=out)
    assert [c.column for c in result.columns] == ["tier", "big"]  # roles from the manifest
    assert result.revenue == "monetary_lifetime"
    assert result.old.as_of == days_before(30).isoformat()
    tier = result.columns[0]
    assert tier.display("vip", "zh") == "贵宾"
    cells = {(r["old"], r["new"]): r["customers"] for r in tier.matrix.iter_rows(named=True)}
    assert cells == {
        ("vip", "advanced"): 1,
        ("advanced", "advanced"): 1,
        ("normal", "vip"): 1,
        ("normal", ABSENT): 1,
        (ABSENT, "normal"): 1,
    }
    assert tier.order() == ["vip", "advanced", "normal", ABSENT]
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert result.changes_rows == len(lines)
    a_rows = [x for x in lines if x["customer_id"] == "a" and x["column"] == "tier"]
    assert [(x["event"], x["label"]) for x in a_rows] == [("left", "vip"), ("entered", "advanced")]
    assert a_rows[0]["old_monetary_lifetime"] == 2000.0
    assert a_rows[0]["new_monetary_lifetime"] == 610.0
    assert a_rows[0]["old_as_of"] == days_before(30).isoformat()
    big = [x for x in lines if x["column"] == "big"]
    assert {(x["customer_id"], x["event"], x["label"]) for x in big} == {
        ("a", "left", "false"),
        ("a", "entered", "true"),
        ("c", "left", "false"),
        ("c", "entered", "true"),
        ("d", "left", "false"),
        ("e", "entered", "false"),
    }


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_changes_file_formats_agree(
    two_runs: tuple[Path, Path], tmp_path: Path, suffix: str
) -> None:
    old, new = two_runs
    out = tmp_path / f"changes{suffix}"
    diff(old, new, columns=["tier"], changes_out=out)
    df = pl.read_parquet(out) if suffix == ".parquet" else pl.read_csv(out)
    assert df.filter(pl.col("customer_id") == "c")["event"].to_list() == ["left", "entered"]
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, no temporary left


def test_diff_of_csv_outputs_falls_back_to_text_columns(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    old, new = two_runs
    paths = []
    for p in (old, new):
        target = tmp_path / (p.stem + ".csv")
        pl.read_parquet(p).write_csv(target)
        paths.append(target)
    result = diff(*paths)
    assert result.old.label_columns is None and "no manifest" in (result.old.note or "")
    assert [c.column for c in result.columns] == ["tier", "big"]  # string and boolean
    assert result.revenue == "monetary_lifetime"
    reference = diff(old, new)
    assert_frame_equal(result.columns[0].matrix, reference.columns[0].matrix)


def test_diff_of_two_rule_sets_previews_a_rule_change(rules: RuleFiles) -> None:
    old_rule = rules("old.yaml", RULES)
    new_rule = rules("new.yaml", RULES.replace(">= 1000", ">= 500"))
    tables = _orders({"a": [2000.0], "b": [500.0], "c": [50.0, 60.0], "d": [700.0]})
    result = diff(old_rule, new_rule, tables=tables, as_of=AS_OF, columns=["tier"])
    cells = {
        (r["old"], r["new"]): r["customers"] for r in result.columns[0].matrix.iter_rows(named=True)
    }
    assert cells == {("vip", "vip"): 1, ("advanced", "vip"): 2, ("advanced", "advanced"): 1}
    # the same as scoring each rule set on its own
    a = segrule.score(old_rule, tables, as_of=AS_OF)
    b = segrule.score(new_rule, tables, as_of=AS_OF)
    assert_frame_equal(
        migration_matrix(a, b, "tier", "monetary_lifetime"), result.columns[0].matrix
    )
    assert result.new.as_of == AS_OF.isoformat()


def test_diff_output_against_preset_and_unknown_arguments(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(UsageError, match=r"OLD '.*notes.txt' is neither an output file"):
        open_side(other, role="OLD")
    with pytest.raises(DataError, match=r"OLD '.*missing.parquet': output file not found"):
        diff(tmp_path / "missing.parquet", other)
    with pytest.raises(RuleSetError, match="'taobao-5-teir' is neither a rule file nor a preset"):
        diff("taobao-5-teir", "taobao-5-tier", tables=make_tables(orders=[]), as_of=AS_OF)


def test_diff_unknown_column_and_revenue(two_runs: tuple[Path, Path]) -> None:
    old, new = two_runs
    with pytest.raises(DataError, match=r"old.parquet: has no column 'teir' — did you mean 'tier'"):
        diff(old, new, columns=["teir"])
    with pytest.raises(DataError, match="has no revenue column 'spend'"):
        diff(old, new, revenue="spend")


def test_diff_file_without_customer_id(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,tier\n1,vip\n")
    with pytest.raises(DataError, match=r"bad\.csv: has no customer_id column"):
        diff(bad, bad)


def test_matrices_of_several_columns_equal_one_by_one() -> None:
    old = OLD.with_columns(flag=pl.Series([True, False, None, True, False, True]))
    new = NEW.with_columns(flag=pl.Series([True, True, True, None, False, True]))
    both = migration_matrices(old.lazy(), new.lazy(), ["tier", "flag"], "spend")
    for column in ("tier", "flag"):
        assert_frame_equal(both[column], migration_matrix(old, new, column, "spend"))
