"""The ``childrenswear_items`` table: its contract and its lazy normalisation.

Shops write children's sizes in several ways: the Chinese height size (``110``,
``110cm``, ``110/52``, ``身高110``), age labels (``3-6M``, ``18个月``, ``4-5Y``, ``2T``,
``12岁``) or ``newborn``. :func:`size_cm_expr` turns all of them into one height in
whole centimetres, so every dimension compares numbers. Product gender and fabric
synonyms (``男童``, ``纯棉``, ``涤纶`` ...) are mapped onto a small English vocabulary.
Everything here is a polars expression: nothing runs per row in Python.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from segrule.plugin import Column, TableContract

TABLE = "childrenswear_items"
TS = "item_ts"

#: Height (cm) of an age label in months, by the upper end of the label's range:
#: ``0-3M`` -> 59, ``3-6M`` -> 66, ``6-12M`` -> 73, ``12-18M`` -> 80, ``18-24M`` -> 90.
MONTH_SIZES: tuple[tuple[int, int], ...] = (
    (3, 59),
    (6, 66),
    (12, 73),
    (18, 80),
    (24, 90),
    (36, 100),
)
#: Height (cm) of an age label in years, by the lower end of the label's range:
#: ``0-1Y`` -> 73, ``1-2Y`` -> 80, ``2T``/``2-3Y`` -> 90, ``3-4Y`` -> 100, then
#: 110 + 10 per two years from 4 (``4-5Y`` -> 110, ``6-7Y`` -> 120, ``14Y`` -> 160), at most 170.
YEAR_SIZES: tuple[tuple[int, int], ...] = ((0, 73), (1, 80), (2, 90), (3, 100))
NEWBORN_LABELS = ("nb", "newborn", "新生儿", "初生")
#: A number read as a height must lie in this range (cm); anything else is not a size.
HEIGHT_RANGE = (40, 200)

_RANGE = r"(?:\d+\s*[-~–至到]\s*)?"
MONTH_RE = rf"^{_RANGE}(\d+)\s*(?:m|mo|mos|months?|个月|月)$"
YEAR_RE = r"^(\d+)(?:\s*[-~–至到]\s*\d+)?\s*(?:y|yr|yrs|years?|t|岁)$"
NUMBER_RE = r"(\d+(?:\.\d+)?)"

GENDER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "boy": ("boy", "boys", "male", "m", "男", "男童", "男孩", "男款", "男宝"),
    "girl": ("girl", "girls", "female", "f", "女", "女童", "女孩", "女款", "女宝"),
    "unisex": ("unisex", "neutral", "both", "u", "中性", "男女同款", "男女通用", "通用"),
}
FABRIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "cotton": ("cotton", "organic cotton", "棉", "纯棉", "全棉", "棉质", "精梳棉", "有机棉"),
    "linen": ("linen", "麻", "亚麻", "苎麻", "棉麻"),
    "wool": ("wool", "cashmere", "merino", "羊毛", "毛", "羊绒", "美利奴"),
    "silk": ("silk", "真丝", "桑蚕丝", "丝"),
    "modal": (
        "modal",
        "bamboo",
        "viscose",
        "rayon",
        "tencel",
        "lyocell",
        "莫代尔",
        "竹纤维",
        "粘胶",
        "天丝",
    ),
    "synthetic": (
        "synthetic",
        "polyester",
        "nylon",
        "acrylic",
        "spandex",
        "fleece",
        "涤纶",
        "聚酯纤维",
        "锦纶",
        "尼龙",
        "腈纶",
        "氨纶",
        "化纤",
        "摇粒绒",
    ),
}


def _lookup(synonyms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {alias: canonical for canonical, aliases in synonyms.items() for alias in aliases}


GENDER_LOOKUP = _lookup(GENDER_SYNONYMS)
FABRIC_LOOKUP = _lookup(FABRIC_SYNONYMS)


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()


def _ladder(cases: list[tuple[pl.Expr, int]], default: pl.Expr) -> pl.Expr:
    """``CASE WHEN cond THEN cm ... ELSE default END`` (first true case wins)."""
    expr: Any = pl
    for cond, cm in cases:
        expr = expr.when(cond).then(pl.lit(cm))
    return expr.otherwise(default)


def _size_parts(text: pl.Expr) -> dict[str, pl.Expr]:
    """What :func:`size_cm_expr` reads from a lowercase, stripped size label."""
    return {
        "newborn": text.is_in(list(NEWBORN_LABELS)),
        "months": text.str.extract(MONTH_RE, 1).cast(pl.Int64, strict=False),
        "years": text.str.extract(YEAR_RE, 1).cast(pl.Int64, strict=False),
        "number": text.str.extract(NUMBER_RE, 1).cast(pl.Float64, strict=False),
    }


def _size_from_parts(newborn: pl.Expr, months: pl.Expr, years: pl.Expr, number: pl.Expr) -> pl.Expr:
    month_cm = _ladder([(months <= upper, cm) for upper, cm in MONTH_SIZES], pl.lit(110))
    year_cm = _ladder(
        [(years <= year, cm) for year, cm in YEAR_SIZES],
        pl.min_horizontal(pl.lit(110) + 10 * ((years - 4) // 2), pl.lit(170)),
    )
    lo, hi = HEIGHT_RANGE
    return (
        pl.when(newborn)
        .then(pl.lit(52))
        .when(months.is_not_null())
        .then(month_cm)
        .when(years.is_not_null())
        .then(year_cm)
        .when(number.is_between(lo, hi))
        .then(number.round(0))
        .otherwise(None)
        .cast(pl.Int64)
    )


def size_cm_expr(column: str = "size_cm") -> pl.Expr:
    """The height size in whole cm (Int64) of a size label column; null if not a size.

    First match: a newborn label -> 52; a month label (``3-6M``, ``18个月``) -> the
    height of its upper month (:data:`MONTH_SIZES`); a year label (``4-5Y``, ``2T``,
    ``12岁``) -> the height of its lower year (:data:`YEAR_SIZES`, then 110 + 10 per two
    years from 4, at most 170); else the first number in the text (``110``, ``110cm``,
    ``110/52``, ``身高110``, ``100.0``), rounded, when it lies in 40..200.
    """
    return _size_from_parts(**_size_parts(_text(column)))


def _prepare_size(frame: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`size_cm_expr` in stages, each regex evaluated once per row and only on
    labels that are not plain whole numbers (the common ``110``): a single expression
    repeats the extractions in every branch of its ``when`` chain."""
    text, whole = "_childrenswear_size_text", "_childrenswear_size_int"
    parts = {k: f"_childrenswear_size_{k}" for k in ("newborn", "months", "years", "number")}
    frame = frame.with_columns(_text("size_cm").alias(text))
    frame = frame.with_columns(pl.col(text).str.to_integer(strict=False).alias(whole))
    rest = pl.when(pl.col(whole).is_null()).then(pl.col(text))
    frame = frame.with_columns(e.alias(parts[k]) for k, e in _size_parts(rest).items())
    lo, hi = HEIGHT_RANGE
    size = (
        pl.when(pl.col(whole).is_not_null())
        .then(pl.when(pl.col(whole).is_between(lo, hi)).then(pl.col(whole)))
        .otherwise(_size_from_parts(**{k: pl.col(v) for k, v in parts.items()}))
        .cast(pl.Int64)
    )
    return frame.with_columns(size.alias("size_cm")).drop(text, whole, *parts.values())


def product_gender_expr(column: str = "product_gender") -> pl.Expr:
    """``boy`` / ``girl`` / ``unisex`` from their synonyms (男童, 女款, 中性, M, F ...);
    other values are kept as lowercase text (and count as neither boy nor girl)."""
    return _text(column).replace(GENDER_LOOKUP)


def fabric_expr(column: str = "fabric") -> pl.Expr:
    """``cotton``, ``linen``, ``wool``, ``silk``, ``modal``, ``synthetic`` from their
    synonyms (纯棉, 亚麻, 羊毛, 涤纶 ...; a leading ``100%`` is ignored); other values are
    kept as lowercase text."""
    text = _text(column).str.replace(r"^100\s*%\s*", "")
    return text.replace(FABRIC_LOOKUP)


def prepare_items(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Normalise ``childrenswear_items`` lazily: sizes to cm, gender and fabric synonyms.

    Reads the schema only, never rows."""
    schema = frame.collect_schema()
    exprs: list[pl.Expr] = []
    if "size_cm" in schema:
        dtype = schema["size_cm"]
        if dtype.is_integer():
            exprs.append(pl.col("size_cm").cast(pl.Int64))
        elif dtype.is_numeric():
            exprs.append(pl.col("size_cm").round(0).cast(pl.Int64))
        else:
            frame = _prepare_size(frame)
    if "product_gender" in schema:
        exprs.append(product_gender_expr().alias("product_gender"))
    if "fabric" in schema:
        exprs.append(fabric_expr().alias("fabric"))
    return frame.with_columns(exprs) if exprs else frame


def contract(generate: object = None, rows: object = None) -> TableContract:
    """The table contract (with the synthetic-data generator when given)."""
    return TableContract(
        TABLE,
        [
            Column("customer_id", "string", True, "the buying customer (household)"),
            Column("order_id", "string", False, "the order the line belongs to"),
            Column(TS, "datetime", True, "when the line was ordered"),
            Column(
                "size_cm",
                "string",
                True,
                "size bought: a height size (110, '110cm', '110/52') or an age label "
                "('3-6M', '4-5Y', '2T', 'newborn'); read as whole cm (Int64)",
            ),
            Column(
                "product_gender",
                "string",
                False,
                "boy, girl or unisex (男童/女童/中性 and other synonyms are mapped)",
            ),
            Column(
                "fabric",
                "string",
                False,
                "main fabric: cotton, linen, wool, silk, modal, synthetic (纯棉, 涤纶 ... mapped)",
            ),
            Column("category", "string", False, "product category (bodysuit, tops, dress ...)"),
            Column("amount", "number", False, "line amount in currency units"),
            Column("quantity", "integer", False, "pieces on the line"),
        ],
        "One row per childrenswear order line: the size, gender and fabric of what was "
        "bought for a child.",
        ts_column=TS,
        generate=generate,  # type: ignore[arg-type]
        rows=rows,  # type: ignore[arg-type]
    )
