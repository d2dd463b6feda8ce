"""Object stores and web URLs: ``s3://``, ``gs://``, ``az://`` (and their aliases) and
read-only ``https://``/``http://``.

Tables are scanned by polars' own cloud I/O (the Rust ``object_store`` crate);
segrule lists, checks and uploads through obstore, the Python binding of the same
crate, so both read the same environment variables and the same ``storage_options``
keys (``aws_region``, ``endpoint_url``, ...). obstore is the ``segrule[cloud]`` extra;
without it a cloud location is a one-line error saying what to install.

Credentials come from the environment as the providers' tools read it
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
``AWS_ENDPOINT_URL``, ``AWS_REGION``, web identity and instance metadata;
``GOOGLE_APPLICATION_CREDENTIALS``; ``AZURE_STORAGE_ACCOUNT_NAME``/``..._KEY``/
``..._SAS_KEY``, ...), never from a rule file: the rule-set loader refuses
secret-looking ``storage_options`` keys
(:func:`segrule.model.ruleset.check_storage_options`). Messages never show an option's
value.

An output goes to a store in one step, :func:`upload`: the file is first written and
checked locally (as for a local ``--out``) and then put with one request, or for a
large file a multipart upload that the store completes only after the last part. A
reader sees the previous object or the whole new one, never a part (docs/object-storage.md).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from segrule.errors import DataError, UsageError
from segrule.io.locations import SCHEMES, Location, redact
from segrule.io.outpaths import OutputPathError

#: Schemes an output may be written to (http and https are read-only).
WRITABLE = frozenset({"s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss"})
WEB = frozenset({"http", "https"})

#: What to install when obstore is missing.
EXTRA = "pip install 'segrule[cloud]'"

#: obstore's client options (the rest of ``storage_options`` configures the store).
_CLIENT_KEYS = frozenset(
    {
        "allow_http",
        "allow_invalid_certificates",
        "connect_timeout",
        "default_content_type",
        "pool_idle_timeout",
        "pool_max_idle_per_host",
        "proxy_url",
        "proxy_ca_certificate",
        "proxy_excludes",
        "randomize_addresses",
        "read_timeout",
        "timeout",
        "user_agent",
    }
)
_BOOL_CLIENT_KEYS = frozenset({"allow_http", "allow_invalid_certificates", "randomize_addresses"})
_PROVIDER_PREFIX = re.compile(r"^(aws|google|azure|azure_storage)_")


class MissingExtraError(UsageError):
    """obstore (``segrule[cloud]``) is not installed."""


@dataclass(frozen=True)
class CloudObject:
    """One object of a store: its full URL, its key relative to what was listed (for
    messages and hive partitions), its size and entity tag."""

    url: str
    name: str
    size: int
    e_tag: str | None = None


def is_cloud(where: object) -> bool:
    """Whether ``where`` is text naming an object-store or web URL."""
    if not isinstance(where, str) or "://" not in where:
        return False
    scheme = where.split("://", 1)[0].lower()
    return SCHEMES.get(scheme) == "cloud"


def split(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b.parquet`` -> (``s3://bucket``, ``a/b.parquet``). For a web URL
    the root is scheme and host and the key the path (its query string kept on the
    key: signed URLs carry their signature there)."""
    parts = urlsplit(url)
    key = parts.path.lstrip("/")
    if parts.query:
        key += f"?{parts.query}"
    return f"{parts.scheme}://{parts.netloc}", key


def key_path(url: str) -> PurePosixPath:
    """The key of ``url`` as a path, without a query string (for its extension)."""
    return PurePosixPath(urlsplit(url).path)


def require() -> None:
    """Raise the one-line MissingExtraError when obstore is not installed."""
    _obstore()


def _obstore() -> Any:
    try:
        import obstore
    except ImportError:
        raise MissingExtraError(
            f"reading or writing object stores needs obstore: {EXTRA}"
        ) from None
    return obstore


def _store(root: str, storage_options: Mapping[str, str] | None, shown: str) -> Any:
    """An obstore store for ``root`` (scheme and bucket/host), configured from the
    environment and ``storage_options`` (an unknown key is a one-line error: polars
    would silently ignore a misspelt one)."""
    _obstore()
    from obstore.store import from_url

    # Any: obstore types these per store (S3Config, ...); the keys are checked at run time.
    config: Any = {}
    client: Any = {}
    scheme = root.split("://", 1)[0].lower()
    if scheme == "http":
        client["allow_http"] = True  # the user wrote http://
    for key, value in (storage_options or {}).items():
        bare = _PROVIDER_PREFIX.sub("", str(key).lower())
        if bare in _CLIENT_KEYS:
            text = str(value)
            client[bare] = (
                text.lower() in ("1", "true", "yes") if bare in _BOOL_CLIENT_KEYS else text
            )
        else:
            config[str(key)] = str(value)
    try:
        if scheme in WEB:
            if config:
                raise DataError(
                    f"{shown}: storage options {', '.join(sorted(config))} do not apply to "
                    f"{scheme}:// URLs; remove them"
                )
            return from_url(root, client_options=client or None)
        return from_url(root, config=config or None, client_options=client or None)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{shown}: {error_text(exc)}") from None


def storage_options_for(
    location: Location, given: Mapping[str, str] | None
) -> dict[str, str] | None:
    """The ``storage_options`` polars gets for ``location``: the rule set's (polars
    reads the environment itself), and ``allow_http`` for an ``http://`` URL."""
    options = dict(given or {})
    if location.scheme == "http":
        options.setdefault("allow_http", "true")
    return options or None


_SECRET_PARAM = re.compile(
    r"(?i)([?&][^=&\s]*(?:password|passwd|secret|token|key|signature|sig|credential)[^=&\s]*=)[^&\s)]*"
)


def error_text(exc: BaseException) -> str:
    """One line for a store's error: the first line of its message, without the
    response body the store sent back, URLs redacted."""
    text = str(exc).strip()
    if "NoSuchBucket" in text:
        return "the bucket does not exist; check the URL"
    line = text.splitlines()[0] if text else type(exc).__name__
    line = re.sub(r"\s*<\?xml.*$", "", line)
    line = re.sub(r"https?://\S+", lambda m: redact(m.group(0)), line)
    # Keys are echoed without their scheme too ("Object at location k?X-Amz-Signature=...").
    line = _SECRET_PARAM.sub(r"\1***", line)
    name = type(exc).__name__
    if "NotFound" in name or "FileNotFound" in name or "not found" in line.lower():
        return f"not found ({line})"
    if "Unauthenticated" in name or "PermissionDenied" in name:
        return f"access denied ({line}); check the credentials in the environment"
    return line


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A key glob as a regular expression: ``*`` and ``?`` stay within one level,
    ``**`` crosses levels (as polars' and Python's recursive globs)."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape(pattern[i])
                i += 1
            else:
                out += fnmatch.translate(pattern[i : end + 1])[4:-3]
                i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def _hidden(name: str) -> bool:
    """Keys Spark and Hadoop write beside data (``_SUCCESS``, ``.crc``), skipped like a
    local folder's hidden files."""
    return any(part.startswith((".", "_")) and "=" not in part for part in name.split("/"))


def list_objects(
    url: str, storage_options: Mapping[str, str] | None, suffixes: tuple[str, ...]
) -> tuple[list[CloudObject], bool]:
    """The objects a source URL names, sorted by key, and whether it is a prefix (a
    "folder": hive partitions may be in the keys). An object's key as given; else the
    keys under ``url/`` (a prefix) or matching a glob, of the given ``suffixes``,
    without hidden keys (a part starting with ``.`` or ``_``). Web URLs name one file.
    One request per object (HEAD) or per thousand keys (LIST)."""
    obstore = _obstore()
    shown = redact(url)
    root, key = split(url)
    store = _store(root, storage_options, shown)
    scheme = root.split("://", 1)[0].lower()
    glob = any(ch in key for ch in "*?[") and scheme not in WEB
    if scheme in WEB and "?" in key:
        # A signed URL: obstore would send its query as part of the path; polars reads
        # it as given and reports a missing object itself.
        return [CloudObject(url, key_path(url).name, -1)], False
    if not glob and key and not key.endswith("/"):
        try:
            meta = obstore.head(store, key)
        except FileNotFoundError:
            meta = None
        except Exception as exc:
            if scheme in WEB and "builder error" not in str(exc):
                # Some servers refuse HEAD: polars will GET it and say what is wrong.
                return [CloudObject(url, key_path(url).name, -1)], False
            raise DataError(f"{shown}: {error_text(exc)}") from None
        if meta is not None:
            return [
                CloudObject(url, key_path(url).name, int(meta["size"]), meta.get("e_tag"))
            ], False
        if scheme in WEB:
            raise DataError(f"{shown}: not found; check the URL")
    elif scheme in WEB:
        raise DataError(f"{shown}: a web server cannot list a folder; give the URL of one file")
    if glob:
        cut = min(key.index(ch) for ch in "*?[" if ch in key)
        prefix = key[:cut].rsplit("/", 1)[0] + "/" if "/" in key[:cut] else ""
        pattern = _glob_regex(key)
    else:
        prefix = key.rstrip("/") + "/" if key else ""
        pattern = None
    objects: list[CloudObject] = []
    try:
        for batch in obstore.list(store, prefix=prefix or None):
            for meta in batch:
                path = str(meta["path"])
                name = path[len(prefix) :]
                if pattern is not None and not pattern.match(path):
                    continue
                if _hidden(name) or not path.lower().endswith(suffixes):
                    continue
                objects.append(
                    CloudObject(f"{root}/{path}", name, int(meta["size"]), meta.get("e_tag"))
                )
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{shown}: {error_text(exc)}") from None
    objects.sort(key=lambda o: o.url)
    if not objects and not glob and key and not key.endswith("/"):
        # Neither an object nor a "folder" of that name.
        raise DataError(f"{shown}: not found; check the URL (and that the credentials may read it)")
    return objects, not glob


def read_head(obj: CloudObject, storage_options: Mapping[str, str] | None, length: int) -> bytes:
    """The first ``length`` bytes of an object (fewer when it is shorter)."""
    obstore = _obstore()
    root, key = split(obj.url)
    store = _store(root, storage_options, redact(obj.url))
    try:
        if obj.size >= 0:
            if obj.size == 0:
                return b""
            return bytes(obstore.get_range(store, key, start=0, length=min(length, obj.size)))
        return bytes(obstore.get(store, key).bytes())[:length]
    except Exception as exc:
        raise DataError(f"{redact(obj.url)}: {error_text(exc)}") from None


def count_bytes(obj: CloudObject, storage_options: Mapping[str, str] | None, byte: bytes) -> int:
    """How many times ``byte`` occurs in an object (streamed: memory stays bounded)."""
    obstore = _obstore()
    root, key = split(obj.url)
    store = _store(root, storage_options, redact(obj.url))
    count = 0
    try:
        for chunk in obstore.get(store, key).stream(min_chunk_size=8 * 1024 * 1024):
            count += bytes(chunk).count(byte)
    except Exception as exc:
        raise DataError(f"{redact(obj.url)}: {error_text(exc)}") from None
    return count


def check_writable(url: str, what: str) -> str:
    """Refuse an output URL segrule cannot write (a web URL, a bucket without a key, a
    key ending in ``/``, a glob), in one line; returns the key."""
    shown = redact(url)
    scheme = url.split("://", 1)[0].lower()
    if scheme in WEB:
        raise OutputPathError(
            f"{what} {shown}: {scheme}:// is read-only for segrule; write to a local file "
            "or an object store (s3://, gs://, az://)"
        )
    _, key = split(url)
    if not key or key.endswith("/") or any(ch in key for ch in "*?["):
        raise OutputPathError(
            f"{what} {shown}: give the object's full key, e.g. {shown.rstrip('/')}/scores.parquet"
        )
    return key


def upload(local: Path, url: str, storage_options: Mapping[str, str] | None, what: str) -> None:
    """Put the file ``local`` at ``url`` as one object: one PUT, or for a file over
    obstore's chunk size (5 MiB) a multipart upload the store completes after its last
    part. Either way the object appears whole or not at all, and the previous object
    stays until then (parts of an upload cut short stay hidden in the bucket until a
    lifecycle rule removes them). A failure is one OutputPathError line naming the URL."""
    obstore = _obstore()
    shown = redact(url)
    root, key = split(url)
    try:
        store = _store(root, storage_options, shown)
    except DataError as exc:
        raise OutputPathError(f"{what} {exc}") from None
    try:
        obstore.put(store, key, local)
    except Exception as exc:
        raise OutputPathError(
            f"cannot write {what} {shown}: {error_text(exc)}; nothing was written there "
            "(a previous object is unchanged)"
        ) from None


def find_table(data_url: str, table: str, extensions: tuple[str, ...]) -> str | None:
    """In a data folder in a store (``s3://bucket/prefix/``): the URL of
    ``<table><ext>`` (extensions in order of preference) or of a ``<table>/`` prefix
    holding objects, else None. One LIST request with a delimiter (the prefix's top
    level only)."""
    root, key = split(data_url)
    prefix = key.rstrip("/") + "/" if key else ""
    files, folders = _top_level(root, prefix, redact(data_url))
    for ext in extensions:
        if f"{table}{ext}" in files:
            return f"{root}/{prefix}{table}{ext}"
    if table in folders:
        return f"{root}/{prefix}{table}/"
    return None


def _top_level(root: str, prefix: str, shown: str) -> tuple[frozenset[str], frozenset[str]]:
    """The object names and sub-prefix names at the top of ``prefix`` (one request; not
    cached, so that a long-lived process sees objects added since)."""
    obstore = _obstore()
    if root.split("://", 1)[0].lower() in WEB:
        raise DataError(
            f"{shown}: a web server cannot list a folder; name each table's URL instead"
        )
    store = _store(root, None, shown)
    try:
        listing = obstore.list_with_delimiter(store, prefix=prefix or None)
    except Exception as exc:
        raise DataError(f"{shown}: {error_text(exc)}") from None
    files = frozenset(str(m["path"])[len(prefix) :] for m in listing["objects"])
    folders = frozenset(p[len(prefix) :].rstrip("/") for p in listing["common_prefixes"])
    if not files and not folders:
        raise DataError(f"{shown}: the data folder is empty or does not exist; check the URL")
    return files, folders
