"""Core names options in its messages by their Python parameter (segrule.errors.option);
the CLI shows its own flags for them (segrule_cli.options.FLAGS). Every option core
names has a CLI name, and every flag named is a real option of some command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from segrule.errors import UsageError, option
from segrule_cli.app import app
from segrule_cli.options import FLAGS, message

CORE = Path(__file__).resolve().parents[2] / "core" / "src" / "segrule"


def named_in_core() -> set[str]:
    found: set[str] = set()
    for path in CORE.rglob("*.py"):
        found |= set(re.findall(r"""\boption\(\s*["']([a-z_]+)["']""", path.read_text()))
    return found


def test_every_option_core_names_has_a_cli_name() -> None:
    names = named_in_core()
    assert len(names) >= 15, names
    assert not names - set(FLAGS), f"no CLI name for {sorted(names - set(FLAGS))}"


def test_every_flag_is_an_option_of_a_command() -> None:
    group = typer.main.get_command(app)
    commands = [group, *group.commands.values()]  # type: ignore[attr-defined]
    opts = {o for cmd in commands for p in cmd.params for o in p.opts}
    flags = {v for v in FLAGS.values() if re.fullmatch(r"--[a-z-]+", v)}
    assert flags and not flags - opts, sorted(flags - opts)


def test_core_never_writes_a_flag_into_a_message() -> None:
    """No string literal of core names a CLI flag (docstrings and comments may)."""
    pattern = re.compile(r"""(?<![\w`])["'][^"'\n]*(?<![\w-])--[a-z][a-z-]+""")
    hits = []
    for path in CORE.rglob("*.py"):
        if "bench" in path.parts:
            continue  # the benchmark harness builds command lines
        for no, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("#") or '"""' in line or "``" in line:
                continue
            if pattern.search(line):
                hits.append(f"{path.relative_to(CORE)}:{no}: {stripped}")
    assert not hits, "\n".join(hits)


@pytest.mark.parametrize(("param", "flag"), [("params", "--param"), ("out", "--out")])
def test_a_message_reads_as_the_api_from_python_and_as_flags_from_the_cli(
    param: str, flag: str
) -> None:
    error = UsageError(f"{option(param)} 'x' is wrong")
    assert str(error) == f"{param} 'x' is wrong"
    assert message(error) == f"{flag} 'x' is wrong"
    assert "\x1e" not in repr(str(error)) and "\x1e" not in message(error)
