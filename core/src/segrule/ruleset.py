"""Rule sets: the YAML format, its models, loading with line numbers, and ``extends``.

A rule set file is data, never code: it is read with a safe YAML loader and its
expressions are parsed by polars' SQL parser only.
"""

from __future__ import annotations

import copy
import json
import re
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

from segrule.errors import RuleSetError, did_you_mean
from segrule.quality import CHECKS, DEFAULT_MAX_REJECTED_SHARE, MAX_REJECTED_SHARE

if TYPE_CHECKING:
    from segrule.registry import Engine

Scalar = str | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LabelSpec(_Model):
    """Display names and actions of one label."""

    zh: str | None = Field(None, description="Chinese display name")
    en: str | None = Field(None, description="English display name")
    description: str | None = None
    actions: list[str] = Field(default_factory=list, description="what to do with these customers")


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


class TableSpec(_Model):
    """Where a table comes from and how its columns map onto the contract."""

    source: str | None = Field(None, description="file, glob or folder (relative to the rule file)")
    columns: dict[str, str] = Field(
        default_factory=dict, description="contract column -> column in your data"
    )
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
        description="segment or tier column -> {order, downgrade_after}: with run --history, "
        "a lower label is published only after it was computed that many runs in a row",
    )
    blacklist: str | None = Field(
        None,
        description="file of customer ids to exclude (.txt one per line, or a .csv/.parquet "
        "with a customer_id column), relative to this rule file",
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of rule files (what ``segrule schema`` prints)."""
    schema = RuleSetModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://segrule.dev/schema/ruleset.json"
    return schema


# -- YAML with positions -----------------------------------------------------------
class _Loader(yaml.SafeLoader):
    pass


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap")


def _load_yaml(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], tuple[int, int]]]:
    """Parse YAML safely, keeping ``path -> (line, column)`` (1-based) of every node."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RuleSetError(
            f"YAML syntax error: {problem}; check indentation and quoting", where=where
        ) from None
    positions: dict[tuple[Any, ...], tuple[int, int]] = {}
    constructor = _Loader(text)

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
        positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_TAGS:
            raise RuleSetError(
                f"YAML value error: unsupported tag '{node.tag}'; rule files hold plain "
                "values only",
                where=_at(source, node),
            )
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = construct(key_node)
                if isinstance(key, (list, dict)):
                    raise RuleSetError(
                        "a mapping key must be a scalar", where=_at(source, key_node)
                    )
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


_MERGED_SECTIONS = ("tables", "dimensions", "segments", "scores", "hysteresis")


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


def load_ruleset(ref: str | Path, engine: Engine, *, _chain: tuple[str, ...] = ()) -> RuleSet:
    """Load a rule set from a file path or a preset name, resolving ``extends``."""
    data, origins, source, base_dir = _load_raw(ref, engine)
    key = source
    if key in _chain:
        cycle = " -> ".join((*_chain, key))
        raise RuleSetError(f"extends chain loops: {cycle}", where=source)
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
        target = _resolve_ref(base_ref, base_dir, engine, where)
        base = load_ruleset(target, engine, _chain=(*_chain, key))
        merged = merge_data(merged, base_raw(base))
        merged_origins.update(base.origins)
        sources.extend(s for s in base.sources if s not in sources)
        base_outputs.extend(o for o in _outputs_of(base) if o not in base_outputs)
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
        if not bl.is_absolute():
            merged["blacklist"] = str(base_dir / bl)
    merged_origins.update(origins)
    sources.append(source)
    model = RuleSetModel.model_validate(merged)
    rs = RuleSet(model, source, base_dir or Path.cwd(), merged_origins, sources)
    rs._raw = merged  # type: ignore[attr-defined]
    return rs


def base_raw(rs: RuleSet) -> dict[str, Any]:
    return copy.deepcopy(getattr(rs, "_raw", {}))


def _resolve_ref(ref: str, base_dir: Path | None, engine: Engine, where: str) -> str:
    """A preset name stays a name; a path is made relative to the referring file."""
    if ref in engine.presets.items:
        return ref
    looks_like_path = ref.endswith((".yaml", ".yml")) or "/" in ref
    if looks_like_path:
        p = Path(ref)
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        if not p.exists():
            raise RuleSetError(f"extends: file '{ref}' not found", where=where)
        return str(p)
    raise RuleSetError(
        f"extends: unknown preset '{ref}'{did_you_mean(ref, engine.presets.items)}; "
        "`segrule presets` lists them",
        where=where,
    )


def _load_raw(
    ref: str | Path, engine: Engine
) -> tuple[dict[str, Any], dict[tuple[Any, ...], str], str, Path | None]:
    ref_s = str(ref)
    if ref_s in engine.presets.items:
        preset = engine.presets.items[ref_s]
        source = f"preset:{ref_s}"
        data, origins = parse_ruleset_text(preset.text(), source)
        return data, origins, source, None
    path = Path(ref_s)
    if not path.exists():
        if path.suffix in (".yaml", ".yml") or "/" in ref_s:
            raise RuleSetError(f"rule file '{ref_s}' not found; check the path")
        raise RuleSetError(
            f"'{ref_s}' is neither a rule file nor a preset"
            f"{did_you_mean(ref_s, engine.presets.items)}; `segrule presets` lists presets"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleSetError(f"cannot read the rule file: {exc}", where=str(path)) from None
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
                f"rule sets disagree on timezone ({timezone} vs {tz}); pass --tz", where=rs.source
            )
        timezone = timezone or tz
        merged = merge_data(merged, {k: v for k, v in raw.items() if k not in ("name", "outputs")})
        outputs.extend(o for o in _outputs_of(rs) if o not in outputs)
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
    )
    out._raw = merged  # type: ignore[attr-defined]
    return out


def _outputs_of(rs: RuleSet) -> list[str]:
    m = rs.model
    if m.outputs is not None:
        return list(m.outputs)
    return ["customer_id", *m.dimensions, *m.segments, *m.scores]


OutputFormat = Literal["parquet", "csv", "ipc", "ndjson"]
