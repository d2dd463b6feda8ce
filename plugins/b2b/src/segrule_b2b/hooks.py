"""The hooks of the b2b plugin: what it adds to segrule.

Tables ``b2b_inquiries`` and ``b2b_accounts`` (with synthetic-data generators), the
dimensions in :mod:`segrule_b2b.dimensions`, the strategies ``b2b_inquiry_validity``
and ``b2b_value_matrix``, and the presets in ``presets/`` (``b2b:inquiry-quality``,
``b2b:value-matrix``). Nothing here imports numpy or pyarrow: plugin import stays fast.
"""

from __future__ import annotations

from pathlib import Path

from segrule.plugin import Preset, Register, hookimpl

from segrule_b2b.dimensions import DIMENSIONS
from segrule_b2b.strategies import STRATEGIES
from segrule_b2b.tables import CONTRACTS

PRESETS = Path(__file__).resolve().parent / "presets"


@hookimpl
def segrule_register_tables(register: Register) -> None:
    for contract in CONTRACTS:
        register(contract)


@hookimpl
def segrule_register_dimensions(register: Register) -> None:
    for dim in DIMENSIONS:
        register(dim)


@hookimpl
def segrule_register_strategies(register: Register) -> None:
    for strategy in STRATEGIES:
        register(strategy)


@hookimpl
def segrule_register_presets(register: Register) -> None:
    for path in sorted(PRESETS.glob("*.yaml")):
        register(Preset.from_file(path))
