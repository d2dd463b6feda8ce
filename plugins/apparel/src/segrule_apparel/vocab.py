"""The apparel vocabulary: categories, sizes, seasons, their display names and the
synonyms ``segrule_prepare_table`` maps onto the canonical keys.

Kept free of numpy/pyarrow so that importing the plugin stays fast.
"""

from __future__ import annotations

TABLE = "apparel_items"
TS = "item_ts"

# key, zh (category), en (category), zh (its customers), en (its customers)
CATEGORIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("dress", "连衣裙", "Dresses", "连衣裙客户", "Dress customers"),
    ("shirt", "衬衫", "Shirts and blouses", "衬衫客户", "Shirt customers"),
    ("tshirt", "T恤", "T-shirts", "T恤客户", "T-shirt customers"),
    ("knitwear", "针织衫/毛衣", "Knitwear", "针织客户", "Knitwear customers"),
    ("outerwear", "外套", "Outerwear", "外套客户", "Outerwear customers"),
    ("pants", "裤装", "Pants and jeans", "裤装客户", "Pants customers"),
    ("shorts", "短裤", "Shorts", "短裤客户", "Shorts customers"),
    ("skirt", "半身裙", "Skirts", "半身裙客户", "Skirt customers"),
    ("accessories", "配饰", "Accessories", "配饰客户", "Accessories customers"),
)
CATEGORY_KEYS: tuple[str, ...] = tuple(c[0] for c in CATEGORIES)
OTHER = "other"
MIXED = "mixed"

# Lower-cased, trimmed, spaces and hyphens turned into "_" before this lookup.
CATEGORY_SYNONYMS: dict[str, str] = {
    "连衣裙": "dress",
    "裙装": "dress",
    "dresses": "dress",
    "衬衫": "shirt",
    "衬衣": "shirt",
    "女衬衫": "shirt",
    "shirts": "shirt",
    "blouse": "shirt",
    "blouses": "shirt",
    "t恤": "tshirt",
    "t_shirt": "tshirt",
    "t_shirts": "tshirt",
    "tshirts": "tshirt",
    "tee": "tshirt",
    "tees": "tshirt",
    "短袖": "tshirt",
    "针织衫": "knitwear",
    "针织": "knitwear",
    "毛衣": "knitwear",
    "开衫": "knitwear",
    "sweater": "knitwear",
    "sweaters": "knitwear",
    "knit": "knitwear",
    "knits": "knitwear",
    "cardigan": "knitwear",
    "外套": "outerwear",
    "大衣": "outerwear",
    "羽绒服": "outerwear",
    "风衣": "outerwear",
    "夹克": "outerwear",
    "棉服": "outerwear",
    "coat": "outerwear",
    "coats": "outerwear",
    "jacket": "outerwear",
    "jackets": "outerwear",
    "裤子": "pants",
    "长裤": "pants",
    "裤装": "pants",
    "牛仔裤": "pants",
    "休闲裤": "pants",
    "jeans": "pants",
    "trousers": "pants",
    "pant": "pants",
    "短裤": "shorts",
    "半身裙": "skirt",
    "短裙": "skirt",
    "长裙": "skirt",
    "skirts": "skirt",
    "配饰": "accessories",
    "饰品": "accessories",
    "围巾": "accessories",
    "帽子": "accessories",
    "腰带": "accessories",
    "accessory": "accessories",
}

# Letter sizes in order; other values (26, 38, 165/88A) are kept as written.
LETTER_SIZES: tuple[str, ...] = ("XS", "S", "M", "L", "XL", "2XL", "3XL", "4XL")
ONE_SIZE = "ONE_SIZE"
# Upper-cased, trimmed, spaces/hyphens/underscores removed before this lookup.
SIZE_SYNONYMS: dict[str, str] = {
    "XXL": "2XL",
    "XXXL": "3XL",
    "XXXXL": "4XL",
    "SMALL": "S",
    "MEDIUM": "M",
    "LARGE": "L",
    "XLARGE": "XL",
    "均码": ONE_SIZE,
    "FREE": ONE_SIZE,
    "FREESIZE": ONE_SIZE,
    "F": ONE_SIZE,
    "OS": ONE_SIZE,
    "ONESIZE": ONE_SIZE,
}

SEASONS: tuple[tuple[str, str, str, str, str], ...] = (
    # key, zh, en, zh (its customers), en (its customers)
    ("spring", "春季", "Spring", "春装客户", "Spring buyers"),
    ("summer", "夏季", "Summer", "夏装客户", "Summer buyers"),
    ("autumn", "秋季", "Autumn", "秋装客户", "Autumn buyers"),
    ("winter", "冬季", "Winter", "冬装客户", "Winter buyers"),
)
SEASON_KEYS: tuple[str, ...] = tuple(s[0] for s in SEASONS)
ALL_SEASON = "all"  # an item worn all year (四季款)
# Months of each season when it is the season of purchase (northern hemisphere).
SEASON_MONTHS: dict[str, tuple[int, ...]] = {
    "spring": (3, 4, 5),
    "summer": (6, 7, 8),
    "autumn": (9, 10, 11),
    "winter": (12, 1, 2),
}
# Lower-cased, trimmed, spaces and hyphens turned into "_" before this lookup.
SEASON_SYNONYMS: dict[str, str] = {
    "春": "spring",
    "春季": "spring",
    "春装": "spring",
    "春款": "spring",
    "夏": "summer",
    "夏季": "summer",
    "夏装": "summer",
    "夏款": "summer",
    "秋": "autumn",
    "秋季": "autumn",
    "秋装": "autumn",
    "秋款": "autumn",
    "fall": "autumn",
    "冬": "winter",
    "冬季": "winter",
    "冬装": "winter",
    "冬款": "winter",
    "四季": "all",
    "四季款": "all",
    "全季": "all",
    "all_season": "all",
    "all_seasons": "all",
    "allseason": "all",
    "year_round": "all",
}

TRUE_WORDS: tuple[str, ...] = ("true", "t", "yes", "y", "1", "是", "已退货", "退货")
