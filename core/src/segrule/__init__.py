"""segrule: classify and tier customers by rules, in one lazy Polars plan.

>>> import segrule
>>> df = segrule.score("taobao-5-tier", data="data/", as_of="2026-11-01")
"""

from segrule.api import RunResult, collect, compile, load_ruleset, run, score, sink, summarize
from segrule.errors import (
    DataError,
    DataQualityError,
    PluginConflictError,
    PluginError,
    RuleSetError,
    SegruleError,
    UsageError,
)
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Engine, Registry
from segrule.version import __version__

__all__ = [
    "DataError",
    "DataQualityError",
    "Engine",
    "PluginConflictError",
    "PluginError",
    "Registry",
    "RuleSetError",
    "RunResult",
    "SegruleError",
    "UsageError",
    "__version__",
    "collect",
    "compile",
    "hookimpl",
    "load_ruleset",
    "run",
    "score",
    "sink",
    "summarize",
]
