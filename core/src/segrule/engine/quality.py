"""Data-quality checks: bad rows are counted per table and check, handled by the rule
set's policy (``tables.<t>.quality: {check: drop | keep | fail | unchecked}``) and can be
written to a rejects folder. Nothing is dropped silently.

Checks, in the order rows are counted (a row left out is counted once, under the first
check that leaves it out):

==================== ======================================== ==================
check                 a row fails it when                      policies (default)
==================== ======================================== ==================
null_customer_id      customer_id is null, empty or whitespace drop, fail
bad_timestamp         the time is null or did not parse        drop, fail
after_as_of           the time is at or after as-of            always left out
bad_amount            orders: amount null, non-numeric, NaN,   drop, keep, fail
                      negative, infinite or beyond int64 cents
rounded_amount        orders: amount has more than two         keep, fail
                      decimals (rounded to cents, ties to even)
unknown_status        orders: status (after status_values) is  keep, drop, fail
                      not paid/pending/refunded/cancelled
(where)               the table's ``where`` is false or null   always left out
unknown_customer      its customer is not in the universe      drop, fail, unchecked
                      (the customers table, else the customers
                      of orders); not for the universe's table
duplicate_order_id    orders: an earlier row (by time) has the drop, keep, fail,
                      same order_id                            unchecked
==================== ======================================== ==================

A table whose drop checks reject more than ``tables.<t>.quality.max_rejected_share``
(default 0.5) of its rows before as-of fails the run (:func:`rejected_share_failure`).

How it is computed, and why: the row checks are conditions on the normalized table;
each is counted by a ``filter(...).select(len)`` collected on its own, beside the run,
so polars answers most of them from Parquet statistics (null counts, min/max). The two
set checks need a pass over ids: unknown customers an anti-join with the universe's
ids, duplicates a group-by of hashed order ids (candidates), then an exact group-by of
the candidates. Duplicates are removed from the plan only when some were found: the
run is then computed again without them (:func:`without_duplicates`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from segrule.engine.ids import invalid_id, valid_id
from segrule.errors import DataQualityError, RuleSetError, did_you_mean, option
from segrule.io import outpaths
from segrule.io.outpaths import NO_INPUTS, Inputs
from segrule.io.sources import number_text
from segrule.model.checks import (
    CHECKS,
    DEFAULT_MAX_REJECTED_SHARE,
    MAX_REJECTED_SHARE,
    SET_CHECKS,
    applies,
)
from segrule.model.keys import BASE

if TYPE_CHECKING:
    from segrule.engine.compiler import Plan
    from segrule.model.ruleset import RuleSet
    from segrule.model.tables import TableContract

#: Largest |amount| whose integer cents fit an Int64.
MAX_AMOUNT = 92_233_720_368_547_758.0
#: Prefix of the untouched copy of a column that normalizing changes (for rejects).
RAW = "__raw__"


#: Hidden column holding cents computed from an amount's decimal digits.
EXACT_CENTS = "__exact_cents"


def exact_amount(a: pl.Expr, dtype: pl.DataType, decimal: str | None = None) -> pl.Expr | None:
    """A text or Decimal amount as a Decimal (its digits, not a float), else None.

    Nine decimals are kept (more are cut off); unparseable text is null. ``decimal``
    ``,``: text is written with a decimal comma (``1.234,56``); ``.``: with a decimal
    point and commas between thousands (``1,234.56``) (:func:`..io.sources.number_text`)."""
    plain = number_text(a, decimal) if dtype == pl.String else None
    if plain is not None:
        return plain.cast(pl.Decimal(38, 9), strict=False)
    if dtype == pl.String:
        return a.str.strip_chars().cast(pl.Decimal(38, 9), strict=False)
    if isinstance(dtype, pl.Decimal):
        return a.cast(pl.Decimal(38, 9), strict=False)
    return None


def to_cents(exact: pl.Expr) -> pl.Expr:
    """Integer cents of a Decimal amount, ties to even (null when out of range)."""
    return (exact * 100).round(0, mode="half_to_even").cast(pl.Int64, strict=False)


def rounded(a: pl.Expr, exact: pl.Expr | None) -> pl.Expr:
    """True where an amount has more than two decimals (it is rounded to cents).

    On the digits when there are some (text, Decimal); on a float, where amount x 100
    is further from a whole number than float error can explain (1.1 x 100 is
    110.00000000000001)."""
    if exact is not None:
        scaled = exact * 100
        return scaled != scaled.round(0)
    c = a * 100
    return (c - c.round(0)).abs() > 1e-6 + c.abs() * 1e-13


def amount_unsummable(a: pl.Expr) -> pl.Expr:
    """True where an amount is not null but cannot be summed as int64 cents."""
    return a.is_not_null() & (~a.cast(pl.Float64).is_finite() | (a.abs() >= MAX_AMOUNT))


def quality_frame(
    renamed: pl.LazyFrame, exprs: Sequence[pl.Expr], parse_ts: pl.Expr | None, ts: str | None
) -> pl.LazyFrame:
    """The frame the checks count on: the table as read (``renamed``), normalized by
    ``exprs`` and ``parse_ts``, not filtered, with each column those change kept aside as
    read (``__raw__<column>``) for the rejects file."""
    changed = [e.meta.output_name() for e in exprs]
    if parse_ts is not None and ts:
        changed.append(ts)
    frame = renamed.with_columns(pl.col(c).alias(f"{RAW}{c}") for c in dict.fromkeys(changed))
    if parse_ts is not None:
        frame = frame.with_columns(parse_ts)
    if exprs:
        frame = frame.with_columns(exprs)
    return frame


def drop_failing_rows(
    lf: pl.LazyFrame,
    checks: Mapping[str, pl.Expr],
    policies: Mapping[str, str],
    contract: TableContract,
    statuses: Sequence[str],
) -> pl.LazyFrame:
    """``lf`` without the rows a row check leaves out (its policy is not ``keep``)."""
    for check in checks:
        if policies.get(check, "keep") != "keep":
            passes = row_filter(check, contract, statuses)
            if passes is not None:
                lf = lf.filter(passes)
    return lf


def with_amount_cents(
    lf: pl.LazyFrame, policies: Mapping[str, str], *, exact: bool
) -> pl.LazyFrame:
    """Orders with ``amount_cents``, the integer cents the plan sums: from the amount's
    decimal digits when it had some (``exact``: the ``EXACT_CENTS`` column), else the
    float rounded ties to even (rounding many amounts does not bias their sum)."""
    cents = (
        pl.col(EXACT_CENTS)
        if exact
        else (pl.col("amount") * 100).round(0, mode="half_to_even").cast(pl.Int64)
    )
    if policies.get("bad_amount") == "keep":
        # A kept bad amount (NaN, infinite, beyond int64 cents) is not summed.
        cents = pl.when(~amount_unsummable(pl.col("amount"))).then(cents)
    lf = lf.with_columns(cents.alias("amount_cents"))
    return lf.drop(EXACT_CENTS) if exact else lf


def row_checks(
    contract: TableContract,
    schema: Mapping[str, Any],
    as_of: pl.Expr,
    statuses: Sequence[str],
    id_dtype: pl.DataType,
    decimal: str | None = None,
) -> dict[str, pl.Expr]:
    """The row checks that apply to this table, as 'row fails' conditions on the
    normalized (not yet filtered) frame, in order (``id_dtype``: the normalized
    customer id type; only text ids can be blank; ``decimal``: the decimal mark of a
    text amount, as for :func:`exact_amount`)."""
    out: dict[str, pl.Expr] = {"null_customer_id": invalid_id(pl.col(BASE), id_dtype)}
    ts = contract.ts_column
    if ts and ts in schema:
        out["bad_timestamp"] = pl.col(ts).is_null()
        out["after_as_of"] = pl.col(ts) >= as_of
    if contract.name == "orders" and "amount" in schema:
        a = pl.col("amount")
        out["bad_amount"] = a.is_null() | (a < 0) | amount_unsummable(a) | a.is_nan()
        # The digits as read are kept beside a text amount (RAW), not beside a float.
        exact = exact_amount(pl.col(f"{RAW}amount"), schema["amount"], decimal)
        out["rounded_amount"] = rounded(a, exact)
    if contract.name == "orders" and "status" in schema and statuses:
        s = pl.col("status")
        out["unknown_status"] = s.is_null() | ~s.is_in(list(statuses))
    # No fill_null: each condition has an is_null() guard (or follows one in the count
    # order), and a fill_null wrapper stops polars from deciding the filter from the
    # Parquet statistics (null id on 10M orders: 0.18 s with it, 0.001 s without).
    return out


def row_filter(check: str, contract: TableContract, statuses: Sequence[str]) -> pl.Expr | None:
    """The filter that drops the rows failing ``check`` (cheaper than ``~cond``), or
    None when the check is applied elsewhere. Ids are not filtered row by row: a null
    or blank id is left out of the universe, so its rows join no customer (one test per
    customer instead of per row)."""
    if check == "bad_timestamp":
        return pl.col(contract.ts_column or "").is_not_null()
    if check == "bad_amount":
        # Null, NaN, negative, infinite and too large all fall outside this range.
        return pl.col("amount").is_between(0, MAX_AMOUNT, closed="left")
    if check == "unknown_status":
        return pl.col("status").is_in(list(statuses))
    return None


def policies_for(rs: RuleSet, table: str, universe_table: str | None) -> dict[str, str]:
    """Each applicable check's policy for ``table``: the rule set's
    ``tables.<t>.quality``, else the default; unknown checks and policies are rule
    errors naming the line."""
    spec = rs.model.tables.get(table)
    given = dict(spec.quality) if spec and spec.quality else {}
    # Any check that applies with a customers table may be set (it may be given later).
    allowed = [c for c in CHECKS if applies(c, table, "customers")]
    out = {c: CHECKS[c].default for c in allowed if applies(c, table, universe_table)}
    for check, policy in given.items():
        where = rs.where("tables", table, "quality", check)
        if check == MAX_REJECTED_SHARE:
            max_rejected_share(rs, table)  # checked here too, so validate reports it
            continue
        if check not in allowed:
            raise RuleSetError(
                f"unknown quality check '{check}' for table {table}"
                f"{did_you_mean(check, allowed)}; checks are: {', '.join(allowed)}",
                where=where,
            )
        policies = CHECKS[check].policies
        if not isinstance(policy, str) or policy not in policies:
            raise RuleSetError(
                f"quality check '{check}' can be {' or '.join(policies)}, not '{policy}'",
                where=where,
            )
        if check in out:
            out[check] = policy
    return out


def max_rejected_share(rs: RuleSet, table: str) -> float:
    """``tables.<table>.quality.max_rejected_share``, else the default; a value that is
    not a number from 0 to 1 is a rule error naming the line."""
    spec = rs.model.tables.get(table)
    value = (spec.quality or {}).get(MAX_REJECTED_SHARE) if spec else None
    if value is None:
        return DEFAULT_MAX_REJECTED_SHARE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise RuleSetError(
            f"{MAX_REJECTED_SHARE} is a share of rows from 0 to 1 (0.2 is 20%), not {value!r}",
            where=rs.where("tables", table, "quality", MAX_REJECTED_SHARE),
        )
    return float(value)


@dataclass
class TableQuality:
    """What is needed to count and reject one table's rows.

    ``frame`` is the table normalized but not filtered (raw copies of changed columns
    under ``__raw__<name>``), ``checks`` the row conditions in order, ``where`` the
    table's filter."""

    table: str
    frame: pl.LazyFrame
    columns: list[str]  # the table's columns as read, contract names
    checks: dict[str, pl.Expr]
    policies: dict[str, str]
    where: pl.Expr | None
    ts_column: str | None

    def left_out(self, check: str) -> bool:
        return check == "after_as_of" or self.policies.get(check, "keep") not in ("keep",)

    def count_rows(self) -> dict[str, int]:
        """rows_read, each row check, and ``where`` (this collects, one small query per
        count, so that Parquet statistics can answer them)."""

        def count(cond: pl.Expr | None) -> int:
            lf = self.frame if cond is None else self.frame.filter(cond)
            return int(lf.select(pl.len()).collect(engine="streaming").item())

        out: dict[str, int] = {"rows_read": count(None)}
        earlier: list[pl.Expr] = []  # left-out conditions that matched some rows
        for check, cond in self.checks.items():
            n = count(cond)
            if n and earlier:
                n = count(cond & ~pl.any_horizontal(earlier))
            out[check] = n
            if n and self.left_out(check):
                earlier.append(cond)
        if self.where is not None:
            removed = ~self.where.fill_null(False)
            out["where"] = count(removed & ~pl.any_horizontal(earlier) if earlier else removed)
        return out

    def rejected_rows(self) -> pl.LazyFrame | None:
        """The rows left out by a row check, as read, with ``reason`` (the first check
        that leaves the row out, as in the counts); rows after as-of are out of scope,
        not rejected. None when no check leaves rows out."""
        conds = [(c, e) for c, e in self.checks.items() if self.left_out(c)]
        if all(c == "after_as_of" for c, _ in conds):
            return None
        reason: Any = pl
        for check, cond in conds:
            value = pl.lit(None, pl.String) if check == "after_as_of" else pl.lit(check)
            reason = reason.when(cond).then(value)
        return self.as_read(self.frame.with_columns(reason.alias("reason"))).filter(
            pl.col("reason").is_not_null()
        )

    def as_read(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """``lf`` with each column as it was read (before normalizing), plus ``reason``."""
        have = lf.collect_schema()
        cols = [
            pl.col(f"{RAW}{c}").alias(c) if f"{RAW}{c}" in have else pl.col(c) for c in self.columns
        ]
        return lf.select(*cols, *(["reason"] if "reason" in have else []))


@dataclass
class QualityResult:
    """The counts of one run: per table, ``rows_read``, each check and ``where``;
    the duplicate order ids found; the blacklisted customers."""

    counts: dict[str, dict[str, int]]
    duplicates: pl.DataFrame | None = None  # order_id, rows
    blacklisted: int | None = None


#: Rows per pass when looking for duplicate order ids: a pass sorts its rows' ids (8
#: bytes a row, hashed when they are not integers), so larger tables are looked at in
#: several passes over disjoint hash buckets rather than all at once. Each pass reads
#: every id again: 100M random Int64 order ids took 13.5 s in four passes of 25M and
#: 3.0 s (1.8 GiB peak) in one.
DUPLICATE_PASS_ROWS = 128_000_000


def _duplicates(
    rows: pl.LazyFrame,
    exact: Callable[[pl.LazyFrame], pl.LazyFrame],
    n_rows: int,
    every_row: pl.LazyFrame,
) -> pl.DataFrame:
    """Order ids seen more than once (this collects).

    Candidates first, from ``every_row`` (the table's rows before any filter: a
    superset, so no duplicate is missed, read without the columns the filters need),
    then only the candidates' rows of ``rows`` that ``exact(...)`` keeps, grouped by
    the id itself. Profile (10M orders, Int64 ids in order): the candidates from the
    filtered rows took 0.52 s CPU, from the order_id column alone 0.19 s. Candidates
    come from a comparison of each id with the one before
    when the ids are in order (as exports by id or by time with increasing ids often
    are: one cheap pass, duplicates are neighbours), else from the ids sorted (integer
    ids as they are, others by their hash: one pass, or one per bucket of hashes for
    large tables). ``pl.Expr.hash`` is used within one process only (its values are
    not stable across polars versions)."""
    oid = pl.col("order_id")
    ids = every_row.select(oid).filter(oid.is_not_null())
    oid_dtype = ids.collect_schema()["order_id"]  # kept: 10 and "10" are different ids
    cand = _candidates_in_order(ids, ids.head(10_000))
    if cand is None:
        cand = _candidates_by_sort(ids, n_rows, oid_dtype.is_integer())
    if cand.is_empty():
        return pl.DataFrame(schema={"order_id": oid_dtype, "rows": pl.UInt32})
    key = oid if cand.columns == ["order_id"] else oid.hash()
    exact_rows = exact(rows.filter(key.is_in(cand.to_series().implode())))
    return (
        exact_rows.group_by("order_id")
        .agg(pl.len().alias("rows"))
        .filter(pl.col("rows") > 1)
        .sort("order_id")
        .collect(engine="streaming")
    )


def _candidates_in_order(ids: pl.LazyFrame, sample: pl.LazyFrame) -> pl.DataFrame | None:
    """The ids equal to the id before them, when every id is >= the one before (the
    first rows of the table as read, ``sample``, decide whether to look: they come
    without the filters, so without reading further); None when they are not in order."""
    oid = pl.col("order_id")
    if not sample.select(oid.is_sorted()).collect(engine="streaming").item():
        return None
    check = ids.select(
        (oid < oid.shift()).sum().alias("descending"), (oid == oid.shift()).sum().alias("equal")
    ).collect(engine="streaming")
    if check["descending"].item():
        return None
    if not check["equal"].item():
        return pl.DataFrame(schema={"order_id": ids.collect_schema()["order_id"]})
    return ids.filter(oid == oid.shift()).unique().collect(engine="streaming")


def _candidates_by_sort(ids: pl.LazyFrame, n_rows: int, integer: bool) -> pl.DataFrame:
    """Ids (``integer``) or hashes of ids (a hash may collide, so only candidates) seen
    more than once: the keys sorted, each compared with the one before.

    Profile (10M orders, ids in random order, one core): sorting took 0.46 s for Int64
    ids and 0.65 s for hashed text ids, where a group-by of the hashes took 1.06 s and
    1.28 s."""
    oid = pl.col("order_id")
    key = oid if integer else oid.hash().alias("_h")
    name = "order_id" if integer else "_h"
    passes = max(1, -(-n_rows // DUPLICATE_PASS_ROWS))
    found = []
    for bucket in range(passes):
        lf = ids if passes == 1 else ids.filter(oid.hash() % passes == bucket)
        k = pl.col(name)
        found.append(
            lf.select(key).sort(name).filter(k == k.shift()).unique().collect(engine="streaming")
        )
    return pl.concat(found)


def id_type(plan: Plan) -> pl.DataType:
    """The run's customer id type (:mod:`segrule.engine.ids`)."""
    return plan.dtypes.get(BASE, pl.String())


def _valid(plan: Plan) -> pl.Expr:
    return valid_id(pl.col(BASE), id_type(plan))


def universe_table(loaded: Mapping[str, Any]) -> str:
    return "customers" if "customers" in loaded else "orders"


def known_ids(plan: Plan) -> pl.LazyFrame:
    """The universe's valid customer ids (before the blacklist)."""
    source = plan.loaded[universe_table(plan.loaded)]
    return source.frame.select(BASE).filter(_valid(plan)).unique()


def collect_quality(plan: Plan) -> QualityResult:
    """Every count of the plan's data-quality report (this collects).

    The set checks read the rows the plan reads (``LoadedTable.frame``). Rows with a
    null or blank id are still there (the universe leaves them out); they are filtered
    here only when the row counts found some, since the test strips every id."""
    result = QualityResult({})
    known: pl.DataFrame | None = None
    universe = universe_table(plan.loaded)
    for name, tq in plan.quality_tables().items():
        counts = tq.count_rows()
        rows = plan.loaded[name].frame
        if counts.get("null_customer_id"):
            rows = rows.filter(_valid(plan))
        checks_unknown = tq.policies.get("unknown_customer", "unchecked") != "unchecked"
        needs_known = checks_unknown or (name != universe and "duplicate_order_id" in tq.policies)
        if needs_known and known is None:
            known = known_ids(plan).collect(engine="streaming")
        if checks_unknown:
            assert known is not None
            if id_type(plan) == pl.String:
                unknown = rows.join(known.lazy(), on=BASE, how="anti").select(pl.len())
            else:
                # Integer ids: a set lookup per row costs half the anti-join (10M order
                # rows against 1M customers: 0.34 s vs 0.54-0.69 s CPU); on text ids
                # it cost more (20M events rows: 2.97 s vs 2.65 s).
                member = pl.col(BASE).is_in(known.get_column(BASE).implode())
                unknown = rows.select((~member).sum())
            counts["unknown_customer"] = int(unknown.collect(engine="streaming").item())
        if tq.policies.get("duplicate_order_id", "unchecked") != "unchecked":

            def exact(
                lf: pl.LazyFrame, in_universe: bool = name == universe, ids: Any = known
            ) -> pl.LazyFrame:
                lf = lf.filter(_valid(plan))
                if not in_universe and ids is not None:
                    lf = lf.join(ids.lazy(), on=BASE, how="semi")
                return lf

            # Candidates from every row: no duplicate among them, none among a subset.
            dups = _duplicates(rows, exact, counts["rows_read"], tq.frame)
            counts["duplicate_order_id"] = int((dups["rows"].cast(pl.Int64) - 1).sum())
            result.duplicates = dups
        if "duplicate_customer_id" in tq.policies:
            valid = plan.loaded[name].frame.filter(_valid(plan))
            repeated = valid.select(pl.len() - pl.col(BASE).n_unique())
            counts["duplicate_customer_id"] = int(repeated.collect(engine="streaming").item())
        result.counts[name] = counts
    if plan.excluded is not None:
        count_blacklisted(plan, result)
    return result


#: The per-table count of rows left out because their customer is blacklisted, and the
#: report row counting the blacklisted customers of the universe.
BLACKLISTED = "blacklisted"
BLACKLISTED_CUSTOMERS = "blacklisted_customers"


def count_blacklisted(plan: Plan, result: QualityResult, kept: pl.Series | None = None) -> None:
    """The blacklisted customers of the universe (``result.blacklisted``) and, per table,
    the rows they would otherwise have used (``counts[table]["blacklisted"]``: rows that
    pass the row checks, ``where`` and the set checks; a duplicate order row dropped as
    such is counted there, not here). ``kept`` as for :func:`duplicate_losers`. This
    collects."""
    assert plan.excluded is not None
    listed = (
        known_ids(plan).join(plan.excluded.lazy(), on=BASE, how="semi").collect(engine="streaming")
    )
    result.blacklisted = listed.height
    for name, counts in result.counts.items():
        rows = plan.loaded[name].frame.filter(_valid(plan))
        tq = plan.quality_tables()[name]
        # A repeated customers-table row is counted as the repeat (duplicate_customer_id).
        one_each = "duplicate_customer_id" in tq.policies
        n = rows.join(listed.lazy(), on=BASE, how="semi").select(
            pl.col(BASE).n_unique() if one_each else pl.len()
        )
        found = int(n.collect(engine="streaming").item()) if listed.height else 0
        dups = result.duplicates
        if (
            found
            and dups is not None
            and dups.height
            and tq.policies.get("duplicate_order_id") in ("drop", "fail")
        ):
            losers = duplicate_losers(plan, dups, kept).join(listed.lazy(), on=BASE, how="semi")
            found -= int(losers.select(pl.len()).collect(engine="streaming").item())
        counts[BLACKLISTED] = found


def report_rows(plan: Plan, result: QualityResult) -> list[dict[str, Any]]:
    """Rows of the data-quality report: per table, rows read and used, then each check
    with its action and rows (``where`` rows are 'filtered'); blacklisted customers
    last."""
    out: list[dict[str, Any]] = []
    tables = plan.quality_tables()
    for table, counts in result.counts.items():
        policies = tables[table].policies
        rows = dict(counts)
        left_out = sum(
            int(v)
            for k, v in rows.items()
            if k in ("where", "after_as_of", BLACKLISTED)
            or (k in policies and policies[k] in ("drop", "fail"))
        )
        rows["rows_used"] = int(rows["rows_read"]) - left_out
        for check in policies:
            if check in SET_CHECKS and policies[check] == "unchecked":
                out_row = {"table": table, "check": check, "action": "unchecked", "rows": None}
                rows.pop(check, None)
                out.append(out_row)
        for name, value in rows.items():
            if name in ("rows_read", "rows_used"):
                action = ""
            elif name == "where":
                action = "filtered"
            elif name in ("after_as_of", BLACKLISTED):
                action = "excluded"
            else:
                action = policies[name]
            out.append({"table": table, "check": name, "action": action, "rows": int(value)})
    if result.blacklisted is not None:
        out.append(
            {
                "table": "customers",
                "check": BLACKLISTED_CUSTOMERS,
                "action": "excluded",
                "rows": result.blacklisted,
            }
        )
    # The order rows are counted in: row checks, where, set checks.
    order = [
        "rows_read",
        *(c for c in CHECKS if c not in SET_CHECKS and c not in AFTER_WHERE),
        "where",
        *SET_CHECKS,
        *AFTER_WHERE,
        BLACKLISTED,
        "rows_used",
    ]
    return sorted(
        out,
        key=lambda r: (
            list(result.counts).index(r["table"]) if r["table"] in result.counts else 99,
            order.index(r["check"]) if r["check"] in order else 98,
        ),
    )


def failures(report: Sequence[Mapping[str, Any]]) -> str | None:
    """The message for checks whose policy is fail and that found rows, else None."""
    failing = [r for r in report if r["action"] == "fail" and r["rows"]]
    if not failing:
        return None
    return (
        "; ".join(
            f"{r['table']}: {r['rows']:,} rows fail {r['check']} "
            f"(tables.{r['table']}.quality.{r['check']}: fail)"
            for r in failing
        )
        + "; nothing was written. Fix the data, or set the check to drop or keep"
    )


def dedupe_order(lf: pl.LazyFrame, ts: str | None) -> list[str]:
    """The columns that order rows of one order id: time first, then every other
    column of a sortable type, so the kept row does not depend on input order."""
    schema = lf.collect_schema()
    first = ["order_id", *([ts] if ts and ts in schema else [])]
    rest = sorted(
        c
        for c, t in schema.items()
        if c not in first
        and not c.startswith(RAW)
        and not isinstance(t, (pl.List, pl.Struct))
        and t != pl.Object
    )
    return [*first, *rest]


def without_duplicates(plan: Plan, duplicates: pl.DataFrame | None = None) -> Plan:
    """``plan`` computed again with, for each duplicated order id, only its first row
    by time (among the rows the plan reads whose customer is in the universe).

    ``duplicates``: the duplicated ids found by :func:`collect_quality`; when None, the
    plan finds them itself when it runs (a group-by of the order ids inside the plan:
    nothing is read now, for ``score(lazy=True)``)."""
    orders = plan.loaded["orders"]
    lf = orders.frame
    good = _valid(plan)
    in_universe = universe_table(plan.loaded) == "orders"
    if duplicates is not None:
        ids = duplicates["order_id"].implode()
        is_dup = pl.col("order_id").is_in(ids).fill_null(False)  # a null id is no duplicate
    else:
        counted = lf.filter(good)
        if not in_universe:
            counted = counted.join(known_ids(plan), on=BASE, how="semi")
        found = (
            counted.group_by("order_id")
            .agg(pl.len().alias(DUPLICATE_FLAG))
            .filter(pl.col(DUPLICATE_FLAG) > 1)
            .with_columns(pl.lit(True).alias(DUPLICATE_FLAG))
        )
        # A left join keeps every row; a null order id matches nothing (no duplicate).
        lf = lf.join(found, on="order_id", how="left")
        is_dup = pl.col(DUPLICATE_FLAG).fill_null(False)
    candidates = lf.filter(is_dup & good)
    if not in_universe:
        candidates = candidates.join(known_ids(plan), on=BASE, how="semi")
    keys = dedupe_order(orders.frame, plan.quality_tables()["orders"].ts_column)
    first = candidates.sort(keys, nulls_last=True).unique(
        "order_id", keep="first", maintain_order=True
    )
    others = lf.filter(~is_dup)
    deduped = pl.concat([others, first], how="vertical")
    if duplicates is None:
        deduped = deduped.drop(DUPLICATE_FLAG)
    return plan.rebuilt({"orders": deduped})


#: The column marking the rows of a duplicated order id inside a plan.
DUPLICATE_FLAG = "__segrule_duplicate"


#: Checks counted on the rows left after the row checks and ``where``, besides the set
#: checks (reported after them).
AFTER_WHERE = ("duplicate_customer_id",)


def _passing_rows(tq: TableQuality) -> pl.LazyFrame:
    """The table's rows as read that pass its row checks and ``where``."""
    left = [c for c, e in tq.checks.items() if tq.left_out(c)]
    lf = tq.frame
    if left:
        lf = lf.filter(~pl.any_horizontal([tq.checks[c] for c in left]).fill_null(False))
    if tq.where is not None:
        lf = lf.filter(tq.where)
    return lf


def duplicate_customer_rows(plan: Plan) -> pl.LazyFrame:
    """The customers-table rows left out as repeats of a customer id, as read, with
    ``reason``: every row of a repeated id but the one the universe keeps
    (:func:`segrule.engine.stages.first_customer_rows`: the first by the attributes the
    plan reads; ties between rows equal on those, by every other column)."""
    tq = plan.quality_tables()["customers"]
    lf = _passing_rows(tq).filter(_valid(plan)).filter(pl.col(BASE).is_duplicated())
    attrs = [n.expr for n in plan.nodes.values() if n.kind == "attribute"]
    keyed = lf.with_columns([e.alias(f"__segrule_attr_{i}") for i, e in enumerate(attrs)])
    schema = keyed.collect_schema()

    def sortable(c: str) -> bool:
        t = schema[c]
        return not isinstance(t, (pl.List, pl.Struct, pl.Array)) and t != pl.Object

    firsts = [f"__segrule_attr_{i}" for i in range(len(attrs))]
    keys = [BASE, *(c for c in firsts if sortable(c))]
    rest = sorted(c for c in schema if c not in keys and c not in firsts and sortable(c))
    ranked = keyed.sort([*keys, *rest], nulls_last=True).with_columns(
        pl.col(BASE).is_first_distinct().alias("_first")
    )
    return tq.as_read(
        ranked.filter(~pl.col("_first")).with_columns(
            pl.lit("duplicate_customer_id").alias("reason")
        )
    )


def duplicate_losers(
    plan: Plan, duplicates: pl.DataFrame, kept: pl.Series | None = None
) -> pl.LazyFrame:
    """The rows dropped as duplicate orders, as read, with ``reason``. ``kept``: the ids
    whose kept row is among the plan's rows (None: all); of the others every row is
    dropped."""
    tq = plan.quality_tables()["orders"]
    ids = duplicates["order_id"].implode()
    lf = _passing_rows(tq).filter(pl.col("order_id").is_in(ids) & _valid(plan))
    if universe_table(plan.loaded) != "orders":
        lf = lf.join(known_ids(plan), on=BASE, how="semi")
    keys = dedupe_order(plan.loaded["orders"].frame, tq.ts_column)
    keys = [k for k in keys if k in lf.collect_schema()]
    first = pl.col("order_id").is_first_distinct()
    if kept is not None:
        first = first & pl.col("order_id").is_in(kept.implode())
    ranked = lf.sort(keys, nulls_last=True).with_columns(first.alias("_first"))
    return tq.as_read(
        ranked.filter(~pl.col("_first")).with_columns(pl.lit("duplicate_order_id").alias("reason"))
    )


def check_rejects_folder(folder: str | Path, inputs: Inputs = NO_INPUTS) -> set[str] | None:
    """Check a ``--rejects`` folder before a run: not an input, not holding one, and new,
    empty or marked as segrule's (``.segrule-rejects``). Returns the files the marker
    lists (None for a folder that does not exist yet)."""
    path = outpaths.check_folder(folder, what=option("rejects"), inputs=inputs)
    return outpaths.owned_files(path, outpaths.REJECTS_MARKER, option("rejects"))


def write_rejects(
    plan: Plan,
    result: QualityResult,
    folder: str | Path,
    *,
    inputs: Inputs = NO_INPUTS,
    frames: Mapping[str, pl.LazyFrame] | None = None,
) -> dict[str, int]:
    """Write ``<folder>/<table>.parquet`` for each table with rejected rows: the rows as
    read plus ``reason`` (atomically, like outputs). Returns rows written per table.

    The folder is segrule's own: new or empty (it then gets a ``.segrule-rejects``
    marker listing the files written), or marked by an earlier run. Only files the
    marker lists are replaced or, when this run rejects nothing from their table,
    removed; a ``<table>.parquet`` segrule did not write is never touched."""
    folder = Path(folder)
    owned = check_rejects_folder(folder, inputs)
    owned = set() if owned is None else owned
    outpaths.make_folder(folder, option("rejects"))
    if frames is None:
        frames = rejected_frames(plan, result)
    return write_rejects_frames(plan, frames, folder, owned, inputs)


def rejected_frames(
    plan: Plan, result: QualityResult, kept: pl.Series | None = None
) -> dict[str, pl.LazyFrame]:
    """Per table with rejected rows: the rows as read plus ``reason``, in
    :func:`rejects_order`. ``kept``: the duplicated order ids whose kept row is among
    these rows (None: all of them; a bucket of a split run keeps only some)."""
    frames: dict[str, pl.LazyFrame] = {}
    for name, tq in plan.quality_tables().items():
        parts = []
        counts = result.counts.get(name, {})
        rows = tq.rejected_rows()
        if rows is not None and any(
            counts.get(c) for c in tq.checks if c != "after_as_of" and tq.left_out(c)
        ):
            parts.append(rows)
        if counts.get("unknown_customer") and tq.policies["unknown_customer"] != "keep":
            parts.append(_unknown_rows(plan, tq))
        if name == "orders" and result.duplicates is not None and result.duplicates.height:
            parts.append(duplicate_losers(plan, result.duplicates, kept))
        if counts.get("duplicate_customer_id") and tq.policies["duplicate_customer_id"] == "drop":
            parts.append(duplicate_customer_rows(plan))
        if parts:
            frames[name] = rejects_order(pl.concat(parts, how="vertical_relaxed"))
    return frames


def rejects_order(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Rejected rows in a total order: by reason, customer id, then every other column
    of a sortable type, so the file does not depend on the order rows were read in."""
    schema = lf.collect_schema()
    first = ["reason", BASE]
    rest = [
        c
        for c, t in schema.items()
        if c not in first and not isinstance(t, (pl.List, pl.Struct)) and t != pl.Object
    ]
    return lf.sort([*first, *rest], nulls_last=True, maintain_order=True)


def write_rejects_frames(
    plan: Plan,
    frames: Mapping[str, pl.LazyFrame],
    folder: Path,
    owned: set[str],
    inputs: Inputs = NO_INPUTS,
) -> dict[str, int]:
    """Write ``frames`` as ``<folder>/<table>.parquet`` (see :func:`write_rejects`)."""
    from segrule.io.sink import sink

    names = {f"{name}.parquet" for name in frames}
    foreign = sorted(n for n in names - owned if (folder / n).exists())
    if foreign:
        raise outpaths.OutputPathError(
            f"{option('rejects')} {folder}: {', '.join(foreign)} is not listed in its "
            f"{outpaths.REJECTS_MARKER} marker (segrule did not write it); move it away or "
            "give another folder"
        )
    # The marker lists what is about to be written before it is: a run killed halfway
    # leaves files the next run still knows as its own.
    outpaths.write_marker(folder, outpaths.REJECTS_MARKER, owned | names, option("rejects"))
    written: dict[str, int] = {}
    for name, frame in frames.items():
        target = folder / f"{name}.parquet"
        sink(frame, target, "parquet", inputs=inputs, what=option("rejects"))
        written[name] = int(pl.scan_parquet(target).select(pl.len()).collect().item())
    checked_here = {f"{name}.parquet" for name in plan.quality_tables()}
    for stale in sorted((owned & checked_here) - names):
        # Rejects of an earlier run whose table has none now; only files segrule wrote.
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            (folder / stale).unlink()
    kept = (owned - checked_here) | names
    outpaths.write_marker(folder, outpaths.REJECTS_MARKER, kept, option("rejects"))
    return written


def _unknown_rows(plan: Plan, tq: TableQuality) -> pl.LazyFrame:
    lf = tq.frame
    left = [tq.checks[c] for c in tq.checks if tq.left_out(c)]
    if left:
        lf = lf.filter(~pl.any_horizontal(left).fill_null(False))
    if tq.where is not None:
        lf = lf.filter(tq.where)
    lf = lf.filter(_valid(plan)).join(known_ids(plan), on=BASE, how="anti")
    return tq.as_read(lf.with_columns(pl.lit("unknown_customer").alias("reason")))


#: The column each check looks at (contract names), for the rejected-share message.
CHECK_COLUMNS = {
    "null_customer_id": BASE,
    "bad_amount": "amount",
    "rounded_amount": "amount",
    "unknown_status": "status",
    "unknown_customer": BASE,
    "duplicate_order_id": "order_id",
}


def rejected_share_failure(
    plan: Plan, result: QualityResult, report: Sequence[Mapping[str, Any]]
) -> str | None:
    """The message when the checks reject more than ``max_rejected_share`` of a table's
    rows before as-of (rows after as-of and rows ``where`` filters are not rejected),
    naming the check that rejected most, its column and one rejected value (this
    collects one row, only when it fails). None when every table is within its share."""
    for table in result.counts:
        rows = [r for r in report if r["table"] == table]
        count = {r["check"]: int(r["rows"] or 0) for r in rows}
        # Events and feedback of people outside the universe (visitors who never
        # bought) are out of scope, not bad rows: only orders count unknown customers.
        dropped = {
            r["check"]: int(r["rows"])
            for r in rows
            if r["check"] in CHECKS
            and r["action"] == "drop"
            and r["rows"]
            and (r["check"] != "unknown_customer" or table == "orders")
        }
        in_scope = count.get("rows_read", 0) - count.get("after_as_of", 0)
        share = max_rejected_share(plan.ruleset, table)
        rejected = sum(dropped.values())
        if not in_scope or rejected <= share * in_scope:
            continue
        check = max(dropped, key=lambda c: dropped[c])
        tq = plan.quality_tables()[table]
        column = CHECK_COLUMNS.get(check, tq.ts_column or BASE)
        spec = plan.ruleset.model.tables.get(table)
        shown = (spec.columns.get(column, column) if spec else column) or column
        example = _example(plan, result, tq, check, column)
        by = f" by {check}" if len(dropped) == 1 else f", {dropped[check]:,} by {check}"
        hint = ""
        if check == "bad_amount" and "," in example and not (spec and spec.decimal):
            # An export's formatted numbers: the options read them, nothing guesses.
            mark = "','" if re.search(r"\d,\d{1,2}'$", example) else "'.'"
            hint = (
                f"; numbers with a thousands separator or a decimal comma need "
                f"tables.{table}.decimal: {mark} (docs/chinese-csv-and-excel.md)"
            )
        return (
            f"{table}: {rejected:,} of {in_scope:,} rows ({rejected / in_scope:.0%}) rejected"
            f"{by} (column {shown}, e.g. {example}){hint}; check the column mapping "
            f"(tables.{table}.columns) or raise tables.{table}.quality.{MAX_REJECTED_SHARE} "
            f"(now {share:g})"
        )
    return None


def _example(plan: Plan, result: QualityResult, tq: TableQuality, check: str, column: str) -> str:
    """One value, as read, of a row ``check`` rejected (this collects one row)."""
    if check == "duplicate_order_id" and result.duplicates is not None:
        return repr(str(result.duplicates["order_id"][0]))
    if check == "unknown_customer":
        rows: pl.LazyFrame | None = _unknown_rows(plan, tq)
    else:
        rows = tq.rejected_rows()
        rows = rows.filter(pl.col("reason") == check) if rows is not None else None
    if rows is None or column not in rows.collect_schema():
        return "no value"
    value = rows.select(column).head(1).collect(engine="streaming")
    if not value.height or value.item() is None:
        return "null"
    return repr(str(value.item()))


def raise_on_failures(
    report: Sequence[Mapping[str, Any]],
    plan: Plan | None = None,
    result: QualityResult | None = None,
) -> None:
    """Raise DataQualityError (carrying the report) when a fail check found rows or,
    given the plan and its counts, when a table lost more than its share of rows."""
    message = failures(report)
    if message is None and plan is not None and result is not None:
        message = rejected_share_failure(plan, result, report)
    if message:
        raise DataQualityError(message, [dict(r) for r in report])


def drops_duplicates(plan: Plan, result: QualityResult) -> bool:
    """Whether duplicate orders were found and are to be dropped."""
    tq = plan.quality_tables().get("orders")
    return (
        tq is not None
        and tq.policies.get("duplicate_order_id") == "drop"
        and result.duplicates is not None
        and result.duplicates.height > 0
    )
