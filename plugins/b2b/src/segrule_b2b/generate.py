"""Synthetic foreign-trade data: ``b2b_inquiries``, ``b2b_accounts`` and B2B-shaped orders.

``segrule generate --vertical b2b`` writes ``b2b_inquiries`` and ``b2b_accounts`` beside
the core tables, for the same customers, and replaces the core orders generator with
:func:`generate_orders`, which has the rhythm of a B2B exporter (see below; wired
through ``core_generators`` of the inquiries contract in :mod:`segrule_b2b.tables`).

Every customer gets one buyer profile, drawn from ``ctx.rng("b2b_profile", block)`` so
that all three tables agree. It follows the core per-customer state: customers that
never order (``ctx.weight == 0``) are inquirers only, the heaviest buyers are key
accounts, most near one-shot buyers are price shoppers:

==========  =====================================================================
profile     who
==========  =====================================================================
junk        never orders (about two thirds of the non-buyers): free mail, no website,
            no product named, sample requests for "large quantities";
            1 + Poisson(4) inquiries each
prospect    never orders but a real company; mixed quality; a quarter never inquired
            (leads from fairs and lists), the others 1 + Poisson(0.6) inquiries
shopper     price-only buyer (75 % of the near one-shot buyers, 12 % of the others):
            1 + Poisson(1.5 + 1.5 x expected orders) quote requests, few answers, thin
            margin, negotiated discounts
regular     repeat buyer: good inquiries, Poisson(0.25 x expected orders) of them
            (20 % order without any), a reorder cycle of 20-150 days with 30 % jitter
key         the heaviest buyers (core weight above 7, about the top 5 %): corporate
            domain and website, answers the questions, Poisson(0.1 x expected orders)
            inquiries, low margin, weekly to
            two-monthly reorders with 8 % jitter over a relationship of 500-1400 days
==========  =====================================================================

Key and regular accounts are growing (30 %), declining (30 %) or stable: their order
values change by a factor exp(±0.8) per year towards the end of their span.

Randomness comes only from ``ctx.rng(table, block)``; customers are processed in fixed
blocks of ``ctx.block_rows // 4`` customers, so the output depends only on the
generation arguments. numpy and pyarrow are imported inside the functions: importing
the plugin stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Profiles
JUNK, PROSPECT, SHOPPER, REGULAR, KEY = range(5)
P_CORPORATE = (0.06, 0.55, 0.30, 0.75, 0.95)  # corporate e-mail domain
P_WEB_FREE = (0.04, 0.30, 0.20, 0.40, 0.60)  # a website although the e-mail is free mail
P_PRODUCT = (0.08, 0.65, 0.90, 0.85, 0.90)  # a product / model named
P_QUANTITY = (0.45, 0.55, 0.85, 0.70, 0.75)
P_DESTINATION = (0.12, 0.60, 0.70, 0.75, 0.85)
P_QUESTION = (0.04, 0.40, 0.15, 0.60, 0.78)  # per qualifying question (binomial of 6)
P_SAMPLE = (0.70, 0.30, 0.35, 0.15, 0.12)
P_NO_EMAIL = (0.05, 0.03, 0.02, 0.02, 0.01)
P_NO_INQUIRY = (0.0, 0.25, 0.0, 0.20, 0.20)  # known customers that never sent an inquiry
P_ACCOUNT = (0.15, 0.60, 0.97, 0.98, 1.00)  # has a row in b2b_accounts
MARGIN = ((0.22, 0.06), (0.22, 0.06), (0.10, 0.04), (0.24, 0.05), (0.14, 0.03))  # mean, sd
MEDIAN_QTY = (200000.0, 1000.0, 500.0, 2000.0, 10000.0)  # stated in inquiries
MEDIAN_ORDER_USD = (0.0, 0.0, 1500.0, 6000.0, 40000.0)
CYCLE_DAYS = ((0, 0), (0, 0), (0, 0), (20, 150), (7, 60))  # reorder cycle bounds
CYCLE_JITTER = (0.0, 0.0, 0.0, 0.30, 0.08)  # sd of a reorder date, share of the cycle
RELATIONSHIP_DAYS = ((0, 0), (0, 0), (0, 0), (120, 900), (500, 1400))
TREND_PER_YEAR = 0.8

SOURCES = (
    "alibaba",
    "made_in_china",
    "global_sources",
    "website",
    "trade_fair",
    "email",
    "linkedin",
)
SOURCE_WEIGHTS = (
    (0.45, 0.20, 0.05, 0.20, 0.00, 0.05, 0.05),
    (0.30, 0.15, 0.10, 0.20, 0.10, 0.10, 0.05),
    (0.40, 0.20, 0.10, 0.15, 0.05, 0.05, 0.05),
    (0.20, 0.10, 0.10, 0.20, 0.20, 0.15, 0.05),
    (0.10, 0.05, 0.05, 0.10, 0.35, 0.30, 0.05),
)
BUSINESS_TYPES = (
    "importer",
    "wholesaler",
    "distributor",
    "retailer",
    "brand_owner",
    "trading_company",
)
BUSINESS_WEIGHTS = (
    (0.25, 0.15, 0.05, 0.25, 0.05, 0.25),
    (0.25, 0.25, 0.15, 0.20, 0.05, 0.10),
    (0.15, 0.25, 0.05, 0.10, 0.00, 0.45),
    (0.30, 0.30, 0.15, 0.15, 0.05, 0.05),
    (0.35, 0.10, 0.30, 0.00, 0.25, 0.00),
)
# country, web suffix, legal form, weight
COUNTRIES = (
    ("United States", "com", "Inc.", 16),
    ("Germany", "de", "GmbH", 8),
    ("United Kingdom", "co.uk", "Ltd", 7),
    ("France", "fr", "SARL", 5),
    ("Italy", "it", "S.r.l.", 4),
    ("Spain", "es", "S.L.", 4),
    ("Netherlands", "nl", "B.V.", 3),
    ("Poland", "pl", "Sp. z o.o.", 3),
    ("Australia", "com.au", "Pty Ltd", 5),
    ("Canada", "ca", "Inc.", 4),
    ("Brazil", "com.br", "Ltda", 5),
    ("Mexico", "com.mx", "S.A. de C.V.", 4),
    ("United Arab Emirates", "ae", "FZE", 4),
    ("Saudi Arabia", "com.sa", "Co.", 3),
    ("India", "in", "Pvt Ltd", 5),
    ("Nigeria", "com.ng", "Ltd", 4),
    ("South Africa", "co.za", "(Pty) Ltd", 3),
    ("Russia", "ru", "LLC", 4),
    ("Turkey", "com.tr", "A.S.", 3),
    ("Chile", "cl", "SpA", 2),
    ("Vietnam", "vn", "Co., Ltd", 2),
    ("Indonesia", "co.id", "PT", 2),
    ("Japan", "co.jp", "Co., Ltd", 2),
    ("South Korea", "co.kr", "Co., Ltd", 2),
)
FREE_MAIL = (
    ("gmail.com", 45),
    ("yahoo.com", 12),
    ("hotmail.com", 10),
    ("outlook.com", 8),
    ("yahoo.co.uk", 2),
    ("hotmail.fr", 2),
    ("qq.com", 4),
    ("163.com", 4),
    ("126.com", 1),
    ("mail.ru", 3),
    ("yandex.ru", 2),
    ("aol.com", 2),
    ("icloud.com", 3),
    ("live.com", 2),
)
NAME_A = (
    "atlas",
    "nordic",
    "pacific",
    "euro",
    "global",
    "sun",
    "star",
    "delta",
    "prime",
    "metro",
    "alpha",
    "blue",
    "green",
    "royal",
    "united",
    "orient",
    "summit",
    "apex",
    "vista",
    "crown",
)
NAME_B = (
    "trade",
    "lighting",
    "supply",
    "import",
    "electric",
    "industries",
    "solutions",
    "distribution",
    "group",
    "energy",
    "home",
    "tech",
    "projects",
    "sourcing",
)
FIRST = (
    "john",
    "maria",
    "david",
    "anna",
    "mike",
    "sara",
    "ali",
    "carlos",
    "olga",
    "raj",
    "peter",
    "linda",
    "james",
    "fatima",
    "ivan",
    "lucas",
    "mohamed",
    "chen",
)
CORPORATE_LOCAL = (
    "info",
    "sales",
    "purchase",
    "purchasing",
    "import",
    "buyer",
    "procurement",
    "office",
    "contact",
    "john",
    "maria",
    "david",
    "anna",
)
PRODUCTS = (
    "LED panel light PL-6060-40W",
    "LED high bay UFO-150W",
    "solar street light SSL-60",
    "LED flood light FL-200W",
    "LED tube T8-18W",
    "LED downlight DL-12W",
    "emergency light EM-3W",
    "LED strip SMD5050 12V",
    "linear light LN-1200",
    "track light TR-30W",
    "LED bulb A60-9W E27",
    "explosion-proof light EX-80W",
)
# order category, weight, median unit price (USD)
CATEGORIES = (
    ("panel", 0.22, 9.5),
    ("high_bay", 0.12, 38.0),
    ("street", 0.10, 85.0),
    ("flood", 0.14, 22.0),
    ("tube", 0.18, 2.2),
    ("strip", 0.12, 6.0),
    ("downlight", 0.12, 3.8),
)
ORDER_STATUSES = (("paid", 0.90), ("pending", 0.04), ("refunded", 0.02), ("cancelled", 0.04))
ORDER_CHANNELS = ("direct", "alibaba", "trade_fair", "agent")
CHANNEL_WEIGHTS = (
    (0.25, 0.55, 0.05, 0.15),
    (0.25, 0.55, 0.05, 0.15),
    (0.20, 0.65, 0.05, 0.10),
    (0.50, 0.25, 0.10, 0.15),
    (0.75, 0.05, 0.10, 0.10),
)
NOT_GIVEN = ("", "-", "n/a")  # what CRMs hold for "not given"
WEB_FORMATS = ("www.", "http://www.", "https://", "")
AFTER_END_FRACTION = 0.01
AFTER_END_DAYS = 30


def _customer_blocks(ctx: Any) -> Iterator[tuple[int, int, int]]:
    step = max(1, ctx.block_rows // 4)
    for b, lo in enumerate(range(0, ctx.customers, step)):
        yield b, lo, min(lo + step, ctx.customers)


def _pick(rng: Any, weights: Any, n: int) -> Any:
    import numpy as np

    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(p.shape[0], size=n, p=p / p.sum())


def _pick_by_row(rng: Any, table: Any, rows: Any) -> Any:
    """One index per row, drawn from the weight row ``table[rows[i]]``."""
    import numpy as np

    cum = np.cumsum(np.asarray(table, dtype=np.float64), axis=1)
    cum /= cum[:, -1:]
    u = rng.random(rows.shape[0])
    return np.minimum((u[:, None] > cum[rows]).sum(axis=1), cum.shape[1] - 1)


def _strings(vocab: Any, idx: Any, mask: Any = None) -> Any:
    import numpy as np
    import pyarrow as pa

    return pa.array(list(vocab), type=pa.string()).take(
        pa.array(np.asarray(idx, dtype=np.int32), mask=mask)
    )


def _join(*parts: Any) -> Any:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts, "")


def _uniform_int(rng: Any, lo: Any, hi: Any) -> Any:
    """An integer uniform in ``[lo, hi]`` per element (``hi >= lo``)."""
    import numpy as np

    return lo + np.floor(rng.random(np.shape(lo)) * (hi - lo + 1)).astype(np.int64)


def _profile(ctx: Any, block: int, lo: int, hi: int) -> dict[str, Any]:
    """Per-customer profile of customers ``lo..hi`` (identical for all three tables)."""
    import numpy as np
    import pyarrow as pa

    rng = ctx.rng("b2b_profile", block)
    n = hi - lo
    w = ctx.weight[lo:hi].astype(np.float64)
    total = float(ctx.cum_weight[-1]) if ctx.customers else 0.0
    expected = np.where(w > 0, 1.0 + ctx.orders * w / max(total, 1e-12), 0.0)
    buyer = w > 0
    key = buyer & (w > 7.0)
    shopper = buyer & ~key & (rng.random(n) < np.where(w < 0.05, 0.75, 0.12))
    profile = np.where(
        ~buyer,
        np.where(rng.random(n) < 0.65, JUNK, PROSPECT),
        np.where(key, KEY, np.where(shopper, SHOPPER, REGULAR)),
    ).astype(np.int64)
    corporate = rng.random(n) < np.take(P_CORPORATE, profile)
    has_web = np.where(
        corporate, rng.random(n) < 0.92, rng.random(n) < np.take(P_WEB_FREE, profile)
    )
    web_matches = corporate & (rng.random(n) < 0.9)
    country = _pick(rng, [c[3] for c in COUNTRIES], n)
    # The relationship: key and regular accounts start buying well before the core span.
    end = ctx.last_day[lo:hi].astype(np.int64)
    rel_lo = np.take([r[0] for r in RELATIONSHIP_DAYS], profile)
    rel_hi = np.take([r[1] for r in RELATIONSHIP_DAYS], profile)
    length = _uniform_int(rng, rel_lo, rel_hi)
    start = np.where(
        (profile == KEY) | (profile == REGULAR),
        np.clip(np.minimum(ctx.first_day[lo:hi], end - length), 0, None),
        ctx.first_day[lo:hi],
    ).astype(np.int64)
    trend = np.where((profile == KEY) | (profile == REGULAR), _pick(rng, (0.3, 0.4, 0.3), n) - 1, 0)
    idx = np.arange(lo, hi, dtype=np.int64)
    a = rng.integers(0, len(NAME_A), n)
    b = rng.integers(0, len(NAME_B), n)
    slug = _join(
        _strings(NAME_A, a), _strings(NAME_B, b), pa.array(idx, type=pa.int64()).cast(pa.string())
    )
    suffix = _strings([c[1] for c in COUNTRIES], country)
    company = _join(
        _strings([s.capitalize() for s in NAME_A], a),
        " ",
        _strings([s.capitalize() for s in NAME_B], b),
        " ",
        _strings([c[2] for c in COUNTRIES], country),
    )
    return {
        "n": n,
        "idx": idx,
        "profile": profile,
        "expected": expected,
        "corporate": corporate,
        "has_web": has_web,
        "web_matches": web_matches,
        "country": country,
        "start": start,
        "end": end,
        "trend": trend,
        "domain": _join(slug, ".", suffix),
        # a website on another domain than the e-mail (a group site, a shop platform)
        "alt_domain": _join(_strings(NAME_A, (a + 3) % len(NAME_A)), slug, ".", suffix),
        "company": company,
        "free_domain": _pick(rng, [d[1] for d in FREE_MAIL], n),
        "first_name": rng.integers(0, len(FIRST), n),
        "local": rng.integers(0, len(CORPORATE_LOCAL), n),
        "number": rng.integers(1, 9999, n),
        "order_usd": np.take(MEDIAN_ORDER_USD, profile) * rng.lognormal(0.0, 0.5, n),
    }


# -- inquiries -----------------------------------------------------------------------
def _inquiry_counts(rng: Any, prof: dict[str, Any]) -> Any:
    import numpy as np

    p, e = prof["profile"], prof["expected"]
    lam = np.select(
        [p == JUNK, p == PROSPECT, p == SHOPPER, p == REGULAR],
        [4.0, 0.6, 1.5 + 1.5 * e, 0.25 * e],
        default=0.1 * e,
    )
    count = rng.poisson(np.minimum(lam, 60.0))
    # Junk, prospects and shoppers are known because they inquired: at least one each.
    count = np.where((p == JUNK) | (p == PROSPECT) | (p == SHOPPER), count + 1, count)
    none = rng.random(p.shape[0]) < np.take(P_NO_INQUIRY, p)
    return np.where(none, 0, count).astype(np.int64)


def inquiry_rows(ctx: Any) -> int:
    """Expected number of inquiry rows (for progress reporting only)."""
    return round(4.2 * ctx.customers)


def inquiry_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("inquiry_id", pa.string()),
            ("customer_id", pa.string()),
            ("inquiry_ts", pa.timestamp("us")),
            ("email", pa.string()),
            ("website", pa.string()),
            ("product", pa.string()),
            ("quantity", pa.float64()),
            ("destination_country", pa.string()),
            ("questions_answered", pa.int32()),
            ("sample_requested", pa.bool_()),
            ("source", pa.string()),
        ]
    )


def generate_inquiries(ctx: Any) -> Iterator[Any]:
    """``b2b_inquiries``: one row per inquiry; see the module docstring."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = inquiry_schema()
    countries = [c[0] for c in COUNTRIES]
    offset = 0
    yielded = False
    for b, lo, hi in _customer_blocks(ctx):
        prof = _profile(ctx, b, lo, hi)
        rng = ctx.rng("b2b_inquiries", b)
        counts = _inquiry_counts(rng, prof)
        n = int(counts.sum())
        if n == 0:
            continue
        row_cust = np.repeat(np.arange(prof["n"]), counts)  # index within the block
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        first = (np.arange(n) - starts) == 0
        cust = prof["idx"][row_cust]
        p = prof["profile"][row_cust]
        take = pa.array(row_cust.astype(np.int32))

        # When: anywhere from a month before the relationship to a month after its end;
        # a buyer's first inquiry (the RFQ) comes 1-60 days before its first order.
        lo_day = prof["start"][row_cust] - 30
        hi_day = prof["end"][row_cust] + 30
        day = np.clip(_uniform_int(rng, lo_day, hi_day), None, ctx.days - 1)
        lead = np.minimum(np.floor(rng.exponential(20.0, n)).astype(np.int64) + 1, 60)
        day = np.where(first & (p >= SHOPPER), prof["start"][row_cust] - lead, day)
        late = rng.random(n) < AFTER_END_FRACTION
        day = np.where(late, ctx.days + rng.integers(0, AFTER_END_DAYS, n), day)
        ts = ctx.timestamps(day, ctx.seconds_of_day(rng, n))

        # E-mail: corporate (local@company domain) or free mail (name + number@provider).
        corporate = prof["corporate"][row_cust]
        corp_mail = _join(
            _strings(CORPORATE_LOCAL, prof["local"][row_cust]), "@", prof["domain"].take(take)
        )
        free_mail = _join(
            _strings(FIRST, prof["first_name"][row_cust]),
            pa.array(prof["number"][row_cust], type=pa.int64()).cast(pa.string()),
            "@",
            _strings([d[0] for d in FREE_MAIL], prof["free_domain"][row_cust]),
        )
        no_email = rng.random(n) < np.take(P_NO_EMAIL, p)
        email = pc.if_else(pa.array(corporate), corp_mail, free_mail)
        email = pc.if_else(pa.array(no_email), pa.nulls(n, pa.string()), email)

        # Website: the company site (usually the e-mail's domain), a placeholder or null.
        has_web = prof["has_web"][row_cust] & (rng.random(n) < 0.95)
        site = pc.if_else(
            pa.array(prof["web_matches"][row_cust]),
            prof["domain"].take(take),
            prof["alt_domain"].take(take),
        )
        website = _join(_strings(WEB_FORMATS, rng.integers(0, len(WEB_FORMATS), n)), site)
        placeholder = _strings(NOT_GIVEN, rng.integers(0, len(NOT_GIVEN), n), rng.random(n) < 0.8)
        website = pc.if_else(pa.array(has_web), website, placeholder)

        named = rng.random(n) < np.take(P_PRODUCT, p)
        product = pc.if_else(
            pa.array(named),
            _strings(PRODUCTS, rng.integers(0, len(PRODUCTS), n)),
            _strings(NOT_GIVEN, rng.integers(0, len(NOT_GIVEN), n), rng.random(n) < 0.7),
        )
        # Quantity: junk claims huge orders; key accounts buy by the container.
        qty = np.maximum(np.round(np.take(MEDIAN_QTY, p) * rng.lognormal(0.0, 0.6, n), -1), 10.0)
        qty_given = rng.random(n) < np.take(P_QUANTITY, p)
        home = prof["country"][row_cust]
        dest = np.where(rng.random(n) < 0.85, home, _pick(rng, [c[3] for c in COUNTRIES], n))
        dest_given = rng.random(n) < np.take(P_DESTINATION, p)
        questions = rng.binomial(6, np.take(P_QUESTION, p)).astype(np.int32)
        sample = rng.random(n) < np.take(P_SAMPLE, p)
        source = _pick_by_row(rng, SOURCE_WEIGHTS, p)
        ids = pc.utf8_lpad(
            pa.array(np.arange(offset, offset + n), type=pa.int64()).cast(pa.string()), 10, "0"
        )
        offset += n
        yielded = True
        yield pa.Table.from_arrays(
            [
                _join("Q", ids),
                ctx.customer_ids(cust),
                ts,
                email,
                website,
                product,
                pa.array(qty, type=pa.float64(), mask=~qty_given),
                _strings(countries, dest, ~dest_given),
                pa.array(questions, type=pa.int32()),
                pa.array(sample, type=pa.bool_()),
                _strings(SOURCES, source),
            ],
            schema=schema,
        )
    if not yielded:
        yield schema.empty_table()


# -- accounts ------------------------------------------------------------------------
def account_rows(ctx: Any) -> int:
    """Expected number of account rows (for progress reporting only)."""
    return round(0.88 * ctx.customers)


def account_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("customer_id", pa.string()),
            ("company", pa.string()),
            ("country", pa.string()),
            ("business_type", pa.string()),
            ("margin", pa.float64()),
        ]
    )


def generate_accounts(ctx: Any) -> Iterator[Any]:
    """``b2b_accounts``: one row per account known to the CRM; see the module docstring."""
    import numpy as np
    import pyarrow as pa

    schema = account_schema()
    countries = [c[0] for c in COUNTRIES]
    yielded = False
    for b, lo, hi in _customer_blocks(ctx):
        prof = _profile(ctx, b, lo, hi)
        rng = ctx.rng("b2b_accounts", b)
        n = prof["n"]
        p = prof["profile"]
        keep = rng.random(n) < np.take(P_ACCOUNT, p)
        mean = np.take([m[0] for m in MARGIN], p)
        sd = np.take([m[1] for m in MARGIN], p)
        margin = np.round(np.clip(rng.normal(mean, sd), 0.02, 0.45), 3)
        margin_missing = rng.random(n) < 0.04
        business = _pick_by_row(rng, BUSINESS_WEIGHTS, p)
        rows = np.flatnonzero(keep)
        if rows.shape[0] == 0:
            continue
        take = pa.array(rows.astype(np.int32))
        yielded = True
        yield pa.Table.from_arrays(
            [
                ctx.customer_ids(prof["idx"][rows]),
                prof["company"].take(take),
                _strings(countries, prof["country"][rows]),
                _strings(BUSINESS_TYPES, business[rows]),
                pa.array(margin[rows], type=pa.float64(), mask=margin_missing[rows]),
            ],
            schema=schema,
        )
    if not yielded:
        yield schema.empty_table()


# -- orders (B2B rhythm) ---------------------------------------------------------------
def _order_counts(ctx: Any) -> Any:
    """Orders per customer, exactly ``ctx.orders`` in total: one for each buyer first (as
    far as orders go), the rest multinomial by ``ctx.weight``. One int64 per customer."""
    import numpy as np

    counts = np.zeros(ctx.customers, dtype=np.int64)
    guaranteed = min(ctx.n_buyers, ctx.orders)
    counts[ctx.buyer_order[:guaranteed]] = 1
    rest = ctx.orders - guaranteed
    if rest > 0:
        w = ctx.weight.astype(np.float64)
        counts += ctx.rng("b2b_order_counts", 0).multinomial(rest, w / w.sum())
    return counts


def order_rows(ctx: Any) -> int:
    """Exactly ``ctx.orders`` rows."""
    return int(ctx.orders)


def orders_spec() -> Any:
    """:func:`generate_orders` as a ``segrule.generate.TableSpec`` (imports numpy)."""
    from segrule.plugin import TableSpec

    return TableSpec(generate_orders, order_rows)


def generate_orders(ctx: Any) -> Iterator[Any]:
    """Orders with a B2B rhythm, in the core orders schema; exactly ``ctx.orders`` rows.

    Key and regular accounts reorder on a cycle (orders spread evenly back from the end
    of their span, cycle bounded per profile; several orders share a date when the
    cycle hits its lower bound) with a per-date jitter; order values follow the
    account's trend. Price shoppers buy at random dates within their core span, small
    orders with negotiated discounts. About 1 % of the orders fall in the 30 days after
    ``ctx.end``. Order ids are ``O`` + 10 digits in customer order.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from segrule.plugin import ORDERS_SCHEMA

    counts_all = _order_counts(ctx)
    offset = 0
    yielded = False
    cat_price = np.array([c[2] for c in CATEGORIES])
    for b, lo, hi in _customer_blocks(ctx):
        counts = counts_all[lo:hi]
        n = int(counts.sum())
        if n == 0:
            continue
        prof = _profile(ctx, b, lo, hi)
        rng = ctx.rng("b2b_orders", b)
        row_cust = np.repeat(np.arange(prof["n"]), counts)
        j = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
        p = prof["profile"][row_cust]
        end = prof["end"][row_cust]
        # Per customer: the cycle (its span spread over its orders, within the profile's
        # bounds) and the reorder dates ("slots") it has room for; orders beyond that share
        # a date. One jitter per (customer, slot), so orders sharing a slot share the date.
        cp = prof["profile"]
        span_c = np.maximum(prof["end"] - prof["start"], 0).astype(np.float64)
        c_lo = np.take([c[0] for c in CYCLE_DAYS], cp).astype(np.float64)
        c_hi = np.maximum(np.take([c[1] for c in CYCLE_DAYS], cp).astype(np.float64), c_lo)
        cycle_c = np.maximum(np.clip(span_c / np.maximum(counts - 1, 1), c_lo, c_hi), 1.0)
        slots_c = np.maximum(np.minimum(counts, np.floor(span_c / cycle_c).astype(np.int64) + 1), 1)
        slot_start = np.cumsum(slots_c) - slots_c
        jitter_sd = np.repeat(np.take(CYCLE_JITTER, cp) * cycle_c, slots_c)
        jitter_all = rng.normal(0.0, 1.0, int(slots_c.sum())) * jitter_sd
        cycle = cycle_c[row_cust]
        slot = j % slots_c[row_cust]
        jitter = jitter_all[slot_start[row_cust] + slot]
        rhythmic = (p == KEY) | (p == REGULAR)
        day_rhythm = np.round(end - slot * cycle + jitter).astype(np.int64)
        day_random = _uniform_int(rng, prof["start"][row_cust], end)
        day = np.clip(np.where(rhythmic, day_rhythm, day_random), 0, ctx.days - 1)
        late = rng.random(n) < AFTER_END_FRACTION
        day = np.where(late, ctx.days + rng.integers(0, AFTER_END_DAYS, n), day)
        sec = ctx.seconds_of_day(rng, n)

        # Value: the account's usual order x noise x its trend (per year before the end).
        years_before_end = (end - day) / 365.0
        trend = np.exp(-TREND_PER_YEAR * prof["trend"][row_cust] * years_before_end)
        usd = prof["order_usd"][row_cust] * rng.lognormal(0.0, 0.25, n) * trend
        category = _pick(rng, [c[1] for c in CATEGORIES], n)
        unit = cat_price[category] * rng.lognormal(0.0, 0.15, n)
        quantity = np.clip(np.round(usd / unit), 1, 2**31 - 1).astype(np.int32)
        discount = np.where(
            p == SHOPPER,
            np.round(rng.choice([0.0, 0.03, 0.05, 0.08, 0.10], n), 2),
            np.where(p == KEY, np.round(rng.choice([0.0, 0.02, 0.03], n), 2), 0.0),
        )
        amount = np.round(quantity * unit * (1.0 - discount), 2)
        amount = np.maximum(amount, 0.01)
        status = _pick(rng, [s[1] for s in ORDER_STATUSES], n)
        channel = _pick_by_row(rng, CHANNEL_WEIGHTS, p)
        ids = pc.utf8_lpad(
            pa.array(np.arange(offset, offset + n), type=pa.int64()).cast(pa.string()), 10, "0"
        )
        offset += n
        yielded = True
        yield pa.Table.from_arrays(
            [
                _join("O", ids),
                ctx.customer_ids(prof["idx"][row_cust]),
                ctx.timestamps(day, sec),
                pa.array(amount, type=pa.float64()),
                _strings([s[0] for s in ORDER_STATUSES], status),
                pa.array(quantity, type=pa.int32()),
                _strings(ORDER_CHANNELS, channel),
                _strings([c[0] for c in CATEGORIES], category),
                pa.array(np.zeros(n, dtype=bool), type=pa.bool_()),
                pa.array(discount, type=pa.float64()),
            ],
            schema=ORDERS_SCHEMA,
        )
    if not yielded:
        yield ORDERS_SCHEMA.empty_table()
