"""Fixtures of the report tests: realistic outputs of `segrule run`, and Chromium.

Chromium is Debian's ``chromium`` package, driven by the ``playwright`` package (never
``playwright install``, which downloads a browser of its own). When /usr/bin/chromium is
missing and the tests run as root with apt-get, it is installed; otherwise the tests
fail with how to install it: a report that was never opened in a browser is not tested.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segrule
from segrule.generate import generate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (
            [apt, "update", "-q"],
            [apt, "install", "-y", "-q", "--no-install-recommends", "chromium"],
        ):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    if not CHROMIUM.exists():
        pytest.fail(
            "the report tests open the report in headless Chromium: install Debian's "
            "package with `sudo apt-get install --no-install-recommends chromium` "
            "(/usr/bin/chromium)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (Debian's) driven by playwright, for the whole session."""
    path = ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated data (3,000 orders) scored with taobao-5-tier, rfm and pareto-80-20 at
    two as-of dates: ``new`` (2026-11-01), ``old`` (2026-08-01), and ``data``."""
    root = tmp_path_factory.mktemp("report")
    data = root / "data"
    generate(data, orders=3000, seed=3, end=dt.date(2026, 11, 1))
    engine = segrule.Engine(autoload=False)
    new = segrule.run(PRESETS, root / "new.parquet", as_of="2026-11-01", data=data, engine=engine)
    old = segrule.run(PRESETS, root / "old.parquet", as_of="2026-08-01", data=data, engine=engine)
    return {"new": new.output, "old": old.output, "data": data}
