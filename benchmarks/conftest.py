from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bench_data() -> Path:
    from segrule.generate import generate

    orders = int(os.environ.get("SEGRULE_BENCH_ORDERS", "200000"))
    base = Path(os.environ.get("SEGRULE_CACHE_DIR", Path.home() / ".cache" / "segrule"))
    out = base / "bench" / f"orders-{orders}-seed-1"
    if not (out / "orders.parquet").exists():
        generate(out, orders=orders, seed=1)
    return out
