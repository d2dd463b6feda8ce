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

import contextlib
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


def _tree_sample(session: int, page: int, ticks: int) -> tuple[int, dict[int, float]]:
    """RSS bytes summed over the processes of ``session`` and each one's CPU seconds."""
    rss = 0
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        # fields[0] is field 3 (state): session is field 6, utime/stime 14/15, rss 24.
        if int(fields[3]) != session:
            continue
        rss += int(fields[21]) * page
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    return rss, cpu


def measure_tree(
    command: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    interval: float = 0.05,
) -> Measurement:
    """Run ``command`` in a new session and measure the whole process tree (Linux): wall
    seconds, CPU seconds summed over every process of the session, and the peak of the
    RSS summed over them (sampled every ``interval`` seconds, so a peak shorter than
    that can be missed). For commands that start other processes that run at the same
    time (Spark's JVM and its Python workers), where :func:`measure`'s ``ru_maxrss``
    gives the largest single process. CPU time of a process that ends between two
    samples is counted up to its last sample."""
    import time

    if not Path("/proc/self/stat").exists():
        raise BenchError("measuring a process tree needs Linux's /proc")
    args = [str(a) for a in command]
    page = os.sysconf("SC_PAGE_SIZE")
    ticks = os.sysconf("SC_CLK_TCK")
    peak = 0
    cpu: dict[int, float] = {}
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
        try:
            while proc.poll() is None:
                rss, seen = _tree_sample(proc.pid, page, ticks)
                peak = max(peak, rss)
                cpu.update(seen)
                time.sleep(interval)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        wall = time.perf_counter() - start
        # Whatever of the session is still running (a JVM shutting down) is stopped.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-15:]
            raise BenchError(
                f"command failed with exit code {proc.returncode}: {' '.join(args)}\n"
                + "\n".join(tail)
            )
    return Measurement(wall_s=wall, cpu_s=sum(cpu.values()), max_rss_bytes=peak)


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
