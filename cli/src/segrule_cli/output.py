"""Rich rendering for the CLI: run summaries, progress bars and the tables commands print.

Almost everything printed holds user text: labels and their display names, segment,
dimension and rule set names, descriptions, actions, customer ids, file paths, error
messages. The CLI prints through :class:`PlainConsole`: markup and emoji codes off, so
a string is printed as written, and control characters (an ESC starting a terminal
escape sequence) shown as U+FFFD. Emphasis is given as styles (:func:`styled`,
``style=``), never as ``[bold]...[/bold]`` in a string, which would be shown as typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

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


#: The run summary's words per language (--lang): labels have their own zh/en names.
SUMMARY_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "label": "label",
        "display": "display",
        "customers": "customers",
        "share": "share",
        "revenue": "revenue",
        "revenue_is": "revenue = share of {money}",
        "wrote": "wrote",
        "wrote_rest": " {rows:,} customers × {cols} columns to ",
        "timing": "  (compile {compile:.2f}s, run {run:.2f}s)",
    },
    "zh": {
        "label": "标签",
        "display": "名称",
        "customers": "客户数",
        "share": "占比",
        "revenue": "收入占比",
        "revenue_is": "收入占比按 {money} 计算",
        "wrote": "已写入",
        "wrote_rest": " {rows:,} 位客户 × {cols} 列 → ",
        "timing": "（编译 {compile:.2f} 秒，运行 {run:.2f} 秒）",
    },
}


def print_summary(
    console: Console, result: Any, lang: str = "en", columns_shown: list[str] | None = None
) -> None:
    """Tier and segment sizes with revenue share, then timings and where the output is;
    headings, titles and label names in ``lang``."""
    t = SUMMARY_TEXT["zh" if lang == "zh" else "en"]
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


EXPLAIN_TEXT = {
    "en": {
        "customer": "Customer",
        "as_of": "as of",
        "dimensions": "Dimensions",
        "segments": "Segments and tiers",
        "scores": "Scores",
        "name": "name",
        "title": "title",
        "value": "value",
        "case": "case",
        "when": "condition",
        "holds": "holds",
        "why": "values that decided it",
        "default": "default",
        "part": "part",
        "points": "points",
        "total": "total",
        "true": "true",
        "false": "false",
        "null": "null (counts as false)",
        "result": "result",
        "next": "to move up",
        "rolloff": "falls a rung on",
        "reason": "why",
        "actions": "actions",
    },
    "zh": {
        "customer": "客户",
        "as_of": "截至",
        "dimensions": "维度",
        "segments": "分群与等级",
        "scores": "评分",
        "name": "名称",
        "title": "标题",
        "value": "值",
        "case": "条件分支",
        "when": "条件",
        "holds": "成立",
        "why": "决定因素",
        "default": "默认",
        "part": "评分项",
        "points": "分数",
        "total": "合计",
        "true": "是",
        "false": "否",
        "null": "空 (视为否)",
        "result": "结果",
        "next": "升级还差",
        "rolloff": "降级日期",
        "reason": "原因",
        "actions": "建议动作",
    },
}


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
    t = EXPLAIN_TEXT[lang]

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
        if item.label is not None and item.label.actions:
            console.print(f"  {t['actions']}: {'; '.join(item.label.actions)}", highlight=False)
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


def print_frame(console: Console, frame: Any, *, limit: int = 200) -> None:
    """A polars DataFrame as a table that fits the terminal: midnight times as dates;
    when too wide, a few rows are shown turned (a row per column), more rows with the
    columns that fit and a note of those left out."""
    import datetime as dt

    def text(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, dt.datetime) and v.time() == dt.time(0) and v.tzinfo is None:
            return v.date().isoformat()
        if isinstance(v, str) and len(v) == 19 and v.endswith("T00:00:00"):
            return v[:10]
        return str(v)

    rows = [[text(v) for v in row] for row in frame.head(limit).iter_rows()]
    names = list(frame.columns)

    def grid(columns: list[str]) -> Table:
        table = Table(*columns)
        for row in rows:
            table.add_row(*(row[names.index(c)] for c in columns))
        return table

    table = grid(names)
    note = ""
    if _natural_width(console, table) > console.width and names:
        if 0 < len(rows) <= 12:
            turned = Table("", *(r[0] for r in rows))
            for j, name in enumerate(names[1:], 1):
                turned.add_row(name, *(r[j] for r in rows))
            table = turned
        else:
            shown = names[:1]
            for name in names[1:]:
                if _natural_width(console, grid([*shown, name])) > console.width:
                    break
                shown.append(name)
            table = grid(shown)
            left = [n for n in names if n not in shown]
            if left:
                note = (
                    f"{len(left)} more column(s) not shown: {', '.join(left)} "
                    "(widen the terminal or use --out FILE)"
                )
    console.print(table)
    if note:
        console.print(note, style="dim", highlight=False)
    if frame.height > limit:
        console.print(f"… {frame.height - limit:,} more rows (use --out FILE)", highlight=False)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def print_sweep(console: Console, result: Any) -> None:
    """One table per swept or downstream column: a row per grid value, a column per
    label with its share of customers and of revenue."""
    from segrule.model.literals import format_number

    for p in result.params:
        console.print(
            styled(
                (p.name, "bold"),
                f" now {format_number(p.current)} ({p.where}); {len(p.values)} values",
            ),
            highlight=False,
        )
    marks: dict[tuple[str, int], list[str]] = {}
    for t in result.targets:
        marks.setdefault((t.column, t.point), []).append(f"◀ {t.label}")

    def sweep_table(col: str, sep: str) -> Table:
        labels = result.order[col]
        how = "customers % · revenue %" if sep == " · " else "customers %, revenue % below"
        table = Table(title=f"{col}: {how}", title_justify="left", show_lines=sep != " · ")
        narrow = sep != " · "  # long names fold rather than end in an ellipsis
        for p in result.params:
            table.add_column(p.name, justify="right", no_wrap=not narrow, overflow="fold")
        for label in labels:
            table.add_column(
                "(none)" if label is None else str(label),
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
    note = f"{result.customers:,} customers"
    if result.revenue:
        note += f"; revenue = share of {result.revenue}"
    note += "; bold: the rule set's current value"
    s = result.seconds
    note += (
        f"; compile {s['compile']:.2f}s, read and aggregate {s['aggregates']:.2f}s, "
        f"{len(result.points)} grid points {s['grid']:.2f}s"
    )
    console.print(note, style="dim", highlight=False)
    for t in result.targets:
        values = ", ".join(
            f"{k}={format_number(v)}" for k, v in result.points[t.point].values.items()
        )
        console.print(
            styled(
                f"closest to {t.column} {t.label} = {t.share:.1%}: ",
                (values, "bold"),
                f" ({t.found:.1%})",
            ),
            highlight=False,
        )


_KIND_TITLES = {
    "matches_nobody": "cases that match nobody",
    "shadowed": "cases shadowed by earlier cases",
    "no_tier": "customers left without a tier",
    "monotonicity": "customers who would drop a tier by spending more",
}


def print_check(console: Console, result: Any) -> None:
    """The findings of `segrule check`, grouped by kind, then what was ranked."""
    console.print(
        styled((str(result.ruleset), "bold"), f": {result.customers:,} customers checked"),
        highlight=False,
    )
    for kind, title in _KIND_TITLES.items():
        items = [f for f in result.findings if f.kind == kind]
        if not items:
            continue
        table = Table(title=f"{title} ({len(items)})", title_justify="left")
        table.add_column("rule")
        table.add_column("customers", justify="right")
        table.add_column("finding")
        table.add_column("examples")
        for f in items:
            table.add_row(
                styled(f"{f.column}" + (f".{f.label}" if f.label else ""), "\n", (f.where, "dim")),
                f"{f.count:,}",
                f.message,
                ", ".join(f.examples),
            )
        console.print(table)
    spent = (
        f"one more order of {result.spend_more:,.2f}"
        if result.more == "order"
        else f"{result.spend_more:,.2f} more"
    )
    from segrule.lint import GIVEN, NO_ORDER

    for o in result.orders:
        source = "--order" if o.source == GIVEN else o.source
        console.print(
            f"monotonicity of {o.column} checked ({source}: {' > '.join(o.labels)}), "
            f"spending {spent}",
            style="dim",
            highlight=False,
        )
    for col, why in result.unchecked.items():
        if why == NO_ORDER:
            why = f"{NO_ORDER}: give --order {col}=BEST,...,WORST"
        console.print(f"monotonicity of {col} not checked: {why}", style="dim", highlight=False)
    if result.ok:
        console.print(styled(("ok", "green"), ": no findings"), highlight=False)
    else:
        console.print(
            styled((f"{len(result.findings)} finding(s)", "red"), " (exit code 1)"),
            highlight=False,
        )


def _money(x: Any) -> str:
    return "" if x is None else f"{x:,.2f}"


MIGRATION_TEXT = {
    "en": {
        "old": "old",
        "new": "new",
        "as_of": "as of",
        "axes": "rows: old, columns: new",
        "corner": "old \\ new",
        "total": "total",
        "unchanged": "no customer changed label",
        "moved": "customers moved",
        "revenue": "revenue",
        "from": "from",
        "to": "to",
        "customers": "customers",
        "revenue_old": "revenue old",
        "revenue_new": "revenue new",
        "more": "smaller moves not shown (--json has all)",
        "wrote": "wrote {n} change events to",
    },
    "zh": {
        "old": "旧",
        "new": "新",
        "as_of": "截至",
        "axes": "行: 旧, 列: 新",
        "corner": "旧 \\ 新",
        "total": "合计",
        "unchanged": "没有客户变化",
        "moved": "位客户变化",
        "revenue": "金额",
        "from": "原",
        "to": "现",
        "customers": "客户数",
        "revenue_old": "原金额",
        "revenue_new": "现金额",
        "more": "个较小的变化未列出 (--json 有全部)",
        "wrote": "已写入 {n} 条变化事件:",
    },
}


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
    t = MIGRATION_TEXT[lang]
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
    t = MIGRATION_TEXT[lang]
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
        news = [x for x in order if any(k[1] == x for k in counts)]
        olds = [x for x in order if any(k[0] == x for k in counts)]

        heading = f"{col.column}" + (f" · {title}" if title else "") + f"  ({t['axes']})"
        shown = [col.display(x, lang) for x in order]
        table = _matrix_table(heading, news, olds, counts, shown, order, lang=lang)
        if _natural_width(console, table) > console.width:
            # Too wide for the terminal: the labels' keys (usually shorter than their
            # display names), folded rather than cut to '…' if still too wide.
            keys = ["(none)" if x is None else str(x) for x in order]
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


def print_history_runs(console: Console, runs: list[dict[str, Any]]) -> None:
    """The runs of a membership history (``segrule.history.describe``): as-of, customers,
    file."""
    grid = Table("as_of", "customers", "file")
    for r in runs:
        grid.add_row(r["as_of"], f"{r['customers']:,}", r["file"])
    console.print(grid)


def print_presets(console: Console, items: Any) -> None:
    """The packaged rule sets: name, the plugin they come from, description."""
    table = Table("preset", "from", "description", show_lines=False)
    for p in items:
        table.add_row(p.name, p.owner.plugin, p.description)
    console.print(table)


def print_dimensions(console: Console, dims: Any, strategies: Any) -> None:
    """The registered dimensions, then the scoring strategies with their parameters."""
    table = Table("dimension", "kind", "type", "tables", "description", "examples")
    for d in dims:
        table.add_row(
            d.name, d.kind, d.dtype, ",".join(d.tables), d.description, ", ".join(d.examples)
        )
    console.print(table)
    st = Table("strategy", "description", "parameters")
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
