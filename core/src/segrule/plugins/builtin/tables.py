"""Core table contracts: orders, customers, events, feedback."""

from __future__ import annotations

from segrule.model.keys import BASE
from segrule.model.tables import Column, TableContract
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Register

ORDER_STATUSES = ("paid", "pending", "refunded", "cancelled")


@hookimpl
def segrule_register_tables(register: Register) -> None:
    register(
        TableContract(
            "orders",
            [
                Column("order_id", "string", True, "unique order id"),
                Column(BASE, "string", True, "the buying customer"),
                Column("order_ts", "datetime", True, "when the order was placed or paid"),
                Column("amount", "number", True, "order amount in currency units (e.g. 199.00)"),
                Column(
                    "status",
                    "string",
                    True,
                    "paid, pending, refunded or cancelled "
                    "(map other values with tables.orders.status_values)",
                ),
                Column("quantity", "integer", False, "items in the order"),
                Column("channel", "string", False, "sales channel"),
                Column("category", "string", False, "product category"),
                Column("coupon_used", "boolean", False, "a coupon was used"),
                Column("discount", "number", False, "discount share 0..1"),
            ],
            "One row per order.",
            ts_column="order_ts",
            extra={"statuses": ORDER_STATUSES, "row_id": "order_id"},
        )
    )
    register(
        TableContract(
            "customers",
            [
                Column(BASE, "string", True, "customer id"),
                Column("birth_year", "integer", False, "year of birth"),
                Column("gender", "string", False, "gender"),
                Column("city", "string", False, "city of residence (e.g. 上海)"),
                Column("is_member", "boolean", False, "member of the loyalty programme"),
                Column("signup_ts", "datetime", False, "when the customer signed up"),
                Column("tags", "string", False, "free-form tags"),
            ],
            "One row per customer; when given, it is the customer universe.",
        )
    )
    register(
        TableContract(
            "events",
            [
                Column(BASE, "string", True, "customer id"),
                Column("event_ts", "datetime", True, "when it happened"),
                Column(
                    "event_type",
                    "string",
                    True,
                    "campaign, view, cart, favorite, inquiry, after_sales, complaint, ...",
                ),
            ],
            "Interactions: campaign participation, browsing, inquiries, after-sales requests.",
            ts_column="event_ts",
        )
    )
    register(
        TableContract(
            "feedback",
            [
                Column(BASE, "string", True, "customer id"),
                Column("ts", "datetime", True, "when the feedback was given"),
                Column("score", "number", True, "satisfaction score 0..100"),
            ],
            "Satisfaction feedback.",
            ts_column="ts",
        )
    )
