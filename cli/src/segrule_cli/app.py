"""The ``segrule`` command: the typer app, its callback (--version, --verbose, --debug,
--plugin, --allow-path), the registration of the commands and ``main()``, the console
script.

Each command is a thin typer function over the core API in ``segrule_cli.commands``;
the options several commands share are in ``segrule_cli.options``, the helpers they
share in ``segrule_cli.common``, the rendering in ``segrule_cli.output``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from segrule_cli.commands.bench import bench
from segrule_cli.commands.bucket import bucket
from segrule_cli.commands.catalog import dimensions, plugins, presets
from segrule_cli.commands.check import check
from segrule_cli.commands.demo import demo
from segrule_cli.commands.diff import diff
from segrule_cli.commands.explain import explain
from segrule_cli.commands.generate import generate
from segrule_cli.commands.history import history_command
from segrule_cli.commands.new_plugin import new_plugin
from segrule_cli.commands.plan import plan
from segrule_cli.commands.report import report
from segrule_cli.commands.rollup import rollup
from segrule_cli.commands.run import run
from segrule_cli.commands.schema import schema
from segrule_cli.commands.sweep import sweep
from segrule_cli.commands.validate import validate
from segrule_cli.common import _reflow, _state, console, err_console, error_line, start_logging
from segrule_cli.helptext import SegruleCommand, SegruleGroup

app = typer.Typer(
    name="segrule",
    help="Classify and tier customers by rules: rule sets over orders, scored in one lazy "
    "Polars plan.",
    no_args_is_help=True,
    cls=SegruleGroup,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        import polars as pl
        import segrule

        console.print(f"segrule {segrule.__version__} (polars {pl.__version__})")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Print what each long command is doing, with the time since it started, "
            "on stderr (phases of run, diff and report).",
        ),
    ] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show a spinner saying what is being done, on stderr. Default: when stderr "
            "is a terminal (SEGRULE_PROGRESS=1 or 0 decides too).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    plugin: Annotated[
        list[str] | None,
        typer.Option(
            "--plugin",
            "-p",
            help="Load a plugin module (import path) for this command; repeatable. Also "
            "accepted after any command.",
        ),
    ] = None,
    allow_path: Annotated[
        list[Path] | None,
        typer.Option(
            "--allow-path",
            metavar="DIR",
            help="Let rule files read from DIR too (extends:, blacklist:); by default they "
            "read only inside the folder of the rule file given. Repeatable; "
            "SEGRULE_ALLOW_PATHS=DIR1:DIR2 does the same.",
        ),
    ] = None,
) -> None:
    """segrule turns orders into one row per customer: dimensions, segments, scores, tier."""
    from segrule.model.ruleset import allowing_paths

    # Set for this invocation only: the context closes it when the command ends.
    ctx.with_resource(allowing_paths(allow_path or []))
    _state["debug"] = debug or bool(os.environ.get("SEGRULE_DEBUG"))
    _state["verbose"] = verbose
    _state["progress"] = progress
    start_logging(verbose)
    _state["plugins"] = list(plugin or [])


# The commands, in the order `segrule --help` lists them.
app.command(cls=SegruleCommand)(run)
app.command(cls=SegruleCommand)(explain)
app.command(cls=SegruleCommand)(diff)
app.command("history", cls=SegruleCommand)(history_command)
app.command(cls=SegruleCommand)(validate)
app.command(cls=SegruleCommand)(plan)
app.command(cls=SegruleCommand)(sweep)
app.command(cls=SegruleCommand)(check)
app.command(cls=SegruleCommand)(generate)
app.command(cls=SegruleCommand)(bench)
app.command(cls=SegruleCommand)(bucket)
app.command(cls=SegruleCommand)(demo)
app.command(cls=SegruleCommand)(report)
app.command(cls=SegruleCommand)(rollup)
app.command(cls=SegruleCommand)(presets)
app.command(cls=SegruleCommand)(dimensions)
app.command(cls=SegruleCommand)(plugins)
app.command("new-plugin", cls=SegruleCommand)(new_plugin)
app.command(cls=SegruleCommand)(schema)

# Command help reads as prose: each paragraph's source lines joined (common._reflow).
for _command in app.registered_commands:
    if _command.callback is not None and _command.help is None:
        _command.callback.__doc__ = _reflow(_command.callback.__doc__)


def main() -> None:
    """Console-script entry point."""
    from segrule.io import cleanup

    # SIGTERM/SIGINT remove the run's temporary files and exit 143/130 (segrule.io.cleanup).
    cleanup.install_signal_handlers()
    try:
        app()
    except SystemExit:
        raise
    except BaseException:  # pragma: no cover - last resort, should not happen
        if _state["debug"]:
            raise
        exc = sys.exc_info()[1]
        err_console.print(
            error_line(
                f"{type(exc).__name__}: {exc} (run with --debug for the traceback and please "
                "report it)",
                "internal error:",
            ),
            soft_wrap=True,
        )
        sys.exit(1)
