"""Synthetic ``childrenswear_items``: households whose children grow.

Each customer of the core generator is a household with one to three children, each
with a birth date, a gender and a height percentile. An item line is bought for one
of the household's children alive (or due within six weeks) on the order day; the
size follows the child's height on that day (a median growth curve plus the child's
percentile), so the sizes a household buys rise over time, with some parents buying
a size up. Categories follow the child's stage (bodysuits for babies, school uniforms
for school children) and the season (outerwear in winter); fabrics follow the season
(linen in summer, wool and synthetics in winter), babies get mostly cotton, and a
quarter of households buy cotton whatever the season (a few are loyal to wool,
linen or synthetics). Product gender is the child's
(or unisex), dresses are girls'. Sizes are written as ``110`` mostly, sometimes
``110cm`` or an age label (``3-6M``, ``4-5Y``); a tenth of genders and fabrics are
written in Chinese (``男童``, ``纯棉``), as merged shop exports are.

Deterministic from ``ctx`` (``ctx.rng``), vectorised with numpy, no Python per row.
numpy and pyarrow are imported inside the functions: importing the plugin stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from segrule_childrenswear.tables import TABLE

#: Height sizes sold (cm), the Chinese children's size chart.
GRID = (52, 59, 66, 73, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170)
AGE_LABELS = (
    "newborn",
    "0-3M",
    "3-6M",
    "6-12M",
    "12-18M",
    "18-24M",
    "3-4Y",
    "4-5Y",
    "6-7Y",
    "8-9Y",
    "10-11Y",
    "12-13Y",
    "14-15Y",
    "16Y",
)
#: Median height (cm) by age in months (boys and girls averaged, WHO / China charts).
GROWTH_MONTHS = (
    0,
    1,
    2,
    3,
    4,
    6,
    9,
    12,
    18,
    24,
    36,
    48,
    60,
    72,
    84,
    96,
    108,
    120,
    132,
    144,
    156,
    168,
    180,
    192,
)
GROWTH_CM = (
    50.0,
    54.5,
    58.0,
    61.5,
    64.0,
    67.5,
    72.0,
    75.5,
    82.0,
    87.5,
    96.0,
    103.5,
    110.5,
    117.0,
    123.5,
    129.5,
    135.0,
    140.5,
    146.0,
    152.0,
    158.5,
    164.0,
    168.0,
    170.0,
)

CATEGORIES = (
    "bodysuit",
    "tops",
    "bottoms",
    "dress",
    "outerwear",
    "sleepwear",
    "sportswear",
    "school_uniform",
    "accessories",
)
#: Category weights per stage of the child (infant, toddler, young child, older child).
CATEGORY_WEIGHTS = (
    (35, 5, 0, 0),
    (15, 25, 25, 25),
    (10, 20, 20, 20),
    (0, 8, 10, 10),
    (10, 12, 12, 12),
    (18, 12, 8, 5),
    (0, 5, 12, 18),
    (0, 0, 5, 6),
    (12, 8, 8, 5),
)
CATEGORY_PRICE = (69.0, 89.0, 99.0, 159.0, 259.0, 89.0, 139.0, 169.0, 39.0)

FABRICS = ("cotton", "linen", "wool", "silk", "modal", "synthetic")
FABRICS_ZH = ("纯棉", "亚麻", "羊毛", "真丝", "莫代尔", "涤纶")
#: Fabric weights per season (spring/autumn, summer, winter).
FABRIC_WEIGHTS = (
    (60, 50, 40),
    (5, 22, 0),
    (5, 0, 25),
    (2, 5, 0),
    (10, 13, 5),
    (18, 10, 30),
)
GENDERS = ("boy", "girl", "unisex", "男童", "女童", "中性")

#: Share of households with 1, 2 and 3 children.
CHILDREN_SHARES = (0.72, 0.24, 0.04)
_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = 30.44


def expected_rows(ctx: Any) -> int:
    """One item line per core order."""
    return int(ctx.orders)


def _households(ctx: Any) -> dict[str, Any]:
    """Per-customer arrays: children's birth days, genders, height percentiles, habits."""
    import numpy as np

    m = ctx.customers
    rng = ctx.rng(f"{TABLE}:households", 0)
    u = rng.random(m)
    n_children = 1 + (u >= CHILDREN_SHARES[0]) + (u >= 1.0 - CHILDREN_SHARES[2])
    # Age of the first (oldest) child when the household starts buying: a third are
    # expecting or new parents, the rest have a child of any age up to 12.
    newborn = rng.random(m) < 0.3
    age_at_first = np.where(
        newborn,
        rng.uniform(-45.0, 60.0, m),
        rng.uniform(0.25, 12.0, m) * _DAYS_PER_YEAR,
    )
    birth = np.empty((3, m), dtype=np.float64)
    birth[0] = ctx.first_day.astype(np.float64) - age_at_first
    birth[1] = birth[0] + rng.uniform(1.5, 6.0, m) * _DAYS_PER_YEAR
    birth[2] = birth[1] + rng.uniform(1.5, 4.0, m) * _DAYS_PER_YEAR
    return {
        "n_children": n_children,
        "birth": birth,
        "boy": rng.random((3, m)) < 0.52,
        "z": rng.standard_normal((3, m)),
        # Fabric-loyal households: cotton (25 %), wool, linen, synthetic; -1: none.
        "loyal_fabric": _loyal_fabric(rng, m),
        "size_up": np.where(rng.random(m) < 0.3, 0.35, 0.1),
    }


def _loyal_fabric(rng: Any, m: int) -> Any:
    """Index into FABRICS of a household's favourite fabric, or -1 (no loyalty)."""
    import numpy as np

    u = rng.random(m)
    # cotton 25 %, wool 4 %, linen 3 %, synthetic 3 %
    cuts = np.array([0.25, 0.29, 0.32, 0.35])
    return np.array([0, 2, 1, 5, -1])[np.searchsorted(cuts, u, side="right")]


def _weighted_choice(rng: Any, weights: Any) -> Any:
    """One index per row of ``weights`` (rows of non-negative weights), vectorised."""
    import numpy as np

    cum = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), weights.shape[1] - 1)


def generate_items(ctx: Any) -> Iterator[Any]:
    """Yield ``childrenswear_items`` as pyarrow tables (one per block)."""
    import numpy as np
    import pyarrow as pa
    from segrule.plugin import GenContext

    schema = pa.schema(
        [
            ("customer_id", pa.string()),
            ("order_id", pa.string()),
            ("item_ts", pa.timestamp("us")),
            ("size_cm", pa.string()),
            ("product_gender", pa.string()),
            ("fabric", pa.string()),
            ("category", pa.string()),
            ("amount", pa.float64()),
            ("quantity", pa.int32()),
        ]
    )
    total = expected_rows(ctx)
    if total == 0 or ctx.n_buyers == 0:
        yield schema.empty_table()
        return
    hh = _households(ctx)
    guaranteed = min(ctx.n_buyers, total)
    grid = np.array(GRID, dtype=np.float64)
    size_vocab = [str(s) for s in GRID] + [f"{s}cm" for s in GRID] + list(AGE_LABELS)
    cat_w = np.array(CATEGORY_WEIGHTS, dtype=np.float64).T  # (stage, category)
    fab_w = np.array(FABRIC_WEIGHTS, dtype=np.float64).T  # (season, fabric)
    price = np.array(CATEGORY_PRICE)
    start = np.datetime64(ctx.start, "D")
    for b, lo, hi in ctx.blocks(total):
        rng = ctx.rng(TABLE, b)
        n = hi - lo
        # Orders of 1-4 lines: a line starts a new order with probability 0.55. As in
        # core's orders, one line per buyer (spread evenly over the file) starts an
        # order of that buyer, so every buyer has items when there are enough lines.
        g = np.arange(lo, hi, dtype=np.int64)
        k0 = g * guaranteed // total
        owed = (g + 1) * guaranteed // total > k0
        starts = (rng.random(n) < 0.55) | owed
        starts[0] = True
        first_line = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
        order_of_line = np.cumsum(starts) - 1
        k = int(starts.sum())
        cust_o = ctx.sample_buyers(rng, k)
        owed_starts = owed[starts]
        cust_o[owed_starts] = ctx.buyer_order[k0[starts][owed_starts]]
        day_o = ctx.span_days(rng, cust_o)
        sec_o = ctx.seconds_of_day(rng, k)
        cust, day = cust_o[order_of_line], day_o[order_of_line]
        sec = sec_o[order_of_line]
        # The child the line is for: uniformly among the household's children born
        # (or due within 45 days) and not yet 15.
        age = day[None, :].astype(np.float64) - hh["birth"][:, cust]  # (3, n) days
        exists = (np.arange(3)[:, None] < hh["n_children"][cust][None, :]) & (age >= -45)
        exists &= age <= 15 * _DAYS_PER_YEAR
        n_alive = exists.sum(axis=0)
        pick = np.floor(rng.random(n) * np.maximum(n_alive, 1)).astype(np.int64)
        rank = np.cumsum(exists, axis=0) - 1  # position among the alive children
        hit = exists & (rank == pick[None, :])
        child = np.where(n_alive > 0, hit.argmax(axis=0), 0)
        cols = np.arange(n)
        age_days = np.maximum(age[child, cols], 0.0)
        months = age_days / _DAYS_PER_MONTH
        height = np.interp(months, GROWTH_MONTHS, GROWTH_CM)
        height += hh["z"][child, cust] * (1.5 + 0.35 * age_days / _DAYS_PER_YEAR)
        target = height + rng.uniform(-4.0, 6.0, n)
        size_idx = np.searchsorted(grid, target, side="left")
        size_idx += rng.random(n) < hh["size_up"][cust]
        size_idx = np.clip(size_idx, 0, len(GRID) - 1)
        stage = np.searchsorted(np.array([80.0, 110.0, 140.0]), grid[size_idx], side="right")
        # Calendar month of the day -> season and category multipliers.
        month = (start + day).astype("datetime64[M]").astype(np.int64) % 12 + 1
        winter = np.isin(month, (11, 12, 1, 2))
        summer = np.isin(month, (6, 7, 8))
        season = np.where(summer, 1, np.where(winter, 2, 0))
        weights = cat_w[stage].copy()
        weights[:, 4] *= np.where(winter, 2.5, np.where(summer, 0.3, 1.0))
        weights[:, 7] *= np.where(np.isin(month, (8, 9)), 3.0, 1.0)
        category = _weighted_choice(rng, weights)
        is_boy = hh["boy"][child, cust]
        category = np.where((category == 3) & is_boy, 1, category)  # no dresses for boys
        # Product gender: the child's on most lines, unisex on many baby lines, a few gifts.
        p_gendered = np.where(stage == 0, 0.45, 0.75)
        gendered = (rng.random(n) < p_gendered) | (category == 3)
        gift = rng.random(n) < 0.02
        boy_item = is_boy ^ gift
        gender = np.where(gendered, np.where(boy_item, 0, 1), 2)
        gender = np.where(category == 3, 1, gender)
        gender += 3 * (rng.random(n) < 0.1)  # written in Chinese
        # Fabric: by season; babies and sleepwear mostly cotton; sportswear synthetic;
        # cotton-loyal households buy cotton.
        fw = fab_w[season].copy()
        fw[:, 0] *= np.where(stage == 0, 3.0, 1.0)
        fw[:, 5] *= np.where(category == 6, 8.0, 1.0)
        fw[:, 4] *= np.where(category == 5, 4.0, 1.0)
        fabric = _weighted_choice(rng, fw)
        loyal = hh["loyal_fabric"][cust]
        # Loyalty bends to the season: nobody buys wool in summer or linen in winter.
        off_season = ((loyal == 2) & summer) | ((loyal == 1) & winter)
        p_loyal = np.where(loyal == 0, 0.85, np.where(off_season, 0.15, 0.7))
        fabric = np.where((loyal >= 0) & (rng.random(n) < p_loyal), loyal, fabric)
        fabric_null = rng.random(n) < 0.03
        fabric += 6 * (rng.random(n) < 0.1)  # written in Chinese
        # Size label: 110 (85 %), 110cm (10 %), an age label (5 %); accessories have none.
        fmt = np.where(rng.random(n) < 0.85, 0, np.where(rng.random(n) < 2 / 3, 1, 2))
        size_label = fmt * len(GRID) + size_idx
        no_size = category == 8
        # Price: category base, larger sizes cost more, the household's spend level.
        unit = price[category] * (1.0 + 0.006 * (grid[size_idx] - 80.0))
        unit *= ctx.spend[cust] * rng.lognormal(0.0, 0.3, n)
        snapped = np.maximum(np.round(unit / 10.0) * 10.0 - 1.0, 9.0)
        unit = np.where(rng.random(n) < 0.75, snapped, np.maximum(np.round(unit, 1), 5.0))
        quantity = np.minimum(rng.geometric(0.75, n), 5).astype(np.int32)
        amount = np.round(unit * quantity, 2)
        yield pa.Table.from_arrays(
            [
                GenContext.customer_ids(cust),
                _order_ids(lo + first_line),
                ctx.timestamps(day, sec),
                GenContext.labels(size_vocab, size_label, no_size),
                GenContext.labels(GENDERS, gender),
                GenContext.labels(FABRICS + FABRICS_ZH, fabric, fabric_null),
                GenContext.labels(CATEGORIES, category),
                pa.array(amount, type=pa.float64()),
                pa.array(quantity, type=pa.int32()),
            ],
            schema=schema,
        )


def _order_ids(first_line: Any) -> Any:
    """``K`` + 10 digits: the global number of the order's first line (unique)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(first_line, type=pa.int64()), pa.string()), 10, "0")
    return pc.binary_join_element_wise(pa.scalar("K"), digits, "")
