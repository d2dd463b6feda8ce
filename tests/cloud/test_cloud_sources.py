"""Tables read from an object store (moto's S3 server) and from a web server score
exactly as the same files read locally; missing objects, empty prefixes, unknown
schemes, bad CSV and misspelt options are one-line errors that never show a secret."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.errors import DataError, RuleSetError
from segrule.generate import generate

PRESETS = ["rfm", "pareto-80-20"]
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cloud-data")
    generate(out, orders=3_000, seed=7, tables=["orders", "customers"])
    return out


def _local(data: Path, **tables: object) -> pl.DataFrame:
    return segrule.score(PRESETS, tables or None, data=None if tables else data, as_of=AS_OF)


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


def test_parquet_object_scores_as_the_local_file(bucket, data: Path) -> None:
    url = bucket.put("exports/orders.parquet", data / "orders.parquet")
    got = segrule.score(PRESETS, {"orders": url}, as_of=AS_OF)
    assert got.height > 100
    assert_frame_equal(
        got, segrule.score(PRESETS, {"orders": data / "orders.parquet"}, as_of=AS_OF)
    )


def test_csv_object_scores_as_the_local_csv(bucket, data: Path, tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    pl.read_parquet(data / "orders.parquet").write_csv(csv)
    url = bucket.put("orders.csv", csv)
    got = segrule.score(PRESETS, {"orders": url}, as_of=AS_OF)
    assert_frame_equal(got, segrule.score(PRESETS, {"orders": csv}, as_of=AS_OF))


def test_hive_prefix_and_glob_score_as_the_local_folder(bucket, data: Path, tmp_path: Path) -> None:
    orders = pl.read_parquet(data / "orders.parquet").with_columns(
        pl.col("order_ts").dt.year().alias("year")
    )
    hive = tmp_path / "hive"
    orders.write_parquet(hive, partition_by="year")
    # What Spark leaves beside its data is skipped, as in a local folder.
    (hive / "_SUCCESS").write_bytes(b"")
    assert len(list(hive.rglob("*.parquet"))) >= 2
    prefix = bucket.put_tree("orders_hive", hive)
    want = segrule.score(PRESETS, {"orders": hive}, as_of=AS_OF)
    assert_frame_equal(segrule.score(PRESETS, {"orders": prefix}, as_of=AS_OF), want)
    glob = bucket.url("orders_hive/**/*.parquet")
    assert_frame_equal(segrule.score(PRESETS, {"orders": glob}, as_of=AS_OF), want)


def test_data_folder_in_a_store(bucket, data: Path) -> None:
    bucket.put("data/orders.parquet", data / "orders.parquet")
    bucket.put("data/customers.parquet", data / "customers.parquet")
    got = segrule.score(PRESETS, data=bucket.url("data/"), as_of=AS_OF)
    assert_frame_equal(got, segrule.score(PRESETS, data=data, as_of=AS_OF))
    # The universe is the customers table, found in the store: customers without orders too.
    assert got.height == pl.read_parquet(data / "customers.parquet").height


def test_ndjson_object(bucket, data: Path, tmp_path: Path) -> None:
    nd = tmp_path / "orders.ndjson"
    pl.read_parquet(data / "orders.parquet").write_ndjson(nd)
    url = bucket.put("orders.ndjson", nd)
    assert_frame_equal(
        segrule.score(PRESETS, {"orders": url}, as_of=AS_OF),
        segrule.score(PRESETS, {"orders": nd}, as_of=AS_OF),
    )


def test_rule_set_source_with_storage_options(
    bucket, data: Path, rules, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str
) -> None:
    """The endpoint in the rule set, not in the environment; a misspelt option is an
    error (polars alone would ignore it), a credential in the rule file is refused."""
    url = bucket.put("o.parquet", data / "orders.parquet")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ALLOW_HTTP")
    ep = s3_endpoint
    path = rules(
        "r.yaml",
        f"""
extends: rfm
tables:
  orders:
    source: {url}
    storage_options: {{endpoint_url: "{ep}", region: us-east-1, allow_http: "true"}}
""",
    )
    got = segrule.score(path, as_of=AS_OF)
    want = segrule.score("rfm", {"orders": data / "orders.parquet"}, as_of=AS_OF)
    assert_frame_equal(got, want)

    typo = rules(
        "typo.yaml",
        f"""
extends: rfm
tables:
  orders:
    source: {url}
    storage_options: {{endpoint_urll: "{ep}"}}
""",
    )
    with pytest.raises(DataError) as exc:
        segrule.score(typo, as_of=AS_OF)
    assert "endpoint_urll" in _one_line(exc)

    secret = rules(
        "secret.yaml",
        f"""
extends: rfm
tables:
  orders:
    source: {url}
    storage_options: {{aws_secret_access_key: "abc123-do-not-show"}}
""",
    )
    with pytest.raises(RuleSetError) as exc:
        segrule.load_ruleset(secret)
    text = _one_line(exc)
    assert "aws_secret_access_key" in text and "environment" in text
    assert "abc123-do-not-show" not in text


def test_missing_object_empty_prefix_and_bad_types(bucket, data: Path, secret: str) -> None:
    bucket.put("p/orders.parquet", data / "orders.parquet")
    bucket.put("mixed/a.parquet", data / "orders.parquet")
    bucket.put("mixed/b.csv", b"order_id\n1\n")
    bucket.put("odd/orders.xls", b"xx")
    bucket.put("odd/orders.txt", b"xx")
    cases = {
        bucket.url("nope.parquet"): "not found",
        bucket.url("empty/"): "no .parquet",
        bucket.url("p/*.csv"): "no object matches",
        bucket.url("mixed/"): "several formats",
        bucket.url("odd/orders.xls"): "Excel workbooks are read from local files",
        bucket.url("odd/orders.txt"): "unknown file type",
        "s3://no-such-bucket-xyz/orders.parquet": "bucket does not exist",
    }
    for url, expected in cases.items():
        with pytest.raises(DataError) as exc:
            segrule.score(PRESETS, {"orders": url}, as_of=AS_OF)
        text = _one_line(exc)
        assert expected in text, (url, text)
        assert secret not in text


@pytest.mark.parametrize("url", ["ftp://host/orders.parquet", "hdfs://nn/orders.parquet"])
def test_unknown_schemes_are_one_line_errors(url: str) -> None:
    with pytest.raises(DataError) as exc:
        segrule.score(PRESETS, {"orders": url}, as_of=AS_OF)
    assert "unknown URL scheme" in _one_line(exc)


def test_bad_csv_objects_are_refused_like_local_files(bucket) -> None:
    header = b"order_id,customer_id,order_ts,amount,status\n"
    unclosed = bucket.put("q.csv", header + b'1,C1,2026-01-01,"10,paid\n2,C2,2026-01-02,5,paid\n')
    ragged = bucket.put("r.csv", header + b"1,C1,2026-01-01,10,paid,extra\n")
    gbk = bucket.put("g.csv", "订单号,客户\n1,北京\n".encode("gbk"))
    for url, expected in [
        (unclosed, "never closed"),
        (ragged, "more fields than the header"),
        (gbk, "not UTF-8"),
    ]:
        with pytest.raises(DataError) as exc:
            segrule.score(PRESETS, {"orders": url}, as_of=AS_OF)
        text = _one_line(exc)
        assert expected in text and url in text, text


def test_https_source_from_a_web_server(web_folder, data: Path) -> None:
    base, folder = web_folder
    (folder / "orders.parquet").write_bytes((data / "orders.parquet").read_bytes())
    got = segrule.score(PRESETS, {"orders": f"{base}/orders.parquet"}, as_of=AS_OF)
    assert_frame_equal(
        got, segrule.score(PRESETS, {"orders": data / "orders.parquet"}, as_of=AS_OF)
    )
    with pytest.raises(DataError) as exc:
        segrule.score(
            PRESETS, {"orders": f"{base}/missing.parquet?X-Amz-Signature=abcdef"}, as_of=AS_OF
        )
    text = _one_line(exc)
    assert "not found" in text and "abcdef" not in text
    with pytest.raises(DataError) as exc:
        segrule.score(PRESETS, {"orders": f"{base}/"}, as_of=AS_OF)
    assert "cannot list a folder" in _one_line(exc)


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("gs://some-bucket/orders.parquet", {"google_project_id": "p1"}),
        ("az://container/orders.parquet", {"azure_storage_account_name": "acct"}),
    ],
)
def test_gcs_and_azure_reach_polars_with_the_storage_options(
    monkeypatch: pytest.MonkeyPatch, url: str, options: dict[str, str]
) -> None:
    """No emulator runs here: the listing is replaced, and polars' scan is watched. It
    gets the URL as given and the rule set's options."""
    from segrule.io import cloud, sources

    seen: dict[str, object] = {}
    monkeypatch.setattr(
        cloud,
        "list_objects",
        lambda u, o, s: ([cloud.CloudObject(u, "orders.parquet", 1)], False),
    )

    def scan_parquet(source: object, **kwargs: object) -> pl.LazyFrame:
        seen["source"], seen["kwargs"] = source, kwargs
        return pl.LazyFrame({"x": [1]})

    monkeypatch.setattr(pl, "scan_parquet", scan_parquet)
    scan = sources.scan_table(url, options=sources.SourceOptions(storage_options=options))
    assert seen["source"] == [url]
    assert seen["kwargs"]["storage_options"] == options  # type: ignore[index]
    assert scan.files == [url]


def test_gcs_without_credentials_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real request to a store that cannot be reached or authenticated: one line."""
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_SERVICE_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_SERVICE_ACCOUNT", "/nonexistent/key.json")
    with pytest.raises(DataError) as exc:
        segrule.score(PRESETS, {"orders": "gs://segrule-none/orders.parquet"}, as_of=AS_OF)
    assert "gs://segrule-none/orders.parquet" in _one_line(exc)


def test_missing_extra_is_one_line(monkeypatch: pytest.MonkeyPatch, bucket) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "obstore", None)  # import obstore raises ImportError
    with pytest.raises(segrule.SegruleError) as exc:
        segrule.score(PRESETS, {"orders": bucket.url("o.parquet")}, as_of=AS_OF)
    assert "segrule[cloud]" in _one_line(exc)


def test_bytes_in_memory_put(bucket) -> None:
    """The fixture's bucket works (a guard for the tests above)."""
    buf = io.BytesIO()
    pl.DataFrame({"a": [1]}).write_parquet(buf)
    bucket.put("x.parquet", buf.getvalue())
    assert bucket.keys() == ["x.parquet"]


def test_without_the_endpoint_the_rule_set_source_fails_in_one_line(
    bucket, data: Path, rules, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rule set without its endpoint goes to AWS itself, which this machine
    cannot reach: still one line, naming the URL, without the secret."""
    url = bucket.put("o.parquet", data / "orders.parquet")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(DataError) as exc:
        segrule.score(PRESETS, {"orders": url}, as_of=AS_OF)
    text = _one_line(exc)
    assert url in text


def test_csv_object_with_a_delimiter_and_options_that_do_not_apply(
    bucket, data: Path, tmp_path: Path, rules
) -> None:
    csv = tmp_path / "orders.csv"
    pl.read_parquet(data / "orders.parquet").write_csv(csv, separator=";")
    url = bucket.put("semi/orders.csv", csv)
    path = rules(
        "semi.yaml", f"extends: rfm\ntables:\n  orders:\n    source: {url}\n    delimiter: ';'\n"
    )
    want = segrule.score("rfm", {"orders": data / "orders.parquet"}, as_of=AS_OF)
    assert_frame_equal(segrule.score(path, as_of=AS_OF), want)
    for extra, expected in [
        ("encoding: gbk", "local files only"),
        ("sheet: 0", "sheet does not apply"),
    ]:
        bad = rules(
            "bad.yaml",
            f"extends: rfm\ntables:\n  orders:\n    source: {url}\n    {extra}\n",
        )
        with pytest.raises(DataError) as exc:
            segrule.score(bad, as_of=AS_OF)
        assert expected in _one_line(exc)
