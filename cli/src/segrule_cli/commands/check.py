"""`segrule check`: dead and shadowed cases, customers without a tier, non-monotone tiers."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from segrule_cli import output
from segrule_cli.common import _engine, _lang, _tables, console, handle_errors, working
from segrule_cli.options import (
    AsOfOpt,
    BlacklistOpt,
    DataOpt,
    LabelLangOpt,
    PluginOpt,
    RulesetsArg,
    TablesOpt,
    TzOpt,
)


@handle_errors
def check(
    rulesets: RulesetsArg,
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    tz: TzOpt = None,
    table: TablesOpt = None,
    order: Annotated[
        list[str] | None,
        typer.Option(
            "--order",
            help="NAME=BEST,...,WORST: the rank order of a segment's labels for the "
            "monotonicity check (tier ladders and threshold ladders are known); repeatable.",
        ),
    ] = None,
    spend_more: Annotated[
        float | None,
        typer.Option(
            "--spend-more",
            help="Amount each customer spends more in the monotonicity check (default: "
            "the median paid order amount).",
            min=0,
        ),
    ] = None,
    more: Annotated[
        str,
        typer.Option(
            "--more",
            help="amount: the amount is added to every money dimension; order: one more "
            "paid order of that amount today (order counts + 1, recency 0).",
        ),
    ] = "amount",
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the findings as JSON instead of tables.")
    ] = False,
    blacklist: BlacklistOpt = None,
    plugin: PluginOpt = None,
    lang: LabelLangOpt = "en",
) -> None:
    """Check a rule set against data: cases that match nobody, cases shadowed by earlier
    ones, customers without a tier, customers who would drop a tier by spending more.

    Exit code 0 when nothing is found, 1 when there are findings (so CI can gate a rule
    change), 2 on usage errors.

    Example: [bold]segrule check taobao-5-tier --data data/ --as-of 2026-11-01 --order
    tier=super_vip,vip,advanced,normal[/bold]
    """
    from segrule.lint import check_ruleset, parse_orders

    lang = _lang(lang)
    engine = _engine(plugin)
    if more not in ("amount", "order"):
        from segrule.errors import UsageError

        raise UsageError(f"--more '{more}': use amount or order")
    with working("Checking:"):
        result = check_ruleset(
            rulesets,
            _tables(table),
            as_of=as_of,
            data=data,
            tz=tz,
            engine=engine,
            blacklist=blacklist,
            orders=parse_orders(order or []),
            spend_more=spend_more,
            more=more,  # type: ignore[arg-type]
        )
    if json_out:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        output.print_check(console, result, lang)
    if not result.ok:
        raise typer.Exit(1)
