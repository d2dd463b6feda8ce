"""segrule hook implementations of the childrenswear plugin.

Registered through the entry point ``childrenswear = "segrule_childrenswear.hooks"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from segrule.plugin import Preset, Register, hookimpl

from segrule_childrenswear.dimensions import DIMENSIONS
from segrule_childrenswear.generate import expected_rows, generate_items
from segrule_childrenswear.tables import TABLE, contract, prepare_items

PRESET_DIR = Path(__file__).resolve().parent / "presets"


@hookimpl
def segrule_register_tables(register: Register) -> None:
    register(contract(generate=generate_items, rows=expected_rows))


@hookimpl
def segrule_register_dimensions(register: Register) -> None:
    for dim in DIMENSIONS:
        register(dim)


@hookimpl
def segrule_register_presets(register: Register) -> None:
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        register(Preset.from_file(path))


@hookimpl
def segrule_prepare_table(name: str, frame: pl.LazyFrame, context: Any) -> pl.LazyFrame | None:
    """Read size labels as cm and map gender and fabric synonyms (childrenswear_items)."""
    if name != TABLE:
        return None
    return prepare_items(frame)
