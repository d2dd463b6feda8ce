"""Rich rendering for the CLI: run summaries, progress bars and the tables commands print.

Almost everything printed holds user text: labels and their display names, segment,
dimension and rule set names, descriptions, actions, customer ids, file paths, error
messages. The CLI prints through :class:`PlainConsole`: markup and emoji codes off, so
a string is printed as written, and control characters (an ESC starting a terminal
escape sequence) shown as U+FFFD. Emphasis is given as styles (:func:`styled`,
``style=``), never as ``[bold]...[/bold]`` in a string, which would be shown as typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from segrule_cli.texts import words

#: C0 control characters but tab and LF, and DEL -> U+FFFD.
CONTROLS = {c: "\ufffd" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}

#: A piece of :func:`styled`: plain text, or (text, style).
Piece = str | tuple[str, str]


def styled(*pieces: Piece) -> Text:
    """One line from plain strings and (string, style) pairs; nothing in it is read as
    markup, whatever the console, and control characters are shown as U+FFFD."""
    return Text.assemble(
        *(
            p.translate(CONTROLS) if isinstance(p, str) else (p[0].translate(CONTROLS), p[1])
            for p in pieces
        )
    )


class PlainConsole(Console):
    """A rich console that prints user text as written: markup and emoji codes off, and
    control characters in strings shown as U+FFFD (rich itself strips only a few)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, emoji=False, **kwargs)
        if "width" not in kwargs:
            # rich fixes the width from COLUMNS when the console is made (at import);
            # without it the width is read from COLUMNS or the terminal at each print,
            # so a COLUMNS set later (a test, an embedding program) is honoured.
            self._width = None

    def render_str(self, text: str, **kwargs: Any) -> Text:
        # every string printed, and every string cell, title and caption of a table,
        # is made into Text here
        return super().render_str(text.translate(CONTROLS), **kwargs)


def progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<10}", markup=False),
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
    """Tier and segment sizes with revenue share, then timings and where the output is;
    headings, titles and label names in ``lang``."""
    t = words("summary", lang)
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
        table.add_column(t["label"])
        table.add_column(t["display"])
        table.add_column(t["customers"], justify="right")
        table.add_column(t["share"], justify="right")
        if money:
            table.add_column(t["revenue"], justify="right")
        for r in items:
            display = (r["zh"] if lang == "zh" else r["en"]) or r["en"] or r["zh"] or ""
            cells = [str(r["label"]), display, f"{r['customers']:,}", f"{r['share']:.1%}"]
            if money:
                rs = r["revenue_share"]
                cells.append("" if rs is None else f"{rs:.1%}")
            table.add_row(*cells)
        console.print(table)
    if money:
        console.print(t["revenue_is"].format(money=money), style="dim", highlight=False)
    s = result.seconds
    console.print(
        styled(
            (t["wrote"], "green"),
            t["wrote_rest"].format(rows=result.rows, cols=len(result.plan.outputs)),
            (str(result.output), "bold"),
            t["timing"].format(compile=s["compile"], run=s["run"]),
        ),
        highlight=False,
    )


def print_buckets(console: Console, result: Any, lang: str = "en") -> None:
    """What ``segrule bucket`` wrote: per table its rows, how many buckets hold rows and
    the largest and smallest bucket (the skew a cluster will see)."""
    from segrule.engine.buckets import HASH_TEXT

    t = words("bucket", lang)
    table = Table(
        title=t["title"].format(buckets=result.buckets, hash=HASH_TEXT), title_justify="left"
    )
    table.add_column(t["table"])
    table.add_column(t["id_column"])
    table.add_column(t["rows"], justify="right")
    table.add_column(t["nonempty"], justify="right")
    table.add_column(t["largest"], justify="right")
    table.add_column(t["smallest"], justify="right")
    table.add_column(t["skew"], justify="right")
    folders = 0
    for item in result.tables.values():
        folders += item.nonempty
        table.add_row(
            item.name,
            item.id_column,
            f"{item.rows:,}",
            f"{item.nonempty:,}/{result.buckets:,}",
            f"{item.largest:,}",
            f"{item.smallest:,}",
            f"{item.skew:.2f}",
        )
    console.print(table)
    rows = sum(item.rows for item in result.tables.values())
    console.print(
        styled(
            (t["wrote"], "green"),
            t["wrote_rest"].format(tables=len(result.tables), rows=rows, files=folders),
            (str(result.out), "bold"),
            t["seconds"].format(seconds=result.seconds),
        ),
        highlight=False,
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def print_bench(console: Console, result: Any) -> None:
    """What `segrule bench` measured: start-up, the run, the phases."""
    r = result
    console.print(
        styled(
            (" ".join(r.rulesets), "bold"),
            f" on {r.orders:,} orders ({r.customers:,} customers, seed {r.seed}), as of "
            f"{r.as_of}; medians of {r.repeat}",
        ),
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
        shape = "" if size.shape == "default" else f", shape {size.shape}"
        table = Table(
            title=f"side by side, {size.orders:,} orders{shape} ({size.customers:,} customers)",
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


def print_quality(console: Console, result: Any, lang: str = "en") -> None:
    """One line per table: rows read and used, and every check that left rows out (or
    kept bad ones); blacklisted customers. In Chinese the checks and actions have their
    display names, followed by the check's key as the rule set writes it."""
    from segrule.model.checks import ACTIONS, CHECKS

    t = words("quality", lang)
    tables: dict[str, dict[str, tuple[str, int]]] = {}
    for q in result.quality:
        if q["check"] == "blacklisted_customers":
            if q["rows"]:
                text = t["blacklisted"].format(rows=q["rows"], file=result.plan.blacklist)
                console.print(text, highlight=False)
            continue
        tables.setdefault(q["table"], {})[q["check"]] = (q["action"], q["rows"])

    def note(check: str, action: str, rows: int) -> str:
        found = CHECKS.get(check)
        name = found.display(lang) if found else t.get(check + "_rows", check)
        shown = ACTIONS[action][lang] if lang == "zh" and action in ACTIONS else action
        return t["note"].format(rows=rows, check=check, name=name, action=shown)

    for table, checks in tables.items():
        read = checks.pop("rows_read", ("", 0))[1]
        used = checks.pop("rows_used", ("", 0))[1]
        notes = [note(check, action, n) for check, (action, n) in checks.items() if n]
        line = t["read_used"].format(table=table, read=read, used=used)
        if notes:
            line += t["notes"].format(notes=t["sep"].join(notes))
        console.print(line, highlight=False)


def _fmt(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"  # as rules and outputs write it
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value == value else "NaN"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_explanation(console: Console, exp: Any, lang: str = "en") -> None:
    """One customer's dimensions, each case of each segment and tier evaluated in order,
    the points of each score part, and the resulting labels (``segrule explain``)."""
    t = words("explain", lang)

    def title_of(item: Any) -> str:
        return item.title.get(lang) or item.title.get("en") or item.title.get("zh") or ""

    def label_text(item: Any) -> str:
        shown = _fmt(item.value)
        if item.label is not None:
            display = item.label.display(lang)
            if display and display != shown:
                shown += f" ({display})"
        return shown

    console.print(
        styled((f"{t['customer']} {exp.customer_id}", "bold"), f" · {t['as_of']} {exp.as_of}"),
        highlight=False,
    )
    dims = exp.by_role("dimension")
    table = Table(title=t["dimensions"], title_justify="left")
    table.add_column(t["name"])
    table.add_column(t["title"])
    table.add_column(t["value"], justify="right")
    for item in dims:
        table.add_row(item.name, title_of(item) or item.description, _fmt(item.value))
    console.print(table)
    console.print(styled("\n", (t["segments"], "bold")))
    for item in exp.items:
        if not item.cases and item.role not in ("segment", "tier"):
            continue
        title = f" · {title_of(item)}" if title_of(item) else ""
        console.print(
            styled((item.name, "bold"), f"{title} = ", (label_text(item), "green")),
            highlight=False,
        )
        if item.cases:
            cases = Table(show_header=True, box=None, padding=(0, 1))
            cases.add_column("")
            cases.add_column(t["case"])
            cases.add_column(t["when"])
            cases.add_column(t["holds"])
            cases.add_column(t["why"])
            for i, c in enumerate(item.cases, 1):
                holds = t["null"] if c.holds is None else t["true" if c.holds else "false"]
                mark = "→" if c.matched else ""
                shown = _label_with_display(item.labels, c.label, lang)
                cases.add_row(mark, f"{i}. {shown}", c.sql, holds, c.why or "")
            if item.default is not None:
                mark = "" if any(c.matched for c in item.cases) else "→"
                shown = _label_with_display(item.labels, item.default, lang)
                cases.add_row(mark, f"{t['default']} {shown}", "", "", "")
            console.print(cases)
        elif item.reason:
            console.print(f"  {t['reason']}: {item.reason}", highlight=False)
        _print_movement(console, item, t)
        if item.label is not None and item.label.actions_in(lang):
            actions = "; ".join(item.label.actions_in(lang))
            console.print(f"  {t['actions']}: {actions}", highlight=False)
    scores = [i for i in exp.items if i.role == "score" and not i.cases]
    if scores:
        console.print(styled("\n", (t["scores"], "bold")))
    for item in scores:
        title = f" · {title_of(item)}" if title_of(item) else ""
        console.print(
            styled((item.name, "bold"), f"{title} = ", (_fmt(item.value), "green")),
            highlight=False,
        )
        if item.parts:
            parts = Table(show_header=True, box=None, padding=(0, 1))
            parts.add_column(t["part"])
            parts.add_column(t["value"])
            parts.add_column(t["points"], justify="right")
            by_name = {i.name: i for i in exp.items}
            for label, value, points in item.parts:
                shown = _fmt(value)
                if label in by_name and isinstance(value, str):
                    shown = _label_with_display(by_name[label].labels, value, lang)
                parts.add_row(label, shown, _fmt(points))
            parts.add_row(styled((t["total"], "bold")), "", styled((_fmt(item.value), "bold")))
            console.print(parts)
        elif item.reason:
            console.print(f"  {t['reason']}: {item.reason}", highlight=False)
        _print_movement(console, item, t)


def _label_with_display(labels: Any, key: str, lang: str) -> str:
    """A label's key, followed in Chinese by its display name (keys are English)."""
    found = labels.get(key)
    shown = found.display(lang) if found is not None and lang == "zh" else key
    return key if shown == key else f"{key} {shown}"


def _print_movement(console: Console, item: Any, t: dict[str, str]) -> None:
    if item.lacks:
        console.print(f"  {t['next']}: {item.lacks}", highlight=False)
    if item.rolloff is not None:
        console.print(f"  {t['rolloff']}: {item.rolloff}", highlight=False)


def _natural_width(console: Console, table: Table) -> int:
    """The width ``table`` takes when nothing is cut (rich's own measure stops at the
    terminal's width)."""
    return console.measure(table, options=console.options.update(max_width=100_000)).maximum


def print_frame(
    console: Console,
    frame: Any,
    *,
    limit: int = 200,
    lang: str = "en",
    headers: dict[str, str] | None = None,
) -> None:
    """A polars DataFrame as a table that fits the terminal: midnight times as dates;
    when too wide, a few rows are shown turned (a row per column), more rows with the
    columns that fit and a note of those left out. ``headers`` shows a column under
    another name (the frame's own names when missing)."""
    import datetime as dt

    def text(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, dt.datetime) and v.time() == dt.time(0) and v.tzinfo is None:
            return v.date().isoformat()
        if isinstance(v, str) and len(v) == 19 and v.endswith("T00:00:00"):
            return v[:10]
        return str(v)

    t = words("frame", lang)
    rows = [[text(v) for v in row] for row in frame.head(limit).iter_rows()]
    names = [(headers or {}).get(c, c) for c in frame.columns]

    def grid(k: int) -> Table:
        # the first k columns, by position: two columns may be shown under one header
        table = Table(*names[:k])
        for row in rows:
            table.add_row(*row[:k])
        return table

    table = grid(len(names))
    note = ""
    if _natural_width(console, table) > console.width and names:
        if 0 < len(rows) <= 12:
            turned = Table("", *(r[0] for r in rows))
            for j, name in enumerate(names[1:], 1):
                turned.add_row(name, *(r[j] for r in rows))
            table = turned
        else:
            k = 1
            while k < len(names) and _natural_width(console, grid(k + 1)) <= console.width:
                k += 1
            table = grid(k)
            left = names[k:]
            if left:
                note = t["more_columns"].format(n=len(left), names=", ".join(left))
    console.print(table)
    if note:
        console.print(note, style="dim", highlight=False)
    if frame.height > limit:
        console.print(t["more_rows"].format(n=frame.height - limit), highlight=False)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def print_sweep(console: Console, result: Any, lang: str = "en") -> None:
    """One table per swept or downstream column: a row per grid value, a column per
    label with its share of customers and of revenue."""
    from segrule.model.literals import format_number

    w = words("sweep", lang)

    for p in result.params:
        console.print(
            styled(
                (p.name, "bold"),
                w["now"].format(current=format_number(p.current), where=p.where, n=len(p.values)),
            ),
            highlight=False,
        )
    marks: dict[tuple[str, int], list[str]] = {}
    for t in result.targets:
        marks.setdefault((t.column, t.point), []).append(f"◀ {t.label}")

    def sweep_table(col: str, sep: str) -> Table:
        labels = result.order[col]
        title = w["side" if sep == " · " else "below"].format(column=col)
        table = Table(title=title, title_justify="left", show_lines=sep != " · ")
        narrow = sep != " · "  # long names fold rather than end in an ellipsis
        for p in result.params:
            table.add_column(p.name, justify="right", no_wrap=not narrow, overflow="fold")
        for label in labels:
            table.add_column(
                w["none"] if label is None else str(label),
                justify="right",
                no_wrap=not narrow,
                overflow="fold",
            )
        if any(c == col for c, _ in marks):
            table.add_column("", no_wrap=True)
        for i, point in enumerate(result.points):
            cells = [format_number(v) for v in point.values.values()]
            for label in labels:
                got = point.labels[col].get(label)
                if got is None:
                    cells.append("0.0%")
                    continue
                _, share, rev = got
                cells.append(_pct(share) + (f"{sep}{_pct(rev)}" if rev is not None else ""))
            if any(c == col for c, _ in marks):
                cells.append(" ".join(marks.get((col, i), [])))
            current = all(
                v == p.current for v, p in zip(point.values.values(), result.params, strict=True)
            )
            table.add_row(*cells, style="bold" if current else None)
        return table

    for col in result.columns:
        table = sweep_table(col, " · ")
        if _natural_width(console, table) > console.width:
            # Too wide for the terminal: the revenue share goes under the customer share
            # rather than being cut off.
            table = sweep_table(col, "\n")
        console.print(table)
    note = w["customers"].format(n=result.customers)
    if result.revenue:
        note += w["revenue"].format(money=result.revenue)
    note += w["bold"]
    note += w["seconds"].format(**result.seconds, points=len(result.points))
    console.print(note, style="dim", highlight=False)
    for t in result.targets:
        values = ", ".join(
            f"{k}={format_number(v)}" for k, v in result.points[t.point].values.items()
        )
        console.print(
            styled(
                w["closest"].format(column=t.column, label=t.label, share=f"{t.share:.1%}"),
                (values, "bold"),
                f" ({t.found:.1%})",
            ),
            highlight=False,
        )


#: The kinds of `segrule check` findings, in the order they are printed.
_KINDS = ("matches_nobody", "shadowed", "no_tier", "monotonicity")


def print_check(console: Console, result: Any, lang: str = "en") -> None:
    """The findings of `segrule check`, grouped by kind, then what was ranked."""
    w = words("check", lang)
    console.print(
        styled((str(result.ruleset), "bold"), w["checked"].format(n=result.customers)),
        highlight=False,
    )
    for kind in _KINDS:
        items = [f for f in result.findings if f.kind == kind]
        if not items:
            continue
        table = Table(title=f"{w[kind]} ({len(items)})", title_justify="left")
        table.add_column(w["rule"])
        table.add_column(w["customers"], justify="right")
        table.add_column(w["finding"])
        table.add_column(w["examples"])
        for f in items:
            table.add_row(
                styled(f"{f.column}" + (f".{f.label}" if f.label else ""), "\n", (f.where, "dim")),
                f"{f.count:,}",
                f.message,
                ", ".join(f.examples),
            )
        console.print(table)
    spent = w["one_order" if result.more == "order" else "amount"].format(
        amount=f"{result.spend_more:,.2f}"
    )
    from segrule.lint import GIVEN, NO_ORDER

    for o in result.orders:
        source = "--order" if o.source == GIVEN else o.source
        line = w["mono_checked"].format(
            column=o.column, source=source, order=" > ".join(o.labels), spent=spent
        )
        console.print(line, style="dim", highlight=False)
    for col, why in result.unchecked.items():
        if why == NO_ORDER:
            why = w["give_order"].format(why=NO_ORDER, column=col)
        line = w["mono_unchecked"].format(column=col, why=why)
        console.print(line, style="dim", highlight=False)
    if result.ok:
        console.print(styled((w["ok"], "green"), w["no_findings"]), highlight=False)
    else:
        console.print(
            styled((w["findings"].format(n=len(result.findings)), "red"), w["exit"]),
            highlight=False,
        )


def _money(x: Any) -> str:
    return "" if x is None else f"{x:,.2f}"


def _matrix_table(
    heading: str,
    news: list[Any],
    olds: list[Any],
    counts: dict[tuple[Any, Any], int],
    names: list[str],
    order: list[Any],
    *,
    fold: bool = False,
    lang: str = "en",
) -> Table:
    """A migration matrix: old labels as rows, new as columns, customers per cell, with
    totals; ``names[i]`` is how ``order[i]`` is shown."""
    t = words("migration", lang)
    shown = dict(zip(order, names, strict=True))
    overflow: Any = "fold" if fold else "ellipsis"
    table = Table(title=heading, title_justify="left")
    table.add_column(t["corner"], overflow=overflow)
    for x in news:
        table.add_column(shown[x], justify="right", overflow=overflow)
    table.add_column(t["total"], justify="right")
    for o in olds:
        cells: list[str | Text] = []
        for n in news:
            c = counts.get((o, n))
            text = f"{c:,}" if c else ""
            cells.append(styled((text, "bold")) if o == n and text else text)
        total = sum(v for (a, _), v in counts.items() if a == o)
        table.add_row(shown[o], *cells, f"{total:,}")
    table.add_row(
        t["total"],
        *[f"{sum(v for (_, b), v in counts.items() if b == n):,}" for n in news],
        f"{sum(counts.values()):,}",
    )
    return table


def print_migration(console: Console, result: Any, lang: str = "en", *, moves: int = 20) -> None:
    """Per column: the migration matrix (old label rows, new label columns, customers),
    then the moves (off-diagonal cells) with the revenue of their customers on each
    side, largest first."""
    t = words("migration", lang)
    for key, side in (("old", result.old), ("new", result.new)):
        console.print(
            styled(
                f"{t[key]}: ",
                (str(side.source), "bold"),
                f" ({t['as_of']} {side.as_of})" if side.as_of else "",
            ),
            highlight=False,
        )
    for side in (result.old, result.new):
        if side.note:
            line = t["compared"].format(source=side.source, note=side.note)
            console.print(line, style="dim", highlight=False)
    for col in result.columns:
        m = col.matrix
        order = col.order()
        counts = {(r["old"], r["new"]): r["customers"] for r in m.iter_rows(named=True)}
        title = col.title.get(lang) if col.title else None
        news = [x for x in order if any(k[1] == x for k in counts)]
        olds = [x for x in order if any(k[0] == x for k in counts)]

        heading = f"{col.column}" + (f" · {title}" if title else "") + f"  ({t['axes']})"
        shown = [col.display(x, lang) for x in order]
        table = _matrix_table(heading, news, olds, counts, shown, order, lang=lang)
        if _natural_width(console, table) > console.width:
            # Too wide for the terminal: the labels' keys (usually shorter than their
            # display names), folded rather than cut to '…' if still too wide.
            keys = [t["none"] if x is None else str(x) for x in order]
            table = _matrix_table(heading, news, olds, counts, keys, order, fold=True, lang=lang)
        console.print(table)
        moved = m.filter(m["old"].ne_missing(m["new"])).sort("customers", descending=True)
        if moved.height == 0:
            console.print(f"{col.column}: {t['unchanged']}", highlight=False)
            continue
        mt = Table(
            title=f"{col.column}: {col.moved():,} {t['moved']}"
            + (f"; {t['revenue']} = {result.revenue}" if result.revenue else ""),
            title_justify="left",
        )
        mt.add_column(t["from"])
        mt.add_column(t["to"])
        mt.add_column(t["customers"], justify="right")
        if result.revenue:
            mt.add_column(t["revenue_old"], justify="right")
            mt.add_column(t["revenue_new"], justify="right")
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
            mt.caption = f"{moved.height - moves} {t['more']}"
        console.print(mt)
    if result.changes_path is not None:
        console.print(
            styled(
                (t["wrote"].format(n=f"{result.changes_rows:,}"), "green"),
                " ",
                (str(result.changes_path), "bold"),
            ),
            highlight=False,
        )


def print_history_runs(console: Console, runs: list[dict[str, Any]], lang: str = "en") -> None:
    """The runs of a membership history (``segrule.history.describe``): as-of, customers,
    file."""
    w = words("history", lang)
    grid = Table(w["as_of"], w["customers"], w["file"])
    for r in runs:
        grid.add_row(r["as_of"], f"{r['customers']:,}", r["file"])
    console.print(grid)


def print_presets(console: Console, items: Any, lang: str = "en") -> None:
    """The packaged rule sets: name, title, the plugin they come from, description."""
    w = words("presets", lang)
    table = Table(w["preset"], w["title"], w["from"], w["description"], show_lines=False)
    for p in items:
        table.add_row(p.name, _title(p.title, lang), p.owner.plugin, p.description)
    console.print(table)


def _title(title: dict[str, str] | None, lang: str) -> str:
    """A zh/en display name in ``lang``, else in the other language, else empty."""
    title = title or {}
    other = "en" if lang == "zh" else "zh"
    return title.get(lang) or title.get(other) or ""


def print_dimensions(console: Console, dims: Any, strategies: Any, lang: str = "en") -> None:
    """The registered dimensions, then the scoring strategies with their parameters."""
    w = words("dimensions", lang)
    table = Table(
        *(w[k] for k in ("dimension", "title", "kind", "type", "tables", "description")),
        w["examples"],
    )
    for d in dims:
        table.add_row(
            d.name,
            re.sub(r"\{(\w+)\}", r"<\1>", _title(d.title, lang)),  # as in the name
            d.kind,
            d.dtype,
            ",".join(d.tables),
            d.description,
            ", ".join(d.examples),
        )
    console.print(table)
    st = Table(w["strategy"], w["description"], w["parameters"])
    for s in strategies:
        st.add_row(s.name, s.description, "\n".join(f"{k}: {v}" for k, v in s.params_doc.items()))
    console.print(st)


def print_plugins(console: Console, rows: list[dict[str, Any]]) -> None:
    """The loaded plugins, one row each as ``segrule plugins --json`` gives them:
    distribution and version (or builtin), hooks, what each registered."""
    table = Table("plugin", "distribution", "hooks", "registered", show_lines=True)
    for r in rows:
        dist = "builtin" if r["builtin"] else f"{r['distribution'] or '-'} {r['version'] or ''}"
        hook_names = "\n".join(h.removeprefix("segrule_") for h in r["hooks"])
        reg = "\n".join(
            f"{kind} ({len(names)}): {', '.join(names)}" for kind, names in r["registered"].items()
        )
        table.add_row(r["name"], dist.strip(), hook_names, reg or "-")
    console.print(table)
