"""`segrule validate`: check rule sets without reading rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segrule_cli.common import _engine, _tables, console, handle_errors
from segrule_cli.options import PluginOpt, RulesetsArg, TablesOpt, TzOpt
from segrule_cli.output import styled


@handle_errors
def validate(
    rulesets: RulesetsArg,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="Also check names and types against the real tables in this folder.",
        ),
    ] = None,
    tz: TzOpt = None,
    table: TablesOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Check rule sets: syntax, keys, names, cycles, types; reads no rows.

    Without --data, rules are checked against the table contracts; with it, against
    the schemas of the real files (metadata only).
    """
    import segrule

    engine = _engine(plugin)
    plan = segrule.compile(
        rulesets,
        _tables(table),
        as_of="2000-01-01",
        data=data,
        tz=tz,
        engine=engine,
        check_only=True,
    )
    rs = plan.ruleset
    from segrule.grouped import check_rollups

    rollups = check_rollups(rs, _tables(table), data=data, tz=tz, engine=engine)
    counts = {
        r: sum(1 for n in plan.nodes.values() if n.role == r and not n.hidden)
        for r in ("dimension", "segment", "score", "tier")
    }
    console.print(
        styled(
            ("ok", "green"),
            f" {rs.name}: {counts['dimension']} dimensions, "
            f"{counts['segment']} segments, {counts['score'] + counts['tier']} scores/tiers, "
            f"{len(plan.outputs)} output columns; tables: {', '.join(sorted(plan.tables))}"
            + (f"; rollups: {', '.join(rollups)}" if rollups else ""),
        ),
        highlight=False,
    )
