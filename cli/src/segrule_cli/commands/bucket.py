"""`segrule bucket`: split every table by the stable bucket hash into a bucket layout."""

from __future__ import annotations

from typing import Annotated

import typer

from segrule_cli.common import _engine, _lang, _tables, console, handle_errors, working
from segrule_cli.options import DataOpt, PluginOpt, TableOpt, TablesOpt
from segrule_cli.output import print_buckets


@handle_errors
def bucket(
    buckets: Annotated[
        int,
        typer.Option(
            "--buckets",
            "-b",
            metavar="B",
            help="Number of buckets, 1 to 65536 (e.g. 2-4 per executor core of the cluster "
            "that will read them).",
            show_default=False,
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Folder to write the layout into: new, empty, or a layout written before "
            "(replaced whole, at the end). Never an input or a folder holding one.",
            show_default=False,
        ),
    ],
    rulesets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Rule files or preset names whose tables (sources, reading options, column "
            "maps) are used. None: every known table in --data.",
            show_default=False,
        ),
    ] = None,
    data: DataOpt = None,
    orders: TableOpt = None,
    customers: TableOpt = None,
    events: TableOpt = None,
    feedback: TableOpt = None,
    table: TablesOpt = None,
    lang: Annotated[
        str,
        typer.Option("--lang", metavar="zh|en", help="Language of what is printed: en or zh."),
    ] = "en",
    plugin: PluginOpt = None,
) -> None:
    """Split every table by customer into B buckets, for scoring on a cluster.

    Each table is read as `segrule run` reads it (Parquet, CSV in any encoding, Excel,
    NDJSON, PostgreSQL, object storage) and written to DIR/<table>/segrule_bucket=<k>/
    as Parquet, the rows of customer c in bucket pmod(xxhash64(cast(c as string)), B):
    Spark's own hash, so Spark and segrule agree on every customer's bucket. The
    columns are written as read (the rule set's column map names the customer id
    column, default customer_id). DIR/_segrule_buckets.json is written last, and the
    folder is put in place whole at the end: a failed run leaves nothing, or the
    previous layout. `segrule run --data DIR` reads the layout as it reads the tables.
    docs/buckets.md describes the layout for other tools.

    Example: [bold]segrule bucket --data data/ --buckets 64 --out buckets/[/bold]

    Example: [bold]segrule bucket my-rules.yaml --data exports/ --buckets 256 --out
    buckets/[/bold]
    """
    import segrule

    language = _lang(lang)
    engine = _engine(plugin)
    tables = _tables(table, orders=orders, customers=customers, events=events, feedback=feedback)
    with working("Bucketing:"):
        result = segrule.bucket(
            list(rulesets or []),
            data=data,
            tables=tables or None,
            buckets=buckets,
            out=out,
            engine=engine,
        )
    print_buckets(console, result, lang=language)
