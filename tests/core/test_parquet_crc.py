"""Page checksums verified without decoding (segrule.parquet_crc), against pyarrow's own
verification as the reference, on files of several layouts with random bit flips."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from segrule.parquet_crc import PageError, parse_page_header, verify_pages


def _table(rows: int = 5000) -> pl.DataFrame:
    rng = random.Random(7)
    return pl.DataFrame(
        {
            "order_id": [f"O{i:08d}" for i in range(rows)],
            "customer_id": [rng.randrange(10**12) for _ in range(rows)],
            "amount": [rng.random() * 1000 if i % 17 else None for i in range(rows)],
            "status": [rng.choice(["paid", "refunded", "已付款"]) for _ in range(rows)],
            "flag": [i % 3 == 0 for i in range(rows)],
        }
    )


def _pyarrow_finds(path: Path) -> bool:
    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)
        for group in range(pf.metadata.num_row_groups):
            pf.read_row_group(group)
    except Exception:
        return True
    return False


def _ours_finds(path: Path) -> bool:
    try:
        assert verify_pages(path)
    except PageError:
        return True
    return False


@pytest.mark.parametrize(
    ("version", "compression"), [("1.0", "none"), ("1.0", "zstd"), ("2.0", "snappy")]
)
def test_every_flip_pyarrow_finds_is_found(tmp_path: Path, version: str, compression: str) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(
        _table().to_arrow(),
        path,
        write_page_checksum=True,
        compression=compression,
        data_page_size=4096,
        data_page_version=version,
        row_group_size=2000,
    )
    assert verify_pages(path)  # intact: every page's CRC matches
    raw = path.read_bytes()
    footer = len(raw) - 8 - int.from_bytes(raw[-8:-4], "little")
    rng = random.Random(f"{version}{compression}")
    flipped = tmp_path / "flipped.parquet"
    found = 0
    for _ in range(40):
        data = bytearray(raw)
        data[rng.randrange(4, footer)] ^= 1 << rng.randrange(8)
        flipped.write_bytes(bytes(data))
        ours = _ours_finds(flipped)
        if _pyarrow_finds(flipped):
            assert ours, "pyarrow found a flip that segrule missed"
        found += ours
    assert found >= 36  # nearly every flip lands in page bytes or a header


def test_only_the_given_columns_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(_table().to_arrow(), path, write_page_checksum=True, compression="none")
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(0).column(3)  # status
    data = bytearray(path.read_bytes())
    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    data[start + col.total_compressed_size - 5] ^= 0xFF
    path.write_bytes(bytes(data))
    assert verify_pages(path, ["order_id", "amount"])
    with pytest.raises(PageError, match="column status: page CRC checksum mismatch"):
        verify_pages(path, ["order_id", "status"])


def test_files_without_checksums_are_not_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    _table().write_parquet(path)  # polars writes no page checksums
    assert not verify_pages(path)


@pytest.mark.parametrize(
    "header",
    [b"", b"\x15", b"\x15\x00\x15\x02", b"\x1c" * 40, b"\x19\xfc" + b"\xff" * 20, b"\x15\x00\x00"],
)
def test_broken_headers_are_page_errors(header: bytes) -> None:
    with pytest.raises(PageError):
        parse_page_header(header, 0)


def test_every_parquet_file_segrule_writes_has_checksums(tmp_path: Path) -> None:
    import segrule
    from segrule.generate import generate
    from segrule.manifest import read_manifest

    data = tmp_path / "data"
    generate(data, orders=3000, seed=2)
    orders = pl.read_parquet(data / "orders.parquet")
    # a few rows for the rejects file: negative amounts are bad_amount
    orders.with_columns(
        pl.when(pl.int_range(pl.len()) < 5).then(-1.0).otherwise(pl.col("amount")).alias("amount")
    ).write_parquet(data / "orders.parquet")
    out, rejects = tmp_path / "o.parquet", tmp_path / "rejects"
    segrule.run(
        ["rfm"],
        out,
        data=data,
        as_of="2026-11-01",
        rejects=rejects,
        history=tmp_path / "h",
        engine=segrule.Engine(autoload=False),
    )
    assert verify_pages(out)
    assert verify_pages(rejects / "orders.parquet")
    assert all(verify_pages(p) for p in (tmp_path / "h").rglob("*.parquet"))
    assert all(verify_pages(p) for p in data.glob("*.parquet") if p.name != "orders.parquet")
    manifest = read_manifest(out)  # the manifest survives the rewrite
    assert manifest is not None and manifest["rulesets"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
