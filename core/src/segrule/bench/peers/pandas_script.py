"""The job as a pandas script (pandas + pyarrow; vectorised, no Python per row).

Row filters are pushed into the Parquet reads (``filters=``), windowed sums become
masked columns summed in one ``groupby`` per table, segments are ``np.select``
ladders, R/F/M are NTILE(5) computed from ``rank(method="first")`` over the buyers
sorted by customer_id, and pareto is a ``cumsum`` over the buyers sorted by lifetime
cents.

``python -m segrule.bench.peers.pandas_script DATA_DIR OUT [--as-of 2026-11-01]``
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__:
    from segrule.bench.peers._common import (
        AS_OF,
        OUTPUT_COLUMNS,
        RFM_SEGMENTS,
        main,
        parse_as_of,
        require,
        table_paths,
    )
else:  # run by file path: keep segrule (and its import of polars) out of the process
    from _common import AS_OF, OUTPUT_COLUMNS, RFM_SEGMENTS, main, parse_as_of, require, table_paths  # type: ignore[no-redef]

DAY = dt.timedelta(days=1)


def ntile(position: np.ndarray, k: int) -> np.ndarray:
    """SQL ``NTILE(k)`` of 1-based positions 1..n: the first ``n % k`` buckets one larger."""
    n = len(position)
    q, r = divmod(n, k)
    idx = position.astype(np.int64) - 1
    big = r * (q + 1)
    small = (idx - r) // max(q, 1)
    return np.where(idx < big, idx // (q + 1), small).astype(np.int64) + 1


def compute(data_dir: str | Path, as_of: str | dt.date = AS_OF) -> Any:
    """The job's result as a pandas DataFrame, sorted by customer_id (reads all tables)."""
    pd = require("pandas")
    paths = table_paths(data_dir)
    t = pd.Timestamp(parse_as_of(as_of))

    orders = pd.read_parquet(
        paths["orders"],
        columns=["customer_id", "order_ts", "amount"],
        filters=[("status", "==", "paid"), ("order_ts", "<", t)],
    ).dropna(subset=["customer_id"])
    cents = np.round(orders["amount"].to_numpy() * 100).astype(np.int64)
    orders = orders.assign(
        cents=cents,
        in_30d=(orders["order_ts"] >= t - 30 * DAY).astype(np.int64),
        cents_365d=np.where(orders["order_ts"] >= t - 365 * DAY, cents, 0),
    )
    order_stats = orders.groupby("customer_id", sort=False).agg(
        orders_30d=("in_30d", "sum"),
        orders_lifetime=("cents", "size"),
        cents_365d=("cents_365d", "sum"),
        cents_lifetime=("cents", "sum"),
        first_order_ts=("order_ts", "min"),
        last_order_ts=("order_ts", "max"),
    )

    events = pd.read_parquet(
        paths["events"],
        columns=["customer_id", "event_ts"],
        filters=[
            ("event_type", "==", "campaign"),
            ("event_ts", ">=", t - 90 * DAY),
            ("event_ts", "<", t),
        ],
    ).dropna(subset=["customer_id"])
    events = events.assign(in_30d=(events["event_ts"] >= t - 30 * DAY).astype(np.int64))
    campaign_stats = events.groupby("customer_id", sort=False).agg(
        events_campaign_30d=("in_30d", "sum"),
        events_campaign_90d=("in_30d", "size"),
    )

    feedback = pd.read_parquet(
        paths["feedback"], columns=["customer_id", "score"], filters=[("ts", "<", t)]
    ).dropna(subset=["customer_id"])
    feedback_stats = feedback.groupby("customer_id", sort=False)["score"].agg(["sum", "count"])
    feedback_stats.columns = ["score_sum", "score_count"]

    # The universe: the customers table, else every customer with an order before the
    # as-of (whatever its status). Ids keep their type: sorting is their natural order.
    if "customers" in paths:
        universe = pd.read_parquet(paths["customers"], columns=["customer_id"])
    else:
        universe = pd.read_parquet(
            paths["orders"], columns=["customer_id"], filters=[("order_ts", "<", t)]
        )
    customers = (
        universe.dropna().drop_duplicates().sort_values("customer_id").set_index("customer_id")
    )
    df = customers.join(order_stats).join(campaign_stats).join(feedback_stats)
    counts = [
        "orders_30d",
        "orders_lifetime",
        "cents_365d",
        "cents_lifetime",
        "events_campaign_30d",
        "events_campaign_90d",
    ]
    df[counts] = df[counts].fillna(0).astype(np.int64)
    df["recency_days"] = ((t - df["last_order_ts"]) // pd.Timedelta(days=1)).astype("Int64")
    df["monetary_365d"] = df["cents_365d"] / 100
    df["monetary_lifetime"] = df["cents_lifetime"] / 100
    has_feedback = df["score_count"].fillna(0) > 0
    df["feedback_mean"] = (df["score_sum"] / df["score_count"]).where(has_feedback)

    buyer = df["orders_lifetime"].to_numpy() > 0
    recency = df["recency_days"].fillna(0).to_numpy()
    df["lifecycle"] = np.select(
        [~buyer, (df["first_order_ts"] >= t - 90 * DAY).to_numpy(), recency > 90],
        ["prospect", "new", "churned"],
        "mature",
    )
    df["freq_tier"] = np.select(
        [~buyer, df["orders_30d"].to_numpy() >= 3, df["orders_lifetime"].to_numpy() == 1],
        ["none", "high", "one_time"],
        "low",
    )
    df["amount_tier"] = np.select(
        [df["monetary_365d"].to_numpy() > 10000, df["monetary_365d"].to_numpy() < 500],
        ["high", "low"],
        "mid",
    )
    df["interaction"] = np.select(
        [df["events_campaign_30d"].to_numpy() >= 1, df["events_campaign_90d"].to_numpy() >= 1],
        ["active", "occasional"],
        "none",
    )
    mean = df["feedback_mean"].to_numpy(dtype=np.float64, na_value=np.nan)
    df["satisfaction"] = np.select(
        [np.isnan(mean), mean >= 90, mean >= 75, mean >= 60],
        ["unknown", "very_satisfied", "satisfied", "unsatisfied"],
        "very_unsatisfied",
    )
    df["score"] = (
        df["freq_tier"].map({"high": 3, "low": 2, "one_time": 1, "none": 0})
        + df["amount_tier"].map({"high": 3, "mid": 2, "low": 1})
        + df["interaction"].map({"active": 3, "occasional": 2, "none": 1})
        + df["satisfaction"].map(
            {
                "very_satisfied": 3,
                "satisfied": 2,
                "unknown": 2,
                "unsatisfied": 1,
                "very_unsatisfied": 0,
            }
        )
    ).astype(np.int64)
    df["tier"] = np.select(
        [
            df["lifecycle"] == "new",
            df["lifecycle"] == "prospect",
            df["score"] >= 11,
            df["score"] >= 9,
            df["score"] >= 7,
        ],
        ["new", "prospect", "super_vip", "vip", "advanced"],
        "normal",
    )

    # Buyers in customer_id order: rank(method="first") numbers equal values in that
    # order, so ties are broken by customer_id as the definition asks.
    buyers = df.loc[buyer, ["recency_days", "orders_lifetime", "cents_lifetime"]]
    for name, column, ascending in (
        ("r_score", "recency_days", False),
        ("f_score", "orders_lifetime", True),
        ("m_score", "cents_lifetime", True),
    ):
        position = buyers[column].rank(method="first", ascending=ascending).to_numpy()
        df[name] = pd.Series(ntile(position, 5), index=buyers.index).reindex(df.index)
        df[name] = df[name].astype("Int64")
    by_spend = buyers.reset_index().sort_values(
        ["cents_lifetime", "customer_id"], ascending=[False, True], kind="stable"
    )
    spend = by_spend["cents_lifetime"].to_numpy()
    before = np.cumsum(spend) - spend
    key = pd.Series(before * 5 < spend.sum() * 4, index=by_spend["customer_id"].to_numpy())
    df["pareto_key"] = key.reindex(df.index, fill_value=False).astype(bool)

    r = df["r_score"].fillna(0).to_numpy()
    f = df["f_score"].fillna(0).to_numpy()
    df["rfm_segment"] = np.select(
        [(r == 0) | (f == 0)] + [np.isin(r, rs) & np.isin(f, fs) for _, rs, fs in RFM_SEGMENTS],
        ["no_purchase"] + [label for label, _, _ in RFM_SEGMENTS],
        "no_purchase",
    )
    return df.reset_index()[list(OUTPUT_COLUMNS)]


def run(data_dir: str | Path, out: str | Path, as_of: str | dt.date = AS_OF) -> Path:
    """Compute the job and write ``out`` with pyarrow (Parquet, zstd); return ``out``."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    compute(data_dir, as_of).to_parquet(out, index=False, compression="zstd")
    return Path(out)


def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m segrule.bench.peers.pandas_script DATA_DIR OUT [--as-of]``."""
    return main(run, "The benchmark job as a pandas script.", argv)


if __name__ == "__main__":
    sys.exit(cli())
