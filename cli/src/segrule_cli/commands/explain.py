"""`segrule explain`: every value, case and point that decided one customer's segments and tier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from segrule.model.keys import BASE

from segrule_cli import output
from segrule_cli.common import _engine, _lang, _tables, console, handle_errors
from segrule_cli.options import (
    AsOfOpt,
    DataOpt,
    JsonOpt,
    PluginOpt,
    RulesetsArg,
    TableOpt,
    TablesOpt,
    TzOpt,
)
from segrule_cli.output import styled


@handle_errors
def explain(
    rulesets: RulesetsArg,
    customer: Annotated[
        str,
        typer.Option(
            "--customer",
            "-c",
            help=(
                "The customer id to explain, as in your data: 42 for integer ids, "
                "C00000042 for text."
            ),
        ),
    ],
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    tz: TzOpt = None,
    orders: TableOpt = None,
    customers: TableOpt = None,
    events: TableOpt = None,
    feedback: TableOpt = None,
    table: TablesOpt = None,
    lang: Annotated[
        str, typer.Option(metavar="zh|en", help="Language of labels and headings: zh or en.")
    ] = "en",
    blacklist: Annotated[
        Path | None, typer.Option("--blacklist", help="As for `segrule run`.")
    ] = None,
    as_json: JsonOpt = False,
    plugin: PluginOpt = None,
) -> None:
    """Explain one customer: every dimension's value, each case of each segment and tier
    evaluated true or false in order with the values that decided it, the points of each
    score part, the resulting tier, what it lacks to move up and when it falls a rung.

    The whole rule set runs on the data (ranks need every customer), so the answer is
    the run's. Example: [bold]segrule explain taobao-5-tier --data data/ --as-of
    2026-11-01 --customer C00000042 --lang zh[/bold]
    """
    import dataclasses

    import segrule
    from segrule.explain import ExplainOptions, explain_customer

    lang = _lang(lang)
    plan = segrule.compile(
        rulesets,
        _tables(table, orders=orders, customers=customers, events=events, feedback=feedback),
        as_of=as_of,
        data=data,
        tz=tz,
        engine=_engine(plugin),
        blacklist=blacklist,
        explain=ExplainOptions(reasons=True, distance=True, rolloff=True, lang=lang),
    )
    with console.status(styled(f"Explaining {customer}…"), spinner="dots"):
        result = explain_customer(plan, customer)
    if as_json:

        def plain(item: Any) -> Any:
            record = dataclasses.asdict(item)
            record["label"] = (
                {"key": item.label.key, "zh": item.label.zh, "en": item.label.en}
                if item.label is not None
                else None
            )
            return record

        record = {
            BASE: result.customer_id,
            "as_of": result.as_of.isoformat(),
            "items": [plain(i) for i in result.items],
        }
        print(json.dumps(record, ensure_ascii=False, indent=2, default=str))
        return
    output.print_explanation(console, result, lang=lang)
