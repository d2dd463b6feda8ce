"""Rule set loading (segrule.model.ruleset): positions in errors, validation, extends, compose,
and the JSON Schema of rule files."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import segrule
import yaml
from segrule import RuleSetError
from segrule.model.ruleset import RuleSetModel, allowing_paths, json_schema
from segrule.plugins.registry import Engine

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

TAOBAO_OUTPUTS = [
    "customer_id",
    "recency_days",
    "orders_30d",
    "orders_lifetime",
    "monetary_365d",
    "first_order_ts",
    "lifecycle",
    "freq_tier",
    "amount_tier",
    "interaction",
    "feedback_mean",
    "satisfaction",
    "score",
    "tier",
]


def where_parts(err: RuleSetError) -> tuple[str, int, int]:
    """``(file, line, col)`` of an error's ``where``."""
    assert err.where is not None, str(err)
    m = re.fullmatch(r"(.+):(\d+):(\d+)", err.where)
    assert m, f"where is not file:line:col: {err.where!r}"
    return m.group(1), int(m.group(2)), int(m.group(3))


def load_error(path: Path | str) -> RuleSetError:
    with pytest.raises(RuleSetError) as info:
        segrule.load_ruleset(path)
    return info.value


# -- syntax and validation ---------------------------------------------------------
def test_yaml_syntax_error_gives_file_line_col(rules) -> None:
    path = rules(
        "syntax.yaml",
        """
        name: syntax
        segments:
          big:
            flag: "orders_30d > 1"
            labels: {big: {zh: 大}
        outputs: [customer_id, big]
        """,
    )
    err = load_error(path)
    file, line, col = where_parts(err)
    assert file == str(path)
    # The unclosed flow mapping is detected where the next line starts.
    assert line == rules.line(path, "outputs:")
    assert col == 1
    assert "YAML syntax error" in str(err)
    assert str(err).startswith(f"{path}:{line}:{col}: ")


def test_yaml_tab_indentation_is_a_syntax_error(rules) -> None:
    path = rules("tabs.yaml", "name: tabs\nsegments:\n\tbig:\n\t\tflag: x\n")
    err = load_error(path)
    file, line, _ = where_parts(err)
    assert file == str(path)
    assert line == 3


def test_unknown_top_level_key_names_key_line_and_suggestion(rules) -> None:
    path = rules(
        "unknown_top.yaml",
        """
        name: unknown-top
        segmnets:
          big:
            flag: "orders_30d > 1"
        """,
    )
    err = load_error(path)
    _, line, col = where_parts(err)
    assert (line, col) == (rules.line(path, "segmnets"), 1)
    assert "unknown key 'segmnets'" in str(err)
    assert "did you mean 'segments'?" in str(err)


def test_unknown_key_in_a_segment_names_key_line_and_suggestion(rules) -> None:
    path = rules(
        "unknown_seg.yaml",
        """
        name: unknown-seg
        segments:
          big:
            cases:
              - {when: "orders_30d > 1", label: big}
            defualt: small
        """,
    )
    err = load_error(path)
    _, line, col = where_parts(err)
    assert (line, col) == (rules.line(path, "defualt"), 5)
    assert "unknown key 'defualt'" in str(err)
    assert "did you mean 'default'?" in str(err)
    assert "allowed here:" in str(err) and "cases" in str(err)
    assert "quote text" not in str(err)  # a misspelt key with a value: no quoting hint


def test_a_comma_in_a_flow_mapping_value_says_to_quote(rules: Any) -> None:
    """``{zh: 已付款, en: Paid (cleared, unpaid)}``: YAML ends the value at the comma and
    reads ``unpaid)`` as a key; the error says to quote the text (issue 20)."""
    path = rules(
        "comma.yaml",
        """
        name: comma
        segments:
          paid_state:
            cases:
              - {when: "orders_30d > 1", label: paid}
            default: none
            labels:
              paid: {zh: 已付款, en: Paid (cleared, unpaid)}
        """,
    )
    err = load_error(path)
    text = str(err)
    assert "unknown key 'unpaid)'" in text
    assert 'quote text that holds a comma, e.g. en: "Paid (cleared, unpaid)"' in text
    assert "\n" not in text


def test_unknown_key_in_a_case_is_reported_as_unknown_not_as_missing(rules) -> None:
    path = rules(
        "unknown_case.yaml",
        """
        name: unknown-case
        segments:
          big:
            cases:
              - when: "orders_30d > 1"
                lable: big
            default: small
        """,
    )
    err = load_error(path)
    _, line, _ = where_parts(err)
    assert line == rules.line(path, "lable")
    assert "unknown key 'lable'" in str(err)
    assert "did you mean 'label'?" in str(err)


def test_unknown_key_in_a_dimension(rules) -> None:
    path = rules(
        "unknown_dim.yaml",
        """
        name: unknown-dim
        dimensions:
          big_spend:
            agregate: "sum(amount)"
        """,
    )
    err = load_error(path)
    _, line, _ = where_parts(err)
    assert line == rules.line(path, "agregate")
    assert "unknown key 'agregate'" in str(err)
    assert "did you mean 'aggregate'?" in str(err)


def test_duplicate_key_in_a_mapping(rules) -> None:
    path = rules(
        "dup.yaml",
        """
        name: dup
        segments:
          big:
            flag: "orders_30d > 1"
          big:
            flag: "orders_30d > 2"
        """,
    )
    err = load_error(path)
    _, line, col = where_parts(err)
    assert (line, col) == (rules.line(path, "big:", nth=2), 3)
    assert "'big' appears twice" in str(err)


@pytest.mark.parametrize(
    "body, kind",
    [
        ("description: no kind given", "none"),
        ('aggregate: "count(*)"\n    expr: "orders_30d + 1"', "two"),
        ("attribute: city\n    use: age_band", "two"),
    ],
)
def test_dimension_needs_exactly_one_kind(rules, body: str, kind: str) -> None:
    path = rules(f"dim_{kind}.yaml", f"name: dims\ndimensions:\n  odd:\n    {body}\n")
    err = load_error(path)
    _, line, _ = where_parts(err)
    assert line in (3, 4)  # the dimension's key or its first line
    assert "dimensions.odd" in str(err)
    assert "exactly one of: aggregate, expr, attribute, use" in str(err)


def test_segment_with_both_cases_and_flag(rules) -> None:
    path = rules(
        "seg_both.yaml",
        """
        name: seg-both
        segments:
          both:
            cases:
              - {when: "orders_30d > 1", label: big}
            default: small
            flag: "orders_30d > 1"
        """,
    )
    err = load_error(path)
    _, line, _ = where_parts(err)
    assert line in (3, 4)
    assert "segments.both" in str(err)
    assert "exactly one of: cases (with default) or flag" in str(err)


def test_segment_with_neither_cases_nor_flag(rules) -> None:
    path = rules("seg_none.yaml", "name: seg-none\nsegments:\n  empty:\n    zh: 空\n")
    err = load_error(path)
    assert "segments.empty" in str(err)
    assert "exactly one of" in str(err)


def test_rule_set_must_be_a_mapping(rules) -> None:
    path = rules("list.yaml", "- a\n- b\n")
    err = load_error(path)
    assert err.where == str(path)
    assert "must be a YAML mapping" in str(err)


def test_missing_rule_file_and_unknown_preset_name() -> None:
    err = load_error("no/such/file.yaml")
    assert "'no/such/file.yaml' not found" in str(err)
    err = load_error("taobao-5-teir")
    assert "neither a rule file nor a preset" in str(err)
    assert "did you mean 'taobao-5-tier'?" in str(err)


def test_origins_point_at_each_case(rules) -> None:
    path = rules(
        "origins.yaml",
        """
        name: origins
        segments:
          size:
            cases:
              - {when: "orders_30d > 5", label: big}
              - {when: "orders_30d > 1", label: mid}
            default: small
        """,
    )
    rs = segrule.load_ruleset(path)
    assert (
        rs.where("segments", "size", "cases", 1, "when")
        == f"{path}:{rules.line(path, 'label: mid')}:{len('      - {when: ') + 1}"
    )
    # An unknown path falls back to its closest known parent.
    assert rs.where("segments", "size", "cases", 0, "nope").startswith(
        f"{path}:{rules.line(path, 'label: big')}:"
    )


# -- extends -------------------------------------------------------------------------
def test_extends_preset_overrides_one_segment_and_inherits_the_rest(rules) -> None:
    path = rules(
        "child.yaml",
        """
        name: child
        extends: taobao-5-tier
        segments:
          amount_tier:
            cases:
              - {when: "monetary_365d > 20000", label: high}
            default: low
        tables:
          orders:
            columns: {order_ts: pay_time}
        """,
    )
    rs = segrule.load_ruleset(path)
    seg = rs.model.segments["amount_tier"]
    assert [c.when for c in seg.cases or []] == ["monetary_365d > 20000"]
    assert seg.default == "low"
    assert seg.labels == {}  # the child's segment replaces the base's, labels included
    base = segrule.load_ruleset("taobao-5-tier")
    assert rs.model.segments["lifecycle"] == base.model.segments["lifecycle"]
    assert set(rs.model.segments) == set(base.model.segments)
    assert rs.model.scores == base.model.scores
    assert rs.model.outputs == TAOBAO_OUTPUTS  # inherited: the child gives none
    assert rs.model.tables["orders"].columns == {"order_ts": "pay_time"}
    assert rs.name == "child"
    assert rs.sources == ["preset:taobao-5-tier", str(path)]
    # Origins: the override points into the child, inherited parts into the preset.
    assert rs.where("segments", "amount_tier").startswith(str(path) + ":")
    assert rs.where("segments", "lifecycle").startswith("preset:taobao-5-tier:")


def test_extends_relative_file_merges_tables_and_overrides(rules) -> None:
    rules(
        "base/base.yaml",
        """
        name: base
        tables:
          orders:
            columns: {order_ts: pay_time}
            source: orders.parquet
        dimensions:
          big_orders:
            aggregate: "count(*)"
            where: "amount >= 100"
        segments:
          buyer:
            flag: "orders_lifetime > 0"
          spender:
            flag: "monetary_lifetime > 100"
        outputs: [customer_id, buyer, spender]
        """,
    )
    child = rules(
        "teams/child.yaml",
        """
        name: child
        extends: ../base/base.yaml
        tables:
          orders:
            where: "channel <> 'test'"
          customers:
            columns: {customer_id: cid}
        segments:
          spender:
            flag: "monetary_lifetime > 500"
        """,
    )
    # ../base is outside the child's folder: read only when that folder is allowed.
    with pytest.raises(RuleSetError, match=r"outside the rule file's folder"):
        segrule.load_ruleset(child)
    with allowing_paths([rules.root / "base"]):
        rs = segrule.load_ruleset(child)
    orders = rs.model.tables["orders"]
    assert orders.columns == {"order_ts": "pay_time"}  # from the base
    assert orders.where == "channel <> 'test'"  # from the child
    # A base's table source stays relative to the base's file, not the child's.
    assert Path(orders.source or "").resolve() == (rules.root / "base" / "orders.parquet").resolve()
    assert rs.model.tables["customers"].columns == {"customer_id": "cid"}
    assert rs.model.segments["spender"].flag == "monetary_lifetime > 500"
    assert rs.model.segments["buyer"].flag == "orders_lifetime > 0"
    assert rs.model.dimensions["big_orders"].where == "amount >= 100"
    assert rs.model.outputs == ["customer_id", "buyer", "spender"]


def test_child_outputs_replace_the_base_outputs(rules) -> None:
    path = rules(
        "child_outputs.yaml",
        """
        extends: rfm
        outputs: [customer_id, rfm_segment]
        """,
    )
    rs = segrule.load_ruleset(path)
    assert rs.model.outputs == ["customer_id", "rfm_segment"]
    assert rs.name == "rfm"  # the name is inherited too when the child gives none


def test_extends_list_later_base_wins(rules) -> None:
    rules("one.yaml", 'segments:\n  s:\n    flag: "orders_lifetime > 1"\n')
    rules("two.yaml", 'segments:\n  s:\n    flag: "orders_lifetime > 2"\n')
    path = rules("both.yaml", "extends: [one.yaml, two.yaml]\n")
    rs = segrule.load_ruleset(path)
    assert rs.model.segments["s"].flag == "orders_lifetime > 2"


def test_extends_several_bases_writes_the_union_of_their_outputs(rules) -> None:
    path = rules("two_bases.yaml", "extends: [rfm, pareto-80-20]\n")
    rs = segrule.load_ruleset(path)
    rfm = segrule.load_ruleset("rfm").model.outputs or []
    pareto = segrule.load_ruleset("pareto-80-20").model.outputs or []
    assert rs.model.outputs == rfm + [o for o in pareto if o not in rfm]
    assert "pareto_key" in rs.model.outputs and "rfm_segment" in rfm


def test_extends_loop_names_the_chain(rules) -> None:
    a = rules("a.yaml", "name: a\nextends: b.yaml\n")
    rules("b.yaml", "name: b\nextends: a.yaml\n")
    err = load_error(a.resolve())
    text = str(err)
    assert "extends chain loops" in text
    chain = text.split("extends chain loops: ", 1)[1]
    assert [Path(p.strip()).name for p in chain.split(" -> ")] == ["a.yaml", "b.yaml", "a.yaml"]


def test_extends_self_is_a_loop(rules) -> None:
    path = rules("self.yaml", "extends: self.yaml\n")
    err = load_error(path.resolve())
    assert "extends chain loops" in str(err)


def test_extends_unknown_preset_suggests_and_points_at_the_line(rules) -> None:
    path = rules(
        "bad_extends.yaml",
        """
        name: bad
        extends: taobao-5-teir
        """,
    )
    err = load_error(path)
    file, line, _ = where_parts(err)
    assert (file, line) == (str(path), 2)
    assert "unknown preset 'taobao-5-teir'" in str(err)
    assert "did you mean 'taobao-5-tier'?" in str(err)


def test_extends_missing_file(rules) -> None:
    path = rules("missing_base.yaml", "extends: ./nowhere.yaml\n")
    err = load_error(path)
    assert "'./nowhere.yaml' not found" in str(err)
    assert err.where is not None and err.where.startswith(str(path) + ":1:")


# -- compose -------------------------------------------------------------------------
def test_compose_presets_outputs_are_the_union_in_order() -> None:
    rs = segrule.load_ruleset("taobao-5-tier", "rfm", "pareto-80-20")
    assert rs.model.outputs == [
        *TAOBAO_OUTPUTS,
        "monetary_lifetime",
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "pareto_key",
    ]
    assert set(rs.model.scores) == {"score", "rfm_segment", "pareto_key"}
    assert "tier" in rs.model.segments
    assert rs.name == "taobao-5-tier+rfm+pareto-80-20"


def test_compose_same_segment_defined_differently_names_both(rules) -> None:
    one = rules(
        "one.yaml",
        """
        name: one
        segments:
          big:
            flag: "orders_30d > 1"
        """,
    )
    two = rules(
        "two.yaml",
        """
        name: two
        segments:
          big:
            flag: "orders_30d > 2"
        """,
    )
    with pytest.raises(RuleSetError) as info:
        segrule.load_ruleset(one, two)
    text = str(info.value)
    assert "segment 'big' is defined differently" in text
    assert str(one) in text and str(two) in text


def test_compose_identical_definitions_are_fine(rules) -> None:
    body = """
        segments:
          big:
            flag: "orders_30d > 1"
        outputs: [customer_id, big]
        """
    one = rules("one.yaml", "name: one\n" + body.replace("\n        ", "\n"))
    two = rules("two.yaml", "name: two\n" + body.replace("\n        ", "\n"))
    rs = segrule.load_ruleset(one, two)
    assert rs.model.outputs == ["customer_id", "big"]
    assert list(rs.model.segments) == ["big"]


def test_compose_with_a_preset_redefining_a_preset_segment(rules) -> None:
    path = rules(
        "clash.yaml",
        """
        segments:
          tier:
            flag: "orders_lifetime > 3"
        """,
    )
    with pytest.raises(
        RuleSetError, match="segment 'tier' is defined differently in preset:taobao-5-tier"
    ):
        segrule.load_ruleset("taobao-5-tier", path)


def test_compose_rule_sets_disagreeing_on_timezone(rules) -> None:
    one = rules("one.yaml", "timezone: UTC\n")
    two = rules("two.yaml", "timezone: Asia/Shanghai\n")
    with pytest.raises(RuleSetError, match="disagree on timezone"):
        segrule.load_ruleset(one, two)


def test_load_ruleset_needs_a_reference() -> None:
    with pytest.raises(segrule.UsageError):
        segrule.load_ruleset()


# -- JSON Schema ---------------------------------------------------------------------
def _mini_validate(
    instance: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$"
) -> list[str]:
    """The subset of JSON Schema that pydantic emits: $ref, anyOf, type, properties,
    additionalProperties, required, items. Returns the problems found."""
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        return _mini_validate(instance, root["$defs"][ref.split("/")[-1]], root, path)
    if "anyOf" in schema:
        options = [_mini_validate(instance, s, root, path) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else [f"{path}: matches no anyOf branch"]
    kind = schema.get("type")
    types = {
        "object": dict,
        "array": list,
        "string": str,
        "null": type(None),
        "boolean": bool,
        "integer": int,
        "number": (int, float),
    }
    if kind is not None:
        ok = isinstance(instance, types[kind])
        if kind in ("integer", "number") and isinstance(instance, bool):
            ok = False
        if not ok:
            return [f"{path}: expected {kind}, got {type(instance).__name__}"]
    problems: list[str] = []
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in instance:
                problems.append(f"{path}: missing required '{key}'")
        extra = schema.get("additionalProperties", True)
        for key, value in instance.items():
            if key in props:
                problems += _mini_validate(value, props[key], root, f"{path}.{key}")
            elif extra is False:
                problems.append(f"{path}: additional property '{key}'")
            elif isinstance(extra, dict):
                problems += _mini_validate(value, extra, root, f"{path}.{key}")
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            problems += _mini_validate(item, schema["items"], root, f"{path}[{i}]")
    return problems


def _validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    if importlib.util.find_spec("jsonschema") is not None:
        import jsonschema

        validator = jsonschema.Draft202012Validator(schema)
        return [e.message for e in validator.iter_errors(instance)]
    return _mini_validate(instance, schema, schema)


def test_json_schema_shape() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://")
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {f.alias or n for n, f in RuleSetModel.model_fields.items()}
    assert "$schema" in schema["properties"]  # a rule file may name its schema
    for name in ("DimensionSpec", "SegmentSpec", "CaseSpec", "ScoreSpec", "TableSpec", "LabelSpec"):
        d = schema["$defs"][name]
        assert d["type"] == "object" and d["additionalProperties"] is False, name
    assert schema["$defs"]["CaseSpec"]["required"] == ["when", "label"]
    assert schema["$defs"]["ScoreSpec"]["required"] == ["strategy"]
    if importlib.util.find_spec("jsonschema") is not None:
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(schema)


def test_json_schema_validates_every_shipped_preset() -> None:
    schema = json_schema()
    engine = Engine(autoload=False)
    presets = engine.presets.items
    assert {
        "taobao-5-tier",
        "rfm",
        "pareto-80-20",
        "value-tiers",
        "lifecycle",
        "generation",
        "transaction-stage",
    } <= set(presets)
    for name, preset in presets.items():
        data = yaml.safe_load(preset.text())
        assert _validate(data, schema) == [], name


def test_json_schema_rejects_what_the_loader_rejects() -> None:
    schema = json_schema()
    assert _validate({"segmnets": {}}, schema)
    assert _validate({"segments": {"s": {"cases": [{"when": "x > 1"}], "default": "a"}}}, schema)
    assert _validate({"scores": {"s": {"params": {}}}}, schema)
    assert _validate({"outputs": "customer_id"}, schema)
    assert (
        _validate({"segments": {"s": {"flag": "x > 1"}}, "outputs": ["customer_id"]}, schema) == []
    )
