"""Spark itself agrees with segrule's bucket hash (segrule.engine.buckets): the same
``xxhash64`` of text and of integer ids, the same ``pmod`` bucket, and a layout Spark
writes with ``partitionBy("segrule_bucket")`` puts every id in the bucket segrule's
layout puts it in. One test: Spark's start-up costs seconds."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
from segrule.engine.buckets import bucket_of, read_layout, xxhash64_text
from segrule.io.layout import MARKER

#: One worker runs every Spark test (conftest.py).
pytestmark = pytest.mark.xdist_group("spark")

B = 7


def _texts() -> list[str | None]:
    """Edge cases, then seeded random unicode (1- to 4-byte UTF-8, no surrogates) of
    0..120 characters: every XXH64 path (stripes, 8/4/1-byte tails) is taken."""
    rng = random.Random(19)
    fixed: list[str | None] = ["", "a", "C00001", "客户一", "🙂", "x" * 31, "y" * 32, "z" * 33]
    fixed += ["w" * 100, "0", "-5", "007", " 123", None]
    planes = [(0x20, 0x7E), (0xA0, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFD), (0x10000, 0x1F9FF)]
    for _ in range(1500):
        n = rng.randint(0, 120)
        lo, hi = rng.choice(planes)
        fixed.append("".join(chr(rng.randint(lo, hi)) for _ in range(n)))
    return fixed


def test_spark_hash_buckets_and_layout_agree(spark: Any, tmp_path: Path) -> None:
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    texts = _texts()
    text_df = spark.createDataFrame(
        [(i, s) for i, s in enumerate(texts)],
        StructType([StructField("i", LongType()), StructField("id", StringType())]),
    )
    got = text_df.select(
        "i", F.xxhash64("id").alias("h"), F.expr(f"pmod(xxhash64(id), {B})").alias("b")
    ).collect()
    spark_hash = {r["i"]: (r["h"], r["b"]) for r in got}
    ours = xxhash64_text(pl.Series("id", texts, dtype=pl.String)).to_list()
    ours_b = bucket_of(pl.Series("id", texts, dtype=pl.String), B).to_list()
    assert [spark_hash[i] for i in range(len(texts))] == list(zip(ours, ours_b, strict=True))
    assert spark_hash[texts.index(None)] == (42, 42 % B)

    ints = [0, 1, -1, -5, 123, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63), None]
    int_df = spark.createDataFrame(
        [(i, v) for i, v in enumerate(ints)],
        StructType([StructField("i", LongType()), StructField("id", LongType())]),
    )
    got = int_df.select(
        "i",
        F.expr("xxhash64(cast(id as string))").alias("h"),
        F.expr(f"pmod(xxhash64(cast(id as string)), {B})").alias("b"),
    ).collect()
    spark_int = [r["h"] for r in sorted(got, key=lambda r: r["i"])]
    assert spark_int == xxhash64_text(pl.Series("id", ints, dtype=pl.Int64)).to_list()
    # An integer id and the same id as text hash alike (ints[4] is 123).
    assert xxhash64_text(pl.Series(["123"])).item() == spark_int[4]
    assert spark_hash[texts.index("-5")][0] == spark_int[3]

    # A layout written by Spark, and one written by segrule, of the same tables.
    rng = random.Random(5)
    text_ids = [f"C{rng.randint(0, 10**6):07d}" for _ in range(400)] + ["客户一", "", None]
    int_ids = [rng.randint(-(10**12), 10**12) for _ in range(400)] + [0, None]
    data = tmp_path / "data"
    data.mkdir()
    pl.DataFrame({"customer_id": text_ids, "amount": list(range(len(text_ids)))}).write_parquet(
        data / "orders.parquet"
    )
    pl.DataFrame(
        {"customer_id": pl.Series(int_ids, dtype=pl.Int64), "city": ["上海"] * len(int_ids)}
    ).write_parquet(data / "customers.parquet")
    ours_out = tmp_path / "ours"
    segrule.bucket(data=data, buckets=B, out=ours_out)
    spark_out = tmp_path / "spark"
    for table in ("orders", "customers"):
        (
            spark.read.parquet(str(data / f"{table}.parquet"))
            .withColumn(
                "segrule_bucket", F.expr(f"pmod(xxhash64(cast(`customer_id` as string)), {B})")
            )
            .repartition(B, "segrule_bucket")
            .write.partitionBy("segrule_bucket")
            .parquet(str(spark_out / table))
        )
    # Spark writes no marker: a reader would not take its folder for a layout ...
    assert read_layout(spark_out) is None
    marker = json.loads((ours_out / MARKER).read_text(encoding="utf-8"))
    (spark_out / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    # ... with ours beside it, read_layout reads it (_SUCCESS and .crc files are not data).
    theirs, mine = read_layout(spark_out), read_layout(ours_out)
    assert theirs is not None and mine is not None
    for table, ids in (("orders", text_ids), ("customers", int_ids)):
        assert theirs.schema(table).names() == mine.schema(table).names()
        placed: dict[str, dict[Any, int]] = {"spark": {}, "segrule": {}}
        for who, layout in (("spark", theirs), ("segrule", mine)):
            for k in range(B):
                for f in layout.files(table, k):
                    for value in pl.read_parquet(f)["customer_id"].to_list():
                        assert placed[who].setdefault(value, k) == k, (who, value)
        assert placed["spark"] == placed["segrule"]
        assert set(placed["segrule"]) == set(ids)
        assert len(set(placed["segrule"].values())) > 1  # the ids are spread, not all in one
