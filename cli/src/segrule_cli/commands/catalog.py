"""`segrule presets`, `segrule dimensions` and `segrule plugins`: what the engine has
registered, and from which plugin."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from segrule_cli import output
from segrule_cli.common import _engine, _lang, console, handle_errors
from segrule_cli.options import JsonOpt, LabelLangOpt, PluginOpt


@handle_errors
def presets(
    show: Annotated[str | None, typer.Option("--show", help="Print this preset's YAML.")] = None,
    as_json: JsonOpt = False,
    plugin: PluginOpt = None,
    lang: LabelLangOpt = "en",
) -> None:
    """List the packaged rule sets (core's and plugins')."""
    lang = _lang(lang)
    engine = _engine(plugin)
    if show:
        console.print(engine.preset(show).text(), highlight=False, markup=False)
        return
    items = sorted(engine.presets.items.values(), key=lambda p: p.name)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "plugin": p.owner.plugin,
                        "distribution": p.owner.distribution,
                        "description": p.description,
                    }
                    for p in items
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    output.print_presets(console, items, lang)


@handle_errors
def dimensions(
    as_json: JsonOpt = False,
    plugin: PluginOpt = None,
    lang: LabelLangOpt = "en",
) -> None:
    """List the registered dimensions and scoring strategies."""
    lang = _lang(lang)
    engine = _engine(plugin)
    dims = sorted(engine.dimensions.items.values(), key=lambda d: d.name)
    strategies = sorted(engine.strategies.items.values(), key=lambda s: s.name)
    if as_json:
        print(
            json.dumps(
                {
                    "dimensions": [
                        {
                            "name": d.name,
                            "kind": d.kind,
                            "type": d.dtype,
                            "tables": d.tables,
                            "examples": d.examples,
                            "description": d.description,
                            "plugin": d.owner.plugin,
                        }
                        for d in dims
                    ],
                    "strategies": [
                        {
                            "name": s.name,
                            "description": s.description,
                            "params": s.params_doc,
                            "plugin": s.owner.plugin,
                        }
                        for s in strategies
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    output.print_dimensions(console, dims, strategies, lang)


@handle_errors
def plugins(
    as_json: JsonOpt = False,
    builtins: Annotated[
        bool, typer.Option("--builtins/--no-builtins", help="Include segrule's builtin plugins.")
    ] = True,
    hooks: Annotated[
        bool, typer.Option("--hooks", help="Print the hook reference for plugin authors.")
    ] = False,
    plugin: PluginOpt = None,
) -> None:
    """List the loaded plugins: distribution, version, hooks and what each registered.

    Plugins come from the `segrule` entry-point group of installed distributions, from
    --plugin, and from the Python API. SEGRULE_DISABLE_PLUGIN_AUTOLOAD=1 switches the
    entry points off; SEGRULE_PLUGINS=a,b loads only those; SEGRULE_TRACE_PLUGINS=1 logs
    every hook call to stderr.
    """
    if hooks:
        from segrule.plugins.hookspecs import reference

        console.print(reference(), highlight=False, markup=False)
        return
    engine = _engine(plugin)
    infos = [i for i in engine.plugins.values() if builtins or not i.builtin]
    rows: list[dict[str, Any]] = [
        {
            "name": i.name,
            "distribution": i.distribution,
            "version": i.version,
            "builtin": i.builtin,
            "module": i.module.__name__,
            "hooks": i.hooks(),
            "registered": {k: sorted(v) for k, v in i.registered.items() if v},
        }
        for i in infos
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    output.print_plugins(console, rows)
    if not any(not i.builtin for i in infos):
        console.print(
            "No third-party plugins loaded. Install one (e.g. segrule-apparel) or pass "
            "--plugin module.path; `segrule new-plugin NAME` starts your own.",
            highlight=False,
        )
