"""`segrule demo`: generate a small data set, score it with the builtin presets, show it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from segrule.model.keys import BASE

from segrule_cli import output
from segrule_cli.common import console, handle_errors
from segrule_cli.options import LabelLangOpt

DEMO_PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]


def cache_dir() -> Path:
    from segrule.bench.data import cache_root

    return cache_root()


@handle_errors
def demo(
    orders: Annotated[int, typer.Option(help="Orders to generate.", min=1)] = 200_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    lang: LabelLangOpt = "zh",
) -> None:
    """Generate a small data set, score it with taobao-5-tier, rfm and pareto-80-20, and
    show the tiers and segments."""
    import segrule
    from segrule.generate import generate as gen

    root = cache_dir() / "demo"
    data = root / f"data-{orders}-{seed}"
    if not (data / "orders.parquet").exists():
        console.print(f"Generating {orders:,} orders into {data} …", highlight=False)
        with output.progress(console) as prog:
            report = output.table_reporter(prog)

            gen(data, orders=orders, seed=seed, end=dt.date(2026, 11, 1), progress=report)
    else:
        console.print(f"Using cached data in {data}", highlight=False)
    out = root / "scores.parquet"
    with console.status("Scoring customers…", spinner="dots"):
        result = segrule.run(DEMO_PRESETS, out, as_of="2026-11-01", data=data)
    output.print_summary(
        console, result, lang=lang, columns_shown=["lifecycle", "tier", "rfm_segment", "pareto_key"]
    )
    import polars as pl

    # A VIP of this run to explain (what it lacks for super VIP, when it falls a rung).
    vip = pl.scan_parquet(out).filter(pl.col("tier") == "vip").select(BASE)
    found = vip.head(1).collect()[BASE].to_list()
    tries = [
        f"segrule run taobao-5-tier --data {data} --as-of 2026-11-01 --out out.csv",
        f"segrule report {out} --out report.html",
    ]
    if found:
        tries.insert(
            1,
            f"segrule explain taobao-5-tier --data {data} --as-of 2026-11-01 "
            f"--customer {found[0]} --lang {lang}",
        )
    console.print(
        f"\nRule sets: {', '.join(DEMO_PRESETS)} (see `segrule presets`). Try:\n"
        + "\n".join(f"  {t}" for t in tries),
        highlight=False,
        soft_wrap=True,  # commands stay whole lines, to copy
    )
