"""The kmeans strategy (issue 20, point 2): scikit-learn's KMeans as the reference for
the fit, determinism, edge cases (no, one, equal, missing inputs) and rule-file errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import segrule
from segrule.errors import RuleSetError, RuleSetErrors
from segrule.generate import generate
from segrule.plugins.builtin.kmeans import (
    ChooseK,
    Input,
    KMeansSpec,
    Rule,
    choose_k,
    fit_dtype,
    fit_population,
    kmeans,
    kmeans_plus_plus,
    lloyd,
    silhouette,
)
from segrule.testing import days_before, make_tables
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

AS_OF = "2026-11-01"
#: Relative tolerance on the inertia against scikit-learn's: both sum the same squared
#: distances in float64, in a different order and through different distance formulas.
INERTIA_RTOL = 1e-9


def blobs(n: int, centres: list[list[float]], spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    which = rng.integers(len(centres), size=n)
    return np.asarray(centres, dtype=float)[which] + rng.normal(0, spread, (n, len(centres[0])))


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to the clusters' numbering (a one-to-one map between the labels)."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def sklearn_fit(x: np.ndarray, init: np.ndarray, max_iter: int = 300, tol: float = 0.0) -> KMeans:
    """scikit-learn's Lloyd k-means from ``init``; ``tol`` relative, as its own."""
    return KMeans(
        n_clusters=init.shape[0], init=init, n_init=1, max_iter=max_iter, tol=tol,
        algorithm="lloyd",
    ).fit(x)  # fmt: skip


def absolute(x: np.ndarray, tol: float) -> float:
    return float(np.mean(np.var(x, axis=0))) * tol


@pytest.mark.parametrize("tol", [0.0, 1e-4])
@pytest.mark.parametrize(
    ("n", "k", "spread", "seed"),
    [
        (3000, 4, 0.5, 1),  # separated blobs
        (5000, 6, 2.0, 2),  # overlapping blobs: many Lloyd steps
        (2000, 8, 3.0, 3),  # no structure at all
        (40_000, 5, 1.5, 4),  # many distance chunks per step
    ],
)
def test_lloyd_matches_scikit_learn_from_the_same_centres(
    n: int, k: int, spread: float, seed: int, tol: float
) -> None:
    x = blobs(n, [[0, 0, 0], [4, 0, 1], [0, 5, 2], [3, 3, 3], [6, 6, 0]], spread, seed)
    init = kmeans_plus_plus(x, k, np.random.default_rng(seed))
    assert init.shape == (k, 3)
    ours = lloyd(x, init, 300, absolute(x, tol))
    ref = sklearn_fit(x, init, tol=tol)
    assert ours.iterations == ref.n_iter_ or tol == 0  # (strict: sklearn counts one more)
    assert adjusted_rand_score(ours.labels, ref.labels_) == 1.0
    assert same_partition(ours.labels, ref.labels_)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=INERTIA_RTOL)
    np.testing.assert_allclose(ours.centres, ref.cluster_centers_, rtol=1e-9, atol=1e-12)


def test_distances_are_chunked_and_give_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from segrule.plugins.builtin import kmeans as km

    x = blobs(10_000, [[0, 0], [5, 5], [0, 5]], 1.0, 7)
    init = kmeans_plus_plus(x, 3, np.random.default_rng(0))
    whole = lloyd(x, init, 300)
    monkeypatch.setattr(km, "CHUNK_CELLS", 999)  # 333 rows per chunk
    chunked = lloyd(x, init, 300)
    assert np.array_equal(whole.labels, chunked.labels)
    assert sklearn_fit(x, init).inertia_ == pytest.approx(chunked.inertia, rel=INERTIA_RTOL)


def test_kmeans_is_seeded_and_keeps_the_best_start() -> None:
    x = blobs(4000, [[0, 0], [3, 0], [0, 3], [3, 3]], 1.2, 5)
    a = kmeans(x, 4, seed=11, n_init=5)
    b = kmeans(x, 4, seed=11, n_init=5)
    assert np.array_equal(a.labels, b.labels) and a.inertia == b.inertia
    rng = np.random.default_rng(11)
    tol = absolute(x, 1e-4)
    singles = [lloyd(x, kmeans_plus_plus(x, 4, rng), 300, tol).inertia for _ in range(5)]
    assert a.inertia == min(singles)


def test_fewer_distinct_rows_than_k_give_fewer_clusters() -> None:
    x = np.array([[1.0, 2.0]] * 50 + [[3.0, 1.0]] * 30)
    fit = kmeans(x, 5, seed=0)
    assert fit.centres.shape[0] == 2
    assert fit.inertia == 0.0
    assert sorted(np.bincount(fit.labels).tolist()) == [30, 50]


def test_empty_clusters_are_refilled_as_scikit_learn_does() -> None:
    # Two far centres start with nobody near one of them: it is moved to the farthest row.
    x = np.array([[0.0], [0.1], [0.2], [10.0], [10.1]])
    init = np.array([[0.1], [100.0]])
    ours = lloyd(x, init, 50)
    ref = sklearn_fit(x, init)
    assert same_partition(ours.labels, ref.labels_)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=INERTIA_RTOL)


def test_silhouette_matches_scikit_learn() -> None:
    x = blobs(1500, [[0, 0], [4, 1], [1, 5]], 1.3, 9)
    labels = kmeans(x, 3, seed=1).labels
    assert silhouette(x, labels) == pytest.approx(silhouette_score(x, labels), rel=1e-9)
    labels[0] = 3  # a cluster of one row scores 0, as in scikit-learn
    assert silhouette(x, labels) == pytest.approx(silhouette_score(x, labels), rel=1e-9)


@pytest.mark.parametrize("method", ["silhouette", "elbow"])
def test_k_is_chosen_on_separated_blobs(method: str) -> None:
    centres = [[0, 0], [10, 0], [0, 10], [10, 10]]
    x = blobs(3000, centres, 0.6, 3)
    assert choose_k(x, ChooseK(method, 2, 8, 1000), seed=0, n_init=2, max_iter=300) == 4


# -- the population function ------------------------------------------------------------
def spec(k: int | ChooseK = 2, *rules: Rule, log: bool = False) -> KMeansSpec:
    return KMeansSpec(
        (Input("a", log), Input("b")), "standard", k, 0, 1, 300, 1e-4, rules, "other", "none"
    )


def batch(a: list[float | None], b: list[float | None], ok: list[bool] | None = None) -> pl.Series:
    frame = pl.DataFrame(
        {"x0": a, "x1": b, "eligible": ok if ok is not None else [True] * len(a)},
        schema={"x0": pl.Float64, "x1": pl.Float64, "eligible": pl.Boolean},
    )
    return frame.to_struct("f")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([], []),
        ([None], [None]),
        ([5.0], [1.0]),
        ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0]),
        ([1.0, None, 3.0, 4.0], [1.0, 2.0, None, 4.0]),
    ],
    ids=["none", "one-null", "one", "all-equal", "nulls"],
)
def test_edge_cases_give_the_declared_dtype(a: list, b: list) -> None:
    s = spec(3)
    out = fit_population(s, batch(a, b)).struct.unnest()
    assert pl.Struct(dict(out.schema)) == fit_dtype(s)
    assert out.height == len(a)
    missing = [x is None or y is None for x, y in zip(a, b, strict=True)]
    assert out["cluster"].is_null().to_list() == missing
    assert out["label"].to_list() == ["none" if m else "other" for m in missing]
    if len(set(zip(a, b, strict=True)) - {(None, None)}) == 1:  # one distinct row: one cluster
        assert set(out["cluster"].drop_nulls()) == {1}


def test_a_log_input_with_a_negative_value_is_not_clustered() -> None:
    out = fit_population(spec(2, log=True), batch([-3.0, 1.0, 5.0], [1.0, 1.0, 2.0]))
    assert out.struct.unnest()["cluster"].to_list() == [None, 1, 2] or out.struct.unnest()[
        "cluster"
    ].to_list() == [None, 2, 1]


def test_text_input_is_refused() -> None:
    frame = pl.DataFrame({"x0": ["a"], "x1": [1.0], "eligible": [True]}).to_struct("f")
    with pytest.raises(TypeError, match="kmeans input a is String, not a number"):
        fit_population(spec(2), frame)


# -- through the engine ----------------------------------------------------------------
RULES = """
name: clusters
scores:
  seg:
    strategy: kmeans
    params:
      inputs:
        - recency_days
        - {dimension: orders_lifetime, log: true}
        - {dimension: monetary_lifetime, log: true, weight: 2}
      k: 5
      seed: 7
      eligible: "orders_lifetime > 0"
      clusters:
        - {when: "monetary_lifetime_rank = 1", label: top}
        - {when: "recency_days < recency_days_avg", label: recent}
      default: rest
      unclustered: nobody
outputs: [customer_id, recency_days, orders_lifetime, monetary_lifetime, seg, seg_id,
          seg_recency_days_mean, seg_orders_lifetime_mean, seg_monetary_lifetime_mean]
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kmeans")
    generate(out, orders=30_000, seed=5)
    return out


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "clusters.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.mark.parametrize(("tol", "scale"), [(None, None), (0.0, None), (None, "minmax")])
def test_the_run_agrees_with_scikit_learn_on_the_same_scaled_inputs(
    data: Path, rules: Path, tmp_path: Path, tol: float | None, scale: str | None
) -> None:
    if tol is not None or scale is not None:
        path = tmp_path / "variant.yaml"
        extra = (f"\n      tol: {tol}" if tol is not None else "") + (
            f"\n      scale: {scale}" if scale else ""
        )
        path.write_text(RULES.replace("seed: 7", "seed: 7" + extra), encoding="utf-8")
        rules = path
    out = segrule.score(str(rules), data=data, as_of=AS_OF)
    buyers = out.filter(pl.col("orders_lifetime") > 0)
    assert out.filter(pl.col("orders_lifetime") == 0)["seg"].unique().to_list() == ["nobody"]
    assert buyers["seg_id"].null_count() == 0
    # The inputs rebuilt here independently: log1p, standardised, the weight applied.
    raw = buyers.select("recency_days", "orders_lifetime", "monetary_lifetime").to_numpy()
    x = raw.astype(float).copy()
    x[:, 1:] = np.log1p(x[:, 1:])
    if scale == "minmax":
        x = (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0))
    else:
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    x = x * np.array([1.0, 1.0, 2.0])
    init = kmeans_plus_plus(x, 5, np.random.default_rng(7))
    ref = sklearn_fit(x, init, tol=1e-4 if tol is None else tol)  # default tol: sklearn's
    got = buyers["seg_id"].to_numpy()
    assert adjusted_rand_score(got, ref.labels_) == 1.0
    if tol == 0:  # run to a fixed point, the centres are the clusters' means
        inertia = sum(((x[got == c] - x[got == c].mean(axis=0)) ** 2).sum() for c in set(got))
        assert inertia == pytest.approx(ref.inertia_, rel=INERTIA_RTOL)
    # ids: 1 is the largest cluster; the profile columns are the clusters' means
    sizes = buyers.group_by("seg_id").len().sort("seg_id")["len"].to_list()
    assert sizes == sorted(sizes, reverse=True)
    prof = buyers.group_by("seg_id").agg(
        pl.col("monetary_lifetime").mean().alias("m"),
        pl.col("seg_monetary_lifetime_mean").unique().alias("p"),
        pl.col("recency_days").mean().alias("r"),
        pl.col("seg").unique().alias("label"),
    )
    for row in prof.iter_rows(named=True):
        assert row["p"] == [pytest.approx(row["m"], rel=1e-12)]
        assert len(row["label"]) == 1
    top = prof.sort("m", descending=True).row(0, named=True)
    assert top["label"] == ["top"]
    avg_r = buyers["recency_days"].mean()
    for row in prof.iter_rows(named=True):
        if row is not top and row["seg_id"] != top["seg_id"]:
            assert row["label"] == (["recent"] if row["r"] < avg_r else ["rest"])


def test_same_input_same_bytes_whatever_the_row_order(
    data: Path, rules: Path, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    segrule.run(str(rules), str(a), data=data, as_of=AS_OF)
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for name in ("orders", "customers", "events", "feedback"):
        frame = pl.read_parquet(data / f"{name}.parquet")
        frame.sample(fraction=1.0, shuffle=True, seed=3).write_parquet(shuffled / f"{name}.parquet")
    segrule.run(str(rules), str(b), data=shuffled, as_of=AS_OF)
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.csv"
    segrule.run(str(rules), str(c), data=data, as_of=AS_OF)
    assert a.read_bytes() == c.read_bytes()


def test_the_preset_runs_and_names_every_buyer(data: Path) -> None:
    out = segrule.score("rfm-clusters", data=data, as_of=AS_OF)
    labels = set(out["rfm_cluster"].unique())
    assert labels <= {
        "champions", "important_develop", "important_keep", "important_retain",
        "general_value", "general_develop", "general_keep", "general_retain", "no_purchase",
    }  # fmt: skip
    assert "champions" in labels
    assert (out["rfm_cluster"] == "no_purchase").to_list() == (
        out["orders_lifetime"] == 0
    ).to_list()
    assert out["rfm_cluster_id"].drop_nulls().n_unique() == 8


def tiny_rules(tmp_path: Path, params: str) -> Path:
    path = tmp_path / "k.yaml"
    body = textwrap.indent(textwrap.dedent(params).strip(), " " * 6)
    path.write_text(
        "name: k\nscores:\n  seg:\n    strategy: kmeans\n    params:\n"
        + body
        + "\noutputs: [customer_id, seg, seg_id]\n",
        encoding="utf-8",
    )
    return path


TINY = make_tables(
    orders=[
        ("c1", days_before(3), 120.0),
        ("c2", days_before(5), 60.0),
        ("c3", days_before(9), 20.0),
        ("c3", days_before(19), 20.0),
    ],
    customers=["c1", "c2", "c3", "c4"],
)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("inputs: [monetary_lifetime]", "parameter 'k' is required"),
        ("inputs: [monetary_lifetime]\nk: 0", "k must be a whole number from 1 to 50, got 0"),
        ("inputs: []\nk: 2", "inputs must be a non-empty list"),
        ("inputs: [{dimension: monetary_lifetime, lg: true}]\nk: 2", "unknown key 'lg'"),
        ("inputs: [{dimension: monetary_lifetime, weight: 0}]\nk: 2", "weight must be a number"),
        ("inputs: [monetary_lifetime]\nk: 2\nscale: robust", "scale must be standard or minmax"),
        ("inputs: [monetary_lifetime]\nk: {choose: gap}", "k.choose must be silhouette or elbow"),
        ("inputs: [monetary_lifetime]\nk: 2\nn_inits: 3", "unknown parameter 'n_inits'"),
        (
            "inputs: [monetary_lifetime]\nk: 2\nclusters: [{when: 'monetary_lifetim > 1', "
            "label: a}]",
            "'monetary_lifetim' is not a cluster profile name — did you mean",
        ),
        (
            "inputs: [monetary_lifetime]\nk: 2\nclusters: [{when: 'monetary_lifetime + 1', "
            "label: a}]",
            "not true/false",
        ),
        ("inputs: [monetary_lifetme]\nk: 2", "monetary_lifetme"),
    ],
)
def test_rule_file_errors_are_one_line(tmp_path: Path, params: str, message: str) -> None:
    with pytest.raises(RuleSetError) as err:
        segrule.score(str(tiny_rules(tmp_path, params)), TINY, as_of=days_before(0))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_text_input_is_a_type_error_at_compile_time(tmp_path: Path) -> None:
    path = tiny_rules(tmp_path, "inputs: [customer_id]\nk: 2")
    with pytest.raises(
        RuleSetError, match="kmeans input customer_id is String, not a number"
    ) as err:
        segrule.compile(str(path), TINY, as_of=days_before(0))
    # one problem: the label and id read the failed fit and are not reported again
    assert not isinstance(err.value, RuleSetErrors)


def test_tiny_populations(tmp_path: Path) -> None:
    path = tiny_rules(
        tmp_path, "inputs: [monetary_lifetime, recency_days]\nk: 3\neligible: 'orders_lifetime > 0'"
    )
    out = segrule.score(str(path), TINY, as_of=days_before(0))
    assert out["seg"].to_list() == ["other", "other", "other", "unclustered"]
    assert sorted(out["seg_id"].drop_nulls().to_list()) == [1, 2, 3]
    one = segrule.score(
        str(path), make_tables(orders=[("c1", days_before(3), 1.0)]), as_of=days_before(0)
    )
    assert one["seg_id"].to_list() == [1]
    # customers without orders: nobody is clustered; no customers at all: no rows
    idle = segrule.score(
        str(path), make_tables(orders=[], customers=["c1", "c2"]), as_of=days_before(0)
    )
    assert idle["seg_id"].to_list() == [None, None]
    assert idle["seg"].to_list() == ["unclustered", "unclustered"]
    empty = segrule.score(str(path), make_tables(orders=[], customers=[]), as_of=days_before(0))
    assert empty.height == 0 and empty.schema["seg_id"] == pl.Int64


def test_without_numpy_the_rule_set_says_which_extra_to_install(tmp_path: Path) -> None:
    path = tiny_rules(tmp_path, "inputs: [monetary_lifetime]\nk: 2")
    code = f"""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "numpy":
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Block())
        import segrule
        from segrule.testing import days_before, make_tables
        tables = make_tables(orders=[("c1", days_before(3), 1.0)])
        try:
            segrule.compile({str(path)!r}, tables, as_of=days_before(0))
        except segrule.RuleSetError as exc:
            print("ERROR", exc)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        env={"SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"},
    )
    assert "ERROR" in done.stdout, done.stderr
    assert "pip install 'segrule[models]'" in done.stdout
