"""The job as one DuckDB SQL statement: CTEs over the Parquet files, COPY ... TO Parquet.

Written the way a SQL user would write it by hand: filters pushed into each scan
(paid orders only, campaign events of the last 90 days only), one GROUP BY per table,
LEFT JOINs onto the customers, CASE ladders for the segments, ``NTILE(5)`` and a
running ``SUM`` window for the population-relative scores. Money is summed in
integer cents, so every threshold and the pareto test are exact.

``python -m segrule.bench.peers.duckdb_sql DATA_DIR OUT [--as-of 2026-11-01] [--threads N]``
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__:
    from segrule.bench.peers._common import (
        AS_OF,
        main,
        parse_as_of,
        require,
        sql_string,
        table_paths,
    )
else:  # run by file path: keep segrule (and its import of polars) out of the process
    from _common import AS_OF, main, parse_as_of, require, sql_string, table_paths  # type: ignore[no-redef]

# Placeholders: {orders}, {events}, {feedback} and {out} are quoted SQL string literals,
# {as_of} a TIMESTAMP literal and {universe} one of the two queries below; see
# :func:`render_sql`. Customer ids keep their type (text or integer), so ORDER BY
# customer_id is their natural order.
SQL = """
COPY (
    WITH
    paid_orders AS (
        SELECT
            customer_id,
            order_ts,
            -- integer cents, ties to even like the engine: sums and thresholds are exact
            CAST(round_even(amount * 100, 0) AS BIGINT) AS amount_cents
        FROM read_parquet({orders})
        WHERE status = 'paid'
          AND order_ts < {as_of}
          AND customer_id IS NOT NULL
    ),
    order_stats AS (
        SELECT
            customer_id,
            count(*) FILTER (WHERE order_ts >= {as_of} - INTERVAL 30 DAY) AS orders_30d,
            count(*) AS orders_lifetime,
            sum(amount_cents) FILTER (WHERE order_ts >= {as_of} - INTERVAL 365 DAY) AS cents_365d,
            sum(amount_cents) AS cents_lifetime,
            min(order_ts) AS first_order_ts,
            max(order_ts) AS last_order_ts
        FROM paid_orders
        GROUP BY customer_id
    ),
    campaign_stats AS (
        SELECT
            customer_id,
            count(*) FILTER (WHERE event_ts >= {as_of} - INTERVAL 30 DAY) AS events_campaign_30d,
            count(*) AS events_campaign_90d
        FROM read_parquet({events})
        WHERE event_type = 'campaign'
          AND event_ts >= {as_of} - INTERVAL 90 DAY
          AND event_ts < {as_of}
          AND customer_id IS NOT NULL
        GROUP BY 1
    ),
    feedback_stats AS (
        SELECT
            customer_id,
            sum(score) AS score_sum,
            count(score) AS score_count
        FROM read_parquet({feedback})
        WHERE ts < {as_of}
          AND customer_id IS NOT NULL
        GROUP BY 1
    ),
    customers AS (
        {universe}
    ),
    per_customer AS (
        SELECT
            c.customer_id,
            -- whole days, rounded down
            (epoch_us({as_of}) - epoch_us(o.last_order_ts)) // 86400000000 AS recency_days,
            coalesce(o.orders_30d, 0) AS orders_30d,
            coalesce(o.orders_lifetime, 0) AS orders_lifetime,
            coalesce(o.cents_365d, 0) AS cents_365d,
            coalesce(o.cents_lifetime, 0) AS cents_lifetime,
            coalesce(o.cents_365d, 0) / 100 AS monetary_365d,
            coalesce(o.cents_lifetime, 0) / 100 AS monetary_lifetime,
            o.first_order_ts,
            coalesce(e.events_campaign_30d, 0) AS events_campaign_30d,
            coalesce(e.events_campaign_90d, 0) AS events_campaign_90d,
            CASE WHEN f.score_count > 0 THEN f.score_sum / f.score_count END AS feedback_mean
        FROM customers AS c
        LEFT JOIN order_stats AS o USING (customer_id)
        LEFT JOIN campaign_stats AS e USING (customer_id)
        LEFT JOIN feedback_stats AS f USING (customer_id)
    ),
    segmented AS (
        SELECT
            *,
            CASE
                WHEN orders_lifetime = 0 THEN 'prospect'
                WHEN first_order_ts >= {as_of} - INTERVAL 90 DAY THEN 'new'
                WHEN recency_days > 90 THEN 'churned'
                ELSE 'mature'
            END AS lifecycle,
            CASE
                WHEN orders_lifetime = 0 THEN 'none'
                WHEN orders_30d >= 3 THEN 'high'
                WHEN orders_lifetime = 1 THEN 'one_time'
                ELSE 'low'
            END AS freq_tier,
            CASE
                WHEN monetary_365d > 10000 THEN 'high'
                WHEN monetary_365d < 500 THEN 'low'
                ELSE 'mid'
            END AS amount_tier,
            CASE
                WHEN events_campaign_30d >= 1 THEN 'active'
                WHEN events_campaign_90d >= 1 THEN 'occasional'
                ELSE 'none'
            END AS interaction,
            CASE
                WHEN feedback_mean IS NULL THEN 'unknown'
                WHEN feedback_mean >= 90 THEN 'very_satisfied'
                WHEN feedback_mean >= 75 THEN 'satisfied'
                WHEN feedback_mean >= 60 THEN 'unsatisfied'
                ELSE 'very_unsatisfied'
            END AS satisfaction
        FROM per_customer
    ),
    scored AS (
        SELECT
            *,
            CASE freq_tier WHEN 'high' THEN 3 WHEN 'low' THEN 2 WHEN 'one_time' THEN 1 ELSE 0 END
            + CASE amount_tier WHEN 'high' THEN 3 WHEN 'mid' THEN 2 ELSE 1 END
            + CASE interaction WHEN 'active' THEN 3 WHEN 'occasional' THEN 2 ELSE 1 END
            + CASE satisfaction
                WHEN 'very_satisfied' THEN 3
                WHEN 'satisfied' THEN 2
                WHEN 'unknown' THEN 2
                WHEN 'unsatisfied' THEN 1
                ELSE 0
              END AS score,
            orders_lifetime > 0 AS is_buyer
        FROM segmented
    ),
    ranked AS (
        SELECT
            *,
            CASE WHEN is_buyer THEN NTILE(5) OVER (
                PARTITION BY is_buyer ORDER BY recency_days DESC, customer_id
            ) END AS r_score,
            CASE WHEN is_buyer THEN NTILE(5) OVER (
                PARTITION BY is_buyer ORDER BY orders_lifetime, customer_id
            ) END AS f_score,
            CASE WHEN is_buyer THEN NTILE(5) OVER (
                PARTITION BY is_buyer ORDER BY cents_lifetime, customer_id
            ) END AS m_score,
            -- key while the buyers before it hold less than 80 %: before * 5 < total * 4
            is_buyer AND coalesce(sum(cents_lifetime) OVER (
                PARTITION BY is_buyer ORDER BY cents_lifetime DESC, customer_id
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ), 0) * 5 < sum(cents_lifetime) OVER (PARTITION BY is_buyer) * 4 AS pareto_key
        FROM scored
    )
    SELECT
        customer_id,
        recency_days,
        orders_30d,
        orders_lifetime,
        monetary_365d,
        first_order_ts,
        lifecycle,
        freq_tier,
        amount_tier,
        interaction,
        feedback_mean,
        satisfaction,
        score,
        CASE
            WHEN lifecycle = 'new' THEN 'new'
            WHEN lifecycle = 'prospect' THEN 'prospect'
            WHEN score >= 11 THEN 'super_vip'
            WHEN score >= 9 THEN 'vip'
            WHEN score >= 7 THEN 'advanced'
            ELSE 'normal'
        END AS tier,
        monetary_lifetime,
        r_score,
        f_score,
        m_score,
        CASE
            WHEN r_score IS NULL OR f_score IS NULL THEN 'no_purchase'
            WHEN r_score = 5 AND f_score IN (4, 5) THEN 'champions'
            WHEN r_score IN (3, 4) AND f_score IN (4, 5) THEN 'loyal'
            WHEN r_score IN (4, 5) AND f_score IN (2, 3) THEN 'potential_loyalists'
            WHEN r_score = 5 AND f_score = 1 THEN 'new_customers'
            WHEN r_score = 4 AND f_score = 1 THEN 'promising'
            WHEN r_score = 3 AND f_score = 3 THEN 'need_attention'
            WHEN r_score = 3 AND f_score IN (1, 2) THEN 'about_to_sleep'
            WHEN r_score IN (1, 2) AND f_score = 5 THEN 'cant_lose'
            WHEN r_score IN (1, 2) AND f_score IN (3, 4) THEN 'at_risk'
            WHEN r_score IN (1, 2) AND f_score IN (1, 2) THEN 'hibernating'
            ELSE 'no_purchase'
        END AS rfm_segment,
        coalesce(pareto_key, false) AS pareto_key
    FROM ranked
    ORDER BY customer_id
) TO {out} (FORMAT parquet, COMPRESSION zstd)
"""


# The universe: the customers table when there is one, else every customer with an order
# before the as-of, whatever its status.
UNIVERSE_CUSTOMERS = """SELECT DISTINCT customer_id
        FROM read_parquet({customers})
        WHERE customer_id IS NOT NULL"""
UNIVERSE_ORDERS = """SELECT DISTINCT customer_id
        FROM read_parquet({orders})
        WHERE order_ts < {as_of}
          AND customer_id IS NOT NULL"""


def render_sql(data_dir: str | Path, out: str | Path, as_of: str | dt.date = AS_OF) -> str:
    """:data:`SQL` with the input files, the output file and the as-of filled in.

    Paths become quoted string literals; the as-of is parsed as a date or time first
    and written back as a ``TIMESTAMP`` literal, so no input text reaches the SQL
    unquoted. (DuckDB still reads ``*``, ``?`` and ``[`` in a path as a glob.) Without
    ``customers.parquet`` the universe is the customers of orders before the as-of.
    """
    stamp = parse_as_of(as_of).isoformat(sep=" ", timespec="microseconds")
    paths = table_paths(data_dir)
    as_of_sql = f"TIMESTAMP '{stamp}'"
    if "customers" in paths:
        universe = UNIVERSE_CUSTOMERS.format(customers=sql_string(paths["customers"]))
    else:
        universe = UNIVERSE_ORDERS.format(orders=sql_string(paths["orders"]), as_of=as_of_sql)
    return SQL.format(
        universe=universe,
        orders=sql_string(paths["orders"]),
        events=sql_string(paths["events"]),
        feedback=sql_string(paths["feedback"]),
        out=sql_string(out),
        as_of=as_of_sql,
    )


def run(
    data_dir: str | Path,
    out: str | Path,
    as_of: str | dt.date = AS_OF,
    threads: int | None = None,
) -> Path:
    """Run the statement in an in-memory DuckDB and write ``out``; return ``out``.

    ``threads``: DuckDB's worker threads (default: DuckDB's own, one per core).
    """
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


def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m segrule.bench.peers.duckdb_sql DATA_DIR OUT [--as-of] [--threads]``."""
    return main(run, "The benchmark job as one DuckDB SQL statement.", argv, threads=True)


if __name__ == "__main__":
    sys.exit(cli())
