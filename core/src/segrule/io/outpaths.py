"""Where segrule writes, and how: the guards every writer goes through.

segrule never destroys what it did not write. Before anything runs, every path a
command will write (``--out``, ``--report``, ``--rejects``, ``--history``, ``--changes``,
``--png``, ``generate --out``) is checked here:

- it may not be one of the run's inputs (a table file, a table folder or a glob's
  folder, the blacklist, a rule file), sit inside an input folder, or, for a folder,
  hold an input; paths are compared after ``realpath``, so symlinks and ``../`` count;
- an existing file must be a regular file: a device, FIFO or socket is refused, since
  the atomic write would replace the node. The null device (``/dev/null``, or any
  character device with its numbers) is the one exception: the run is computed and
  written into it, nothing is renamed onto it ("compute, keep nothing");
- a file path may not be an existing folder, nor lie under a regular file.

Writes go through :func:`replacing`: a temporary file beside the target, given the mode
the umask asks for (``tempfile.mkstemp`` creates 0600), then renamed. A failing write
(full disk, read-only file system, no permission, ...) is one :class:`OutputPathError`
line naming the file, the system's reason and what to do; the temporary file is removed.

Folders segrule fills with files of its own (``--rejects``) carry a marker file that
lists what segrule wrote there; only those files are ever replaced or removed.
"""

from __future__ import annotations

import contextlib
import errno
import glob as globlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from segrule.errors import SegruleError, option
from segrule.io import cleanup
from segrule.io.locations import LocationError, locate, redact


class OutputPathError(SegruleError):
    """A path segrule was asked to write is refused, or writing it failed.

    Exit code 1, like any other file the run cannot use (a missing input is 1 too);
    2 is kept for options that are wrong whatever the file system holds."""


#: The file segrule writes into a folder it owns (``--rejects``): JSON listing the files
#: it wrote there, the only ones it will ever replace or remove.
REJECTS_MARKER = ".segrule-rejects"

_GLOB_CHARS = "*?["


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.fspath(path)))


@dataclass(frozen=True)
class Inputs:
    """What a run reads, resolved: files, and folders whose whole content is read."""

    files: frozenset[Path] = field(default_factory=frozenset)
    folders: frozenset[Path] = field(default_factory=frozenset)
    #: resolved path -> how to name it in a message ("the orders table", "a rule file")
    names: dict[Path, str] = field(default_factory=dict, compare=False, hash=False)
    #: database sources (``postgresql://...#schema.table``, password hidden) -> their name
    databases: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    #: object-store and web sources (URLs as given) -> how to name them
    urls: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, sources: Iterable[tuple[str, str | Path | None]], *, globs: bool = True) -> Inputs:
        """``sources``: (what it is, path or glob) pairs; paths that do not exist (a
        preset name, an in-memory frame's description) are skipped. ``globs=False``:
        the paths are read as written (``[x].parquet`` is a file name, not a pattern)."""
        files: set[Path] = set()
        folders: set[Path] = set()
        names: dict[Path, str] = {}
        databases: dict[str, str] = {}
        urls: dict[str, str] = {}
        for what, source in sources:
            if source is None:
                continue
            text = os.fspath(source)
            if not text or text.startswith("<"):
                continue
            if isinstance(source, str) and "://" in text:
                try:
                    location = locate(text)
                except LocationError:
                    continue  # an unknown scheme: its reader refuses it
                if location.kind == "database":
                    databases.setdefault(location.shown, what)
                elif location.kind == "cloud":
                    urls.setdefault(location.text, what)
                if not location.is_file:
                    continue  # not a local path: nothing here to protect
                text = location.text
            if globs and any(ch in text for ch in _GLOB_CHARS):
                # The glob's matches are read, and a new file under its fixed part
                # could be read by the next run: that folder is an input as a whole.
                root = text[: min(text.index(ch) for ch in _GLOB_CHARS if ch in text)]
                folder = _real(os.path.dirname(root) or ".")
                folders.add(folder)
                names.setdefault(folder, what)
                for match in globlib.glob(text, recursive=True):
                    files.add(_real(match))
                    names.setdefault(_real(match), what)
                continue
            real = _real(text)
            if real.is_dir():
                folders.add(real)
            elif real.exists():
                files.add(real)
            else:
                continue
            names.setdefault(real, what)
        return cls(frozenset(files), frozenset(folders), names, databases, urls)

    def __or__(self, other: Inputs) -> Inputs:
        return Inputs(
            self.files | other.files,
            self.folders | other.folders,
            {**other.names, **self.names},
            {**other.databases, **self.databases},
            {**other.urls, **self.urls},
        )

    def clash_with_url(self, url: str) -> str | None:
        """Why writing the object ``url`` would touch an input, or None: it is an input
        object, lies under an input prefix, or under an input glob's fixed part."""
        for source, what in sorted(self.urls.items()):
            base = source.split("?", 1)[0]
            cut = [base.index(ch) for ch in _GLOB_CHARS if ch in base]
            if cut:
                clash = url.startswith(base[: min(cut)])
            else:
                clash = url == base or url.startswith(base.rstrip("/") + "/")
            if clash:
                name = what if what.startswith(("a ", "an ", "the ")) else f"the {what}"
                return f"is or is under {redact(source)}, {name}, which this command reads"
        return None

    def clash_with_file(self, real: Path) -> str | None:
        """Why writing the file ``real`` would touch an input, or None."""
        if real in self.files or real in self.folders:
            return f"is {self._name(real)}, which this command reads"
        for folder in self.folders:
            if real.is_relative_to(folder):
                return f"is inside {folder}, {self._name(folder)}, which this command reads"
        return None

    def clash_with_folder(self, real: Path) -> str | None:
        """Why writing into the folder ``real`` would touch an input, or None."""
        found = self.clash_with_file(real)
        if found:
            return found
        for item in sorted(self.files | self.folders):
            if item.is_relative_to(real):
                return f"holds {item}, {self._name(item)}, which this command reads"
        return None

    def _name(self, real: Path) -> str:
        what = self.names.get(real, "an input")
        return what if what.startswith(("a ", "an ", "the ")) else f"the {what}"


NO_INPUTS = Inputs()


# -- modes -----------------------------------------------------------------------------
def current_umask() -> int:
    """The process umask, read without changing it where the system says it."""
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: the only portable way to read it is to set it
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode ``mkdir`` would give a new folder: 0777 less the umask."""
    return 0o777 & ~current_umask()


# -- checks ----------------------------------------------------------------------------
def is_null_device(path: str | Path) -> bool:
    """Whether ``path`` is the null device (/dev/null or a node with its numbers)."""
    try:
        st = os.stat(path)
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _check_parent(target: Path, what: str) -> None:
    """The first existing ancestor of ``target`` must be a folder."""
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        if parent.is_symlink():  # a dangling link: mkdir would fail with a vague error
            raise OutputPathError(
                f"{what} {target}: {parent} is a broken symbolic link; fix it or choose "
                f"another {what}"
            )
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(
            f"{what} {target}: {parent} is a file, not a folder; choose a path in a folder"
        )


#: The first bytes of the data files segrule reads, by the format's name.
_MAGIC = {b"PAR1": "parquet", b"ARROW1": "ipc"}
_FORMAT_NAMES = {"parquet": "a Parquet file", "ipc": "an Arrow IPC file"}


def data_format(path: Path) -> str | None:
    """``parquet`` or ``ipc`` when ``path`` starts like such a file, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        return None
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def local_path(path: str | Path, what: str, kind: str) -> Path:
    """``path`` as a local path, or an OutputPathError: a URL (an unknown scheme, or a
    store this writer does not write to) is never taken for one (``s3://b/x`` once
    became a folder ``s3:``). ``kind``: file or folder, for the message."""
    try:
        location = locate(path)
    except LocationError as exc:
        raise OutputPathError(f"{what}: {exc}") from None
    if not location.is_file:
        raise OutputPathError(
            f"{what} {location.shown}: writing to {location.scheme}:// is not supported "
            f"here; give a local {kind}"
        )
    return Path(location.text)


def check_file(
    path: str | Path,
    *,
    what: str = option("out"),
    inputs: Inputs = NO_INPUTS,
    writes: str | None = None,
) -> Path:
    """Check that segrule may write the file ``path`` (see the module docstring);
    raise OutputPathError otherwise. Returns ``path`` as a Path.

    ``writes`` (parquet, ipc, csv, ndjson, html, json, png): what will be written; an
    existing Parquet or Arrow file is then replaced only by a file of its own format,
    so that a writer that does not know the data folder (``report --out``,
    ``--report``) cannot turn a table into a web page.

    A URL is refused here (an unknown scheme, or a store this writer does not write
    to): it is never taken for a local path (``s3://b/x`` once became a folder ``s3:``).
    Writers that do write to a store dispatch on :func:`segrule.io.locations.locate`
    before calling this."""
    target = local_path(path, what, "file")
    real = _real(target)
    clash = inputs.clash_with_file(real)
    if clash:
        shown = f"{target} (= {real})" if real != target.absolute() else str(target)
        raise OutputPathError(
            f"{what} {shown} {clash}; segrule never writes over its inputs: choose another {what}"
        )
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None  # a parent is a file: reported below
    except OSError as exc:
        raise write_error(target, exc, what) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputPathError(
                f"{what} {target} is a folder; give a file name, e.g. {target / 'scores.parquet'}"
            )
        if not stat.S_ISREG(st.st_mode) and not is_null_device(target):
            raise OutputPathError(
                f"{what} {target} is {_kind(st.st_mode)}, which writing would replace; choose "
                f"a regular file ({os.devnull} is accepted to keep nothing)"
            )
        found = data_format(target) if writes is not None and stat.S_ISREG(st.st_mode) else None
        if found is not None and found != writes:
            raise OutputPathError(
                f"{what} {target} is {_FORMAT_NAMES[found]} (data, perhaps an input), which "
                f"writing {writes} would replace; choose another {what}"
            )
    _check_parent(target, what)
    return target


def check_url(url: str, *, what: str, inputs: Inputs = NO_INPUTS) -> None:
    """Refuse writing the object ``url`` when it is, or is under, a source the run
    reads (the object-store counterpart of the input check of :func:`check_file`)."""
    clash = inputs.clash_with_url(url)
    if clash:
        raise OutputPathError(
            f"{what} {redact(url)} {clash}; segrule never writes over its inputs: choose "
            f"another {what}"
        )


def check_folder(
    path: str | Path,
    *,
    what: str,
    inputs: Inputs = NO_INPUTS,
    allowed: Callable[[str], bool] | None = None,
    describe: str = "",
) -> Path:
    """Check that segrule may write into the folder ``path``: not an input, not inside
    one, holding none; not a file. ``allowed(name)``: when given, every entry already
    at the folder's top level must pass it (``describe`` says what is expected)."""
    folder = local_path(path, what, "folder")
    real = _real(folder)
    clash = inputs.clash_with_folder(real)
    if clash:
        raise OutputPathError(
            f"{what} {folder} {clash}; segrule never writes among its inputs: give a "
            "folder of its own"
        )
    if folder.exists() and not folder.is_dir():
        mode = os.stat(folder).st_mode
        kind = "a file" if stat.S_ISREG(mode) else _kind(mode)
        raise OutputPathError(f"{what} {folder} is {kind}, not a folder; give a folder")
    _check_parent(folder, what)
    if allowed is not None and folder.is_dir():
        foreign = sorted(e.name for e in os.scandir(folder) if not allowed(e.name))
        if foreign:
            shown = _some(foreign)
            raise OutputPathError(
                f"{what} {folder} holds files segrule did not write ({shown}); {describe}"
                f"give a new or empty folder"
            )
    return folder


def _some(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def check_distinct(paths: Iterable[tuple[str, str | Path | None]]) -> None:
    """Two outputs of one command may not be the same path, nor one inside the other."""
    seen: list[tuple[str, Path]] = []
    for what, path in paths:
        if path is None:
            continue
        if isinstance(path, str) and "://" in path:
            continue  # a URL (checked on its own) never overlaps a local path
        real = _real(path)
        if is_null_device(real):
            continue
        for other_what, other in seen:
            if real == other or real.is_relative_to(other) or other.is_relative_to(real):
                raise OutputPathError(
                    f"{what} {path} and {other_what} {other} overlap; give each its own path"
                )
        seen.append((what, real))


# -- write errors ----------------------------------------------------------------------
_HINTS = {
    errno.ENOSPC: "free space or choose another {what}",
    errno.EDQUOT: "free space (quota exceeded) or choose another {what}",
    errno.EROFS: "the file system is read-only: choose another {what}",
    errno.EACCES: "choose a folder you may write to, or fix its permissions",
    errno.EPERM: "choose a folder you may write to, or fix its permissions",
    errno.EISDIR: "a folder is in the way: give a file name",
    errno.ENOTDIR: "part of the path is a file, not a folder: choose a path in a folder",
    errno.ENOENT: "its folder does not accept new files (e.g. /proc): choose another {what}",
    errno.ENAMETOOLONG: "choose a shorter path",
}

_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def os_errno(exc: BaseException) -> int | None:
    """The system error number behind an OSError, or behind a polars error whose text
    carries one (``... (os error 28)``), else None."""
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    found = _OS_ERROR.search(str(exc))
    return int(found.group(1)) if found else None


def write_error(target: Path, exc: BaseException, what: str = option("out")) -> OutputPathError:
    """One line for a failed write of ``target``: the system's reason and what to do."""
    code = os_errno(exc)
    if code is None:
        return OutputPathError(f"cannot write {target}: {exc}; choose another {what}")
    reason = os.strerror(code)
    reason = reason[:1].lower() + reason[1:]
    hint = _HINTS.get(code, "choose another {what}").format(what=what)
    return OutputPathError(f"cannot write {target}: {reason} (errno {code}); {hint}")


# -- writing ---------------------------------------------------------------------------
def make_folder(path: str | Path, what: str) -> Path:
    """``mkdir -p`` with the umask's mode, failures as one line."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputPathError(f"{what} {folder} is a file, not a folder; give a folder") from None
    except OSError as exc:
        raise write_error(folder, exc, what) from None
    return folder


def temp_prefix(target: Path) -> str:
    return f".{target.name}."


def remove_stale_temps(target: Path) -> None:
    """Remove temporary files a killed run left beside ``target`` (their process is gone)."""
    prefix = temp_prefix(target)
    for tmp in target.parent.glob(f"{prefix}*.tmp"):
        pid_text = tmp.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit() or not tmp.is_file():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:  # alive, someone else's
            continue


#: System errors that, raised while a plan is written, are the output's fault. Others
#: (a missing or unreadable input: ENOENT, EACCES) come from reading and are left to the
#: caller, so that a vanished input is not reported as a write failure.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})


def _write_failure(exc: BaseException) -> bool:
    if not isinstance(exc, OSError | pl.exceptions.PolarsError):
        return False
    return os_errno(exc) in WRITE_ERRNOS


#: Free space under which a failed write is taken for a full disk.
_NEARLY_FULL = 1 << 20


def _diagnose(tmp: Path) -> OSError | None:
    """Why writing ``tmp`` failed, when the writer lost the reason: polars reports a
    Parquet footer that could not be written as "Invalid thrift: transport error",
    without the system's error. Look at the free space, then try a small write."""
    with contextlib.suppress(OSError):
        fs = os.statvfs(tmp.parent)
        if fs.f_bavail * fs.f_frsize < _NEARLY_FULL:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    try:
        with open(tmp, "ab") as probe:
            probe.write(bytes(64 * 1024))
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return exc if exc.errno in WRITE_ERRNOS else None
    return None


@contextlib.contextmanager
def replacing(
    path: str | Path,
    *,
    what: str = option("out"),
    rename: Callable[[Path, Path], None] | None = None,
) -> Iterator[Path]:
    """Write ``path`` atomically: yields a temporary file beside it (named with this
    process id) to write; when the block ends without error it gets the umask's mode
    and is renamed onto ``path``. A failed write leaves no temporary file and the
    previous ``path`` intact. A full disk, a read-only file system (raised as OSError
    or as a polars error carrying ``os error N``) and any failure to create, chmod or
    rename the temporary file become one OutputPathError line. The null device is
    yielded itself: written into, never replaced. Call :func:`check_file` first.

    The temporary file is registered with :mod:`segrule.io.cleanup` (removed on
    SIGTERM/SIGINT). ``rename(temporary, target)`` replaces ``os.replace`` (a run with
    ``--history`` commits output and partition together); its own SegruleErrors pass.
    """
    target = Path(path)
    if is_null_device(target):
        try:
            yield target
        except Exception as exc:
            if _write_failure(exc):
                raise write_error(target, exc, what) from exc
            raise
        return
    make_folder(target.parent, what)
    remove_stale_temps(target)
    try:
        tmp = cleanup.temp_file(
            prefix=f"{temp_prefix(target)}{os.getpid()}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise write_error(target, exc, what) from None
    try:
        try:
            yield tmp
        except Exception as exc:
            if _write_failure(exc):
                raise write_error(target, exc, what) from exc
            cause = _diagnose(tmp) if isinstance(exc, OSError | pl.exceptions.PolarsError) else None
            if cause is not None:
                raise write_error(target, cause, what) from exc
            raise
        try:
            os.chmod(tmp, file_mode())
            (rename or os.replace)(tmp, target)
        except OSError as exc:
            raise write_error(target, exc, what) from exc
    finally:
        cleanup.unregister(tmp)
        # mkstemp made this name for us alone: whatever is there now is ours to remove.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_text(
    path: str | Path,
    text: str,
    *,
    what: str = option("out"),
    inputs: Inputs = NO_INPUTS,
    writes: str = "text",
) -> Path:
    """Check ``path`` and write ``text`` (UTF-8) to it atomically; ``writes`` as for
    :func:`check_file`."""
    target = check_file(path, what=what, inputs=inputs, writes=writes)
    with replacing(target, what=what) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


# -- whole folders -----------------------------------------------------------------------
def _temp_folder_prefix(target: Path) -> str:
    return f".{target.name}.folder-"


def remove_stale_temp_folders(target: Path) -> None:
    """Remove temporary folders a killed run left beside ``target`` (their process is
    gone): ``.<name>.folder-<pid>.<random>.tmp``."""
    prefix = _temp_folder_prefix(target)
    with contextlib.suppress(OSError):
        for tmp in target.parent.glob(f"{glob_escape(prefix)}*.tmp"):
            pid_text = tmp.name[len(prefix) :].split(".", 1)[0]
            if not pid_text.isdigit() or tmp.is_symlink() or not tmp.is_dir():
                continue
            try:
                os.kill(int(pid_text), 0)
            except ProcessLookupError:
                shutil.rmtree(tmp, ignore_errors=True)
            except (PermissionError, OverflowError):  # alive and someone else's; or junk
                continue


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters escaped."""
    return globlib.escape(text)


#: Linux's renameat2 flag that swaps two paths in one step.
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``); False where the system or the file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _put_folder_in_place(tmp: Path, target: Path) -> None:
    """Put the folder ``tmp`` at ``target``. A missing or empty ``target`` is replaced
    by a rename; a full one is exchanged with ``tmp`` in one step (the old content is
    then at ``tmp``), or where the system cannot, moved aside first."""
    if not target.exists() or (target.is_dir() and not any(os.scandir(target))):
        os.rename(tmp, target)
        return
    if _exchange(tmp, target):
        return
    aside = Path(f"{tmp}.old.tmp")
    os.rename(target, aside)
    os.rename(tmp, target)
    os.rename(aside, tmp)  # removed with the temporary folder


@contextlib.contextmanager
def replacing_folder(path: str | Path, *, what: str = option("out")) -> Iterator[Path]:
    """Write the folder ``path`` as a whole: yields a new temporary folder beside it
    (named with this process id) to fill; when the block ends without error it gets
    the umask's mode and takes the place of ``path`` in one step (an existing ``path``,
    which the caller has checked is segrule's to replace, is exchanged with it and
    removed). A failed or interrupted write leaves ``path`` as it was and no temporary
    folder (a killed one is removed by the next write to the same ``path``).
    Call :func:`check_folder` first."""
    target = Path(path)
    make_folder(target.parent, what)
    remove_stale_temp_folders(target)
    try:
        with cleanup.deferred():
            tmp = Path(
                tempfile.mkdtemp(
                    prefix=f"{_temp_folder_prefix(target)}{os.getpid()}.",
                    suffix=".tmp",
                    dir=target.parent,
                )
            )
            cleanup.register(tmp)
    except OSError as exc:
        raise write_error(target, exc, what) from None
    try:
        try:
            yield tmp
        except Exception as exc:
            if _write_failure(exc):
                raise write_error(target, exc, what) from exc
            raise
        try:
            os.chmod(tmp, dir_mode())
            with cleanup.deferred():
                _put_folder_in_place(tmp, target)
        except OSError as exc:
            raise write_error(target, exc, what) from exc
    finally:
        # The failed new folder, or after the exchange the old one.
        shutil.rmtree(tmp, ignore_errors=True)
        cleanup.unregister(tmp)


# -- folders segrule owns ----------------------------------------------------------------
def owned_files(folder: Path, marker: str, what: str) -> set[str] | None:
    """The files segrule wrote into ``folder`` as its marker lists them; None when the
    folder does not exist yet; an empty set for an empty folder. A folder holding
    anything without the marker is refused."""
    if not folder.exists():
        return None
    entries = {e.name for e in os.scandir(folder)}
    if marker not in entries:
        if entries:
            shown = _some(sorted(entries))
            raise OutputPathError(
                f"{what} {folder} holds files segrule did not write ({shown}) and no {marker} "
                "marker; give a new or empty folder"
            )
        return set()
    try:
        listed = json.loads((folder / marker).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError) as exc:
        raise OutputPathError(
            f"{what} {folder}: its {marker} marker cannot be read ({exc}); give a new or "
            "empty folder"
        ) from None
    # Only plain names: a marker edited to list ../x must not make segrule delete it.
    return {n for n in listed if isinstance(n, str) and n == Path(n).name and n != marker}


def write_marker(folder: Path, marker: str, files: Iterable[str], what: str) -> None:
    """Record the files segrule wrote into ``folder`` (atomically)."""
    record = {"written_by": "segrule", "files": sorted(set(files))}
    with replacing(folder / marker, what=what) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


# -- the history folder ------------------------------------------------------------------
#: What segrule itself puts at the top of a history folder: partitions ``as_of=...``,
#: their temporary files and commit journals ``.as_of=...``, and the lock file.
_HISTORY_ENTRY = re.compile(r"^(\.?as_of=|\.segrule-history\.lock$)")


def check_history_folder(path: str | Path, inputs: Inputs = NO_INPUTS) -> Path:
    """Check a ``--history`` folder: not an input, not holding one, and holding nothing
    at its top level but history partitions (``as_of=...``)."""
    return check_folder(
        path,
        what=option("history"),
        inputs=inputs,
        allowed=lambda name: bool(_HISTORY_ENTRY.match(name)),
        describe="a history folder holds only as_of=... partitions: ",
    )
