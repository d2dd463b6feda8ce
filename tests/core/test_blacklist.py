"""Blacklisted customers are left out of the run and counted.

Leaving them out must be the same as never having had their rows: they are outside
the universe, so outside every rank, NTILE and Pareto share too.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.errors import DataError
from segrule.generate import generate
from segrule.io.manifest import read_manifest

PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bl-data")
    generate(out, orders=4000, seed=9)
    return out


def _ids(data: Path, n: int) -> list[str]:
    orders = pl.read_parquet(data / "orders.parquet")
    return orders["customer_id"].unique().sort().head(n).to_list()


def _blacklisted(result: segrule.RunResult) -> int:
    return next(q["rows"] for q in result.quality if q["check"] == "blacklisted_customers")


def _rows(result: segrule.RunResult, table: str, check: str) -> int:
    return next(
        (q["rows"] for q in result.quality if q["table"] == table and q["check"] == check), 0
    )


def _without(data: Path, ids: list[str], folder: Path) -> Path:
    folder.mkdir()
    for table in ("orders", "customers", "events", "feedback"):
        frame = pl.read_parquet(data / f"{table}.parquet")
        frame.filter(~pl.col("customer_id").is_in(ids)).write_parquet(folder / f"{table}.parquet")
    return folder


def test_excluded_as_if_their_rows_were_never_there(tmp_path: Path, data: Path) -> None:
    ids = _ids(data, 25)
    listing = tmp_path / "blacklist.txt"
    listing.write_text("# do not contact\n" + "\n".join(ids) + "\n\nnobody-here\n")
    result = segrule.run(
        PRESETS, tmp_path / "with.parquet", data=data, as_of=AS_OF, blacklist=listing
    )
    assert [q for q in result.quality if q["check"] == "blacklisted_customers"] == [
        {"table": "customers", "check": "blacklisted_customers", "action": "excluded", "rows": 25}
    ]
    without = segrule.run(
        PRESETS, tmp_path / "without.parquet", data=_without(data, ids, tmp_path / "w"), as_of=AS_OF
    )
    # Their rows are reported as excluded, not as used: what is used is what a run
    # without them uses.
    for table in ("orders", "customers", "events", "feedback"):
        assert _rows(result, table, "rows_used") == _rows(without, table, "rows_used"), table
        assert _rows(result, table, "blacklisted") > 0, table
        assert _rows(result, table, "rows_read") - _rows(without, table, "rows_read") >= _rows(
            result, table, "blacklisted"
        )
    bl = [q for q in result.quality if q["table"] == "orders" and q["check"] == "blacklisted"]
    assert bl[0]["action"] == "excluded"
    assert_frame_equal(
        pl.read_parquet(tmp_path / "with.parquet"), pl.read_parquet(tmp_path / "without.parquet")
    )
    manifest = read_manifest(tmp_path / "with.parquet")
    assert manifest is not None and manifest["inputs"]["blacklist"]["source"] == str(listing)


@pytest.mark.parametrize("kind", ["csv", "parquet", "single-column parquet"])
def test_table_blacklists(tmp_path: Path, data: Path, kind: str) -> None:
    ids = _ids(data, 3)
    frame = pl.DataFrame({"customer_id": ids, "reason": ["fraud"] * 3})
    if kind == "csv":
        path = tmp_path / "bl.csv"
        frame.write_csv(path)
    elif kind == "parquet":
        path = tmp_path / "bl.parquet"
        frame.write_parquet(path)
    else:
        path = tmp_path / "ids.parquet"
        frame.select(pl.col("customer_id").alias("id")).write_parquet(path)
    out = segrule.score(["rfm"], data=data, as_of=AS_OF, blacklist=path)
    assert isinstance(out, pl.DataFrame)
    assert not out.filter(pl.col("customer_id").is_in(ids)).height


def test_rule_file_blacklist_is_relative_to_the_rule_file(tmp_path: Path, data: Path) -> None:
    ids = _ids(data, 2)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "ids.txt").write_text("\n".join(ids))
    rule = tmp_path / "rules" / "r.yaml"
    rule.write_text("name: r\nextends: rfm\nblacklist: ids.txt\n")
    result = segrule.run([str(rule)], tmp_path / "o.parquet", data=data, as_of=AS_OF)
    assert _blacklisted(result) == 2
    # the run's own blacklist wins over the rule file's
    other = tmp_path / "other.txt"
    other.write_text(ids[0])
    result = segrule.run(
        [str(rule)], tmp_path / "o.parquet", data=data, as_of=AS_OF, blacklist=other
    )
    assert _blacklisted(result) == 1


def test_orders_universe(tmp_path: Path, data: Path) -> None:
    ids = _ids(data, 4)
    listing = tmp_path / "bl.txt"
    listing.write_text("\n".join(ids))
    result = segrule.run(
        ["rfm"],
        tmp_path / "o.parquet",
        {"orders": data / "orders.parquet"},
        as_of=AS_OF,
        blacklist=listing,
    )
    assert _blacklisted(result) == 4
    out = pl.read_parquet(tmp_path / "o.parquet")
    assert not out.filter(pl.col("customer_id").is_in(ids)).height


def test_bad_blacklists_are_clear_errors(tmp_path: Path, data: Path) -> None:
    with pytest.raises(DataError, match=r"blacklist .*missing\.txt: file not found"):
        segrule.score(["rfm"], data=data, as_of=AS_OF, blacklist=tmp_path / "missing.txt")
    wide = tmp_path / "wide.csv"
    pl.DataFrame({"a": ["x"], "b": ["y"]}).write_csv(wide)
    with pytest.raises(DataError, match="has no customer_id column; columns are: a, b"):
        segrule.score(["rfm"], data=data, as_of=AS_OF, blacklist=wide)
    rule = tmp_path / "r.yaml"
    rule.write_text("name: r\nextends: rfm\nblacklist: gone.txt\n")
    with pytest.raises(DataError, match=r"gone\.txt \(named in .*r\.yaml:3:12\)"):
        segrule.score([str(rule)], data=data, as_of=AS_OF)


@pytest.mark.parametrize("universe", ["customers", "orders"])
def test_a_duplicate_order_of_a_blacklisted_customer_counts_once(
    tmp_path: Path, make_tables, universe: str
) -> None:
    """A blacklisted customer's row dropped as a duplicate order id is counted as the
    duplicate only; rows used + every left-out count = rows read."""
    import datetime as dt

    t = dt.datetime(2026, 10, 1)
    tables = make_tables(
        orders=[
            {"order_id": "o1", "customer_id": "bad", "order_ts": t, "amount": 5.0},
            {
                "order_id": "o1",
                "customer_id": "good",
                "order_ts": t + dt.timedelta(1),
                "amount": 5.0,
            },
            {"order_id": "o2", "customer_id": "bad", "order_ts": t, "amount": 7.0},
            {"order_id": "o3", "customer_id": "good", "order_ts": t, "amount": 1.0},
            {
                "order_id": "o3",
                "customer_id": "bad",
                "order_ts": t + dt.timedelta(1),
                "amount": 1.0,
            },
            {"order_id": "o4", "customer_id": "bad", "order_ts": t, "amount": -1.0},
        ],
        customers=["bad", "good"] if universe == "customers" else None,
    )
    listing = tmp_path / "bl.txt"
    listing.write_text("bad\n")
    result = segrule.run(["rfm"], tmp_path / "o.parquet", tables, as_of=AS_OF, blacklist=listing)
    assert _rows(result, "orders", "rows_read") == 6
    assert _rows(result, "orders", "bad_amount") == 1  # o4
    assert _rows(result, "orders", "duplicate_order_id") == 2  # o1 (good's), o3 (bad's)
    assert _rows(result, "orders", "blacklisted") == 2  # o1 (bad's, kept as first), o2
    assert _rows(result, "orders", "rows_used") == 1  # o3 (good's)
    assert _blacklisted(result) == 1
