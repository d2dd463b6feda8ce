"""YAML 1.2 plain scalars for rule files, on PyYAML's safe loaders.

PyYAML resolves plain scalars by YAML 1.1: ``yes``/``no``/``on``/``off``/``y``/``n`` are
booleans, ``10:30`` is the number 630 (base 60), ``0755`` is octal and ``2026-11-01`` a
date. In a rule file these are labels, status values and times: ``paid: [yes, Y]`` or
``label: no`` were refused as "not a valid string". YAML 1.2's core schema (what
ruamel.yaml and most other tools now read) keeps them text: booleans are only
true/false, null is ``~``/null/empty, integers are decimal, ``0o`` octal or ``0x`` hex,
floats are decimal with ``.inf``/``.nan``, and nothing else is implicitly typed.

Why not ruamel.yaml, which reads YAML 1.2 itself: segrule's loader already keeps the line
and column of every node (PyYAML's composer gives them) and is hardened around PyYAML's
composer (nesting depth, alias expansion, tags: see ``ruleset._load_yaml``); the schema
is the one thing it lacked, and replacing the resolvers gives it without a second YAML
stack in the install.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
# Digits may be grouped with _ (10_000), as PyYAML and Python read them.
_INT = re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)

_RESOLVERS: list[tuple[str, re.Pattern[str], str]] = [
    ("tag:yaml.org,2002:bool", _BOOL, "tTfF"),
    ("tag:yaml.org,2002:null", _NULL, "~nN"),
    ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
]


def _core_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, pattern, first in _RESOLVERS:
        for ch in first:
            table.setdefault(ch, []).append((tag, pattern))
    # The empty scalar (``key:``) is null: PyYAML looks it up under the key ''.
    table.setdefault("", []).append(("tag:yaml.org,2002:null", _NULL))
    return table


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # "0755" is 755: YAML 1.2 has no leading-zero octal


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower().replace("_", "")
    if text.endswith("inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


def core_schema(loader: type[Any]) -> type[Any]:
    """A subclass of the PyYAML loader class ``loader`` that resolves plain scalars by
    YAML 1.2's core schema (the module docstring says what changes)."""

    constructors = {
        **loader.yaml_constructors,
        "tag:yaml.org,2002:int": _construct_int,
        "tag:yaml.org,2002:float": _construct_float,
    }

    class Core(loader):  # type: ignore[misc,valid-type]
        yaml_implicit_resolvers: ClassVar = _core_resolvers()
        yaml_constructors: ClassVar = constructors

    Core.__name__ = Core.__qualname__ = f"Core{loader.__name__}"
    return Core
