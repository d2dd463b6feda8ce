"""Running a compiled plan: collecting it, its data-quality checks, what it reads, and
facts about its outputs that several features use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from segrule.engine import quality
from segrule.engine.compiler import Plan, TableInput
from segrule.errors import SegruleError, first_line
from segrule.io.outpaths import NO_INPUTS, Inputs
from segrule.model.ruleset import load_ruleset as _load_one
from segrule.plugins.registry import Registry


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """Collect a plan with the streaming engine (this function collects)."""
    try:
        return frame.collect(engine="streaming")
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise SegruleError(f"the run failed while reading data: {first_line(exc)}") from exc


def checked(plan: Plan) -> tuple[Plan, quality.QualityResult]:
    """Run the plan's data-quality checks (this collects): raise when a ``fail`` check
    finds rows; return the plan without duplicate orders when they are dropped."""
    try:
        found = quality.collect_quality(plan)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise SegruleError(f"the run failed while reading data: {first_line(exc)}") from exc
    quality.raise_on_failures(quality.report_rows(plan, found), plan, found)
    if quality.drops_duplicates(plan, found):
        assert found.duplicates is not None
        plan = quality.without_duplicates(plan, found.duplicates)
    return plan, found


def checked_lazily(plan: Plan) -> Plan:
    """The plan with what :func:`checked` does that needs no counting now: duplicate
    orders left out by the plan itself when their policy drops them (reads nothing).
    Checks whose policy is ``fail`` and the rejected-share limit are not enforced: they
    need the counts (:func:`segrule.api.quality_report`)."""
    tq = plan.quality_tables().get("orders")
    if tq is not None and tq.policies.get("duplicate_order_id") == "drop":
        plan = quality.without_duplicates(plan)
    return plan


def revenue_column(plan: Plan) -> str | None:
    """The money output that revenue shares are computed on."""
    for name in ("monetary_lifetime", "monetary_365d"):
        if name in plan.outputs:
            return name
    return next((n for n in plan.outputs if plan.nodes.get(n) and plan.nodes[n].cents), None)


def data_folder_inputs(data: str | Path | None, engine: Registry) -> Inputs:
    """The table sources a ``--data`` folder offers for every table the engine knows,
    used or not by this run: an output must not replace tomorrow's input either."""
    if data is None:
        return NO_INPUTS
    from segrule.io.sources import find_table_source

    names = [*engine.tables.items, "orders", "customers", "events", "feedback", "messages"]
    return Inputs.of((f"the {n} table", find_table_source(data, n)) for n in dict.fromkeys(names))


def plan_inputs(plan: Plan, engine: Registry, data: str | Path | None = None) -> Inputs:
    """Every path a compiled run reads: its table sources (files, folders, globs), the
    blacklist, the rule files (``extends`` included) and the ``--data`` folder's tables."""
    sources: list[tuple[str, str | Path | None]] = [
        (f"the {name} table", src) for name, src in plan.tables.items()
    ]
    sources.append(("the blacklist", plan.blacklist))
    sources += [("a rule file", src) for src in plan.ruleset.sources]
    return Inputs.of(sources) | data_folder_inputs(data, engine)


def input_paths(
    rulesets: Sequence[str | Path] = (),
    *,
    tables: Mapping[str, TableInput] | None = None,
    data: str | Path | None = None,
    blacklist: str | Path | None = None,
    files: Sequence[tuple[str, str | Path | None]] = (),
    engine: Registry | None = None,
) -> Inputs:
    """What a command will read, found before it runs (for commands that do not compile
    one plan first): the rule files and what they name (table sources, blacklist),
    ``tables``, the ``--data`` folder's tables, the blacklist and other ``files``.
    A ruleset reference that is not a loadable rule set is skipped: the command itself
    reports it."""
    engine = engine or Registry()
    sources: list[tuple[str, str | Path | None]] = []
    for ref in rulesets:
        if Path(str(ref)).suffix.lower() not in (".yaml", ".yml"):
            sources.append(("an input", ref))
            continue
        try:
            rs = _load_one(ref, engine)
        except SegruleError:
            sources.append(("a rule file", ref))
            continue
        sources += [("a rule file", src) for src in rs.sources]
        sources += [(f"the {n} table", t.source) for n, t in rs.model.tables.items()]
        sources.append(("the blacklist", rs.model.blacklist))
    for name, src in (tables or {}).items():
        if isinstance(src, str | Path):
            sources.append((f"the {name} table", src))
    sources.append(("the blacklist", blacklist))
    # ``files`` (outputs given to diff/report) are read as written, not as globs.
    return Inputs.of(files, globs=False) | Inputs.of(sources) | data_folder_inputs(data, engine)
