"""segrule: classify and tier customers by rules, in one lazy Polars plan.

>>> import segrule
>>> df = segrule.score("taobao-5-tier", data="data/", as_of="2026-11-01")

The API's names are loaded on first use: ``import segrule`` (and importing one of its
light modules, as the CLI does before it parses its arguments) does not import polars.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from segrule.errors import (
    DataError,
    DataQualityError,
    PluginConflictError,
    PluginError,
    RuleSetError,
    SegruleError,
    UsageError,
)
from segrule.version import __version__

if TYPE_CHECKING:
    from segrule.api import (
        BucketResult,
        RollupResult,
        RunResult,
        bucket,
        collect,
        compile,
        load_ruleset,
        quality_report,
        rollup,
        rollups,
        run,
        score,
        sink,
        summarize,
    )
    from segrule.plugins.hookspecs import hookimpl
    from segrule.plugins.registry import Engine, Registry

#: Public name -> the module that defines it (imported on first use).
_LAZY = {
    **dict.fromkeys(
        [
            "BucketResult",
            "RollupResult",
            "RunResult",
            "bucket",
            "collect",
            "compile",
            "load_ruleset",
            "quality_report",
            "rollup",
            "rollups",
            "run",
            "score",
            "sink",
            "summarize",
        ],
        "segrule.api",
    ),
    "hookimpl": "segrule.plugins.hookspecs",
    "Engine": "segrule.plugins.registry",
    "Registry": "segrule.plugins.registry",
}

__all__ = [
    "BucketResult",
    "DataError",
    "DataQualityError",
    "Engine",
    "PluginConflictError",
    "PluginError",
    "Registry",
    "RollupResult",
    "RuleSetError",
    "RunResult",
    "SegruleError",
    "UsageError",
    "__version__",
    "bucket",
    "collect",
    "compile",
    "hookimpl",
    "load_ruleset",
    "quality_report",
    "rollup",
    "rollups",
    "run",
    "score",
    "sink",
    "summarize",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'segrule' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
