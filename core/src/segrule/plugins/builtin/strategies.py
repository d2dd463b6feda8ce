"""Core scoring strategies: points, rfm, pareto, quantile tiers."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import polars as pl

from segrule.errors import RuleSetError
from segrule.model.keys import BASE
from segrule.model.nodes import WINDOW_RE, BuildContext, Case, Label, Node, PointsPart, RankLadder
from segrule.model.sql import parse_sql, referenced_names
from segrule.model.strategies import Strategy, ntile, rank_column, row_number, tie_rank
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Register

BASE_COLUMNS = {BASE}


def _deps(*exprs: pl.Expr) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for e in exprs:
        for n in referenced_names(e):
            if n not in BASE_COLUMNS:
                names[n] = None
    return tuple(names)


def _need(params: dict[str, Any], key: str, where: str, name: str) -> Any:
    if key not in params:
        raise RuleSetError(f"parameter '{key}' is required", where=where, name=name)
    return params[key]


def _check_keys(params: dict[str, Any], allowed: set[str], where: str, name: str) -> None:
    for key in params:
        if key not in allowed:
            from segrule.errors import did_you_mean

            raise RuleSetError(
                f"unknown parameter '{key}'{did_you_mean(key, allowed)}; allowed: "
                + ", ".join(sorted(allowed)),
                where=where,
                name=name,
            )


def _labels(spec: dict[str, Any] | None) -> dict[str, Label]:
    out = {}
    for key, info in (spec or {}).items():
        info = info or {}
        actions = info.get("actions", ())
        if isinstance(actions, dict):  # {zh: [...], en: [...]}
            en, zh = tuple(actions.get("en", ())), tuple(actions.get("zh", ()))
        else:
            en, zh = tuple(actions), ()
        out[str(key)] = Label(
            str(key), info.get("zh"), info.get("en"), info.get("description"), en, zh
        )
    return out


def _ladder(
    value: pl.Expr, tiers: list[dict[str, Any]], default: Any, where: str, name: str, what: str
) -> pl.Expr:
    """First match from the highest threshold down: value >= min -> label."""
    mins = [t["min"] for t in tiers]
    if any(not isinstance(m, (int, float)) or isinstance(m, bool) for m in mins):
        raise RuleSetError(
            f"{what}: every 'min' must be a number, got {mins}", where=where, name=name
        )
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        raise RuleSetError(
            f"{what} thresholds {mins} are not in order: list them from the highest 'min' to the "
            "lowest, each once",
            where=where,
            name=name,
        )
    expr: Any = pl
    for t in tiers:
        out = t.get("label", t.get("points"))
        expr = expr.when(value >= t["min"]).then(pl.lit(out))
    return expr.otherwise(pl.lit(default))


# -- points -------------------------------------------------------------------
def _label_key(key: Any) -> str:
    """A label-map key as the value's text: YAML ``true:`` is a bool, a flag reads 'true'."""
    return ("true" if key else "false") if isinstance(key, bool) else str(key)


def _points_part(part: dict[str, Any], i: int, where: str, name: str) -> PointsPart:
    if not isinstance(part, dict):
        raise RuleSetError(f"parts[{i}] must be a mapping", where=where, name=name)
    _check_keys(
        part,
        {"dimension", "expr", "points", "bins", "cases", "default", "weight"},
        where,
        f"{name}.parts[{i}]",
    )
    if "dimension" in part:
        value = pl.col(str(part["dimension"]))
        label = str(part["dimension"])
    elif "expr" in part:
        value = parse_sql(part["expr"], where=where, name=f"{name}.parts[{i}]")
        label = str(part["expr"])
    else:
        value = None
        label = f"parts[{i}]"
    default = part.get("default", 0)
    weight = part.get("weight", 1)
    kinds = [k for k in ("points", "bins", "cases") if k in part]
    if len(kinds) != 1:
        raise RuleSetError(
            f"parts[{i}] needs exactly one of points (a label map), bins or cases",
            where=where,
            name=name,
        )
    cases: list[Case] = []
    if kinds[0] == "cases":
        expr: Any = pl
        for j, case in enumerate(part["cases"]):
            sql = _need(case, "when", where, f"{name}.parts[{i}].cases[{j}]")
            cond = parse_sql(sql, where=where, name=f"{name}.parts[{i}].cases[{j}]")
            expr = expr.when(cond).then(pl.lit(case.get("points", 0)))
            cases.append(Case(str(case.get("points", 0)), cond, str(sql), where))
        pts = expr.otherwise(pl.lit(default)).fill_null(default) * weight
        points_of = None
        sql = "; ".join(f"{c.sql} -> {c.label}" for c in cases)
    else:
        if value is None:
            raise RuleSetError(f"parts[{i}] needs 'dimension' or 'expr'", where=where, name=name)
        if kinds[0] == "points":
            mapping = part["points"]
            if not isinstance(mapping, dict):
                raise RuleSetError(
                    f"parts[{i}].points must map labels to points", where=where, name=name
                )
            table = {_label_key(k): v for k, v in mapping.items()}

            def points_of(v: pl.Expr) -> pl.Expr:
                got = v.cast(pl.String).replace_strict(table, default=default)
                return got.fill_null(default) * weight

            pts = points_of(value)
            sql = ", ".join(f"{_label_key(k)}: {v}" for k, v in mapping.items())
        else:
            bins = part["bins"]

            def points_of(v: pl.Expr) -> pl.Expr:
                got = _ladder(v, bins, default, where, name, f"parts[{i}].bins")
                return got.fill_null(default) * weight

            pts = points_of(value)
            for t in bins:
                cases.append(
                    Case(str(t.get("points", 0)), value >= t["min"], f"{label} >= {t['min']}")
                )
            sql = "; ".join(f"{c.sql} -> {c.label}" for c in cases)
    mins = tuple(t["min"] for t in part["bins"]) if kinds[0] == "bins" else ()
    return PointsPart(label, pts, value, sql, tuple(cases), points_of, default, mins)


def _points(ctx: BuildContext, name: str, params: dict[str, Any], where: str) -> list[Node]:
    _check_keys(params, {"parts", "tiers", "tier", "default_tier", "labels"}, where, name)
    parts = _need(params, "parts", where, name)
    if not isinstance(parts, list) or not parts:
        raise RuleSetError("parts must be a non-empty list", where=where, name=name)
    point_parts = [_points_part(p, i, where, name) for i, p in enumerate(parts)]
    exprs = [p.points for p in point_parts]
    total = pl.sum_horizontal(exprs).alias(name)
    nodes = [
        Node(
            name,
            "derived",
            total,
            deps=_deps(*exprs),
            origin=where,
            role="score",
            description="sum of points",
            parts=tuple(point_parts),
        )
    ]
    if "tiers" in params:
        tier_name = params.get("tier", f"{name}_tier")
        expr = _ladder(
            pl.col(name), params["tiers"], params.get("default_tier"), where, name, "tiers"
        ).alias(tier_name)
        nodes.append(
            Node(
                tier_name,
                "derived",
                expr,
                deps=(name,),
                origin=where,
                role="tier",
                labels=_labels(params.get("labels")),
                description=f"tier by {name}",
                cases=tuple(
                    Case(str(t.get("label")), pl.col(name) >= t["min"], f"{name} >= {t['min']}")
                    for t in params["tiers"]
                ),
                default=params.get("default_tier"),
                ladder=tuple((str(t.get("label")), t["min"]) for t in params["tiers"]),
            )
        )
    return nodes


# -- rfm ------------------------------------------------------------------------
RFM_SEGMENTS: list[tuple[str, str, str, str, str, str]] = [
    # key, R range, F range, zh, en, action
    ("champions", "5", "45", "重要价值客户", "Champions", "reward; early access; ask for reviews"),
    ("loyal", "34", "45", "忠诚客户", "Loyal", "upsell higher-value products; membership perks"),
    (
        "potential_loyalists",
        "45",
        "23",
        "潜力客户",
        "Potential loyalists",
        "membership or loyalty programme; recommend related products",
    ),
    ("new_customers", "5", "1", "新客户", "New customers", "onboarding; build the relationship"),
    ("promising", "4", "1", "有潜力客户", "Promising", "brand awareness; free trials"),
    ("need_attention", "3", "3", "需要关注", "Need attention", "limited-time offers by history"),
    (
        "about_to_sleep",
        "3",
        "12",
        "即将沉睡",
        "About to sleep",
        "share popular products; discounts",
    ),
    ("cant_lose", "12", "5", "不能流失", "Can't lose them", "win back with renewals; talk to them"),
    ("at_risk", "12", "34", "流失风险", "At risk", "personal e-mails; renewals; helpful resources"),
    (
        "hibernating",
        "12",
        "12",
        "沉睡客户",
        "Hibernating",
        "offer other products; special discounts",
    ),
]
#: The playbook of each RFM segment in Chinese (the English is in RFM_SEGMENTS).
RFM_ACTIONS_ZH = {
    "champions": "奖励回馈；新品抢先购；邀请评价",
    "loyal": "推荐更高价值的商品；会员权益",
    "potential_loyalists": "会员或忠诚度计划；推荐相关产品",
    "new_customers": "新客引导；建立关系",
    "promising": "品牌认知；免费试用",
    "need_attention": "按购买历史推送限时优惠",
    "about_to_sleep": "分享热销商品；折扣",
    "cant_lose": "以续订挽回；主动沟通",
    "at_risk": "个性化邮件；续订；有用的内容",
    "hibernating": "推荐其他商品；专属折扣",
}
RFM_LABELS = {
    key: Label(key, zh, en, actions=(action,), actions_zh=(RFM_ACTIONS_ZH[key],))
    for key, _r, _f, zh, en, action in RFM_SEGMENTS
} | {"no_purchase": Label("no_purchase", "未购买", "No purchase")}


def _rfm(ctx: BuildContext, name: str, params: dict[str, Any], where: str) -> list[Node]:
    _check_keys(
        params,
        {
            "recency",
            "frequency",
            "monetary",
            "buyers",
            "buckets",
            "method",
            "cuts",
            "segments",
            "scores",
            "labels",
        },
        where,
        name,
    )
    dims = {
        "recency": params.get("recency", "recency_days"),
        "frequency": params.get("frequency", "orders_lifetime"),
        "monetary": params.get("monetary", "monetary_lifetime"),
    }
    out_names = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}
    out_names.update(params.get("scores", {}))
    k = int(params.get("buckets", 5))
    if k < 2:
        raise RuleSetError("buckets must be at least 2", where=where, name=name)
    method = params.get("method", "ntile")
    if method not in ("ntile", "ties", "cuts"):
        raise RuleSetError(
            f"method '{method}' is not one of ntile, ties, cuts", where=where, name=name
        )
    buyers = parse_sql(params.get("buyers", "orders_lifetime > 0"), where=where, name=name)
    nodes: list[Node] = []
    cuts = params.get("cuts", {})
    for part in ("recency", "frequency", "monetary"):
        value = pl.col(dims[part])
        eligible = (buyers & value.is_not_null()).fill_null(False)
        # Recency: fewer days is better, so rank by days descending: the most recent get k.
        desc = part == "recency"
        if method == "cuts":
            c = _need(cuts, part, where, f"{name}.cuts")
            if list(c) != sorted(c) or len(c) != k - 1:
                raise RuleSetError(
                    f"cuts.{part} {c} must be {k - 1} increasing numbers", where=where, name=name
                )
            above = pl.sum_horizontal([(value >= x).cast(pl.Int64) for x in c])
            score = (k - above) if desc else (above + 1)
        else:
            rank_fn = tie_rank if method == "ties" else row_number
            rank_node, rank = rank_column(
                out_names[part],
                rank_fn(value, eligible, descending=desc),
                deps=_deps(value, buyers),
                origin=where,
            )
            nodes.append(rank_node)
            score = ntile(rank, eligible.sum().cast(pl.Int64), k)
        score_expr = pl.when(eligible).then(score).cast(pl.Int64).alias(out_names[part])
        nodes.append(
            Node(
                out_names[part],
                "population",
                score_expr,
                deps=_deps(value, buyers)
                + (() if method == "cuts" else (f"_{out_names[part]}_rank",)),
                origin=where,
                role="score",
                description=f"{part[0].upper()} score 1..{k} ({method}) of {dims[part]}",
            )
        )
    if params.get("segments", True):
        if k != 5:
            raise RuleSetError(
                "named RFM segments need buckets: 5 (or set segments: false)",
                where=where,
                name=name,
            )
        r, f = pl.col(out_names["recency"]), pl.col(out_names["frequency"])
        expr: Any = pl.when(r.is_null() | f.is_null()).then(pl.lit("no_purchase"))
        cases = [
            Case(
                "no_purchase",
                r.is_null() | f.is_null(),
                f"{out_names['recency']} IS NULL OR {out_names['frequency']} IS NULL",
            )
        ]
        for key, rr, ff, *_ in RFM_SEGMENTS:
            cond = r.is_in([int(x) for x in rr]) & f.is_in([int(x) for x in ff])
            expr = expr.when(cond).then(pl.lit(key))
            cases.append(
                Case(
                    key,
                    cond,
                    f"{out_names['recency']} IN ({', '.join(rr)}) AND "
                    f"{out_names['frequency']} IN ({', '.join(ff)})",
                )
            )
        labels = dict(RFM_LABELS) | _labels(params.get("labels"))
        nodes.insert(
            0,
            Node(
                name,
                "derived",
                expr.otherwise(pl.lit("no_purchase")).alias(name),
                deps=(out_names["recency"], out_names["frequency"]),
                origin=where,
                role="segment",
                labels=labels,
                cases=tuple(cases),
                default="no_purchase",
                description="named RFM segment from R and F scores",
            ),
        )
    else:
        nodes.insert(
            0,
            Node(
                name,
                "derived",
                pl.concat_str(
                    [
                        pl.col(out_names[p]).cast(pl.String)
                        for p in ("recency", "frequency", "monetary")
                    ]
                ).alias(name),
                deps=tuple(out_names.values()),
                origin=where,
                role="score",
                description="RFM code such as '545'",
            ),
        )
    return nodes


# -- pareto ---------------------------------------------------------------------
def _cents_of(dim: str) -> str | None:
    return f"_{dim}_cents" if re.fullmatch(f"monetary_({WINDOW_RE})", dim) else None


def _fraction(value: Any, what: str, where: str, name: str) -> Fraction:
    try:
        f = Fraction(str(value)).limit_denominator(100_000)
    except (ValueError, ZeroDivisionError):
        raise RuleSetError(
            f"{what} must be a number between 0 and 1, got {value!r}", where=where, name=name
        ) from None
    if not 0 < f <= 1:
        raise RuleSetError(f"{what} must be in (0, 1], got {value}", where=where, name=name)
    return f


def _pareto(ctx: BuildContext, name: str, params: dict[str, Any], where: str) -> list[Node]:
    _check_keys(params, {"dimension", "share", "buyers", "labels"}, where, name)
    dim = params.get("dimension", "monetary_lifetime")
    share = _fraction(params.get("share", 0.8), "share", where, name)
    buyers = parse_sql(params.get("buyers", "orders_lifetime > 0"), where=where, name=name)
    cents = _cents_of(dim)
    value = pl.col(cents) if cents else pl.col(dim)
    eligible = (buyers & value.is_not_null()).fill_null(False)
    v = pl.when(eligible).then(value).otherwise(0)
    rank_node, rank = rank_column(
        name, row_number(value, eligible, descending=True), deps=_deps(value, buyers), origin=where
    )
    # Running total in rank order, read back at each customer's position.
    running = v.sort_by(rank, nulls_last=True).cum_sum().gather(rank - 1)
    before = running - v
    total = v.sum()
    if cents:  # exact integer test: before < share * total
        key = before * share.denominator < total * share.numerator
    else:
        key = before < total * float(share)
    expr = pl.when(eligible).then(key).otherwise(False).alias(name)
    return [
        Node(
            name,
            "population",
            expr,
            deps=(dim, *_deps(value, buyers), rank_node.name),
            origin=where,
            role="segment",
            labels={
                "true": Label("true", "核心客户", "Key customer"),
                "false": Label("false", "其他客户", "Other"),
            },
            description=f"in the smallest set of buyers holding {float(share):.0%} of {dim}",
        ),
        rank_node,
    ]


# -- quantile tiers -------------------------------------------------------------
def _quantile(ctx: BuildContext, name: str, params: dict[str, Any], where: str) -> list[Node]:
    _check_keys(params, {"dimension", "tiers", "default", "eligible", "labels"}, where, name)
    dim = _need(params, "dimension", where, name)
    tiers = _need(params, "tiers", where, name)
    cents = _cents_of(dim)
    value = pl.col(cents) if cents else pl.col(dim)
    cond = parse_sql(params["eligible"], where=where, name=name) if "eligible" in params else None
    eligible = (
        value.is_not_null() if cond is None else (cond & value.is_not_null()).fill_null(False)
    )
    tops = [_fraction(t.get("top"), "top", where, name) for t in tiers]
    if tops != sorted(tops) or len(set(tops)) != len(tops):
        raise RuleSetError(
            f"tiers' 'top' shares {[float(t) for t in tops]} are not in order: list "
            "the smallest share first",
            where=where,
            name=name,
        )
    deps = (dim, *_deps(value)) + (_deps(cond) if cond is not None else ())
    rank_node, rank = rank_column(
        name, row_number(value, eligible, descending=True), deps=deps, origin=where
    )
    n = eligible.sum().cast(pl.Int64)
    expr: Any = pl
    rungs = []
    for t, top in zip(tiers, tops, strict=True):
        limit = (n * top.numerator + top.denominator - 1) // top.denominator  # ceil(top * n)
        expr = expr.when(rank <= limit).then(pl.lit(t["label"]))
        rungs.append((str(t["label"]), limit))
    default = params.get("default", "rest")
    expr = expr.otherwise(pl.lit(default)).alias(name)
    return [
        Node(
            name,
            "population",
            expr,
            deps=tuple(dict.fromkeys((*deps, rank_node.name))),
            origin=where,
            role="tier",
            labels=_labels(params.get("labels")),
            description=f"top-share tiers by {dim} (ties broken by customer_id)",
            default=str(default),
            rank_ladder=RankLadder(dim, value, 100 if cents else 1, rank, tuple(rungs)),
        ),
        rank_node,
    ]


STRATEGIES = [
    Strategy(
        "points",
        _points,
        "points per dimension (label maps, bins or SQL cases), weighted and summed; optional "
        "first-match tier ladder by the total",
        {
            "parts": "list of {dimension|expr, points|bins|cases, default, weight}",
            "tiers": "list of {label, min}, highest min first",
            "tier": "tier column name",
            "default_tier": "label below the lowest min",
        },
    ),
    Strategy(
        "rfm",
        _rfm,
        "R/F/M scores 1..k by NTILE over buyers (ties by customer_id), tie-aware ranks or "
        "fixed cuts, and the named RFM segments",
        {
            "recency/frequency/monetary": "dimension names",
            "buckets": "k (default 5)",
            "method": "ntile | ties | cuts",
            "cuts": "{recency: [...], ...}, k-1 increasing",
            "buyers": "SQL condition of who is scored (default orders_lifetime > 0)",
            "segments": "add the named segment (default true)",
        },
    ),
    Strategy(
        "pareto",
        _pareto,
        "true for the smallest set of buyers, by value descending then customer_id, whose "
        "running total reaches a share of the total (the one crossing it included)",
        {
            "dimension": "default monetary_lifetime",
            "share": "default 0.8",
            "buyers": "SQL condition (default orders_lifetime > 0)",
        },
    ),
    Strategy(
        "quantile",
        _quantile,
        "top-x% tiers by a dimension: the first ceil(x*n) eligible customers by value "
        "descending then customer_id",
        {
            "dimension": "ranked dimension",
            "tiers": "list of {label, top}, smallest top first",
            "default": "label of the rest",
            "eligible": "SQL condition",
        },
    ),
]


@hookimpl
def segrule_register_strategies(register: Register) -> None:
    for strategy in STRATEGIES:
        register(strategy)
