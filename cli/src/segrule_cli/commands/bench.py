"""`segrule bench`: time rule sets on generated data, optionally side by side with peers."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from segrule_cli import output
from segrule_cli.common import console, err_console, handle_errors
from segrule_cli.options import PluginOpt
from segrule_cli.output import styled


@handle_errors
def bench(
    rulesets: Annotated[
        list[str],
        typer.Argument(help="Rule files or preset names, run together.", show_default=False),
    ],
    orders: Annotated[
        int, typer.Option(help="Orders to generate (10 per customer), cached.", min=1)
    ] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 1,
    as_of: Annotated[str, typer.Option("--as-of", help="As-of date of the runs.")] = "2026-11-01",
    repeat: Annotated[int, typer.Option(help="Runs per measurement (medians).", min=1)] = 3,
    compare: Annotated[
        str | None,
        typer.Option(
            help="Also run the side-by-side of the builtin presets (taobao-5-tier rfm "
            "pareto-80-20) against these peers, comma-separated: duckdb, polars, pandas, "
            "floor (the order floor), jobfloor (the job floor) (needs pip install "
            "'segrule[bench]').",
        ),
    ] = None,
    phases: Annotated[bool, typer.Option(help="Also time each phase (in this process).")] = True,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the measurements to this JSON file.")
    ] = None,
    plugin: PluginOpt = None,
) -> None:
    """Time rule sets on generated data: start-up, the run, each phase, peak memory.

    Data for --orders is generated once with `segrule generate` and cached in
    $SEGRULE_CACHE_DIR/bench (default ~/.cache/segrule/bench). Every run is a fresh
    `segrule` process, as a user runs it; medians of --repeat runs. With --compare the
    same data is also scored by hand-written DuckDB SQL, polars and pandas versions of
    the builtin presets, their outputs are checked equal to segrule's, and all are timed.

    Example: [bold]segrule bench taobao-5-tier rfm pareto-80-20 --orders 10000000
    --compare duckdb[/bold]
    """
    from segrule.bench.runner import bench_rulesets
    from segrule.io.outpaths import check_file

    if json_out is not None:
        check_file(json_out, what="--json", writes="json")  # before the benchmark, not after it
    peers: list[str] = []
    if compare:
        from segrule.errors import UsageError

        names = {"duckdb": "duckdb", "polars": "polars", "pandas": "pandas"}
        for item in (c.strip() for c in compare.split(",") if c.strip()):
            if item in ("floor", "jobfloor"):
                peers += [f"{item}-polars", f"{item}-duckdb"]
            elif item in names or item.startswith(("floor-", "jobfloor-")):
                peers.append(names.get(item, item))
            else:
                raise UsageError(
                    f"--compare '{item}' is not one of duckdb, polars, pandas, floor, jobfloor"
                )
    with output.progress(console) as prog:
        report = output.table_reporter(prog)

        def say(msg: str) -> None:
            prog.console.print(msg, style="dim", highlight=False)

        result = bench_rulesets(
            rulesets,
            orders,
            seed=seed,
            as_of=as_of,
            repeat=repeat,
            plugins=plugin or [],
            phases=phases,
            say=say,
            progress=report,
        )
    output.print_bench(console, result)
    from segrule.bench.measure import bytecode_note

    note = bytecode_note()
    if note:
        err_console.print(styled(("note:", "yellow"), f" {note}"), highlight=False)
    side = None
    if peers:
        from segrule.bench.sidebyside import run_side_by_side

        console.print(
            "side by side: taobao-5-tier rfm pareto-80-20 (the builtin presets the peers "
            "implement), outputs checked equal first",
            style="dim",
            highlight=False,
        )
        side = run_side_by_side(
            [orders],
            ["segrule", *dict.fromkeys(peers)],
            repeat,
            as_of=as_of,
            seed=seed,
            progress=lambda m: console.print(m, style="dim", highlight=False),
        )
        output.print_side_by_side(console, side)
    if json_out:
        from segrule.bench.runner import bench_json

        record = bench_json(result, side)
        from segrule.io.outpaths import write_text

        text = json.dumps(record, indent=2, default=str) + "\n"
        write_text(json_out, text, what="--json", writes="json")
        console.print(f"wrote {json_out}", highlight=False)
