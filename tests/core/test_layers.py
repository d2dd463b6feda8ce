"""The core's layers (pyproject.toml, [tool.importlinter]; docs/architecture.md): imports
run one way, model <- plugins, io <- engine <- features <- api, no import cycle
anywhere in the core (function-level imports included), and neither the core nor the
plugins import the CLI. Checked with import-linter on the installed packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout, done.stdout


def test_the_contracts_see_a_broken_layer(tmp_path: Path) -> None:
    """The check can fail: the same contracts with the engine placed above the features
    are broken (so a passing run above means something)."""
    text = (ROOT / "pyproject.toml").read_text()
    features = (
        '    "explain : history : diff : sweep : lint : report : generate : spark : bucketing'
        ' : grouped",\n'
    )
    swapped = text.replace(features + '    "engine",\n', '    "engine",\n' + features)
    assert swapped != text, "the layers in pyproject.toml changed: update this test"
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped)
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode != 0 and "broken" in done.stdout, done.stdout
