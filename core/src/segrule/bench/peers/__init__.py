"""Peers of segrule in the side-by-side benchmark, each the same job written by hand.

Every peer module has ``run(data_dir, out, as_of="2026-11-01", ...)`` that reads
``orders``, ``customers``, ``events`` and ``feedback`` Parquet files from ``data_dir``
and writes ``out`` (Parquet), and is runnable as
``python -m segrule.bench.peers.<name> DATA_DIR OUT [--as-of ...]`` so that it can be
timed in a fresh process. The benchmark runs them by file path instead
(``python .../peers/duckdb_sql.py DATA_DIR OUT``): then they import only the standard
library, their own engine and :mod:`._common`, not segrule (whose import, polars
included, takes about 0.2 s that a DuckDB or pandas user would not pay).

The job's definitions, as segrule computes them (``core/src/segrule/engine/compiler.py``,
``builtin/dimensions.py``, ``builtin/strategies.py`` and the three presets):

- only rows before the as-of instant count (``ts < as_of``, naive wall time);
- order dimensions count paid orders (``status = 'paid'``); money is summed in integer
  cents (``round(amount * 100)``, ties to even) and written as cents / 100;
- the universe is the customers table, or without ``customers.parquet`` every customer
  with an order before the as-of, whatever its status: one row per customer, sorted by
  customer_id;
- customer ids keep their type: text or integer ids in, the same out, sorted and ties
  broken in their natural order (numeric for integers);
- R/F/M scores are SQL ``NTILE(5)`` over the buyers (``orders_lifetime > 0``) ordered by
  (value, customer_id), recency descending; pareto_key is true for a buyer when the
  lifetime cents of the buyers before it (monetary descending, then customer_id) are
  less than 80 % of all buyers' cents.
"""

from __future__ import annotations

from segrule.bench.peers._common import (
    AS_OF,
    INSTALL_HINT,
    OUTPUT_COLUMNS,
    RFM_SEGMENTS,
    TABLES,
    PeerError,
    main,
    parse_as_of,
    require,
    sql_string,
    table_paths,
)

__all__ = [
    "AS_OF",
    "INSTALL_HINT",
    "OUTPUT_COLUMNS",
    "RFM_SEGMENTS",
    "TABLES",
    "PeerError",
    "main",
    "parse_as_of",
    "require",
    "sql_string",
    "table_paths",
]
