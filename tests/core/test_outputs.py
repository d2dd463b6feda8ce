"""Outputs are atomic, deterministic and carry a run manifest.

- a run killed (SIGKILL) while it runs leaves the previous output at the target,
  byte for byte, and the next run removes the killed run's temporary file;
- the same input gives byte-identical output whatever the thread count;
- reordered input rows, or the orders split over several files, give the same data in
  the same layout (only the manifest's input fingerprints differ);
- the manifest names the rule sets (and their hash), versions, inputs, as-of and zone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule.generate import generate
from segrule.io.manifest import MANIFEST_KEY, fingerprint, read_manifest

PRESETS = ["taobao-5-tier", "rfm", "pareto-80-20"]
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outputs-data")
    generate(out, orders=20_000, seed=11)
    return out


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segrule_cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_manifest_names_what_produced_the_output(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out.parquet"
    segrule.run(PRESETS, out, data=data, as_of=AS_OF, tz="Asia/Shanghai")
    manifest = read_manifest(out)
    assert manifest is not None
    assert manifest["rulesets"] == ["preset:taobao-5-tier", "preset:rfm", "preset:pareto-80-20"]
    assert manifest["as_of"] == "2026-11-01T00:00:00"
    assert manifest["timezone"] == "Asia/Shanghai"
    assert manifest["segrule"] == segrule.__version__
    assert manifest["outputs"] == pl.read_parquet_schema(out).names()
    orders = manifest["inputs"]["orders"]
    assert orders["files"] == [{"file": "orders.parquet", **fingerprint(data / "orders.parquet")}]
    assert orders["files"][0]["bytes"] == (data / "orders.parquet").stat().st_size
    assert set(manifest["inputs"]) == {"orders", "customers", "events", "feedback"}
    assert MANIFEST_KEY in pl.read_parquet_metadata(out)


def test_ruleset_hash_follows_the_rules(tmp_path: Path, data: Path) -> None:
    def hash_of(threshold: int) -> str:
        rule = tmp_path / f"r{threshold}.yaml"
        rule.write_text(
            "name: r\nextends: rfm\nsegments:\n"
            f"  big: {{flag: 'monetary_lifetime > {threshold}'}}\n"
            "outputs: [customer_id, big]\n"
        )
        out = tmp_path / f"o{threshold}.parquet"
        segrule.run([str(rule)], out, data=data, as_of=AS_OF)
        manifest = read_manifest(out)
        assert manifest is not None
        return str(manifest["ruleset_sha256"])

    assert hash_of(100) == hash_of(100)
    assert hash_of(100) != hash_of(200)


def test_same_input_same_bytes_whatever_the_thread_count(tmp_path: Path, data: Path) -> None:
    digests = set()
    out = tmp_path / "out.parquet"
    for threads in ("1", "2", "2"):
        args = ["run", *PRESETS, "--data", str(data), "--as-of", AS_OF, "--out", str(out), "-q"]
        result = _cli(*args, env={"POLARS_MAX_THREADS": threads})
        assert result.returncode == 0, result.stderr
        digests.add(out.read_bytes())
    assert len(digests) == 1


def test_reordered_rows_and_split_files_give_the_same_data(tmp_path: Path, data: Path) -> None:
    shuffled = tmp_path / "shuffled"
    split = tmp_path / "split"
    for d in (shuffled, split):
        d.mkdir()
        for table in ("customers", "events", "feedback"):
            frame = pl.read_parquet(data / f"{table}.parquet")
            frame.sample(fraction=1.0, shuffle=True, seed=3).write_parquet(d / f"{table}.parquet")
    orders = pl.read_parquet(data / "orders.parquet").sample(fraction=1.0, shuffle=True, seed=4)
    orders.write_parquet(shuffled / "orders.parquet")
    (split / "orders").mkdir()
    for i, part in enumerate(orders.iter_slices(n_rows=6_000)):
        part.write_parquet(split / "orders" / f"part-{3 - i}.parquet")

    outs = {}
    for name, folder in (("original", data), ("shuffled", shuffled), ("split", split)):
        outs[name] = tmp_path / f"{name}.parquet"
        segrule.run(PRESETS, outs[name], data=folder, as_of=AS_OF)
    reference = pl.read_parquet(outs["original"])
    layout = [rg.num_rows for rg in _row_groups(outs["original"])]
    for name in ("shuffled", "split"):
        assert_frame_equal(pl.read_parquet(outs[name]), reference)
        assert [rg.num_rows for rg in _row_groups(outs[name])] == layout
        a, b = read_manifest(outs["original"]), read_manifest(outs[name])
        assert a is not None and b is not None
        assert {k: v for k, v in a.items() if k != "inputs"} == {
            k: v for k, v in b.items() if k != "inputs"
        }
    split_manifest = read_manifest(outs["split"])
    assert split_manifest is not None
    assert [f["file"] for f in split_manifest["inputs"]["orders"]["files"]] == [
        f"part-{i}.parquet" for i in range(4)
    ]


def _row_groups(path: Path) -> list[pq.RowGroupMetaData]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i) for i in range(meta.num_row_groups)]


@pytest.mark.slow
def test_sigkill_mid_run_leaves_the_previous_output(tmp_path: Path) -> None:
    big = tmp_path / "big"
    generate(big, orders=400_000, seed=2)
    target = tmp_path / "scores.parquet"
    # The previous output: another rule set, so a new complete file would differ.
    assert (
        _cli("run", "rfm", "--data", str(big), "--as-of", AS_OF, "--out", str(target)).returncode
        == 0
    )
    previous = target.read_bytes()
    args = ["run", *PRESETS, "--data", str(big), "--as-of", AS_OF, "--out", str(target), "-q"]
    killed_with_temp = 0
    for wait_for_bytes in (False, False, True, True, True):
        proc = subprocess.Popen(
            [sys.executable, "-m", "segrule_cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        temps: list[Path] = []
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            temps = list(tmp_path.glob(f".{target.name}.{proc.pid}.*.tmp"))
            if temps and (not wait_for_bytes or temps[0].stat().st_size > 0):
                break
            time.sleep(0.0005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed_with_temp += bool(temps)
            assert target.read_bytes() == previous
        else:  # it finished first: a complete new output, then restore the previous one
            assert pl.read_parquet(target).width == 20
            target.write_bytes(previous)
    assert killed_with_temp >= 2, "no run was killed while writing its temporary file"
    assert list(tmp_path.glob(f".{target.name}.*.tmp"))  # the killed runs left them
    assert _cli(*args).returncode == 0
    assert not list(tmp_path.glob(f".{target.name}.*.tmp"))  # the next run cleaned up
    assert pl.read_parquet(target).width == 20
