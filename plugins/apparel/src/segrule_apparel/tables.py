"""The ``apparel_items`` table contract (one row per order line)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from segrule.plugin import Column, TableContract

from segrule_apparel.vocab import TABLE, TS


def _generate(ctx: Any) -> Iterator[Any]:
    # numpy/pyarrow are imported only when data is generated, not at plugin import.
    from segrule_apparel.generate import generate_items

    return generate_items(ctx)


def _rows(ctx: Any) -> int:
    from segrule_apparel.generate import expected_rows

    return expected_rows(ctx)


ITEMS = TableContract(
    TABLE,
    [
        Column("customer_id", "string", True, "the buying customer"),
        Column(TS, "datetime", True, "when the line was bought (paid)"),
        Column(
            "category",
            "string",
            True,
            "dress, shirt, tshirt, knitwear, outerwear, pants, shorts, skirt, accessories "
            "(连衣裙, 衬衫, T恤 ... are mapped); other values count as 'other'",
        ),
        Column("amount", "number", True, "amount paid for the line (all its units), e.g. 259.00"),
        Column("order_id", "string", False, "the order the line belongs to"),
        Column(
            "size", "string", False, "size label: XS..4XL (XXL -> 2XL), numeric, ONE_SIZE (均码)"
        ),
        Column(
            "season",
            "string",
            False,
            "item season: spring, summer, autumn, winter or all (春/夏/秋/冬/四季 are mapped)",
        ),
        Column("quantity", "integer", False, "units in the line (default 1)"),
        Column("launch_ts", "datetime", False, "when the item was launched (on sale first)"),
        Column("is_new_arrival", "boolean", False, "the shop's own new-arrival flag"),
        Column("returned", "boolean", False, "the line was returned (needed by return dims)"),
        Column("return_ts", "datetime", False, "when it was returned (null: counts as returned)"),
    ],
    "Apparel order lines: one row per line of a paid order (returned lines included, "
    "flagged). Lines of unpaid or cancelled orders do not belong here.",
    ts_column=TS,
    generate=_generate,
    rows=_rows,
)
