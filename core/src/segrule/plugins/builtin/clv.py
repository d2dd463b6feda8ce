"""Customer lifetime value: the ``clv_*`` input dimensions and the ``clv`` strategy
(BG/NBD + Gamma-Gamma, fitted on the run's own customers).

The inputs are builtin dimensions computed exactly from paid orders, as ``lifetimes``'
``summary_data_from_transaction_data`` computes them with daily periods (the purchase
day is the calendar day of ``order_ts`` in the business time zone):

- ``clv_frequency``: distinct paid purchase days minus 1 (repeat purchase days);
- ``clv_recency_days``: days from the first to the last paid purchase day;
- ``clv_t_days``: days from the first paid purchase day to the as-of day (the last day
  the run sees: the day before an as-of at midnight);
- ``clv_monetary``: mean value per repeat purchase day (paid amounts after the first
  day divided by ``clv_frequency``; 0 without repeat purchases).

All four are null for a customer without a paid order. The strategy reads them by
default; its ``frequency``/``recency``/``T``/``monetary`` parameters name other
dimensions (e.g. weekly ones a rule set defines).

The fit is one population node: ``pl.struct(inputs).map_batches(...)`` hands the four
whole columns to :func:`segrule.model.clv.estimate` once per run (NumPy/SciPy, the
``segrule[models]`` extra), and the model outputs are read from that struct.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import polars as pl

from segrule.errors import RuleSetError
from segrule.model import clv as model
from segrule.model.nodes import (
    BuildContext,
    Case,
    Dimension,
    Label,
    Node,
    RankLadder,
    masked,
)
from segrule.model.strategies import Strategy, rank_column, row_number
from segrule.plugins.builtin.strategies import _check_keys, _fraction, _labels, _ladder
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Register

log = logging.getLogger(__name__)

PAID = pl.col("status") == "paid"
DAY = pl.col("order_ts").dt.date()


# -- dimensions ---------------------------------------------------------------------
def _frequency(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    days = masked(DAY, PAID).drop_nulls()
    expr = pl.when(days.count() > 0).then(days.n_unique().cast(pl.Int64) - 1).alias(name)
    return [
        Node(
            name,
            "aggregate",
            expr,
            table="orders",
            columns=("order_ts", "status"),
            description="repeat purchase days: distinct paid purchase days minus 1 (null "
            "without a paid order)",
            mask=PAID,
        )
    ]


def _days_between(first: str, last: str | None, description: str) -> Any:
    def build(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
        # The as-of day is the last day the run sees (rows before the as-of instant
        # count): an as-of at midnight ends the day before, as lifetimes'
        # observation_period_end names the last day of the data.
        as_of_day = (ctx.as_of - dt.timedelta(microseconds=1)).date()
        end = pl.lit(as_of_day, dtype=pl.Date) if last is None else pl.col(last).dt.date()
        expr = (end - pl.col(first).dt.date()).dt.total_days().cast(pl.Int64).alias(name)
        deps = (first,) if last is None else (first, last)
        return [Node(name, "derived", expr, deps=deps, description=description)]

    return build


def _monetary(ctx: BuildContext, name: str, g: dict[str, str], p: dict[str, Any]) -> list[Node]:
    first_day = f"_{name}_first_day_cents"
    total, freq = "_monetary_lifetime_cents", "clv_frequency"
    first = masked(DAY, PAID).min()
    first_cents = masked(pl.col("amount_cents"), PAID & (first == DAY)).sum()
    repeat_cents = pl.col(total) - pl.col(first_day)
    # One IEEE division of two exact integers: the same bits whatever the row order.
    expr = (
        pl.when(pl.col(freq) > 0)
        .then(repeat_cents / (pl.col(freq) * 100))
        .when(pl.col(freq) == 0)
        .then(pl.lit(0.0))
        .alias(name)
    )
    return [
        Node(
            name,
            "derived",
            expr,
            deps=("monetary_lifetime", total, first_day, freq),
            description="mean paid value per repeat purchase day (0 without repeat "
            "purchases, null without a paid order)",
        ),
        Node(
            first_day,
            "aggregate",
            first_cents.cast(pl.Int64).alias(first_day),
            table="orders",
            columns=("order_ts", "status", "amount_cents"),
            fill=0,
            role="helper",
            mask=PAID,
        ),
    ]


DIMENSIONS = [
    Dimension(
        "clv_frequency",
        _frequency,
        "aggregate",
        "repeat purchase days (distinct paid purchase days - 1), the BG/NBD frequency",
        "integer",
        tables=("orders",),
        title={"zh": "复购天数", "en": "repeat purchase days"},
    ),
    Dimension(
        "clv_recency_days",
        _days_between(
            "first_order_ts",
            "last_order_ts",
            "days from the first to the last paid purchase day (the BG/NBD recency)",
        ),
        "derived",
        "days from the first to the last paid purchase day, the BG/NBD recency",
        "integer",
        tables=("orders",),
        title={"zh": "首末购间隔天数", "en": "first to last purchase, days"},
    ),
    Dimension(
        "clv_t_days",
        _days_between(
            "first_order_ts", None, "days from the first paid purchase day to the as-of day"
        ),
        "derived",
        "days from the first paid purchase day to the as-of day, the BG/NBD T",
        "integer",
        tables=("orders",),
        title={"zh": "客户年龄天数", "en": "customer age, days"},
    ),
    Dimension(
        "clv_monetary",
        _monetary,
        "derived",
        "mean paid value per repeat purchase day, the Gamma-Gamma monetary value",
        "number",
        tables=("orders",),
        title={"zh": "复购平均金额", "en": "mean repeat purchase value"},
    ),
]


# -- the strategy ---------------------------------------------------------------------
FIELDS = ("expected_purchases", "p_alive", "expected_spend", "clv")
FIT_DTYPE = pl.Struct({f: pl.Float64 for f in FIELDS})
#: digits kept per output: money to the cent, probabilities and counts to 1e-6
DIGITS = {"expected_purchases": 6, "p_alive": 6, "expected_spend": 2, "clv": 2}

TIER_LABELS = {
    "no_purchase": Label("no_purchase", "未购买", "No purchase"),
    "no_estimate": Label(
        "no_estimate",
        "无法估计",
        "No estimate",
        description="the models could not be fitted (too few repeat buyers) or the "
        "customer's inputs are invalid",
    ),
}


def _number(params: dict[str, Any], key: str, default: float, where: str, name: str) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleSetError(f"{key} must be a number, got {value!r}", where=where, name=name)
    return float(value)


def _fit_function(horizon: float, penalizer: float, discount: float) -> Any:
    """The batch function of the fit node: four whole input columns in, the model
    outputs out (a struct of floats, null where there is no estimate)."""

    def fit(inputs: pl.Series) -> pl.Series:
        import importlib

        import numpy as np

        frame = inputs.struct.unnest()
        cols = [
            frame.get_column(c).cast(pl.Float64).fill_null(float("nan")).to_numpy()
            for c in frame.columns
        ]
        x, tx, t, m = (np.array(c, dtype=np.float64) for c in cols)
        # Inputs no customer history can give are left without an estimate.
        with np.errstate(invalid="ignore"):
            bad = (x < 0) | (x != np.floor(x)) | (tx < 0) | (tx > t) | (m < 0)
        for arr in (x, tx, t, m):
            arr[bad] = np.nan
        known = int((~(np.isnan(x) | np.isnan(tx) | np.isnan(t) | np.isnan(m))).sum())
        if known:  # not the compiler's one-row type check, which needs no SciPy
            for module in ("scipy.optimize", "scipy.special"):  # imported before the
                importlib.import_module(module)  # clock: the log times the fit
        start = time.perf_counter()
        got = model.estimate(
            x, tx, t, m, horizon=horizon, penalizer=penalizer, discount_rate=discount
        )
        if known:
            log.info(
                "clv fit over %d customers: BG/NBD %s; Gamma-Gamma %s (fit and predictions %.2f s)",
                known,
                got.bgnbd or "no fit",
                got.gamma_gamma or "no fit",
                time.perf_counter() - start,
            )
        out = pl.DataFrame(
            {
                "expected_purchases": got.expected_purchases,
                "p_alive": got.p_alive,
                "expected_spend": got.expected_spend,
                "clv": got.clv,
            },
            schema={f: pl.Float64 for f in FIELDS},
        ).select(pl.col(f).fill_nan(None).round(DIGITS[f]) for f in FIELDS)
        return out.to_struct(inputs.name)

    return fit


def _clv(ctx: BuildContext, name: str, params: dict[str, Any], where: str) -> list[Node]:
    _check_keys(
        params,
        {
            "frequency",
            "recency",
            "T",
            "monetary",
            "horizon_days",
            "discount_rate",
            "penalizer",
            "tiers",
            "default_tier",
            "churn_below",
            "columns",
            "labels",
        },
        where,
        name,
    )
    missing = model.missing_modules()
    if missing:
        raise RuleSetError(
            f"the clv strategy needs {' and '.join(missing)}: install the models extra "
            f"(pip install '{model.EXTRA}')",
            where=where,
            name=name,
        )
    inputs = [
        str(params.get(k, d))
        for k, d in (
            ("frequency", "clv_frequency"),
            ("recency", "clv_recency_days"),
            ("T", "clv_t_days"),
            ("monetary", "clv_monetary"),
        )
    ]
    horizon = _number(params, "horizon_days", 365, where, name)
    discount = _number(params, "discount_rate", 0, where, name)
    penalizer = _number(params, "penalizer", 0, where, name)
    if horizon <= 0:
        raise RuleSetError(
            f"horizon_days must be positive, got {horizon:g}", where=where, name=name
        )
    if discount < 0 or penalizer < 0:
        raise RuleSetError(
            "discount_rate and penalizer must not be negative", where=where, name=name
        )
    columns = params.get("columns") or {}
    if not isinstance(columns, dict):
        raise RuleSetError("columns must map outputs to column names", where=where, name=name)
    _check_keys(
        columns,
        {"expected_purchases", "p_alive", "expected_spend", "tier", "churn_risk"},
        where,
        f"{name}.columns",
    )
    out = {f: str(columns.get(f, f"{name}_{f}")) for f in FIELDS if f != "clv"}
    out["clv"] = name
    fit_col = f"_{name}_fit"
    fit_expr = (
        pl.struct([pl.col(c) for c in inputs])
        .map_batches(
            _fit_function(horizon, penalizer, discount),
            return_dtype=FIT_DTYPE,
            is_elementwise=False,
        )
        .alias(fit_col)
    )
    what = f"{horizon:g} days" + (f", discounted {discount:g} per 30 days" if discount else "")
    descriptions = {
        "clv": f"expected value of purchases in the next {what} (BG/NBD x Gamma-Gamma)",
        "expected_purchases": f"expected purchases in the next {horizon:g} days (BG/NBD)",
        "p_alive": "probability the customer is still active (BG/NBD; 1 after one purchase day)",
        "expected_spend": "expected value of a future purchase (Gamma-Gamma)",
    }
    nodes = [
        Node(
            out[f],
            "derived",
            pl.col(fit_col).struct.field(f).alias(out[f]),
            deps=(fit_col,),
            origin=where,
            role="score",
            description=descriptions[f],
        )
        for f in ("clv", "expected_purchases", "p_alive", "expected_spend")
    ]
    nodes.append(
        Node(
            fit_col,
            "population",
            fit_expr,
            deps=tuple(inputs),
            origin=where,
            role="helper",
            description="BG/NBD and Gamma-Gamma fitted over every customer (maximum "
            f"likelihood, penalizer {penalizer:g}); the fitted parameters are logged",
        )
    )
    if "tiers" in params:
        nodes.extend(
            _tiers(name, inputs[0], params, where, str(columns.get("tier", f"{name}_tier")))
        )
    if "churn_below" in params:
        below = _fraction(params["churn_below"], "churn_below", where, name)
        flag = str(columns.get("churn_risk", f"{name}_churn_risk"))
        nodes.append(
            Node(
                flag,
                "derived",
                (pl.col(out["p_alive"]) < float(below)).alias(flag),
                deps=(out["p_alive"],),
                origin=where,
                role="segment",
                labels={
                    "true": Label("true", "流失风险", "Churn risk"),
                    "false": Label("false", "无流失风险", "No churn risk"),
                },
                description=f"P(alive) below {float(below):g} (null without an estimate)",
            )
        )
    return nodes


def _tiers(name: str, frequency: str, params: dict[str, Any], where: str, tier: str) -> list[Node]:
    """Tiers by CLV: a ladder (``min``) or top shares (``top``) of the customers with an
    estimate; ``no_purchase`` without the inputs, ``no_estimate`` without a CLV."""
    tiers = params["tiers"]
    if not isinstance(tiers, list) or not tiers or not all(isinstance(t, dict) for t in tiers):
        raise RuleSetError(
            "tiers must be a non-empty list of {label, min|top}", where=where, name=name
        )
    value = pl.col(name)
    default = str(params.get("default_tier", "low"))
    labels = dict(TIER_LABELS) | _labels(params.get("labels"))
    head: Any = (
        pl.when(pl.col(frequency).is_null())
        .then(pl.lit("no_purchase"))
        .when(value.is_null())
        .then(pl.lit("no_estimate"))
    )
    if all("min" in t for t in tiers):
        _ladder(value, tiers, default, where, name, "tiers")  # checks the thresholds' order
        expr = head
        for t in tiers:
            expr = expr.when(value >= t["min"]).then(pl.lit(str(t["label"])))
        return [
            Node(
                tier,
                "derived",
                expr.otherwise(pl.lit(default)).alias(tier),
                deps=(name, frequency),
                origin=where,
                role="tier",
                labels=labels,
                description=f"tier by {name}",
                cases=tuple(
                    Case(str(t["label"]), value >= t["min"], f"{name} >= {t['min']}") for t in tiers
                ),
                default=default,
                ladder=tuple((str(t["label"]), t["min"]) for t in tiers),
            )
        ]
    if not all("top" in t for t in tiers):
        raise RuleSetError(
            "tiers: give every tier a 'min' (a CLV ladder) or every tier a 'top' (a share)",
            where=where,
            name=name,
        )
    tops = [_fraction(t["top"], "top", where, name) for t in tiers]
    if tops != sorted(tops) or len(set(tops)) != len(tops):
        raise RuleSetError(
            f"tiers' 'top' shares {[float(t) for t in tops]} are not in order: list the "
            "smallest share first",
            where=where,
            name=name,
        )
    eligible = value.is_not_null()
    rank_node, rank = rank_column(
        tier, row_number(value, eligible, descending=True), deps=(name,), origin=where
    )
    n = eligible.sum().cast(pl.Int64)
    expr = head
    rungs = []
    for t, top in zip(tiers, tops, strict=True):
        limit = (n * top.numerator + top.denominator - 1) // top.denominator  # ceil(top * n)
        expr = expr.when(rank <= limit).then(pl.lit(str(t["label"])))
        rungs.append((str(t["label"]), limit))
    return [
        Node(
            tier,
            "population",
            expr.otherwise(pl.lit(default)).alias(tier),
            deps=(name, frequency, rank_node.name),
            origin=where,
            role="tier",
            labels=labels,
            description=f"top-share tiers by {name} (ties broken by customer_id)",
            default=default,
            rank_ladder=RankLadder(name, value, 1, rank, tuple(rungs)),
        ),
        rank_node,
    ]


STRATEGIES = [
    Strategy(
        "clv",
        _clv,
        "customer lifetime value: BG/NBD (expected purchases, P(alive)) and Gamma-Gamma "
        "(expected spend) fitted by maximum likelihood over every customer, CLV over a "
        "horizon, optional CLV tiers and a churn-risk flag (needs segrule[models])",
        {
            "frequency/recency/T/monetary": "input dimensions (default clv_frequency, "
            "clv_recency_days, clv_t_days, clv_monetary)",
            "horizon_days": "prediction horizon in days (default 365)",
            "discount_rate": "discount per 30 days (default 0)",
            "penalizer": "L2 penalty on the parameters, like lifetimes' penalizer_coef (default 0)",
            "tiers": "list of {label, min} (CLV ladder, highest first) or {label, top} "
            "(top shares, smallest first)",
            "default_tier": "label below the last tier (default low)",
            "churn_below": "P(alive) threshold of the churn-risk flag",
            "columns": "output names: expected_purchases, p_alive, expected_spend, tier, "
            "churn_risk (default <name>_<output>)",
        },
    )
]


@hookimpl
def segrule_register_dimensions(register: Register) -> None:
    for dim in DIMENSIONS:
        register(dim)


@hookimpl
def segrule_register_strategies(register: Register) -> None:
    for strategy in STRATEGIES:
        register(strategy)
