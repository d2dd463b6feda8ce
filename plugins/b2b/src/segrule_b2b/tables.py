"""Table contracts of the b2b plugin: inquiries (询盘) and accounts.

The generators live in :mod:`segrule_b2b.generate`, which imports numpy and pyarrow
only when a generator runs (every ``segrule`` command loads every plugin).
"""

from __future__ import annotations

from segrule.plugin import Column, TableContract

from segrule_b2b import generate

INQUIRIES = "b2b_inquiries"
ACCOUNTS = "b2b_accounts"

INQUIRY_CONTRACT = TableContract(
    INQUIRIES,
    [
        Column("customer_id", "string", True, "the inquiring customer (buyer company)"),
        Column("inquiry_ts", "datetime", True, "when the inquiry (询盘) arrived"),
        Column("inquiry_id", "string", False, "inquiry id (not used by the dimensions)"),
        Column(
            "email",
            "string",
            False,
            "sender e-mail address; its domain tells corporate "
            "from free mail (gmail, yahoo, hotmail, outlook, qq, 163, ...)",
        ),
        Column("website", "string", False, "company website the buyer gave (null/empty: none)"),
        Column(
            "product",
            "string",
            False,
            "the product or model number the inquiry names; "
            "null or empty for a generic 'interested in your products' inquiry",
        ),
        Column("quantity", "number", False, "quantity the buyer stated (null: not stated)"),
        Column(
            "destination_country",
            "string",
            False,
            "destination market / port country the buyer stated (null: not stated)",
        ),
        Column(
            "questions_answered",
            "integer",
            False,
            "how many of the six qualifying questions the buyer answered (0..6): trade, "
            "years in it, target customers, annual sales, full company details, website",
        ),
        Column("sample_requested", "boolean", False, "the inquiry asks for free samples"),
        Column(
            "source",
            "string",
            False,
            "where it came from: alibaba, made_in_china, global_sources, website, "
            "trade_fair, email, linkedin, ...",
        ),
    ],
    "One row per inquiry (询盘) received from a buyer: e-mail, website, product named, "
    "quantity, destination and how many qualifying questions were answered.",
    ts_column="inquiry_ts",
    generate=generate.generate_inquiries,
    rows=generate.inquiry_rows,
    # `segrule generate --vertical b2b` writes B2B orders (few, large, periodic for
    # regular accounts) that agree with the inquiries, instead of retail baskets.
    core_generators={"orders": (generate.generate_orders, generate.order_rows)},
)

ACCOUNT_CONTRACT = TableContract(
    ACCOUNTS,
    [
        Column("customer_id", "string", True, "the customer (buyer company)"),
        Column("company", "string", False, "company name"),
        Column("country", "string", False, "country of the buyer"),
        Column(
            "business_type",
            "string",
            False,
            "importer, wholesaler, distributor, retailer, brand_owner, trading_company",
        ),
        Column(
            "margin",
            "number",
            False,
            "gross margin rate on this account's orders, 0..1 (0.18 = 18 %)",
        ),
    ],
    "One row per buyer account (CRM master data): company, country, business type and "
    "the gross margin earned on its orders. No time column.",
    generate=generate.generate_accounts,
    rows=generate.account_rows,
)

CONTRACTS = (INQUIRY_CONTRACT, ACCOUNT_CONTRACT)
