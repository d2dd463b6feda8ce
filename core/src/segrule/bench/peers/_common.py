"""What the peers share; standard library only, so a peer run by file path stays free
of segrule and polars (see :mod:`segrule.bench.peers`)."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

AS_OF = "2026-11-01"
INSTALL_HINT = "pip install 'segrule[bench]'"
TABLES = ("orders", "customers", "events", "feedback")
OPTIONAL_TABLES = ("customers",)  # without it, the universe is the customers of orders

# The order of segrule's output for taobao-5-tier + rfm + pareto-80-20.
OUTPUT_COLUMNS = (
    "customer_id",
    "recency_days",
    "orders_30d",
    "orders_lifetime",
    "monetary_365d",
    "first_order_ts",
    "lifecycle",
    "freq_tier",
    "amount_tier",
    "interaction",
    "feedback_mean",
    "satisfaction",
    "score",
    "tier",
    "monetary_lifetime",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "pareto_key",
)

# RFM segments, first match wins: (label, R scores, F scores).
RFM_SEGMENTS: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("champions", (5,), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential_loyalists", (4, 5), (2, 3)),
    ("new_customers", (5,), (1,)),
    ("promising", (4,), (1,)),
    ("need_attention", (3,), (3,)),
    ("about_to_sleep", (3,), (1, 2)),
    ("cant_lose", (1, 2), (5,)),
    ("at_risk", (1, 2), (3, 4)),
    ("hibernating", (1, 2), (1, 2)),
)


class PeerError(Exception):
    """A peer cannot run: a missing package or input file, or a bad as-of."""


def require(module: str) -> ModuleType:
    """Import an optional dependency of the benchmark, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise PeerError(
            f"this benchmark peer needs the Python package '{module}': {INSTALL_HINT}"
        ) from None


def parse_as_of(value: str | dt.date | dt.datetime) -> dt.datetime:
    """The as-of instant as a naive datetime (a date means its midnight)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    try:
        parsed = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise PeerError(f"as-of '{value}' is not an ISO date or time, e.g. 2026-11-01") from None
    if parsed.tzinfo is not None:
        raise PeerError(f"as-of '{value}': give a naive wall time (the data's are UTC)")
    return parsed


def table_paths(data_dir: str | Path) -> dict[str, Path]:
    """``{table: data_dir/<table>.parquet}`` for the four tables. orders, events and
    feedback must exist; customers may be missing, and is then left out of the result:
    the universe is the customers of orders (see :mod:`segrule.bench.peers`)."""
    base = Path(data_dir)
    paths = {t: base / f"{t}.parquet" for t in TABLES}
    missing = [str(p) for t, p in paths.items() if t not in OPTIONAL_TABLES and not p.is_file()]
    if missing:
        raise PeerError(f"missing input file(s): {', '.join(missing)}")
    return {t: p for t, p in paths.items() if p.is_file()}


def sql_string(value: str | Path) -> str:
    """A SQL string literal: single quotes doubled, nothing else interpreted."""
    return "'" + str(value).replace("'", "''") + "'"


def main(
    run: Callable[..., Any],
    description: str,
    argv: Sequence[str] | None = None,
    *,
    threads: bool = False,
) -> int:
    """The command line of a peer module: ``DATA_DIR OUT [--as-of ...] [--threads N]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "data_dir", type=Path, help="folder with the Parquet tables (customers optional)"
    )
    parser.add_argument("out", type=Path, help="output Parquet file")
    parser.add_argument("--as-of", default=AS_OF, help=f"as-of date or time (default {AS_OF})")
    if threads:
        parser.add_argument("--threads", type=int, default=None, help="engine threads")
    args = parser.parse_args(argv)
    kwargs: dict[str, Any] = {"as_of": args.as_of}
    if threads:
        kwargs["threads"] = args.threads
    try:
        run(args.data_dir, args.out, **kwargs)
    except PeerError as exc:
        parser.exit(1, f"error: {exc}\n")
    return 0
