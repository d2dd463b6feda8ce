"""Outputs written to an object store (moto's S3 server): the object is the same file a
local output would be; a failed run or a failed upload leaves no object, or the
previous one byte for byte, and no staging file; URLs segrule cannot write are one-line
errors that never create a local folder named after the URL."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.errors import SegruleError
from segrule.generate import generate
from segrule.io.manifest import MANIFEST_KEY

PRESETS = ["rfm", "pareto-80-20"]
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cloud-out-data")
    generate(out, orders=3_000, seed=5, tables=["orders", "customers"])
    return out


@pytest.fixture
def staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR of the run: where an object-store output is staged before its upload."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return folder


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


@pytest.mark.parametrize("ext", ["parquet", "csv", "ndjson", "arrow"])
def test_output_object_equals_the_local_output(
    bucket, data: Path, tmp_path: Path, staging: Path, ext: str
) -> None:
    url = bucket.url(f"scores/run.{ext}")
    result = segrule.run(PRESETS, url, data=data, as_of=AS_OF)
    assert result.output == url
    local = tmp_path / f"run.{ext}"
    segrule.run(PRESETS, local, data=data, as_of=AS_OF)
    # Byte for byte: the same writer, the same checksums, the same manifest.
    assert bucket.get(f"scores/run.{ext}") == local.read_bytes()
    assert bucket.keys() == [f"scores/run.{ext}"]
    assert list(staging.iterdir()) == []


def test_parquet_object_carries_the_manifest(bucket, data: Path, staging: Path) -> None:
    url = bucket.url("m.parquet")
    segrule.run(PRESETS, url, data=data, as_of=AS_OF)
    meta = pl.read_parquet_metadata(url)
    assert MANIFEST_KEY in meta
    assert pl.read_parquet(url).height == pl.read_parquet(data / "customers.parquet").height


def test_failed_run_leaves_the_previous_object(
    bucket, data: Path, tmp_path: Path, staging: Path, rules
) -> None:
    url = bucket.put("keep.parquet", b"previous object")
    orders = tmp_path / "orders.parquet"
    pl.read_parquet(data / "orders.parquet").with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(-1.0)
        .otherwise(pl.col("amount"))
        .alias("amount")
    ).write_parquet(orders)
    strict = rules(
        "strict.yaml",
        "extends: rfm\ntables:\n  orders:\n    quality: {bad_amount: fail}\n",
    )
    with pytest.raises(segrule.DataQualityError):
        segrule.run(strict, url, {"orders": orders}, as_of=AS_OF)
    assert bucket.get("keep.parquet") == b"previous object"
    assert list(staging.iterdir()) == []


def test_failed_upload_leaves_the_previous_object(
    bucket, data: Path, staging: Path, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    """The output is written and checked; the put fails (the store refuses it, the
    network goes): one line naming the URL, the previous object unchanged."""
    import obstore

    url = bucket.put("keep.parquet", b"previous object")
    real_put = obstore.put
    calls: list[str] = []

    def failing_put(store: object, key: str, file: object, **kw: object) -> object:
        calls.append(key)
        assert isinstance(file, Path) and file.stat().st_size > 0  # written, then put
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(obstore, "put", failing_put)
    with pytest.raises(SegruleError) as exc:
        segrule.run(PRESETS, url, data=data, as_of=AS_OF)
    text = _one_line(exc)
    assert url in text and "nothing was written" in text
    assert calls == ["keep.parquet"]
    print(text)
    monkeypatch.setattr(obstore, "put", real_put)
    assert bucket.get("keep.parquet") == b"previous object"
    assert list(staging.iterdir()) == []


def test_upload_to_a_missing_bucket_is_one_line(
    data: Path, staging: Path, aws_env: str, secret: str
) -> None:
    with pytest.raises(SegruleError) as exc:
        segrule.run(PRESETS, "s3://no-such-bucket-abc/x.parquet", data=data, as_of=AS_OF)
    text = _one_line(exc)
    assert "s3://no-such-bucket-abc/x.parquet" in text and secret not in text
    print(text)
    assert list(staging.iterdir()) == []


def test_output_over_an_input_object_is_refused(bucket, data: Path, staging: Path) -> None:
    orders = bucket.put("in/orders.parquet", data / "orders.parquet")
    bucket.put("hive/part-0.parquet", data / "orders.parquet")
    prefix = bucket.url("hive/")
    for tables, out in [
        ({"orders": orders}, orders),
        ({"orders": prefix}, bucket.url("hive/scores.parquet")),
        ({"orders": bucket.url("in/*.parquet")}, bucket.url("in/new.parquet")),
    ]:
        with pytest.raises(SegruleError) as exc:
            segrule.run(PRESETS, out, tables, as_of=AS_OF)
        assert "never writes over its inputs" in _one_line(exc)
    with pytest.raises(SegruleError) as exc:
        segrule.run(PRESETS, orders, data=bucket.url("in/"), as_of=AS_OF)
    assert "never writes over its inputs" in _one_line(exc)
    assert bucket.get("in/orders.parquet") == (data / "orders.parquet").read_bytes()


def test_history_with_an_object_store_output_is_refused(
    bucket, data: Path, tmp_path: Path, staging: Path
) -> None:
    with pytest.raises(SegruleError) as exc:
        segrule.run(
            PRESETS, bucket.url("s.parquet"), data=data, as_of=AS_OF, history=tmp_path / "h"
        )
    assert "history" in _one_line(exc)
    assert bucket.keys() == [] and not (tmp_path / "h").exists()


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("https://example.org/x.parquet", "read-only"),
        ("http://127.0.0.1:9/x.parquet", "read-only"),
        ("ftp://host/x.parquet", "unknown URL scheme"),
        ("hdfs://nn/x.parquet", "unknown URL scheme"),
        ("s3://bucket-only", "full key"),
        ("s3://bkt/folder/", "full key"),
        ("s3://bkt/x.unknown", "cannot tell the format"),
    ],
)
def test_outputs_segrule_cannot_write(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SegruleError) as exc:
        segrule.run(PRESETS, out, data=data, as_of=AS_OF)
    assert expected in _one_line(exc)
    assert os.listdir(tmp_path) == []  # no local "s3:" / "ftp:" folder


def test_manifest_names_a_url_source_without_its_signature(
    web_folder, data: Path, tmp_path: Path
) -> None:
    base, folder = web_folder
    (folder / "orders.parquet").write_bytes((data / "orders.parquet").read_bytes())
    url = f"{base}/orders.parquet?X-Amz-Signature=topsecretsig&X-Amz-Date=20261101"
    out = tmp_path / "s.parquet"
    segrule.run(PRESETS, out, {"orders": url}, as_of=AS_OF)
    meta = pl.read_parquet_metadata(out)[MANIFEST_KEY]
    assert "topsecretsig" not in meta
    assert f"{base}/orders.parquet?X-Amz-Signature=***" in meta
