"""Membership history: each run's segments and tiers kept by as-of, and hysteresis.

``segrule run --history DIR`` appends the run's memberships to a hive-partitioned
history, one folder per as-of::

    DIR/as_of=2026-11-01/part.parquet
    DIR/as_of=2026-11-08/part.parquet

Each partition holds customer_id, every segment and tier column of the run's outputs
(the published label), the revenue column when there is one, and for a column under
hysteresis its computed label (``<column>__computed``) and the number of runs in a row
the computed label has been below the published one (``<column>__below``). Rerunning the
latest as-of replaces its partition (it is written atomically: a temporary folder, then
a rename); a run at an as-of before the latest is refused, since later runs were held
against what it published.

Hysteresis (rule set ``hysteresis: {tier: {order: [...], downgrade_after: 2}}``): a
customer whose computed label is lower in ``order`` than the label published by the
previous run keeps the published label until a lower label has been computed
``downgrade_after`` runs in a row (this one included); upgrades, labels outside
``order`` and customers new to the history take the computed label at once. It is
applied in the run's own plan: a left join of the previous partition.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from segrule.errors import DataError, RuleSetError, UsageError, did_you_mean

if TYPE_CHECKING:
    from segrule.compiler import Plan

BASE = "customer_id"
PARTITION = "as_of"
COMPUTED, BELOW = "__computed", "__below"
_NAME = re.compile(r"^as_of=(\d{4}-\d{2}-\d{2})(?:T(\d{6}))?$")


def partition_name(as_of: dt.datetime) -> str:
    """``as_of=2026-11-01`` at midnight, ``as_of=2026-11-01T083000`` otherwise."""
    if as_of.time() == dt.time(0):
        return f"{PARTITION}={as_of:%Y-%m-%d}"
    return f"{PARTITION}={as_of:%Y-%m-%dT%H%M%S}"


def partitions(folder: str | Path) -> list[tuple[dt.datetime, Path]]:
    """The history's partitions, oldest first (folders not named ``as_of=...`` ignored)."""
    root = Path(folder)
    if not root.exists():
        return []
    if not root.is_dir():
        raise DataError(f"history {root}: not a folder; give a folder for --history")
    found = []
    for child in root.iterdir():
        m = _NAME.match(child.name)
        if m and (child / "part.parquet").is_file():
            day = dt.date.fromisoformat(m.group(1))
            hms = m.group(2) or "000000"
            at = dt.datetime(
                day.year, day.month, day.day, int(hms[:2]), int(hms[2:4]), int(hms[4:])
            )
            found.append((at, child / "part.parquet"))
    return sorted(found)


@dataclass(frozen=True)
class Hysteresis:
    """A column held by hysteresis: its labels best first and the runs a downgrade needs."""

    column: str
    order: tuple[str, ...]
    downgrade_after: int


def hysteresis_of(plan: Plan) -> list[Hysteresis]:
    """The rule set's hysteresis entries, checked against the plan (rule errors name the
    entry's line): the column must be a segment or tier output, the labels known."""
    from segrule.explain import find_ladder

    out = []
    rs = plan.ruleset
    for column, spec in rs.model.hysteresis.items():
        where = rs.where("hysteresis", column)
        node = plan.nodes.get(column)
        if node is None or column not in plan.outputs or node.role not in ("segment", "tier"):
            choices = [
                n
                for n in plan.outputs
                if n in plan.nodes and plan.nodes[n].role in ("segment", "tier")
            ]
            raise RuleSetError(
                f"hysteresis: '{column}' is not a segment or tier in the outputs"
                f"{did_you_mean(column, choices)} (segments and tiers: " + ", ".join(choices) + ")",
                where=where,
            )
        known = [c.label for c in node.cases] + ([node.default] if node.default else [])
        known += list(node.labels)
        if node.rank_ladder is not None:
            known += [label for label, _ in node.rank_ladder.rungs]
        if spec.order is not None:
            order = [str(x) for x in spec.order]
        elif node.ladder or node.rank_ladder:
            rungs = node.ladder or (node.rank_ladder.rungs if node.rank_ladder else ())
            order = [label for label, _ in rungs] + (
                [str(node.default)] if node.default is not None else []
            )
        else:
            ladder = find_ladder(node, plan.dtypes)
            if ladder is None:
                raise RuleSetError(
                    f"hysteresis: '{column}' is not a ladder, so say which labels are better: "
                    "order: [best, ..., worst]",
                    where=where,
                )
            order = list(dict.fromkeys(iv.label for iv in reversed(ladder.intervals)))
        unknown = [x for x in order if known and x not in known]
        if unknown:
            raise RuleSetError(
                f"hysteresis: '{column}' has no label '{unknown[0]}'; its labels are: "
                + ", ".join(dict.fromkeys(known)),
                where=rs.where("hysteresis", column, "order"),
            )
        if len(set(order)) != len(order):
            raise RuleSetError(f"hysteresis: order of '{column}' names a label twice", where=where)
        out.append(Hysteresis(column, tuple(order), spec.downgrade_after))
    return out


def membership_columns(plan: Plan) -> list[str]:
    """The output columns a history keeps: segments and tiers, and the revenue column."""
    from segrule.api import revenue_column

    cols = [
        n for n in plan.outputs if n in plan.nodes and plan.nodes[n].role in ("segment", "tier")
    ]
    money = revenue_column(plan)
    return cols + ([money] if money and money not in cols else [])


def previous_partition(folder: str | Path, as_of: dt.datetime) -> Path | None:
    """The partition this run continues from: the latest before ``as_of``. A run before
    the latest partition (other than a rerun of the latest) is refused."""
    parts = partitions(folder)
    if not parts:
        return None
    latest = parts[-1][0]
    if as_of < latest:
        raise UsageError(
            f"history {folder} has runs up to {latest:%Y-%m-%d %H:%M}; a run at the earlier "
            f"as-of {as_of:%Y-%m-%d %H:%M} would change what later runs held against: use "
            "another --history folder, or remove the later partitions"
        )
    before = [p for at, p in parts if at < as_of]
    return before[-1] if before else None


def apply(
    plan: Plan, frame: pl.LazyFrame, previous: Path | None, held: list[Hysteresis]
) -> pl.LazyFrame:
    """``frame`` (the run's columns) with hysteresis applied: each held column becomes
    the published label, with ``<column>__computed`` and ``<column>__below`` beside it.
    Lazy; without a previous partition the computed label is published."""
    if not held:
        return frame
    names = frame.collect_schema().names()
    cols: list[pl.Expr] = []
    prev_cols = []
    for h in held:
        prev_cols += [h.column, h.column + BELOW]
    if previous is not None:
        schema = pl.read_parquet_schema(previous)
        wanted = [c for c in prev_cols if c in schema]
        prev = pl.scan_parquet(previous).select(
            BASE,
            *[pl.col(c).alias(f"__prev_{c}") for c in wanted],
        )
        frame = frame.join(prev, on=BASE, how="left", maintain_order="left")
    else:
        wanted = []
    for h in held:
        rank = dict(zip(h.order, range(len(h.order)), strict=True))  # 0 = best

        def rank_of(e: pl.Expr, rank: dict[str, int] = rank) -> pl.Expr:
            return e.cast(pl.String).replace_strict(
                list(rank), list(rank.values()), default=None, return_dtype=pl.Int64
            )

        now = pl.col(h.column).cast(pl.String)
        if h.column in wanted:
            before = pl.col(f"__prev_{h.column}").cast(pl.String)
            below_before = (
                pl.col(f"__prev_{h.column}{BELOW}").fill_null(0)
                if h.column + BELOW in wanted
                else pl.lit(0)
            )
        else:
            before = pl.lit(None, dtype=pl.String)
            below_before = pl.lit(0)
        lower = (rank_of(now) > rank_of(before)).fill_null(False)
        below = pl.when(lower).then(below_before + 1).otherwise(0).cast(pl.Int64)
        hold = lower & (below < h.downgrade_after)
        cols += [
            pl.when(hold).then(before).otherwise(now).alias(h.column),
            now.alias(h.column + COMPUTED),
            pl.when(hold).then(below).otherwise(0).cast(pl.Int64).alias(h.column + BELOW),
        ]
        reason = f"{h.column}_reason"
        if reason in names:
            # The reason explains the computed label; say why another one is published.
            held_text = pl.format(
                "; held at {} by hysteresis ({} of {} runs below)",
                before,
                below.cast(pl.String),
                pl.lit(str(h.downgrade_after)),
            )
            cols.append(
                pl.when(hold)
                .then(pl.concat_str([pl.col(reason), held_text]))
                .otherwise(pl.col(reason))
                .alias(reason)
            )
    out = frame.with_columns(cols)
    drop = [f"__prev_{c}" for c in wanted]
    return out.drop(drop) if drop else out


def history_columns(plan: Plan, held: list[Hysteresis]) -> list[str]:
    cols = [BASE, *membership_columns(plan)]
    for h in held:
        cols += [h.column + COMPUTED, h.column + BELOW]
    return cols


def write_partition(folder: str | Path, as_of: dt.datetime, frame: pl.DataFrame) -> Path:
    """Write one run's memberships as ``folder/as_of=.../part.parquet``, atomically
    (a temporary folder beside it, then a rename; a rerun replaces the partition)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    target = root / partition_name(as_of)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
    try:
        # Through pyarrow: polars' writer has no page checksums (segrule.tables).
        frame.write_parquet(
            tmp / "part.parquet",
            compression="zstd",
            statistics=True,
            use_pyarrow=True,
            pyarrow_options={"write_page_checksum": True},
        )
        if target.exists():
            old = root / f".{target.name}.old.{os.getpid()}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target / "part.parquet"


# -- reading back ------------------------------------------------------------------
def read(folder: str | Path, *, customer_id: str | None = None) -> pl.LazyFrame:
    """Every run of the history as one lazy frame with an ``as_of`` column (datetime),
    optionally one customer's rows only."""
    parts = partitions(folder)
    if not parts:
        raise DataError(
            f"history {folder}: no runs found (folders as_of=YYYY-MM-DD with part.parquet); "
            "write one with segrule run --history"
        )
    frames = [
        pl.scan_parquet(path).with_columns(pl.lit(at, dtype=pl.Datetime("us")).alias(PARTITION))
        for at, path in parts
    ]
    lf = pl.concat(frames, how="diagonal_relaxed")
    if customer_id is not None:
        lf = lf.filter(pl.col(BASE) == str(customer_id))
    return lf


def tiers(folder: str | Path, customer_id: str, column: str | None = None) -> pl.DataFrame:
    """One customer's labels over time, oldest first: as_of plus each kept column (or
    only ``column``). This function collects."""
    lf = read(folder, customer_id=customer_id)
    names = lf.collect_schema().names()
    if column is not None and column not in names:
        raise UsageError(
            f"history {folder} has no column '{column}'; it has: "
            + ", ".join(n for n in names if n not in (BASE, PARTITION))
        )
    keep = [PARTITION, *([column] if column else [n for n in names if n not in (BASE, PARTITION)])]
    return lf.select(keep).sort(PARTITION).collect()


def events(folder: str | Path, column: str) -> pl.DataFrame:
    """Entered/left events of ``column`` between consecutive runs, in the shape of
    :func:`segrule.diff.changes` (the file ``segrule diff --changes`` writes): for each
    customer whose published label changed from one run to the next, a ``left`` row for
    the old label and an ``entered`` row for the new one (a customer new to a run has
    only ``entered``, one gone only ``left``, the other side's label ``(absent)``);
    ``old_as_of``/``new_as_of`` are the two runs, and the revenue column kept in the
    history comes as ``old_<name>``/``new_<name>``. Sorted by run, then as
    :func:`segrule.diff.changes`. Pairs of runs where one lacks ``column`` are skipped.
    This collects."""
    from segrule.diff import changes

    parts = partitions(folder)
    if not parts:
        read(folder)  # raises the "no runs" error
    if column not in pl.read_parquet_schema(parts[-1][1]):
        raise UsageError(f"history {folder} has no column '{column}'")
    out = []
    for (before_at, before), (at, now) in itertools.pairwise(parts):
        old_schema, new_schema = pl.read_parquet_schema(before), pl.read_parquet_schema(now)
        if column not in old_schema or column not in new_schema:
            continue
        money = [
            c
            for c, dtype in new_schema.items()
            if c in old_schema and dtype.is_numeric() and not c.endswith(BELOW)
        ]
        out.append(
            changes(
                pl.scan_parquet(before),
                pl.scan_parquet(now),
                [column],
                dimensions=money,
                old_as_of=before_at.isoformat(),
                new_as_of=at.isoformat(),
            )
        )
    if not out:
        nobody = pl.LazyFrame(schema={BASE: pl.String})
        return changes(nobody, nobody, []).collect()
    return pl.concat(out, how="diagonal_relaxed").collect()


def describe(folder: str | Path) -> dict[str, Any]:
    """The runs of a history: as-of, customers and file per partition."""
    return {
        "runs": [
            {
                "as_of": at.isoformat(),
                "customers": pl.scan_parquet(p).select(pl.len()).collect().item(),
                "file": str(p),
            }
            for at, p in partitions(folder)
        ]
    }
