"""Roll-off dates against rescoring: score the same customers at later as-of instants
with no new rows and find the first day their tier is on a lower rung.

The suite checks a few customers; a long run checks more:

    SEGRULE_ROLLOFF_CUSTOMERS=60 python3 -m uv run --all-packages pytest \
        tests/differential/test_rolloff_vs_rescoring.py -q -p no:cacheprovider
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.explain import ExplainOptions
from segrule.generate import generate

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)
RANK = {"super_vip": 3, "vip": 2, "advanced": 1, "normal": 0}
WINDOWS = (30, 90, 365)  # the windows taobao-5-tier reads


def test_tier_rolloff_is_the_first_day_the_tier_is_lower(tmp_path: Path) -> None:
    wanted = int(os.environ.get("SEGRULE_ROLLOFF_CUSTOMERS", "12"))
    data = tmp_path / "data"
    generate(data, orders=40_000, seed=11, end=AS_OF.date())
    tables = {
        "orders": pl.read_parquet(data / "orders.parquet").filter(pl.col("order_ts") < AS_OF),
        "customers": pl.read_parquet(data / "customers.parquet"),
        "events": pl.read_parquet(data / "events.parquet").filter(pl.col("event_ts") < AS_OF),
        "feedback": pl.read_parquet(data / "feedback.parquet").filter(pl.col("ts") < AS_OF),
    }
    now = segrule.score(
        "taobao-5-tier", tables, as_of=AS_OF, explain=ExplainOptions(False, False, True)
    )
    # The first customers above the lowest rung, in id order, whatever their roll-off.
    laddered = now.filter(pl.col("tier").is_in(list(RANK)) & (pl.col("tier") != "normal"))
    chosen = laddered.head(wanted)
    assert chosen.height == wanted
    ids = chosen["customer_id"].to_list()
    mine = {t: f.filter(pl.col("customer_id").is_in(ids)) for t, f in tables.items()}
    # The tier can change only when a row leaves a window: the day after each row's
    # time plus each window (rescoring at midnight of that day shows it).
    days: set[dt.date] = set()
    for frame, ts in ((mine["orders"], "order_ts"), (mine["events"], "event_ts")):
        for t in frame[ts].to_list():
            for w in WINDOWS:
                leaves = (t + dt.timedelta(days=w)).date()
                if leaves >= AS_OF.date():
                    days.add(leaves + dt.timedelta(days=1))
    first_fall: dict[str, dt.date] = {}
    for day in sorted(days):
        at = dt.datetime(day.year, day.month, day.day)
        later = segrule.score("taobao-5-tier", mine, as_of=at, outputs=["tier"])
        for cid, tier in later.iter_rows():
            before = chosen.filter(pl.col("customer_id") == cid)["tier"][0]
            if cid not in first_fall and RANK.get(tier, 99) < RANK[before]:
                first_fall[cid] = day - dt.timedelta(days=1)
    for row in chosen.iter_rows(named=True):
        assert row["tier_rolloff"] == first_fall.get(row["customer_id"]), row
