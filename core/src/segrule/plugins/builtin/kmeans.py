"""The ``kmeans`` strategy: k-means clusters over chosen dimensions, labelled by rules
read on the clusters' profiles (docs/clusters.md).

The fit is one population node: ``pl.struct(inputs).map_batches(fit, ...)`` receives
every customer's inputs at once (the population frame, sorted by customer_id) and
returns, per customer, the cluster id, the cluster's label and the cluster's mean of
each input. Inside, NumPy does the work on whole columns: transform (log1p), scale,
seeded k-means++ and Lloyd iterations with chunked distances; the label rules are SQL
conditions evaluated by polars on the small frame of cluster profiles (one row per
cluster). NumPy is imported only when a rule set uses the strategy (``segrule[models]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from segrule.errors import RuleSetError, did_you_mean
from segrule.model.nodes import BuildContext, Label, Node
from segrule.model.sql import parse_sql, referenced_names
from segrule.model.strategies import Strategy
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Register

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]
    Ints = NDArray[np.int64]

#: Distances are computed for this many (row, centre) pairs at a time: small enough to
#: stay in the CPU's cache (1M customers and 20 centres are 160 MB of float64 at once).
CHUNK_CELLS = 1 << 16
MAX_K = 50
MAX_SAMPLE = 20_000
SCALES = ("standard", "minmax")
CHOOSE = ("silhouette", "elbow")
#: The names a label rule can read besides the per-input ones (see profile_names).
PROFILE_NAMES = ("cluster", "customers", "share")
UNCLUSTERED = Label("unclustered", "未聚类", "Not clustered")


@dataclass(frozen=True)
class Input:
    """One clustered dimension: log1p first when ``log``, then scaled, then times ``weight``."""

    dimension: str
    log: bool = False
    weight: float = 1.0


@dataclass(frozen=True)
class ChooseK:
    """k chosen on a seeded sample of the clustered customers, from ``kmin`` to ``kmax``."""

    method: str
    kmin: int
    kmax: int
    sample: int


@dataclass(frozen=True)
class Rule:
    label: str
    sql: str
    when: pl.Expr


@dataclass(frozen=True)
class KMeansSpec:
    inputs: tuple[Input, ...]
    scale: str
    k: int | ChooseK
    seed: int
    n_init: int
    max_iter: int
    tol: float
    rules: tuple[Rule, ...]
    default: str
    unclustered: str


@dataclass(frozen=True)
class Fit:
    """A k-means result: ``labels`` (0-based, per row), ``centres`` (k x d), the sum of
    squared distances to the assigned centres, the initial centres of the run kept, and
    its number of Lloyd iterations."""

    labels: Ints
    centres: Floats
    inertia: float
    init: Floats
    iterations: int


# -- the numerical part (NumPy, imported by the caller) ------------------------------
def _np() -> Any:
    import numpy

    return numpy


def _chunk_rows(k: int) -> int:
    return max(1, CHUNK_CELLS // max(k, 1))


def assign(x: Floats, centres: Floats) -> Ints:
    """Each row's nearest centre (the lowest index among equal distances), computed in
    chunks of rows small enough to stay in cache."""
    np = _np()
    n = x.shape[0]
    labels = np.empty(n, dtype=np.int64)
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2: |x|^2 is the same for every centre of a row.
    half = 0.5 * np.einsum("ij,ij->i", centres, centres)
    step = _chunk_rows(centres.shape[0])
    for lo in range(0, n, step):
        d = half - x[lo : lo + step] @ centres.T
        labels[lo : lo + step] = np.argmin(d, axis=1)
    return labels


def sq_distances(x: Floats, centres: Floats, labels: Ints) -> Floats:
    """Each row's squared distance to its assigned centre."""
    np = _np()
    out = np.empty(x.shape[0])
    step = CHUNK_CELLS
    for lo in range(0, x.shape[0], step):
        diff = x[lo : lo + step] - centres[labels[lo : lo + step]]
        out[lo : lo + step] = np.einsum("ij,ij->i", diff, diff)
    return out


def kmeans_plus_plus(x: Floats, k: int, rng: Any) -> Floats:
    """Greedy k-means++ centres (as scikit-learn: 2 + log(k) candidates per step, the one
    lowering the potential most is kept). Stops early when every row sits on a centre
    (fewer distinct rows than k), so the centres returned are distinct."""
    np = _np()
    n = x.shape[0]
    trials = 2 + int(math.log(k))
    first = int(rng.integers(n))
    centres = [x[first]]
    closest = ((x - x[first]) ** 2).sum(axis=1)
    pot = float(closest.sum())
    while len(centres) < k and pot > 0.0:
        cum = np.cumsum(closest)
        # side="right": a candidate always has a positive distance to every centre.
        cand = np.searchsorted(cum, rng.uniform(size=trials) * cum[-1], side="right")
        cand = np.minimum(cand, n - 1)
        best, best_pot, best_dist = -1, math.inf, closest
        for c in cand:
            d = np.minimum(closest, ((x - x[c]) ** 2).sum(axis=1))
            p = float(d.sum())
            if p < best_pot:
                best, best_pot, best_dist = int(c), p, d
        centres.append(x[best])
        closest, pot = best_dist, best_pot
    return np.array(centres, dtype=np.float64)


def lloyd(x: Floats, init: Floats, max_iter: int, tol: float = 0.0) -> Fit:
    """Lloyd iterations from ``init``, as scikit-learn's ``KMeans(algorithm="lloyd")``:
    stop when the assignment no longer changes, or when the centres moved by at most
    ``tol`` (sum of squared shifts) and then assign once more; at most ``max_iter``
    steps. An emptied cluster takes the row farthest from its old centre (the lowest
    index among equals), which leaves its old cluster."""
    np = _np()
    k, d = init.shape
    centres = init.copy()
    columns = [np.ascontiguousarray(x[:, j]) for j in range(d)]  # bincount reads them fast
    labels = assign(x, centres)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (read after the loop)
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        sums = np.stack([np.bincount(labels, weights=c, minlength=k) for c in columns], 1)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            far = np.argsort(-sq_distances(x, centres, labels), kind="stable")[: empty.size]
            for c, row in zip(empty, far, strict=True):
                sums[labels[row]] -= x[row]
                counts[labels[row]] -= 1
                sums[c], counts[c] = x[row], 1
        new_centres = sums / counts[:, None]
        shift = float(((new_centres - centres) ** 2).sum())
        centres = new_centres
        new = assign(x, centres)
        done = np.array_equal(new, labels) or shift <= tol
        labels = new  # always the assignment to ``centres``
        if done:
            break
    inertia = float(sq_distances(x, centres, labels).sum())
    return Fit(labels, centres, inertia, init, iterations)


def kmeans(
    x: Floats, k: int, *, seed: int, n_init: int = 1, max_iter: int = 300, tol: float = 1e-4
) -> Fit:
    """k-means of the rows of ``x``: ``n_init`` seeded k-means++ starts, the fit of least
    inertia kept (the first among equals). ``tol`` is relative to the mean variance of
    the columns, as scikit-learn's. Fewer distinct rows than ``k`` give fewer clusters.
    This function collects nothing; it is NumPy on the arrays given."""
    np = _np()
    rng = np.random.default_rng(seed)
    absolute = float(np.mean(np.var(x, axis=0))) * tol if x.shape[0] else 0.0
    best: Fit | None = None
    for _ in range(n_init):
        fit = lloyd(x, kmeans_plus_plus(x, k, rng), max_iter, absolute)
        if best is None or fit.inertia < best.inertia:
            best = fit
    assert best is not None
    return best


def silhouette(x: Floats, labels: Ints) -> float:
    """Mean silhouette of ``labels`` on the rows of ``x`` (Euclidean; a row alone in its
    cluster scores 0, as scikit-learn's ``silhouette_score``). O(n^2): call it on a sample."""
    np = _np()
    n = x.shape[0]
    k = int(labels.max()) + 1
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = 1.0
    sizes = onehot.sum(axis=0)
    x2 = np.einsum("ij,ij->i", x, x)
    total = 0.0
    step = max(1, (1 << 22) // n)  # rows per block of the n x n distances: 32 MB of float64
    for lo in range(0, n, step):
        xs = x[lo : lo + step]
        d = x2[lo : lo + step, None] - 2.0 * (xs @ x.T) + x2[None, :]
        np.sqrt(np.maximum(d, 0.0, out=d), out=d)
        per = d @ onehot  # sum of distances to each cluster's rows
        own = labels[lo : lo + step]
        rows = np.arange(xs.shape[0])
        own_size = sizes[own]
        a = per[rows, own] / np.maximum(own_size - 1, 1)
        mean = per / sizes[None, :]
        mean[rows, own] = np.inf
        b = mean.min(axis=1)
        s = (b - a) / np.maximum(np.maximum(a, b), np.finfo(float).tiny)
        total += float(np.where(own_size > 1, s, 0.0).sum())
    return total / n


def choose_k(
    x: Floats, choose: ChooseK, *, seed: int, n_init: int, max_iter: int, tol: float = 1e-4
) -> int:
    """k from ``choose.kmin`` to ``choose.kmax`` by the silhouette (highest mean) or the
    elbow (the k farthest below the straight line from the first to the last inertia,
    both axes scaled to 0..1) of k-means fits on a seeded sample; the smallest k among
    equals. Returns at most the number of distinct sampled rows."""
    np = _np()
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    rows = np.sort(rng.choice(n, size=choose.sample, replace=False)) if n > choose.sample else None
    s = x if rows is None else x[rows]
    ks: list[int] = []
    scores: list[float] = []
    for k in range(choose.kmin, choose.kmax + 1):
        fit = kmeans(s, k, seed=seed, n_init=n_init, max_iter=max_iter, tol=tol)
        got = fit.centres.shape[0]
        if got < k:  # fewer distinct rows than k: larger k give the same
            if not ks:
                return max(got, 1)
            break
        ks.append(k)
        scores.append(silhouette(s, fit.labels) if choose.method == "silhouette" else fit.inertia)
    if choose.method == "silhouette" or len(ks) < 3:
        if choose.method == "elbow":
            return ks[0]
        return ks[int(np.argmax(scores))]
    inertia = np.array(scores)
    span = inertia.max() - inertia.min()
    if span <= 0:
        return ks[0]
    xs = (np.array(ks) - ks[0]) / (ks[-1] - ks[0])
    ys = (inertia - inertia.min()) / span
    return ks[int(np.argmax((1.0 - xs) - ys))]


# -- the population function ----------------------------------------------------------
def profile_names(spec: KMeansSpec) -> list[str]:
    """The names a label rule reads: per input ``x``: ``x`` (the cluster's mean),
    ``x_avg`` (the mean over every clustered customer), ``x_center`` (the cluster's
    centre on the scaled axis, before the weight) and ``x_rank`` (1 = the cluster with
    the highest mean); and ``cluster``, ``customers``, ``share``."""
    out = list(PROFILE_NAMES)
    for i in spec.inputs:
        out += [i.dimension, f"{i.dimension}_avg", f"{i.dimension}_center", f"{i.dimension}_rank"]
    return out


def profile_schema(spec: KMeansSpec) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"cluster": pl.Int64(), "customers": pl.Int64()}
    for name in profile_names(spec):
        schema.setdefault(name, pl.Int64() if name.endswith("_rank") else pl.Float64())
    return schema


def label_expr(spec: KMeansSpec) -> pl.Expr:
    expr: Any = pl
    for rule in spec.rules:
        expr = expr.when(rule.when).then(pl.lit(rule.label))
    if not spec.rules:
        return pl.lit(spec.default, dtype=pl.String).alias("label")
    return expr.otherwise(pl.lit(spec.default)).alias("label")


def fit_dtype(spec: KMeansSpec) -> pl.Struct:
    fields = {"cluster": pl.Int64(), "label": pl.String()}
    fields |= {f"mean{i}": pl.Float64() for i in range(len(spec.inputs))}
    return pl.Struct(fields)


def _numeric(s: pl.Series, what: str) -> Any:
    """``s`` as float64 NumPy (null -> NaN); text or dates are refused."""
    if not (s.dtype.is_numeric() or s.dtype == pl.Boolean or s.dtype == pl.Null):
        raise TypeError(f"kmeans input {what} is {s.dtype}, not a number")
    return s.cast(pl.Float64).fill_null(float("nan")).to_numpy()


def fit_population(spec: KMeansSpec, batch: pl.Series) -> pl.Series:
    """The whole population's clusters: ``batch`` is a struct of the inputs (``x0``,
    ``x1``, ...) and ``eligible``, one row per customer in customer_id order. Returns a
    struct per customer: cluster (1..k, null when not clustered), label and the
    cluster's mean of each input (``mean0``, ...). Nothing is per row in Python."""
    np = _np()
    frame = batch.struct.unnest()
    n = frame.height
    eligible = frame["eligible"].fill_null(False).to_numpy().astype(bool)
    raw = np.empty((n, len(spec.inputs)))
    for j, inp in enumerate(spec.inputs):
        raw[:, j] = _numeric(frame[f"x{j}"], inp.dimension)
    x = raw.copy()
    for j, inp in enumerate(spec.inputs):
        if inp.log:  # log1p of a negative value is not a clustering input: not clustered
            with np.errstate(invalid="ignore", divide="ignore"):
                x[:, j] = np.where(raw[:, j] >= 0, np.log1p(np.maximum(raw[:, j], 0)), np.nan)
    ok = eligible & np.isfinite(x).all(axis=1)
    rows = np.flatnonzero(ok)
    x = x[rows]
    m = rows.size
    d = len(spec.inputs)
    weights = np.array([i.weight for i in spec.inputs])
    if m:
        if spec.scale == "standard":
            shift, spread = x.mean(axis=0), x.std(axis=0)
        else:
            shift, spread = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
        spread = np.where(spread > 0, spread, 1.0)
        x = (x - shift) / spread * weights
        if isinstance(spec.k, ChooseK):
            k = choose_k(
                x, spec.k, seed=spec.seed, n_init=spec.n_init, max_iter=spec.max_iter, tol=spec.tol
            )
        else:
            k = spec.k
        fit = kmeans(x, k, seed=spec.seed, n_init=spec.n_init, max_iter=spec.max_iter, tol=spec.tol)
        k = fit.centres.shape[0]
        counts = np.bincount(fit.labels, minlength=k)
        means = (
            np.stack(
                [np.bincount(fit.labels, weights=raw[rows, j], minlength=k) for j in range(d)], 1
            )
            / counts[:, None]
        )
        # Canonical ids: the largest cluster is 1; equal sizes by their centres, then by
        # their first customer. Output bytes never depend on which start found a cluster.
        first = np.full(k, m)
        np.minimum.at(first, fit.labels, np.arange(m))
        keys = [first, *(fit.centres[:, j] for j in reversed(range(d))), -counts]
        order = np.lexsort(keys)
        canon = np.empty(k, dtype=np.int64)
        canon[order] = np.arange(1, k + 1)
        centres = fit.centres[order] / weights
        counts, means = counts[order], means[order]
        avg = raw[rows].mean(axis=0)
    else:
        k, canon = 0, np.zeros(0, dtype=np.int64)
        centres, counts, means, avg = (
            np.zeros((0, d)),
            np.zeros(0),
            np.zeros((0, d)),
            raw[:0].sum(0),
        )
    profile: dict[str, Any] = {
        "cluster": pl.Series(np.arange(1, k + 1), dtype=pl.Int64),
        "customers": pl.Series(counts, dtype=pl.Int64),
        "share": pl.Series(counts / max(m, 1), dtype=pl.Float64),
    }
    for j, inp in enumerate(spec.inputs):
        profile[inp.dimension] = pl.Series(means[:, j], dtype=pl.Float64)
        profile[f"{inp.dimension}_avg"] = pl.Series([float(avg[j])] * k, dtype=pl.Float64)
        profile[f"{inp.dimension}_center"] = pl.Series(centres[:, j], dtype=pl.Float64)
    prof = pl.DataFrame(profile).with_columns(
        pl.col(i.dimension).rank("min", descending=True).cast(pl.Int64).alias(f"{i.dimension}_rank")
        for i in spec.inputs
    )
    labels = (
        prof.with_columns(label_expr(spec))["label"].to_numpy() if k else np.zeros(0, dtype=object)
    )
    cluster = np.zeros(n, dtype=np.int64)
    if m:
        cluster[rows] = canon[fit.labels]
    pos = np.maximum(cluster - 1, 0)
    out: dict[str, pl.Series] = {
        "cluster": pl.Series(cluster, dtype=pl.Int64).set(pl.Series(~ok), None),
        "label": pl.Series(
            np.where(ok, labels[pos] if k else spec.unclustered, spec.unclustered), dtype=pl.String
        ),
    }
    for j in range(d):
        col = pl.Series(means[pos, j] if k else np.zeros(n), dtype=pl.Float64)
        out[f"mean{j}"] = col.set(pl.Series(~ok), None)
    return pl.DataFrame(out).to_struct(batch.name)


# -- the rule-file side ------------------------------------------------------------------
def _int(
    params: dict[str, Any], key: str, default: int, lo: int, hi: int, where: str, name: str
) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RuleSetError(
            f"{key} must be a whole number from {lo} to {hi}, got {value!r}", where=where, name=name
        )
    return value


def _inputs(value: Any, where: str, name: str) -> tuple[Input, ...]:
    if not isinstance(value, list) or not value:
        raise RuleSetError(
            "inputs must be a non-empty list of dimensions (a name, or {dimension, log, weight})",
            where=where,
            name=name,
        )
    out: list[Input] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"dimension": item}
        if not isinstance(item, dict):
            raise RuleSetError(
                f"inputs[{i}] must be a dimension name or {{dimension, log, weight}}",
                where=where,
                name=name,
            )
        unknown = set(item) - {"dimension", "log", "weight"}
        if unknown:
            key = sorted(unknown)[0]
            raise RuleSetError(
                f"inputs[{i}]: unknown key '{key}'"
                f"{did_you_mean(key, ['dimension', 'log', 'weight'])}"
                "; allowed: dimension, log, weight",
                where=where,
                name=name,
            )
        dim = item.get("dimension")
        if not isinstance(dim, str) or not dim:
            raise RuleSetError(f"inputs[{i}] needs 'dimension' (a name)", where=where, name=name)
        log = item.get("log", False)
        if not isinstance(log, bool):
            raise RuleSetError(f"inputs[{i}].log must be true or false", where=where, name=name)
        weight = item.get("weight", 1)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not (0 < weight < math.inf)
        ):
            raise RuleSetError(
                f"inputs[{i}].weight must be a number above 0, got {weight!r}",
                where=where,
                name=name,
            )
        if any(o.dimension == dim for o in out):
            raise RuleSetError(f"inputs: '{dim}' is listed twice", where=where, name=name)
        out.append(Input(dim, log, float(weight)))
    return tuple(out)


def _k(value: Any, where: str, name: str) -> int | ChooseK:
    if isinstance(value, dict):
        unknown = set(value) - {"choose", "min", "max", "sample"}
        if unknown:
            raise RuleSetError(
                f"k: unknown key '{sorted(unknown)[0]}'; allowed: choose, min, max, sample",
                where=where,
                name=name,
            )
        method = value.get("choose")
        if method not in CHOOSE:
            raise RuleSetError(
                f"k.choose must be silhouette or elbow, got {method!r}", where=where, name=name
            )
        kmin = _int(value, "min", 2, 2, MAX_K, where, f"{name}.k")
        kmax = _int(value, "max", max(kmin, 8), kmin, MAX_K, where, f"{name}.k")
        sample = _int(value, "sample", 10_000, 100, MAX_SAMPLE, where, f"{name}.k")
        return ChooseK(str(method), kmin, kmax, sample)
    return _int({"k": value}, "k", 0, 1, MAX_K, where, name)


def parse_spec(params: dict[str, Any], where: str, name: str) -> KMeansSpec:
    """The strategy's parameters checked (raises RuleSetError naming the parameter)."""
    from segrule.plugins.builtin.strategies import _check_keys, _need

    _check_keys(
        params,
        {"inputs", "scale", "k", "seed", "n_init", "max_iter", "tol", "eligible", "clusters",
         "default", "unclustered", "labels"},
        where,
        name,
    )  # fmt: skip
    inputs = _inputs(_need(params, "inputs", where, name), where, name)
    scale = params.get("scale", "standard")
    if scale not in SCALES:
        raise RuleSetError(
            f"scale must be standard or minmax, got {scale!r}", where=where, name=name
        )
    k = _k(_need(params, "k", where, name), where, name)
    seed = _int(params, "seed", 0, 0, 2**32 - 1, where, name)
    n_init = _int(params, "n_init", 1, 1, 100, where, name)
    max_iter = _int(params, "max_iter", 300, 1, 10_000, where, name)
    tol = params.get("tol", 1e-4)
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < 1:
        raise RuleSetError(
            f"tol must be a number from 0 to below 1, got {tol!r}", where=where, name=name
        )
    default = str(params.get("default", "other"))
    unclustered = str(params.get("unclustered", UNCLUSTERED.key))
    spec = KMeansSpec(
        inputs, str(scale), k, seed, n_init, max_iter, float(tol), (), default, unclustered
    )
    rules = params.get("clusters", [])
    if not isinstance(rules, list):
        raise RuleSetError(
            "clusters must be a list of {when, label}, first match wins", where=where, name=name
        )
    known = profile_names(spec)
    parsed = []
    for i, rule in enumerate(rules):
        at = f"{name}.clusters[{i}]"
        if not isinstance(rule, dict) or set(rule) - {"when", "label"} or "label" not in rule:
            raise RuleSetError(
                "each rule is {when: <SQL on the profile>, label: <key>}", where=where, name=at
            )
        sql = rule.get("when", "TRUE")
        expr = parse_sql(sql, where=where, name=at)
        for ref in referenced_names(expr):
            if ref not in known:
                raise RuleSetError(
                    f"'{ref}' is not a cluster profile name{did_you_mean(ref, known)} (a rule "
                    "reads each input's cluster mean by the input's name, <input>_avg, "
                    "<input>_center, <input>_rank, cluster, customers, share)",
                    where=where,
                    name=at,
                )
        try:
            dtype = pl.DataFrame(schema=profile_schema(spec)).select(expr.alias("c")).schema["c"]
        except Exception as exc:
            from segrule.model.sql import polars_reason

            raise RuleSetError(
                f"type error: {polars_reason(exc)[:200]}", where=where, name=at
            ) from None
        if dtype not in (pl.Boolean, pl.Null):
            raise RuleSetError(f"'{sql}' is {dtype}, not true/false", where=where, name=at)
        parsed.append(Rule(str(rule["label"]), str(sql), expr))
    return KMeansSpec(
        inputs,
        str(scale),
        k,
        seed,
        n_init,
        max_iter,
        float(tol),
        tuple(parsed),
        default,
        unclustered,
    )


def _need_numpy(where: str, name: str) -> None:
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise RuleSetError(
            "the kmeans strategy needs NumPy: install the models extra "
            "(pip install 'segrule[models]')",
            where=where,
            name=name,
        ) from None


def build_kmeans(ctx: BuildContext, name: str, params: dict[str, Any], where: str) -> list[Node]:
    """Nodes: ``name`` (the cluster's label), ``<name>_id`` (1..k, the largest cluster
    first), ``<name>_<input>_mean`` per input (the cluster's mean), and the hidden fit."""
    from segrule.plugins.builtin.strategies import _deps, _labels

    spec = parse_spec(params, where, name)
    _need_numpy(where, name)
    eligible = (
        parse_sql(params["eligible"], where=where, name=f"{name}.eligible")
        if "eligible" in params
        else pl.lit(True)
    )
    fit_col = f"_{name}_fit"
    struct = pl.struct(
        [pl.col(i.dimension).alias(f"x{j}") for j, i in enumerate(spec.inputs)]
        + [eligible.cast(pl.Boolean).alias("eligible")]
    )
    fit = struct.map_batches(
        lambda s: fit_population(spec, s), return_dtype=fit_dtype(spec), is_elementwise=False
    ).alias(fit_col)
    deps = tuple(dict.fromkeys([i.dimension for i in spec.inputs] + list(_deps(eligible))))
    field = pl.col(fit_col).struct.field
    labels = _labels(params.get("labels"))
    if spec.unclustered not in labels:
        labels[spec.unclustered] = Label(spec.unclustered, UNCLUSTERED.zh, UNCLUSTERED.en)
    described = ", ".join(
        i.dimension + (" (log)" if i.log else "") + (f" x{i.weight:g}" if i.weight != 1 else "")
        for i in spec.inputs
    )
    k_text = (
        str(spec.k) if isinstance(spec.k, int) else f"{spec.k.method} {spec.k.kmin}..{spec.k.kmax}"
    )
    nodes = [
        Node(
            name,
            "derived",
            field("label").alias(name),
            deps=(fit_col,),
            origin=where,
            role="segment",
            labels=labels,
            default=spec.default,
            description=f"k-means cluster label (k {k_text}) over {described}",
        ),
        Node(
            f"{name}_id",
            "derived",
            field("cluster").alias(f"{name}_id"),
            deps=(fit_col,),
            origin=where,
            role="score",
            description="k-means cluster 1..k, the largest first (null: not clustered)",
        ),
    ]
    for j, inp in enumerate(spec.inputs):
        col = f"{name}_{inp.dimension}_mean"
        nodes.append(
            Node(
                col,
                "derived",
                field(f"mean{j}").alias(col),
                deps=(fit_col,),
                origin=where,
                role="score",
                description=f"mean {inp.dimension} of the customer's cluster",
            )
        )
    nodes.append(
        Node(
            fit_col,
            "population",
            fit,
            deps=deps,
            origin=where,
            role="helper",
            description=f"k-means fit behind {name}",
        )
    )
    return nodes


STRATEGY = Strategy(
    "kmeans",
    build_kmeans,
    "k-means clusters over chosen dimensions (log1p, scaled, weighted), seeded k-means++, "
    "k fixed or chosen by silhouette or elbow; clusters labelled by first-match rules on "
    "their profiles (docs/clusters.md); needs segrule[models]",
    {
        "inputs": "list of dimension names or {dimension, log (log1p), weight}",
        "scale": "standard (default) | minmax",
        "k": "number of clusters, or {choose: silhouette|elbow, min, max, sample}",
        "seed": "seed of k-means++ and of the sample (default 0)",
        "n_init": "seeded starts, the least inertia kept (default 1)",
        "max_iter": "Lloyd iterations at most (default 300)",
        "tol": "stop when the centres move less than tol x the mean variance (default 1e-4, "
        "as scikit-learn; 0: until no customer changes cluster)",
        "eligible": "SQL condition of who is clustered (default everyone with every input)",
        "clusters": "list of {when: SQL on the cluster profile, label}, first match wins",
        "default": "label of a cluster no rule matches (default other)",
        "unclustered": "label of customers not clustered (default unclustered)",
        "labels": "display names and actions per label",
    },
)


@hookimpl
def segrule_register_strategies(register: Register) -> None:
    register(STRATEGY)
