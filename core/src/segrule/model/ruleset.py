"""Rule sets: the YAML format, its models, loading with line numbers, and ``extends``.

A rule set file is data, never code: it is read with a safe YAML loader and its
expressions are parsed by polars' SQL parser only.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from segrule.errors import RuleSetError, did_you_mean, option
from segrule.limits import (
    ALLOW_PATHS_ENV,
    MAX_CASES,
    MAX_EXTENDS,
    MAX_RULE_FILE_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
)
from segrule.model.checks import CHECKS, DEFAULT_MAX_REJECTED_SHARE, MAX_REJECTED_SHARE
from segrule.model.keys import BASE
from segrule.model.yamlcore import core_schema

if TYPE_CHECKING:
    from segrule.plugins.registry import Registry

Scalar = str | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LabelSpec(_Model):
    """Display names and actions of one label."""

    zh: str | None = Field(None, description="Chinese display name")
    en: str | None = Field(None, description="English display name")
    description: str | None = None
    actions: list[str] | dict[Literal["zh", "en"], list[str]] = Field(
        default_factory=list,
        description="what to do with these customers: a list, or {zh: [...], en: [...]} in "
        "both languages (the label language picks one)",
    )

    def actions_by_language(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(actions, Chinese actions): a plain list is the actions in every language."""
        if isinstance(self.actions, dict):
            return tuple(self.actions.get("en", ())), tuple(self.actions.get("zh", ()))
        return tuple(self.actions), ()


# Editor completion for tables.<t>.quality: the checks and the policies.
_QUALITY_SCHEMA: dict[str, Any] = {
    "propertyNames": {"enum": [*CHECKS, MAX_REJECTED_SHARE]},
    "properties": {
        MAX_REJECTED_SHARE: {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "the run fails when the checks reject more than this share of "
            f"the table's rows (default {DEFAULT_MAX_REJECTED_SHARE})",
        }
    },
    "additionalProperties": {"enum": sorted({p for c in CHECKS.values() for p in c.policies})},
}


#: Keys of ``storage_options`` that hold (or are half of) a credential: refused in a
#: rule file, which is shared and committed; they belong in the environment.
_SECRET_OPTION = re.compile(
    r"(secret|token|password|passwd|sas|access_key|account_key|master_key|_key$|^key$)"
)


def check_storage_options(options: Mapping[str, Any] | None) -> None:
    """Refuse credentials in ``storage_options`` with a ValueError naming the key (its
    value is never shown): keys, tokens and secrets come from the environment."""
    for key in options or {}:
        if _SECRET_OPTION.search(str(key).lower()):
            raise ValueError(
                f"'{key}' looks like a credential, and a rule file is no place for one: set "
                "it in the environment (e.g. AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_ACCOUNT_KEY, "
                "GOOGLE_APPLICATION_CREDENTIALS); keep only options such as region or "
                "endpoint_url here"
            )


class TableSpec(_Model):
    """Where a table comes from and how its columns map onto the contract."""

    source: str | None = Field(
        None,
        description="file, glob or folder (relative to the rule file), or a URL: "
        "s3://, gs://, az://, https://, postgresql://",
    )
    encoding: str | None = Field(
        None, description="CSV: the text encoding, e.g. gbk, gb18030, utf-16 (default: detected)"
    )
    delimiter: str | None = Field(None, description="CSV: the field separator (default ,)")
    decimal: str | None = Field(None, description="CSV: the decimal mark, . or , (default .)")
    sheet: str | int | None = Field(
        None, description="Excel: the sheet to read, by name or 0-based index (default: first)"
    )
    table: str | None = Field(
        None, description="database source: the table (or schema.table) to read"
    )
    query: str | None = Field(
        None, description="database source: a SELECT to read instead of a table"
    )
    storage_options: dict[str, str] | None = Field(
        None,
        description="object-store source: options such as region or endpoint_url "
        "(credentials come from the environment)",
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="contract column -> column in your data"
    )

    @field_validator("storage_options")
    @classmethod
    def _no_credentials(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        check_storage_options(value)
        return value

    where: str | None = Field(None, description="SQL filter on rows, e.g. channel <> 'test'")
    status_values: dict[str, list[str]] | None = Field(
        None, description="orders only: contract status -> your values, e.g. paid: [paid, done]"
    )
    quality: dict[str, str | float] | None = Field(
        None,
        description="data-quality check -> drop | keep | fail | unchecked, e.g. "
        "bad_amount: fail (checked against each check's policies when compiled); "
        "max_rejected_share: 0.2 fails the run when the checks reject more than 20% of "
        "the table's rows",
        json_schema_extra=_QUALITY_SCHEMA,
    )


class DimensionSpec(_Model):
    """A custom dimension: exactly one of aggregate, expr, attribute or use."""

    description: str | None = None
    zh: str | None = None
    en: str | None = None
    aggregate: str | None = Field(
        None,
        description="SQL aggregate over table rows: count(*), "
        "sum(amount_cents), max(order_ts), count(DISTINCT category)",
    )
    table: str = Field("orders", description="table of the aggregate")
    where: str | None = Field(None, description="SQL row filter inside the aggregate")
    window: str | None = Field(None, description="30d, 12w or lifetime")
    fill: Scalar = Field(
        None,
        description="value for customers without rows (default: 0 for counts and sums, else null)",
    )
    expr: str | None = Field(None, description="SQL expression over other dimensions")
    attribute: str | None = Field(None, description="column of the customers table")
    use: str | None = Field(None, description="a registered dimension to parametrize")
    params: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, LabelSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> DimensionSpec:
        kinds = [k for k in ("aggregate", "expr", "attribute", "use") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("a dimension needs exactly one of: aggregate, expr, attribute, use")
        return self


class CaseSpec(_Model):
    when: str = Field(description="SQL condition")
    label: str = Field(description="label key given when the condition holds")


class SegmentSpec(_Model):
    """A first-match classification (cases + default) or a boolean flag."""

    description: str | None = None
    zh: str | None = None
    en: str | None = None
    cases: list[CaseSpec] | None = None
    default: str | None = Field(None, description="label when no case matches")
    flag: str | None = Field(None, description="SQL condition: a boolean segment")
    labels: dict[str, LabelSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> SegmentSpec:
        if (self.cases is None) == (self.flag is None):
            raise ValueError("a segment needs exactly one of: cases (with default) or flag")
        return self


class ScoreSpec(_Model):
    description: str | None = None
    zh: str | None = None
    en: str | None = None
    strategy: str = Field(description="points, rfm, pareto, quantile, or a plugin's")
    params: dict[str, Any] = Field(default_factory=dict)


_RUNS = r"\d+\s*runs?"


def _runs_schema(schema: dict[str, Any]) -> None:
    """In the JSON Schema, a count of runs is a number or a string such as '2 runs'."""
    schema.pop("type", None)
    schema.pop("minimum", None)
    schema["anyOf"] = [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": f"^{_RUNS}$"},
    ]


class HysteresisSpec(_Model):
    """Keep customers near a boundary from flipping every run (needs ``run --history``)."""

    order: list[str] | None = Field(
        None,
        description="labels from the best to the worst, e.g. [super_vip, vip, advanced, "
        "normal]; default: the ladder's rungs (points tiers, top-share tiers, threshold "
        "ladders)",
    )
    downgrade_after: int = Field(
        2,
        ge=1,
        description="runs in a row a lower label must be computed before it is published "
        "(a number, or e.g. '2 runs')",
        json_schema_extra=_runs_schema,
    )

    @field_validator("downgrade_after", mode="before")
    @classmethod
    def _runs(cls, value: Any) -> Any:
        # `downgrade_after: 2 runs` reads as it is said; the number is what counts.
        if isinstance(value, str):
            if not re.fullmatch(_RUNS, value.strip()):
                raise ValueError(f"'{value}' is not a number of runs: write e.g. 2 or '2 runs'")
            return int(re.match(r"\d+", value.strip()).group())  # type: ignore[union-attr]
        return value


#: A rollup's name is its file's name in the output folder: letters (any script),
#: digits, ``_`` and ``-``, not starting with ``-``.
ROLLUP_NAME = re.compile(r"^[^\W-][\w-]{0,99}$")
#: The table name that makes a rollup group the scored customer rows.
CUSTOMER_ROWS = "customers"


class RollupSpec(_Model):
    """A table grouped by keys other than the customer (docs/rollups.md): per product,
    category, city, region, segment or tier."""

    description: str | None = None
    zh: str | None = None
    en: str | None = None
    table: str = Field(
        "orders",
        description="the rows grouped: orders (default), a plugin's table with customer_id "
        "(e.g. order_items), or customers for the scored customer rows",
    )
    by: list[str] = Field(
        description="group keys: columns of the table, or customer.<name> for a customer's "
        "dimension, segment or tier (joined by customer_id); for table: customers, names of "
        "dimensions, segments or tiers",
        min_length=1,
        max_length=8,
    )
    where: str | None = Field(
        None,
        description="SQL filter on the rows grouped (orders default: status = 'paid'; "
        "customers: over dimensions, segments and tiers)",
    )
    window: str | None = Field(None, description="table rollups: 30d, 12w or lifetime")
    revenue: str | None = Field(
        None,
        description="money summed: a column of the table (default amount) or, for table: "
        "customers, a money dimension (default monetary_lifetime)",
    )
    pareto: float = Field(
        0.8,
        gt=0,
        le=1,
        description="pareto_key marks the smallest set of groups, by revenue descending, "
        "holding this share of the revenue (the group crossing it included)",
    )
    top: int | None = Field(
        None, ge=1, description="keep only the first N groups (by revenue descending)"
    )

    @field_validator("by")
    @classmethod
    def _distinct_keys(cls, value: list[str]) -> list[str]:
        seen = [k for i, k in enumerate(value) if k in value[:i]]
        if seen:
            raise ValueError(f"group key '{seen[0]}' is given twice")
        return value


class Title(_Model):
    zh: str | None = None
    en: str | None = None


class RuleSetModel(_Model):
    """A segrule rule set."""

    model_config = ConfigDict(extra="forbid", title="segrule rule set")
    schema_: str | None = Field(None, alias="$schema")
    name: str | None = None
    title: Title | None = None
    description: str | None = None
    version: str | None = None
    extends: str | list[str] | None = Field(
        None, description="preset name(s) or rule file path(s) this rule set builds on"
    )
    timezone: str | None = Field(None, description="business time zone (default UTC)")
    tables: dict[str, TableSpec] = Field(default_factory=dict)
    dimensions: dict[str, DimensionSpec] = Field(default_factory=dict)
    segments: dict[str, SegmentSpec] = Field(default_factory=dict)
    scores: dict[str, ScoreSpec] = Field(default_factory=dict)
    outputs: list[str] | None = Field(None, description="columns written (customer_id first)")
    hysteresis: dict[str, HysteresisSpec] = Field(
        default_factory=dict,
        description="segment or tier column -> {order, downgrade_after}: when runs keep a "
        "history, a lower label is published only after it was computed that many runs in a row",
    )
    rollups: dict[str, RollupSpec] | None = Field(
        None,
        description="tables grouped by keys other than the customer (per product, category, "
        "city, region, segment): written by `segrule rollup`",
    )
    blacklist: str | None = Field(
        None,
        description="file of customer ids to exclude (.txt one per line, or a .csv/.parquet "
        "with a customer_id column), relative to this rule file",
    )

    @field_validator("rollups")
    @classmethod
    def _rollup_names(cls, value: dict[str, RollupSpec] | None) -> dict[str, RollupSpec] | None:
        for name in value or {}:
            if not ROLLUP_NAME.match(str(name)):
                raise ValueError(
                    f"rollup name '{str(name)[:60]}' is not a file name segrule writes: use "
                    "letters, digits, _ and - (at most 100), e.g. key_products"
                )
        return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of rule files (what ``segrule schema`` prints)."""
    schema = RuleSetModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://segrule.dev/schema/ruleset.json"
    return schema


# -- YAML with positions -----------------------------------------------------------
class _TooDeep(Exception):
    def __init__(self, mark: Any):
        self.mark = mark


class _Loader(core_schema(yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader with YAML 1.2 plain scalars (:mod:`segrule.model.yamlcore`),
    refusing nesting past MAX_YAML_DEPTH before it recurses.

    PyYAML's composer calls itself once per level (a 10,000-deep list ended in a
    RecursionError): counting levels here stops it at a depth Python handles.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap")
#: Quoted text in a YAML syntax error is a piece of the file; one character (or its
#: escape, '\t') is kept: it says what to fix and leaks nothing.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _no_content(problem: str) -> str:
    """A YAML parser message without the file's text in it (its own words only)."""

    def keep_short(m: re.Match[str]) -> str:
        inner = m.group()[1:-1]
        return m.group() if len(inner) <= 1 or re.fullmatch(r"\\\w{1,5}", inner) else "…"

    return " ".join(_QUOTED.sub(keep_short, problem).split())


def _top_keys() -> set[str]:
    return {f.alias or n for n, f in RuleSetModel.model_fields.items()}


def _load_yaml(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], tuple[int, int]]]:
    """Parse YAML safely, keeping ``path -> (line, column)`` (1-based) of every node.

    Limits (segrule.limits): nesting depth, nodes after aliases are expanded. A file
    whose top level is not a rule set's (a mapping with at least one rule-set key) is
    refused before any of its text can reach a message.
    """
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # its reader refuses control characters at once
        root = loader.get_single_node()
    except _TooDeep as exc:
        raise RuleSetError(
            f"YAML nested deeper than {MAX_YAML_DEPTH} levels; a rule set needs far fewer: "
            "flatten the structure",
            where=_mark_at(source, exc.mark),
        ) from None
    except RecursionError:
        # Not expected (the depth limit comes first) but a rule file must never crash.
        raise RuleSetError(
            f"YAML nested too deeply to read; the limit is {MAX_YAML_DEPTH} levels",
            where=source,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _mark_at(source, mark) if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RuleSetError(
            f"YAML syntax error: {_no_content(problem)}; check indentation and quoting",
            where=where,
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise RuleSetError(
            "a rule set must be a YAML mapping (name:, segments:, ...)", where=source
        )
    if root is not None:
        keys = {k.value for k, _ in root.value if isinstance(k, yaml.ScalarNode)}
        if keys and not keys & _top_keys():
            # Not a rule file (a path named by mistake, or on purpose): say so without
            # quoting any of it, since errors must never show another file's content.
            raise RuleSetError(
                "this is not a rule file: none of its top-level keys is a rule-set key "
                f"({', '.join(sorted(_top_keys() - {'$schema'}))}); check the path",
                where=source,
            )
    positions: dict[tuple[Any, ...], tuple[int, int]] = {}
    constructor = _Loader(text)
    nodes = 0

    def construct(node: yaml.Node) -> Any:
        try:
            return constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            # e.g. a !!python/... tag: the safe loader builds no objects, it refuses them.
            problem = (getattr(exc, "problem", None) or str(exc)).splitlines()[0]
            raise RuleSetError(
                f"YAML value error: {problem}; rule files hold plain values only",
                where=_at(source, node),
            ) from None

    def build(node: yaml.Node, path: tuple[Any, ...]) -> Any:
        nonlocal nodes
        nodes += 1
        if nodes > MAX_YAML_NODES:
            # Aliases (*name) repeat what their anchor holds: 805 bytes can stand for
            # 10**9 nodes ("billion laughs"). Counting built nodes stops that early.
            raise RuleSetError(
                f"the rule file expands to more than {MAX_YAML_NODES:,} YAML values "
                "(anchors and aliases, &name / *name, repeat what they name); write "
                "fewer or avoid the aliases",
                where=_at(source, node),
            )
        if len(path) > MAX_YAML_DEPTH:
            # Aliases nest too (&a2 [*a1], or a list holding itself): the composer's
            # depth check does not see that.
            raise RuleSetError(
                f"YAML nested deeper than {MAX_YAML_DEPTH} levels (through aliases, *name); "
                "a rule set needs far fewer: flatten the structure",
                where=_at(source, node),
            )
        positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.CollectionNode) and len(node.value) > MAX_CASES:
            raise RuleSetError(
                f"a YAML list or mapping of {len(node.value):,} entries, more than the "
                f"{MAX_CASES:,} allowed (e.g. cases of one segment); split it into several "
                "segments",
                where=_at(source, node),
            )
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_TAGS:
            raise RuleSetError(
                f"YAML value error: unsupported tag '{node.tag}'; rule files hold plain "
                "values only",
                where=_at(source, node),
            )
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise RuleSetError(
                        "a mapping key must be a scalar", where=_at(source, key_node)
                    )
                key = construct(key_node)
                if key in out:
                    raise RuleSetError(
                        f"key '{key}' appears twice in the same mapping",
                        where=_at(source, key_node),
                    )
                positions[(*path, key, "<key>")] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(v, (*path, i)) for i, v in enumerate(node.value)]
        return construct(node)

    data = build(root, ()) if root is not None else {}
    return data, positions


def _mark_at(source: str, mark: Any) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _at(source: str, node: yaml.Node) -> str:
    return f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


@dataclass
class RuleSet:
    """A parsed rule set with ``extends`` resolved, and where each part was written.

    ``origin[path]`` is ``file:line:col`` for a key path such as
    ``("segments", "tier", "cases", 2, "when")``.
    """

    model: RuleSetModel
    source: str
    base_dir: Path
    origins: dict[tuple[Any, ...], str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    #: the merged YAML data the model was validated from (``extends`` resolved), as a
    #: base for rule sets that extend or vary this one
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.model.name or Path(self.source).stem

    def where(self, *path: Any) -> str:
        """Best-known ``file:line:col`` for a key path (falls back to its parents)."""
        p = tuple(path)
        while p:
            if p in self.origins:
                return self.origins[p]
            p = p[:-1]
        return self.source


_MERGED_SECTIONS = ("tables", "dimensions", "segments", "scores", "hysteresis", "rollups")


def _pydantic_error(
    exc: ValidationError, source: str, positions: dict[tuple[Any, ...], tuple[int, int]]
) -> RuleSetError:
    errors = exc.errors()
    # A misspelt key also makes the right key "missing": report the unknown key first.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(err["loc"])
    path = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    # Unions add the member type to loc; drop parts that are not keys of the data.
    if err["type"] == "extra_forbidden":
        key = path[-1]
        parent = path[:-1]
        pos = positions.get((*parent, key, "<key>")) or positions.get(parent)
        allowed = _allowed_keys(parent)
        msg = f"unknown key '{key}'{did_you_mean(str(key), allowed)}"
        if allowed:
            msg += "; allowed here: " + ", ".join(sorted(allowed))
        if err.get("input") is None and str(key) not in allowed:
            # `{zh: 已付款, en: Paid (cleared, unpaid)}`: in a {...} mapping a comma ends
            # the value, and what follows it becomes a key without a value.
            msg += (
                f"; if '{key}' is the end of the text before it, a comma inside {{...}} ends "
                'a value: quote text that holds a comma, e.g. en: "Paid (cleared, unpaid)"'
            )
    else:
        pos = None
        p = path
        while p and pos is None:
            pos = positions.get(p)
            p = p[:-1]
        pos = pos or positions.get(())
        msg = err["msg"].removeprefix("Value error, ")
        if path:
            msg = f"{'.'.join(str(x) for x in path)}: {msg}"
    where = f"{source}:{pos[0]}:{pos[1]}" if pos else source
    return RuleSetError(msg, where=where)


def _allowed_keys(parent: tuple[Any, ...]) -> set[str]:
    model: type[BaseModel] = RuleSetModel
    depth_models: dict[str, type[BaseModel]] = {
        "tables": TableSpec,
        "dimensions": DimensionSpec,
        "segments": SegmentSpec,
        "scores": ScoreSpec,
        "rollups": RollupSpec,
    }
    if len(parent) == 0:
        model = RuleSetModel
    elif parent[0] in depth_models and len(parent) == 2:
        model = depth_models[parent[0]]
    elif parent[0] == "segments" and len(parent) == 4 and parent[2] == "cases":
        model = CaseSpec
    elif len(parent) >= 3 and parent[-2] == "labels":
        model = LabelSpec
    elif parent == ("title",):
        model = Title
    else:
        return set()
    return {f.alias or n for n, f in model.model_fields.items()}


def parse_ruleset_text(
    text: str, source: str, base_dir: Path | None = None
) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
    """Parse and validate one rule file's text (no extends); returns raw data and origins."""
    data, positions = _load_yaml(text, source)
    if not isinstance(data, dict):
        raise RuleSetError(
            "a rule set must be a YAML mapping (name:, segments:, ...)", where=source
        )
    try:
        RuleSetModel.model_validate(data)
    except ValidationError as exc:
        raise _pydantic_error(exc, source, positions) from None
    origins = {
        path: f"{source}:{line}:{col}"
        for path, (line, col) in positions.items()
        if not (path and path[-1] == "<key>")
    }
    for path, (line, col) in positions.items():
        if path and path[-1] == "<key>":
            origins.setdefault(path[:-1], f"{source}:{line}:{col}")
    return data, origins


def merge_data(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child over base: named sections merge by name (the child's entry wins), the rest is
    replaced when the child gives it."""
    out = copy.deepcopy(base)
    for key, value in child.items():
        if key == "extends":
            continue
        if key in _MERGED_SECTIONS and isinstance(value, dict):
            section = dict(out.get(key) or {})
            for name, spec in value.items():
                if key == "tables" and name in section and isinstance(spec, dict):
                    merged = dict(section[name])
                    merged.update(spec)
                    section[name] = merged
                else:
                    section[name] = spec
            out[key] = section
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- what a rule file may read ------------------------------------------------------
_ALLOWED: ContextVar[tuple[str, ...]] = ContextVar("segrule_allowed_paths", default=())


@contextmanager
def allowing_paths(dirs: Iterable[str | Path]) -> Iterator[None]:
    """Within the block, rule files may also read from ``dirs`` (the CLI's --allow-path)."""
    token = _ALLOWED.set(tuple(str(d) for d in dirs))
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def allowed_dirs(extra: Iterable[str | Path] = ()) -> tuple[Path, ...]:
    """Folders outside the rule file's own that rule files may read: ``extra``, the
    :func:`allowing_paths` block, and ``$SEGRULE_ALLOW_PATHS`` (separated like PATH)."""
    env = [d for d in os.environ.get(ALLOW_PATHS_ENV, "").split(os.pathsep) if d.strip()]
    dirs = [*extra, *_ALLOWED.get(), *env]
    return tuple(Path(os.path.realpath(os.path.expanduser(str(d)))) for d in dirs)


@dataclass
class _Load:
    """One load_ruleset call: where its rule files may read, and what it has read.

    ``memo``: each base is loaded once per load, however often it is named (6 files
    each extending the next 10 times were 10**5 loads, 207 s; now 6).
    """

    roots: tuple[Path, ...]
    memo: dict[str, RuleSet] = field(default_factory=dict)
    followed: int = 0


def _inside(path: Path, state: _Load, what: str, ref: str, where: str) -> Path:
    """``path`` with links and ``..`` resolved, if it lies in one of the allowed folders."""
    _no_nul(str(ref), what, where)
    real = Path(os.path.realpath(path))
    if any(real == root or root in real.parents for root in state.roots):
        return real
    raise RuleSetError(
        f"{what}: '{_short_ref(ref)}' is outside the rule file's folder ({state.roots[0]}) "
        "and the allowed folders; a rule file reads files only there. Move the file, or "
        f"allow its folder with {option('allow_paths')} DIR or {ALLOW_PATHS_ENV}=DIR",
        where=where,
    )


def _no_nul(ref: str, what: str, where: str | None) -> None:
    # The OS cannot name such a file (Python raises ValueError): say it on one line.
    if "\x00" in ref:
        raise RuleSetError(f"{what}: a path cannot contain a NUL character (\\0)", where=where)


def _exists(path: Path) -> bool:
    """``path.exists()``, False also for names the OS refuses (too long, ...)."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def _short_ref(ref: str) -> str:
    one = " ".join(str(ref).split())
    return one if len(one) <= 200 else one[:199] + "…"


def load_ruleset(
    ref: str | Path,
    engine: Registry,
    *,
    allow_paths: Iterable[str | Path] = (),
    _chain: tuple[str, ...] = (),
    _state: _Load | None = None,
) -> RuleSet:
    """Load a rule set from a file path or a preset name, resolving ``extends``.

    Files named inside rule files (``extends:``, ``blacklist:``) must lie in the folder
    of the rule file given here, or in ``allow_paths`` / :func:`allowed_dirs`.
    """
    if _state is None:
        roots = allowed_dirs(allow_paths)
        if str(ref) not in engine.presets.items:
            roots = (Path(os.path.realpath(Path(ref).parent)), *roots)
        _state = _Load(roots or (Path(os.path.realpath(Path.cwd())),))
    data, origins, source, base_dir = _load_raw(ref, engine)
    key = _load_key(ref, engine)
    extends = data.get("extends")
    bases = [extends] if isinstance(extends, str) else list(extends or [])
    merged: dict[str, Any] = {}
    merged_origins: dict[tuple[Any, ...], str] = {}
    sources: list[str] = []
    base_outputs: list[str] = []
    for i, base_ref in enumerate(bases):
        where = origins.get(
            ("extends", i) if not isinstance(extends, str) else ("extends",), source
        )
        _state.followed += 1
        if _state.followed > MAX_EXTENDS:
            raise RuleSetError(
                f"extends: more than {MAX_EXTENDS} bases in one rule set (each file or "
                "preset is read once, but every mention is merged); name fewer bases",
                where=where,
            )
        target = _resolve_ref(base_ref, base_dir, engine, where, _state)
        target_key = _load_key(target, engine)
        if target_key in (*_chain, key):
            cycle = " -> ".join((*_chain, key, target_key))
            raise RuleSetError(f"extends chain loops: {cycle}", where=where)
        base = _state.memo.get(target_key)
        if base is None:
            base = load_ruleset(target, engine, _chain=(*_chain, key), _state=_state)
            _state.memo[target_key] = base
        merged = merge_data(merged, base_raw(base))
        merged_origins.update(base.origins)
        sources.extend(s for s in base.sources if s not in sources)
        base_outputs.extend(o for o in outputs_of(base) if o not in base_outputs)
    if len(bases) > 1:
        # Several bases are several rule sets used together: each one's columns are
        # written, as when they are named together on `segrule run`.
        merged["outputs"] = base_outputs
    merged = merge_data(merged, data)
    # Table sources are relative to the file that names them.
    for tname, tspec in (data.get("tables") or {}).items():
        if isinstance(tspec, dict) and tspec.get("source") and base_dir is not None:
            src = Path(str(tspec["source"]))
            if not src.is_absolute() and "://" not in str(tspec["source"]):
                merged["tables"][tname]["source"] = str(base_dir / src)
    if isinstance(data.get("blacklist"), str) and base_dir is not None:
        bl = Path(data["blacklist"])
        listing = bl if bl.is_absolute() else base_dir / bl
        # Checked here, where the rule file is read: `validate` refuses it too, and a
        # path outside the job never reaches the reader (nor its hash the manifest).
        bl_where = origins.get(("blacklist",), source)
        _inside(listing, _state, "blacklist", data["blacklist"], bl_where)
        merged["blacklist"] = str(listing)
    for sname, sspec in (data.get("scores") or {}).items():
        _resolve_file_params(sname, sspec, merged, engine, base_dir, origins, source, _state)
    merged_origins.update(origins)
    sources.append(source)
    model = RuleSetModel.model_validate(merged)
    return RuleSet(model, source, base_dir or Path.cwd(), merged_origins, sources, merged)


def _resolve_file_params(
    sname: str,
    sspec: Any,
    merged: dict[str, Any],
    engine: Registry,
    base_dir: Path | None,
    origins: dict[tuple[Any, ...], str],
    source: str,
    state: _Load,
) -> None:
    """Files a score's strategy reads (its ``file_params``, e.g. a text_tags lexicon) are
    relative to the rule file that names them and must lie in its folder, like the
    blacklist; they are made absolute here. A packaged name stays a name."""
    if not isinstance(sspec, dict) or not isinstance(sspec.get("params"), dict):
        return
    strategy = engine.strategies.items.get(str(sspec.get("strategy")))
    for key in getattr(strategy, "file_params", ()):
        value = sspec["params"].get(key)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            at = ("scores", sname, "params", key) + ((i,) if isinstance(value, list) else ())
            where = origins.get(at, origins.get(("scores", sname, "params", key), source))
            if isinstance(item, str) and looks_like_file(item):
                if base_dir is None:
                    raise RuleSetError(
                        f"{key}: a preset names packaged files only, not '{_short_ref(item)}'",
                        where=where,
                    )
                path = Path(item)
                item = str(
                    _inside(
                        path if path.is_absolute() else base_dir / path, state, key, item, where
                    )
                )
            out.append(item)
        merged["scores"][sname]["params"][key] = out if isinstance(value, list) else out[0]


def looks_like_file(ref: str) -> bool:
    """Whether a parameter's text names a file (else a packaged name)."""
    return ref.endswith((".yaml", ".yml")) or "/" in ref or os.sep in ref


def _load_key(ref: str | Path, engine: Registry) -> str:
    """What identifies a loaded rule set: ``preset:name``, or the file's real path."""
    if str(ref) in engine.presets.items:
        return f"preset:{ref}"
    return os.path.realpath(ref)


def base_raw(rs: RuleSet) -> dict[str, Any]:
    """A copy of ``rs``'s merged YAML data, to build another rule set from."""
    return copy.deepcopy(rs.raw)


def _resolve_ref(
    ref: str, base_dir: Path | None, engine: Registry, where: str, state: _Load
) -> str:
    """A preset name stays a name; a path is made relative to the referring file and must
    lie in an allowed folder (checked before it is looked at, so a refused path does not
    even say whether it exists)."""
    if not isinstance(ref, str):
        raise RuleSetError(
            f"extends: expected a preset name or a file path, got {_short_ref(repr(ref))}",
            where=where,
        )
    if ref in engine.presets.items:
        return ref
    looks_like_path = ref.endswith((".yaml", ".yml")) or "/" in ref
    if looks_like_path:
        if base_dir is None:
            raise RuleSetError(
                f"extends: a preset can extend presets only, not the file '{_short_ref(ref)}'",
                where=where,
            )
        p = Path(ref)
        if not p.is_absolute():
            p = base_dir / p
        _inside(p, state, "extends", ref, where)
        if not _exists(p):
            raise RuleSetError(f"extends: file '{_short_ref(ref)}' not found", where=where)
        return str(p)
    raise RuleSetError(
        f"extends: unknown preset '{_short_ref(ref)}'{did_you_mean(ref, engine.presets.items)}; "
        "`segrule presets` lists them",
        where=where,
    )


def _read_rule_file(path: Path) -> str:
    """The text of a rule file: a regular file of at most MAX_RULE_FILE_BYTES, UTF-8.

    Opened without blocking (a FIFO would wait for a writer forever), checked on the
    open descriptor (no swap between check and read), and read with a bound (a device
    such as /dev/zero never ends).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise RuleSetError(
            f"cannot open the rule file: {exc.strerror}; check the path and its permissions",
            where=str(path),
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RuleSetError(
                "not a regular file (a folder, device or pipe); give a rule file (.yaml)",
                where=str(path),
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_RULE_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_RULE_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise RuleSetError(f"cannot read the rule file: {exc.strerror}", where=str(path)) from None
    finally:
        os.close(fd)
    if size > MAX_RULE_FILE_BYTES:
        raise RuleSetError(
            f"the rule file is larger than {MAX_RULE_FILE_BYTES // (1024 * 1024)} MiB; split it "
            "into several files joined with extends",
            where=str(path),
        )
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise RuleSetError(
            "this is not a rule file: it is not UTF-8 text; save rule files as UTF-8",
            where=str(path),
        ) from None


def _load_raw(
    ref: str | Path, engine: Registry
) -> tuple[dict[str, Any], dict[tuple[Any, ...], str], str, Path | None]:
    ref_s = str(ref)
    if ref_s in engine.presets.items:
        preset = engine.presets.items[ref_s]
        source = f"preset:{ref_s}"
        data, origins = parse_ruleset_text(preset.text(), source)
        return data, origins, source, None
    _no_nul(ref_s, "rule file", None)
    path = Path(ref_s)
    if not _exists(path):
        if path.suffix in (".yaml", ".yml") or "/" in ref_s:
            raise RuleSetError(f"rule file '{_short_ref(ref_s)}' not found; check the path")
        raise RuleSetError(
            f"'{ref_s}' is neither a rule file nor a preset"
            f"{did_you_mean(ref_s, engine.presets.items)}; `segrule presets` lists presets"
        )
    text = _read_rule_file(path)
    data, origins = parse_ruleset_text(text, str(path), path.parent)
    return data, origins, str(path), path.parent.resolve()


def compose(rulesets: list[RuleSet]) -> RuleSet:
    """Several rule sets as one: sections merged by name; outputs are the union in order.

    The same name defined differently in two rule sets is an error naming both.
    """
    if len(rulesets) == 1:
        return rulesets[0]
    merged: dict[str, Any] = {}
    owners: dict[tuple[str, str], RuleSet] = {}
    outputs: list[str] = []
    origins: dict[tuple[Any, ...], str] = {}
    timezone = None
    for rs in rulesets:
        raw = base_raw(rs)
        for section in _MERGED_SECTIONS:
            for name, spec in (raw.get(section) or {}).items():
                prev = owners.get((section, name))
                if prev is not None and json.dumps(
                    base_raw(prev)[section][name], sort_keys=True, default=str
                ) != json.dumps(spec, sort_keys=True, default=str):
                    raise RuleSetError(
                        f"{section[:-1]} '{name}' is defined differently in {prev.source} "
                        f"({prev.where(section, name)}) and {rs.source}; rename one or use "
                        "extends to override it",
                        where=rs.where(section, name),
                    )
                owners[(section, name)] = rs
        tz = raw.get("timezone")
        if tz and timezone and tz != timezone:
            raise RuleSetError(
                f"rule sets disagree on timezone ({timezone} vs {tz}); pass {option('tz')}",
                where=rs.source,
            )
        timezone = timezone or tz
        merged = merge_data(merged, {k: v for k, v in raw.items() if k not in ("name", "outputs")})
        outputs.extend(o for o in outputs_of(rs) if o not in outputs)
        origins.update(rs.origins)
    merged["outputs"] = outputs
    merged["name"] = "+".join(rs.name for rs in rulesets)
    if timezone:
        merged["timezone"] = timezone
    model = RuleSetModel.model_validate(merged)
    out = RuleSet(
        model,
        " + ".join(rs.source for rs in rulesets),
        rulesets[0].base_dir,
        origins,
        [s for rs in rulesets for s in rs.sources],
        merged,
    )
    return out


def outputs_of(rs: RuleSet) -> list[str]:
    m = rs.model
    if m.outputs is not None:
        return list(m.outputs)
    return [BASE, *m.dimensions, *m.segments, *m.scores]


OutputFormat = Literal["parquet", "csv", "ipc", "ndjson"]
