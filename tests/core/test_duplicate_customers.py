"""Repeated customer ids in the customers table are counted (duplicate_customer_id),
dropped or fail the run by policy, written to rejects, and the row kept never depends
on the order rows were read in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import segrule

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)
RULES = """
dimensions:
  home: {attribute: city}
outputs: [customer_id, home, orders_lifetime]
"""


def _tables(int_ids: bool, order: list[int]) -> dict[str, pl.DataFrame]:
    ids = [1, 2, 2, 3, 3, 3, 4] if int_ids else ["a", "b", "b", "c", "c", "c", "d"]
    cities = ["上海", "北京", "广州", "深圳", "深圳", None, "杭州"]
    tags = ["x", "y", "z", "p", "q", "r", "s"]
    customers = pl.DataFrame({"customer_id": ids, "city": cities, "tags": tags})[order]
    orders = pl.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "customer_id": [ids[0], ids[1]],
            "order_ts": [AS_OF - dt.timedelta(days=3)] * 2,
            "amount": [10.0, 20.0],
            "status": ["paid", "paid"],
        }
    )
    return {"customers": customers, "orders": orders}


@pytest.mark.parametrize("int_ids", [False, True])
def test_repeats_are_counted_dropped_and_the_kept_row_is_order_free(
    rules, tmp_path: Path, int_ids: bool
) -> None:
    path = rules("dup.yaml", RULES)
    outs = []
    for k, order in enumerate(
        [[0, 1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1, 0], [2, 5, 0, 4, 1, 6, 3]]
    ):
        out = tmp_path / f"o{k}.parquet"
        result = segrule.run(
            [str(path)], out, _tables(int_ids, order), as_of=AS_OF, rejects=tmp_path / f"rej{k}"
        )
        q = {(r["table"], r["check"]): (r["action"], r["rows"]) for r in result.quality}
        assert q[("customers", "duplicate_customer_id")] == ("drop", 3)
        assert q[("customers", "rows_read")] == ("", 7)
        assert q[("customers", "rows_used")] == ("", 4)
        rejected = pl.read_parquet(tmp_path / f"rej{k}" / "customers.parquet")
        assert rejected.height == 3 and set(rejected["reason"]) == {"duplicate_customer_id"}
        outs.append((out.read_bytes(), rejected))
    assert outs[0][0] == outs[1][0] == outs[2][0]
    assert outs[0][1].equals(outs[1][1]) and outs[0][1].equals(outs[2][1])
    df = pl.read_parquet(tmp_path / "o0.parquet")
    b, c = (2, 3) if int_ids else ("b", "c")
    homes = dict(zip(df["customer_id"].to_list(), df["home"].to_list(), strict=True))
    # the first by the attribute read (city), nulls last
    assert homes[b] == "北京" and homes[c] == "深圳"
    # the rejects hold the other rows as read
    kept_out = sorted(
        zip(rejected["customer_id"].to_list(), rejected["city"].to_list(), strict=True), key=str
    )
    assert sorted(kept_out, key=str) == sorted([(b, "广州"), (c, "深圳"), (c, None)], key=str)


def test_fail_policy_stops_the_run(rules, tmp_path: Path) -> None:
    path = rules(
        "dup.yaml",
        RULES + "tables:\n  customers:\n    quality: {duplicate_customer_id: fail}\n",
    )
    out = tmp_path / "o.parquet"
    with pytest.raises(segrule.DataError, match=r"customers: 3 rows fail duplicate_customer_id"):
        segrule.run([str(path)], out, _tables(False, list(range(7))), as_of=AS_OF)
    assert not out.exists()


def test_the_check_is_for_the_customers_table_only(rules) -> None:
    path = rules(
        "bad.yaml",
        RULES + "tables:\n  orders:\n    quality: {duplicate_customer_id: drop}\n",
    )
    with pytest.raises(
        segrule.RuleSetError, match=r"unknown quality check 'duplicate_customer_id'"
    ):
        segrule.compile(path, _tables(False, list(range(7))), as_of=AS_OF)


def test_a_blacklisted_repeated_customer_counts_once_as_blacklisted(rules, tmp_path: Path) -> None:
    listing = tmp_path / "bl.txt"
    listing.write_text("c\n")
    result = segrule.run(
        [str(rules("dup.yaml", RULES))],
        tmp_path / "o.parquet",
        _tables(False, list(range(7))),
        as_of=AS_OF,
        blacklist=listing,
    )
    q = {(r["table"], r["check"]): r["rows"] for r in result.quality}
    assert q[("customers", "duplicate_customer_id")] == 3
    assert q[("customers", "blacklisted")] == 1
    assert q[("customers", "rows_used")] == 3  # a, b, d
