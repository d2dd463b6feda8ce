"""Loading rule sets and compiling them into a plan: the engine's entry points for the
API and the features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from segrule.engine.compiler import Plan, compile_plan
from segrule.errors import UsageError
from segrule.io.frames import TableLike, table_inputs
from segrule.model.ruleset import RuleSet, compose
from segrule.model.ruleset import load_ruleset as _load_one
from segrule.plugins.registry import Registry


def load_ruleset(*refs: str | Path, engine: Registry | None = None) -> RuleSet:
    """Load one or more rule sets (files or preset names) and compose them into one."""
    if not refs:
        raise UsageError("give at least one rule set (a YAML file or a preset name)")
    engine = engine or Registry()
    return compose([_load_one(r, engine) for r in refs])


def as_ruleset(ruleset: RuleSet | str | Path | Sequence[str | Path], engine: Registry) -> RuleSet:
    if isinstance(ruleset, RuleSet):
        return ruleset
    if isinstance(ruleset, (str, Path)):
        return load_ruleset(ruleset, engine=engine)
    return load_ruleset(*ruleset, engine=engine)


def compile(
    ruleset: RuleSet | str | Path | Sequence[str | Path],
    tables: Mapping[str, TableLike | None] | None = None,
    *,
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    outputs: list[str] | None = None,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
    check_only: bool = False,
    blacklist: str | Path | None = None,
    passes: Sequence[object] = (),
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """Compile rule sets into one lazy plan without reading data (schemas only).

    ``tables``: paths, URLs or frames per table (:func:`segrule.io.frames.table_input`
    says which frames); ``check_only=True`` checks against the table contracts where no
    data is given;
    ``passes``: features' plan passes (:mod:`segrule.engine.passes`); ``columns``: more
    table columns to read (:func:`segrule.engine.compiler.compile_plan`).
    """
    engine = engine or Registry(plugins=list(plugins))
    rs = as_ruleset(ruleset, engine)
    return compile_plan(
        engine,
        rs,
        as_of=as_of,
        tz=tz,
        tables=table_inputs(tables),
        data_dir=data,
        outputs=outputs,
        check_only=check_only,
        blacklist=blacklist,
        passes=passes,
        columns=columns,
    )
