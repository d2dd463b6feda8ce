"""`segrule demo`: generate a small data set, score it with the builtin presets, show it."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from segrule.model.keys import BASE

from segrule_cli import output
from segrule_cli.common import _lang, console, handle_errors, working
from segrule_cli.options import LabelLangOpt
from segrule_cli.texts import words

DEMO_PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]


def cache_dir() -> Path:
    from segrule.bench.data import cache_root

    return cache_root()


def command_name() -> str:
    """How the user types segrule in the shell the demo was started from: ``segrule``
    when their PATH finds this very script; else the script's path (relative to the
    current folder when under it), so every suggested command works as printed.

    ``uv run`` puts the environment's bin folder on PATH for its child only: the shell
    that typed ``uv run ... segrule demo`` has no ``segrule``."""
    script = Path(sys.argv[0])
    if script.name not in ("segrule", "segrule.exe"):  # python -m segrule_cli, a test runner
        return f"{shlex.quote(sys.executable)} -m segrule_cli"
    found = shutil.which("segrule")
    via_uv_run = "UV_RUN_RECURSION_DEPTH" in os.environ
    if found and not via_uv_run and Path(found).resolve() == script.resolve():
        return "segrule"
    real = script.absolute()
    try:
        shown = str(real.relative_to(Path.cwd()))
    except ValueError:
        shown = str(real)
    return shlex.quote(shown)


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

    lang = _lang(lang)
    text = words("demo", lang)

    root = cache_dir() / "demo"
    data = root / f"data-{orders}-{seed}"
    if not (data / "orders.parquet").exists():
        console.print(text["generating"].format(orders=orders, path=data), highlight=False)
        with output.progress(console) as prog:
            report = output.table_reporter(prog)

            gen(data, orders=orders, seed=seed, end=dt.date(2026, 11, 1), progress=report)
    else:
        console.print(text["cached"].format(path=data), highlight=False)
    out = root / "scores.parquet"
    with working("Scoring:"):
        result = segrule.run(DEMO_PRESETS, out, as_of="2026-11-01", data=data)
    output.print_summary(
        console, result, lang=lang, columns_shown=["lifecycle", "tier", "rfm_segment", "pareto_key"]
    )
    import polars as pl

    # A VIP of this run to explain (what it lacks for super VIP, when it falls a rung).
    vip = pl.scan_parquet(out).filter(pl.col("tier") == "vip").select(BASE)
    found = vip.head(1).collect()[BASE].to_list()
    me = command_name()
    where = shlex.quote(str(data))
    tries = [
        f"{me} run taobao-5-tier --data {where} --as-of 2026-11-01 --out out.csv",
        f"{me} report {shlex.quote(str(out))} --out report.html",
    ]
    if found:
        tries.insert(
            1,
            f"{me} explain taobao-5-tier --data {where} --as-of 2026-11-01 "
            f"--customer {shlex.quote(str(found[0]))} --lang {lang}",
        )
    console.print(
        f"\n{text['rulesets']}: {', '.join(DEMO_PRESETS)} ({text['see']} `{me} presets`). "
        f"{text['try']}:\n" + "\n".join(f"  {t}" for t in tries),
        highlight=False,
        soft_wrap=True,  # commands stay whole lines, to copy
    )
    if me != "segrule":
        console.print(text["path"], highlight=False, soft_wrap=True)
