"""The floor: the least any engine must do for the job, in polars and in DuckDB.

Read the order columns the job needs (customer_id, order_ts, amount, status), keep the
paid orders before the as-of, and compute one group-by per customer: the number of
orders, the sum of amounts and the last order time, written to Parquet. Every engine
doing the whole job reads at least this and groups at least once; the events,
feedback and customers tables, the joins, the segments and the ranks come on top.

``python -m segrule.bench.peers.floor DATA_DIR OUT [--as-of 2026-11-01]
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

FLOOR_SQL = """
COPY (
    SELECT customer_id, count(*) AS orders, sum(amount) AS amount, max(order_ts) AS last_order_ts
    FROM read_parquet({orders})
    WHERE status = 'paid' AND order_ts < {as_of}
    GROUP BY customer_id
) TO {out} (FORMAT parquet, COMPRESSION zstd)
"""


def run_polars(data_dir: str | Path, out: str | Path, as_of: str | dt.date = AS_OF) -> Path:
    """The floor as a polars lazy query sunk to ``out``; return ``out``."""
    import polars as pl  # here, so that the DuckDB floor does not pay for importing polars

    t = parse_as_of(as_of)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    (
        pl.scan_parquet(table_paths(data_dir)["orders"])
        .select("customer_id", "order_ts", "amount", "status")
        .filter((pl.col("status") == "paid") & (pl.col("order_ts") < t))
        .group_by("customer_id")
        .agg(
            orders=pl.len(),
            amount=pl.col("amount").sum(),
            last_order_ts=pl.col("order_ts").max(),
        )
        .sink_parquet(out, compression="zstd")
    )
    return Path(out)


def run_duckdb(
    data_dir: str | Path,
    out: str | Path,
    as_of: str | dt.date = AS_OF,
    threads: int | None = None,
) -> Path:
    """The floor as one DuckDB statement writing ``out``; return ``out``."""
    duckdb = require("duckdb")
    stamp = parse_as_of(as_of).isoformat(sep=" ", timespec="microseconds")
    sql = FLOOR_SQL.format(
        orders=sql_string(table_paths(data_dir)["orders"]),
        as_of=f"TIMESTAMP '{stamp}'",
        out=sql_string(out),
    )
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
    """``python -m segrule.bench.peers.floor DATA_DIR OUT [--as-of] [--engine] [--threads]``."""
    parser = argparse.ArgumentParser(description="The least any engine must do for the job.")
    parser.add_argument("data_dir", type=Path, help="folder with orders.parquet")
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
