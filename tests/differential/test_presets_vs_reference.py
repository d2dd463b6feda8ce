"""taobao-5-tier + rfm + pareto-80-20 on random small tables: engine == reference."""

from __future__ import annotations

from pathlib import Path

import segrule
import yaml
from diff_data import Scenario, scenarios, size_bucket
from hypothesis import event, given, settings
from reference import PRESET_COLUMNS, Reference, differences, preset_rows

DIFF_SETTINGS = settings.get_profile("segrule-differential")
PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]
ALLOW_REJECTS = str(Path(__file__).with_name("allow_rejects.yaml"))
ENGINE = segrule.Engine(autoload=False)


def check_presets(sc: Scenario) -> None:
    df = segrule.score(
        [*PRESETS, ALLOW_REJECTS], tables=sc.tables, as_of=sc.as_of, tz=sc.tz, engine=ENGINE
    )
    assert df.columns == PRESET_COLUMNS
    expected = preset_rows(sc.tables, sc.as_of, sc.tz)
    problems = differences(df.to_dicts(), expected, PRESET_COLUMNS)
    assert not problems, f"{sc!r}\n" + "\n".join(problems)
    event(f"customers: {size_bucket(len(expected))}")
    event(f"buyers: {size_bucket(sum(1 for r in expected if r['orders_lifetime']))}")
    for r in expected:
        event(f"tier {r['tier']}")


@DIFF_SETTINGS
@given(scenarios())
def test_presets_match_reference(sc: Scenario) -> None:
    check_presets(sc)


@DIFF_SETTINGS
@given(scenarios(customers=True, max_customers=12, max_orders=60))
def test_presets_match_reference_with_customers_table(sc: Scenario) -> None:
    """The customers table is the universe: customers without orders get a row too."""
    check_presets(sc)


@DIFF_SETTINGS
@given(scenarios(max_customers=15, max_orders=60))
def test_reference_reads_the_preset_files_like_the_written_definitions(sc: Scenario) -> None:
    """Self-check of the reference: its rule-set interpreter, run on the preset YAML files,
    agrees with the presets written out by hand from their definitions."""
    merged: dict = {"segments": {}, "scores": {}, "outputs": []}
    for name in PRESETS:
        data = yaml.safe_load(ENGINE.presets.items[name].text())
        merged["segments"].update(data.get("segments") or {})
        merged["scores"].update(data.get("scores") or {})
        merged["outputs"] += [o for o in data["outputs"] if o not in merged["outputs"]]
    ref = Reference(sc.tables, sc.as_of, sc.tz, ruleset=merged)
    assert ref.outputs() == PRESET_COLUMNS
    problems = differences(ref.rows(), preset_rows(sc.tables, sc.as_of, sc.tz), PRESET_COLUMNS)
    assert not problems, "\n".join(problems)
