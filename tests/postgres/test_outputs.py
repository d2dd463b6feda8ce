"""Outputs written to a PostgreSQL table: atomic replace, manifest, failures, CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.errors import SegruleError
from segrule.io.database import read_manifest, write_database
from segrule.io.outpaths import OutputPathError
from segrule_cli.app import app
from typer.testing import CliRunner


def staging_tables(pg) -> list:
    return pg.execute("SELECT relname FROM pg_class WHERE relname LIKE 'segrule_staging%'")


@pytest.fixture
def tables(pg, tb) -> dict[str, str]:
    orders = tb.orders(
        [
            ("c1", tb.days_before(3), 100.0, "paid"),
            ("c1", tb.days_before(40), 50.5, "paid"),
            ("c2", tb.days_before(1), 70.0, "paid"),
            ("c3", tb.days_before(300), 10.0, "paid"),
        ]
    )
    return {"orders": pg.load(orders, "out_orders")}


def test_run_writes_a_table_with_its_manifest(pg, tables, tmp_path: Path, tb) -> None:
    out = f"{pg.uri}#public.rfm_scores"
    result = segrule.run("rfm", out, tables, as_of=tb.AS_OF)
    assert pg.password not in str(result.output) and "#public.rfm_scores" in str(result.output)
    segrule.run("rfm", tmp_path / "s.parquet", tables, as_of=tb.AS_OF)
    assert_frame_equal(pg.read("rfm_scores"), pl.read_parquet(tmp_path / "s.parquet"))
    manifest = read_manifest(out)
    assert manifest is not None and manifest["rulesets"] == ["preset:rfm"]
    assert manifest["as_of"].startswith("2026-11-01")
    assert "***" in manifest["inputs"]["orders"]["source"]
    assert pg.password not in str(manifest)
    # The key a reader looks customers up by.
    assert pg.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'rfm_scores'::regclass "
        "AND i.indisprimary"
    ) == [("customer_id",)]
    assert staging_tables(pg) == []


def test_a_failing_run_leaves_the_previous_table(pg, tables, tb) -> None:
    out = f"{pg.uri}#keep_me"
    segrule.run("rfm", out, tables, as_of=tb.AS_OF)
    before = pg.read("keep_me")
    frame = pl.LazyFrame({"customer_id": ["a", "b"], "x": [1, 0]}).select(
        "customer_id", (pl.lit(1) // pl.col("x")).alias("y")
    )

    def refuse(results: list[pl.DataFrame]) -> None:
        raise SegruleError("a data-quality check failed")

    with pytest.raises(SegruleError, match="quality check failed"):
        write_database(frame, out, check=refuse)
    # A plan that fails while streaming (the ingest has begun).
    bad = (
        pl.LazyFrame({"customer_id": [str(i) for i in range(300_000)]})
        .with_columns(pl.col("customer_id").cast(pl.Int64).alias("n"))
        .with_columns(
            pl.when(pl.col("n") > 250_000)
            .then(pl.lit("x"))
            .otherwise(pl.col("customer_id"))
            .cast(pl.Int64, strict=True)
            .alias("boom")
        )
    )
    with pytest.raises(Exception):  # noqa: B017 - polars' own error, whatever its class
        write_database(bad, out)
    assert_frame_equal(pg.read("keep_me"), before)
    assert staging_tables(pg) == []


def test_a_killed_run_leaves_the_previous_table(pg, tmp_path: Path) -> None:
    out = f"{pg.uri}#killed"
    write_database(pl.LazyFrame({"customer_id": [1, 2, 3]}), out)
    script = tmp_path / "slow.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            import polars as pl
            from segrule.io import database

            put = database._Feed.put
            def slow(self, frame):
                print("streaming", flush=True)
                time.sleep(0.05)
                return put(self, frame)
            database._Feed.put = slow
            lf = pl.LazyFrame({{"customer_id": range(2_000_000)}})
            database.write_database(lf, {out!r})
            print("finished", flush=True)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "streaming"
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.time() + 10
    while staging_tables(pg) and time.time() < deadline:
        time.sleep(0.1)  # the server notices the closed connection and rolls back
    assert pg.read("killed")["customer_id"].to_list() == [1, 2, 3]
    assert staging_tables(pg) == []


def test_output_guards(pg, tables, tb) -> None:
    with pytest.raises(OutputPathError, match="names no table") as err:
        segrule.run("rfm", pg.uri, tables, as_of=tb.AS_OF)
    assert pg.password not in str(err.value)
    with pytest.raises(OutputPathError, match="which this command reads"):
        segrule.run("rfm", tables["orders"], tables, as_of=tb.AS_OF)
    with pytest.raises(SegruleError, match="needs a local file"):
        segrule.run("rfm", f"{pg.uri}#x", tables, as_of=tb.AS_OF, history="hist")
    with pytest.raises(OutputPathError, match="cannot connect") as err:
        write_database(
            pl.LazyFrame({"customer_id": [1]}),
            pg.uri.replace("%2Ftests", "%2Fwrong") + "#x",
        )
    assert "s3cr" not in str(err.value) and "wrong" not in str(err.value)


def test_cli_run_to_postgres(pg, tables, tmp_path: Path, tb) -> None:
    out = f"{pg.uri}#cli_scores"
    result = CliRunner().invoke(
        app,
        ["run", "rfm", "--orders", tables["orders"], "--as-of", "2026-11-01", "--out", out],
    )
    assert result.exit_code == 0, result.output
    assert pg.password not in result.output and "s3cr" not in result.output
    assert "cli_scores" in result.output.replace("\n", "")
    want = segrule.score("rfm", tables, as_of=tb.AS_OF)
    assert_frame_equal(pg.read("cli_scores"), want)
    bad = CliRunner().invoke(app, ["run", "rfm", "--orders", tables["orders"], "--out", pg.uri])
    assert bad.exit_code == 1 and "names no table" in bad.output
    assert "s3cr" not in bad.output


def test_empty_output_and_text_labels(pg) -> None:
    out = f"{pg.uri}#empty_out"
    frame = pl.LazyFrame(schema={"customer_id": pl.Int64, "tier": pl.Enum(["a", "b"])})
    write_database(frame, out, manifest={"note": "it's 'quoted'"})
    assert pg.read("empty_out").height == 0
    assert read_manifest(out) == {"note": "it's 'quoted'"}
    assert pg.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'empty_out' "
        "AND column_name = 'tier'"
    ) == [("text",)]
