"""The BG/NBD and Gamma-Gamma customer-lifetime-value models: likelihoods, fits and
predictions over whole NumPy arrays.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") models repeat
purchases: while alive a customer buys at a Poisson rate drawn from Gamma(r, alpha) and
after each purchase drops out with a probability drawn from Beta(a, b). Gamma-Gamma
(Fader & Hardie 2013, "The Gamma-Gamma model of monetary value") models the mean
spend of repeat purchases with the parameters p, q, gamma.

Per customer the inputs are those of the ``lifetimes`` package's
``summary_data_from_transaction_data``: ``frequency`` (repeat purchase periods),
``recency`` (age at the last purchase), ``T`` (age at the as-of) and ``monetary`` (mean
value of the repeat purchases).

The fits maximise the mean log-likelihood with a quadratic penalty on the parameters
(``lifetimes``' ``penalizer_coef``) by BFGS over the log-parameters with analytic
gradients, from the same starting point every time; time is scaled by ``10 / max(T)``
during the BG/NBD fit, as ``lifetimes`` does. Customers with the same inputs are
collapsed into one weighted row first (sorted, so the result does not depend on row
order), which makes a fit over a million customers a fit over their distinct
histories.

NumPy and SciPy are imported inside the functions (the ``segrule[models]`` extra): core
scoring imports this module without them. Nothing here reads or writes polars frames.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

log = logging.getLogger(__name__)

#: the extra that installs NumPy and SciPy
EXTRA = "segrule[models]"
#: days per discounting period: ``discount_rate`` is per 30 days, as ``lifetimes``'
#: ``customer_lifetime_value(freq="D")`` treats a month
DISCOUNT_PERIOD_DAYS = 30
#: the largest gradient (of the mean log-likelihood in log-parameters) a fit that
#: BFGS reports as not converged may still have to be accepted (BFGS stops with
#: "precision loss" at an optimum it cannot improve in float64)
GRADIENT_TOLERANCE = 1e-4


def missing_modules() -> list[str]:
    """The modules of the models extra that cannot be imported (empty when installed)."""
    import importlib.util

    return [m for m in ("numpy", "scipy") if importlib.util.find_spec(m) is None]


@dataclass(frozen=True)
class BetaGeoParams:
    """Fitted BG/NBD parameters (time in the input's unit, days in segrule)."""

    r: float
    alpha: float
    a: float
    b: float

    def __str__(self) -> str:
        return f"r={self.r:.6g} alpha={self.alpha:.6g} a={self.a:.6g} b={self.b:.6g}"


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters (``v`` is the scale called gamma in the paper)."""

    p: float
    q: float
    v: float

    def __str__(self) -> str:
        return f"p={self.p:.6g} q={self.q:.6g} v={self.v:.6g}"


# -- collapsing equal rows --------------------------------------------------------
def distinct_rows(*columns: Array) -> tuple[list[Array], Array, Any]:
    """The distinct rows of ``columns`` in sorted order, their counts, and for each input
    row the index of its distinct row (so ``distinct[k][inverse]`` is ``columns[k]``)."""
    import numpy as np

    n = len(columns[0])
    if n == 0:
        return [c[:0] for c in columns], np.zeros(0), np.zeros(0, dtype=np.int64)
    key = _packed(columns)
    # One stable sort of one integer key when the columns are small whole numbers (days,
    # counts: 10x faster than a lexsort of three float columns), else a lexsort.
    order = (
        np.argsort(key, kind="stable")
        if key is not None
        else np.lexsort(tuple(reversed(columns)))  # first column is the primary key
    )
    sorted_cols = [c[order] for c in columns]
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for c in sorted_cols:
        new[1:] |= c[1:] != c[:-1]
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group
    weights = np.bincount(group).astype(np.float64)
    return [c[new] for c in sorted_cols], weights, inverse


def _packed(columns: tuple[Array, ...]) -> Any:
    """The columns as one int64 key ordered as the rows are (first column first), or None
    when a column is not whole non-negative numbers or the key would not fit."""
    import numpy as np

    key = np.zeros(len(columns[0]), dtype=np.int64)
    room = 1
    for c in columns:
        top = float(c.max())
        if not (float(c.min()) >= 0 and np.all(c == np.floor(c)) and top < 2**20):
            return None
        room *= int(top) + 1
        if room >= 2**62:
            return None
        key = key * (int(top) + 1) + c.astype(np.int64)
    return key


@dataclass(frozen=True)
class Levels:
    """A column as its distinct values and, per row, the index of its value, so that a
    function of the column is computed once per distinct value and gathered: frequency,
    recency and T take a few hundred distinct values over a million customers."""

    values: Array
    index: Any
    rows: Array

    @classmethod
    def of(cls, column: Array) -> Levels:
        import numpy as np

        values, index = np.unique(column, return_inverse=True)
        return cls(values, index, column)

    def map(self, f: Any) -> Array:
        """``f`` of every row, computed once per distinct value."""
        return f(self.values)[self.index]  # type: ignore[no-any-return]


# -- BG/NBD -------------------------------------------------------------------------
def bgnbd_loglik(params: Array, x: Levels, tx: Levels, T: Levels) -> tuple[Array, list[Array]]:
    """Per-row log-likelihood of BG/NBD at ``params = (r, alpha, a, b)`` and its
    gradient with respect to each parameter (one row array per parameter).

    LL = ln G(r+x) - ln G(r) + r ln(alpha) + ln B(a, b+x) - ln B(a, b)
         + ln[(alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+tx)^-(r+x)]   (FHL 2005, eq. 6)
    """
    import numpy as np
    from scipy.special import digamma, gammaln

    r, alpha, a, b = (float(v) for v in params)
    xr = x.rows
    repeat = xr > 0
    # Terms of x alone, of T alone and of tx alone: once per distinct value.
    head = x.map(lambda v: gammaln(r + v) + gammaln(b + v) - gammaln(a + b + v))
    head += r * math.log(alpha) - gammaln(r) + gammaln(a + b) - gammaln(b)
    log_bx1 = x.map(lambda v: np.log(np.where(v > 0, b + v - 1, 1.0)))
    log_at, log_atx = T.map(lambda v: np.log(alpha + v)), tx.map(lambda v: np.log(alpha + v))
    a3 = -(r + xr) * log_at
    # Without a repeat purchase the second term is absent: a3 - 1000 adds exactly 0 to
    # the log-sum and weighs 0 (numpy's logaddexp is 8x slower with -inf).
    a4 = np.where(repeat, math.log(a) - log_bx1 - (r + xr) * log_atx, a3 - 1000.0)
    tail = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - tail), np.exp(a4 - tail)
    ll = head + tail
    d_r = x.map(lambda v: digamma(r + v)) - digamma(r) + math.log(alpha)
    d_r -= w3 * log_at + w4 * log_atx
    d_alpha = r / alpha - (r + xr) * (
        w3 * T.map(lambda v: 1 / (alpha + v)) + w4 * tx.map(lambda v: 1 / (alpha + v))
    )
    d_ab = x.map(lambda v: digamma(a + b) - digamma(a + b + v))
    d_a = d_ab + w4 / a
    d_b = d_ab + x.map(lambda v: digamma(b + v) - digamma(b)) - w4 * np.exp(-log_bx1)
    return ll, [d_r, d_alpha, d_a, d_b]


def _fit(
    loglik: Any,
    data: tuple[Any, ...],
    weights: Array,
    n_params: int,
    penalizer: float,
) -> tuple[Array, bool, float]:
    """Maximise the weighted mean log-likelihood minus ``penalizer * sum(params**2)`` by
    BFGS over log-parameters from log-params 0.1 (``lifetimes``' start). Returns the
    parameters, whether the fit is accepted, and the largest final gradient."""
    import numpy as np
    from scipy.optimize import minimize

    total = float(weights.sum())

    def objective(theta: Array) -> tuple[float, Array]:
        params = np.exp(theta)
        if not np.all(np.isfinite(params)):
            return math.inf, np.zeros_like(theta)
        with np.errstate(all="ignore"):
            ll, grad = loglik(params, *data)
        # Sums as numpy's pairwise np.sum, not a BLAS dot: the same bits whatever the
        # thread count (and a threaded dot was 20x slower on a busy machine).
        value = -float(np.sum(ll * weights)) / total + penalizer * float(np.sum(params**2))
        g = -np.array([float(np.sum(weights * d)) for d in grad]) / total
        g += 2 * penalizer * params
        if not math.isfinite(value) or not np.all(np.isfinite(g)):
            return math.inf, np.zeros_like(theta)
        return value, g * params  # chain rule: d/dlog(p) = p * d/dp

    start = np.full(n_params, 0.1)
    res = minimize(
        objective, start, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 2000}
    )
    params = np.exp(res.x)
    _, g = objective(res.x)
    worst = float(np.max(np.abs(g))) if np.all(np.isfinite(g)) else math.inf
    ok = bool(np.all(np.isfinite(params)) and math.isfinite(res.fun) and worst < GRADIENT_TOLERANCE)
    return params, ok, worst


def fit_bgnbd(
    frequency: Array, recency: Array, T: Array, penalizer: float = 0.0
) -> BetaGeoParams | None:
    """BG/NBD maximum-likelihood parameters, or None when no fit is possible (no
    customer, or the optimum is not found: e.g. nobody ever came back)."""
    if len(frequency) == 0:
        return None
    (x, tx, t), weights, _ = distinct_rows(frequency, recency, T)
    return _fit_bgnbd(x, tx, t, weights, penalizer)


def _fit_bgnbd(
    x: Array, tx: Array, t: Array, weights: Array, penalizer: float
) -> BetaGeoParams | None:
    """:func:`fit_bgnbd` over distinct histories with their counts."""
    t_max = float(t.max())
    scale = 10.0 / t_max if t_max > 0 else 1.0
    data = (Levels.of(x), Levels.of(tx * scale), Levels.of(t * scale))
    params, ok, worst = _fit(bgnbd_loglik, data, weights, 4, penalizer)
    if not ok:
        log.info("clv: the BG/NBD fit did not converge (gradient %.3g); no estimates", worst)
        return None
    r, alpha, a, b = (float(v) for v in params)
    return BetaGeoParams(r, alpha / scale, a, b)


def expected_purchases(params: BetaGeoParams, t: float, x: Array, tx: Array, T: Array) -> Array:
    """Expected purchases in the next ``t`` of a customer with (x, tx, T): FHL 2005 eq. 10."""
    import numpy as np
    from scipy.special import hyp2f1

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if t <= 0:
        return np.zeros_like(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        odds = np.where(
            x > 0,
            a / np.where(x > 0, b + x - 1, 1.0) * ((alpha + T) / (alpha + tx)) ** (r + x),
            0.0,
        )
        return np.asarray(head * body / (1 + odds), dtype=np.float64)


def probability_alive(params: BetaGeoParams, x: Array, tx: Array, T: Array) -> Array:
    """P(alive) of a customer with (x, tx, T); 1 when x = 0 (BG/NBD's customers drop out
    only right after a purchase)."""
    import numpy as np
    from scipy.special import expit

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(all="ignore"):
        log_odds = (r + x) * np.log((alpha + T) / (alpha + tx)) + np.log(
            a / (b + np.maximum(x, 1) - 1)
        )
        return np.asarray(np.where(x == 0, 1.0, expit(-log_odds)), dtype=np.float64)


# -- Gamma-Gamma ------------------------------------------------------------------------
def gamma_gamma_loglik(
    params: Array, x: Levels, log_x: Array, m: Array, log_m: Array
) -> tuple[Array, list[Array]]:
    """Per-row Gamma-Gamma log-likelihood at ``params = (p, q, v)`` for customers with
    ``x > 0`` repeat purchases of mean value ``m > 0``, and its gradient with respect to
    each parameter.

    LL = ln G(px+q) - ln G(px) - ln G(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(v+mx)
    """
    import numpy as np
    from scipy.special import digamma, gammaln

    p, q, v = (float(val) for val in params)
    xr = x.rows
    px = p * xr
    log_vmx = np.log(v + m * xr)
    ll = (
        x.map(lambda k: gammaln(p * k + q) - gammaln(p * k))
        - gammaln(q)
        + q * math.log(v)
        + (px - 1) * log_m
        + px * log_x
        - (px + q) * log_vmx
    )
    psi_pxq = x.map(lambda k: digamma(p * k + q))
    d_p = xr * (psi_pxq - x.map(lambda k: digamma(p * k)) + log_m + log_x - log_vmx)
    d_q = psi_pxq - digamma(q) + math.log(v) - log_vmx
    d_v = q / v - (px + q) / (v + m * xr)
    return ll, [d_p, d_q, d_v]


def fit_gamma_gamma(
    frequency: Array, monetary: Array, penalizer: float = 0.0
) -> GammaGammaParams | None:
    """Gamma-Gamma maximum-likelihood parameters over the customers with a repeat
    purchase of positive mean value, or None when there are none or no optimum is found."""
    keep = (frequency > 0) & (monetary > 0)
    if not keep.any():
        return None
    import numpy as np

    (x, m), weights, _ = distinct_rows(frequency[keep], monetary[keep])
    data = (Levels.of(x), np.log(x), m, np.log(m))
    params, ok, worst = _fit(gamma_gamma_loglik, data, weights, 3, penalizer)
    if not ok:
        log.info("clv: the Gamma-Gamma fit did not converge (gradient %.3g); no estimates", worst)
        return None
    p, q, v = (float(val) for val in params)
    return GammaGammaParams(p, q, v)


def expected_spend(params: GammaGammaParams, x: Array, m: Array) -> Array:
    """Expected mean value of a customer's future purchases: (v + m x) p / (p x + q - 1);
    for x = 0 the population mean p v / (q - 1)."""
    import numpy as np

    p, q, v = params.p, params.q, params.v
    with np.errstate(all="ignore"):
        mm = np.where(x > 0, m, 0.0)
        return np.asarray((v + mm * x) * p / (p * x + q - 1), dtype=np.float64)


def lifetime_value(
    bg: BetaGeoParams,
    spend: Array,
    horizon: float,
    x: Array,
    tx: Array,
    T: Array,
    discount_rate: float = 0.0,
) -> Array:
    """Expected value of a customer's purchases in the next ``horizon`` days: expected
    purchases times expected spend, discounted per 30-day period at ``discount_rate``
    (``lifetimes``' ``customer_lifetime_value`` with ``freq="D"``: month i's purchases
    are discounted by (1 + rate)^i; a last partial period by its fraction)."""
    import numpy as np

    value = spend * discounted_purchases(bg, horizon, x, tx, T, discount_rate)
    return np.asarray(value, dtype=np.float64)


def discounted_purchases(
    bg: BetaGeoParams, horizon: float, x: Array, tx: Array, T: Array, discount_rate: float
) -> Array:
    """Expected purchases in the next ``horizon`` days, each 30-day step's discounted by
    (1 + rate)^(days / 30); the plain expected purchases when the rate is 0."""
    import numpy as np

    if discount_rate == 0:
        return expected_purchases(bg, horizon, x, tx, T)
    total = np.zeros_like(x, dtype=np.float64)
    before = np.zeros_like(x, dtype=np.float64)
    step = 1
    while (step - 1) * DISCOUNT_PERIOD_DAYS < horizon:
        t = min(step * DISCOUNT_PERIOD_DAYS, horizon)
        upto = expected_purchases(bg, t, x, tx, T)
        total += (upto - before) / (1 + discount_rate) ** (t / DISCOUNT_PERIOD_DAYS)
        before = upto
        step += 1
    return total


@dataclass(frozen=True)
class Estimates:
    """Per-customer model outputs (NaN where there is no estimate) and the fits."""

    expected_purchases: Array
    p_alive: Array
    expected_spend: Array
    clv: Array
    bgnbd: BetaGeoParams | None
    gamma_gamma: GammaGammaParams | None


def estimate(
    frequency: Array,
    recency: Array,
    T: Array,
    monetary: Array,
    *,
    horizon: float,
    penalizer: float = 0.0,
    discount_rate: float = 0.0,
) -> Estimates:
    """Fit both models on the customers whose four inputs are all known (NaN marks an
    unknown input) and predict for them; every other customer gets NaN.

    Predictions are computed once per distinct (frequency, recency, T) history.
    """
    import numpy as np

    n = len(frequency)
    known = ~(np.isnan(frequency) | np.isnan(recency) | np.isnan(T) | np.isnan(monetary))
    out = {k: np.full(n, np.nan) for k in ("purchases", "alive", "spend", "clv")}
    x, tx, t, m = frequency[known], recency[known], T[known], monetary[known]
    if not len(x):
        return Estimates(out["purchases"], out["alive"], out["spend"], out["clv"], None, None)
    (ux, utx, ut), weights, inverse = distinct_rows(x, tx, t)
    bg = _fit_bgnbd(ux, utx, ut, weights, penalizer)
    gg = fit_gamma_gamma(x, m, penalizer)
    if bg is not None:
        purchases = expected_purchases(bg, horizon, ux, utx, ut)
        out["purchases"][known] = purchases[inverse]
        out["alive"][known] = probability_alive(bg, ux, utx, ut)[inverse]
        if discount_rate:
            purchases = discounted_purchases(bg, horizon, ux, utx, ut, discount_rate)
    if gg is not None:
        spend = expected_spend(gg, x, m)
        out["spend"][known] = spend
        if bg is not None:
            out["clv"][known] = spend * purchases[inverse]
    for key, arr in out.items():
        arr[~np.isfinite(arr)] = np.nan
        out[key] = arr
    return Estimates(out["purchases"], out["alive"], out["spend"], out["clv"], bg, gg)
