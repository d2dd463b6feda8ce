"""A label's actions in both languages: ``actions: {zh: [...], en: [...]}`` in a rule
file, a plain list for one language, and the builtin RFM playbook in both."""

from __future__ import annotations

from pathlib import Path

import pytest
import segrule
from segrule.model.nodes import Label, actions_of
from segrule.plugins.builtin.strategies import RFM_LABELS

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")


def labels_of(rules: str | Path, column: str) -> dict[str, Label]:
    plan = segrule.compile(str(rules), check_only=True, as_of="2026-11-01")
    return plan.nodes[column].labels


def test_a_rule_file_gives_actions_in_both_languages(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        """
segments:
  size:
    cases: [{when: "monetary_lifetime >= 100", label: big}]
    default: small
    labels:
      big: {zh: 大客户, en: Big, actions: {zh: [专属客服], en: [dedicated service]}}
      small: {zh: 小客户, en: Small, actions: [regular campaigns]}
outputs: [customer_id, size]
""",
        encoding="utf-8",
    )
    labels = labels_of(rules, "size")
    assert labels["big"].actions_in("zh") == ("专属客服",)
    assert labels["big"].actions_in("en") == ("dedicated service",)
    # One language given: it is shown whatever the language asked for.
    assert labels["small"].actions_in("zh") == ("regular campaigns",)


def test_bad_actions_are_a_rule_error(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        """
segments:
  size:
    cases: [{when: "monetary_lifetime >= 100", label: big}]
    labels:
      big: {actions: {fr: [service dédié]}}
""",
        encoding="utf-8",
    )
    with pytest.raises(segrule.RuleSetError, match="actions"):
        segrule.load_ruleset(str(rules))


@pytest.mark.parametrize(
    ("preset", "column"), [("taobao-5-tier", "tier"), ("lifecycle", "lifecycle_stage")]
)
def test_core_presets_have_chinese_actions(preset: str, column: str) -> None:
    for key, label in labels_of(preset, column).items():
        if label.actions:
            assert label.actions_zh, f"{preset}: {key} has no Chinese actions"
            assert all(any("\u4e00" <= ch <= "\u9fff" for ch in a) for a in label.actions_zh)


def test_rfm_playbook_in_both_languages() -> None:
    for key, label in RFM_LABELS.items():
        if key != "no_purchase":
            assert label.actions and label.actions_zh, key


def test_actions_of() -> None:
    base = Label("x", actions=("a",), actions_zh=("甲",))
    assert actions_of(None, base) == (("a",), ("甲",))
    assert actions_of(["b", "c"]) == (("b", "c"), ())
    assert actions_of({"zh": ["乙"], "en": ["b"]}) == (("b",), ("乙",))
    assert actions_of("one") == (("one",), ())
