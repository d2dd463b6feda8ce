"""Benchmark data sets: generated once per (orders, seed) and cached."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

ProgressFn = Callable[[str, int, int], None]


def cache_root(cache_dir: Path | None = None) -> Path:
    """``cache_dir``, else ``$SEGRULE_CACHE_DIR``, else ``$XDG_CACHE_HOME/segrule``, else
    ``~/.cache/segrule`` (the same folder `segrule demo` uses)."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("SEGRULE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "segrule"


def bench_data_dir(orders: int, *, seed: int = 1, cache_dir: Path | None = None) -> Path:
    """Where the data set for ``orders`` orders and ``seed`` lives (it may not exist yet)."""
    return cache_root(cache_dir) / "bench" / f"orders-{orders}-seed-{seed}"


def bench_data(
    orders: int,
    *,
    seed: int = 1,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> Path:
    """The folder of orders, customers, events and feedback Parquet files for a size.

    Returns ``<cache>/bench/orders-{orders}-seed-{seed}`` (see :func:`cache_root`),
    generating it with :func:`segrule.generate.generate` (``orders // 10`` customers)
    when one of its tables is not there yet. Generation writes each file atomically,
    but one table after the other (orders first): an interrupted run can leave orders
    without the rest, so every table is checked, not only ``orders.parquet``.
    ``progress`` is passed on to the generator: ``progress(table, rows_done, rows_total)``.
    """
    from segrule.generate import DEFAULT_TABLES, generate

    out = bench_data_dir(orders, seed=seed, cache_dir=cache_dir)
    if not all((out / f"{table}.parquet").exists() for table in DEFAULT_TABLES):
        generate(out, orders=orders, seed=seed, progress=progress)
    return out
