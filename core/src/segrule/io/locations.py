"""Where a table is read from or an output written to: a local path, an object store or
web URL, or a database URI. One parser for sources and outputs, so that a URL is never
taken for a local path (``--out s3://bucket/x.parquet`` once wrote a folder named
``s3:``), and one redaction, so that a password in a URI is never printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

#: URL scheme -> kind of store. ``cloud``: read and written through polars' own cloud
#: I/O (object stores, and read-only HTTP(S)); ``database``: PostgreSQL through ADBC.
SCHEMES: dict[str, Literal["cloud", "database"]] = {
    "s3": "cloud",
    "s3a": "cloud",
    "gs": "cloud",
    "gcs": "cloud",
    "az": "cloud",
    "azure": "cloud",
    "abfs": "cloud",
    "abfss": "cloud",
    "http": "cloud",
    "https": "cloud",
    "postgresql": "database",
    "postgres": "database",
}

Kind = Literal["file", "cloud", "database"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# `s3:/bucket/key`: what pathlib makes of `s3://bucket/key` (it collapses `//`).
_COLLAPSED = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]{1,}):/(?!/)")


class LocationError(ValueError):
    """A location segrule cannot read or write (unknown scheme); the message is one line."""


@dataclass(frozen=True)
class Location:
    """A parsed source or output location. ``text`` is as given (it may hold a
    password: show :attr:`shown` instead)."""

    text: str
    kind: Kind
    scheme: str | None = None

    @property
    def shown(self) -> str:
        """The location with any password replaced by ``***``: safe to print."""
        return redact(self.text)

    @property
    def is_file(self) -> bool:
        return self.kind == "file"


def locate(where: str | Path) -> Location:
    """Parse ``where``. A :class:`~pathlib.Path` is always a local path; a string with
    ``scheme://`` is a URL of a known scheme (:data:`SCHEMES`) or a LocationError naming
    the schemes that are; ``file://`` is a local path."""
    if isinstance(where, Path):
        collapsed = _COLLAPSED.match(str(where))
        if collapsed and collapsed.group(1).lower() in SCHEMES:
            # Path("s3://b/k") is "s3:/b/k": a URL that went through pathlib.
            scheme = collapsed.group(1).lower()
            raise LocationError(
                f"{where}: looks like a {scheme}:// URL turned into a local path; pass "
                "it as text (str), not as a pathlib.Path"
            )
        return Location(str(where), "file")
    text = str(where)
    match = _SCHEME.match(text)
    if match is None:
        return Location(text, "file")
    scheme = match.group(1).lower()
    if scheme == "file":
        return Location(text[len(match.group(0)) :], "file")
    kind = SCHEMES.get(scheme)
    if kind is None:
        known = ", ".join(f"{s}://" for s in ("s3", "gs", "az", "https", "postgresql"))
        raise LocationError(
            f"{redact(text)}: unknown URL scheme '{scheme}://'; use a local path, {known}"
        )
    return Location(text, kind, scheme)


def redact(text: str) -> str:
    """``text`` with the password of a URL's user part, and the value of any
    ``password=`` / ``secret``-like query parameter, replaced by ``***``."""
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", text)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = re.sub(
        r"(?i)((?:^|&)[^=&]*(?:password|passwd|secret|token|key|signature|sig)[^=&]*=)[^&]*",
        r"\1***",
        parts.query,
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
