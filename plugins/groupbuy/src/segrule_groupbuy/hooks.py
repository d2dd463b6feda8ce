"""The hooks of the groupbuy plugin: what it adds to segrule.

- tables ``groupbuy_groups``, ``groupbuy_touches``, ``groupbuy_referrals`` (with
  synthetic-data generators for ``segrule generate --vertical groupbuy``);
- the ``groupbuy_*`` dimensions (:mod:`segrule_groupbuy.dimensions`);
- the ``groupbuy_sensitivity`` strategy (:mod:`segrule_groupbuy.strategies`);
- the presets in ``presets/`` (``groupbuy:sensitivity``, ``groupbuy:source``, ...);
- the lazy normalisation of roles, group statuses and sources
  (:func:`segrule_groupbuy.tables.prepare`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from segrule.plugin import Preset, hookimpl

from segrule_groupbuy import dimensions, strategies, tables

PRESETS = Path(__file__).resolve().parent / "presets"


@hookimpl
def segrule_register_tables(register: Any) -> None:
    for contract in tables.contracts():
        register(contract)


@hookimpl
def segrule_register_dimensions(register: Any) -> None:
    for dim in dimensions.dimensions():
        register(dim)


@hookimpl
def segrule_register_strategies(register: Any) -> None:
    for strategy in strategies.STRATEGIES:
        register(strategy)


@hookimpl
def segrule_register_presets(register: Any) -> None:
    for path in sorted(PRESETS.glob("*.yaml")):
        register(Preset.from_file(path))


@hookimpl
def segrule_prepare_table(name: str, frame: pl.LazyFrame, context: Any) -> pl.LazyFrame | None:
    return tables.prepare(name, frame)
