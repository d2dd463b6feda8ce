"""Every preset's output, the core presets together, with explanations and with
hysteresis over four as-ofs, digested and compared with ``digests.json`` (written by
``outputs.py --write``): a refactor or a speed-up keeps outputs byte for byte."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _outputs_module():
    spec = importlib.util.spec_from_file_location("golden_outputs", HERE / "outputs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("no_plugin_autoload")
def test_outputs_match_the_recorded_digests(tmp_path: Path) -> None:
    outputs = _outputs_module()
    expected = json.loads(outputs.DIGESTS.read_text())
    found = outputs.compute(tmp_path)
    assert sorted(found) == sorted(expected), "the set of jobs changed: rewrite digests.json"
    changed = sorted(name for name in expected if found[name] != expected[name])
    assert not changed, (
        f"outputs changed for {changed}; if that is intended, run "
        "tests/golden/outputs.py --write and say why in the commit"
    )
