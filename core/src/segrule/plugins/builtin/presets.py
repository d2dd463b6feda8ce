"""Core presets: the YAML rule sets in segrule/presets/."""

from __future__ import annotations

from pathlib import Path

from segrule.model.presets import Preset
from segrule.plugins.hookspecs import hookimpl
from segrule.plugins.registry import Register

PRESET_DIR = Path(__file__).resolve().parents[2] / "presets"


@hookimpl
def segrule_register_presets(register: Register) -> None:
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        register(Preset.from_file(path))
