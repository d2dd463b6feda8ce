"""Rollups: tables grouped by keys other than the customer (docs/rollups.md), for
``segrule rollup`` and :func:`segrule.rollup`.

A rule set's ``rollups:`` section names tables such as revenue per product with the
Pareto key products, demand per category and city, or customers per segment per
region. Each rollup groups either the rows of a table (orders, or a plugin's table with
a customer_id), loaded and checked exactly as for the customer run, or the scored
customer rows. Every rollup of a call comes from one compiled plan and one
``collect_all``; money is summed in integer cents; rows are ordered by revenue
descending, then by the keys (nulls last), so the same input gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from segrule.engine.build import as_ruleset
from segrule.engine.build import compile as compile_plan
from segrule.engine.compiler import Compiler, Plan, parse_as_of
from segrule.engine.execute import checked, plan_inputs
from segrule.errors import (
    RuleSetError,
    RuleSetErrors,
    SegruleError,
    UsageError,
    did_you_mean,
    first_line,
    option,
)
from segrule.io import outpaths
from segrule.io.cells import CsvFormulas
from segrule.io.encodings import copies_scope
from segrule.io.formats import FORMATS
from segrule.io.frames import TableLike
from segrule.io.outpaths import Inputs
from segrule.io.outputs import ROLLUPS_MARKER as MARKER
from segrule.model.keys import BASE
from segrule.model.nodes import BuildContext, cents_to_units, parse_window
from segrule.model.ruleset import CUSTOMER_ROWS, RollupSpec, RuleSet
from segrule.model.sql import parse_sql, referenced_names
from segrule.plugins.registry import Registry

#: A key naming a customer's value in a rollup of table rows: ``customer.region``.
CUSTOMER_PREFIX = "customer."
#: The default row filter of an orders rollup: the paid orders, as monetary_* counts.
PAID = "status = 'paid'"
#: The default money of a rollup of customer rows.
DEFAULT_CUSTOMER_REVENUE = "monetary_lifetime"
#: Measure columns; a group key may not take one of these names.
MEASURES = (
    "orders",
    "rows",
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "cumulative_share",
    "pareto_key",
)
_CENTS = "__rollup_cents"


@dataclass(frozen=True)
class Key:
    """One group key: the output column, and where its value comes from."""

    column: str
    #: "column" (of the table's rows) or "customer" (a dimension, segment or tier)
    source: str
    name: str  # the table column or the customer node

    @property
    def joined(self) -> str:
        """The name a customer value has in the rows after the join (no clash with a
        table column of the same name)."""
        return f"__customer.{self.name}" if self.source == "customer" else self.name


@dataclass(frozen=True)
class RollupDef:
    """A rollup of the rule set, its keys resolved."""

    name: str
    spec: RollupSpec
    where: str  # file:line:col of its definition
    keys: tuple[Key, ...]

    @property
    def customer_rows(self) -> bool:
        return self.spec.table == CUSTOMER_ROWS

    @property
    def title(self) -> dict[str, str]:
        return {k: v for k, v in (("zh", self.spec.zh), ("en", self.spec.en)) if v}


@dataclass
class RollupResult:
    """What :func:`rollup` computed and wrote."""

    #: rollup name -> its table
    tables: dict[str, pl.DataFrame]
    plan: Plan
    #: the folder written (None for :func:`rollups`, which writes nothing)
    folder: Path | None = None
    #: rollup name -> file written
    files: dict[str, Path] = field(default_factory=dict)


# -- resolution ---------------------------------------------------------------------
def definitions(
    rs: RuleSet, engine: Registry, names: Sequence[str] = (), ctx: BuildContext | None = None
) -> list[RollupDef]:
    """The rule set's rollups (``names``: only these, in their order), keys resolved and
    checked against the tables and names the engine knows; every problem is raised at
    once. Reads no data."""
    specs = rs.model.rollups or {}
    if not specs:
        raise RuleSetError(
            "the rule set has no rollups: add a rollups: section (docs/rollups.md), or "
            "extend a preset that has one, e.g. product-pareto",
            where=rs.source,
        )
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise UsageError(
            f"{option('names')}: unknown rollup '{unknown[0]}'"
            f"{did_you_mean(unknown[0], specs)}; the rule set has: {', '.join(specs)}"
        )
    chosen = list(dict.fromkeys(names)) if names else list(specs)
    comp: Compiler | None = None
    if ctx is not None:
        comp = Compiler(engine, rs, ctx)
        comp.define()
    errors: list[RuleSetError] = []
    out: list[RollupDef] = []
    for name in chosen:
        spec = specs[name]
        where = rs.where("rollups", name)
        try:
            out.append(_resolve(rs, engine, comp, name, spec, where))
        except RuleSetErrors as exc:
            errors.extend(exc.errors)
        except RuleSetError as exc:
            errors.append(exc)
    if errors:
        raise RuleSetErrors(errors) if len(errors) > 1 else errors[0]
    return out


def _resolve(
    rs: RuleSet,
    engine: Registry,
    comp: Compiler | None,
    name: str,
    spec: RollupSpec,
    where: str,
) -> RollupDef:
    label = f"rollup '{name}'"
    by_at = rs.where("rollups", name, "by")
    customer_rows = spec.table == CUSTOMER_ROWS
    if not customer_rows and spec.table not in engine.tables.items:
        raise RuleSetError(
            f"{label}: unknown table '{spec.table}'"
            f"{did_you_mean(spec.table, [*engine.tables.items, CUSTOMER_ROWS])}; a rollup "
            "groups the rows of a table with a customer_id, or table: customers for the "
            "scored customer rows",
            where=rs.where("rollups", name, "table"),
        )
    keys: list[Key] = []
    for i, raw in enumerate(spec.by):
        at = rs.where("rollups", name, "by", i)
        text = str(raw).strip()
        if text.startswith(CUSTOMER_PREFIX) or customer_rows:
            node = text.removeprefix(CUSTOMER_PREFIX).strip()
            if comp is not None and not _known(comp, engine, node):
                raise RuleSetError(
                    f"{label}: group key '{text}': no dimension, segment or tier '{node}'"
                    f"{did_you_mean(node, comp.known_names())}; `segrule dimensions` lists "
                    "the builtin ones",
                    where=at,
                )
            keys.append(Key(node, "customer", node))
        else:
            if not text:
                raise RuleSetError(f"{label}: a group key is empty", where=at)
            keys.append(Key(text, "column", text))
    columns = [k.column for k in keys]
    for k in keys:
        if columns.count(k.column) > 1:
            raise RuleSetError(
                f"{label}: two group keys give the column '{k.column}' (a table column and "
                f"{CUSTOMER_PREFIX}{k.column}); keep one",
                where=by_at,
            )
        if k.column in MEASURES:
            raise RuleSetError(
                f"{label}: group key '{k.column}' has the name of a measure column "
                f"({', '.join(MEASURES)}); "
                + (
                    "rename the dimension"
                    if k.source == "customer"
                    else f"rename it in tables.{spec.table}.columns"
                ),
                where=by_at,
            )
    if spec.window is not None:
        try:
            parse_window(spec.window)
        except RuleSetError as exc:
            raise RuleSetError(
                f"{label}: {exc.detail}", where=rs.where("rollups", name, "window")
            ) from None
        if customer_rows:
            raise RuleSetError(
                f"{label}: window applies to table rows; a rollup of customer rows takes "
                "windowed dimensions instead (e.g. by monetary_365d's tier)",
                where=rs.where("rollups", name, "window"),
            )
    if spec.where is not None:
        parse_sql(spec.where, where=rs.where("rollups", name, "where"), name=label)
    if customer_rows and comp is not None:
        money = spec.revenue or DEFAULT_CUSTOMER_REVENUE
        if not _known(comp, engine, money):
            raise RuleSetError(
                f"{label}: revenue '{money}' is no dimension"
                f"{did_you_mean(money, comp.known_names())}; name a money dimension such as "
                "monetary_365d",
                where=rs.where("rollups", name, "revenue"),
            )
    return RollupDef(name, spec, where, tuple(keys))


def _known(comp: Compiler, engine: Registry, name: str) -> bool:
    return name in comp.defined or engine.find_dimension(name) is not None


def _row_filter(d: RollupDef) -> str | None:
    if d.spec.where is not None:
        return d.spec.where
    return PAID if d.spec.table == "orders" else None


def _revenue_column(d: RollupDef) -> str:
    if d.customer_rows:
        return d.spec.revenue or DEFAULT_CUSTOMER_REVENUE
    return d.spec.revenue or "amount"


def needs(defs: Sequence[RollupDef]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """What the plan must compute for ``defs``: the customer values (outputs after
    customer_id) and, per table, the columns read with the rollup that reads them."""
    outputs: list[str] = []
    columns: dict[str, dict[str, str]] = {}
    for d in defs:
        who = f"rollup '{d.name}'"
        outputs += [k.name for k in d.keys if k.source == "customer"]
        condition = _row_filter(d)
        names = (
            [n for n in referenced_names(parse_sql(condition, name=who)) if n != BASE]
            if condition
            else []
        )
        if d.customer_rows:
            outputs += [*names, _revenue_column(d)]
            continue
        cols = columns.setdefault(d.spec.table, {})
        for k in d.keys:
            if k.source == "column":
                cols.setdefault(k.name, who)
        for n in names:
            cols.setdefault(n, who)
        money = _revenue_column(d)
        cols.setdefault("amount_cents" if _exact_amount(d, money) else money, who)
    return [BASE, *dict.fromkeys(o for o in outputs if o != BASE)], columns


def _exact_amount(d: RollupDef, money: str) -> bool:
    """The orders' amount is summed from the cents the engine computed from its digits."""
    return d.spec.table == "orders" and money == "amount"


# -- the queries ----------------------------------------------------------------------
def rollup_queries(plan: Plan, defs: Sequence[RollupDef]) -> list[pl.LazyFrame]:
    """One lazy query per rollup, on ``plan``'s tables and customer frame (collect them
    together: they share the plan). ``plan`` is compiled with :func:`needs` and checked
    (:func:`segrule.engine.execute.checked`)."""
    return [_query(plan, d) for d in defs]


def _query(plan: Plan, d: RollupDef) -> pl.LazyFrame:
    label = f"rollup '{d.name}'"
    at = plan.ruleset.where("rollups", d.name)
    customers = plan.frame
    condition = _row_filter(d)
    cond = parse_sql(condition, where=at, name=label) if condition else None
    money = _revenue_column(d)
    if d.customer_rows:
        rows = customers
        schema = dict(plan.frame.collect_schema())
        _check_number(schema, money, label, at)
        cents = (pl.col(money) * 100).round(0).cast(pl.Int64)
        counts = [pl.len().cast(pl.Int64).alias("customers")]
        if cond is not None:
            _check_condition(schema, cond, label, plan.ruleset.where("rollups", d.name, "where"))
            rows = rows.filter(cond)
    else:
        table = plan.loaded[d.spec.table]
        rows = table.frame
        schema = dict(table.schema)
        conds = []
        if cond is not None:
            _check_condition(schema, cond, label, plan.ruleset.where("rollups", d.name, "where"))
            conds.append(cond)
        if d.spec.window is not None:
            ts = plan.ctx.engine.tables.items[d.spec.table].ts_column if plan.ctx.engine else None
            if ts is None:
                raise RuleSetError(
                    f"{label}: table '{d.spec.table}' has no time column, so no window",
                    where=plan.ruleset.where("rollups", d.name, "window"),
                )
            conds.append(plan.ctx.in_window(ts, d.spec.window))
        for c in conds:
            rows = rows.filter(c)
        if _exact_amount(d, money):
            cents = pl.col("amount_cents")
        else:
            _check_number(schema, money, label, at)
            cents = (pl.col(money).cast(pl.Float64) * 100).round(0).cast(pl.Int64)
        # Only the universe's customers count, as in the customer run: the join leaves
        # out blacklisted and unknown customers and brings the customer keys.
        wanted = [k for k in d.keys if k.source == "customer"]
        universe = customers.select(BASE, *[pl.col(k.name).alias(k.joined) for k in wanted])
        rows = rows.join(universe, on=BASE, how="inner")
        counts = [
            pl.len().cast(pl.Int64).alias("orders" if d.spec.table == "orders" else "rows"),
            pl.col(BASE).n_unique().cast(pl.Int64).alias("customers"),
        ]
    group = [pl.col(k.name if d.customer_rows else k.joined).alias(k.column) for k in d.keys]
    first_count = counts[0].meta.output_name()
    grouped = rows.group_by(group).agg([*counts, cents.sum().cast(pl.Int64).alias(_CENTS)])
    keys = [k.column for k in d.keys]
    ordered = grouped.sort(
        [_CENTS, first_count, *keys],
        descending=[True, True, *([False] * len(keys))],
        nulls_last=True,
        maintain_order=True,
    )
    # The total as a column (a window over one group), not a scalar: polars divides by
    # a scalar as a product with its reciprocal, and the last cumulative share came out
    # 0.9999999999999999 instead of 1.0.
    total = pl.col(_CENTS).sum().over(pl.lit(0))
    has_total = total > 0
    running = pl.col(_CENTS).cum_sum()
    measures = [
        cents_to_units(pl.col(_CENTS)).alias("revenue"),
        pl.when(has_total).then(pl.col(_CENTS) / total).alias("revenue_share"),
        pl.when(has_total).then(running / total).alias("cumulative_share"),
        (has_total & ((running - pl.col(_CENTS)) < pl.lit(d.spec.pareto) * total)).alias(
            "pareto_key"
        ),
    ]
    shares = []
    if d.customer_rows:
        shares = [
            pl.when(pl.col("customers").sum() > 0)
            .then(pl.col("customers") / pl.col("customers").sum().over(pl.lit(0)))
            .alias("customer_share")
        ]
    out = ordered.with_columns(*measures, *shares).select(
        *keys,
        *[c.meta.output_name() for c in counts],
        *(["customer_share"] if d.customer_rows else []),
        "revenue",
        "revenue_share",
        "cumulative_share",
        "pareto_key",
    )
    return out.head(d.spec.top) if d.spec.top is not None else out


def _check_number(schema: dict[str, Any], column: str, label: str, at: str) -> None:
    dtype = schema.get(column)
    if dtype is not None and not dtype.is_numeric():
        raise RuleSetError(f"{label}: revenue '{column}' is {dtype}, not a number", where=at)


def _check_condition(schema: dict[str, Any], cond: pl.Expr, label: str, at: str) -> None:
    """The row filter evaluated on a one-row all-null frame of the rows' schema: an
    unknown column or a type mismatch is reported before any data is read."""
    missing = [n for n in referenced_names(cond) if n not in schema]
    if missing:
        raise RuleSetError(
            f"{label}: where refers to '{missing[0]}', which the rows do not have"
            f"{did_you_mean(missing[0], schema)}",
            where=at,
        )
    frame = pl.DataFrame({k: pl.Series(k, [None], dtype=v) for k, v in schema.items()})
    try:
        dtype = frame.select(cond.alias("_c")).schema["_c"]
    except (Exception, pl.exceptions.PanicException) as exc:
        raise RuleSetError(
            f"{label}: where cannot filter the rows: {str(exc).splitlines()[0][:200]}",
            where=at,
        ) from None
    if dtype not in (pl.Boolean, pl.Null):
        raise RuleSetError(f"{label}: where is {dtype}, not true/false", where=at)


# -- the API --------------------------------------------------------------------------
def compile_rollups(
    rulesets: Any,
    tables: Mapping[str, TableLike | None] | None = None,
    *,
    names: Sequence[str] = (),
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    check_only: bool = False,
) -> tuple[Plan, list[RollupDef]]:
    """The plan the rollups read (compiled with only what they need) and their
    definitions. Reads no rows. ``check_only``: tables not given are their contracts'
    empty frames (:func:`segrule.compile`)."""
    engine = engine or Registry(plugins=list(plugins))
    rs = as_ruleset(rulesets, engine)
    zone = tz or rs.model.timezone or "UTC"
    ctx = BuildContext(as_of=parse_as_of(as_of, zone), tz=zone, engine=engine)
    defs = definitions(rs, engine, names, ctx)
    outputs, columns = needs(defs)
    plan = compile_plan(
        rs,
        tables,
        as_of=as_of,
        data=data,
        tz=tz,
        outputs=outputs,
        engine=engine,
        blacklist=blacklist,
        columns=columns,
        check_only=check_only,
    )
    rollup_queries(plan, defs)  # checks the filters and money columns before any read
    return plan, defs


def rollups(
    rulesets: Any,
    tables: Mapping[str, TableLike | None] | None = None,
    *,
    names: Sequence[str] = (),
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
) -> RollupResult:
    """Compute the rule set's rollups in memory (this collects: the data-quality checks,
    then every rollup in one ``collect_all``). Raises DataQualityError as ``score``
    does."""
    with copies_scope():
        plan, defs = compile_rollups(
            rulesets,
            tables,
            names=names,
            as_of=as_of,
            data=data,
            tz=tz,
            engine=engine,
            plugins=plugins,
            blacklist=blacklist,
        )
        return _computed(plan, defs)


def check_rollups(
    rulesets: Any,
    tables: Mapping[str, TableLike | None] | None = None,
    *,
    data: str | Path | None = None,
    tz: str | None = None,
    engine: Registry | None = None,
) -> list[str]:
    """Check the rule set's rollups without reading rows (``segrule validate``) and
    return their names (none when it has no rollups): names, keys, filters and windows
    always; with ``data`` or ``tables``, also the table columns against the real
    schemas (without them, a key such as ``sku`` may be a column of the user's data
    that no contract lists, so it is not checked)."""
    engine = engine or Registry()
    rs = as_ruleset(rulesets, engine)
    if not rs.model.rollups:
        return []
    if data is None and not tables:
        zone = tz or rs.model.timezone or "UTC"
        ctx = BuildContext(as_of=parse_as_of("2000-01-01", zone), tz=zone, engine=engine)
        return [d.name for d in definitions(rs, engine, (), ctx)]
    _, defs = compile_rollups(
        rs, tables, as_of="2000-01-01", data=data, tz=tz, engine=engine, check_only=True
    )
    return [d.name for d in defs]


def _computed(plan: Plan, defs: Sequence[RollupDef]) -> RollupResult:
    plan, _ = checked(plan)
    queries = rollup_queries(plan, defs)
    try:
        frames = pl.collect_all(queries, engine="streaming")
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise SegruleError(f"the rollups failed while reading data: {first_line(exc)}") from exc
    return RollupResult({d.name: f for d, f in zip(defs, frames, strict=True)}, plan)


def check_folder(out: str | Path, inputs: Inputs, *, what: str = option("out")) -> Path:
    """Check the rollups folder before anything runs: a local folder, never an input nor
    inside or holding one, and new, empty or one segrule wrote rollups into (its
    ``.segrule-rollups`` marker lists every file in it)."""
    folder = outpaths.check_folder(out, what=what, inputs=inputs)
    owned = outpaths.owned_files(folder, MARKER, what)
    if owned:
        extra = sorted({e.name for e in folder.iterdir()} - owned - {MARKER})
        if extra:
            raise outpaths.OutputPathError(
                f"{what} {folder} holds files segrule did not write "
                f"({', '.join(extra[:3])}) beside its rollups; move them away or give "
                "another folder"
            )
    return folder


def extension(fmt: str) -> str:
    """The file extension a rollup gets in format ``fmt``."""
    return next(ext for ext, kind in FORMATS.items() if kind == fmt)


def rollup(
    rulesets: Any,
    out: str | Path,
    tables: Mapping[str, TableLike | None] | None = None,
    *,
    names: Sequence[str] = (),
    as_of: Any = None,
    data: str | Path | None = None,
    tz: str | None = None,
    fmt: str = "parquet",
    engine: Registry | None = None,
    plugins: Sequence[str] = (),
    blacklist: str | Path | None = None,
    csv_formulas: CsvFormulas = "neutralize",
) -> RollupResult:
    """Compute the rule set's rollups and write the folder ``out``: one
    ``<rollup>.<ext>`` per rollup (``fmt``: parquet, csv, ipc, ndjson or xlsx; Parquet
    files carry the run manifest and the rollup's definition) and the marker
    ``.segrule-rollups``. The folder is written whole and put in place at the end
    (:func:`segrule.io.outpaths.replacing_folder`): a failed run leaves the previous
    one. ``out`` is checked first (:func:`check_folder`)."""
    engine = engine or Registry(plugins=list(plugins))
    if fmt not in ("parquet", "csv", "ipc", "ndjson", "xlsx"):
        raise UsageError(
            f"{option('fmt')} {fmt!r} is not an output format: use parquet, csv, ipc, "
            "ndjson or xlsx"
        )
    with copies_scope():
        plan, defs = compile_rollups(
            rulesets,
            tables,
            names=names,
            as_of=as_of,
            data=data,
            tz=tz,
            engine=engine,
            blacklist=blacklist,
        )
        inputs = plan_inputs(plan, engine, data)
        folder = check_folder(out, inputs)
        result = _computed(plan, defs)
        result.files = write_folder(
            folder, result.plan, defs, result.tables, fmt, csv_formulas, what=option("out")
        )
        result.folder = folder
        return result


def write_folder(
    folder: Path,
    plan: Plan,
    defs: Sequence[RollupDef],
    tables: Mapping[str, pl.DataFrame],
    fmt: str = "parquet",
    csv_formulas: CsvFormulas = "neutralize",
    *,
    what: str,
) -> dict[str, Path]:
    """Write the computed ``tables`` of ``defs`` into ``folder`` (checked before with
    :func:`check_folder`), whole: a temporary folder beside it, put in place at the end.
    Returns the file of each rollup."""
    from segrule.io.manifest import build_manifest
    from segrule.io.sink import sink

    manifest = build_manifest(plan)
    ext = extension(fmt)
    files: dict[str, Path] = {}
    with outpaths.replacing_folder(folder, what=what) as tmp:
        for d in defs:
            name = f"{d.name}{ext}"
            meta = {
                **manifest,
                "outputs": tables[d.name].columns,
                "rollup": {"name": d.name, **d.spec.model_dump(mode="json", exclude_none=True)},
            }
            sink(
                tables[d.name].lazy(),
                tmp / name,
                fmt,
                manifest=meta,
                what=what,
                csv_formulas=csv_formulas,
            )
            files[d.name] = folder / name
        record = {
            "written_by": "segrule",
            "files": sorted(p.name for p in files.values()),
            "rollups": {
                d.name: {"file": files[d.name].name, "keys": [k.column for k in d.keys], **d.title}
                for d in defs
            },
        }
        (tmp / MARKER).write_text(
            json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return files


def for_run(
    rs: RuleSet, engine: Registry, names: Sequence[str], as_of: Any, tz: str | None
) -> tuple[list[RollupDef], list[str], dict[str, dict[str, str]]]:
    """The rollups ``segrule run --rollups`` computes beside its output: their
    definitions, the customer values they read (which must be among the run's outputs)
    and the table columns the run must read for them."""
    zone = tz or rs.model.timezone or "UTC"
    ctx = BuildContext(as_of=parse_as_of(as_of, zone), tz=zone, engine=engine)
    defs = definitions(rs, engine, names, ctx)
    outputs, columns = needs(defs)
    return defs, outputs, columns


def check_run_outputs(defs: Sequence[RollupDef], plan: Plan) -> None:
    """Refuse ``run --rollups`` when a rollup reads a customer value the run does not
    write: the rollups group the run's own output rows."""
    for d in defs:
        missing = [c for c in needs([d])[0] if c not in plan.outputs]
        if missing:
            raise UsageError(
                f"{option('rollups')}: rollup '{d.name}' reads {', '.join(missing)}, which the "
                f"run does not write; add {'it' if len(missing) == 1 else 'them'} to the rule "
                f"set's outputs (or {option('outputs')}), or write the rollups with segrule "
                "rollup"
            )
