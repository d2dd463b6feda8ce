"""How ``--help`` shows options: readable placeholders and help text shown as written.

typer 0.2x shows each option's Python type as its placeholder (``<list[str]>``,
``<bool>`` on a flag, ``<path>``) and reads help text as rich markup, which eats a
bracketed word (``'segrule[bench]'`` shows as ``'segrule'``). The app's commands and
group are built with the classes here, which set a placeholder named for what the value
is (``PATH``, ``TEXT``, ``N``, ``zh|en``; none on a flag) where the option names none, and
escape brackets in help text (our own ``[bold]...[/bold]`` in command docstrings kept).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args, get_origin

from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup

#: The markup our docstrings use on purpose; every other ``[`` is text.
_OWN_MARKUP = re.compile(r"(\[/?bold\])")


def placeholder(param: Any) -> str:
    """The placeholder of an option's value: what it is, in capitals, or the choices."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    desc = getattr(param, "type_descriptor", None)
    if desc is None:  # a typer without type descriptors: click's type names
        name = getattr(getattr(param, "type", None), "name", "text")
        return {"integer": "N", "float": "NUMBER", "path": "PATH"}.get(name, "TEXT")
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    if desc.is_path:
        return "PATH"
    annotation = desc.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    return {int: "N", float: "NUMBER", Path: "PATH"}.get(annotation, "TEXT")


def escaped(text: str | None, keep_own: bool = False) -> str | None:
    """Help text with its brackets shown as typed (our ``[bold]`` kept when asked)."""
    if not text:
        return text
    if not keep_own:
        return escape(text)
    return "".join(
        part if _OWN_MARKUP.fullmatch(part) else escape(part) for part in _OWN_MARKUP.split(text)
    )


def readable(command: TyperCommand | TyperGroup) -> None:
    command.help = escaped(command.help, keep_own=True)
    for param in command.params:
        param.help = escaped(param.help)  # type: ignore[attr-defined]


def with_placeholders(params: list[Any]) -> list[Any]:
    """The parameters, each with a readable placeholder (the ones typer adds, --help and
    the completion flags, included)."""
    for param in params:
        if getattr(param, "_segrule_placeholder", False):
            continue
        param._segrule_placeholder = True
        if isinstance(param, TyperArgument):
            if param.metavar is None and param.name:
                # rulesets... -> RULESET...: typer adds the "..." of a repeated argument
                name = param.name.upper()
                param.metavar = name[:-1] if param.nargs != 1 and name.endswith("S") else name
            # The argument's name says what it is; typer would add <list[str]> after it.
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        elif getattr(param, "metavar", "") is None:
            param.metavar = placeholder(param)
    return params


class SegruleCommand(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        readable(self)

    def get_params(self, ctx: Any) -> list[Any]:
        return with_placeholders(super().get_params(ctx))


class SegruleGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        readable(self)

    def get_params(self, ctx: Any) -> list[Any]:
        return with_placeholders(super().get_params(ctx))
