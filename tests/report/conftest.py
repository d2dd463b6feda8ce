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
from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="session")
def hostile_scored(scored: dict[str, Path], hostile_rules: Any) -> dict[str, Path]:
    """The hostile rule set (tests/conftest.py) scored on the same data at the same two
    as-of dates: ``new`` and ``old``."""
    root = hostile_rules.path.parent
    engine = segrule.Engine(autoload=False)
    out: dict[str, Path] = {}
    for key, as_of in (("new", "2026-11-01"), ("old", "2026-08-01")):
        run = segrule.run(
            hostile_rules.path,
            root / f"{key}.parquet",
            as_of=as_of,
            data=scored["data"],
            engine=engine,
        )
        out[key] = run.output
    return out


@pytest.fixture(scope="session")
def hostile_texts(hostile_rules: Any) -> Callable[[str], list[str]]:
    """``hostile_texts(lang)``: the hostile strings a report in ``lang`` shows as they are
    (segment names, the title, label keys, both display names, actions), NUL and the
    other C0 controls as U+FFFD, as the page holds them."""
    import re

    import yaml

    rules = yaml.safe_load(hostile_rules.path.read_text(encoding="utf-8"))
    first = rules["segments"][hostile_rules.segments[0]]

    def texts(lang: str) -> list[str]:
        found = [*hostile_rules.segments, first[lang]]
        for key, label in first["labels"].items():
            found += [key, label["zh"], label["en"], *label["actions"]]
        return [re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "\ufffd", t) for t in found]

    return texts
