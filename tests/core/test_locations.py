"""Locations: URLs are never taken for local paths, and passwords are never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from segrule.errors import DataError
from segrule.io.locations import LocationError, locate, redact
from segrule.io.outpaths import OutputPathError, check_file
from segrule.io.sources import scan_table


@pytest.mark.parametrize(
    ("text", "kind", "scheme"),
    [
        ("orders.parquet", "file", None),
        ("/data/orders/**/*.parquet", "file", None),
        ("C:/data/orders.parquet", "file", None),
        ("file:///data/orders.parquet", "file", None),
        ("s3://bucket/orders.parquet", "cloud", "s3"),
        ("GS://bucket/orders.parquet", "cloud", "gs"),
        ("az://container/orders.parquet", "cloud", "az"),
        ("https://example.org/orders.parquet", "cloud", "https"),
        ("postgresql://user@db/shop", "database", "postgresql"),
        ("postgres://db/shop", "database", "postgres"),
    ],
)
def test_locate(text: str, kind: str, scheme: str | None) -> None:
    where = locate(text)
    assert (where.kind, where.scheme) == (kind, scheme)


def test_file_url_is_its_path() -> None:
    assert locate("file:///data/orders.parquet").text == "/data/orders.parquet"


@pytest.mark.parametrize("text", ["ftp://host/orders.csv", "hdfs://nn/orders", "sftp://u:pw@h/x"])
def test_unknown_scheme_is_one_line_and_hides_passwords(text: str) -> None:
    with pytest.raises(LocationError) as info:
        locate(text)
    message = str(info.value)
    assert "\n" not in message and "unknown URL scheme" in message
    assert "pw" not in message


def test_a_url_through_pathlib_is_refused() -> None:
    with pytest.raises(LocationError, match="as text"):
        locate(Path("s3://bucket/x.parquet"))


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql://shop:hunter2@db:5432/shop", "hunter2"),
        ("postgresql://db/shop?password=hunter2&sslmode=require", "hunter2"),
        ("s3://bucket/x.parquet?X-Amz-Signature=abc123", "abc123"),
        ("https://h/x.csv?token=abc123", "abc123"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    shown = redact(text)
    assert secret not in shown and "***" in shown


def test_redact_keeps_what_is_not_secret() -> None:
    assert redact("postgresql://shop@db:5432/shop?sslmode=require") == (
        "postgresql://shop@db:5432/shop?sslmode=require"
    )
    assert redact("orders/x.parquet") == "orders/x.parquet"


@pytest.mark.parametrize("out", ["s3://bucket/x.parquet", "ftp://h/x.parquet"])
def test_an_output_url_never_becomes_a_local_folder(
    out: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputPathError):
        check_file(out)
    assert list(tmp_path.iterdir()) == []


def test_a_source_with_an_unknown_scheme_is_a_data_error() -> None:
    with pytest.raises(DataError, match="unknown URL scheme 'ftp://'"):
        scan_table("ftp://host/orders.parquet")
