"""Parquet page checksums, verified without decoding the pages.

A Parquet page header (Thrift compact protocol) may carry ``crc``: the CRC-32 of the
page's bytes as written (compressed, after the header). polars (2.1) neither writes nor
checks it; pyarrow checks it only while decoding every value, which cost about a third
of a whole run at 1M orders. This module walks the column chunks a run reads page by
page, parses each header, and compares ``zlib.crc32`` of the page bytes with the
header's value: it reads the bytes once and decodes nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Thrift compact protocol type ids (the low nibble of a field header).
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE = 1, 2, 3, 4, 5, 6, 7
_BINARY, _LIST, _SET, _MAP, _STRUCT = 8, 9, 10, 11, 12
#: Deeper than any page header nests; a corrupted header cannot recurse forever.
_MAX_DEPTH = 16


class PageError(ValueError):
    """A page header that does not parse, or a page whose CRC does not match."""


@dataclass(frozen=True)
class PageHeader:
    header_size: int
    compressed_size: int
    crc: int | None


class _Reader:
    def __init__(self, data: bytes | memoryview, pos: int) -> None:
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise PageError("page header cut short")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise PageError("page header has an over-long number")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def skip(self, kind: int, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise PageError("page header nests too deep")
        if kind in (_TRUE, _FALSE):
            return
        if kind == _BYTE:
            self.pos += 1
        elif kind in (_I16, _I32, _I64):
            self.varint()
        elif kind == _DOUBLE:
            self.pos += 8
        elif kind == _BINARY:
            size = self.varint()  # read before adding: `pos += varint()` adds to the old pos
            self.pos += size
        elif kind in (_LIST, _SET):
            head = self.byte()
            size = head >> 4
            if size == 15:
                size = self.varint()
            elem = head & 0x0F
            for _ in range(size):
                if elem in (_TRUE, _FALSE):
                    self.pos += 1  # booleans in a list take a byte each
                else:
                    self.skip(elem, depth + 1)
        elif kind == _MAP:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip(types >> 4, depth + 1)
                    self.skip(types & 0x0F, depth + 1)
        elif kind == _STRUCT:
            self.struct(depth + 1, lambda field, kind: self.skip(kind, depth + 1))
        else:
            raise PageError(f"page header has an unknown field type {kind}")
        if self.pos > len(self.data):
            raise PageError("page header cut short")

    def struct(self, depth: int, on_field: Callable[[int, int], None]) -> None:
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            delta, kind = head >> 4, head & 0x0F
            field = last + delta if delta else self.zigzag()
            on_field(field, kind)
            last = field


def parse_page_header(data: bytes | memoryview, pos: int) -> PageHeader:
    """The header at ``data[pos:]``: its size, the page's compressed size and crc."""
    reader = _Reader(data, pos)
    found: dict[int, int] = {}

    def on_field(field: int, kind: int) -> None:
        if field in (2, 3, 4) and kind == _I32:
            found[field] = reader.zigzag()
        else:
            reader.skip(kind, 1)

    reader.struct(0, on_field)
    if 3 not in found or found[3] < 0:
        raise PageError("page header without a page size")
    return PageHeader(reader.pos - pos, found[3], found.get(4))


def _chunks(path: Path, columns: Iterable[str] | None) -> Iterator[tuple[str, int, int]]:
    """(column, start, length) of each column chunk of ``columns`` (all when None)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    wanted = None if columns is None else set(columns)
    for group in range(meta.num_row_groups):
        rg = meta.row_group(group)
        for i in range(rg.num_columns):
            col = rg.column(i)
            name = col.path_in_schema.split(".")[0]
            if wanted is not None and name not in wanted:
                continue
            start = col.dictionary_page_offset if col.has_dictionary_page else None
            if start is None or start <= 0:
                start = col.data_page_offset
            yield col.path_in_schema, start, col.total_compressed_size


def verify_pages(path: Path, columns: Iterable[str] | None = None) -> bool:
    """Check the CRC of every page of ``columns`` (all when None) that carries one.

    Returns whether any page carried a CRC (False: the writer wrote none, nothing was
    checked). Raises :class:`PageError` naming the column on a mismatch or on a header
    that does not parse. Reads one column chunk at a time."""
    checked = False
    with path.open("rb") as f:
        for column, start, length in _chunks(path, columns):
            f.seek(start)
            data = memoryview(f.read(length))
            pos = 0
            while pos < len(data):
                try:
                    head = parse_page_header(data, pos)
                except PageError as exc:
                    raise PageError(f"column {column}: {exc}") from None
                begin = pos + head.header_size
                end = begin + head.compressed_size
                if end > len(data):
                    raise PageError(f"column {column}: a page runs past its column chunk")
                if head.crc is not None:
                    if zlib.crc32(data[begin:end]) != head.crc & 0xFFFFFFFF:
                        raise PageError(f"column {column}: page CRC checksum mismatch")
                    checked = True
                pos = end
    return checked


def copy_with_checksums(source: Any, sink: Any) -> None:
    """Write the Parquet file ``source`` (a path or a binary file object) to ``sink``
    (a path or a binary file object) with a CRC in every page header, one row group at
    a time, keeping its row groups, schema, key-value metadata (segrule's manifest),
    zstd compression and statistics. polars' writer (2.1) has no option for page
    checksums; pyarrow writes them."""
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(source)
    meta = reader.metadata
    schema = reader.schema_arrow
    extra = {k: v for k, v in (meta.metadata or {}).items() if k != b"ARROW:schema"}
    if extra:
        schema = schema.with_metadata({**(schema.metadata or {}), **extra})
    with pq.ParquetWriter(
        sink, schema, compression="zstd", write_statistics=True, write_page_checksum=True
    ) as writer:
        for group in range(meta.num_row_groups):
            table = reader.read_row_group(group)
            writer.write_table(table, row_group_size=max(table.num_rows, 1))


def rewrite_with_checksums(path: Path) -> None:
    """Rewrite the Parquet file ``path`` in place with page checksums
    (:func:`copy_with_checksums`), synced. The new file is written beside ``path`` (a
    ``.tmp`` name registered with :mod:`segrule.cleanup`) and renamed onto it."""
    import os

    from segrule import cleanup

    # `.<target>.<pid>.<x>.tmp` -> `.<target>.<pid>.<x>.crc.tmp`: a stale one of a killed
    # process is removed with the other temporary files of the same target.
    side = path.with_name(f"{path.name.removesuffix('.tmp')}.crc.tmp")
    with cleanup.owned(side):
        try:
            with open(side, "wb") as written:
                copy_with_checksums(path, written)
                written.flush()
                # Durable before it replaces the synced file polars wrote.
                os.fsync(written.fileno())
            os.replace(side, path)
        finally:
            if side.exists():
                side.unlink()
