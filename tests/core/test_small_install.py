"""Scoring needs neither NumPy nor pyarrow nor pandas (they are the generator's and the
benchmark's, in the `generate` and `bench` extras): a run with them unimportable reads
Parquet, CSV and NDJSON, writes every output format with Parquet page checksums, and
the generator says which extra it needs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from segrule.generate import generate
from segrule.io.parquet_crc import verify_pages

BLOCK = """
    import importlib.abc
    import sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("numpy", "pyarrow", "pandas"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
"""


def run_blocked(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(BLOCK) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate(out, orders=2000, seed=4)
    pl.read_parquet(out / "customers.parquet").write_csv(out / "customers.csv")
    (out / "customers.parquet").unlink()
    pl.read_parquet(out / "events.parquet").write_ndjson(out / "events.ndjson")
    (out / "events.parquet").unlink()
    return out


def test_a_run_needs_no_numpy_pyarrow_or_pandas(data: Path, tmp_path: Path) -> None:
    done = run_blocked(
        f"""
        import segrule
        for name in ("out.parquet", "out.csv", "out.arrow", "out.ndjson"):
            segrule.run(["taobao-5-tier", "rfm"], {str(tmp_path)!r} + "/" + name,
                        data={str(data)!r}, as_of="2026-11-01")
        df = segrule.score("rfm", data={str(data)!r}, as_of="2026-11-01")
        lazy = segrule.score("rfm", data={str(data)!r}, as_of="2026-11-01", lazy=True)
        assert lazy.collect().equals(df)
        print("modules:", sorted(m for m in sys.modules if m.split(".")[0] in
                                 ("numpy", "pyarrow", "pandas")))
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "modules: []" in done.stdout
    assert verify_pages(tmp_path / "out.parquet")  # page checksums were written
    want = pl.read_parquet(tmp_path / "out.parquet")
    assert pl.read_ipc(tmp_path / "out.arrow").equals(want)


def test_the_generator_names_its_extra(tmp_path: Path) -> None:
    done = run_blocked(
        """
        from segrule.errors import UsageError
        try:
            import segrule.generate
        except UsageError as exc:
            print("error:", exc)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pip install 'segrule[generate]'" in done.stdout
    assert "numpy is not installed" in done.stdout
