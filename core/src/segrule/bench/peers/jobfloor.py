"""The job floor: the job's reads, group-bys, joins, sort and write, without its logic.

Read every column the job (taobao-5-tier rfm pareto-80-20) reads, from all four
tables: orders (customer_id, order_ts, amount, status), customers (customer_id),
events (customer_id, event_ts, event_type) and feedback (customer_id, ts, score).
Keep the rows the job keeps (paid orders and feedback before the as-of, campaign
events of the 90 days before it), compute one group-by per table with simple
aggregates (count, sum, max), left-join them onto the universe, sort by customer_id
and write Parquet. What the whole job takes above this is its own logic: windows,
segments, scores, ranks, the wider output (and for segrule its data-quality checks,
which read order_id too).

The universe is the customers table (its ids as they are: the job's duplicate
handling is logic); without ``customers.parquet`` it is every customer with an order
before the as-of, whatever its status, taken from the orders group-by itself (which
then reads every order before the as-of and counts the paid ones conditionally), as
segrule does.

Output columns: customer_id, orders, amount, last_order_ts (paid orders),
campaign_events, last_event_ts, feedback, score_sum; null where a customer has no
rows. Not comparable with the job's output; the polars and DuckDB versions agree.

``python -m segrule.bench.peers.jobfloor DATA_DIR OUT [--as-of 2026-11-01]
[--engine polars|duckdb] [--threads N]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__:
    from segrule.bench.peers._common import (
        AS_OF,
        PeerError,
        parse_as_of,
        require,
        sql_string,
        table_paths,
    )
else:  # run by file path: keep segrule (and its import of polars) out of the process
    from _common import AS_OF, PeerError, parse_as_of, require, sql_string, table_paths  # type: ignore[no-redef]

OUTPUT_COLUMNS = (
    "customer_id",
    "orders",
    "amount",
    "last_order_ts",
    "campaign_events",
    "last_event_ts",
    "feedback",
    "score_sum",
)
CAMPAIGN_DAYS = 90

# {orders_cte} and {universe} are filled by render_sql: with a customers table, the
# orders group-by reads the paid rows only and is joined onto that table; without one,
# it reads every order before the as-of and is the universe itself. Sums of no rows are
# 0 as in polars.
JOBFLOOR_SQL = """
COPY (
    WITH
    order_stats AS ({orders_cte}),
    event_stats AS (
        SELECT customer_id, count(*) AS campaign_events, max(event_ts) AS last_event_ts
        FROM read_parquet({events})
        WHERE event_type = 'campaign'
          AND event_ts >= {as_of} - INTERVAL {campaign_days} DAY
          AND event_ts < {as_of}
        GROUP BY customer_id
    ),
    feedback_stats AS (
        SELECT customer_id, count(score) AS feedback,
               CAST(coalesce(sum(score), 0) AS BIGINT) AS score_sum
        FROM read_parquet({feedback})
        WHERE ts < {as_of}
        GROUP BY customer_id
    )
    SELECT
        customer_id, o.orders, o.amount, o.last_order_ts,
        e.campaign_events, e.last_event_ts, f.feedback, f.score_sum
    FROM {universe}
    LEFT JOIN event_stats AS e USING (customer_id)
    LEFT JOIN feedback_stats AS f USING (customer_id)
    ORDER BY customer_id
) TO {out} (FORMAT parquet, COMPRESSION zstd)
"""
PAID_ORDERS_CTE = """
        SELECT customer_id, count(*) AS orders, sum(amount) AS amount,
               max(order_ts) AS last_order_ts
        FROM read_parquet({orders})
        WHERE status = 'paid' AND order_ts < {as_of}
        GROUP BY customer_id"""
ALL_ORDERS_CTE = """
        SELECT customer_id,
               count(*) FILTER (WHERE status = 'paid') AS orders,
               coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0) AS amount,
               max(order_ts) FILTER (WHERE status = 'paid') AS last_order_ts
        FROM read_parquet({orders})
        WHERE order_ts < {as_of} AND customer_id IS NOT NULL
        GROUP BY customer_id"""


def render_sql(data_dir: str | Path, out: str | Path, as_of: str | dt.date = AS_OF) -> str:
    """The DuckDB statement of the job floor (paths quoted, the as-of parsed first)."""
    paths = table_paths(data_dir)
    stamp = parse_as_of(as_of).isoformat(sep=" ", timespec="microseconds")
    as_of_sql = f"TIMESTAMP '{stamp}'"
    orders = sql_string(paths["orders"])
    if "customers" in paths:
        orders_cte = PAID_ORDERS_CTE.format(orders=orders, as_of=as_of_sql)
        customers = sql_string(paths["customers"])
        universe = (
            f"(SELECT customer_id FROM read_parquet({customers})) AS u\n"
            "    LEFT JOIN order_stats AS o USING (customer_id)"
        )
    else:
        orders_cte = ALL_ORDERS_CTE.format(orders=orders, as_of=as_of_sql)
        universe = "order_stats AS o"
    return JOBFLOOR_SQL.format(
        orders_cte=orders_cte,
        universe=universe,
        events=sql_string(paths["events"]),
        feedback=sql_string(paths["feedback"]),
        as_of=as_of_sql,
        campaign_days=CAMPAIGN_DAYS,
        out=sql_string(out),
    )


def run_duckdb(
    data_dir: str | Path,
    out: str | Path,
    as_of: str | dt.date = AS_OF,
    threads: int | None = None,
) -> Path:
    """The job floor as one DuckDB statement writing ``out``; return ``out``."""
    duckdb = require("duckdb")
    sql = render_sql(data_dir, out, as_of)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.execute(sql)
    finally:
        con.close()
    return Path(out)


def run_polars(data_dir: str | Path, out: str | Path, as_of: str | dt.date = AS_OF) -> Path:
    """The job floor as one polars lazy query sunk to ``out``; return ``out``."""
    import polars as pl  # here, so that the DuckDB version does not pay for importing polars

    paths = table_paths(data_dir)
    t = parse_as_of(as_of)
    orders = pl.scan_parquet(paths["orders"]).select("customer_id", "order_ts", "amount", "status")
    if "customers" in paths:
        order_stats = (
            orders.filter((pl.col("status") == "paid") & (pl.col("order_ts") < t))
            .group_by("customer_id")
            .agg(
                orders=pl.len(),
                amount=pl.col("amount").sum(),
                last_order_ts=pl.col("order_ts").max(),
            )
        )
        customers = pl.scan_parquet(paths["customers"]).select("customer_id")
        frame = customers.join(order_stats, on="customer_id", how="left")
    else:
        paid = pl.col("status") == "paid"
        order_stats = (
            orders.filter((pl.col("order_ts") < t) & pl.col("customer_id").is_not_null())
            .group_by("customer_id")
            .agg(
                orders=paid.sum(),
                amount=pl.col("amount").filter(paid).sum(),
                last_order_ts=pl.col("order_ts").filter(paid).max(),
            )
        )
        frame = order_stats  # the universe itself
    event_stats = (
        pl.scan_parquet(paths["events"])
        .select("customer_id", "event_ts", "event_type")
        .filter(
            (pl.col("event_type") == "campaign")
            & (pl.col("event_ts") >= t - dt.timedelta(days=CAMPAIGN_DAYS))
            & (pl.col("event_ts") < t)
        )
        .group_by("customer_id")
        .agg(campaign_events=pl.len(), last_event_ts=pl.col("event_ts").max())
    )
    feedback_stats = (
        pl.scan_parquet(paths["feedback"])
        .select("customer_id", "ts", "score")
        .filter(pl.col("ts") < t)
        .group_by("customer_id")
        .agg(feedback=pl.col("score").count(), score_sum=pl.col("score").cast(pl.Int64).sum())
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    (
        frame.join(event_stats, on="customer_id", how="left")
        .join(feedback_stats, on="customer_id", how="left")
        .sort("customer_id")
        .select(OUTPUT_COLUMNS)
        .sink_parquet(out, compression="zstd")
    )
    return Path(out)


def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m segrule.bench.peers.jobfloor DATA_DIR OUT [--as-of] [--engine] [--threads]``."""
    parser = argparse.ArgumentParser(
        description="The job floor: the job's reads, group-bys, joins, sort and write."
    )
    parser.add_argument(
        "data_dir", type=Path, help="folder with the Parquet tables (customers optional)"
    )
    parser.add_argument("out", type=Path, help="output Parquet file")
    parser.add_argument("--as-of", default=AS_OF, help=f"as-of date or time (default {AS_OF})")
    parser.add_argument("--engine", choices=("polars", "duckdb"), default="polars")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    args = parser.parse_args(argv)
    try:
        if args.engine == "duckdb":
            run_duckdb(args.data_dir, args.out, as_of=args.as_of, threads=args.threads)
        else:
            run_polars(args.data_dir, args.out, as_of=args.as_of)
    except PeerError as exc:
        parser.exit(1, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
