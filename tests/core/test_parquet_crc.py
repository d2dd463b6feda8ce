"""Page checksums verified without decoding (segrule.io.parquet_crc), against pyarrow's own
verification as the reference, on files of several layouts with random bit flips."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from segrule.io.parquet_crc import PageError, parse_page_header, verify_pages


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
    from segrule.io.manifest import read_manifest

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


def _layouts(tmp_path: Path) -> list[Path]:
    """Parquet files of the layouts segrule meets: polars' writer and streaming sink
    (inline column metadata, page indexes, a dictionary page its sizes leave out),
    pyarrow v1 and v2 pages with a page index, nested and boolean columns, no rows."""
    frame = _table(20_000)
    files = {
        "polars.parquet": lambda p: frame.write_parquet(p, row_group_size=6000),
        "sink.parquet": lambda p: frame.lazy().sink_parquet(p, row_group_size=7000),
        "plain.parquet": lambda p: frame.write_parquet(
            p, statistics=False, compression="uncompressed"
        ),
        "pa-v1.parquet": lambda p: pq.write_table(frame.to_arrow(), p, data_page_size=4096),
        "pa-v2.parquet": lambda p: pq.write_table(
            frame.to_arrow(), p, data_page_version="2.0", write_page_index=True
        ),
        "nested.parquet": lambda p: pl.DataFrame(
            {"a": [[1, 2], None, [3]], "b": [{"x": 1}, {"x": None}, None], "c": [True, None, False]}
        ).write_parquet(p),
        "empty.parquet": lambda p: frame.head(0).write_parquet(p),
    }
    paths = []
    for name, write in files.items():
        write(tmp_path / name)
        paths.append(tmp_path / name)
    return paths


def _offset_indexes_point_at_pages(path: Path) -> None:
    """Every page location of every offset index (which readers use to skip pages)
    starts a page header whose page, header included, has the recorded size."""
    from segrule.io.parquet_crc import _field, _read_struct, _Reader

    raw = path.read_bytes()
    footer = _read_struct(_Reader(raw, len(raw) - 8 - int.from_bytes(raw[-8:-4], "little")))
    groups = _field(footer, 4)
    for group in groups[2][1] if groups else []:
        for chunk in _field(group, 1)[2][1]:  # type: ignore[index]
            where = _field(chunk, 4)
            if where is None:
                continue
            index = _read_struct(_Reader(raw, where[2]))
            for location in _field(index, 1)[2][1]:  # type: ignore[index]
                at, size = _field(location, 1)[2], _field(location, 2)[2]  # type: ignore[index]
                head = parse_page_header(raw, at)
                assert head.crc is not None
                assert head.header_size + head.compressed_size == size, path.name


def test_checksums_are_added_without_re_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segrule.io.parquet_crc as crc

    def no_fallback(*args: object) -> None:
        raise AssertionError("the file was re-encoded instead of patched")

    monkeypatch.setattr(crc, "copy_with_checksums", no_fallback)
    for path in _layouts(tmp_path):
        before_pa, before_pl = pq.read_table(path), pl.read_parquet(path)
        crc.rewrite_with_checksums(path)
        # pyarrow checks every page's CRC while it reads: the reference
        reread = pq.ParquetFile(path, page_checksum_verification=True).read()
        assert reread.equals(before_pa), path.name
        assert pl.read_parquet(path).equals(before_pl), path.name
        assert verify_pages(path) == (before_pl.height > 0), path.name
        _offset_indexes_point_at_pages(path)
        value = before_pl[before_pl.height // 2, 0] if before_pl.height else None
        if value is not None:  # statistics and page indexes still point at the right pages
            key = pl.col(before_pl.columns[0]) == value
            assert pl.scan_parquet(path).filter(key).collect().equals(before_pl.filter(key))


def test_a_layout_the_patcher_does_not_know_is_re_encoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segrule.io.parquet_crc as crc

    def unsupported(raw: object, sink: object) -> None:
        raise crc._Unsupported

    monkeypatch.setattr(crc, "_with_checksums", unsupported)
    path = tmp_path / "o.parquet"
    _table().write_parquet(path)
    before = pl.read_parquet(path)
    crc.rewrite_with_checksums(path)
    assert verify_pages(path)
    assert pl.read_parquet(path).equals(before)


def test_damaged_footers_are_errors_not_hangs(tmp_path: Path) -> None:
    """Random bytes in the footer: verification ends with PageError or a result, and
    never loops on a count the file cannot hold (a SIGALRM turns a hang into a failure)."""
    import signal

    path = tmp_path / "t.parquet"
    pq.write_table(_table(3000).to_arrow(), path, write_page_checksum=True)
    raw = path.read_bytes()
    footer = len(raw) - 8 - int.from_bytes(raw[-8:-4], "little")
    rng = random.Random(11)
    damaged = tmp_path / "damaged.parquet"

    def hang(*args: object) -> None:
        raise AssertionError("verification hung on a damaged footer")

    old = signal.signal(signal.SIGALRM, hang)
    try:
        for _ in range(300):
            data = bytearray(raw)
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(footer, len(raw) - 8)] = rng.randrange(256)
            damaged.write_bytes(bytes(data))
            signal.alarm(5)
            try:
                verify_pages(damaged)
            except PageError:
                pass
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, old)


def _general_header(data: bytes, pos: int) -> tuple[int, int, int | None, int]:
    """A page header read by the general Thrift reader, field by field: the reference
    for the skipping reader ``parse_page_header``."""
    from segrule.io.parquet_crc import _I32, _STRUCT, _field, _read_struct, _Reader

    reader = _Reader(data, pos)
    fields = _read_struct(reader)
    size = _field(fields, 3)
    if size is None or size[1] != _I32 or size[2] < 0:
        raise PageError("page header without a page size")
    crc = _field(fields, 4)
    values = 0
    for fid in (5, 8):
        nested = _field(fields, fid)
        if nested is not None and nested[1] == _STRUCT:
            count = _field(nested[2], 1)
            values = count[2] if count is not None else 0
    return (
        reader.pos - pos,
        size[2],
        crc[2] if crc is not None and crc[1] == _I32 else None,
        values,
    )


def test_the_skipping_header_reader_agrees_with_the_general_one(tmp_path: Path) -> None:
    """On every page header of files of several layouts both readers give the same
    header; on 3,000 damaged copies (random bytes changed) the skipping reader refuses
    with a PageError or gives a header, never another exception, and where both read
    one they agree on its size, the page's size and its CRC (the value count of a
    damaged header, e.g. one with a field twice, is the writer's guess either way)."""
    import pyarrow as pa

    path = tmp_path / "t.parquet"
    pq.write_table(
        _table().to_arrow(),
        path,
        write_page_checksum=True,
        data_page_size=2048,
        data_page_version="2.0",
    )
    plain = tmp_path / "p.parquet"
    pq.write_table(pa.table({"x": list(range(3000))}), plain, data_page_size=1024)
    starts: list[tuple[bytes, int]] = []
    for file in (path, plain):
        raw = file.read_bytes()
        pf = pq.ParquetFile(file)
        for g in range(pf.metadata.num_row_groups):
            for c in range(pf.metadata.num_columns):
                col = pf.metadata.row_group(g).column(c)
                at = (
                    col.dictionary_page_offset
                    if col.has_dictionary_page and col.dictionary_page_offset
                    else col.data_page_offset
                )
                end = at + col.total_compressed_size
                while at < end:
                    head = parse_page_header(raw, at)
                    got = (head.header_size, head.compressed_size, head.crc, head.values)
                    assert got == _general_header(raw, at)
                    starts.append((raw, at))
                    at += head.header_size + head.compressed_size
    assert len(starts) > 20
    rng = random.Random(3)
    for _ in range(3000):
        raw, at = rng.choice(starts)
        damaged = bytearray(raw[at : at + 200])
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(min(60, len(damaged)))] = rng.randrange(256)
        data = bytes(damaged)
        try:
            want: object = _general_header(data, 0)[:3]
        except PageError:
            want = PageError
        try:
            head = parse_page_header(data, 0)
            got: object = (head.header_size, head.compressed_size, head.crc)
        except PageError:
            got = PageError
        if want is not PageError and got is not PageError:
            assert got == want, data[:60].hex()


def test_the_checksum_rewrite_never_replaces_or_removes_a_file_it_did_not_create(
    tmp_path: Path,
) -> None:
    """The side file is created exclusively: a file already at its name (a user's, or
    anything segrule did not just create) makes the rewrite fail, and stays as it was."""
    import segrule.io.parquet_crc as crc

    path = tmp_path / ".out.parquet.123.ab.tmp"
    _table(50).write_parquet(path)
    before = path.read_bytes()
    side = tmp_path / ".out.parquet.123.ab.crc.tmp"
    side.write_bytes(b"not segrule's")
    with pytest.raises(FileExistsError):
        crc.rewrite_with_checksums(path)
    assert side.read_bytes() == b"not segrule's"
    assert path.read_bytes() == before
    side.unlink()
    crc.rewrite_with_checksums(path)  # and without one, the rewrite works
    assert pq.ParquetFile(path, page_checksum_verification=True).read().num_rows == 50
    assert not side.exists()
