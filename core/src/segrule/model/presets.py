"""Presets: rule sets shipped inside core or a plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from segrule.model.yamlcore import core_schema

#: libyaml's loader when present, with YAML 1.2 plain scalars as rule files are read.
_FAST_LOADER = core_schema(getattr(yaml, "CSafeLoader", yaml.SafeLoader))

if TYPE_CHECKING:
    from segrule.plugins.registry import Owner


@dataclass
class Preset:
    """A packaged rule set: ``name`` (``plugin:name`` for plugins) and its YAML."""

    name: str
    path: Path | None = None
    yaml_text: str | None = None
    description: str = ""
    owner: Owner | None = None
    #: display names from the file's ``title`` ({zh: ..., en: ...}, or one text)
    title: dict[str, str] = field(default_factory=dict)
    _cache: str | None = field(default=None, repr=False)

    def text(self) -> str:
        if self.yaml_text is not None:
            return self.yaml_text
        if self._cache is None:
            assert self.path is not None
            self._cache = self.path.read_text(encoding="utf-8")
        return self._cache

    @classmethod
    def from_file(cls, path: Path, prefix: str = "") -> Preset:
        """A preset named by the file's ``name`` (``plugin:preset`` as written), else
        ``prefix`` + the file stem; description from the file's ``description``."""
        text = path.read_text(encoding="utf-8")
        # Every command registers every installed preset: libyaml's loader when present
        # (the pure-Python one took ~0.23 s for the 16 presets of this workspace).
        data = yaml.load(text, Loader=_FAST_LOADER) or {}
        raw = str(data.get("name") or path.stem)
        name = raw if ":" in raw else prefix + raw
        preset = cls(name, path, None, str(data.get("description") or "").strip())
        preset.title = _titles(data.get("title"))
        preset._cache = text
        return preset


def _titles(raw: object) -> dict[str, str]:
    """A preset file's ``title``: {zh, en} as written (other keys and empty texts left
    out), or one text for both languages."""
    if isinstance(raw, str):
        return {"zh": raw, "en": raw} if raw.strip() else {}
    if isinstance(raw, dict):
        return {k: str(v) for k, v in raw.items() if k in ("zh", "en") and v}
    return {}
