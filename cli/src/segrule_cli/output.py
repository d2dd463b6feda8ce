"""Rich rendering for the CLI: run summaries and progress bars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def table_reporter(prog: Progress) -> Callable[[str, int, int], None]:
    """A ``progress(table, done, total)`` callback drawing one bar per table."""
    tasks: dict[str, Any] = {}

    def report(table: str, done: int, total: int) -> None:
        if table not in tasks:
            tasks[table] = prog.add_task(table, total=max(total, 1))
        prog.update(tasks[table], completed=done)

    return report


def print_summary(
    console: Console, result: Any, lang: str = "en", columns_shown: list[str] | None = None
) -> None:
    """Tier and segment sizes with revenue share, then timings and where the output is."""
    rows = result.summary
    money = None
    from segrule.api import revenue_column

    money = revenue_column(result.plan)
    columns: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        columns.setdefault(r["column"], []).append(r)
    for col, items in columns.items():
        if columns_shown is not None and col not in columns_shown:
            continue
        node = result.plan.nodes[col]
        title = node.title.get(lang) if node.title else None
        table = Table(title=f"{col}" + (f" · {title}" if title else ""), title_justify="left")
        table.add_column("label")
        table.add_column("zh" if lang == "zh" else "display")
        table.add_column("customers", justify="right")
        table.add_column("share", justify="right")
        if money:
            table.add_column("revenue", justify="right")
        for r in items:
            display = (r["zh"] if lang == "zh" else r["en"]) or r["en"] or r["zh"] or ""
            cells = [str(r["label"]), display, f"{r['customers']:,}", f"{r['share']:.1%}"]
            if money:
                rs = r["revenue_share"]
                cells.append("" if rs is None else f"{rs:.1%}")
            table.add_row(*cells)
        console.print(table)
    if money:
        console.print(f"revenue = share of {money}", style="dim", highlight=False)
    s = result.seconds
    console.print(
        f"[green]wrote[/green] {result.rows:,} customers × {len(result.plan.outputs)} columns to "
        f"[bold]{result.output}[/bold]  (compile {s['compile']:.2f}s, run {s['run']:.2f}s)",
        highlight=False,
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def print_bench(console: Console, result: Any) -> None:
    """What `segrule bench` measured: start-up, the run, the phases."""
    r = result
    console.print(
        f"[bold]{' '.join(r.rulesets)}[/bold] on {r.orders:,} orders "
        f"({r.customers:,} customers, seed {r.seed}), as of {r.as_of}; medians of {r.repeat}",
        highlight=False,
    )
    console.print(f"data: {r.data_dir}", style="dim", highlight=False)
    table = Table(title="fresh `segrule` processes", title_justify="left")
    for col in ("", "wall s", "CPU s", "peak memory", "orders/s"):
        table.add_column(col, justify="left" if not col else "right")
    table.add_row(
        "start-up (validate)",
        f"{r.startup.wall_s:.2f}",
        f"{r.startup.cpu_s:.2f}",
        _mib(r.startup.max_rss_bytes),
        "",
    )
    table.add_row(
        "run",
        f"{r.run.wall_s:.2f}",
        f"{r.run.cpu_s:.2f}",
        _mib(r.run.max_rss_bytes),
        f"{r.orders_per_s:,.0f}",
    )
    console.print(table)
    if r.phases:
        total = sum(p.seconds for p in r.phases)
        table = Table(
            title="phases (run one after another in this process; they add up to more "
            "than the one-plan run)",
            title_justify="left",
        )
        for col in ("phase", "seconds", "share", "rows/s", "columns"):
            table.add_column(col, justify="left" if col == "phase" else "right")
        for p in r.phases:
            table.add_row(
                p.phase,
                f"{p.seconds:.3f}",
                f"{p.seconds / total:.0%}" if total else "",
                f"{p.rows_per_s:,.0f}",
                str(p.columns),
            )
        console.print(table)


def print_side_by_side(console: Console, results: Any) -> None:
    """The side-by-side table: each engine's medians and its ratio to segrule."""
    for size in results:
        table = Table(
            title=f"side by side, {size.orders:,} orders ({size.customers:,} customers)",
            title_justify="left",
        )
        for col in ("engine", "wall s", "CPU s", "peak memory", "wall ÷ segrule"):
            table.add_column(col, justify="left" if col == "engine" else "right")
        for e in size.engines:
            ratio = f"{e.wall_vs_segrule:.2f}" if e.wall_vs_segrule is not None else ""
            table.add_row(
                e.engine, f"{e.wall_s:.2f}", f"{e.cpu_s:.2f}", _mib(e.max_rss_bytes), ratio
            )
        console.print(table)
        for floor, x in size.segrule_vs_floor.items():
            console.print(f"segrule's wall time is {x:.2f}× {floor}", highlight=False)


def print_quality(console: Console, result: Any) -> None:
    """One line per table: rows read and used, and every check that left rows out (or
    kept bad ones); blacklisted customers."""
    tables: dict[str, dict[str, tuple[str, int]]] = {}
    for q in result.quality:
        if q["check"] == "blacklisted":
            if q["rows"]:
                console.print(
                    f"excluded {q['rows']:,} blacklisted customers ({result.plan.blacklist})",
                    highlight=False,
                )
            continue
        tables.setdefault(q["table"], {})[q["check"]] = (q["action"], q["rows"])
    for table, checks in tables.items():
        read = checks.pop("rows_read", ("", 0))[1]
        used = checks.pop("rows_used", ("", 0))[1]
        notes = [f"{n:,} {check} {action}" for check, (action, n) in checks.items() if n]
        line = f"{table}: {read:,} rows read, {used:,} used"
        console.print(line + (f" ({'; '.join(notes)})" if notes else ""), highlight=False)


def _money(x: Any) -> str:
    return "" if x is None else f"{x:,.2f}"


def print_migration(console: Console, result: Any, lang: str = "en", *, moves: int = 20) -> None:
    """Per column: the migration matrix (old label rows, new label columns, customers),
    then the moves (off-diagonal cells) with the revenue of their customers on each
    side, largest first."""
    console.print(
        f"old: [bold]{result.old.source}[/bold]"
        + (f" (as of {result.old.as_of})" if result.old.as_of else "")
        + f"\nnew: [bold]{result.new.source}[/bold]"
        + (f" (as of {result.new.as_of})" if result.new.as_of else ""),
        highlight=False,
    )
    for side in (result.old, result.new):
        if side.note:
            console.print(
                f"{side.source}: {side.note}; comparing its text and boolean columns",
                style="dim",
                highlight=False,
            )
    for col in result.columns:
        m = col.matrix
        order = col.order()
        counts = {(r["old"], r["new"]): r["customers"] for r in m.iter_rows(named=True)}
        title = col.title.get(lang) if col.title else None
        table = Table(
            title=f"{col.column}"
            + (f" · {title}" if title else "")
            + "  (rows: old, columns: new)",
            title_justify="left",
        )
        table.add_column("old \\ new")
        news = [x for x in order if any(k[1] == x for k in counts)]
        olds = [x for x in order if any(k[0] == x for k in counts)]
        for x in news:
            table.add_column(col.display(x, lang), justify="right")
        table.add_column("total", justify="right")
        for o in olds:
            cells = []
            for n in news:
                c = counts.get((o, n))
                text = f"{c:,}" if c else ""
                cells.append(f"[bold]{text}[/bold]" if o == n and text else text)
            total = sum(v for (a, _), v in counts.items() if a == o)
            table.add_row(col.display(o, lang), *cells, f"{total:,}")
        table.add_row(
            "total",
            *[f"{sum(v for (_, b), v in counts.items() if b == n):,}" for n in news],
            f"{sum(counts.values()):,}",
        )
        console.print(table)
        moved = m.filter(m["old"].ne_missing(m["new"])).sort("customers", descending=True)
        if moved.height == 0:
            console.print(f"{col.column}: no customer changed label", highlight=False)
            continue
        mt = Table(
            title=f"{col.column}: {col.moved():,} customers moved"
            + (f"; revenue = {result.revenue}" if result.revenue else ""),
            title_justify="left",
        )
        for name in ("from", "to", "customers"):
            mt.add_column(name, justify="right" if name == "customers" else "left")
        if result.revenue:
            mt.add_column("revenue old", justify="right")
            mt.add_column("revenue new", justify="right")
        for r in moved.head(moves).iter_rows(named=True):
            cells = [
                col.display(r["old"], lang),
                col.display(r["new"], lang),
                f"{r['customers']:,}",
            ]
            if result.revenue:
                cells += [_money(r["revenue_old"]), _money(r["revenue_new"])]
            mt.add_row(*cells)
        if moved.height > moves:
            mt.caption = f"{moved.height - moves} smaller moves not shown (--json has all)"
        console.print(mt)
    if result.changes_path is not None:
        console.print(
            f"[green]wrote[/green] {result.changes_rows:,} change events to "
            f"[bold]{result.changes_path}[/bold]",
            highlight=False,
        )


def print_frame(console: Console, frame: Any, title: str, limit: int = 50) -> None:
    """A small table of a DataFrame's first ``limit`` rows."""
    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        table.add_column(name)
    for row in frame.head(limit).iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    if frame.height > limit:
        table.caption = f"{frame.height - limit:,} more rows (--out FILE writes all)"
    console.print(table)
