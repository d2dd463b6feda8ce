"""Synthetic group-buy data for ``segrule generate --vertical groupbuy``.

Follows the generator contract of :mod:`segrule.generate`: deterministic from
``ctx.rng(table, block)``, numpy-vectorised (no Python object per row or customer),
one schema per table, blocks of a fixed size (so ``chunk_rows`` changes only the file
layout). numpy and pyarrow are imported inside the functions: importing the plugin
stays fast.

The model, per customer (drawn once from ``ctx.rng("groupbuy_traits", 0)``, so every
table sees the same customers):

- about 4 % of the buyers are *leaders* (团长): they start most groups, and their
  groups are big (community group buying: ~10 joiners), while other customers start a
  group now and then with one or two friends;
- deal classes: premium (shallow discount, high price), standard, flash (秒杀: deep
  discount). A quality-sensitive minority (likelier among big spenders) prefers
  premium deals; a price-sensitive majority prefers flash deals; joiners pick groups
  by these preferences, initiators pick the deal class the same way;
- acquisition source: social media dominant (leaders even more), then referral and
  search; ads bring more customers who never buy; ~5 % of customers have no touch
  recorded (unknown source);
- referral-acquired customers have a referral row from their referrer (leaders and
  social customers refer most), converted when they are buyers; every such referral
  comes with two invitations that did not convert;
- core's ``orders`` and ``events`` are rewritten with these habits (through
  ``core_generators``): price-sensitive customers use coupons and promotions on most
  orders, quality-sensitive ones rarely; a service-sensitive share of the others asks,
  complains and calls after-sales far more than the rest. Row counts, customers and
  times stay core's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

GROUPS_TABLE = "groupbuy_groups"
TOUCHES_TABLE = "groupbuy_touches"
REFERRALS_TABLE = "groupbuy_referrals"

#: Groups per generation block (the data depends on it; ``chunk_rows`` does not).
GROUPS_PER_BLOCK = 8192
#: Groups started per order of the core orders table.
GROUPS_PER_ORDER = 0.06
#: Repeat touches per customer (on top of the acquisition touch).
REPEAT_TOUCHES_PER_CUSTOMER = 1.5
#: Invitations that did not convert, per converted referral.
INVITES_PER_REFERRAL = 2

LEADER_SHARE = 0.04
NO_TOUCH_SHARE = 0.05
SOURCES = ("social", "search", "ads", "referral", "offline", "direct", "other")
SOCIAL, REFERRAL = 0, 3
# acquisition mix by kind of customer: leaders, other buyers, never-buyers
ACQUISITION_MIX = (
    (0.615, 0.08, 0.06, 0.12, 0.10, 0.02, 0.005),
    (0.39, 0.19, 0.11, 0.16, 0.08, 0.06, 0.01),
    (0.35, 0.16, 0.27, 0.06, 0.06, 0.08, 0.02),
)
# later touches: how returning customers arrive
REPEAT_MIX = (0.34, 0.22, 0.20, 0.03, 0.05, 0.15, 0.01)
PLATFORMS: tuple[tuple[tuple[str, float], ...], ...] = (
    (("wechat", 0.55), ("douyin", 0.22), ("xiaohongshu", 0.15), ("weibo", 0.08)),
    (("baidu", 0.68), ("bing", 0.12), ("sogou", 0.10), ("360", 0.10)),
    (("ocean_engine", 0.45), ("tencent_ads", 0.40), ("baidu_feed", 0.15)),
    (("invite_link", 0.70), ("wechat_share", 0.30)),
    (("store", 0.60), ("ground_promotion", 0.40)),
    (("app_store", 0.60), ("direct", 0.40)),
    (("partner_app", 0.70), ("sms", 0.30)),
)
ROLES = ("initiator", "joiner")
STATUSES = ("success", "failed", "open")
# deal classes: catalogue size, median list price, discount depth range
DEAL_CLASSES = (
    ("premium", 200, 199.0, (0.05, 0.20)),
    ("standard", 800, 69.0, (0.15, 0.35)),
    ("flash", 300, 39.0, (0.40, 0.75)),
)

_US_PER_DAY = 86_400_000_000


@dataclasses.dataclass(frozen=True)
class Traits:
    """Per-customer arrays shared by the three generators."""

    leader: Any  # bool (M,)
    quality: Any  # float64 (M,): affinity for premium deals
    price: Any  # float64 (M,): affinity for flash deals
    source: Any  # int64 (M,): acquisition source (index into SOURCES)
    has_touch: Any  # bool (M,)
    acq_day: Any  # int64 (M,): day of the acquisition touch
    acq_sec: Any  # int64 (M,): second of that day


def traits(ctx: Any) -> Traits:
    """The per-customer traits; depends only on the seed, customers, days and orders."""
    import numpy as np

    rng = ctx.rng("groupbuy_traits", 0)
    m = ctx.customers
    buyer = ctx.weight > 0
    leader = buyer & (rng.random(m) < LEADER_SHARE)
    spend = ctx.spend.astype(np.float64)
    quality_type = rng.random(m) < np.clip(0.10 + 0.25 * (spend - 1.0), 0.04, 0.40)
    price_type = ~quality_type & (rng.random(m) < 0.70)
    kind = np.where(leader, 0, np.where(buyer, 1, 2))
    cum = np.cumsum(np.asarray(ACQUISITION_MIX), axis=1)
    cum[:, -1] = 1.0
    u = rng.random(m)
    source = (u[:, None] >= cum[kind]).sum(axis=1).astype(np.int64)
    has_touch = rng.random(m) >= NO_TOUCH_SHARE
    acq_day = (
        ctx.first_day.astype(np.int64) - 1 - np.floor(rng.exponential(45.0, m)).astype(np.int64)
    )
    acq_sec = ctx.seconds_of_day(rng, m)
    return Traits(
        leader=leader,
        quality=np.where(quality_type, 6.0, 0.5),
        price=np.where(price_type, 4.0, 0.6),
        source=source,
        has_touch=has_touch,
        acq_day=acq_day,
        acq_sec=acq_sec,
    )


# -- helpers ---------------------------------------------------------------------------------
def _ids(prefix: str, values: Any, width: int) -> Any:
    """``prefix`` + zero-padded numbers as a pyarrow string array (core's builder)."""
    from segrule.plugin import fixed_ids

    return fixed_ids(prefix, values, width)


def _sample(cum: Any, u: Any) -> Any:
    """Indices drawn proportionally to the weights whose cumulative sum is ``cum``."""
    import numpy as np

    idx = np.searchsorted(cum, u * cum[-1], side="right")
    return np.minimum(idx, cum.shape[0] - 1).astype(np.int64)


def _platforms(rng: Any, source: Any) -> Any:
    """A platform (index into the flattened PLATFORMS vocabulary) for each source."""
    import numpy as np

    width = max(len(p) for p in PLATFORMS)
    cum = np.ones((len(PLATFORMS), width))
    offset = np.zeros(len(PLATFORMS), dtype=np.int64)
    total = 0
    for s, plats in enumerate(PLATFORMS):
        probs = np.array([w for _, w in plats])
        cum[s, : len(plats)] = np.cumsum(probs / probs.sum())
        cum[s, len(plats) - 1 :] = 1.0
        offset[s] = total
        total += len(plats)
    u = rng.random(source.shape[0])
    local = (u[:, None] >= cum[source]).sum(axis=1)
    return offset[source] + local


PLATFORM_NAMES = [name for plats in PLATFORMS for name, _ in plats]


def _schema(table: str) -> Any:
    import pyarrow as pa

    ts = pa.timestamp("us")
    if table == GROUPS_TABLE:
        return pa.schema(
            [
                ("customer_id", pa.string()),
                ("group_id", pa.string()),
                ("role", pa.string()),
                ("joined_ts", ts),
                ("status", pa.string()),
                ("group_size", pa.int32()),
                ("deal_id", pa.string()),
                ("premium", pa.bool_()),
                ("list_price", pa.float64()),
                ("deal_price", pa.float64()),
            ]
        )
    if table == TOUCHES_TABLE:
        return pa.schema(
            [
                ("customer_id", pa.string()),
                ("touch_ts", ts),
                ("source", pa.string()),
                ("platform", pa.string()),
            ]
        )
    return pa.schema(
        [
            ("customer_id", pa.string()),
            ("referral_ts", ts),
            ("referred_id", pa.string()),
            ("converted_ts", ts),
        ]
    )


# -- groupbuy_groups -------------------------------------------------------------------------
def n_groups(ctx: Any) -> int:
    """Groups started: GROUPS_PER_ORDER per order (none without buyers)."""
    if ctx.orders == 0 or float(ctx.cum_weight[-1]) <= 0.0:
        return 0
    return max(1, round(ctx.orders * GROUPS_PER_ORDER))


def groups_rows(ctx: Any) -> int:
    """Expected rows (for progress): about 9 participants per group."""
    return 9 * n_groups(ctx)


def _deal_catalogue(ctx: Any) -> tuple[Any, Any]:
    """List price per deal and the first deal index of each class."""
    import numpy as np

    rng = ctx.rng("groupbuy_deals", 0)
    prices, starts, start = [], [], 0
    for _, size, median, _depth in DEAL_CLASSES:
        p = median * rng.lognormal(0.0, 0.5, size)
        prices.append(np.maximum(np.round(p / 10.0) * 10.0 - 0.1, 9.9))
        starts.append(start)
        start += size
    return np.concatenate(prices), np.array(starts, dtype=np.int64)


def groups(ctx: Any) -> Iterator[Any]:
    """``groupbuy_groups``: one row per customer and group taken part in."""
    import numpy as np
    import pyarrow as pa

    schema = _schema(GROUPS_TABLE)
    total = n_groups(ctx)
    if total == 0:
        yield schema.empty_table()
        return
    t = traits(ctx)
    m = ctx.customers
    w = ctx.weight.astype(np.float64)
    cum_initiator = np.cumsum(w * np.where(t.leader, 60.0, 0.4))
    pools = [np.cumsum(w * t.quality), np.cumsum(w), np.cumsum(w * t.price)]
    list_price, class_start = _deal_catalogue(ctx)
    class_size = np.array([c[1] for c in DEAL_CLASSES], dtype=np.int64)
    depth_lo = np.array([c[3][0] for c in DEAL_CLASSES])
    depth_hi = np.array([c[3][1] for c in DEAL_CLASSES])
    for b, lo in enumerate(range(0, total, GROUPS_PER_BLOCK)):
        hi = min(lo + GROUPS_PER_BLOCK, total)
        n = hi - lo
        rng = ctx.rng(GROUPS_TABLE, b)
        initiator = _sample(cum_initiator, rng.random(n))
        lead = t.leader[initiator]
        # the initiator's preferences choose the deal class
        pq, pp = t.quality[initiator], t.price[initiator]
        u = rng.random(n) * (pq + 1.5 + pp)
        cls = np.where(u < pq, 0, np.where(u < pq + 1.5, 1, 2))
        deal = class_start[cls] + np.floor(rng.random(n) * class_size[cls]).astype(np.int64)
        depth = depth_lo[cls] + rng.random(n) * (depth_hi[cls] - depth_lo[cls])
        price = list_price[deal]
        deal_price = np.minimum(np.maximum(np.floor(price * (1.0 - depth)) + 0.9, 0.9), price)
        # size: community leaders fill big groups, casual initiators bring one or two friends
        wanted = np.where(lead, rng.geometric(0.1, n), rng.geometric(0.55, n))
        wanted = np.minimum(wanted, 40)
        formed = rng.random(n) < np.where(lead, 0.93, 0.70)
        day = ctx.span_days(rng, initiator)
        sec = ctx.seconds_of_day(rng, n)
        still_open = day >= ctx.days - 1
        partial = np.floor(wanted * rng.random(n) * 0.8).astype(np.int64)
        joiners = np.where(formed & ~still_open, wanted, partial).astype(np.int64)
        status = np.where(still_open, 2, np.where(formed, 0, 1))
        # joiners choose groups of the deal classes they like
        group_of = np.repeat(np.arange(n, dtype=np.int64), joiners)
        uj = rng.random(group_of.shape[0])
        joiner = np.empty(group_of.shape[0], dtype=np.int64)
        for c in range(len(DEAL_CLASSES)):
            sel = cls[group_of] == c
            joiner[sel] = _sample(pools[c], uj[sel])
        delay = np.minimum(rng.exponential(3 * 3600.0, group_of.shape[0]), 86_399).astype(np.int64)
        # rows: initiators first, so deduplication keeps the initiator's row
        grp = np.concatenate([np.arange(n, dtype=np.int64), group_of])
        cust = np.concatenate([initiator, joiner])
        role = np.concatenate([np.zeros(n, np.int64), np.ones(group_of.shape[0], np.int64)])
        total_sec = np.concatenate([sec, sec[group_of] + delay])
        row_day = day[grp] + total_sec // 86_400
        row_sec = total_sec % 86_400
        _, first = np.unique(grp * m + cust, return_index=True)
        keep = np.sort(first)
        grp, cust, role, row_day, row_sec = (a[keep] for a in (grp, cust, role, row_day, row_sec))
        order = np.lexsort((row_sec, row_day, role, grp))
        grp, cust, role, row_day, row_sec = (a[order] for a in (grp, cust, role, row_day, row_sec))
        size = np.bincount(grp, minlength=n)
        yield pa.Table.from_arrays(
            [
                ctx.customer_ids(cust),
                _ids("G", lo + grp, 9),
                ctx.labels(ROLES, role),
                ctx.timestamps(row_day, row_sec),
                ctx.labels(STATUSES, status[grp]),
                pa.array(size[grp].astype(np.int32), type=pa.int32()),
                _ids("D", deal[grp], 6),
                pa.array(cls[grp] == 0, type=pa.bool_()),
                pa.array(price[grp], type=pa.float64()),
                pa.array(np.round(deal_price[grp], 2), type=pa.float64()),
            ],
            schema=schema,
        )


# -- groupbuy_touches ------------------------------------------------------------------------
def _repeat_touches(ctx: Any) -> int:
    return round(REPEAT_TOUCHES_PER_CUSTOMER * ctx.customers)


def touches_rows(ctx: Any) -> int:
    """Expected rows: one acquisition touch per customer plus the repeat touches."""
    return ctx.customers + _repeat_touches(ctx)


def touches(ctx: Any) -> Iterator[Any]:
    """``groupbuy_touches``: the acquisition touch of every customer (~95 % recorded),
    then repeat touches of returning customers."""
    import numpy as np

    schema = _schema(TOUCHES_TABLE)
    t = traits(ctx)
    yield schema.empty_table()
    for b, lo, hi in ctx.blocks(ctx.customers):
        rng = ctx.rng(TOUCHES_TABLE, b)
        idx = np.arange(lo, hi, dtype=np.int64)
        platform = _platforms(rng, t.source[idx])
        sel = t.has_touch[idx]
        yield _touch_table(
            ctx,
            schema,
            idx[sel],
            t.acq_day[idx][sel],
            t.acq_sec[idx][sel],
            t.source[idx][sel],
            platform[sel],
        )
    mix = np.cumsum(REPEAT_MIX)
    mix[-1] = 1.0
    buyers = float(ctx.cum_weight[-1]) > 0.0
    for b, lo, hi in ctx.blocks(_repeat_touches(ctx)):
        rng = ctx.rng("groupbuy_touches_repeat", b)
        n = hi - lo
        uniform = rng.integers(0, ctx.customers, n)
        cust = (
            np.where(rng.random(n) < 0.6, ctx.sample_buyers(rng, n), uniform)
            if buyers
            else (uniform)
        )
        day = np.maximum(ctx.span_days(rng, cust, before=30, after=14), t.acq_day[cust] + 1)
        sec = ctx.seconds_of_day(rng, n)
        # half come back through the channel that brought them, the rest through any
        other = (rng.random(n)[:, None] >= mix).sum(axis=1).astype(np.int64)
        source = np.where(rng.random(n) < 0.5, t.source[cust], other)
        platform = _platforms(rng, source)
        sel = t.has_touch[cust]
        yield _touch_table(ctx, schema, cust[sel], day[sel], sec[sel], source[sel], platform[sel])


def _touch_table(
    ctx: Any, schema: Any, cust: Any, day: Any, sec: Any, source: Any, platform: Any
) -> Any:
    import pyarrow as pa

    return pa.Table.from_arrays(
        [
            ctx.customer_ids(cust),
            ctx.timestamps(day, sec),
            ctx.labels(SOURCES, source),
            ctx.labels(PLATFORM_NAMES, platform),
        ],
        schema=schema,
    )


# -- groupbuy_referrals ----------------------------------------------------------------------
def _referred(t: Traits) -> Any:
    return t.has_touch & (t.source == REFERRAL)


def referrals_rows(ctx: Any) -> int:
    """Rows: one per referral-acquired customer, plus INVITES_PER_REFERRAL invitations each."""
    n = int(_referred(traits(ctx)).sum())
    return n * (1 + INVITES_PER_REFERRAL)


def referrals(ctx: Any) -> Iterator[Any]:
    """``groupbuy_referrals``: who invited whom; converted when the invitee buys."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = _schema(REFERRALS_TABLE)
    t = traits(ctx)
    m = ctx.customers
    w = ctx.weight.astype(np.float64) + 1e-3  # never-buyers invite too, rarely
    w = w * np.where(t.leader, 10.0, 1.0) * np.where(t.source == SOCIAL, 2.0, 1.0)
    cum_referrer = np.cumsum(w)
    referred = _referred(t)
    never_bought = np.flatnonzero(ctx.weight <= 0)
    yield schema.empty_table()
    for b, lo, hi in ctx.blocks(m):
        rng = ctx.rng(REFERRALS_TABLE, b)
        idx = np.arange(lo, hi, dtype=np.int64)[referred[lo:hi]]
        n = idx.shape[0]
        referrer = _sample(cum_referrer, rng.random(n))
        referrer = np.where(referrer == idx, (referrer + 1) % m, referrer)
        # the invitation came 0-48 hours before the invitee's first visit
        at = (
            t.acq_day[idx] * 86_400
            + t.acq_sec[idx]
            - np.floor(rng.random(n) * 48 * 3600).astype(np.int64)
        )
        converted = ctx.weight[idx] > 0
        # buyers convert at the start of their active span, at least an hour after arriving
        conv = np.maximum(
            ctx.first_day[idx].astype(np.int64) * 86_400 + ctx.seconds_of_day(rng, n),
            t.acq_day[idx] * 86_400 + t.acq_sec[idx] + 3600,
        )
        yield pa.Table.from_arrays(
            [
                ctx.customer_ids(referrer),
                ctx.timestamps(at // 86_400, at % 86_400),
                ctx.customer_ids(idx),
                pa.array(
                    _ts_values(ctx, conv // 86_400, conv % 86_400),
                    type=pa.timestamp("us"),
                    mask=~converted,
                ),
            ],
            schema=schema,
        )
    invites = int(referred.sum()) * INVITES_PER_REFERRAL
    for b, lo, hi in ctx.blocks(invites):
        rng = ctx.rng("groupbuy_referrals_invites", b)
        n = hi - lo
        referrer = _sample(cum_referrer, rng.random(n))
        day = ctx.span_days(rng, referrer)
        sec = ctx.seconds_of_day(rng, n)
        # most invitees never registered; some did but never bought
        registered = (rng.random(n) < 0.15) & (never_bought.shape[0] > 0)
        pick = rng.integers(0, max(never_bought.shape[0], 1), n)
        invitee = never_bought[pick] if never_bought.shape[0] else np.zeros(n, np.int64)
        yield pa.Table.from_arrays(
            [
                ctx.customer_ids(referrer),
                ctx.timestamps(day, sec),
                pc.if_else(pa.array(registered), ctx.customer_ids(invitee), None),
                pa.nulls(n, type=pa.timestamp("us")),
            ],
            schema=schema,
        )


def _ts_values(ctx: Any, day: Any, sec: Any) -> Any:
    """numpy datetime64[us] values of (day, second) offsets from ``ctx.start``."""
    import numpy as np

    base = int(np.datetime64(ctx.start, "us").astype(np.int64))
    us = base + day.astype(np.int64) * _US_PER_DAY + sec.astype(np.int64) * 1_000_000
    return us.view("datetime64[us]")


# -- core tables with group-buy habits (core_generators) -------------------------------------
#: Per order: probability of a coupon and of another promotion, by need type
#: (price-sensitive, quality-sensitive, other).
COUPON_P = (0.50, 0.05, 0.15)
PROMO_P = (0.25, 0.03, 0.08)
#: Share of the customers that are neither price- nor quality-sensitive who are
#: service-sensitive.
SERVICE_SHARE = 0.35
#: Of a service-sensitive customer's non-campaign events, the share that are service
#: contacts; of other customers' service contacts, the share kept as such (the rest
#: become views).
SERVICE_CONTACT_P = 0.55
OTHER_CONTACT_KEEP = 0.3
#: Extra service contacts of a service-sensitive customer, per expected order.
SERVICE_PER_ORDER = 0.5
SERVICE_TYPES = ("inquiry", "complaint", "after_sales")
SERVICE_TYPE_P = (0.5, 0.2, 0.3)


def need_types(ctx: Any, t: Traits | None = None) -> Any:
    """Per customer: 0 price-, 1 quality-, 2 service-sensitive, 3 none (int8)."""
    import numpy as np

    t = t or traits(ctx)
    service = ctx.rng("groupbuy_service_trait", 0).random(ctx.customers) < SERVICE_SHARE
    return np.select([t.price > 1.0, t.quality > 1.0, service], [0, 1, 2], default=3).astype(
        np.int8
    )


def _customer_index(ids: Any) -> Any:
    """Core customer ids ``C`` + 8 digits back to their index (numpy int64)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(pc.utf8_slice_codeunits(ids, 1), pa.int64()).to_numpy(zero_copy_only=False)


def orders(ctx: Any) -> Iterator[Any]:
    """Core's orders with each customer's promotion habit: ``coupon_used`` and
    ``discount`` redrawn per order from the customer's need type (:data:`COUPON_P`,
    :data:`PROMO_P`; discount depths as core draws them) and ``amount`` re-priced.
    Same rows, customers, times and gross prices as core's orders."""
    import numpy as np
    import pyarrow as pa
    from segrule.plugin import TABLE_GENERATORS

    need = need_types(ctx)
    kind = np.minimum(need, 2)  # service-sensitive and others share "other" habits
    depths = np.array([0.05, 0.10, 0.15, 0.20, 0.30, 0.50])
    depth_p = np.array([0.2, 0.3, 0.15, 0.2, 0.1, 0.05])
    for block, table in enumerate(TABLE_GENERATORS["orders"].fn(ctx)):
        n = table.num_rows
        if n == 0:
            yield table
            continue
        rng = ctx.rng("groupbuy_orders", block)
        k = kind[_customer_index(table.column("customer_id"))]
        coupon = rng.random(n) < np.take(COUPON_P, k)
        promo = rng.random(n) < np.take(PROMO_P, k)
        depth = depths[np.minimum(np.searchsorted(np.cumsum(depth_p), rng.random(n)), 5)]
        discount = np.where(coupon | promo, depth, 0.0)
        old = table.column("discount").to_numpy(zero_copy_only=False)
        amount = table.column("amount").to_numpy(zero_copy_only=False)
        gross = amount / (1.0 - np.nan_to_num(old))
        table = table.set_column(
            table.schema.get_field_index("amount"),
            "amount",
            pa.array(np.maximum(np.round(gross * (1.0 - discount), 2), 0.01)),
        )
        table = table.set_column(
            table.schema.get_field_index("coupon_used"), "coupon_used", pa.array(coupon)
        )
        table = table.set_column(
            table.schema.get_field_index("discount"), "discount", pa.array(np.round(discount, 2))
        )
        yield table


def orders_rows(ctx: Any) -> int:
    return int(ctx.orders)


def _extra_contacts(ctx: Any, service_type: Any, block: int, lo: int, hi: int) -> Any:
    """Extra service contacts per customer of ``lo:hi``: Poisson(SERVICE_PER_ORDER x
    expected orders) for service-sensitive customers, none for the others."""
    import numpy as np

    expected = ctx.orders * ctx.weight[lo:hi] / max(float(ctx.cum_weight[-1]), 1e-12)
    lam = np.where(service_type[lo:hi], SERVICE_PER_ORDER * expected, 0.0)
    return ctx.rng("groupbuy_service_contacts", block).poisson(lam)


def events(ctx: Any) -> Iterator[Any]:
    """Core's events with each customer's service habit, then extra service contacts.

    A service-sensitive customer's non-campaign events are service contacts (inquiry,
    complaint, after_sales) with probability :data:`SERVICE_CONTACT_P`, and the customer
    makes Poisson(:data:`SERVICE_PER_ORDER` x expected orders) more contacts within
    their active span; other customers' service contacts stay so with probability
    :data:`OTHER_CONTACT_KEEP` (else they become views)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from segrule.plugin import TABLE_GENERATORS

    service_type = need_types(ctx) == 2
    labels = pa.array(list(SERVICE_TYPES))
    cum_type = np.cumsum(SERVICE_TYPE_P)

    def pick_types(rng: Any, n: int) -> Any:
        which = np.minimum(np.searchsorted(cum_type, rng.random(n)), len(SERVICE_TYPES) - 1)
        return labels.take(pa.array(which.astype(np.int32)))

    schema = None
    for block, table in enumerate(TABLE_GENERATORS["events"].fn(ctx)):
        schema = table.schema
        n = table.num_rows
        if n == 0:
            continue
        rng = ctx.rng("groupbuy_events", block)
        cust = _customer_index(table.column("customer_id"))
        etype = table.column("event_type")
        is_campaign = pc.equal(etype, "campaign").to_numpy(zero_copy_only=False)
        is_service = pc.is_in(etype, labels).to_numpy(zero_copy_only=False)
        sensitive = service_type[cust]
        u = rng.random(n)
        to_service = sensitive & ~is_campaign & (u < SERVICE_CONTACT_P)
        to_view = ~sensitive & is_service & (u >= OTHER_CONTACT_KEEP)
        new_type = pc.if_else(
            pa.array(to_service),
            pick_types(rng, n),
            pc.if_else(pa.array(to_view), "view", etype),
        )
        yield table.set_column(table.schema.get_field_index("event_type"), "event_type", new_type)
    for block, lo, hi in ctx.blocks(ctx.customers):
        counts = _extra_contacts(ctx, service_type, block, lo, hi)
        total = int(counts.sum())
        if total == 0:
            continue
        rng = ctx.rng("groupbuy_service_contact_rows", block)
        cust = np.repeat(np.arange(lo, hi, dtype=np.int64), counts)
        day = ctx.span_days(rng, cust)
        sec = ctx.seconds_of_day(rng, total)
        yield pa.Table.from_arrays(
            [ctx.customer_ids(cust), ctx.timestamps(day, sec), pick_types(rng, total)],
            schema=schema,
        )


def events_rows(ctx: Any) -> int:
    """Core's event rows plus the extra service contacts (counted without generating)."""
    from segrule.plugin import TABLE_GENERATORS

    service_type = need_types(ctx) == 2
    extra = sum(
        int(_extra_contacts(ctx, service_type, b, lo, hi).sum())
        for b, lo, hi in ctx.blocks(ctx.customers)
    )
    return int(TABLE_GENERATORS["events"].rows(ctx)) + extra
