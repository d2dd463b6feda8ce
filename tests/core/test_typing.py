"""The public API is typed for its users: a ``py.typed`` marker, and ``mypy --strict`` on
user code sees ``score`` return a DataFrame, or a LazyFrame with ``lazy=True``, and
rejects what the API does not take."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import segrule

USER_CODE = """
    import datetime as dt

    import polars as pl
    import segrule

    orders = pl.DataFrame({"customer_id": [1]})
    df: pl.DataFrame = segrule.score("rfm", {"orders": orders}, as_of="2026-11-01")
    lf: pl.LazyFrame = segrule.score(
        "rfm", {"orders": orders.lazy()}, as_of=dt.date(2026, 11, 1), lazy=True
    )
    rows: list[dict[str, object]] = segrule.quality_report("rfm", {"orders": orders.to_arrow()})
    result: segrule.RunResult = segrule.run("rfm", "out.parquet", data="data/")
    print(df.height, lf.collect_schema(), rows, result.rows)
"""

BAD_CODE = """
    import polars as pl
    import segrule

    lf: pl.LazyFrame = segrule.score("rfm", as_of="2026-11-01")
    segrule.score("rfm", as_of=20261101)
    segrule.score("rfm", {"orders": [1, 2]})
"""


def test_py_typed_ships_with_the_package() -> None:
    assert (Path(segrule.__file__).parent / "py.typed").is_file()


def test_user_code_type_checks_and_wrong_uses_do_not(tmp_path: Path) -> None:
    # One mypy run for both files: a cold mypy over polars takes seconds.
    (tmp_path / "good.py").write_text(textwrap.dedent(USER_CODE), encoding="utf-8")
    (tmp_path / "bad.py").write_text(textwrap.dedent(BAD_CODE), encoding="utf-8")
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            "mypy.ini",
            "good.py",
            "bad.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert not [e for e in errors if e.startswith("good.py")], done.stdout
    bad = [e for e in errors if e.startswith("bad.py")]
    assert [e.split(":")[1] for e in bad] == ["5", "6", "7"], done.stdout
    assert '"DataFrame", variable has type "LazyFrame"' in bad[0]
