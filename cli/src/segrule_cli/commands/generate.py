"""`segrule generate`: seeded synthetic orders, customers, events, feedback and messages as
Parquet."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any, Literal

import typer

from segrule_cli import output
from segrule_cli.common import _engine, console, handle_errors
from segrule_cli.options import PluginOpt
from segrule_cli.output import styled

# segrule.generate.IdType, CustomerIdOrder, OrderIdOrder
GenIdType = Literal["string", "int"]
GenCustomerIds = Literal["in-order", "shuffled"]
GenOrderIds = Literal["in-order", "random"]


@handle_errors
def generate(
    out: Annotated[str, typer.Option("--out", "-o", help="Folder to write <table>.parquet into.")],
    orders: Annotated[int, typer.Option(help="Number of orders.", min=0)] = 100_000,
    customers: Annotated[
        int | None,
        typer.Option(help="Number of customers (default: orders / --orders-per-customer)."),
    ] = None,
    orders_per_customer: Annotated[
        int | None,
        typer.Option(
            help="Orders per customer on average: customers = orders / K (default 10). "
            "Give this or --customers.",
            min=1,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same arguments, identical files.")] = 0,
    end: Annotated[
        str, typer.Option(help="Orders fall in the DAYS before this date (plus ~1% after it).")
    ] = "2026-11-01",
    days: Annotated[int, typer.Option(help="Length of the period in days.", min=1)] = 730,
    tables: Annotated[
        str, typer.Option(help="Comma-separated tables to write.")
    ] = "orders,customers,events,feedback,messages",
    chunk_rows: Annotated[
        int, typer.Option(help="Rows per written chunk (bounds memory).", min=1)
    ] = 1_000_000,
    id_type: Annotated[
        GenIdType,
        typer.Option(
            help="customer_id and order_id as text (C00000042, O0000000042) or as Int64 "
            "(the same numbers: 42)."
        ),
    ] = "string",
    customer_ids: Annotated[
        GenCustomerIds,
        typer.Option(
            help="Customer id numbers in the customers table's order, or shuffled (a seeded "
            "permutation of the same numbers: the table is out of id order)."
        ),
    ] = "in-order",
    order_ids: Annotated[
        GenOrderIds,
        typer.Option(
            help="Order id numbers in the orders file's order, or random (a seeded "
            "permutation of the same numbers: unique, out of order)."
        ),
    ] = "in-order",
    skew: Annotated[
        int,
        typer.Option(
            help="A skewed shop: this many customers get --skew-orders of the --orders "
            "each (besides their usual ones), over the whole period.",
            min=0,
        ),
    ] = 0,
    skew_orders: Annotated[
        int, typer.Option(help="Orders of each --skew customer.", min=1)
    ] = 100_000,
    events_per_order: Annotated[
        int | None,
        typer.Option(help="Events rows per order, e.g. 2 or 10 (default: 2 per customer).", min=0),
    ] = None,
    vertical: Annotated[
        list[str] | None,
        typer.Option(
            "--vertical",
            help="Also write the tables of this industry plugin (apparel, childrenswear, "
            "groupbuy, b2b, ...); repeatable. `segrule plugins` lists them.",
        ),
    ] = None,
    plugin: PluginOpt = None,
) -> None:
    """Generate seeded synthetic orders, customers, events, feedback and messages as Parquet.

    Streams in chunks, so 100M orders need no more memory than 1M. With --vertical,
    the plugin's own tables (e.g. apparel's order items) are written too, from the same
    customers.

    The shape options change one thing each and default to the usual data: integer
    ids (--id-type int), ids out of order (--customer-ids shuffled, --order-ids
    random), a few customers with very many orders (--skew), more events (--events-per-order).
    Without a customers table: --tables orders,events,feedback.
    """
    from segrule.errors import UsageError
    from segrule.generate import generate as gen
    from segrule.generate import vertical_generators

    try:
        end_date = dt.date.fromisoformat(end)
    except ValueError:
        raise UsageError(f"--end '{end}' is not a date like 2026-11-01") from None
    names = [t.strip() for t in tables.split(",") if t.strip()]
    generators: dict[str, Any] = {}
    if vertical:
        generators = vertical_generators(_engine(plugin), vertical)
        names.extend(t for t in generators if t not in names)
    t0 = time.perf_counter()
    with output.progress(console) as prog:
        report = output.table_reporter(prog)

        try:
            paths = gen(
                out,
                orders=orders,
                customers=customers,
                orders_per_customer=orders_per_customer,
                id_type=id_type,
                customer_ids=customer_ids,
                order_ids=order_ids,
                skew=skew,
                skew_orders=skew_orders,
                events_per_order=events_per_order,
                seed=seed,
                end=end_date,
                days=days,
                chunk_rows=chunk_rows,
                tables=names,
                progress=report,
                generators=generators,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    secs = time.perf_counter() - t0
    for name, path in paths.items():
        console.print(f"  {name:<10} {path}  ({path.stat().st_size / 1e6:.1f} MB)", highlight=False)
    console.print(styled(("done", "green"), f" in {secs:.1f}s"), highlight=False)
