"""The clv strategy and its input dimensions against the lifetimes package (the
reference: lifetimes' own summary of a transaction log, its BetaGeoFitter and
GammaGammaFitter) on the CDNOW sample that lifetimes ships, plus the edge cases: no
customer, one customer, all-equal histories, customers without orders, id types, row
order, bad parameters and a missing models extra."""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import segrule
from segrule.errors import RuleSetError
from segrule.model import clv as model

AS_OF = "1998-07-01"  # the day after CDNOW_sample's last day (1998-06-30)
OUTPUTS = [
    "customer_id",
    "clv_frequency",
    "clv_recency_days",
    "clv_t_days",
    "clv_monetary",
    "clv",
    "clv_expected_purchases",
    "clv_p_alive",
    "clv_expected_spend",
]


def lifetimes_dataset(name: str) -> Path:
    """A file of lifetimes' datasets folder (its datasets module needs pkg_resources,
    which new setuptools no longer has, so the files are read directly)."""
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "datasets" / name


@pytest.fixture(scope="module")
def cdnow_orders() -> pl.DataFrame:
    """CDNOW_sample.txt (6919 purchases of 2357 customers, 1997-01 to 1998-06) as orders."""
    rows = [
        line.split()
        for line in lifetimes_dataset("CDNOW_sample.txt").read_text().splitlines()
        if line.strip()
    ]
    return pl.DataFrame(
        {
            "order_id": range(len(rows)),
            "customer_id": [int(r[0]) for r in rows],
            "order_ts": [dt.datetime.strptime(r[2], "%Y%m%d") for r in rows],
            "amount": [float(r[4]) for r in rows],
            "status": ["paid"] * len(rows),
        }
    )


def rules(tmp_path: Path, params: str = "{}", outputs: list[str] = OUTPUTS) -> str:
    path = tmp_path / "clv.yaml"
    path.write_text(
        f"""
name: clv-test
version: "1"
scores:
  clv:
    strategy: clv
    params: {params}
outputs: [{", ".join(outputs)}]
""",
        encoding="utf-8",
    )
    return str(path)


def score(tmp_path: Path, orders: pl.DataFrame, params: str = "{}", **kw: Any) -> pl.DataFrame:
    df = segrule.score(rules(tmp_path, params, **kw), {"orders": orders}, as_of=AS_OF)
    assert isinstance(df, pl.DataFrame)
    return df


@pytest.fixture(scope="module")
def reference(cdnow_orders: pl.DataFrame) -> Any:
    """lifetimes' summary, fits and predictions on the CDNOW sample (daily periods)."""
    pd = pytest.importorskip("pandas")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = summary_data_from_transaction_data(
            cdnow_orders.to_pandas(),
            "customer_id",
            "order_ts",
            monetary_value_col="amount",
            observation_period_end="1998-06-30",
            freq="D",
        )
        f, r, t = summary["frequency"], summary["recency"], summary["T"]
        bg = BetaGeoFitter().fit(f, r, t)
        buyers = summary[f > 0]
        gg = GammaGammaFitter().fit(buyers["frequency"], buyers["monetary_value"])
        m = summary["monetary_value"]
        predictions = pd.DataFrame(
            {
                "p_alive": bg.conditional_probability_alive(f, r, t),
                "expected_purchases": bg.conditional_expected_number_of_purchases_up_to_time(
                    360, f, r, t
                ),
                "expected_spend": gg.conditional_expected_average_profit(f, m),
                "clv": gg.customer_lifetime_value(
                    bg, f, r, t, m, time=12, discount_rate=0.01, freq="D"
                ),
            },
            index=summary.index,
        )
    return summary, bg, gg, predictions


def test_inputs_equal_lifetimes_summary(
    tmp_path: Path, cdnow_orders: pl.DataFrame, reference: Any
) -> None:
    summary = reference[0]
    df = score(tmp_path, cdnow_orders).sort("customer_id")
    assert df["customer_id"].to_list() == summary.index.to_list()
    assert df["clv_frequency"].to_list() == summary["frequency"].astype(int).to_list()
    assert df["clv_recency_days"].to_list() == summary["recency"].astype(int).to_list()
    assert df["clv_t_days"].to_list() == summary["T"].astype(int).to_list()
    np.testing.assert_allclose(
        df["clv_monetary"].to_numpy(), summary["monetary_value"].to_numpy(), rtol=1e-12
    )


def test_fitted_parameters_equal_lifetimes(cdnow_orders: pl.DataFrame, reference: Any) -> None:
    summary, bg, gg, _ = reference
    f, r, t, m = (summary[c].to_numpy(dtype=float) for c in summary.columns)
    ours = model.fit_bgnbd(f, r, t)
    assert ours is not None
    np.testing.assert_allclose(
        [ours.r, ours.alpha, ours.a, ours.b], bg.params_[["r", "alpha", "a", "b"]], rtol=1e-4
    )
    mine = model.fit_gamma_gamma(f, m)
    assert mine is not None
    np.testing.assert_allclose([mine.p, mine.q, mine.v], gg.params_[["p", "q", "v"]], rtol=1e-4)


def test_classic_cdnow_weekly_parameters() -> None:
    """The published BG/NBD estimates of CDNOW (weeks): r=0.243, alpha=4.414, a=0.793,
    b=2.426 (Fader, Hardie & Lee 2005, table 1)."""
    pd = pytest.importorskip("pandas")
    data = pd.read_csv(lifetimes_dataset("cdnow_customers_summary.csv"))
    got = model.fit_bgnbd(*(data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")))
    assert got is not None
    assert (round(got.r, 3), round(got.alpha, 3), round(got.a, 3), round(got.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )


def test_predictions_equal_lifetimes(
    tmp_path: Path, cdnow_orders: pl.DataFrame, reference: Any
) -> None:
    want = reference[3]
    df = score(tmp_path, cdnow_orders, "{horizon_days: 360, discount_rate: 0.01}").sort(
        "customer_id"
    )
    # Outputs are rounded: probabilities and counts to 1e-6, money to the cent.
    for column, reference_column, tolerance in [
        ("clv_p_alive", "p_alive", 2e-6),
        ("clv_expected_purchases", "expected_purchases", 2e-5),
        ("clv_expected_spend", "expected_spend", 0.0051),
        ("clv", "clv", 0.0051),
    ]:
        got = df[column].to_numpy()
        assert not np.isnan(got).any()
        np.testing.assert_allclose(
            got, want[reference_column].to_numpy(), rtol=0, atol=tolerance, err_msg=column
        )
    # Without a discount the CLV is the horizon's expected purchases times the spend.
    plain = score(tmp_path, cdnow_orders, "{horizon_days: 360}").sort("customer_id")
    np.testing.assert_allclose(
        plain["clv"].to_numpy(),
        (want["expected_purchases"] * want["expected_spend"]).to_numpy(),
        atol=0.0051,
    )


def test_same_input_same_bytes_whatever_the_row_order(
    tmp_path: Path, cdnow_orders: pl.DataFrame
) -> None:
    params = "{tiers: [{label: high, top: 0.2}, {label: mid, top: 0.5}], churn_below: 0.3}"
    outs = [*OUTPUTS, "clv_tier", "clv_churn_risk"]
    first = tmp_path / "a.parquet"
    second = tmp_path / "b.parquet"
    path = rules(tmp_path, params, outs)
    segrule.run(path, str(first), tables={"orders": cdnow_orders}, as_of=AS_OF)
    shuffled = cdnow_orders.sample(fraction=1.0, shuffle=True, seed=3)
    segrule.run(path, str(second), tables={"orders": shuffled}, as_of=AS_OF)
    a, b = pl.read_parquet(first), pl.read_parquet(second)
    assert a.equals(b)
    assert a.drop("customer_id").equals(
        pl.read_parquet(first).drop("customer_id")
    )  # sanity: the comparison reads the columns
    tiers = dict(a["clv_tier"].value_counts().iter_rows())
    assert tiers["high"] == math.ceil(0.2 * a.height)
    assert tiers["high"] + tiers["mid"] == math.ceil(0.5 * a.height)
    assert a.filter(pl.col("clv_churn_risk"))["clv_p_alive"].max() < 0.3  # type: ignore[operator]


def test_text_ids_give_the_same_estimates(tmp_path: Path, cdnow_orders: pl.DataFrame) -> None:
    ints = score(tmp_path, cdnow_orders).sort("customer_id")
    texts = score(
        tmp_path,
        cdnow_orders.with_columns(pl.format("c{}", pl.col("customer_id")).alias("customer_id")),
    )
    texts = texts.with_columns(pl.col("customer_id").str.slice(1).cast(pl.Int64)).sort(
        "customer_id"
    )
    assert texts.equals(ints)


def test_customers_without_paid_orders_get_nulls_and_no_purchase(
    tmp_path: Path, cdnow_orders: pl.DataFrame
) -> None:
    ids = cdnow_orders["customer_id"].unique().to_list()
    customers = pl.DataFrame({"customer_id": [*ids, 999_001, 999_002]})
    unpaid = pl.DataFrame(
        {
            "order_id": [10**6],
            "customer_id": [999_002],
            "order_ts": [dt.datetime(1998, 1, 1)],
            "amount": [50.0],
            "status": ["cancelled"],
        }
    )
    orders = pl.concat([cdnow_orders, unpaid])
    path = rules(tmp_path, "{tiers: [{label: top, min: 100}]}", [*OUTPUTS, "clv_tier"])
    df = segrule.score(path, {"orders": orders, "customers": customers}, as_of=AS_OF)
    assert isinstance(df, pl.DataFrame)
    none = df.filter(pl.col("customer_id") >= 999_001)
    assert none.height == 2
    assert none.drop("customer_id", "clv_tier").null_count().row(0) == (2,) * 8
    assert none["clv_tier"].to_list() == ["no_purchase", "no_purchase"]
    buyers = df.filter(pl.col("customer_id") < 999_001)
    assert buyers["clv"].null_count() == 0
    assert set(buyers["clv_tier"]) <= {"top", "low"}
    top = buyers.filter(pl.col("clv_tier") == "top")
    assert top["clv"].min() >= 100  # type: ignore[operator]


def _orders(rows: list[tuple[Any, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": range(len(rows)),
            "customer_id": [r[0] for r in rows],
            "order_ts": [dt.datetime.fromisoformat(r[1]) for r in rows],
            "amount": [r[2] for r in rows],
            "status": ["paid"] * len(rows),
        }
    )


def test_no_customer(tmp_path: Path) -> None:
    empty = _orders([]).cast(
        {
            "customer_id": pl.Int64,
            "order_ts": pl.Datetime("us"),
            "amount": pl.Float64,
            "status": pl.String,
        }
    )
    df = score(tmp_path, empty)
    assert df.height == 0
    assert df.schema["clv"] == pl.Float64
    assert df.schema["clv_p_alive"] == pl.Float64


def test_one_customer_and_all_equal_histories_give_a_defined_answer(tmp_path: Path) -> None:
    one = _orders(
        [(7, "1998-01-01 10:00", 20.0), (7, "1998-01-01 18:00", 5.0), (7, "1998-03-01", 30.0)]
    )
    df = score(tmp_path, one)
    row = df.row(0, named=True)
    # Two orders on the first day are one purchase day: one repeat day worth 30.00.
    assert (row["clv_frequency"], row["clv_recency_days"], row["clv_t_days"]) == (1, 59, 180)
    assert row["clv_monetary"] == 30.0
    again = score(tmp_path, one)
    assert again.equals(df)  # whatever the fit gives, it gives it every time
    same = _orders(
        [(i, "1998-01-01", 10.0) for i in range(50)] + [(i, "1998-02-01", 10.0) for i in range(50)]
    )
    df = score(tmp_path, same)
    assert df["clv_frequency"].unique().to_list() == [1]
    for column in ("clv", "clv_p_alive", "clv_expected_purchases", "clv_expected_spend"):
        values = df[column].unique()
        assert values.len() == 1, column  # equal histories, equal estimates (or all null)
        value = values.item()
        assert value is None or math.isfinite(value)


def test_nobody_came_back_means_no_estimate(tmp_path: Path) -> None:
    once = _orders([(i, f"1998-0{1 + i % 6}-01", 10.0 + i) for i in range(40)])
    path = rules(tmp_path, "{tiers: [{label: top, top: 0.5}]}", [*OUTPUTS, "clv_tier"])
    df = segrule.score(path, {"orders": once}, as_of=AS_OF)
    assert isinstance(df, pl.DataFrame)
    assert df["clv_frequency"].unique().to_list() == [0]
    assert df["clv_expected_spend"].null_count() == 40  # no repeat purchase: no Gamma-Gamma
    assert df["clv"].null_count() == 40
    assert df["clv_tier"].unique().to_list() == ["no_estimate"]


def test_estimate_marks_unknown_inputs_nan() -> None:
    x = np.array([np.nan, 2, 0, 5, 1, 3, 0, 2])
    tx = np.array([np.nan, 30, 0, 80, 10, 50, 0, 5])
    t = np.array([np.nan, 100, 60, 90, 40, 120, 10, 70])
    m = np.array([np.nan, 20.0, 0, 35.0, 12.0, 18.0, 0, 40.0])
    got = model.estimate(x, tx, t, m, horizon=30)
    assert np.isnan(got.p_alive[0]) and np.isnan(got.clv[0])
    assert got.p_alive[2] == 1.0  # BG/NBD: alive for sure before a repeat purchase
    if got.bgnbd is not None:
        assert np.all(np.isfinite(got.p_alive[1:]))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{horizon_days: 0}", "horizon_days must be positive"),
        ("{horizon_days: soon}", "horizon_days must be a number"),
        ("{penalizer: -1}", "must not be negative"),
        ("{horizn_days: 30}", "unknown parameter 'horizn_days'"),
        ("{columns: {p_alvie: x}}", "unknown parameter 'p_alvie'"),
        ("{tiers: [{label: a, min: 1}, {label: b, top: 0.5}]}", "every tier a 'min'"),
        ("{tiers: [{label: a, min: 1}, {label: b, min: 5}]}", "not in order"),
        ("{churn_below: 2}", "churn_below must be in (0, 1]"),
    ],
)
def test_bad_parameters_are_one_line_rule_errors(tmp_path: Path, params: str, message: str) -> None:
    with pytest.raises(RuleSetError) as err:
        score(tmp_path, _orders([(1, "1998-01-01", 1.0)]), params)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_models_extra_is_named_at_compile_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model, "missing_modules", lambda: ["scipy"])
    with pytest.raises(
        RuleSetError, match=r"needs scipy: install the models extra .*segrule\[models\]"
    ):
        segrule.compile(rules(tmp_path), as_of=AS_OF)


def test_the_fit_is_logged(
    tmp_path: Path, cdnow_orders: pl.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="segrule.plugins.builtin.clv"):
        score(tmp_path, cdnow_orders)
    fits = [r.getMessage() for r in caplog.records if "clv fit over" in r.getMessage()]
    assert len(fits) == 1  # one fit per run (the one-row type check logs nothing)
    assert fits[0].startswith("clv fit over 2357 customers: BG/NBD r=0.25356")
    assert "; Gamma-Gamma p=4.68" in fits[0]


def test_penalized_fits_reach_lifetimes_optimum_or_better(reference: Any) -> None:
    """With a penalizer the objective is flat and lifetimes' optimiser stops early: on
    the CDNOW sample segrule's BG/NBD parameters differ from lifetimes' by up to 10% but
    give a lower value of lifetimes' own objective (evaluated by lifetimes' code)."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    summary = reference[0]
    f, r, t, m = (summary[c].to_numpy(dtype=float) for c in summary.columns)
    keep = f > 0
    ones = np.ones(len(f))
    scale = 10 / t.max()  # lifetimes fits BG/NBD on time scaled so, the penalty too

    def bg_objective(params: list[float]) -> float:
        rr, alpha, a, b = params
        logs = np.log([rr, alpha * scale, a, b])
        return float(
            BetaGeoFitter._negative_log_likelihood(logs, f, r * scale, t * scale, ones, 0.01)
        )

    def gg_objective(params: list[float]) -> float:
        logs = np.log(params)
        return float(
            GammaGammaFitter._negative_log_likelihood(logs, f[keep], m[keep], ones[keep], 0.01)
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoFitter(penalizer_coef=0.01).fit(f, r, t)
        gg = GammaGammaFitter(penalizer_coef=0.01).fit(f[keep], m[keep])
        ours = model.fit_bgnbd(f, r, t, penalizer=0.01)
        mine = model.fit_gamma_gamma(f, m, penalizer=0.01)
        assert ours is not None and mine is not None
        theirs_bg = bg_objective(list(bg.params_[["r", "alpha", "a", "b"]]))
        ours_bg = bg_objective([ours.r, ours.alpha, ours.a, ours.b])
        theirs_gg = gg_objective(list(gg.params_[["p", "q", "v"]]))
        ours_gg = gg_objective([mine.p, mine.q, mine.v])
    assert ours_bg <= theirs_bg + 1e-12
    assert ours_gg <= theirs_gg + 1e-12
    unpenalized = model.fit_bgnbd(f, r, t)
    assert unpenalized is not None and abs(unpenalized.a - ours.a) > 0.1  # it does bite


def test_inputs_no_history_can_give_get_no_estimate_and_columns_are_renamed(
    tmp_path: Path, cdnow_orders: pl.DataFrame
) -> None:
    # Recency and T swapped: every customer whose recency is below T now has "recency
    # above T", which no purchase history gives.
    params = (
        "{recency: clv_t_days, T: clv_recency_days, "
        "columns: {p_alive: alive, expected_purchases: n_next, expected_spend: spend}}"
    )
    outputs = ["customer_id", "clv_recency_days", "clv_t_days", "clv", "alive", "n_next", "spend"]
    df = score(tmp_path, cdnow_orders, params, outputs=outputs)
    invalid = df.filter(pl.col("clv_recency_days") < pl.col("clv_t_days"))
    assert invalid.height > 0
    assert (
        invalid.select("clv", "alive", "n_next", "spend").null_count().row(0)
        == (invalid.height,) * 4
    )
    valid = df.filter(pl.col("clv_recency_days") == pl.col("clv_t_days"))
    assert valid["alive"].null_count() == 0
