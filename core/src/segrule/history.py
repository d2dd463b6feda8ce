"""Membership history: each run's segments and tiers kept by as-of, and hysteresis.

``segrule run --history DIR`` appends the run's memberships to a hive-partitioned
history, one folder per as-of::

    DIR/as_of=2026-11-01/part.parquet
    DIR/as_of=2026-11-08/part.parquet

Each partition holds customer_id, every segment and tier column of the run's outputs
(the published label), the revenue column when there is one, and for a column under
hysteresis its computed label (``<column>__computed``) and the number of runs in a row
the computed label has been below the published one (``<column>__below``). Rerunning the
latest as-of replaces its partition; a run at an as-of before the latest is refused,
since later runs were held against what it published.

The output and the partition of a run are committed together (:func:`write_partition`):
the partition is written to a temporary file in the history folder, a journal naming
it and the output is written, the output is renamed into place, then the partition; a
kill between the two renames is completed by the next write or read (:func:`recover`),
so an output at an as-of is never left without that as-of in the history.

Hysteresis (rule set ``hysteresis: {tier: {order: [...], downgrade_after: 2}}``): a
customer whose computed label is lower in ``order`` than the label published by the
previous run keeps the published label until a lower label has been computed
``downgrade_after`` runs in a row (this one included); upgrades, labels outside
``order`` and customers new to the history take the computed label at once. It is
applied in the run's own plan: a left join of the previous partition.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from segrule.errors import DataError, RuleSetError, UsageError, did_you_mean, option
from segrule.io import cleanup
from segrule.io.parquet_crc import with_checksums
from segrule.model.keys import BASE

try:
    import fcntl
except ImportError:  # Windows: no flock; commits of one writer at a time are still safe
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from segrule.engine.compiler import Plan

PARTITION = "as_of"
COMPUTED, BELOW = "__computed", "__below"
_NAME = re.compile(r"^as_of=(\d{4}-\d{2}-\d{2})(?:T(\d{6}))?$")


def partition_name(as_of: dt.datetime) -> str:
    """``as_of=2026-11-01`` at midnight, ``as_of=2026-11-01T083000`` otherwise."""
    if as_of.time() == dt.time(0):
        return f"{PARTITION}={as_of:%Y-%m-%d}"
    return f"{PARTITION}={as_of:%Y-%m-%dT%H%M%S}"


def partitions(folder: str | Path) -> list[tuple[dt.datetime, Path]]:
    """The history's partitions, oldest first (folders not named ``as_of=...`` and
    temporary files ignored), after :func:`recover` (when the folder can be changed)."""
    root = Path(folder)
    if not root.exists():
        return []
    if not root.is_dir():
        raise DataError(f"history {root}: not a folder; give a folder for {option('history')}")
    with contextlib.suppress(OSError):
        recover(root)  # a read-only copy is still readable, without the recovery
    found = []
    for child in root.iterdir():
        m = _NAME.match(child.name)
        if m and (child / PART).is_file():
            day = dt.date.fromisoformat(m.group(1))
            hms = m.group(2) or "000000"
            at = dt.datetime(
                day.year, day.month, day.day, int(hms[:2]), int(hms[2:4]), int(hms[4:])
            )
            found.append((at, child / PART))
    return sorted(found)


@dataclass(frozen=True)
class Hysteresis:
    """A column held by hysteresis: its labels best first and the runs a downgrade needs."""

    column: str
    order: tuple[str, ...]
    downgrade_after: int


class HysteresisCheck:
    """The plan pass checking the rule set's hysteresis entries against the compiled
    plan (:mod:`segrule.engine.passes`), so that ``validate`` reports them too."""

    def check(self, plan: Plan) -> None:
        hysteresis_of(plan)


class HistoryPass:
    """The run pass of ``run(history=folder)`` (:class:`segrule.engine.passes.RunPass`):
    the output gets hysteresis applied from the latest partition before this as-of, the
    membership columns are computed in the run's ``collect_all``, and the partition is
    committed together with the output (journaled: the output is never at an as-of the
    history lacks)."""

    def __init__(self, folder: str | Path, plan: Plan) -> None:
        self.folder = folder
        self.held = hysteresis_of(plan)
        self.previous = previous_partition(folder, plan.ctx.as_of)
        #: the partition written by :meth:`commit`
        self.written: Path | None = None

    def wrap(self, plan: Plan, frame: pl.LazyFrame) -> tuple[pl.LazyFrame, list[pl.LazyFrame]]:
        full = apply(plan, frame, self.previous, self.held)
        return full.select(plan.outputs), [full.select(history_columns(plan, self.held))]

    def commit(self, plan: Plan, results: list[pl.DataFrame], tmp: Path, target: Path) -> Path:
        self.written = write_partition(
            self.folder, plan.ctx.as_of, results[0], output=(tmp, target)
        )
        return self.written


def hysteresis_of(plan: Plan) -> list[Hysteresis]:
    """The rule set's hysteresis entries, checked against the plan (rule errors name the
    entry's line): the column must be a segment or tier output, the labels known."""
    from segrule.model.ladders import find_ladder

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
    from segrule.engine.execute import revenue_column

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
            f"another {option('history')} folder, or remove the later partitions"
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
        # A history written when ids were text joins on them as this run's type.
        id_dtype = frame.collect_schema()[BASE]
        prev = pl.scan_parquet(previous).select(
            pl.col(BASE).cast(id_dtype, strict=False) if schema[BASE] != id_dtype else pl.col(BASE),
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


#: The Parquet file of a partition: ``DIR/as_of=.../part.parquet``.
PART = "part.parquet"
#: Taken (flock) around every commit and recovery, so that a commit's renames happen
#: as one step for other writers and readers. Left in place: removing a lock file races.
LOCK = ".segrule-history.lock"
# A partition's temporary file and its commit journal: .as_of=<when>.<pid>.<hex>.tmp
# and the same stem with .commit. The pid tells whether the writer is still alive.
_TEMP = re.compile(r"^\.(as_of=[0-9T-]+)\.(\d+)\.[0-9a-f]+\.tmp$")
_JOURNAL = re.compile(r"^\.(as_of=[0-9T-]+)\.(\d+)\.[0-9a-f]+\.commit$")
# Temporary folders of versions before 0.x: mkdtemp's ".as_of=<when>.<8 chars>" (no
# pid) and ".as_of=<when>.old.<pid>".
_LEGACY = re.compile(r"^\.as_of=[0-9T-]+\.(?:old\.(\d+)|[a-z0-9_]{8})$")
#: A legacy temporary folder without a pid is removed once this old: those writers held
#: it only for the seconds of one Parquet write.
LEGACY_AGE_S = 3600.0


def _fault(point: str) -> None:
    """Where a commit can be cut by SIGKILL; does nothing. Tests replace it to kill the
    process at ``point`` ("after-journal", "after-output-rename",
    "after-partition-rename") and check what the next reader recovers."""


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _fsync_dir(folder: Path) -> None:
    # Makes a rename or a new file in ``folder`` durable; some filesystems refuse.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold the history's lock (an exclusive flock, released by the kernel when the
    holder dies, so a killed commit never leaves it held)."""
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _file_id(path: Path) -> list[int]:
    st = os.stat(path)
    # Kept by a rename: tells whether the output in place is the one this commit wrote.
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def recover(folder: str | Path) -> None:
    """Finish what killed runs left in a history folder: a commit cut between its
    renames (a ``.commit`` journal) is completed when the output it wrote is still in
    place, else rolled back; temporary files and folders of dead processes are removed.
    Called by every write and read of the history. Raises OSError when the folder cannot
    be changed (readers ignore that)."""
    root = Path(folder)
    try:
        names = [p.name for p in root.iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return
    journals = sorted(n for n in names if _JOURNAL.match(n))
    temps = [n for n in names if (m := _TEMP.match(n)) and not _alive(int(m.group(2)))]
    legacy = [n for n in names if _LEGACY.match(n)]
    if not (journals or temps or legacy):
        return
    with _locked(root):
        # Journals are written and removed under the lock: one seen here is a dead
        # writer's (or one whose last rename failed), never a commit in progress.
        for name in journals:
            _finish(root, root / name)
        for name in temps:
            (root / name).unlink(missing_ok=True)
        for name in legacy:
            path = root / name
            m = _LEGACY.match(name)
            assert m is not None
            try:
                stale = (
                    not _alive(int(m.group(1)))
                    if m.group(1)
                    else time.time() - path.stat().st_mtime > LEGACY_AGE_S
                )
            except FileNotFoundError:
                continue
            if stale:
                shutil.rmtree(path, ignore_errors=True)


def _finish(root: Path, journal: Path) -> None:
    """Complete or roll back the commit ``journal`` describes (under the lock)."""
    try:
        note = json.loads(journal.read_text(encoding="utf-8"))
        temp = root / note["temp"]
        part_dir = root / note["partition"]
        output, output_temp = Path(note["output"]), Path(note["output_temp"])
        output_id = list(note["output_id"])
    except (OSError, ValueError, KeyError, TypeError):
        # Cut while being written, so before the output rename: nothing was published.
        (root / (journal.name[: -len(".commit")] + ".tmp")).unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
        return
    try:
        published = _file_id(output) == output_id
    except OSError:
        published = False
    if published:
        # The output at this as-of is in place: the history must have it too.
        if temp.exists():
            part_dir.mkdir(exist_ok=True)
            os.replace(temp, part_dir / PART)
            _fsync_dir(part_dir)
    else:
        # The output was not replaced (or has been replaced since): drop the partition.
        temp.unlink(missing_ok=True)
        output_temp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            part_dir.rmdir()  # only when empty: created by this commit
    journal.unlink(missing_ok=True)
    _fsync_dir(root)


def _write_temp(root: Path, name: str, frame: pl.DataFrame) -> Path:
    """Write ``frame`` to a new temporary file of partition ``name``, synced to disk,
    registered for removal on SIGTERM/SIGINT. Sorted by customer_id with fixed row
    groups, so that the same run gives the same bytes."""
    from segrule.io.sink import ROW_GROUP_ROWS

    if frame.height and not frame.get_column(BASE).is_sorted():
        frame = frame.sort(BASE, maintain_order=True)
    # Deferred: a signal between creating and registering the file would leave it.
    with cleanup.deferred():
        while True:
            temp = root / f".{name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
            try:
                # O_EXCL: unique among threads and processes; mode from the umask, like
                # any file the user writes (mkstemp would make it private to the user).
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            break
        cleanup.register(temp)
    try:
        with os.fdopen(fd, "wb") as fh:
            # Page checksums, which polars' writer cannot write: written by polars into
            # memory, then copied with them (segrule.io.parquet_crc). Not polars'
            # use_pyarrow: its export fails on a column name holding a NUL.
            buffer = io.BytesIO()
            frame.write_parquet(
                buffer, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS
            )
            with_checksums(buffer.getvalue(), fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        cleanup.unregister(temp)
        raise
    return temp


def write_partition(
    folder: str | Path,
    as_of: dt.datetime,
    frame: pl.DataFrame,
    *,
    output: tuple[Path, Path] | None = None,
) -> Path:
    """Write one run's memberships as ``folder/as_of=.../part.parquet`` (a rerun
    replaces it) and return that path.

    The partition is written to a temporary file in ``folder`` and renamed into place
    under the history's lock, so concurrent writers and readers see a whole partition
    or none. With ``output=(temporary, target)`` (``segrule run --history``), the run's
    output is renamed onto ``target`` in the same commit, after a journal naming both is
    written: a failure before the output rename leaves output and history as they were;
    a kill between the two renames is completed by the next write or read of the history
    (:func:`recover`). Errors are DataError naming the folder."""
    from segrule.io import outpaths

    # Not an input, not a folder of other files (segrule.io.outpaths).
    root = outpaths.check_history_folder(folder)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot(root, "create the history folder", exc, output) from exc
    with contextlib.suppress(OSError):
        recover(root)  # another writer's leftovers must not block this run
    name = partition_name(as_of)
    try:
        temp = _write_temp(root, name, frame)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _cannot(root, f"write the partition {name}", exc, output) from exc
    keep = False
    try:
        with _locked(root), cleanup.deferred():
            _commit(root, name, temp, output)
    except _CommitIncomplete:
        keep = True  # the journal names the temporary file: recover() finishes the commit
        raise
    except OSError as exc:
        raise _cannot(root, f"commit the partition {name}", exc, output) from exc
    finally:
        if not keep:
            temp.unlink(missing_ok=True)
        cleanup.unregister(temp)
    return root / name / PART


class _CommitIncomplete(DataError):
    """The output was replaced but its partition could not be renamed into place: the
    journal and the partition's temporary file are left for :func:`recover`."""


def _commit(root: Path, name: str, temp: Path, output: tuple[Path, Path] | None) -> None:
    """The renames of :func:`write_partition`, under the lock with signals deferred."""
    part_dir = root / name
    created = not part_dir.is_dir()
    # Made before the output rename: after it, only renames remain (no new space).
    part_dir.mkdir(exist_ok=True)
    journal = None
    if output is not None:
        output_temp, target = output
        journal = root / (temp.name[: -len(".tmp")] + ".commit")
        note = {
            "partition": name,
            "temp": temp.name,
            "output": str(target.absolute()),
            "output_temp": str(output_temp.absolute()),
            "output_id": _file_id(output_temp),
        }
        try:
            fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(note, fh, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            _fsync_dir(root)
            _fault("after-journal")
            try:
                os.replace(output_temp, target)
            except OSError as exc:
                raise DataError(
                    f"output {target}: cannot be replaced ({exc.strerror or exc}); it and the "
                    f"history {root} are unchanged: check the folder's permissions and space"
                ) from exc
        except BaseException:
            journal.unlink(missing_ok=True)
            if created:
                with contextlib.suppress(OSError):
                    part_dir.rmdir()
            raise
        _fault("after-output-rename")
    try:
        os.replace(temp, part_dir / PART)
    except OSError as exc:
        if journal is None:
            raise
        # The output is in place: keep the journal and the partition's temporary file
        # for recover() (the next write or read) instead of a history without this run.
        cleanup.unregister(temp)
        raise _CommitIncomplete(
            f"history {root}: the output {output[1] if output else ''} was written but its "
            f"partition {name} could not be put in place ({exc.strerror or exc}); the next "
            f"{option('history_resume', 'write or read of this history')} completes it"
        ) from exc
    _fault("after-partition-rename")
    _fsync_dir(part_dir)
    if journal is not None:
        # Left behind, it is harmless: recover() finds the output and partition in place.
        with contextlib.suppress(OSError):
            journal.unlink()
        _fsync_dir(root)


def _cannot(
    root: Path, what: str, exc: BaseException, output: tuple[Path, Path] | None
) -> DataError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
    kept = f"; the output {output[1]} was not replaced" if output is not None else ""
    return DataError(
        f"history {root}: cannot {what} ({reason}){kept}: give a writable "
        f"{option('history')} folder with free space"
    )


# -- reading back ------------------------------------------------------------------
def read(folder: str | Path, *, customer_id: str | int | None = None) -> pl.LazyFrame:
    """Every run of the history as one lazy frame with an ``as_of`` column (datetime),
    optionally one customer's rows only."""
    parts = partitions(folder)
    if not parts:
        raise DataError(
            f"history {folder}: no runs found (folders as_of=YYYY-MM-DD with part.parquet); "
            f"{option('history_write', 'write one with run(history=...)')}"
        )
    frames = [
        pl.scan_parquet(path).with_columns(pl.lit(at, dtype=pl.Datetime("us")).alias(PARTITION))
        for at, path in parts
    ]
    lf = pl.concat(frames, how="diagonal_relaxed")
    if customer_id is not None:
        from segrule.engine.ids import cast_ids

        dtype = lf.collect_schema()[BASE]
        wanted = cast_ids(pl.Series([customer_id]), dtype, option("customer_id"))[0]
        lf = lf.filter(pl.col(BASE) == pl.lit(wanted, dtype))
    return lf


def tiers(folder: str | Path, customer_id: str | int, column: str | None = None) -> pl.DataFrame:
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
        nobody = pl.LazyFrame(schema={BASE: pl.read_parquet_schema(parts[-1][1])[BASE]})
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
