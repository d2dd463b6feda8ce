"""Temporary files owned by this process, removed when SIGTERM or SIGINT stops it.

A run writes its output, its rejects and its history partition to temporary files
beside their targets and renames them into place at the end. Code that creates such a
file registers it here (:func:`owned`, or :func:`register`/:func:`unregister`) for as
long as it exists under its temporary name. The CLI installs handlers
(:func:`install_signal_handlers`) that, on SIGTERM or SIGINT, remove every registered
file, print one line and exit with ``128 + signal`` (143, 130) at once.

Python runs a signal handler only in the main thread and only between bytecodes, so a
handler set while the main thread sits in polars' native ``collect_all`` would run
after the whole query (checked: 17 s late on a 17 s query). :func:`interruptible` runs
such a call in a worker thread while the main thread waits on a lock, which signals do
interrupt: the handler runs at once, and ``os._exit`` ends the native threads with the
process.

A few renames that must happen together (the output and its history partition) run
inside :func:`deferred`: a signal arriving there is acted on when the block ends, so it
never cuts such a commit in half (SIGKILL still can: :mod:`segrule.history` recovers
from that).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

# A dict used as an ordered set: list(dict) copies it in one step under the GIL, so the
# signal handler can read it while another thread registers a file, without a lock
# (a lock held by the interrupted main thread would deadlock the handler).
_owned: dict[str, None] = {}
_pending: list[int] = []
_deferring = 0
_deferring_lock = threading.Lock()
_installed = False


def register(path: str | Path) -> None:
    """Remove ``path`` (a file or a folder) if a signal stops the process."""
    _owned[os.fspath(path)] = None


def unregister(path: str | Path) -> None:
    """``path`` was renamed into place or removed: no longer this module's to remove."""
    _owned.pop(os.fspath(path), None)


def temp_file(*, prefix: str, suffix: str, dir: str | Path) -> Path:
    """A new empty file (``tempfile.mkstemp``), registered before a signal can be
    handled: a signal between creating and registering it would leave it behind."""
    with deferred():
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dir)
        os.close(fd)
        register(name)
    return Path(name)


def owned_paths() -> list[Path]:
    """The temporary paths registered now (for tests and messages)."""
    return [Path(p) for p in list(_owned)]


def remove_owned() -> int:
    """Remove every registered path that exists; returns how many were removed."""
    removed = 0
    for name in list(_owned):
        try:
            if os.path.isdir(name) and not os.path.islink(name):
                shutil.rmtree(name, ignore_errors=True)
            else:
                os.unlink(name)
            removed += 1
        except FileNotFoundError:
            pass
        except OSError:  # nothing better to do while exiting; the next run removes it
            pass
        _owned.pop(name, None)
    return removed


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGTERM/SIGINT until the block ends (then act on them): for a commit of
    several renames that must not be cut half-way."""
    global _deferring
    with _deferring_lock:
        _deferring += 1
    try:
        yield
    finally:
        with _deferring_lock:
            _deferring -= 1
            last = _deferring == 0
        # Checked after the decrement: a signal arriving after it is handled directly.
        if last and _pending:
            _stop(_pending[0])


def _stop(signum: int) -> None:
    name = signal.Signals(signum).name
    try:
        if sys.stdout.isatty():
            sys.stdout.write("\x1b[?25h")  # a progress spinner may have hidden the cursor
            sys.stdout.flush()
        sys.stderr.write(f"interrupted by {name}: this run's temporary files were removed\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    # Removed last, right before exiting: a polars thread still starting a sink could
    # create its file again in between (the next run removes such a file of a dead pid).
    remove_owned()
    # os._exit and not SystemExit: polars' native threads may still be writing, and
    # an orderly interpreter shutdown would wait for the query to finish.
    os._exit(128 + signum)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _deferring:
        _pending.append(signum)
        return
    _stop(signum)


def install_signal_handlers() -> None:
    """Make SIGTERM and SIGINT remove this process's registered temporary files, print
    one line and exit 143 / 130. Call from the main thread (the console script does);
    a no-op elsewhere."""
    global _installed
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)
    _installed = True


def interruptible(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``; when the handlers are installed and this is the main
    thread, run in a worker thread so that a signal is handled while it runs (see the
    module docstring). Exceptions are raised here as ``fn`` raised them."""
    if not _installed or threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)
    done = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the main thread as is
            box["error"] = exc
        finally:
            done.set()

    # A daemon thread: if the main thread ends otherwise, it does not wait for the query.
    threading.Thread(target=work, name="segrule-collect", daemon=True).start()
    done.wait()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
