"""Time one command in a fresh process: wall seconds, CPU seconds and peak memory.

The command is started by a small launcher process (``python -I -S`` running
:data:`LAUNCHER`, a few MB) rather than by this process: on Linux a child's
``ru_maxrss`` is at least the peak RSS of the process that started it (``execve``
records the old address space's high-water mark), so a command started from a
benchmark harness that has read a few hundred MB would report that much whatever it
used itself. The launcher takes:

- wall seconds: its ``time.perf_counter`` from just before ``posix_spawn`` to just
  after the command is reaped, so interpreter start-up and imports count, as a user
  running the command sees it;
- CPU seconds (user + system) and the peak resident set size from the command's own
  resource usage as returned by ``os.wait4`` (processes the command itself started
  and waited for are included by the kernel); ``ru_maxrss`` is KiB on Linux.

No third-party package is needed. POSIX only (Linux, macOS).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from segrule.bench import BenchError

# argv: RESULT_FILE COMMAND...; writes "exit_code wall_s cpu_s ru_maxrss" to RESULT_FILE.
LAUNCHER = """\
import os, sys, time
result, command = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(command[0], command, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(result, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {wall!r} "
            f"{usage.ru_utime + usage.ru_stime!r} {usage.ru_maxrss}")
"""


@dataclass(frozen=True)
class Measurement:
    """One run of a command."""

    wall_s: float
    cpu_s: float
    max_rss_bytes: int


@dataclass(frozen=True)
class Summary:
    """Medians over repeated runs of a command (each run kept in ``runs``)."""

    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    runs: tuple[Measurement, ...]


def _rss_bytes(ru_maxrss: int) -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024


def measure(
    command: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Measurement:
    """Run ``command`` once in a fresh process and measure it.

    ``command[0]`` is looked up on ``PATH`` unless it is a path. Standard output is
    discarded and standard error kept aside: a command that exits non-zero raises
    :class:`~segrule.bench.BenchError` with the end of its standard error. ``env``
    replaces the environment when given. An interrupt kills the command too.
    """
    if not hasattr(os, "wait4") or not hasattr(os, "posix_spawnp"):
        raise BenchError("measuring needs os.wait4 and os.posix_spawnp (Linux or macOS)")
    args = [str(a) for a in command]
    if not args:
        raise ValueError("empty command")
    fd, result_name = tempfile.mkstemp(prefix="segrule-bench-", suffix=".txt")
    os.close(fd)
    result = Path(result_name)
    try:
        with tempfile.TemporaryFile() as stderr:
            launcher = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", LAUNCHER, str(result), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,  # one process group: an interrupt ends both
            )
            try:
                launcher.wait()
            except BaseException:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
                raise
            text = result.read_text().split()
            code = int(text[0]) if text else launcher.returncode
            if launcher.returncode != 0 or code != 0:
                stderr.seek(0)
                tail = stderr.read().decode(errors="replace").strip().splitlines()[-15:]
                raise BenchError(
                    f"command failed with exit code {code}: {' '.join(args)}\n" + "\n".join(tail)
                )
    finally:
        result.unlink(missing_ok=True)
    return Measurement(
        wall_s=float(text[1]), cpu_s=float(text[2]), max_rss_bytes=_rss_bytes(int(text[3]))
    )


def summarize(runs: Sequence[Measurement]) -> Summary:
    """Medians of wall, CPU and peak RSS over ``runs`` (at least one)."""
    if not runs:
        raise ValueError("no runs to summarize")
    return Summary(
        wall_s=statistics.median(r.wall_s for r in runs),
        cpu_s=statistics.median(r.cpu_s for r in runs),
        max_rss_bytes=int(statistics.median(r.max_rss_bytes for r in runs)),
        runs=tuple(runs),
    )


def repeat(
    command: Sequence[str | Path],
    times: int = 3,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Summary:
    """Run ``command`` ``times`` times, one after the other, and return the medians."""
    if times < 1:
        raise ValueError(f"times must be at least 1, got {times}")
    return summarize([measure(command, env=env, cwd=cwd) for _ in range(times)])


def bytecode_note() -> str | None:
    """A warning when the installed modules are not byte-compiled: every start-up then
    compiles them again (about 0.3 s for segrule, polars and typer on the 2-core
    benchmark machine), which a normal install (pip compiles at install time) does not."""
    import importlib.util

    import polars

    import segrule

    missing = [
        mod.__name__
        for mod in (polars, segrule)
        if mod.__file__ and not Path(importlib.util.cache_from_source(mod.__file__)).exists()
    ]
    if not missing:
        return None
    return (
        f"{', '.join(missing)} not byte-compiled here, so each fresh process compiles them "
        "and start-up times are inflated; run `python -m compileall -q <site-packages>` "
        "or install with UV_COMPILE_BYTECODE=1 (pip compiles by default)"
    )
