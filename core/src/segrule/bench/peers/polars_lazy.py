"""The job as a hand-written polars lazy query (what a polars user writes without segrule).

Filters go into the scans (paid orders before the as-of, campaign events of the last
90 days), one ``group_by`` per table, left joins onto the customers, ``when/then``
ladders for the segments. R/F/M use ``bin_ranks(5)`` (NTILE: equal-size buckets,
ties split in input order) on the buyers sorted by customer_id; pareto sorts the
buyers by lifetime cents and takes a running sum. One plan, one sink.

``python -m segrule.bench.peers.polars_lazy DATA_DIR OUT [--as-of 2026-11-01]``
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

if __package__:
    from segrule.bench.peers._common import (
        AS_OF,
        OUTPUT_COLUMNS,
        RFM_SEGMENTS,
        main,
        parse_as_of,
        table_paths,
    )
else:  # run by file path: keep segrule (and its import of polars) out of the process
    from _common import AS_OF, OUTPUT_COLUMNS, RFM_SEGMENTS, main, parse_as_of, table_paths  # type: ignore[no-redef]

DAY = dt.timedelta(days=1)


def _first_match(cases: list[tuple[pl.Expr, str]], default: str) -> pl.Expr:
    """``CASE WHEN c1 THEN l1 WHEN c2 THEN l2 ... ELSE default END``."""
    expr: Any = pl.when(cases[0][0]).then(pl.lit(cases[0][1]))
    for cond, label in cases[1:]:
        expr = expr.when(cond).then(pl.lit(label))
    return expr.otherwise(pl.lit(default))


def build(data_dir: str | Path, as_of: str | dt.date = AS_OF) -> pl.LazyFrame:
    """The whole job as one lazy frame (nothing is collected)."""
    paths = table_paths(data_dir)
    t = parse_as_of(as_of)
    ts = pl.lit(t, dtype=pl.Datetime("us"))

    orders = (
        pl.scan_parquet(paths["orders"])
        .filter(
            (pl.col("status") == "paid")
            & (pl.col("order_ts") < t)
            & pl.col("customer_id").is_not_null()
        )
        .with_columns(cents=(pl.col("amount") * 100).round(0).cast(pl.Int64))
        .group_by("customer_id")
        .agg(
            orders_30d=(pl.col("order_ts") >= t - 30 * DAY).sum().cast(pl.Int64),
            orders_lifetime=pl.len().cast(pl.Int64),
            cents_365d=pl.col("cents").filter(pl.col("order_ts") >= t - 365 * DAY).sum(),
            cents_lifetime=pl.col("cents").sum(),
            first_order_ts=pl.col("order_ts").min(),
            last_order_ts=pl.col("order_ts").max(),
        )
    )
    campaigns = (
        pl.scan_parquet(paths["events"])
        .filter(
            (pl.col("event_type") == "campaign")
            & (pl.col("event_ts") >= t - 90 * DAY)
            & (pl.col("event_ts") < t)
            & pl.col("customer_id").is_not_null()
        )
        .group_by("customer_id")
        .agg(
            events_campaign_30d=(pl.col("event_ts") >= t - 30 * DAY).sum().cast(pl.Int64),
            events_campaign_90d=pl.len().cast(pl.Int64),
        )
    )
    feedback = (
        pl.scan_parquet(paths["feedback"])
        .filter((pl.col("ts") < t) & pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg(score_sum=pl.col("score").sum(), score_count=pl.col("score").count())
    )
    # The universe: the customers table, else every customer with an order before the
    # as-of (whatever its status). Ids keep their type: sorting is their natural order.
    if "customers" in paths:
        universe = pl.scan_parquet(paths["customers"])
    else:
        universe = pl.scan_parquet(paths["orders"]).filter(pl.col("order_ts") < t)
    customers = universe.select("customer_id").filter(pl.col("customer_id").is_not_null()).unique()

    zero = ["orders_30d", "orders_lifetime", "cents_365d", "cents_lifetime"]
    frame = (
        customers.join(orders, on="customer_id", how="left")
        .join(campaigns, on="customer_id", how="left")
        .join(feedback, on="customer_id", how="left")
        .with_columns(
            pl.col(zero).fill_null(0),
            pl.col("events_campaign_30d", "events_campaign_90d").fill_null(0),
        )
        .with_columns(
            recency_days=(ts - pl.col("last_order_ts")).dt.total_days().cast(pl.Int64),
            # pl.col / 100 is cents * 0.01 in polars: one ulp off for some cents values,
            # while every threshold below is decided on the exact integer cents.
            monetary_365d=pl.col("cents_365d") / 100,
            monetary_lifetime=pl.col("cents_lifetime") / 100,
            feedback_mean=pl.when(pl.col("score_count") > 0).then(
                pl.col("score_sum") / pl.col("score_count")
            ),
        )
    )
    frame = frame.with_columns(
        lifecycle=_first_match(
            [
                (pl.col("orders_lifetime") == 0, "prospect"),
                (pl.col("first_order_ts") >= ts - 90 * DAY, "new"),
                (pl.col("recency_days") > 90, "churned"),
            ],
            "mature",
        ),
        freq_tier=_first_match(
            [
                (pl.col("orders_lifetime") == 0, "none"),
                (pl.col("orders_30d") >= 3, "high"),
                (pl.col("orders_lifetime") == 1, "one_time"),
            ],
            "low",
        ),
        amount_tier=_first_match(
            [
                (pl.col("cents_365d") > 1_000_000, "high"),
                (pl.col("cents_365d") < 50_000, "low"),
            ],
            "mid",
        ),
        interaction=_first_match(
            [
                (pl.col("events_campaign_30d") >= 1, "active"),
                (pl.col("events_campaign_90d") >= 1, "occasional"),
            ],
            "none",
        ),
        satisfaction=_first_match(
            [
                (pl.col("feedback_mean").is_null(), "unknown"),
                (pl.col("feedback_mean") >= 90, "very_satisfied"),
                (pl.col("feedback_mean") >= 75, "satisfied"),
                (pl.col("feedback_mean") >= 60, "unsatisfied"),
            ],
            "very_unsatisfied",
        ),
    )
    points = {
        "freq_tier": {"high": 3, "low": 2, "one_time": 1, "none": 0},
        "amount_tier": {"high": 3, "mid": 2, "low": 1},
        "interaction": {"active": 3, "occasional": 2, "none": 1},
        "satisfaction": {
            "very_satisfied": 3,
            "satisfied": 2,
            "unknown": 2,
            "unsatisfied": 1,
            "very_unsatisfied": 0,
        },
    }
    frame = frame.with_columns(
        score=pl.sum_horizontal(
            pl.col(col).replace_strict(mapping, return_dtype=pl.Int64)
            for col, mapping in points.items()
        )
    ).with_columns(
        tier=_first_match(
            [
                (pl.col("lifecycle") == "new", "new"),
                (pl.col("lifecycle") == "prospect", "prospect"),
                (pl.col("score") >= 11, "super_vip"),
                (pl.col("score") >= 9, "vip"),
                (pl.col("score") >= 7, "advanced"),
            ],
            "normal",
        )
    )

    # Population-relative scores over the buyers. bin_ranks splits equal values in
    # input order, so sorting by customer_id first breaks ties by customer_id.
    buyers = (
        frame.filter(pl.col("orders_lifetime") > 0)
        .select("customer_id", "recency_days", "orders_lifetime", "cents_lifetime")
        .sort("customer_id")
        .with_columns(
            r_score=(-pl.col("recency_days")).bin_ranks(5, labels=False).cast(pl.Int64) + 1,
            f_score=pl.col("orders_lifetime").bin_ranks(5, labels=False).cast(pl.Int64) + 1,
            m_score=pl.col("cents_lifetime").bin_ranks(5, labels=False).cast(pl.Int64) + 1,
        )
        .sort(["cents_lifetime", "customer_id"], descending=[True, False])
        .with_columns(
            pareto_key=(pl.col("cents_lifetime").cum_sum() - pl.col("cents_lifetime")) * 5
            < pl.col("cents_lifetime").sum() * 4
        )
        .select("customer_id", "r_score", "f_score", "m_score", "pareto_key")
    )
    r, f = pl.col("r_score"), pl.col("f_score")
    segment = _first_match(
        [(r.is_null() | f.is_null(), "no_purchase")]
        + [(r.is_in(rs) & f.is_in(fs), label) for label, rs, fs in RFM_SEGMENTS],
        "no_purchase",
    )
    return (
        frame.join(buyers, on="customer_id", how="left")
        .with_columns(rfm_segment=segment, pareto_key=pl.col("pareto_key").fill_null(False))
        .sort("customer_id")
        .select(OUTPUT_COLUMNS)
    )


def run(data_dir: str | Path, out: str | Path, as_of: str | dt.date = AS_OF) -> Path:
    """Build the plan and sink it to ``out`` (Parquet, streaming engine); return ``out``."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    build(data_dir, as_of).sink_parquet(out, compression="zstd")
    return Path(out)


def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m segrule.bench.peers.polars_lazy DATA_DIR OUT [--as-of]``."""
    return main(run, "The benchmark job as a hand-written polars lazy query.", argv)


if __name__ == "__main__":
    sys.exit(cli())
