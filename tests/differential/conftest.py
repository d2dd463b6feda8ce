"""Differential tests: the engine against the pure-Python reference (tests/reference.py).

The hypothesis budget is the settings profile ``segrule-differential``: 60 examples per
test by default (the whole folder runs in well under a minute on 2 cores). For a long
run set ``SEGRULE_DIFF_EXAMPLES``, e.g.::

    SEGRULE_DIFF_EXAMPLES=10000 uv run pytest tests/differential -q

The profile is applied with ``@DIFF_SETTINGS`` on each test (not loaded globally), so
it does not change hypothesis settings of other test folders.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# tests/ holds reference.py; tests/differential holds diff_data.py.
for folder in (Path(__file__).resolve().parent.parent, Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

settings.register_profile(
    "segrule-differential",
    max_examples=int(os.environ.get("SEGRULE_DIFF_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    print_blob=True,
)
