"""Membership history: each run's labels kept per as-of, and hysteresis on downgrades.

Layout (hive-style, readable by polars, DuckDB, Spark as they are)::

    DIR/as_of=2026-10-01/part.parquet
    DIR/as_of=2026-11-01/part.parquet
    DIR/as_of=2026-11-01T12-30-00/part.parquet   (an as-of that is not midnight)

A partition holds one row per customer of that run: ``customer_id``; each segment and
tier column of the output as a string label (the *published* one); for a column with
hysteresis also ``<column>__computed`` (what the rules computed this run) and
``<column>__runs_below`` (consecutive runs, this one included, whose computed label
was below the published one); and the run's revenue column, if any. zstd-compressed;
labels are dictionary-encoded by Parquet. The partition's metadata holds the run's
manifest (``segrule.manifest``) and ``segrule.history`` (labels, revenue, hysteresis).

Writing (:func:`segrule.api.run` with ``history=``): the partition is written to a
temporary file and renamed, like the output. Rerunning the latest as-of replaces its
partition (it is computed from the partition before it, so the result is the same
for the same data). A run whose as-of is before the latest partition is refused:
the partitions after it were computed from the one it would replace.

Hysteresis (a rule set's ``hysteresis:``): a customer whose computed label is lower
in ``order`` than its previous published label (the latest partition strictly before
this as-of) keeps that label until a lower label has been computed in
``downgrade_after`` consecutive runs, this one included. Upgrades and labels outside
``order`` apply at once; a customer absent from the previous partition is not held.
The run's output holds the published label; the computed one is in the history.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from segrule.errors import DataError, RuleSetError, did_you_mean

if TYPE_CHECKING:
    from segrule.compiler import Plan
    from segrule.nodes import Node
    from segrule.ruleset import RuleSet

BASE = "customer_id"
PART_FILE = "part.parquet"
HISTORY_KEY = "segrule.history"
COMPUTED = "__computed"
RUNS_BELOW = "__runs_below"


# -- rule-set checks -----------------------------------------------------------------
def check_hysteresis(
    rs: RuleSet, defined: dict[str, Node], dtypes: dict[str, pl.DataType]
) -> list[RuleSetError]:
    """The problems of a rule set's ``hysteresis:`` (unknown column, not a label column,
    unknown or repeated labels), each at its line."""
    errors: list[RuleSetError] = []
    for column, spec in rs.model.hysteresis.items():
        where = rs.where("hysteresis", column)
        node = defined.get(column)
        if node is None:
            label_cols = [n for n, d in defined.items() if d.role in ("segment", "tier")]
            errors.append(
                RuleSetError(
                    f"unknown column '{column}'{did_you_mean(column, label_cols)}; hysteresis "
                    "applies to a segment or tier column of this rule set",
                    where=where,
                    name="hysteresis",
                )
            )
            continue
        if node.role not in ("segment", "tier") or isinstance(dtypes.get(column), pl.Boolean):
            errors.append(
                RuleSetError(
                    f"'{column}' is a {'boolean flag' if node.role == 'segment' else node.role}; "
                    "hysteresis holds the labels of a segment with cases or a tier",
                    where=where,
                    name="hysteresis",
                )
            )
            continue
        known = _labels_of(rs, node)
        seen: set[str] = set()
        for i, label in enumerate(spec.order):
            at = rs.where("hysteresis", column, "order", i)
            if label in seen:
                errors.append(
                    RuleSetError(
                        f"label '{label}' appears twice in order; list each label once, "
                        "highest first",
                        where=at,
                        name=f"hysteresis.{column}",
                    )
                )
            elif known and label not in known:
                errors.append(
                    RuleSetError(
                        f"unknown label '{label}' of '{column}'{did_you_mean(label, known)}; "
                        f"its labels are: {', '.join(known)}",
                        where=at,
                        name=f"hysteresis.{column}",
                    )
                )
            seen.add(label)
    return errors


def _labels_of(rs: RuleSet, node: Node) -> list[str]:
    labels: dict[str, None] = dict.fromkeys(node.labels)
    labels.update(dict.fromkeys(label for label, _ in node.condition_sources))
    seg = rs.model.segments.get(node.name)
    if seg is not None:
        labels.update(dict.fromkeys(c.label for c in seg.cases or []))
        if seg.default is not None:
            labels[seg.default] = None
    return list(labels)


# -- partitions ----------------------------------------------------------------------
def partition_name(as_of: dt.datetime) -> str:
    """``as_of=2026-11-01`` for midnight, else ``as_of=2026-11-01T12-30-00``."""
    if as_of.time() == dt.time(0):
        return f"as_of={as_of.date().isoformat()}"
    fmt = "%Y-%m-%dT%H-%M-%S" + (".%f" if as_of.microsecond else "")
    return f"as_of={as_of.strftime(fmt)}"


def _parse_partition(name: str) -> dt.datetime | None:
    if not name.startswith("as_of="):
        return None
    value = name[len("as_of=") :]
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H-%M-%S", "%Y-%m-%dT%H-%M-%S.%f"):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class Partition:
    as_of: dt.datetime
    path: Path  # the part.parquet file

    def info(self) -> dict[str, Any]:
        """The partition's ``segrule.history`` metadata (labels, revenue, hysteresis)."""
        try:
            meta = pl.read_parquet_metadata(self.path)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise DataError(f"{self.path}: cannot read it: {_first_line(exc)}") from None
        text = meta.get(HISTORY_KEY)
        return json.loads(text) if text else {}

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path)


def partitions(directory: str | Path) -> list[Partition]:
    """The history's partitions (``as_of=.../part.parquet``), oldest first. Folders
    without a part file (a run that failed before its rename) are skipped."""
    root = Path(directory)
    if not root.exists():
        return []
    if not root.is_dir():
        raise DataError(f"history '{root}' is not a folder; pass the history folder")
    found = []
    for child in root.iterdir():
        as_of = _parse_partition(child.name) if child.is_dir() else None
        if as_of is not None and (child / PART_FILE).is_file():
            found.append(Partition(as_of, child / PART_FILE))
    return sorted(found, key=lambda p: p.as_of)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- writing a run -------------------------------------------------------------------
@dataclass
class HistoryWrite:
    """One run's partition: how its output is published and where the partition goes.

    Built by :func:`prepare` before the run; :meth:`frames` gives the published output
    and the partition's lazy sink (to a temporary file), collected with the output;
    :meth:`commit` renames it into place after the output was written."""

    directory: Path
    as_of: dt.datetime
    previous: Partition | None
    replaces: bool
    target: Path
    tmp: Path | None = None
    hysteresis: dict[str, Any] = field(default_factory=dict)

    def frames(self, plan: Plan) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        """(the output with published labels, the lazy sink of this run's partition)."""
        from segrule.api import ROW_GROUP_ROWS, revenue_column
        from segrule.manifest import MANIFEST_KEY, build_manifest

        labels = [
            n for n in plan.outputs if n in plan.nodes and plan.nodes[n].role in ("segment", "tier")
        ]
        specs = {c: s for c, s in plan.ruleset.model.hysteresis.items() if c in labels}
        money = revenue_column(plan)
        state = plan.frame
        held: dict[str, tuple[pl.Expr, pl.Expr]] = {}
        if specs:
            state = state.join(
                self._previous_state(specs), on=BASE, how="left", maintain_order="left"
            )
            for c, spec in specs.items():
                held[c] = _published(c, list(spec.order), spec.downgrade_after)
        output = state.select(
            [
                held[n][0].cast(plan.dtypes.get(n, pl.String)).alias(n) if n in held else pl.col(n)
                for n in plan.outputs
            ]
        )
        columns: list[pl.Expr] = [pl.col(BASE)]
        for c in labels:
            if c in held:
                published, runs = held[c]
                columns += [
                    published.alias(c),
                    pl.col(c).cast(pl.String).alias(c + COMPUTED),
                    runs.cast(pl.UInt16).alias(c + RUNS_BELOW),
                ]
            else:
                columns.append(pl.col(c).cast(pl.String))
        if money and money not in labels:
            columns.append(pl.col(money))
        info = {
            "labels": labels,
            "revenue": money,
            "hysteresis": {c: s.model_dump() for c, s in specs.items()},
            "previous": self.previous.as_of.isoformat() if self.previous else None,
        }
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{PART_FILE}.{os.getpid()}.", suffix=".tmp", dir=self.target.parent
        )
        os.close(fd)
        self.tmp = Path(name)
        write = state.select(columns).sink_parquet(
            self.tmp,
            compression="zstd",
            statistics=True,
            row_group_size=ROW_GROUP_ROWS,
            metadata={
                MANIFEST_KEY: json.dumps(build_manifest(plan), sort_keys=True),
                HISTORY_KEY: json.dumps(info, sort_keys=True),
            },
            sync_on_close="all",
            lazy=True,
        )
        return output, write

    def _previous_state(self, specs: dict[str, Any]) -> pl.LazyFrame:
        """The previous partition's published labels and runs below, as ``_prev:<c>``
        columns (nulls for a column it lacks; an empty frame without a previous run)."""
        wanted: list[pl.Expr] = []
        if self.previous is None:
            schema: dict[str, pl.DataType] = {BASE: pl.String()}
            for c in specs:
                schema[f"_prev:{c}"] = pl.String()
                schema[f"_prev:{c}{RUNS_BELOW}"] = pl.UInt16()
            return pl.LazyFrame(schema=schema)
        prev = self.previous.scan()
        try:
            have = prev.collect_schema()
        except pl.exceptions.PolarsError as exc:
            raise DataError(f"{self.previous.path}: cannot read it: {_first_line(exc)}") from None
        for c in specs:
            wanted.append(
                pl.col(c).cast(pl.String).alias(f"_prev:{c}")
                if c in have
                else pl.lit(None, pl.String).alias(f"_prev:{c}")
            )
            runs = c + RUNS_BELOW
            wanted.append(
                pl.col(runs).cast(pl.UInt16).alias(f"_prev:{runs}")
                if runs in have
                else pl.lit(0, pl.UInt16).alias(f"_prev:{runs}")
            )
        return prev.select(pl.col(BASE).cast(pl.String), *wanted)

    def commit(self) -> Path:
        """Rename the written partition into place (replacing a rerun's)."""
        assert self.tmp is not None
        os.replace(self.tmp, self.target)
        self.tmp = None
        return self.target

    def discard(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None


def _published(column: str, order: Sequence[str], downgrade_after: int) -> tuple[pl.Expr, pl.Expr]:
    """(published label, consecutive runs below) for one column with hysteresis, over
    the run's computed ``column`` and the previous run's ``_prev:<column>`` state."""

    def rank(e: pl.Expr) -> pl.Expr:
        return e.replace_strict(
            list(order), list(range(len(order))), default=None, return_dtype=pl.Int32
        )

    computed = pl.col(column).cast(pl.String)
    previous = pl.col(f"_prev:{column}")
    lower = (rank(computed) > rank(previous)).fill_null(False)
    runs = pl.when(lower).then(pl.col(f"_prev:{column}{RUNS_BELOW}").fill_null(0) + 1)
    hold = lower & (runs.otherwise(0) < downgrade_after)
    published = pl.when(hold).then(previous).otherwise(computed)
    return published, pl.when(hold).then(runs.otherwise(0)).otherwise(0)


def prepare(directory: str | Path, as_of: dt.datetime) -> HistoryWrite:
    """Where a run at ``as_of`` goes in the history, and the partition it continues.

    Raises DataError when the history holds a later as-of (runs are appended in as-of
    order; the later partitions were computed from the one this run would change)."""
    root = Path(directory)
    parts = partitions(root)
    later = [p for p in parts if p.as_of > as_of]
    if later:
        names = ", ".join(p.path.parent.name for p in later[:3])
        raise DataError(
            f"history {root} already holds later runs ({names}{', ...' if len(later) > 3 else ''}) "
            f"than this as-of {as_of.isoformat()}: runs are added in as-of order because each "
            "one continues the one before; to recompute from here, remove those partitions and "
            "rerun them in order"
        )
    previous = next((p for p in reversed(parts) if p.as_of < as_of), None)
    target = root / partition_name(as_of) / PART_FILE
    return HistoryWrite(root, as_of, previous, target.exists(), target)


# -- reading back --------------------------------------------------------------------
def scan(directory: str | Path) -> pl.LazyFrame:
    """Every partition as one lazy frame with an ``as_of`` column (Datetime) first.
    Partitions written by different rule sets may have different columns: missing
    ones are null."""
    parts = _existing(directory)
    frames = [
        p.scan().with_columns(pl.lit(p.as_of, pl.Datetime("us")).alias("as_of")) for p in parts
    ]
    lf = pl.concat(frames, how="diagonal_relaxed")
    names = lf.collect_schema().names()
    return lf.select("as_of", BASE, *[n for n in names if n not in ("as_of", BASE)])


def _existing(directory: str | Path) -> list[Partition]:
    parts = partitions(directory)
    if not parts:
        raise DataError(
            f"history '{directory}' holds no runs (as_of=<date>/part.parquet); write one with "
            "`segrule run ... --history DIR`"
        )
    return parts


def label_columns(directory: str | Path) -> list[str]:
    """The label columns stored in the history (in order of first appearance)."""
    out: dict[str, None] = {}
    for p in _existing(directory):
        out.update(dict.fromkeys(p.info().get("labels", [])))
    return list(out)


def _check_column(directory: str | Path, column: str, known: Sequence[str]) -> None:
    if column not in known:
        raise DataError(
            f"history '{directory}' has no label column '{column}'{did_you_mean(column, known)}; "
            f"it holds: {', '.join(known) or 'none'}"
        )


def tiers(
    directory: str | Path,
    customer_id: str | None = None,
    column: str | None = None,
    *,
    lazy: bool = False,
) -> pl.DataFrame | pl.LazyFrame:
    """Labels over time: one row per customer and run (as_of, customer_id, then every
    label column, or ``column`` and, when it has hysteresis, ``<column>__computed`` and
    ``<column>__runs_below``), sorted by customer_id then as_of. ``customer_id``
    keeps one customer. Collected unless ``lazy``."""
    lf = scan(directory)
    known = label_columns(directory)
    names = lf.collect_schema().names()
    if column is not None:
        _check_column(directory, column, known)
        cols = [c for c in (column, column + COMPUTED, column + RUNS_BELOW) if c in names]
    else:
        cols = [c for c in names if c not in ("as_of", BASE)]
    if customer_id is not None:
        lf = lf.filter(pl.col(BASE) == str(customer_id))
    lf = lf.select("as_of", BASE, *cols).sort(BASE, "as_of")
    return lf if lazy else lf.collect()


def events(
    directory: str | Path, column: str | None = None, *, lazy: bool = False
) -> pl.DataFrame | pl.LazyFrame:
    """Who left and entered which label between consecutive runs of the history, in the
    shape of :func:`segrule.diff.changes` (published labels; the runs' as-ofs in
    old_as_of/new_as_of; the revenue column as old_/new_ when both runs have it). The
    first run has no events. ``column`` keeps one label column. Collected unless
    ``lazy``; sorted by new_as_of, then as :func:`segrule.diff.changes`."""
    from segrule.diff import changes

    parts = _existing(directory)
    known = label_columns(directory)
    if column is not None:
        _check_column(directory, column, known)
    frames = []
    for old, new in itertools.pairwise(parts):
        o_info, n_info = old.info(), new.info()
        common = [c for c in n_info.get("labels", []) if c in o_info.get("labels", [])]
        cols = [c for c in common if column is None or c == column]
        if not cols:
            continue
        money = n_info.get("revenue")
        dims = [money] if money and money == o_info.get("revenue") else []
        frames.append(
            changes(
                old.scan(),
                new.scan(),
                cols,
                dimensions=dims,
                old_as_of=old.as_of.isoformat(),
                new_as_of=new.as_of.isoformat(),
            )
        )
    if not frames:
        nobody = pl.LazyFrame(schema={BASE: pl.String})
        lf = changes(nobody, nobody, [])
    else:
        lf = pl.concat(frames, how="diagonal_relaxed")
    return lf if lazy else lf.collect()
