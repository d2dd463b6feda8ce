"""Text encodings of CSV files: names, detection, and UTF-8 copies.

polars reads UTF-8 only. A CSV in another encoding (GBK/GB18030 and Big5 exports,
UTF-16 from Excel's "Unicode text", Windows-1252 from European tools) is converted,
streamed in 1 MiB chunks through an incremental decoder, into a UTF-8 copy in the
temporary folder (``TMPDIR``), which polars then scans. UTF-8 files, with or without a
byte-order mark, are read as they are.

Detection, when the rule set names no encoding: a byte-order mark (UTF-8, UTF-16 LE/BE,
UTF-32) decides; else UTF-16 without one is told by its zero bytes; else UTF-8 when the
sample decodes as UTF-8; else the sample is taken as GB18030 when it decodes as such and
nearly all its characters are common simplified Chinese (GB2312), and otherwise
charset-normalizer decides (the GBK family is read as GB18030, its superset; Latin
code pages as Windows-1252 when that reads as letters). The sample is the first 256 KiB,
or, when those are ASCII, 256 KiB from the file's first non-ASCII byte.

The copies live as long as what may still read them (:func:`copies_scope`): a copy made
inside a scope (one eager run of the Python API) is removed when the scope ends; one made
outside any scope (a lazy plan) when the process exits. SIGTERM/SIGINT remove them
(:mod:`segrule.io.cleanup`), and copies left by a killed process (SIGKILL, power loss) are
removed by the next conversion. A copy holds the user's data: it is created 0600.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import itertools
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from segrule.errors import DataError
from segrule.io import cleanup

#: Bytes of a file looked at to tell its encoding.
SAMPLE_BYTES = 256 * 1024
#: Bytes decoded at a time when converting.
CHUNK_BYTES = 1 << 20
#: Name prefix of the UTF-8 copies in the temporary folder (then ``<pid>.``).
COPY_PREFIX = "segrule-utf8-"

#: Spellings Python does not know, and the codec they mean.
_ALIASES = {
    "utf16": "utf-16",
    "utf16le": "utf-16-le",
    "utf16be": "utf-16-be",
    "utf32": "utf-32",
    "utf8sig": "utf-8-sig",
    "utf8bom": "utf-8-sig",
    "xgbk": "gbk",
    "windows936": "gbk",
    "gb231280": "gb2312",
    "windows950": "cp950",
    "sjis": "shift_jis",
}
#: Text codecs that are not encodings of a file's characters.
_NOT_FILE_ENCODINGS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}
#: Read as GB18030, which holds every GBK and GB2312 character (and more).
_GB_FAMILY = {"gbk", "gb2312", "gb18030"}
#: Latin-script single-byte code pages charset-normalizer picks among on short samples.
_LATIN_CODE_PAGES = {
    "cp437", "cp775", "cp850", "cp852", "cp858", "cp1250", "cp1252", "cp1257",
    "latin_1", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10",
    "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "mac_roman", "mac_latin2",
    "mac_iceland", "hp_roman8",
}  # fmt: skip
#: Non-letters common in Western European text (currency, quotes, degrees, ...).
_WESTERN_SYMBOLS = set("€£¥¢°§²³µ«»±×÷–—‘’‚“”„…•·¼½¾©®™ªº¿¡ ")


def canonical_encoding(name: str) -> str:
    """The codec to decode a file named ``name`` with (``gbk`` -> ``gb18030``,
    ``UTF16LE`` -> ``utf-16-le``); ValueError with what to give when it is not a text
    encoding Python knows."""
    text = name.strip()
    key = re.sub(r"[\s_\-]", "", text.lower())
    try:
        info = codecs.lookup(_ALIASES.get(key, text))
    except LookupError:
        raise ValueError(
            f"unknown encoding '{name}'; give one such as gb18030 (also reads gbk, gb2312), "
            "big5, utf-16, utf-8, cp1252"
        ) from None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_FILE_ENCODINGS:
        raise ValueError(
            f"'{name}' is not a text file encoding; give one such as gb18030, big5, utf-16, utf-8"
        )
    return "gb18030" if info.name in _GB_FAMILY else info.name


def is_utf8(encoding: str) -> bool:
    """Whether polars reads a file of ``encoding`` as it is (UTF-8, with or without BOM:
    polars skips a UTF-8 byte-order mark)."""
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def shown(encoding: str) -> str:
    """An encoding as people write it: GB18030, UTF-16-LE, CP1252."""
    return codecs.lookup(encoding).name.upper().replace("_", "-")


# -- detection -------------------------------------------------------------------------
def _bom(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # the codec reads the mark and the byte order from it
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 LE or BE when most odd or even bytes are zero (ASCII-heavy text)."""
    sample = head[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_zeros = sample[0 : pairs * 2 : 2].count(0)
    odd_zeros = sample[1 : pairs * 2 : 2].count(0)
    if odd_zeros > pairs * 0.3 and even_zeros < pairs * 0.05:
        return "utf-16-le"
    if even_zeros > pairs * 0.3 and odd_zeros < pairs * 0.05:
        return "utf-16-be"
    return None


def _decodes(sample: bytes, encoding: str, final: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(sample, final=final)
    except UnicodeDecodeError:
        return None


def _common_simplified_chinese(text: str) -> bool:
    """Whether nearly all non-ASCII characters of ``text`` are in GB2312 (the common
    simplified Chinese characters, CJK punctuation and full-width forms). Big5 or
    Shift-JIS bytes read as GB18030 give mostly characters outside it."""
    wide = "".join(ch for ch in text if ord(ch) > 127)
    if not wide:
        return False
    common = len(wide.encode("gb2312", errors="ignore").decode("gb2312"))
    return common >= 0.9 * len(wide)


def _western(text: str) -> bool:
    """Whether every non-ASCII character is a Latin letter or a common symbol."""
    for ch in {c for c in text if ord(c) > 127}:
        if ch in _WESTERN_SYMBOLS:
            continue
        if not (unicodedata.category(ch).startswith("L") and "LATIN" in unicodedata.name(ch, "")):
            return False
    return True


def guess_encoding(sample: bytes, *, final: bool = True) -> str | None:
    """The encoding of ``sample`` (bytes that are not ASCII-only), or None when nothing
    fits. ``final``: the sample is the whole rest of the file (else it may end inside a
    character)."""
    if _decodes(sample, "utf-8", final) is not None:
        return "utf-8"
    # UTF-8 with a stray bad byte or two (a damaged line, reported later where it is):
    # other encodings' text read as UTF-8 gives few valid multi-byte characters.
    as_utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final=final)
    damaged = as_utf8.count("\ufffd")
    wide = sum(1 for ch in as_utf8 if ord(ch) > 127) - damaged
    if damaged <= 2 and wide >= 20 * damaged:
        return "utf-8"
    if not final and b"\n" in sample:
        # A newline is one byte in every ASCII-compatible encoding (no trail byte of
        # GBK, Big5 or Shift-JIS is 0x0A): cut there, so no character is cut in half.
        sample = sample[: sample.rindex(b"\n") + 1]
        final = True
    # GB18030 when nearly all characters are common simplified Chinese; a stray bad
    # byte (a damaged line) does not change that, and is then reported where it is.
    as_gb = codecs.getincrementaldecoder("gb18030")(errors="replace").decode(sample, final=final)
    damaged = as_gb.count("\ufffd")
    if damaged <= max(1, len(as_gb) // 1000) and _common_simplified_chinese(
        as_gb.replace("\ufffd", "")
    ):
        return "gb18030"
    import charset_normalizer

    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return None
    found = codecs.lookup(best.encoding).name
    if found in _GB_FAMILY:
        return "gb18030"
    if found.replace("-", "_") in _LATIN_CODE_PAGES:
        western = _decodes(sample, "cp1252", final)
        if western is not None and _western(western):
            return "cp1252"
    return found


def detect_encoding(path: Path) -> str | None:
    """The encoding of the file at ``path`` (see the module docstring), or None when it
    cannot be told."""
    with path.open("rb") as f:
        head = f.read(SAMPLE_BYTES)
        marked = _bom(head) or _utf16_without_bom(head)
        if marked:
            return marked
        sample = head
        if head.isascii():
            # ASCII so far: the first non-ASCII byte decides (a GBK export whose first
            # Chinese city name is on line 40,000).
            start = len(head)
            while True:
                chunk = f.read(CHUNK_BYTES)
                if not chunk:
                    return "utf-8"  # ASCII throughout
                if not chunk.isascii():
                    found = re.search(rb"[\x80-\xff]", chunk)
                    assert found is not None
                    start += found.start()
                    break
                start += len(chunk)
            f.seek(start)
            sample = f.read(SAMPLE_BYTES)
        final = not f.read(1)
    return guess_encoding(sample, final=final)


# -- undecodable bytes -----------------------------------------------------------------
@dataclass(frozen=True)
class BadBytes:
    """Where a file stops decoding: 1-based line, 0-based byte offset, the byte."""

    line: int
    offset: int
    byte: int

    def describe(self) -> str:
        return f"byte 0x{self.byte:02x} at line {self.line} (byte offset {self.offset})"


def _bad_bytes(exc: UnicodeDecodeError, chunk: bytes, fed: int, lines: int, enc: str) -> BadBytes:
    """``exc`` raised decoding ``chunk`` (the decoder's pending bytes in front of it),
    which starts at byte ``fed`` of the file after ``lines`` newlines."""
    data = exc.object if isinstance(exc.object, bytes) else bytes(exc.object)
    begins = fed - (len(data) - len(chunk))
    before = data[: exc.start].decode(enc, errors="replace")
    return BadBytes(lines + before.count("\n") + 1, begins + exc.start, data[exc.start])


def find_undecodable(path: Path, encoding: str) -> BadBytes | None:
    """The first place ``path`` does not decode as ``encoding`` (reads it), or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    fed = lines = 0
    with path.open("rb") as f:
        while True:
            chunk = f.read(CHUNK_BYTES)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return _bad_bytes(exc, chunk, fed, lines, encoding)
            lines += text.count("\n")
            fed += len(chunk)
            if not chunk:
                return None


# -- UTF-8 copies ----------------------------------------------------------------------
@dataclass
class _Copy:
    path: Path
    #: scopes using the copy; when the last ends and it is not pinned, it is removed
    scopes: set[int] = field(default_factory=set)
    #: made or reused outside any scope (a lazy plan): kept until the process exits
    pinned: bool = False


_copies: dict[tuple[object, ...], _Copy] = {}
_lock = threading.Lock()
_scope: ContextVar[int | None] = ContextVar("segrule_copies_scope", default=None)
_scope_ids = itertools.count(1)


@contextlib.contextmanager
def copies_scope() -> Iterator[None]:
    """UTF-8 copies made (or reused) inside the block are removed when it ends, unless
    something outside any scope uses them too. Nested blocks: the outermost ends them.
    Use around work that reads the data before returning (an eager run)."""
    if _scope.get() is not None:
        yield
        return
    sid = next(_scope_ids)
    token = _scope.set(sid)
    try:
        yield
    finally:
        _scope.reset(token)
        with _lock:
            done = []
            for key, copy in _copies.items():
                copy.scopes.discard(sid)
                if not copy.scopes and not copy.pinned:
                    done.append(key)
            for key in done:
                _remove(_copies.pop(key).path)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    cleanup.unregister(path)


def remove_copies() -> None:
    """Remove every UTF-8 copy this process made (at exit; also for tests)."""
    with _lock:
        for copy in _copies.values():
            _remove(copy.path)
        _copies.clear()


atexit.register(remove_copies)


def copy_paths() -> list[Path]:
    """The UTF-8 copies that exist now (for tests and messages)."""
    with _lock:
        return [c.path for c in _copies.values()]


def remove_stale_copies(folder: str | Path | None = None) -> int:
    """Remove copies in the temporary folder left by processes that are gone (killed
    with SIGKILL); only this user's. Returns how many were removed."""
    base = Path(folder or tempfile.gettempdir())
    removed = 0
    uid = os.getuid() if hasattr(os, "getuid") else None
    with contextlib.suppress(OSError):
        for entry in os.scandir(base):
            if not entry.name.startswith(COPY_PREFIX):
                continue
            pid_text = entry.name[len(COPY_PREFIX) :].split(".", 1)[0]
            if not pid_text.isdigit() or int(pid_text) == os.getpid():
                continue
            try:
                if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                os.kill(int(pid_text), 0)
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
            except OSError:  # alive and someone else's, or gone meanwhile
                continue
    return removed


def _use(copy: _Copy) -> None:
    sid = _scope.get()
    if sid is None:
        copy.pinned = True
    else:
        copy.scopes.add(sid)


def utf8_copy(path: Path, encoding: str, name: str, hint: str) -> Path:
    """A UTF-8 copy of the CSV ``path`` read as ``encoding`` (see the module docstring).

    The same unchanged file in the same encoding is converted once per process. Bytes
    that do not decode are a one-line DataError naming ``name``, the line and byte
    offset and the encoding (then ``hint``: how it was chosen and how to give another,
    e.g. ``(detected); give ...``); so is a failure to
    write the copy (a full disk: set ``TMPDIR``)."""
    st = path.stat()
    key = (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, encoding)
    with _lock:
        found = _copies.get(key)
        if found is not None and found.path.exists():
            _use(found)
            return found.path
    remove_stale_copies()
    folder = tempfile.gettempdir()
    try:
        tmp = cleanup.temp_file(prefix=f"{COPY_PREFIX}{os.getpid()}.", suffix=".csv", dir=folder)
    except OSError as exc:
        raise DataError(
            f"{name}: cannot convert it to UTF-8: cannot create a file in {folder} "
            f"({exc.strerror or exc}); set TMPDIR to a folder you may write to"
        ) from None
    try:
        _convert(path, tmp, encoding, name, hint)
    except BaseException:
        _remove(tmp)
        raise
    with _lock:
        copy = _copies.setdefault(key, _Copy(tmp))
        if copy.path != tmp:  # another thread converted the same file meanwhile
            _remove(tmp)
        _use(copy)
        return copy.path


def _convert(src_path: Path, tmp: Path, encoding: str, name: str, hint: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    fed = lines = 0
    try:
        with src_path.open("rb") as src, tmp.open("wb") as dst:
            while True:
                chunk = src.read(CHUNK_BYTES)
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    bad = _bad_bytes(exc, chunk, fed, lines, encoding)
                    raise DataError(
                        f"{name}: {bad.describe()} is not valid {shown(encoding)} {hint}"
                    ) from None
                lines += text.count("\n")
                # A lone surrogate (broken UTF-16) cannot be UTF-8: reported as such.
                try:
                    dst.write(text.encode("utf-8"))
                except UnicodeEncodeError:
                    raise DataError(
                        f"{name}: line {lines + 1} holds half of a UTF-16 character pair, "
                        f"which is not valid {shown(encoding)} {hint}"
                    ) from None
                fed += len(chunk)
                if not chunk:
                    break
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DataError(
            f"{name}: cannot convert it to UTF-8 in {tmp.parent}: {reason}; free space there "
            "or set TMPDIR to a folder with room"
        ) from None
