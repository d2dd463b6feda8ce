"""Migration between two runs: who moved from which label to which, and the revenue moved.

Two *sides* are compared, each one row per customer with a ``customer_id`` column: an
output written by ``segrule run`` (Parquet, CSV, Arrow IPC or NDJSON), or a rule set
scored on data (a rule change previewed). Customers are matched with one full outer
join on ``customer_id``; everything is polars joins and group-bys, nothing in Python
per customer.

- :func:`migration_matrix` — long-form counts and revenue per (old label, new label);
- :func:`changes` — the customers who left or entered a label, one row per event
  (the file ``segrule diff --changes`` writes and :func:`segrule.history.events`
  returns);
- :func:`output_side` / :func:`ruleset_sides` / :func:`open_side` — read a side and
  what is known about its columns (roles and labels from the rule sets of its manifest);
- :func:`diff` — the whole comparison behind ``segrule diff``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segrule.engine.compiler import Plan
from segrule.errors import DataError, SegruleError, UsageError, did_you_mean, first_line, option
from segrule.io.cells import CsvFormulas
from segrule.io.formats import FORMATS
from segrule.io.outputs import scan_output
from segrule.model.keys import BASE
from segrule.model.nodes import Label
from segrule.plugins.registry import Registry

log = logging.getLogger(__name__)

#: The label of a customer on a side that does not have it (new or gone customers).
ABSENT = "(absent)"

#: Extensions that make a diff argument an output file rather than a rule set.
DATA_SUFFIXES = tuple(FORMATS)

LABEL_ROLES = ("segment", "tier")


@dataclass
class Side:
    """One side of a comparison: its frame (one row per customer) and what is known
    about its columns."""

    frame: pl.LazyFrame
    source: str
    as_of: str | None = None
    #: label columns (segments, tiers) -> their labels, in the rule set's order; None
    #: when nothing is known about the side's columns (no manifest)
    label_columns: dict[str, dict[str, Label]] | None = None
    #: column -> display title ({"zh": ..., "en": ...})
    titles: dict[str, dict[str, str]] = field(default_factory=dict)
    revenue: str | None = None
    note: str | None = None  # why roles are not known, when they are not

    def schema(self) -> pl.Schema:
        try:
            return self.frame.collect_schema()
        except pl.exceptions.PolarsError as exc:
            raise DataError(f"{self.source}: cannot read it: {first_line(exc)}") from None


def is_output_file(ref: str | Path) -> bool:
    """Whether a diff argument names an output file (by its extension)."""
    return Path(str(ref)).suffix.lower() in DATA_SUFFIXES


def common_id_type(old: pl.LazyFrame, new: pl.LazyFrame) -> pl.DataType:
    """The customer id type two outputs are compared in: theirs when they agree, else
    text (an output written with text ids against one with integer ids)."""
    a, b = old.collect_schema()[BASE], new.collect_schema()[BASE]
    if a == b or b == pl.Null:
        return a
    return b if a == pl.Null else pl.String()


def _plan_columns(plan: Plan) -> tuple[dict[str, dict[str, Label]], dict[str, dict[str, str]]]:
    labels: dict[str, dict[str, Label]] = {}
    titles: dict[str, dict[str, str]] = {}
    for name in plan.outputs:
        node = plan.nodes.get(name)
        if node is None:
            continue
        if node.title:
            titles[name] = dict(node.title)
        if node.role in LABEL_ROLES:
            labels[name] = dict(node.labels)
    return labels, titles


def manifest_rulesets(manifest: Mapping[str, Any], engine: Registry | None = None) -> list[str]:
    """The rule sets named on the run that wrote a manifest. The manifest lists every
    source, the bases of ``extends`` included (``preset:x`` for a preset): those that
    another one extends are left out, so the rest compose as on the run."""
    from segrule.engine.build import load_ruleset
    from segrule.plugins.registry import Registry

    engine = engine or Registry()
    refs = [str(r).removeprefix("preset:") for r in manifest["rulesets"]]
    bases: set[str] = set()
    for ref in refs:
        rs = load_ruleset(ref, engine=engine)
        bases.update(str(b).removeprefix("preset:") for b in rs.sources[:-1])
    return [r for r in refs if r not in bases] or refs


def output_side(path: str | Path, engine: Registry | None = None) -> Side:
    """Read an output file as a side. A Parquet output's manifest names the rule sets
    that wrote it: they are compiled (no data read) to know which columns are segments
    and tiers and their labels. Without a manifest, or when its rule sets cannot be
    compiled here (a missing plugin, a moved file), ``label_columns`` is None and the
    caller falls back to the string and boolean columns (``note`` says why)."""
    from segrule.engine.build import compile
    from segrule.engine.execute import revenue_column
    from segrule.io.manifest import read_manifest

    lf = scan_output(path)
    side = Side(lf, str(path))
    manifest = None
    if Path(path).suffix.lower() == ".parquet":
        try:
            manifest = read_manifest(path)
        except (pl.exceptions.PolarsError, OSError, ValueError):
            manifest = None
    if not manifest:
        side.note = "no manifest (not a Parquet output of segrule run)"
        return side
    side.as_of = manifest.get("as_of")
    try:
        plan = compile(
            manifest_rulesets(manifest, engine),
            as_of=manifest.get("as_of"),
            tz=manifest.get("timezone"),
            outputs=manifest.get("outputs"),
            engine=engine,
            check_only=True,
        )
    except (SegruleError, KeyError, TypeError) as exc:
        side.note = f"its rule sets could not be compiled here ({first_line(exc)})"
        return side
    side.label_columns, side.titles = _plan_columns(plan)
    side.revenue = revenue_column(plan)
    return side


def ruleset_sides(
    refs: Sequence[Sequence[str | Path]],
    *,
    tables: Mapping[str, Any] | None = None,
    data: str | Path | None = None,
    as_of: Any = None,
    tz: str | None = None,
    engine: Registry | None = None,
) -> list[Side]:
    """Score several rule sets on the same data, as sides (this collects).

    Each rule set's data-quality checks run first (as in :func:`segrule.score`); then
    all plans are collected with one ``pl.collect_all``, so that polars can share the
    scans of the tables the plans have in common."""
    from segrule.engine.build import compile
    from segrule.engine.execute import checked, revenue_column

    plans = []
    for ref in refs:
        plan = compile(list(ref), tables, as_of=as_of, data=data, tz=tz, engine=engine)
        plans.append(checked(plan)[0])
    try:
        frames = pl.collect_all([p.frame for p in plans], engine="streaming")
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise SegruleError(f"the run failed while reading data: {first_line(exc)}") from exc
    sides = []
    for ref, plan, df in zip(refs, plans, frames, strict=True):
        labels, titles = _plan_columns(plan)
        sides.append(
            Side(
                df.lazy(),
                " ".join(str(r) for r in ref),
                plan.ctx.as_of.isoformat(),
                labels,
                titles,
                revenue_column(plan),
            )
        )
    return sides


def open_side(
    ref: str | Path, *, role: str, engine: Registry | None = None, **score_args: Any
) -> tuple[Side | None, str | None]:
    """Classify one diff argument: (Side, None) for an output file, (None, ref) for a
    rule set to score. ``role`` ('OLD'/'NEW') names the argument in errors."""
    text = str(ref)
    if is_output_file(text):
        if not Path(text).is_file():
            raise DataError(f"{role} '{text}': output file not found; check the path")
        return output_side(text, engine), None
    path = Path(text)
    if path.is_file() and path.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError(
            f"{role} '{text}' is neither an output file ({', '.join(DATA_SUFFIXES)}) nor a "
            "rule set (.yaml or a preset name)"
        )
    return None, text


def label_columns(old: Side, new: Side) -> list[str]:
    """The segment and tier columns both sides have, in NEW's order. From the rule sets
    where known; else the string and boolean columns (customer_id aside)."""
    old_schema, new_schema = old.schema(), new.schema()
    common = [c for c in new_schema if c in old_schema and c != BASE]

    cols = []
    for c in common:
        known = [c in s.label_columns for s in (old, new) if s.label_columns is not None]
        if known:
            if any(known):
                cols.append(c)
        elif isinstance(new_schema[c], pl.String | pl.Boolean | pl.Categorical | pl.Enum):
            cols.append(c)
    return cols


def _check_column(side: Side, schema: pl.Schema, column: str, what: str) -> None:
    if column not in schema:
        raise DataError(
            f"{side.source}: has no {what + ' ' if what else ''}column '{column}'"
            f"{did_you_mean(column, [c for c in schema if c != BASE])}; columns: "
            + ", ".join(c for c in list(schema)[:12] if c != BASE)
        )


def _revenue_sum(column: str, dtype: pl.DataType, alias: str) -> pl.Expr:
    # Money is written as float units; summed as integer cents the totals do not depend
    # on summation order (DESIGN: money and exactness).
    if dtype == pl.String or dtype == pl.Null:
        # a CSV column with no value in its first rows is read as text
        cents = (pl.col(column).cast(pl.Float64) * 100).round().cast(pl.Int64)
        return (cents.sum() / 100).alias(alias)
    if not dtype.is_numeric():
        raise DataError(f"revenue column '{column.split(':', 1)[-1]}' is {dtype}, not a number")
    if dtype.is_float():
        return ((pl.col(column) * 100).round().cast(pl.Int64).sum() / 100).alias(alias)
    return pl.col(column).sum().alias(alias)


def _sides_frame(
    old: pl.LazyFrame, new: pl.LazyFrame, columns: Sequence[str], extra: Sequence[str] = ()
) -> pl.LazyFrame:
    """Full outer join on customer_id: ``_in_old``/``_in_new`` flags, ``old:<c>`` and
    ``new:<c>`` for each label column (as strings) and each extra column."""

    ids = common_id_type(old, new)

    def side(lf: pl.LazyFrame, prefix: str, flag: str) -> pl.LazyFrame:
        return lf.select(
            pl.col(BASE).cast(ids),
            pl.lit(True).alias(flag),
            *[pl.col(c).cast(pl.String).alias(f"{prefix}:{c}") for c in columns],
            *[pl.col(c).alias(f"{prefix}:{c}") for c in extra],
        )

    joined = side(old, "old", "_in_old").join(
        side(new, "new", "_in_new"), on=BASE, how="full", coalesce=True
    )
    return joined.with_columns(pl.col("_in_old", "_in_new").fill_null(False))


def _label(prefix: str, column: str) -> pl.Expr:
    present = pl.col(f"_in_{prefix}")
    return (
        pl.when(present).then(pl.col(f"{prefix}:{column}")).otherwise(pl.lit(ABSENT)).alias(prefix)
    )


def migration_matrix(
    old: pl.LazyFrame | pl.DataFrame,
    new: pl.LazyFrame | pl.DataFrame,
    column: str,
    revenue: str | None = None,
) -> pl.DataFrame:
    """Customers and revenue per (old label, new label) of ``column`` (this collects).

    Long form, one row per non-empty cell: ``old``, ``new`` (labels as strings;
    ``"(absent)"`` for customers only on the other side, None for a customer whose
    label is null), ``customers`` (UInt32), ``revenue_old`` and ``revenue_new``: the
    sum of ``revenue`` on each side over the cell's customers (Float64 money summed as
    integer cents; 0 on the side that lacks the cell's customers; null when
    ``revenue`` is None). Sorted by old then new label.
    """
    return migration_matrices(old, new, [column], revenue)[column]


def migration_matrices(
    old: pl.LazyFrame | pl.DataFrame,
    new: pl.LazyFrame | pl.DataFrame,
    columns: Sequence[str],
    revenue: str | None = None,
) -> dict[str, pl.DataFrame]:
    """:func:`migration_matrix` of several columns: one join, one ``collect_all``."""
    o, n = old.lazy(), new.lazy()
    o_schema, n_schema = o.collect_schema(), n.collect_schema()
    for name, schema in (("old", o_schema), ("new", n_schema)):
        for c, what in (
            (BASE, "key"),
            *((col, "label") for col in columns),
            (revenue, "revenue"),
        ):
            if c is not None and c not in schema:
                raise DataError(
                    f"the {name} side has no {what} column '{c}'{did_you_mean(c, list(schema))}"
                )
    extra = [revenue] if revenue else []
    joined = _sides_frame(o, n, columns, extra)
    aggs = [pl.len().alias("customers")]
    if revenue:
        aggs += [
            _revenue_sum(f"old:{revenue}", o_schema[revenue], "revenue_old"),
            _revenue_sum(f"new:{revenue}", n_schema[revenue], "revenue_new"),
        ]
    else:
        aggs += [
            pl.lit(None, pl.Float64).alias("revenue_old"),
            pl.lit(None, pl.Float64).alias("revenue_new"),
        ]
    queries = [
        joined.group_by(_label("old", c), _label("new", c))
        .agg(aggs)
        .sort("old", "new", nulls_last=True)
        .with_columns(pl.col("customers").cast(pl.UInt32))
        for c in columns
    ]
    return dict(zip(columns, pl.collect_all(queries), strict=True))


def changes(
    old: pl.LazyFrame | pl.DataFrame,
    new: pl.LazyFrame | pl.DataFrame,
    columns: Sequence[str],
    *,
    dimensions: Sequence[str] = (),
    old_as_of: str | None = None,
    new_as_of: str | None = None,
) -> pl.LazyFrame:
    """The customers who left or entered a label, lazily: one row per event.

    For each customer and column whose label differs between the sides, a row with
    ``event = "left"`` and ``label`` = the old label, and a row with ``event =
    "entered"`` and ``label`` = the new label; a customer new in NEW has only the
    "entered" row, one gone from NEW only the "left" row (the other label is
    ``"(absent)"``), and a null label (no class) gives no row. Columns, in this order:
    customer_id, column, event, label, old_label, new_label, old_as_of, new_as_of,
    then ``old_<d>`` and ``new_<d>`` for each of ``dimensions``. Sorted by customer_id,
    the order of ``columns``, then "left" before "entered". A consumer subscribes to
    one (column, event, label), e.g. entered tier=vip, without comparing labels.
    """
    o, n = old.lazy(), new.lazy()
    joined = _sides_frame(o, n, columns, dimensions)
    parts = []
    dims = [pl.col(f"{p}:{d}").alias(f"{p}_{d}") for d in dimensions for p in ("old", "new")]
    for i, c in enumerate(columns):
        old_label, new_label = _label("old", c), _label("new", c)
        changed = (pl.col("_in_old") != pl.col("_in_new")) | pl.col(f"old:{c}").ne_missing(
            pl.col(f"new:{c}")
        )
        for event, rank, present, label in (
            ("left", 0, "_in_old", f"old:{c}"),
            ("entered", 1, "_in_new", f"new:{c}"),
        ):
            parts.append(
                joined.filter(changed & pl.col(present) & pl.col(label).is_not_null()).select(
                    pl.col(BASE),
                    pl.lit(c).alias("column"),
                    pl.lit(event).alias("event"),
                    pl.col(label).alias("label"),
                    old_label.alias("old_label"),
                    new_label.alias("new_label"),
                    pl.lit(old_as_of, pl.String).alias("old_as_of"),
                    pl.lit(new_as_of, pl.String).alias("new_as_of"),
                    *dims,
                    pl.lit(i, pl.UInt32).alias("_column_order"),
                    pl.lit(rank, pl.UInt8).alias("_event_order"),
                )
            )
    if not parts:
        return pl.LazyFrame(
            schema={
                BASE: common_id_type(o, n),
                "column": pl.String,
                "event": pl.String,
                "label": pl.String,
                "old_label": pl.String,
                "new_label": pl.String,
                "old_as_of": pl.String,
                "new_as_of": pl.String,
            }
        )
    return (
        pl.concat(parts, how="vertical_relaxed")
        .sort(BASE, "_column_order", "_event_order")
        .drop("_column_order", "_event_order")
    )


def dimension_columns(old: Side, new: Side, columns: Sequence[str]) -> list[str]:
    """Columns both sides have that are neither the key nor label columns: the values
    the changes file carries as old_<d>/new_<d>."""
    old_schema, new_schema = old.schema(), new.schema()
    labels = set(columns)
    for side in (old, new):
        if side.label_columns is not None:
            labels |= set(side.label_columns)
    return [c for c in new_schema if c in old_schema and c != BASE and c not in labels]


@dataclass
class ColumnDiff:
    """The migration of one column."""

    column: str
    matrix: pl.DataFrame
    labels: dict[str, Label]
    title: dict[str, str]

    def order(self) -> list[str | None]:
        """Labels as rows/columns of a matrix: the rule set's order, then the others
        sorted, ``(absent)`` last."""
        seen = {*self.matrix["old"].to_list(), *self.matrix["new"].to_list()}
        known = [k for k in self.labels if k in seen]
        rest = sorted(x for x in seen if x not in known and x not in (None, ABSENT))
        tail: list[str | None] = [None] if None in seen else []
        if ABSENT in seen:
            tail.append(ABSENT)
        return [*known, *rest, *tail]

    def display(self, label: str | None, lang: str = "en") -> str:
        if label is None:
            return "(null)"
        info = self.labels.get(label)
        return info.display(lang) if info else label

    def moved(self) -> int:
        m = self.matrix.filter(pl.col("old").ne_missing(pl.col("new")))
        return int(m["customers"].sum())


@dataclass
class DiffResult:
    """What :func:`diff` compared and found."""

    old: Side
    new: Side
    revenue: str | None
    columns: list[ColumnDiff]
    changes_path: Path | None = None
    changes_rows: int | None = None

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        """A JSON-ready record (what ``segrule diff --json`` prints)."""
        return {
            "old": {"source": self.old.source, "as_of": self.old.as_of},
            "new": {"source": self.new.source, "as_of": self.new.as_of},
            "revenue": self.revenue,
            "columns": [
                {
                    "column": c.column,
                    "title": c.title.get(lang) if c.title else None,
                    "moved": c.moved(),
                    "cells": [
                        {
                            **row,
                            "old_display": c.display(row["old"], lang),
                            "new_display": c.display(row["new"], lang),
                        }
                        for row in c.matrix.iter_rows(named=True)
                    ],
                }
                for c in self.columns
            ],
            "changes": (
                {"file": str(self.changes_path), "rows": self.changes_rows}
                if self.changes_path
                else None
            ),
        }


def diff(
    old: str | Path | Side,
    new: str | Path | Side,
    *,
    columns: Sequence[str] | None = None,
    revenue: str | None = None,
    changes_out: str | Path | None = None,
    tables: Mapping[str, Any] | None = None,
    data: str | Path | None = None,
    as_of: Any = None,
    tz: str | None = None,
    engine: Registry | None = None,
    csv_formulas: CsvFormulas = "neutralize",
) -> DiffResult:
    """Compare two runs (this collects): OLD and NEW are output files, rule sets (a
    file or a preset name, scored on ``data`` or ``tables`` at ``as_of``), or
    :class:`Side` objects.

    ``columns`` (default: every segment/tier column both sides have), ``revenue``
    (default: the rule set's revenue column when both sides have it). ``changes_out``:
    write :func:`changes` there (.parquet, .csv or .ndjson), atomically; ``csv_formulas``:
    what a CSV does with text cells a spreadsheet would read as formulas
    (:mod:`segrule.io.cells`).
    """
    from segrule.engine.execute import input_paths
    from segrule.io import outpaths
    from segrule.io.outpaths import NO_INPUTS
    from segrule.io.sink import sink
    from segrule.plugins.registry import Registry

    engine = engine or Registry()
    inputs = NO_INPUTS
    if changes_out is not None:
        # Checked before anything is scored: the file may be none of what is compared.
        inputs = input_paths(
            [r for r in (old, new) if not isinstance(r, Side)],
            tables=tables,
            data=data,
            engine=engine,
        )
        outpaths.check_file(changes_out, what=option("changes_out"), inputs=inputs)
        _changes_format(Path(changes_out))
    sides: dict[str, Side] = {}
    to_score: dict[str, str] = {}
    for role, ref in (("OLD", old), ("NEW", new)):
        if isinstance(ref, Side):
            sides[role] = ref
            continue
        side, rs = open_side(ref, role=role, engine=engine)
        if side is not None:
            sides[role] = side
        else:
            assert rs is not None
            to_score[role] = rs
    if to_score:
        log.info("scoring %s on the data", " and ".join(to_score.values()))
        try:
            scored = ruleset_sides(
                [[r] for r in to_score.values()],
                tables=tables,
                data=data,
                as_of=as_of,
                tz=tz,
                engine=engine,
            )
        except DataError as exc:
            if data is not None or tables:
                raise
            role, ref = next(iter(to_score.items()))
            raise DataError(
                f"{role} '{ref}' is a rule set and no data was given: pass {option('data')} "
                f"DIR (and {option('as_of')}) to score it, or compare two output files ({exc})"
            ) from None
        sides.update(zip(to_score, scored, strict=True))
    o, n = sides["OLD"], sides["NEW"]
    o_schema, n_schema = o.schema(), n.schema()
    if columns:
        cols = list(dict.fromkeys(columns))
        for c in cols:
            _check_column(o, o_schema, c, "")
            _check_column(n, n_schema, c, "")
    else:
        cols = label_columns(o, n)
        if not cols:
            raise DataError(
                f"{o.source} and {n.source} have no segment or tier column in common; "
                f"name the columns to compare with {option('columns')}"
            )
    if revenue is not None:
        _check_column(o, o_schema, revenue, "revenue")
        _check_column(n, n_schema, revenue, "revenue")
        money: str | None = revenue
    else:
        money = next(
            (
                r
                for r in (n.revenue, o.revenue, "monetary_lifetime", "monetary_365d")
                if r and r in o_schema and r in n_schema
            ),
            None,
        )
    log.info("comparing %s of %s and %s", ", ".join(cols), o.source, n.source)
    try:
        matrices = migration_matrices(o.frame, n.frame, cols, money)
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"comparing {', '.join(cols)} of {o.source} and {n.source} failed: {first_line(exc)}"
        ) from None
    result = []
    for c in cols:
        labels: dict[str, Label] = {}
        for side in (o, n):
            labels.update((side.label_columns or {}).get(c, {}))
        title = n.titles.get(c) or o.titles.get(c) or {}
        result.append(ColumnDiff(c, matrices[c], labels, title))
    out = DiffResult(o, n, money, result)
    if changes_out is not None:
        path = Path(changes_out)
        log.info("writing the customers who moved to %s", path)
        dims = dimension_columns(o, n, cols)
        frame = changes(
            o.frame, n.frame, cols, dimensions=dims, old_as_of=o.as_of, new_as_of=n.as_of
        )
        if path.suffix.lower() == ".csv":
            # CSV holds no nested or time-zoned types portably: write times as ISO text.
            frame = frame.with_columns(pl.col(pl.Datetime, pl.Date).dt.to_string())
        sink(frame, path, inputs=inputs, what=option("changes_out"), csv_formulas=csv_formulas)
        out.changes_path = path
        out.changes_rows = (
            pl.scan_parquet(path, glob=False).select(pl.len()).collect().item()
            if (path.suffix.lower() == ".parquet")
            else _count_rows(path)
        )
    return out


def _changes_format(path: Path) -> None:
    if path.suffix.lower() not in (".parquet", ".csv", ".ndjson", ".jsonl"):
        raise UsageError(
            f"{option('changes_out')} '{path}': use a .parquet, .csv or .ndjson file (the "
            "format is taken from the extension)"
        )


def _count_rows(path: Path) -> int:
    if path.suffix.lower() == ".csv":
        # glob=False: the file just written, whatever its name holds ("[x]")
        return int(
            pl.scan_csv(path, infer_schema=False, glob=False).select(pl.len()).collect().item()
        )
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())
