"""``segrule report``: one self-contained HTML page (and PNG charts) about an output.

The page holds: a headline (customers, as-of, rule sets, revenue), each segment and
tier column's sizes with revenue share, the Pareto curve, the RFM grid, distributions
of key dimensions, the migration matrix against a previous output, customers by city
and region, the rollups of a ``segrule rollup`` folder, and the playbook (each label's
actions). It works offline: charts are inline SVG drawn by matplotlib with
``svg.fonttype: none`` (the browser draws the text with its own fonts, so Chinese labels
need no embedded font), there is no script and no external URL.

The numbers are aggregated in polars (group-bys, quantiles, one sort for the Pareto
curve) before anything is drawn: no chart plots a point per customer.

``png_dir`` also saves every chart as PNG (for e-mail). PNG text is rasterized by
matplotlib, so Chinese labels need a CJK font (Noto Sans CJK, WenQuanYi, Source Han,
...); without one, PNG labels are English and the result says so.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from segrule.errors import DataError, SegruleError, UsageError, option
from segrule.io import outpaths
from segrule.io.outputs import read_output, read_rollups
from segrule.model.keys import BASE
from segrule.model.ladders import ladder_labels
from segrule.model.nodes import Label

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from segrule.plugins.registry import Registry

Lang = Literal["zh", "en"]

#: Columns holding a place, best first.
GEO_COLUMNS = ("city", "region", "province")
#: Key dimensions drawn as histograms, in this order, when present.
KEY_DIMENSIONS = (
    "recency_days",
    "orders_lifetime",
    "orders_365d",
    "orders_30d",
    "monetary_365d",
    "monetary_lifetime",
    "score",
)
#: Fonts with Chinese glyphs that PNG charts can use, preferred first.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
    "Heiti SC",
    "Droid Sans Fallback",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
)
TOP_CITIES = 15
NULL_LABEL = {"zh": "（空）", "en": "(null)"}

UI: dict[str, dict[Lang, str]] = {
    "title": {"zh": "客户分层报告", "en": "Customer segmentation report"},
    "headline": {"zh": "概览", "en": "Overview"},
    "customers": {"zh": "客户数", "en": "Customers"},
    "as_of": {"zh": "截止时间", "en": "As of"},
    "timezone": {"zh": "时区", "en": "Time zone"},
    "rulesets": {"zh": "规则集", "en": "Rule sets"},
    "revenue_total": {"zh": "总收入", "en": "Total revenue"},
    "revenue_column": {"zh": "收入列", "en": "Revenue column"},
    "output": {"zh": "输出文件", "en": "Output file"},
    "sizes": {"zh": "分群与等级规模", "en": "Segment and tier sizes"},
    "label": {"zh": "标签", "en": "Label"},
    "name": {"zh": "名称", "en": "Name"},
    "other_name": {"zh": "英文", "en": "Chinese"},
    "share": {"zh": "客户占比", "en": "Share of customers"},
    "revenue": {"zh": "收入", "en": "Revenue"},
    "revenue_share": {"zh": "收入占比", "en": "Share of revenue"},
    "pareto": {"zh": "帕累托曲线", "en": "Pareto curve"},
    "pareto_x": {
        "zh": "客户累计占比（按收入从高到低）",
        "en": "Share of customers (by revenue, highest first)",
    },
    "pareto_y": {"zh": "收入累计占比", "en": "Cumulative share of revenue"},
    "pareto_note": {
        "zh": "{k}的客户（购买客户的{b}）贡献了 80% 的收入。",
        "en": "{k} of customers ({b} of buyers) hold 80% of revenue.",
    },
    "rfm": {"zh": "RFM 网格", "en": "RFM grid"},
    "rfm_counts": {"zh": "客户数（R × F）", "en": "Customers (R × F)"},
    "rfm_monetary": {"zh": "平均消费金额（R × F）", "en": "Mean monetary (R × F)"},
    "rfm_unscored": {
        "zh": "{n} 位客户没有 R/F 评分（无订单），未计入网格。",
        "en": "{n} customers have no R/F score (no orders) and are not in the grid.",
    },
    "distributions": {"zh": "关键指标分布", "en": "Distributions of key dimensions"},
    "dist_note": {
        "zh": "{col}：范围截取到 {lo} – {hi}（1% – 99% 分位）；低于的 {below} 位计入第一个区间，"
        "高于的 {above} 位计入最后一个区间；{nulls} 位为空。",
        "en": "{col}: range clipped to {lo} – {hi} (1st – 99th percentile); {below} customers "
        "below are counted in the first bin, {above} above in the last; {nulls} are null.",
    },
    "migration": {"zh": "迁移矩阵", "en": "Migration matrix"},
    "migration_intro": {
        "zh": "与上一次输出 {old}（截止 {as_of}）相比：行是原标签，列是新标签。",
        "en": "Against the previous output {old} (as of {as_of}): rows are the old label, "
        "columns the new one.",
    },
    "old": {"zh": "原标签", "en": "Old label"},
    "new": {"zh": "新标签", "en": "New label"},
    "moved": {"zh": "变化最大的流向", "en": "Largest moves"},
    "stayed": {"zh": "标签未变的客户", "en": "Customers with the same label"},
    "revenue_old": {"zh": "原收入", "en": "Old revenue"},
    "revenue_new": {"zh": "新收入", "en": "New revenue"},
    "geo": {"zh": "客户地域分布", "en": "Customers by city and region"},
    "city": {"zh": "城市", "en": "City"},
    "region": {"zh": "区域", "en": "Region"},
    "geo_top": {"zh": "客户最多的 {n} 个城市", "en": "Top {n} cities by customers"},
    "geo_source": {"zh": "城市来自 {src}。", "en": "Cities from {src}."},
    "geo_none": {
        "zh": "输出中没有城市列；给出数据文件夹（含 customers 表）即可读取城市。",
        "en": "The output has no city column; give the data folder (with the customers "
        "table) to read cities from it.",
    },
    "other_cities": {"zh": "其他城市", "en": "Other cities"},
    "rollups": {"zh": "分组汇总", "en": "Rollups"},
    "rollup_note": {
        "zh": "共 {n} 个分组；其中 {k} 个（帕累托重点）贡献了 {s} 的收入。",
        "en": "{n} groups; {k} of them (the Pareto key groups) hold {s} of revenue.",
    },
    "rollup_more": {
        "zh": "表中为收入最高的 {shown} 个分组；全部分组见文件 {file}。",
        "en": "The table shows the {shown} groups with the most revenue; {file} has all.",
    },
    "rollup_chart": {
        "zh": "收入占比（前 {n} 个分组）",
        "en": "Share of revenue (first {n} groups)",
    },
    "orders": {"zh": "订单数", "en": "Orders"},
    "rows": {"zh": "行数", "en": "Rows"},
    "customer_share": {"zh": "客户占比", "en": "Share of customers"},
    "cumulative_share": {"zh": "累计收入占比", "en": "Cumulative share"},
    "pareto_key": {"zh": "帕累托重点", "en": "Pareto key"},
    "yes": {"zh": "是", "en": "yes"},
    "playbook": {"zh": "营销行动手册", "en": "Playbook"},
    "actions": {"zh": "行动", "en": "Actions"},
    "no_actions": {"zh": "规则集没有为此列定义行动。", "en": "The rule set defines no actions."},
    "fallback_labels": {
        "zh": "没有规则集信息：分群列取自输出中的文本和布尔列，标签即取值。",
        "en": "No rule set information: segment columns are the output's text and boolean "
        "columns, labels are their values.",
    },
    "no_revenue": {
        "zh": "输出中没有收入列（如 monetary_lifetime）：不显示收入占比和帕累托曲线。",
        "en": "The output has no revenue column (such as monetary_lifetime): no revenue "
        "shares and no Pareto curve.",
    },
    "notes": {"zh": "说明", "en": "Notes"},
    "generated": {
        "zh": "由 segrule {v} 生成，离线可用：不含外部资源。",
        "en": "Made by segrule {v}; works offline: no external resources.",
    },
    "unknown": {"zh": "未知", "en": "unknown"},
    "column": {"zh": "列", "en": "Column"},
    "r_score": {"zh": "R 评分（最近一次购买）", "en": "r_score"},
    "f_score": {"zh": "F 评分（购买频率）", "en": "f_score"},
    # key dimensions: the histograms' titles and notes (English: the column's name)
    "recency_days": {"zh": "距上次购买天数", "en": "recency_days"},
    "orders_lifetime": {"zh": "累计订单数", "en": "orders_lifetime"},
    "orders_365d": {"zh": "近 365 天订单数", "en": "orders_365d"},
    "orders_30d": {"zh": "近 30 天订单数", "en": "orders_30d"},
    "monetary_365d": {"zh": "近 365 天消费金额", "en": "monetary_365d"},
    "monetary_lifetime": {"zh": "累计消费金额", "en": "monetary_lifetime"},
    "score": {"zh": "得分", "en": "score"},
    "font_fallback": {
        "zh": "本机没有中文字体：{n} 张 PNG 图表（{dir}）改用英文标签。",
        "en": "No CJK font on this machine: {n} PNG charts ({dir}) have English labels "
        "instead of Chinese.",
    },
    "font_skipped": {
        "zh": "未写出 PNG：{names}（其中的城市名需要中文字体）。",
        "en": "PNG not written: {names} (their city names need a CJK font).",
    },
    "font_fix": {
        "zh": "安装中文字体后重新运行即可：Debian/Ubuntu 上 sudo apt-get install "
        "fonts-noto-cjk（或较小的 fonts-wqy-zenhei），其他系统安装任一中文字体（如 Noto Sans "
        "CJK SC）。本网页中的图表由浏览器用读者的字体显示，不受影响。",
        "en": "Install a CJK font, then run the report again: on Debian/Ubuntu sudo apt-get "
        "install fonts-noto-cjk (or the smaller fonts-wqy-zenhei), elsewhere any font with "
        "Chinese glyphs (such as Noto Sans CJK SC). The charts on this page are drawn by "
        "the browser with the reader's fonts and are not affected.",
    },
}

HEADINGS = (
    "headline",
    "sizes",
    "pareto",
    "rfm",
    "distributions",
    "migration",
    "geo",
    "rollups",
    "playbook",
)
#: Rows of a rollup shown in the report's table (the file has all) and bars in its chart.
ROLLUP_ROWS = 20
ROLLUP_BARS = 15


def ui(key: str, lang: Lang, **values: Any) -> str:
    text = UI[key][lang]
    return text.format(**values) if values else text


@dataclass
class ColumnInfo:
    """A segment or tier column: its title and labels (in display order)."""

    name: str
    title: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)

    def heading(self, lang: Lang) -> str:
        return self.title.get(lang) or self.title.get("en") or self.name

    def label(self, key: str | None, lang: Lang, *, ascii_only: bool = False) -> str:
        if key is None:
            return NULL_LABEL[lang]
        info = self.labels.get(key)
        if info is None:
            return key
        if ascii_only:
            return info.en or key
        return info.display(lang)

    def other(self, key: str | None, lang: Lang) -> str:
        other: Lang = "en" if lang == "zh" else "zh"
        info = self.labels.get(key) if key is not None else None
        return (getattr(info, other) or "") if info else ""


@dataclass
class ReportResult:
    """What :func:`build_report` wrote."""

    output: Path
    customers: int
    sections: list[str]
    charts: int
    pngs: list[Path] = field(default_factory=list)
    #: what the page says about its inputs (no rule set, no revenue column)
    notes: list[str] = field(default_factory=list)
    #: for the caller only: PNG charts drawn in English or left out for want of a CJK font
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


# -- reading -----------------------------------------------------------------------
def ruleset_columns(
    frame: pl.DataFrame,
    manifest: Mapping[str, Any] | None,
    rulesets: Sequence[str | Path] = (),
    *,
    engine: Registry | None = None,
) -> tuple[list[ColumnInfo], list[str], str]:
    """The segment and tier columns of the output with their labels.

    From ``rulesets`` when given, else the manifest's rule sets; without either (or
    when they cannot be loaded), the output's text and boolean columns with their
    values as labels. Returns (columns, rule set names, where they came from: "given",
    "manifest" or "fallback")."""
    from segrule.engine import build

    as_of = (manifest or {}).get("as_of") or "2000-01-01"
    tz = (manifest or {}).get("timezone")
    refs: list[str] = [str(r) for r in rulesets]
    origin = "given"
    if not refs and manifest:
        refs = [str(r).removeprefix("preset:") for r in manifest.get("rulesets") or []]
        origin = "manifest"
    nodes: dict[str, Any] = {}
    dtypes: dict[str, Any] = {}
    if refs:
        try:
            plan = build.compile(refs, as_of=as_of, tz=tz, engine=engine, check_only=True)
            nodes = dict(plan.nodes)
            dtypes = dict(plan.dtypes)
        except SegruleError:
            if origin == "given":
                raise
            # A manifest lists a file's bases too (preset:taobao-5-tier, then the file
            # that extends it): compiled together they may conflict; one by one, a later
            # rule set's definition wins, as it does in extends.
            for ref in refs:
                try:
                    plan = build.compile(ref, as_of=as_of, tz=tz, engine=engine, check_only=True)
                except SegruleError:
                    continue
                nodes.update(plan.nodes)
                dtypes.update(plan.dtypes)
    columns = [
        ColumnInfo(n, dict(node.title), _ladder_first(node, dtypes))
        for n, node in nodes.items()
        if node.role in ("segment", "tier") and n in frame.columns
    ]
    # keep the output's column order
    order = {c: i for i, c in enumerate(frame.columns)}
    columns.sort(key=lambda c: order[c.name])
    if columns:
        return columns, refs, origin
    skip = {BASE, *GEO_COLUMNS}
    fallback = []
    for name, dtype in frame.schema.items():
        if name in skip:
            continue
        if dtype == pl.Boolean or (
            dtype in (pl.String, pl.Categorical) and frame[name].n_unique() <= 50
        ):
            fallback.append(ColumnInfo(name))
    return fallback, refs, "fallback"


def _ladder_first(node: Any, dtypes: Mapping[str, Any]) -> dict[str, Label]:
    """A column's labels in the order a reader expects: a tier ladder's rungs best first
    (super VIP, VIP, advanced, normal), then the labels off the ladder (new, prospect) as
    the rule set defines them; a classification that is no ladder keeps its definition
    order."""
    labels = dict(node.labels)
    try:
        ladder = ladder_labels(node, dtypes) or []
    except Exception:  # a rule the ladder finder cannot read: definition order
        ladder = []
    first = [k for k in ladder if k in labels]
    return {k: labels[k] for k in [*first, *(k for k in labels if k not in first)]}


def pick_revenue(frame: pl.DataFrame, revenue: str | None = None) -> str | None:
    """The money column revenue shares are computed on: ``revenue`` when given, else
    monetary_lifetime, else monetary_365d, else the first other ``monetary_*`` column."""
    if revenue:
        if revenue not in frame.columns:
            raise UsageError(f"{option('revenue')} '{revenue}' is not a column of the output")
        if not frame.schema[revenue].is_numeric():
            raise UsageError(f"{option('revenue')} '{revenue}' is not a numeric column")
        return revenue
    for name in ("monetary_lifetime", "monetary_365d"):
        if name in frame.columns:
            return name
    return next(
        (c for c, t in frame.schema.items() if c.startswith("monetary") and t.is_numeric()), None
    )


# -- numbers -----------------------------------------------------------------------
def _cents(revenue: str) -> pl.Expr:
    # Outputs hold money as the float nearest to cents / 100: back to integer cents, so
    # totals and shares do not depend on the summation order.
    return (pl.col(revenue).cast(pl.Float64) * 100).round(0).fill_null(0).cast(pl.Int64)


def label_sizes(
    frame: pl.DataFrame, column: str, revenue: str | None, order: Sequence[str] = ()
) -> pl.DataFrame:
    """Customers and revenue per label of ``column``: label (text, null for missing),
    customers, share, revenue, revenue_share (null without ``revenue``). Labels in
    ``order`` first, in that order (those with no customer included, at 0), then the
    others sorted, null last."""
    n = frame.height
    money = _cents(revenue) if revenue else pl.lit(0, dtype=pl.Int64)
    grouped = frame.group_by(pl.col(column).cast(pl.String).alias("label")).agg(
        pl.len().cast(pl.Int64).alias("customers"), money.sum().alias("cents")
    )
    total = int(grouped["cents"].sum()) if revenue else 0
    seen = {r["label"]: r for r in grouped.iter_rows(named=True)}
    keys: list[str | None] = list(order)
    keys += sorted(k for k in seen if k is not None and k not in order)
    if None in seen:
        keys.append(None)
    rows = []
    for key in keys:
        rec = seen.get(key, {"customers": 0, "cents": 0})
        rows.append(
            {
                "label": key,
                "customers": rec["customers"],
                "share": rec["customers"] / n if n else 0.0,
                "revenue": rec["cents"] / 100 if revenue else None,
                "revenue_share": (rec["cents"] / total if total else 0.0) if revenue else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "label": pl.String,
            "customers": pl.Int64,
            "share": pl.Float64,
            "revenue": pl.Float64,
            "revenue_share": pl.Float64,
        },
    )


@dataclass
class Pareto:
    """The Pareto curve: ``points`` (customer_share, revenue_share), and the share of
    customers (and of buyers) holding ``target`` of revenue."""

    points: pl.DataFrame
    customers_at_target: float
    buyers_at_target: float
    target: float = 0.8


def pareto_curve(
    frame: pl.DataFrame, revenue: str, *, points: int = 200, target: float = 0.8
) -> Pareto:
    """Customers sorted by revenue, highest first, against cumulative revenue share,
    sampled at ``points`` + 1 evenly spaced customer shares (0 and 1 included). Every
    customer of the output counts; a buyer is a customer with revenue > 0."""
    cents = frame.select(_cents(revenue).alias("c"))["c"].sort(descending=True)
    n = cents.len()
    cum = cents.cum_sum()
    total = int(cum[-1]) if n else 0
    ks = sorted({round(i * n / points) for i in range(points + 1)})
    rows = [
        {
            "customer_share": k / n if n else 0.0,
            "revenue_share": (int(cum[k - 1]) / total if total else 0.0) if k else 0.0,
        }
        for k in ks
    ]
    if total > 0:
        # integer comparison: the first customer where cum / total >= target
        ratio = Fraction(str(target)).limit_denominator(10_000)
        # cum / total >= target  <=>  cum >= ceil(total * target) for integer cents
        threshold = -((-total * ratio.numerator) // ratio.denominator)
        k_target = int((cum >= threshold).arg_max() or 0) + 1
        buyers = int((cents > 0).sum())
    else:
        k_target, buyers = 0, 0
    return Pareto(
        pl.DataFrame(rows, schema={"customer_share": pl.Float64, "revenue_share": pl.Float64}),
        k_target / n if n else 0.0,
        k_target / buyers if buyers else 0.0,
        target,
    )


def rfm_grid(frame: pl.DataFrame, monetary: str | None = None) -> pl.DataFrame:
    """Customers per (r_score, f_score), every cell of 1..max present (0 when empty),
    with the mean of ``monetary`` (null in empty cells or without it). Customers
    without both scores are left out."""
    scored = frame.filter(pl.col("r_score").is_not_null() & pl.col("f_score").is_not_null())
    top = max(5, int(scored["r_score"].max() or 0), int(scored["f_score"].max() or 0))  # type: ignore[arg-type]
    aggs = [pl.len().cast(pl.Int64).alias("customers")]
    aggs.append(
        (pl.col(monetary).cast(pl.Float64).mean() if monetary else pl.lit(None, pl.Float64)).alias(
            "mean_monetary"
        )
    )
    counts = scored.group_by(
        pl.col("r_score").cast(pl.Int64).alias("r"), pl.col("f_score").cast(pl.Int64).alias("f")
    ).agg(aggs)
    cells = pl.DataFrame({"r": list(range(1, top + 1))}).join(
        pl.DataFrame({"f": list(range(1, top + 1))}), how="cross"
    )
    return (
        cells.join(counts, on=["r", "f"], how="left")
        .with_columns(pl.col("customers").fill_null(0))
        .sort("r", "f")
    )


@dataclass
class Histogram:
    """Counts per bin of one dimension, its range clipped to quantiles."""

    column: str
    edges: list[float]
    counts: list[int]
    below: int
    above: int
    nulls: int
    integer: bool


def histogram(
    frame: pl.DataFrame,
    column: str,
    *,
    bins: int = 30,
    lower: float = 0.01,
    upper: float = 0.99,
) -> Histogram:
    """A histogram of ``column`` over [quantile(lower), quantile(upper)]; values outside
    are counted in the edge bins (``below`` and ``above`` say how many). Integer
    columns spanning at most 40 values get one bin per value."""
    s = frame[column].cast(pl.Float64)
    nulls = s.null_count()
    s = s.drop_nulls()
    if s.len() == 0:
        return Histogram(column, [0.0, 1.0], [0], 0, 0, nulls, False)
    lo = float(s.quantile(lower, "lower") or 0.0)
    hi = float(s.quantile(upper, "higher") or 0.0)
    integer = frame.schema[column].is_integer()
    if integer and hi - lo + 1 <= 40:
        edges = [lo - 0.5 + i for i in range(int(hi - lo) + 2)]
    else:
        if hi <= lo:
            hi = lo + 1.0
        edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    nb = len(edges) - 1
    width = edges[1] - edges[0]
    idx = ((s.clip(lo, hi) - edges[0]) / width).floor().cast(pl.Int64).clip(0, nb - 1)
    counted = idx.value_counts()
    by_bin = dict(zip(counted[idx.name].to_list(), counted["count"].to_list(), strict=True))
    counts = [int(by_bin.get(i, 0)) for i in range(nb)]
    return Histogram(
        column, edges, counts, int((s < lo).sum()), int((s > hi).sum()), nulls, integer
    )


def geo_counts(
    frame: pl.DataFrame, column: str, revenue: str | None, *, top: int = TOP_CITIES
) -> pl.DataFrame:
    """Customers and revenue per value of ``column``, the ``top`` largest by customers
    (ties by name), then one row (label null) for all the others when there are any."""
    sizes = label_sizes(frame, column, revenue).sort(
        ["customers", "label"], descending=[True, False], nulls_last=True
    )
    head = sizes.filter(pl.col("label").is_not_null()).head(top)
    rest = sizes.join(head.select("label"), on="label", how="anti", nulls_equal=True)
    if rest.height:
        other = rest.select(
            pl.lit(None, pl.String).alias("label"),
            pl.col("customers").sum(),
            pl.col("share").sum(),
            pl.col("revenue").sum() if revenue else pl.lit(None, pl.Float64).alias("revenue"),
            pl.col("revenue_share").sum()
            if revenue
            else pl.lit(None, pl.Float64).alias("revenue_share"),
        )
        head = pl.concat([head, other])
    return head


def city_frame(
    frame: pl.DataFrame, data: str | Path | None, manifest: Mapping[str, Any] | None
) -> tuple[pl.DataFrame | None, str | None, str]:
    """(frame with a place column, that column, where it came from) or (None, None, "").

    The output's own city/region/province column; else the customers table's city from
    ``data`` (a folder), else from the manifest's customers source when the file is
    still there. Reads only customer_id and city."""
    from segrule.io.sources import find_table_source, scan_source

    for col in GEO_COLUMNS:
        if col in frame.columns:
            return frame, col, col
    source: Path | str | None = None
    if data is not None:
        source = find_table_source(data, "customers")
        if source is None:
            raise DataError(
                f"{option('data')} {data}: no customers table (customers.parquet) in it"
            )
    else:
        src = ((manifest or {}).get("inputs") or {}).get("customers", {}).get("source")
        if src and Path(src).exists():
            source = Path(src)
    if source is None:
        return None, None, ""
    lf = scan_source(source)
    if "city" not in lf.collect_schema().names():
        return None, None, ""
    cities = lf.select(pl.col(BASE).cast(pl.String), pl.col("city").cast(pl.String))
    try:
        cities_df = cities.unique(BASE, keep="first").collect()
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"{source}: cannot be read: {exc}") from exc
    joined = frame.with_columns(pl.col(BASE).cast(pl.String)).join(cities_df, on=BASE, how="left")
    return joined, "city", str(source)


# -- charts ------------------------------------------------------------------------
def _matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise SegruleError(
            "segrule report draws its charts with matplotlib, which is not installed: "
            "pip install 'segrule[report]'"
        ) from None
    return plt


def find_cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None.

    matplotlib caches its font list; a font installed after that cache was built is
    found by scanning the system font folders for known CJK font files."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    found = _cjk_in(names)
    if found:
        return found
    for path in font_manager.findSystemFonts():
        if _CJK_FILES.search(Path(path).name):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return _cjk_in({f.name for f in font_manager.fontManager.ttflist})


_CJK_FILES = re.compile(
    r"(NotoSans.*CJK|NotoSerif.*CJK|NotoSansSC|SourceHan|wqy|PingFang|msyh|simhei|"
    r"DroidSansFallback|uming|ukai)",
    re.I,
)


def _cjk_in(names: set[str]) -> str | None:
    for name in CJK_FONTS:
        if name in names:
            return name
    return next((n for n in sorted(names) if "CJK" in n), None)


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


@dataclass
class Chart:
    """One figure: ``draw(lang)`` returns it with its texts in that language.
    ``data_text``: free text from the data drawn in it (city names), in every language."""

    key: str
    draw: Callable[[Lang], Figure]
    data_text: Sequence[str] = ()

    def needs_cjk(self, lang: Lang) -> bool:
        """Whether its PNG in ``lang`` has Chinese text."""
        return lang == "zh" or any(has_cjk(t) for t in self.data_text)


COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52")


def _fmt_int(n: float) -> str:
    return f"{int(n):,}"


def _fmt_pct(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def _fmt_money(x: float | None) -> str:
    return "" if x is None else f"{x:,.2f}"


def _fmt_num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:,.2f}"


def share_bars(
    names: Sequence[str],
    shares: Sequence[float],
    revenue_shares: Sequence[float] | None,
    lang: Lang,
    title: str,
) -> Figure:
    """Horizontal bars per label: share of customers, and of revenue beside it."""
    plt = _matplotlib()
    height = 0.9 + 0.38 * len(names) * (2 if revenue_shares is not None else 1)
    fig, ax = plt.subplots(figsize=(7.2, max(2.0, min(height, 14))))
    ys = list(range(len(names)))
    bar = 0.4 if revenue_shares is not None else 0.7
    ax.barh(
        [y - (bar / 2 if revenue_shares is not None else 0) for y in ys],
        shares,
        height=bar,
        color=COLORS[0],
        label=UI["share"][lang],
    )
    if revenue_shares is not None:
        ax.barh(
            [y + bar / 2 for y in ys],
            revenue_shares,
            height=bar,
            color=COLORS[1],
            label=UI["revenue_share"][lang],
        )
    ax.set_yticks(ys, list(names))
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title(title, loc="left")
    # Below the axes, never over a bar (inside, "lower right" covered the longest ones).
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.06 - 0.5 / max(height, 2.0)),
        ncol=2,
        fontsize="small",
        frameon=False,
    )
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def heatmap(
    values: list[list[float]],
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    cell_text: list[list[str]],
    color_values: list[list[float]] | None = None,
) -> Figure:
    plt = _matplotlib()
    w = max(4.8, 1.2 + 0.75 * len(cols))
    h = max(3.2, 1.2 + 0.45 * len(rows))
    fig, ax = plt.subplots(figsize=(min(w, 14), min(h, 12)))
    shade = color_values if color_values is not None else values
    ax.imshow(shade, cmap="Blues", aspect="auto")
    flat = [v for row in shade for v in row if not math.isnan(v)]
    top = max(flat) if flat else 0
    for i, row in enumerate(cell_text):
        for j, text in enumerate(row):
            dark = top and not math.isnan(shade[i][j]) and shade[i][j] > top * 0.6
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize="small",
                color="white" if dark else "black",
            )
    ax.set_xticks(range(len(cols)), list(cols), rotation=30 if len(cols) > 5 else 0, ha="right")
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    fig.tight_layout()
    return fig


# -- the report --------------------------------------------------------------------
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_]+")
#: Longest slug: file names stay far below the 255-byte limit of most file systems.
SLUG_LIMIT = 60


def slug(text: str, limit: int = SLUG_LIMIT) -> str:
    """``text`` reduced to ASCII letters, digits, ``_`` and single ``-``, at most ``limit``
    characters, no leading or trailing ``-``: safe in an HTML id and as a file name (no
    ``/``, ``\\``, ``..``, leading dot or NUL). Column and label names are free text in a
    rule file, so ids and file names are made from this, never from the name itself.
    Different names may give the same slug (or an empty one): callers add an index."""
    return _UNSAFE_NAME.sub("-", text).strip("-")[:limit].rstrip("-")


@dataclass
class _Section:
    """One ``<section>`` of the page: its key (the anchor), heading and blocks. A block is
    a dict with a ``kind`` (h3, h4, para, list, notes, facts, table, chart) and the
    values the template draws it from (report.html.j2, macro ``block``)."""

    key: str
    title: str
    nav: bool
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Page:
    """The page's content as data: sections of blocks, and the charts to draw. The
    template lays it out (escaping every string); nothing here is markup."""

    lang: Lang
    charts: list[Chart] = field(default_factory=list)
    sections: list[_Section] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)

    def anchor(self, prefix: str, name: str) -> str:
        """A unique HTML id for ``name`` (a column): ``prefix-<slug>``, numbered when two
        names give the same slug."""
        base = f"{prefix}-{slug(name) or 'column'}"
        found, n = base, 1
        while found in self.anchors:
            n += 1
            found = f"{base}-{n}"
        self.anchors.add(found)
        return found

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.sections]

    def section(self, key: str, title: str | None = None) -> None:
        self.sections.append(_Section(key, title or ui(key, self.lang), key in HEADINGS))

    def add(self, kind: str, **values: Any) -> None:
        self.sections[-1].blocks.append({"kind": kind, **values})

    def heading(self, text: str, code: str = "", anchor: str = "") -> None:
        self.add("h3", text=text, code=code, id=anchor)

    def para(self, text: str, cls: str = "") -> None:
        self.add("para", text=text, cls=cls)

    def chart(self, chart: Chart) -> None:
        self.charts.append(chart)
        self.add("chart", index=len(self.charts) - 1)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], num_from: int) -> None:
        self.add("table", header=list(header), rows=[list(r) for r in rows], num_from=num_from)


def build_report(
    output: str | Path,
    out: str | Path,
    *,
    previous: str | Path | None = None,
    ruleset: Sequence[str | Path] = (),
    data: str | Path | None = None,
    lang: str = "zh",
    png_dir: str | Path | None = None,
    revenue: str | None = None,
    engine: Registry | None = None,
    rollups: str | Path | None = None,
) -> ReportResult:
    """Write the HTML report of ``output`` (a file written by ``segrule run``) to ``out``.

    ``previous``: an older output of the same rule sets: adds the migration matrix.
    ``ruleset``: rule sets to take labels and actions from (default: the output's
    manifest). ``data``: a folder with the customers table, for cities when the output
    has none. ``lang``: ``zh`` or ``en``. ``png_dir``: also save each chart as PNG
    there. ``revenue``: the money column (default monetary_lifetime, else
    monetary_365d). ``rollups``: a folder written by ``segrule rollup``: adds its
    tables (:mod:`segrule.grouped`). This function reads the outputs whole (it
    collects).
    """
    from segrule.version import __version__

    if lang not in ("zh", "en"):
        raise UsageError(f"{option('lang')} '{lang}' is not zh or en")
    lg: Lang = "zh" if lang == "zh" else "en"
    t0 = time.perf_counter()
    _check_report_paths(output, out, previous, ruleset, data, png_dir, engine, rollups)
    _matplotlib()
    rolled = read_rollups(rollups) if rollups is not None else None
    log.info("reading %s", output)
    frame, manifest = read_output(output)
    columns, refs, origin = ruleset_columns(frame, manifest, ruleset, engine=engine)
    money = pick_revenue(frame, revenue)
    page = _Page(lg)
    notes: list[str] = []  # on the page
    warnings_: list[str] = []  # for the caller only (PNG fonts)
    n = frame.height

    # (1) headline
    page.section("headline")
    total = int(frame.select(_cents(money).sum()).item()) / 100 if money else None
    facts = [
        (ui("customers", lg), _fmt_int(n)),
        (ui("as_of", lg), str((manifest or {}).get("as_of") or ui("unknown", lg))),
        (ui("timezone", lg), str((manifest or {}).get("timezone") or ui("unknown", lg))),
        (ui("rulesets", lg), ", ".join(refs) or ui("unknown", lg)),
        (ui("revenue_total", lg), _fmt_money(total) if money else "—"),
        (ui("revenue_column", lg), money or "—"),
        (ui("output", lg), Path(output).name),
    ]
    page.add("facts", entries=facts)
    if origin == "fallback":
        notes.append(ui("fallback_labels", lg))
    if not money:
        notes.append(ui("no_revenue", lg))
    page.add("notes")  # the notes are known once the charts are drawn (fonts)

    # (2) sizes
    sizes: dict[str, pl.DataFrame] = {}
    page.section("sizes")
    for col in columns:
        table = label_sizes(frame, col.name, money, list(col.labels))
        sizes[col.name] = table
        page.heading(col.heading(lg), col.name, page.anchor("sizes", col.name))
        page.chart(_sizes_chart(col, table, money is not None))
        header = [ui("label", lg), ui("name", lg), ui("other_name", lg), ui("customers", lg)]
        header += [ui("share", lg)]
        if money:
            header += [ui("revenue", lg), ui("revenue_share", lg)]
        rows = []
        for r in table.iter_rows(named=True):
            cells = [
                r["label"] if r["label"] is not None else NULL_LABEL[lg],
                col.label(r["label"], lg),
                col.other(r["label"], lg),
                _fmt_int(r["customers"]),
                _fmt_pct(r["share"]),
            ]
            if money:
                cells += [_fmt_money(r["revenue"]), _fmt_pct(r["revenue_share"])]
            rows.append(cells)
        page.table(header, rows, 3)

    # (3) Pareto
    if money and n:
        pareto = pareto_curve(frame, money)
        page.section("pareto")
        page.chart(_pareto_chart(pareto))
        page.para(
            ui(
                "pareto_note",
                lg,
                k=_fmt_pct(pareto.customers_at_target),
                b=_fmt_pct(pareto.buyers_at_target),
            )
        )

    # (4) RFM grid
    if {"r_score", "f_score"} <= set(frame.columns):
        m_col = money if "m_score" in frame.columns or money else None
        grid = rfm_grid(frame, m_col)
        page.section("rfm")
        page.chart(_rfm_chart(grid, "customers"))
        if m_col:
            page.chart(_rfm_chart(grid, "mean_monetary"))
        unscored = n - int(grid["customers"].sum())
        if unscored:
            page.para(ui("rfm_unscored", lg, n=_fmt_int(unscored)), "note")

    # (5) distributions
    dims = [c for c in KEY_DIMENSIONS if c in frame.columns and frame.schema[c].is_numeric()]
    if dims:
        hists = [histogram(frame, c) for c in dims]
        page.section("distributions")
        page.chart(_hist_chart(hists))
        page.add(
            "list",
            entries=[
                ui(
                    "dist_note",
                    lg,
                    col=_dimension_note(h.column, lg),
                    lo=_fmt_num(h.edges[0] + (0.5 if h.integer else 0)),
                    hi=_fmt_num(h.edges[-1] - (0.5 if h.integer else 0)),
                    below=_fmt_int(h.below),
                    above=_fmt_int(h.above),
                    nulls=_fmt_int(h.nulls),
                )
                for h in hists
            ],
        )

    # (6) migration
    if previous is not None:
        _migration_section(page, frame, previous, columns, money)

    # (7) geography
    page.section("geo")
    geo_frame, geo_col, geo_src = city_frame(frame, data, manifest)
    if geo_frame is None or geo_col is None:
        page.para(ui("geo_none", lg), "note")
    else:
        _geo_section(page, geo_frame, geo_col, geo_src, money)

    # (8) rollups
    if rolled is not None:
        page.section("rollups")
        for rollup_name, found in rolled.items():
            _rollup_section(page, rollup_name, found, columns)

    # (9) playbook
    page.section("playbook")
    for col in columns:
        with_actions = [k for k, v in col.labels.items() if v.actions_in(lg)]
        page.heading(col.heading(lg), col.name)
        if not with_actions:
            page.para(ui("no_actions", lg), "note")
            continue
        counts = {r["label"]: r for r in sizes[col.name].iter_rows(named=True)}
        rows = []
        for key, info in col.labels.items():
            rec = counts.get(key, {"customers": 0, "share": 0.0})
            rows.append(
                [
                    col.label(key, lg),
                    _fmt_int(rec["customers"]),
                    _fmt_pct(rec["share"]),
                    "; ".join(info.actions_in(lg)) or "—",
                ]
            )
        page.table(
            [ui("label", lg), ui("customers", lg), ui("share", lg), ui("actions", lg)], rows, 1
        )

    # charts: SVG inline, PNG beside
    pngs: list[Path] = []
    png_lang: Lang = lg
    cjk_font = find_cjk_font()
    if png_dir is not None:
        outpaths.make_folder(png_dir, option("png_dir"))
        if lg == "zh" and cjk_font is None:
            png_lang = "en"
            warnings_.append(
                "no CJK font found (e.g. Debian's fonts-noto-cjk): PNG charts have English labels"
            )
    drawn: list[dict[str, Any]] = []
    skipped: list[str] = []  # PNGs not written for want of a CJK font
    for i, chart in enumerate(page.charts):
        log.info("drawing chart %d of %d: %s", i + 1, len(page.charts), chart.key)
        # the index makes it unique, the slug keeps it inside png_dir and the id inert
        name = "-".join(filter(None, (f"{i + 1:02d}", slug(chart.key))))
        svg, png = _render(
            chart, lg, png_lang, cjk_font, Path(png_dir) / f"{name}.png" if png_dir else None
        )
        if png_dir is not None and png is None:
            skipped.append(f"{name}.png")
            warnings_.append(f"{name}.png not written: its city names need a CJK font")
        if png is not None:
            pngs.append(png)
        drawn.append({"name": name, "svg": svg})
    if png_dir is not None:
        notes += _font_notes(lg, png_lang, pngs, skipped, png_dir)
    document = render_page(page, drawn, notes, __version__)
    target = outpaths.write_text(out, document, what=option("out"), writes="html")
    return ReportResult(
        target,
        n,
        page.keys,
        len(drawn),
        pngs,
        notes,
        warnings_,
        time.perf_counter() - t0,
    )


def _font_notes(
    lang: Lang, png_lang: Lang, pngs: Sequence[Path], skipped: Sequence[str], png_dir: str | Path
) -> list[str]:
    """What the page says when PNG charts fell back for want of a CJK font: which (drawn
    in English, not written) and how to fix it. Empty when nothing fell back."""
    said = []
    if png_lang != lang and pngs:
        said.append(ui("font_fallback", lang, n=len(pngs), dir=Path(png_dir).name or png_dir))
    if skipped:
        sep = "、" if lang == "zh" else ", "
        said.append(ui("font_skipped", lang, names=sep.join(skipped)))
    if said:
        said.append(ui("font_fix", lang))
    return [" ".join(said)] if lang == "en" else ["".join(said)]


def _sizes_chart(col: ColumnInfo, table: pl.DataFrame, with_revenue: bool) -> Chart:
    def draw(lang: Lang) -> Figure:
        ascii_only = lang == "en"
        names = [col.label(k, lang, ascii_only=ascii_only) for k in table["label"].to_list()]
        title = col.title.get(lang) or col.name
        if ascii_only and has_cjk(title):
            title = col.name
        return share_bars(
            names,
            table["share"].to_list(),
            table["revenue_share"].to_list() if with_revenue else None,
            lang,
            title,
        )

    return Chart(f"sizes-{col.name}", draw)


def _pareto_chart(p: Pareto) -> Chart:
    def draw(lang: Lang) -> Figure:
        plt = _matplotlib()
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        xs, ys = p.points["customer_share"].to_list(), p.points["revenue_share"].to_list()
        ax.plot(xs, ys, color=COLORS[0], linewidth=2)
        ax.plot([0, 1], [0, 1], color="#999999", linewidth=1, linestyle=":")
        ax.axhline(p.target, color=COLORS[3], linestyle="--", linewidth=1)
        ax.axvline(p.customers_at_target, color=COLORS[3], linestyle="--", linewidth=1)
        ax.annotate(
            f"{p.customers_at_target:.1%} → {p.target:.0%}",
            (p.customers_at_target, p.target),
            xytext=(8, -16),
            textcoords="offset points",
            color=COLORS[3],
        )
        pct = plt.FuncFormatter(lambda v, _: f"{v:.0%}")
        ax.xaxis.set_major_formatter(pct)
        ax.yaxis.set_major_formatter(pct)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(UI["pareto_x"][lang])
        ax.set_ylabel(UI["pareto_y"][lang])
        ax.set_title(UI["pareto"][lang], loc="left")
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        return fig

    return Chart("pareto", draw)


def _rfm_chart(grid: pl.DataFrame, value: str) -> Chart:
    top = int(grid["r"].max() or 5)  # type: ignore[arg-type]

    def draw(lang: Lang) -> Figure:
        # rows: R from high (top) to low; columns: F from low to high
        rs = list(range(top, 0, -1))
        fs = list(range(1, top + 1))
        cell = {(r["r"], r["f"]): r for r in grid.iter_rows(named=True)}
        vals = [[_nan(cell[(r, f)][value]) for f in fs] for r in rs]
        text = [
            [
                "" if math.isnan(v) else (_fmt_int(v) if value == "customers" else _fmt_num(v))
                for v in row
            ]
            for row in vals
        ]
        return heatmap(
            vals,
            [f"R{r}" for r in rs],
            [f"F{f}" for f in fs],
            title=UI["rfm_counts" if value == "customers" else "rfm_monetary"][lang],
            xlabel=UI["f_score"][lang],
            ylabel=UI["r_score"][lang],
            cell_text=text,
        )

    return Chart(f"rfm-{value.replace('_', '-')}", draw)


def _dimension(column: str, lang: Lang) -> str:
    """A key dimension's name in ``lang`` (its column name in English)."""
    return UI[column][lang] if column in KEY_DIMENSIONS else column


def _dimension_note(column: str, lang: Lang) -> str:
    """A key dimension in a note: its Chinese name with the column beside it, or the column."""
    name = _dimension(column, lang)
    return f"{name}（{column}）" if name != column else column


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _hist_chart(hists: list[Histogram]) -> Chart:
    def draw(lang: Lang) -> Figure:
        plt = _matplotlib()
        ncols = 2 if len(hists) > 1 else 1
        nrows = math.ceil(len(hists) / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(7.2, 2.5 * nrows), squeeze=False)
        for ax, h in zip([a for row in axes for a in row], hists, strict=False):
            widths = [b - a for a, b in zip(h.edges[:-1], h.edges[1:], strict=True)]
            ax.bar(h.edges[:-1], h.counts, width=widths, align="edge", color=COLORS[0])
            ax.set_title(_dimension(h.column, lang), loc="left", fontsize="medium")
            ax.spines[["top", "right"]].set_visible(False)
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        for ax in [a for row in axes for a in row][len(hists) :]:
            ax.set_visible(False)
        fig.supylabel(UI["customers"][lang], fontsize="medium")
        fig.tight_layout()
        return fig

    return Chart("distributions", draw)


def _migration_section(
    page: _Page,
    frame: pl.DataFrame,
    previous: str | Path,
    columns: list[ColumnInfo],
    money: str | None,
) -> None:
    from segrule.diff import ABSENT, migration_matrix

    lg = page.lang
    old_frame, old_manifest = read_output(previous)
    shared = [c for c in columns if c.name in old_frame.columns]
    page.section("migration")
    page.para(
        ui(
            "migration_intro",
            lg,
            old=Path(previous).name,
            as_of=(old_manifest or {}).get("as_of") or ui("unknown", lg),
        )
    )
    rev = money if money and money in old_frame.columns else None
    # ids compared as text: a CSV output may have read them as numbers
    old_ids = old_frame.with_columns(pl.col(BASE).cast(pl.String))
    new_ids = frame.with_columns(pl.col(BASE).cast(pl.String))
    for col in shared:
        m = migration_matrix(old_ids, new_ids, col.name, rev)
        page.heading(col.heading(lg), col.name, page.anchor("migration", col.name))
        present = set(m["old"].to_list()) | set(m["new"].to_list())
        keys: list[str | None] = [k for k in col.labels if k in present]
        keys += sorted(k for k in present if k is not None and k not in col.labels and k != ABSENT)
        if None in present:
            keys.append(None)
        olds = [k for k in keys if k in set(m["old"].to_list())]
        news = [k for k in keys if k in set(m["new"].to_list())]
        if ABSENT in present:
            if ABSENT in set(m["old"].to_list()):
                olds.append(ABSENT)
            if ABSENT in set(m["new"].to_list()):
                news.append(ABSENT)
        page.chart(_migration_chart(col, m, olds, news))
        stayed = int(m.filter(pl.col("old").eq_missing(pl.col("new")))["customers"].sum())
        total = int(m["customers"].sum())
        page.para(
            f"{ui('stayed', lg)}: {_fmt_int(stayed)} / {_fmt_int(total)} "
            f"({_fmt_pct(stayed / total if total else 0)})"
        )
        moves = (
            m.filter(pl.col("old").ne_missing(pl.col("new")))
            .sort(["customers", "old", "new"], descending=[True, False, False], nulls_last=True)
            .head(10)
        )
        if moves.height:
            page.add("h4", text=ui("moved", lg))
            header = [ui("old", lg), ui("new", lg), ui("customers", lg)]
            if rev:
                header += [ui("revenue_old", lg), ui("revenue_new", lg)]
            rows = []
            for r in moves.iter_rows(named=True):
                cells = [
                    _mig_label(col, r["old"], lg),
                    _mig_label(col, r["new"], lg),
                    _fmt_int(r["customers"]),
                ]
                if rev:
                    cells += [_fmt_money(r["revenue_old"]), _fmt_money(r["revenue_new"])]
                rows.append(cells)
            page.table(header, rows, 2)


def _mig_label(col: ColumnInfo, key: str | None, lang: Lang, ascii_only: bool = False) -> str:
    from segrule.diff import ABSENT

    if key == ABSENT:
        return "（不存在）" if lang == "zh" and not ascii_only else ABSENT
    return col.label(key, lang, ascii_only=ascii_only)


def _migration_chart(
    col: ColumnInfo, m: pl.DataFrame, olds: list[str | None], news: list[str | None]
) -> Chart:
    cell = {(r["old"], r["new"]): r["customers"] for r in m.iter_rows(named=True)}

    def draw(lang: Lang) -> Figure:
        ascii_only = lang == "en"
        counts = [[float(cell.get((o, nw), 0)) for nw in news] for o in olds]
        # colour by share of the old label's customers: where each old class went
        shares = [[v / (sum(row) or 1) for v in row] for row in counts]
        title = col.title.get(lang) or col.name
        if ascii_only and has_cjk(title):
            title = col.name
        return heatmap(
            counts,
            [_mig_label(col, o, lang, ascii_only) for o in olds],
            [_mig_label(col, nw, lang, ascii_only) for nw in news],
            title=title,
            xlabel=UI["new"][lang],
            ylabel=UI["old"][lang],
            cell_text=[[_fmt_int(v) if v else "" for v in row] for row in counts],
            color_values=shares,
        )

    return Chart(f"migration-{col.name}", draw)


def _geo_section(
    page: _Page, frame: pl.DataFrame, column: str, source: str, money: str | None
) -> None:
    from segrule.model.geo import CITY_REGION, REGION_LABELS

    lg = page.lang
    if source != column:
        page.para(ui("geo_source", lg, src=source), "note")
    cities = geo_counts(frame, column, money)
    page.heading(ui("geo_top", lg, n=TOP_CITIES))
    other = ui("other_cities", lg)

    def city_draw(lang: Lang) -> Figure:
        names = [c if c is not None else UI["other_cities"][lang] for c in cities["label"]]
        return share_bars(
            names,
            cities["share"].to_list(),
            cities["revenue_share"].to_list() if money else None,
            lang,
            UI["geo_top"][lang].format(n=TOP_CITIES),
        )

    names = [c for c in cities["label"].to_list() if c is not None]
    page.chart(Chart(f"{column}-top", city_draw, data_text=names))
    header = [
        ui("city" if column == "city" else "region", lg),
        ui("customers", lg),
        ui("share", lg),
    ]
    if money:
        header += [ui("revenue", lg), ui("revenue_share", lg)]
    rows = []
    for r in cities.iter_rows(named=True):
        cells = [r["label"] or other, _fmt_int(r["customers"]), _fmt_pct(r["share"])]
        if money:
            cells += [_fmt_money(r["revenue"]), _fmt_pct(r["revenue_share"])]
        rows.append(cells)
    page.table(header, rows, 1)
    if column != "city":
        return
    # Regions of the known cities (segrule.model.geo); a city not listed has none.
    keys = list(REGION_LABELS)
    regions = frame.with_columns(
        pl.col("city").cast(pl.String).replace_strict(CITY_REGION, default=None).alias("_region")
    )
    table = label_sizes(regions, "_region", money, keys)
    info = ColumnInfo(
        "region",
        title={"zh": UI["region"]["zh"], "en": UI["region"]["en"]},
        labels={k: Label(k, zh, en) for k, (zh, en) in REGION_LABELS.items()},
    )
    page.heading(ui("region", lg))
    page.chart(_sizes_chart(info, table, money is not None))
    rows = []
    for r in table.iter_rows(named=True):
        cells = [info.label(r["label"], lg), _fmt_int(r["customers"]), _fmt_pct(r["share"])]
        if money:
            cells += [_fmt_money(r["revenue"]), _fmt_pct(r["revenue_share"])]
        rows.append(cells)
    page.table([ui("region", lg), *header[1:]], rows, 1)


def _rollup_section(
    page: _Page, name: str, info: Mapping[str, Any], columns: Sequence[ColumnInfo]
) -> None:
    """One rollup of a ``segrule rollup`` folder: its first groups by revenue as a table
    and as bars (Pareto key groups in their own colour), and how many groups hold what
    share of revenue."""
    from segrule.model.geo import REGION_LABELS

    lg = page.lang
    table: pl.DataFrame = info["table"]
    keys = [k for k in info.get("keys", []) if k in table.columns]
    title = str(info.get(lg) or info.get("en") or info.get("zh") or name)
    page.heading(title, name, page.anchor("rollup", name))
    infos = {c.name: c for c in columns}
    if "region" not in infos:
        infos["region"] = ColumnInfo(
            "region", labels={k: Label(k, zh, en) for k, (zh, en) in REGION_LABELS.items()}
        )

    def shown(key: str, value: Any, lang: Lang) -> str:
        if value is None:
            return NULL_LABEL[lang]
        col = infos.get(key)
        return col.label(str(value), lang) if col is not None else str(value)

    def group_name(row: Mapping[str, Any], lang: Lang) -> str:
        return " / ".join(shown(k, row[k], lang) for k in keys)

    has_pareto = "pareto_key" in table.columns and "revenue_share" in table.columns
    if has_pareto and table.height:
        key_groups = table.filter(pl.col("pareto_key").fill_null(False))
        held = key_groups["revenue_share"].fill_null(0).sum()
        page.para(
            ui(
                "rollup_note",
                lg,
                n=_fmt_int(table.height),
                k=_fmt_int(key_groups.height),
                s=_fmt_pct(float(held)),
            )
        )
    first = table.head(ROLLUP_BARS)
    if "revenue_share" in table.columns and first.height:
        rows_ = list(first.iter_rows(named=True))
        flags = [bool(r.get("pareto_key")) for r in rows_]

        def draw(lang: Lang) -> Figure:
            plt = _matplotlib()
            names = [group_name(r, lang) for r in rows_]
            height = 0.9 + 0.38 * len(names)
            fig, ax = plt.subplots(figsize=(7.2, max(2.0, min(height, 14))))
            ax.barh(
                list(range(len(names))),
                [r["revenue_share"] or 0.0 for r in rows_],
                height=0.7,
                color=[COLORS[1] if f else COLORS[0] for f in flags],
            )
            ax.set_yticks(list(range(len(names))), names)
            ax.invert_yaxis()
            ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
            ax.set_title(UI["rollup_chart"][lang].format(n=len(names)), loc="left")
            if any(flags):
                from matplotlib.patches import Patch

                ax.legend(
                    handles=[Patch(color=COLORS[1], label=UI["pareto_key"][lang])],
                    loc="lower right",
                    fontsize="small",
                    frameon=False,
                )
            ax.spines[["top", "right"]].set_visible(False)
            fig.tight_layout()
            return fig

        texts = [group_name(r, "en") for r in rows_]
        page.chart(Chart(f"rollup-{name}", draw, data_text=texts))
    measures = [
        c
        for c in (
            "orders",
            "rows",
            "customers",
            "customer_share",
            "revenue",
            "revenue_share",
            "cumulative_share",
            "pareto_key",
        )
        if c in table.columns
    ]
    header = [*keys, *(ui(c, lg) for c in measures)]
    body = []
    for r in table.head(ROLLUP_ROWS).iter_rows(named=True):
        cells = [shown(k, r[k], lg) for k in keys]
        for c in measures:
            v = r[c]
            if c in ("orders", "rows", "customers"):
                cells.append("" if v is None else _fmt_int(v))
            elif c == "revenue":
                cells.append(_fmt_money(v))
            elif c == "pareto_key":
                cells.append(ui("yes", lg) if v else "")
            else:
                cells.append(_fmt_pct(v))
        body.append(cells)
    page.table(header, body, len(keys))
    if table.height > ROLLUP_ROWS:
        page.para(ui("rollup_more", lg, shown=ROLLUP_ROWS, file=Path(info["file"]).name), "note")


def _render(
    chart: Chart, lang: Lang, png_lang: Lang, cjk_font: str | None, png: Path | None
) -> tuple[str, Path | None]:
    """The chart as inline SVG (text left as text) and, when ``png`` is given, as PNG
    there (None when it cannot be drawn legibly)."""
    plt = _matplotlib()
    fonts = [cjk_font, "DejaVu Sans"] if cjk_font else ["DejaVu Sans"]
    rc = {
        "svg.fonttype": "none",
        "svg.hashsalt": "segrule",
        "font.family": "sans-serif",
        "font.sans-serif": fonts,
        "font.size": 9,
        "axes.unicode_minus": False,
        # Labels are user text: "$x$" must be drawn as written, not parsed as mathtext
        # (where a lone "$" or "\\foo" is an error).
        "text.parse_math": False,
    }
    written: Path | None = None
    # matplotlib logs a line per figure for a CJK font that has no "normal" weight
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with plt.rc_context(rc), warnings.catch_warnings():
        # Without a CJK font matplotlib measures Chinese text with DejaVu Sans and warns
        # per glyph; the SVG keeps the text and the browser draws it with its fonts.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        # very long labels: the chart is drawn all the same, the warning helps nobody
        warnings.filterwarnings("ignore", message="Tight layout not applied")
        fig = chart.draw(lang)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        legible = cjk_font is not None or not chart.needs_cjk(png_lang)
        if png is not None and png_lang == lang and legible:
            _save_png(fig, png)
            written = png
        plt.close(fig)
        if png is not None and png_lang != lang and legible:
            fig = chart.draw(png_lang)
            _save_png(fig, png)
            plt.close(fig)
            written = png
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    # the figure's own size becomes its maximum; CSS scales it down on narrow screens
    return svg, written


def _save_png(fig: Any, png: Path) -> None:
    """Save a chart as PNG atomically, like every other file segrule writes."""
    outpaths.check_file(png, what=option("png_dir"), writes="png")
    with outpaths.replacing(png, what=option("png_dir")) as tmp:
        fig.savefig(tmp, format="png", dpi=150, metadata={"Software": None})


def _check_report_paths(
    output: str | Path,
    out: str | Path,
    previous: str | Path | None,
    ruleset: Sequence[str | Path],
    data: str | Path | None,
    png_dir: str | Path | None,
    engine: Registry | None,
    rollups: str | Path | None = None,
) -> None:
    """Refuse, before drawing, an --out or --png that is or holds what the report reads."""
    from segrule.engine.execute import input_paths

    inputs = input_paths(
        ruleset,
        data=data,
        files=[
            ("the output to report on", output),
            ("the previous output", previous),
            ("the rollups folder", rollups),
        ],
        engine=engine,
    )
    outpaths.check_file(out, what=option("out"), inputs=inputs, writes="html")
    if png_dir is not None:
        outpaths.check_folder(png_dir, what=option("png_dir"), inputs=inputs)


#: C0 control characters but tab, LF and CR (and DEL) -> U+FFFD: HTML allows none of them,
#: and rule files and data can hold them (a NUL in a label).
_CONTROLS = {c: "\ufffd" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


@functools.cache
def _template() -> Any:
    """The page's Jinja2 template (segrule/templates/report.html.j2), loaded once."""
    try:
        import jinja2
    except ImportError:
        raise SegruleError(
            "segrule report lays out its page with Jinja2, which is not installed: "
            "pip install 'segrule[report]'"
        ) from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("segrule", "templates"),
        # every value on the page is data (rule names, labels, cities): escaped
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2")


def render_page(
    page: _Page, charts: Sequence[Mapping[str, str]], notes: Sequence[str], version: str
) -> str:
    """The HTML page: ``page``'s sections laid out by the template, ``charts`` (name and
    SVG of each chart, in the order of ``page.charts``) in their places, ``notes`` at the
    top. Every string is escaped but the SVG, which segrule drew itself."""
    from markupsafe import Markup

    lang = page.lang
    svgs = [
        # Trusted markup: matplotlib's SVG of a chart segrule drew, where every user
        # string is SVG text that matplotlib escaped. Nothing else is marked safe.
        {"name": c["name"], "svg": Markup(c["svg"])}
        for c in charts
    ]
    page_text: str = _template().render(
        html_lang="zh-CN" if lang == "zh" else "en",
        t={key: texts[lang] for key, texts in UI.items()},
        sections=page.sections,
        charts=svgs,
        notes=list(notes),
        footer=ui("generated", lang, v=version),
    )
    return page_text.translate(_CONTROLS)


__all__ = [
    "UI",
    "ColumnInfo",
    "Histogram",
    "Pareto",
    "ReportResult",
    "build_report",
    "geo_counts",
    "histogram",
    "label_sizes",
    "pareto_curve",
    "rfm_grid",
]
