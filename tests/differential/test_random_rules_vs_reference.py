"""Random rule sets (segments over builtin dimensions, points, quantile, pareto, rfm)
on random small tables: engine == reference, row for row."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import segrule
from diff_data import Scenario, dump_yaml, rulesets, scenarios
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import Reference, differences

DIFF_SETTINGS = settings.get_profile("segrule-differential")
ENGINE = segrule.Engine(autoload=False)
_counter = itertools.count()


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("random-rules")


@st.composite
def cases(draw: st.DrawFn) -> tuple[Scenario, dict, bool]:
    sc = draw(scenarios(max_customers=25, max_orders=120))
    rules = draw(rulesets(customers=sc.has_customers))
    tz_in_file = draw(st.booleans())
    if tz_in_file:
        rules = {"timezone": sc.tz, **rules}
    return sc, rules, tz_in_file


@DIFF_SETTINGS
@given(cases())
def test_random_rules_match_reference(rules_dir: Path, case: tuple[Scenario, dict, bool]) -> None:
    sc, rules, tz_in_file = case
    path = rules_dir / f"rules-{next(_counter)}.yaml"
    path.write_text(dump_yaml(rules), encoding="utf-8")
    allow = Path(__file__).with_name("allow_rejects.yaml")  # random tables are dirty
    rs = segrule.load_ruleset(path, allow, engine=ENGINE)
    df = segrule.score(
        rs, tables=sc.tables, as_of=sc.as_of, tz=None if tz_in_file else sc.tz, engine=ENGINE
    )
    ref = Reference(sc.tables, sc.as_of, None if tz_in_file else sc.tz, ruleset=path)
    columns = ref.outputs()
    assert df.columns == columns
    problems = differences(df.to_dicts(), ref.rows(columns), columns)
    assert not problems, f"{sc!r}\n{dump_yaml(rules)}" + "\n".join(problems)
