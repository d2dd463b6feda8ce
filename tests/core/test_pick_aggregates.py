"""first(), last() and mode() aggregates against a row-by-row reference.

first/last pick the value of the earliest/latest row by time, ties by order id (then by
the value); mode is the most frequent non-null value, ties to the smallest. Rows come
in random order with many ties in time, ids of either type, masks and windows."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import polars as pl
import pytest
import segrule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)

RULES = """
dimensions:
  first_channel: {aggregate: "first(channel)"}
  last_channel: {aggregate: "last(channel)"}
  first_paid_channel: {aggregate: "first(channel)", where: "status = 'paid'"}
  last_paid_channel_30d: {aggregate: "last(channel)", where: "status = 'paid'", window: 30d}
  favourite_category: {aggregate: "mode(category)", where: "status = 'paid'"}
  first_amount: {aggregate: "first(amount)"}
  categories: {aggregate: "n_unique(category)"}
outputs: [customer_id, first_channel, last_channel, first_paid_channel,
          last_paid_channel_30d, favourite_category, first_amount, categories]
"""


def reference(rows: list[dict[str, Any]], customers: list[Any]) -> list[tuple[Any, ...]]:
    out = []
    for c in sorted(customers):
        mine = [r for r in rows if r["customer_id"] == c and r["order_ts"] < AS_OF]

        def pick(rs: list[dict[str, Any]], col: str, last: bool) -> Any:
            if not rs:
                return None
            key = [(r["order_ts"], r["order_id"], (r[col] is None, r[col] or 0)) for r in rs]
            order = sorted(range(len(rs)), key=lambda i: key[i])
            return rs[order[-1] if last else order[0]][col]

        paid = [r for r in mine if r["status"] == "paid"]
        recent = [r for r in paid if r["order_ts"] >= AS_OF - dt.timedelta(days=30)]
        counts = Counter(r["category"] for r in paid if r["category"] is not None)
        top = max(counts.values(), default=0)
        mode = min((k for k, v in counts.items() if v == top), default=None)
        cats = {r["category"] for r in mine if r["category"] is not None}
        out.append(
            (
                c,
                pick(mine, "channel", False),
                pick(mine, "channel", True),
                pick(paid, "channel", False),
                pick(recent, "channel", True),
                mode,
                pick(mine, "amount", False),
                len(cats),
            )
        )
    return out


def orders_of(seed: int, n: int, int_ids: bool) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    days = [1, 1, 5, 20, 29, 40, 40, 400]  # repeated days: ties in time
    rows = []
    for i in range(n):
        cid = rnd.randrange(6)
        rows.append(
            {
                # order ids unique; their order is not the rows' order
                "order_id": rnd.randrange(10**6) * 100 + i if int_ids else f"o{rnd.random()}",
                "customer_id": cid if int_ids else f"客{cid}",
                "order_ts": AS_OF - dt.timedelta(days=rnd.choice(days)),
                "amount": rnd.choice([10.0, 20.5, 99.99]),
                "status": rnd.choice(["paid", "paid", "refunded"]),
                "channel": rnd.choice(["app", "web", "门店", None]),
                "category": rnd.choice(["鞋", "bags", "hats", None]),
            }
        )
    if rows:  # one row after the as-of: never counted
        rows.append(
            {
                **rows[0],
                "order_ts": AS_OF,
                "order_id": rows[0]["order_id"] * 3 if int_ids else "late",
                "channel": "late",
            }
        )
    return rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10**6), n=st.integers(0, 40), int_ids=st.booleans())
def test_first_last_mode_match_the_reference(rules, seed: int, n: int, int_ids: bool) -> None:
    path = rules("pick.yaml", RULES)
    rows = orders_of(seed, n, int_ids)
    schema = {
        "order_id": pl.Int64 if int_ids else pl.String,
        "customer_id": pl.Int64 if int_ids else pl.String,
        "order_ts": pl.Datetime("us"),
        "amount": pl.Float64,
        "status": pl.String,
        "channel": pl.String,
        "category": pl.String,
    }
    orders = pl.DataFrame(rows, schema=schema)
    customers = sorted({r["customer_id"] for r in rows if r["order_ts"] < AS_OF})
    got = segrule.score(path, {"orders": orders}, as_of=AS_OF)
    assert isinstance(got, pl.DataFrame)
    assert got.rows() == reference(rows, customers)
    # the read order does not matter
    again = segrule.score(
        path, {"orders": orders.sample(fraction=1.0, shuffle=True, seed=seed)}, as_of=AS_OF
    )
    assert isinstance(again, pl.DataFrame)
    assert again.equals(got)


def test_first_needs_a_table_with_time(rules, make_tables) -> None:
    path = rules(
        "bad.yaml",
        """
        dimensions:
          first_city: {aggregate: "first(city)", table: customers}
        outputs: [customer_id, first_city]
        """,
    )
    with pytest.raises(segrule.RuleSetError, match=r"first\(\) needs a table with a time column"):
        segrule.compile(path, make_tables(orders=[], customers=["c1"]), as_of=AS_OF)


def test_unknown_function_lists_the_pick_aggregates(rules, make_tables) -> None:
    path = rules(
        "bad2.yaml",
        """
        dimensions:
          x: {aggregate: "firstt(channel)"}
        outputs: [customer_id, x]
        """,
    )
    with pytest.raises(segrule.RuleSetError, match=r"first, last, mode"):
        segrule.compile(path, make_tables(orders=[]), as_of=AS_OF)
