"""`segrule new-plugin`: a working plugin skeleton, from the templates in segrule_cli/skeleton."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segrule_cli.common import console, handle_errors
from segrule_cli.output import styled

# The templates stay in the package root (segrule_cli/skeleton), beside app.py.
SKELETON = Path(__file__).resolve().parent.parent / "skeleton"


@handle_errors
def new_plugin(
    name: Annotated[
        str,
        typer.Argument(
            help="Plugin name: lower-case letters, digits and '_' (its presets are NAME:...).",
            show_default=False,
        ),
    ],
    directory: Annotated[
        str | None,
        typer.Option("--dir", help="Folder to create (default: ./segrule-NAME)."),
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="One-line description for the README and metadata.")
    ] = None,
) -> None:
    """Create a working plugin skeleton: package, entry point, a dimension, a preset, tests.

    Then: cd segrule-NAME && pip install -e ".[test]" && pytest
    """
    import re

    import segrule
    from segrule.errors import UsageError
    from segrule.io.locations import redact

    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
        raise UsageError(
            f"plugin name '{name}' must start with a lower-case letter and hold only a-z, "
            "0-9 and '_' (it becomes the module segrule_NAME and the entry point NAME)"
        )
    if directory is not None and "://" in directory:
        raise UsageError(f"--dir {redact(directory)}: give a local folder, not a URL")
    target = Path(directory) if directory is not None else Path(f"segrule-{name}")
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"{target} exists and is not empty; choose another --dir")
    major, minor = (int(x) for x in segrule.__version__.split(".")[:2])
    values = {
        "name": name,
        "title": title or f"customer classification for {name}",
        "segrule_version": f"{major}.{minor}",
        "segrule_next": f"{major}.{minor + 1}",
    }
    layout = {
        "pyproject.toml.tmpl": "pyproject.toml",
        "README.md.tmpl": "README.md",
        "src/__init__.py.tmpl": f"src/segrule_{name}/__init__.py",
        "src/hooks.py.tmpl": f"src/segrule_{name}/hooks.py",
        "presets/starter.yaml.tmpl": f"src/segrule_{name}/presets/starter.yaml",
        "tests/test_plugin.py.tmpl": f"tests/test_{name}.py",
    }
    for src, dest in layout.items():
        path = target / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((SKELETON / src).read_text(encoding="utf-8").format(**values), "utf-8")
    console.print(styled(("created", "green"), f" {target}/"), highlight=False)
    for dest in layout.values():
        console.print(f"  {dest}", highlight=False)
    console.print(
        f'Next: cd {target} && pip install -e ".[test]" && pytest\n'
        f"      segrule plugins   # shows '{name}' once installed\n"
        "Guide: docs/plugins.md",
        highlight=False,
    )
