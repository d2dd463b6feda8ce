"""The hooks of the apparel plugin: what it adds to segrule.

- table ``apparel_items`` (order lines) with its synthetic-data generator;
- dimensions ``apparel_*``: category affinity, size profile, season preference,
  return rate, new-arrival buying;
- presets ``apparel:category-needs`` and ``apparel:size-season``;
- ``segrule_prepare_table``: maps category, size and season labels of
  ``apparel_items`` onto canonical keys and fills optional columns.

Importing this module is cheap: numpy and pyarrow are imported only by the
generator, when data is generated.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import polars as pl
from segrule.plugin import Preset, hookimpl

from segrule_apparel.dimensions import DIMENSIONS
from segrule_apparel.prepare import prepare_items
from segrule_apparel.tables import ITEMS
from segrule_apparel.vocab import TABLE

PRESET_DIR = Path(__file__).resolve().parent / "presets"


@hookimpl
def segrule_register_tables(register: Any) -> None:
    # A fresh copy per engine: registration stamps the owner on the item.
    register(dataclasses.replace(ITEMS))


@hookimpl
def segrule_register_dimensions(register: Any) -> None:
    for dim in DIMENSIONS:
        register(dataclasses.replace(dim))


@hookimpl
def segrule_register_presets(register: Any) -> None:
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        register(Preset.from_file(path))


@hookimpl
def segrule_prepare_table(name: str, frame: pl.LazyFrame, context: Any) -> pl.LazyFrame | None:
    if name != TABLE:
        return None
    return prepare_items(frame)
