"""segrule's clv strategy against lifetimes and pymc-marketing on the same data.

For each data set, segrule computes the per-customer inputs (clv_frequency,
clv_recency_days, clv_t_days, clv_monetary) and the strategy's outputs from the
orders; lifetimes (BetaGeoFitter, GammaGammaFitter: maximum likelihood) and
pymc-marketing (clv.BetaGeoModel, clv.GammaGammaModel: MAP with flat priors, which is the
maximum-likelihood point) are fitted on those same inputs. Printed: the fitted parameters
of each, and the largest differences of the predictions (absolute, and relative over
values of at least 0.01, for money 1.00) (365-day horizon; CLV over 12
months of 30 days discounted 1% a month, lifetimes' and pymc-marketing's convention).

pymc-marketing does not share an environment with the workspace (PyMC, PyTensor), so
this runs in a throwaway one, from the repository root:

    python3 -m uv run --no-project --with './core[models,generate]' \
        --with 'lifetimes==0.11.3' --with 'setuptools<70' --with 'pymc-marketing' \
        python benchmarks/clv_reference.py

(setuptools < 70: lifetimes imports pkg_resources.) docs/clv.md shows its output.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import segrule
from segrule.generate import generate
from segrule.model import clv as model

warnings.filterwarnings("ignore")

HORIZON = 360  # 12 months of 30 days: lifetimes' and pymc-marketing's CLV unit
RULES = f"""
name: clv-reference
version: "1"
scores:
  clv:
    strategy: clv
    params: {{horizon_days: {HORIZON}, discount_rate: 0.01}}
outputs: [customer_id, clv_frequency, clv_recency_days, clv_t_days, clv_monetary, clv,
          clv_expected_purchases, clv_p_alive, clv_expected_spend]
"""


def cdnow(name: str) -> pl.DataFrame:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "datasets" / name
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if not rows[0][0].isdigit():  # CDNOW_master.txt: a header, no second id column
        rows = [[r[0], "", r[1], r[2], r[3]] for r in rows[1:]]
    return pl.DataFrame(
        {
            "order_id": range(len(rows)),
            "customer_id": [int(r[0]) for r in rows],
            "order_ts": [dt.datetime.strptime(r[2], "%Y%m%d") for r in rows],
            "amount": [float(r[4]) for r in rows],
            "status": ["paid"] * len(rows),
        }
    )


def segrule_outputs(
    tables: dict[str, pl.DataFrame] | None, data: Path | None, as_of: str
) -> pd.DataFrame:
    folder = Path(tempfile.mkdtemp())
    (folder / "rules.yaml").write_text(RULES)
    start = time.perf_counter()
    df = segrule.score(str(folder / "rules.yaml"), tables, data=data, as_of=as_of)
    took = time.perf_counter() - start
    out = df.drop_nulls("clv_frequency").to_pandas().set_index("customer_id")
    print(f"  segrule run (inputs, fit, predictions): {took:.2f} s, {len(out)} buyers")
    return out


def lifetimes_fit(s: pd.DataFrame) -> dict[str, object]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    f, r, t, m = s.clv_frequency, s.clv_recency_days, s.clv_t_days, s.clv_monetary
    bg = BetaGeoFitter().fit(f, r, t)
    rep = s[(f > 0) & (m > 0)]  # the Gamma-Gamma fit needs a positive spend, as segrule's
    gg = GammaGammaFitter().fit(rep.clv_frequency, rep.clv_monetary)
    return {
        "bg": bg.params_[["r", "alpha", "a", "b"]].to_numpy(),
        "gg": gg.params_[["p", "q", "v"]].to_numpy(),
        "p_alive": bg.conditional_probability_alive(f, r, t),
        "purchases": bg.conditional_expected_number_of_purchases_up_to_time(HORIZON, f, r, t),
        "spend": gg.conditional_expected_average_profit(f, m),
        "clv": gg.customer_lifetime_value(bg, f, r, t, m, time=12, discount_rate=0.01, freq="D"),
    }


def pymc_fit(s: pd.DataFrame) -> dict[str, object]:
    from pymc_extras.prior import Prior
    from pymc_marketing import clv

    data = pd.DataFrame(
        {
            "customer_id": s.index,
            "frequency": s.clv_frequency.to_numpy(),
            "recency": s.clv_recency_days.to_numpy(),
            "T": s.clv_t_days.to_numpy(),
            "monetary_value": s.clv_monetary.to_numpy(),
        }
    )
    flat = {k: Prior("HalfFlat") for k in ("r", "alpha", "a", "b")}
    bg = clv.BetaGeoModel(
        data=data[["customer_id", "frequency", "recency", "T"]], model_config=flat
    )
    bg.fit(method="map", progressbar=False)
    rep = data[(data.frequency > 0) & (data.monetary_value > 0)]
    gg = clv.GammaGammaModel(data=rep[["customer_id", "frequency", "monetary_value"]])
    gg.fit(method="map", progressbar=False)

    def point(fitted: object, names: tuple[str, ...]) -> np.ndarray:
        post = fitted.idata.posterior  # type: ignore[attr-defined]
        return np.array([float(post[n].values.squeeze()) for n in names])

    def values(x: object) -> np.ndarray:
        return np.asarray(x).squeeze()  # type: ignore[no-any-return]

    return {
        "bg": point(bg, ("r", "alpha", "a", "b")),
        "gg": point(gg, ("p", "q", "v")),
        "p_alive": values(bg.expected_probability_alive(data)),
        "purchases": values(bg.expected_purchases(data, future_t=HORIZON)),
        "spend": values(gg.expected_customer_spend(data)),
        "clv": values(
            gg.expected_customer_lifetime_value(
                transaction_model=bg, data=data, future_t=12, discount_rate=0.01, time_unit="D"
            )
        ),
    }


def fmt(values: np.ndarray) -> str:
    return ", ".join(f"{v:.6g}" for v in values)


#: the smallest reference value a relative difference is taken over: segrule rounds
#: probabilities and counts to 1e-6 and money to the cent
FLOOR = {"p_alive": 0.01, "purchases": 0.01, "spend": 1.0, "clv": 1.0}


def gap(ours: np.ndarray, theirs: object, what: str) -> str:
    """Largest absolute difference, and in brackets the largest relative one over the
    reference values of at least FLOOR[what]."""
    ref = np.asarray(theirs, dtype=float)
    diff = np.abs(ours - ref)
    big = np.abs(ref) >= FLOOR[what]
    rel = float(np.max(diff[big] / np.abs(ref[big]))) if big.any() else 0.0
    return f"{float(np.max(diff)):.1e} ({rel:.0e})"


def compare(name: str, s: pd.DataFrame) -> None:
    x, tx, t, m = (
        s[c].to_numpy(dtype=float)
        for c in ("clv_frequency", "clv_recency_days", "clv_t_days", "clv_monetary")
    )
    start = time.perf_counter()
    bg, gg = model.fit_bgnbd(x, tx, t), model.fit_gamma_gamma(x, m)
    print(f"  segrule fits alone: {time.perf_counter() - start:.2f} s")
    assert bg is not None and gg is not None
    ours = {
        "bg": np.array([bg.r, bg.alpha, bg.a, bg.b]),
        "gg": np.array([gg.p, gg.q, gg.v]),
        "p_alive": s.clv_p_alive.to_numpy(),
        "purchases": s.clv_expected_purchases.to_numpy(),
        "spend": s.clv_expected_spend.to_numpy(),
        "clv": s.clv.to_numpy(),
    }
    refs = {"lifetimes 0.11.3": lifetimes_fit(s)}
    try:
        import pymc_marketing

        refs[f"pymc-marketing {pymc_marketing.__version__}"] = pymc_fit(s)
    except ImportError as err:
        print(f"  pymc-marketing not installed: {err}")
    print(f"\n{name}: {len(s)} buyers, {int((s.clv_frequency > 0).sum())} with a repeat purchase\n")
    print("| fit | BG/NBD r, alpha, a, b | Gamma-Gamma p, q, v |")
    print("|---|---|---|")
    print(f"| segrule | {fmt(ours['bg'])} | {fmt(ours['gg'])} |")
    for ref, got in refs.items():
        print(f"| {ref} | {fmt(got['bg'])} | {fmt(got['gg'])} |")
    print()
    print(
        "| against | max rel. diff, parameters | P(alive) | expected purchases "
        "| expected spend | CLV |"
    )
    print("|---|---|---|---|---|---|")
    for ref, got in refs.items():
        rel = max(float(np.max(np.abs(ours[k] / np.asarray(got[k]) - 1))) for k in ("bg", "gg"))
        diffs = [gap(ours[k], got[k], k) for k in ("p_alive", "purchases", "spend", "clv")]
        print(f"| {ref} | {rel:.1e} | " + " | ".join(diffs) + " |")
    print()
    print("segrule's formulas evaluated at each reference's own parameters (unrounded):\n")
    print("| parameters of | P(alive) | expected purchases | expected spend | CLV |")
    print("|---|---|---|---|---|")
    for ref, got in refs.items():
        rbg = model.BetaGeoParams(*(float(v) for v in got["bg"]))  # type: ignore[union-attr]
        rgg = model.GammaGammaParams(*(float(v) for v in got["gg"]))  # type: ignore[union-attr]
        spend = model.expected_spend(rgg, x, m)
        mine = {
            "p_alive": model.probability_alive(rbg, x, tx, t),
            "purchases": model.expected_purchases(rbg, HORIZON, x, tx, t),
            "spend": spend,
            "clv": model.lifetime_value(rbg, spend, HORIZON, x, tx, t, 0.01),
        }
        diffs = [gap(mine[k], got[k], k) for k in ("p_alive", "purchases", "spend", "clv")]
        print(f"| {ref} | " + " | ".join(diffs) + " |")


def main() -> None:
    print("CDNOW sample (lifetimes' CDNOW_sample.txt), as of 1998-07-01:")
    compare(
        "CDNOW sample", segrule_outputs({"orders": cdnow("CDNOW_sample.txt")}, None, "1998-07-01")
    )
    print("\nCDNOW master (lifetimes' CDNOW_master.txt), as of 1998-07-01:")
    compare(
        "CDNOW master", segrule_outputs({"orders": cdnow("CDNOW_master.txt")}, None, "1998-07-01")
    )
    folder = Path(tempfile.mkdtemp())
    generate(folder, orders=100_000, seed=1)
    print("\nsegrule generate --orders 100000 --seed 1, as of 2026-11-01:")
    compare("generated", segrule_outputs(None, folder, "2026-11-01"))


if __name__ == "__main__":
    main()
