"""Rich rendering for the CLI: run summaries and progress bars."""

from __future__ import annotations

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
