from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bench_data() -> Path:
    from segrule.bench.data import bench_data as cached_bench_data

    return cached_bench_data(int(os.environ.get("SEGRULE_BENCH_ORDERS", "200000")))
