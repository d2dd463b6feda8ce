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
    return next(q["rows"] for q in result.quality if q["check"] == "blacklisted")


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
    assert [q for q in result.quality if q["check"] == "blacklisted"] == [
        {"table": "customers", "check": "blacklisted", "action": "excluded", "rows": 25}
    ]
    segrule.run(
        PRESETS, tmp_path / "without.parquet", data=_without(data, ids, tmp_path / "w"), as_of=AS_OF
    )
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
