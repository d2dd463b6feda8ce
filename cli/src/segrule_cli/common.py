"""What the commands share: the consoles, this invocation's state (set by the app's
callback), the error handler every command is wrapped in, and small helpers that turn
options into core arguments."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import typer

from segrule_cli.output import PlainConsole, styled

# Labels, names, descriptions, paths and error messages are user text: "[/x]" in one of
# them was a MarkupError after half the output was written. These consoles read no
# markup (output.PlainConsole); our own emphasis is written as styles (output.styled).
console = PlainConsole()
err_console = PlainConsole(stderr=True)
_state: dict[str, Any] = {"debug": False, "verbose": False, "progress": None}

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Print a SegruleError as one line and exit 1 (2 for usage); traceback only with --debug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from segrule.errors import RuleSetErrors, SegruleError

        try:
            return fn(*args, **kwargs)
        except SegruleError as exc:
            if _state["debug"]:
                raise
            if isinstance(exc, RuleSetErrors) and fn.__name__ == "validate":
                for e in exc.errors:
                    err_console.print(error_line(e), highlight=False, soft_wrap=True)
            else:
                err_console.print(error_line(exc), highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("interrupted", style="red")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def error_line(error: object, prefix: str = "error:") -> Any:
    """``error: <message>``, the message as plain text whatever it holds (options named
    as this CLI's flags)."""
    from segrule_cli.options import message

    text = message(error) if isinstance(error, BaseException) else str(error)
    return styled((prefix, "red"), f" {text}")


def _engine(plugins: list[str] | None) -> Any:
    from segrule import Engine

    given = [*_state.get("plugins", []), *(plugins or [])]
    return Engine(plugins=list(dict.fromkeys(given)))


def _tables(extra: list[str] | None = None, **paths: str | None) -> dict[str, str]:
    from segrule.errors import UsageError

    tables = {k: v for k, v in paths.items() if v}
    for item in extra or []:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"--table '{item}' is not NAME=PATH, e.g. --table orders=o.parquet")
        tables[name.strip()] = path.strip()
    return tables


def _lang(lang: str) -> str:
    from segrule.errors import UsageError

    if lang not in ("zh", "en"):
        raise UsageError(f"--lang '{lang}': use zh or en")
    return lang


def _write_json(path: str | Path, record: Mapping[str, Any], what: str = "--report") -> None:
    from segrule.io.outpaths import write_text

    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    write_text(path, text, what=what, writes="json")


class _nullctx:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: Any) -> None:
        return None


def _reflow(doc: str | None) -> str | None:
    """A docstring as typer should show it: the lines of a paragraph joined (typer keeps
    source line breaks, which the terminal then wraps again), list items and
    ``Example:`` lines kept on their own lines."""
    if not doc:
        return doc
    paragraphs = []
    for block in inspect.cleandoc(doc).split("\n\n"):
        lines: list[str] = []
        for line in block.splitlines():
            if lines and not line.lstrip().startswith(("- ", "* ", "Example")):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.strip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


class _Elapsed(logging.Formatter):
    """``segrule: [  1.23s] reading orders ...``: the time since the command started."""

    def __init__(self) -> None:
        super().__init__()
        self.start = time.perf_counter()

    def format(self, record: logging.LogRecord) -> str:
        return f"segrule: [{time.perf_counter() - self.start:7.2f}s] {record.getMessage()}"


def start_logging(verbose: bool) -> None:
    """With -v, core's phase messages (the ``segrule`` logger) go to stderr as timed lines."""
    logger = logging.getLogger("segrule")
    for handler in list(logger.handlers):
        if getattr(handler, "_segrule_cli", False):
            logger.removeHandler(handler)
    if verbose:
        handler = logging.StreamHandler()  # stderr, as it is when the command runs
        handler.setFormatter(_Elapsed())
        handler._segrule_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


class _StatusText(logging.Handler):
    """Shows the latest phase message in the spinner's line."""

    def __init__(self, status: Any, what: str) -> None:
        super().__init__(logging.INFO)
        self.status, self.what = status, what

    def emit(self, record: logging.LogRecord) -> None:
        from segrule_cli.output import styled

        self.status.update(styled(f"{self.what} {record.getMessage()}"))


def shows_progress() -> bool:
    """Progress goes to stderr: when stderr is a terminal, or when asked (--progress,
    SEGRULE_PROGRESS=1); never with --no-progress, and never with -v (its lines say it)."""
    asked = _state.get("progress")
    if asked is None:
        env = os.environ.get("SEGRULE_PROGRESS", "").strip().lower()
        if env in ("1", "true", "yes"):
            asked = True
        elif env in ("0", "false", "no"):
            asked = False
    if _state.get("verbose"):
        return False
    return err_console.is_terminal if asked is None else bool(asked)


@contextlib.contextmanager
def working(what: str) -> Iterator[None]:
    """A spinner on stderr while long work runs, its text what core says it is doing
    (reading which tables, writing where, drawing which chart). stdout stays the
    command's output (JSON with --json)."""
    if not shows_progress():
        yield
        return
    from segrule_cli.output import styled

    logger = logging.getLogger("segrule")
    with err_console.status(styled(what), spinner="dots") as status:
        handler = _StatusText(status, what)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
