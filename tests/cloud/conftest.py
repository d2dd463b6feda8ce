"""An S3-compatible server for the object-storage tests: moto's server mode on a free
local port, started once per session; each test gets the AWS environment variables
pointing at it (as a user's shell would hold them) and a bucket of its own."""

from __future__ import annotations

import functools
import http.server
import itertools
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import obstore
import pytest
from moto import server as moto_server

#: A value no message may ever show (set as the secret key in every test's environment).
SECRET = "s3cr3t-Never-Print-Me-42"

_buckets = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(
        ip_address="127.0.0.1", port=_free_port(), verbose=False
    )
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment a user of an S3-compatible store sets; returns the endpoint."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    return s3_endpoint


class Bucket:
    """A fresh bucket: ``url(key)``, ``put(key, bytes or path)``, ``get(key)``, ``keys()``."""

    def __init__(self, name: str) -> None:
        from obstore.store import from_url

        self.name = name
        self.store = from_url(f"s3://{name}")

    def url(self, key: str = "") -> str:
        return f"s3://{self.name}/{key}"

    def put(self, key: str, data: bytes | Path) -> str:
        obstore.put(self.store, key, data.read_bytes() if isinstance(data, Path) else data)
        return self.url(key)

    def put_tree(self, prefix: str, folder: Path) -> str:
        """Upload every file under ``folder`` to ``prefix/`` (relative paths kept)."""
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self.put(f"{prefix}/{path.relative_to(folder).as_posix()}", path)
        return self.url(f"{prefix}/")

    def get(self, key: str) -> bytes:
        return bytes(obstore.get(self.store, key).bytes())

    def keys(self) -> list[str]:
        return sorted(str(m["path"]) for batch in obstore.list(self.store) for m in batch)


@pytest.fixture
def bucket(aws_env: str) -> Bucket:
    import boto3

    name = f"segrule-test-{next(_buckets)}-{os.getpid()}"
    boto3.client("s3", endpoint_url=aws_env).create_bucket(Bucket=name)
    return Bucket(name)


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder with HTTP Range requests, as real web servers and CDNs do (polars
    reads Parquet by ranges; Python's handler has none)."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_head(self):  # type: ignore[no-untyped-def]
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path.split("?", 1)[0]))
        if not header or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        start_text, _, end_text = header.removeprefix("bytes=").partition("-")
        if start_text:
            start = int(start_text)
            end = min(int(end_text), len(data) - 1) if end_text else len(data) - 1
        else:  # a suffix range: the last N bytes
            start, end = max(0, len(data) - int(end_text)), len(data) - 1
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        import io

        return io.BytesIO(data[start : end + 1])


@pytest.fixture
def web_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local web server (a thread) serving a folder: (base URL, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_RangeHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def secret() -> str:
    """The secret access key in every test's environment (never shown in a message)."""
    return SECRET
