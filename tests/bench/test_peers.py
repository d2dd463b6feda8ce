"""The benchmark's peers compute what segrule computes; the harness's tools work.

Every peer (DuckDB SQL, hand-written polars, pandas) must give segrule's output on
generated data (two seeds and as-of instants) and on hand-made tables full of edge
cases: window boundaries, thresholds hit exactly, ties, a unicode id, duplicates,
orders of unknown customers, nulls. No test asserts a time.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.bench import PRESETS, BenchError, OutputMismatchError
from segrule.bench import sidebyside as sbs
from segrule.bench.compare import compare_frames, compare_outputs
from segrule.bench.data import bench_data
from segrule.bench.measure import measure, repeat
from segrule.bench.peers import OUTPUT_COLUMNS, PeerError, duckdb_sql, pandas_script, polars_lazy
from segrule.generate import generate
from segrule.testing import customer_frame, event_frame, feedback_frame, order_frame

AS_OF = dt.datetime(2026, 11, 1)
PEERS: dict[str, Callable[..., Path]] = {
    "duckdb": duckdb_sql.run,
    "polars": polars_lazy.run,
    "pandas": pandas_script.run,
}


def before(days: float = 0, seconds: float = 0, as_of: dt.datetime = AS_OF) -> dt.datetime:
    return as_of - dt.timedelta(days=days, seconds=seconds)


def write_tables(folder: Path, **frames: pl.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.write_parquet(folder / f"{name}.parquet")
    return folder


def edge_tables(folder: Path) -> Path:
    """Boundaries, exact thresholds, ties, nulls; in a folder whose name has a quote."""
    paid, pending = "paid", "pending"
    orders = order_frame(
        [
            ("a", before(10), 10000.00),  # monetary_365d exactly 10000: mid, not high
            ("b", before(100), 5000.00),  # lifetime ties with a (M and pareto ties by id)
            ("b", before(200), 5000.00),
            ("c", before(365), 499.99),  # exactly 365 days before: inside the window
            ("c", before(365), 0.01),  # 365d = 500.00 exactly: mid, not low
            ("c", before(365, seconds=1), 7.0),  # just outside the 365-day window
            ("d", before(90), 20.0),  # first order exactly 90 days ago: new
            ("d", before(30), 1.005),  # 30d window starts at as_of - 30 days: counted
            ("e", before(1), 3.0),
            ("e", before(2), 3.0),
            ("e", before(29), 0.285),  # three paid orders in 30 days: high
            ("e", AS_OF, 999.0),  # at the as-of: not counted
            ("e", AS_OF + dt.timedelta(days=3), 999.0),  # after it
            ("f", before(90, seconds=1), 12.0),  # 90 whole days: not churned, mature
            ("g", before(91), 12.0),  # 91 days: churned
            ("g", before(91), 12.0),  # same instant twice
            ("h", before(5), 50.0, pending),  # pending and cancelled only: prospect
            ("h", before(6), 50.0, "cancelled"),
            ("r", before(7), 70.0, "refunded"),
            ("Z", before(40), 33.0),  # same recency as é1 and dup: R ties by customer_id
            ("é1", before(40), 33.0),
            ("dup", before(40), 33.0),
            ("ghost", before(3), 123456.0),  # not a customer: never counted anywhere
            (None, before(3), 5.0),  # no customer
            {"customer_id": "f", "order_ts": None, "amount": 1.0, "status": paid},
            {"customer_id": "g", "order_ts": before(4), "amount": 1.0, "status": None},
        ]
    )
    customers = customer_frame(
        ["a", "b", "c", "d", "e", "f", "g", "h", "r", "p", "Z", "é1", "dup", "dup", "q"]
    )
    events = event_frame(
        [
            ("a", before(30), "campaign"),  # 30d window start: active
            ("b", before(90), "campaign"),  # 90d window start: occasional
            ("b", before(91), "campaign"),
            ("c", before(90, seconds=1), "campaign"),  # just outside: none
            ("d", AS_OF, "campaign"),  # at the as-of: not counted
            ("e", before(1), "view"),
            ("f", before(1), None),
            ("ghost", before(1), "campaign"),
        ]
    )
    feedback = feedback_frame(
        [
            ("a", before(3), 80),
            ("a", before(4), 100),  # mean exactly 90: very satisfied
            ("b", before(3), 75),  # exactly 75: satisfied
            ("c", before(3), 60),  # exactly 60: unsatisfied
            ("d", before(3), 59),
            ("d", before(4), 60),  # 59.5: very unsatisfied
            ("e", before(3), None),  # a null score only: no mean, unknown
            ("f", AS_OF, 10),  # at the as-of: not counted
            ("f", before(2), 91),
            ("g", before(2), 1),
            ("g", before(3), 2),
            ("g", before(4), 2),  # 5/3: an inexact mean
        ]
    ).with_columns(pl.col("score").cast(pl.Int32))
    return write_tables(
        folder, orders=orders, customers=customers, events=events, feedback=feedback
    )


def pareto_tables(folder: Path) -> Path:
    """Four buyers holding 40, 40, 10, 10: the third has exactly 80 % before it (not key)."""
    orders = order_frame(
        [
            ("x1", before(5), 40.0),
            ("x2", before(6), 40.0),
            ("x4", before(7), 10.0),
            ("x3", before(8), 4.0),
            ("x3", before(9), 6.0),
        ]
    )
    return write_tables(
        folder,
        orders=orders,
        customers=customer_frame(["x1", "x2", "x3", "x4", "x5"]),
        events=event_frame([("x1", before(1), "campaign")]),
        feedback=feedback_frame([("x2", before(1), 88)]).with_columns(
            pl.col("score").cast(pl.Int32)
        ),
    )


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    base = tmp_path_factory.mktemp("bench")
    generate(base / "seed1", orders=20_000, seed=1)
    generate(base / "seed7", orders=20_000, seed=7)
    return {
        "generated seed 1": (base / "seed1", "2026-11-01"),
        # Mid-range, not at midnight: many orders after it, windows cut through days.
        "generated seed 7": (base / "seed7", "2026-08-15T13:30:00"),
        "edge cases": (edge_tables(base / "o'brien edge cases"), "2026-11-01"),
        "pareto boundary": (pareto_tables(base / "pareto"), "2026-11-01"),
    }


@pytest.fixture(scope="module")
def references(
    datasets: dict[str, tuple[Path, str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reference")
    engine = segrule.Engine()
    refs = {}
    for i, (name, (data, as_of)) in enumerate(datasets.items()):
        refs[name] = segrule.run(
            list(PRESETS), out / f"{i}.parquet", data=data, as_of=as_of, engine=engine
        ).output
    return refs


@pytest.mark.parametrize(
    "dataset", ["generated seed 1", "generated seed 7", "edge cases", "pareto boundary"]
)
@pytest.mark.parametrize("peer", sorted(PEERS))
def test_peer_output_equals_segrule(
    peer: str,
    dataset: str,
    datasets: dict[str, tuple[Path, str]],
    references: dict[str, Path],
    tmp_path: Path,
) -> None:
    data, as_of = datasets[dataset]
    out = PEERS[peer](data, tmp_path / "it's out.parquet", as_of=as_of)
    assert compare_outputs(references[dataset], out) == []
    assert pl.read_parquet(out).columns == list(OUTPUT_COLUMNS)


def test_the_edge_cases_are_what_they_claim(references: dict[str, Path]) -> None:
    """Guards the hand-made tables: they do hit the boundaries they are there for."""
    df = pl.read_parquet(references["edge cases"])
    row = {r["customer_id"]: r for r in df.to_dicts()}
    assert df["customer_id"].to_list() == sorted(
        ["a", "b", "c", "d", "e", "f", "g", "h", "r", "p", "Z", "é1", "dup", "q"]
    )
    assert (row["a"]["amount_tier"], row["c"]["amount_tier"]) == ("mid", "mid")
    assert row["c"]["monetary_365d"] == 500.0
    assert (row["d"]["lifecycle"], row["f"]["lifecycle"], row["g"]["lifecycle"]) == (
        "new",
        "mature",
        "churned",
    )
    assert (row["e"]["orders_30d"], row["e"]["freq_tier"]) == (3, "high")
    assert [row[c]["interaction"] for c in "abcd"] == ["active", "occasional", "none", "none"]
    assert [row[c]["satisfaction"] for c in "abcde"] == [
        "very_satisfied",
        "satisfied",
        "unsatisfied",
        "very_unsatisfied",
        "unknown",
    ]
    assert row["h"]["lifecycle"] == "prospect" and row["h"]["r_score"] is None
    pareto = pl.read_parquet(references["pareto boundary"])
    assert pareto["pareto_key"].to_list() == [True, True, False, False, False]


def test_peers_run_by_path_do_not_import_segrule(
    datasets: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    data, _ = datasets["pareto boundary"]
    script = Path(duckdb_sql.__file__)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), str(data), str(tmp_path / "o.parquet")],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()]
    assert any(m.split(".")[0] in ("duckdb", "_duckdb") for m in imported)
    assert not [m for m in imported if m.split(".")[0] in ("segrule", "polars")]


def test_peer_command_line_reports_a_missing_table(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "segrule.bench.peers.polars_lazy", str(tmp_path), "o.parquet"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "missing input file" in proc.stderr and "orders.parquet" in proc.stderr
    with pytest.raises(PeerError, match="not an ISO date"):
        duckdb_sql.render_sql(tmp_path, tmp_path / "o.parquet", as_of="yesterday")


# -- compare_outputs ------------------------------------------------------------------
@pytest.fixture
def reference_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "orders": pl.Series([1, 0, 2], dtype=pl.Int64),
            "money": [10000.0, 0.0, 18332.85],
            "mean": [None, 90.0, 5 / 3],
            "first": pl.Series(
                [dt.datetime(2026, 1, 2, 3, 4, 5), None, dt.datetime(2026, 5, 1)],
                dtype=pl.Datetime("us", "UTC"),
            ),
            "tier": ["vip", "prospect", "normal"],
            "key": [True, False, False],
        }
    )


def test_compare_accepts_equal_values_in_other_representations(
    reference_frame: pl.DataFrame, tmp_path: Path
) -> None:
    other = reference_frame.with_columns(
        pl.col("orders").cast(pl.Int32),
        pl.col("first").dt.replace_time_zone(None).dt.cast_time_unit("ns"),
        pl.col("money") * (1 + 1e-13),  # an ulp or two, well inside 1e-9
    )
    reference_frame.write_parquet(tmp_path / "ref.parquet")
    other.write_parquet(tmp_path / "other.parquet")
    assert compare_outputs(tmp_path / "ref.parquet", tmp_path / "other.parquet") == []
    shanghai = reference_frame.with_columns(
        pl.col("first").dt.convert_time_zone("Asia/Shanghai")  # the same instants
    )
    assert compare_frames(reference_frame, shanghai) == []


def test_compare_finds_a_float_beyond_the_tolerance(reference_frame: pl.DataFrame) -> None:
    other = reference_frame.with_columns(
        pl.when(pl.col("customer_id") == "c")
        .then(18332.86)
        .otherwise(pl.col("money"))
        .alias("money")
    )
    problems = compare_frames(reference_frame, other)
    assert len(problems) == 1
    assert problems[0].startswith("money: 1 rows differ") and "customer_id='c'" in problems[0]
    relative = reference_frame.with_columns(pl.col("money") * (1 + 1e-8))
    assert [p.split(":")[0] for p in compare_frames(reference_frame, relative)] == ["money"]
    null_mean = reference_frame.with_columns(pl.col("mean").fill_null(0.0))
    assert [p.split(":")[0] for p in compare_frames(reference_frame, null_mean)] == ["mean"]


def test_compare_finds_a_changed_label_flag_count_and_time(
    reference_frame: pl.DataFrame,
) -> None:
    other = reference_frame.with_columns(
        pl.Series("tier", ["vip", "prospect", "advanced"]),
        pl.Series("key", [True, True, False]),
        pl.Series("orders", [1, 0, 3], dtype=pl.Int32),
        pl.col("first").dt.offset_by("1us"),
    )
    problems = compare_frames(reference_frame, other)
    assert [p.split(":")[0] for p in problems] == ["orders", "first", "tier", "key"]
    assert "'normal' vs 'advanced'" in problems[2]


def test_compare_finds_missing_rows_and_columns(reference_frame: pl.DataFrame) -> None:
    problems = compare_frames(reference_frame, reference_frame.filter(pl.col("customer_id") != "b"))
    assert problems[0] == "row count: 3 in the reference, 2 here"
    assert problems[1] == "missing customer_id values (1): 'b'"
    assert compare_frames(reference_frame, reference_frame.drop("tier")) == [
        "missing columns: tier"
    ]
    reordered = reference_frame.select("customer_id", "tier", pl.exclude("customer_id", "tier"))
    assert compare_frames(reference_frame, reordered)[0].startswith("column order differs")
    as_text = reference_frame.with_columns(pl.col("orders").cast(pl.String))
    assert compare_frames(reference_frame, as_text) == [
        "orders: type Int64 in the reference, String here"
    ]


# -- measure, data, the harness -----------------------------------------------------
def test_measure_a_trivial_command() -> None:
    m = measure([sys.executable, "-c", "sum(range(100_000))"])
    assert m.wall_s > 0 and m.cpu_s > 0 and m.max_rss_bytes > 1_000_000
    summary = repeat([sys.executable, "-c", "pass"], 2)
    assert len(summary.runs) == 2 and summary.wall_s > 0 and summary.max_rss_bytes > 0


def test_measure_reports_the_commands_own_memory_not_the_parents() -> None:
    ballast = bytearray(300 * 2**20)
    ballast[:: 2**12] = b"x" * len(ballast[:: 2**12])  # touched: resident in this process
    small = measure([sys.executable, "-c", "pass"])
    big = measure(
        [sys.executable, "-c", "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096])"]
    )
    del ballast
    assert small.max_rss_bytes < 100 * 2**20
    assert 200 * 2**20 < big.max_rss_bytes < 300 * 2**20


def test_measure_raises_with_the_end_of_stderr() -> None:
    with pytest.raises(BenchError, match=r"exit code 3(.|\n)*boom"):
        measure([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])


def test_bench_data_generates_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGRULE_CACHE_DIR", str(tmp_path))
    path = bench_data(500, seed=3)
    assert path == tmp_path / "bench" / "orders-500-seed-3"
    stamp = (path / "orders.parquet").stat().st_mtime_ns
    assert bench_data(500, seed=3) == path
    assert (path / "orders.parquet").stat().st_mtime_ns == stamp
    (path / "feedback.parquet").unlink()  # as after an interrupted generation
    bench_data(500, seed=3)
    assert (path / "feedback.parquet").exists()


def test_side_by_side_times_agreeing_engines(tmp_path: Path) -> None:
    engines = ["segrule", "duckdb", "jobfloor-polars", "jobfloor-duckdb"]
    results = sbs.run_side_by_side(
        [1000], engines, repeat=1, cache_dir=tmp_path, shapes=["no-customers"]
    )
    (size,) = results
    assert size.shape == "no-customers" and size.orders == 1000
    assert [r.engine for r in size.engines] == engines
    assert size.engines[0].wall_vs_segrule == 1.0
    assert 50 < size.customers < 100  # the customers of orders, not the 100 generated
    assert all(r.wall_s > 0 and r.cpu_s > 0 and r.max_rss_bytes > 0 for r in size.engines)
    assert set(size.segrule_vs_floor) == {"jobfloor-polars", "jobfloor-duckdb"}
    table = sbs.format_markdown(results, sbs.machine_info(), repeat=1)
    assert f"| 1,000 | no-customers | {size.customers} | duckdb |" in table
    assert "shape no-customers: segrule's wall time is" in table and "polars 2." in table
    assert not list(tmp_path.glob("**/segrule.parquet"))  # outputs go to a temporary folder


def test_side_by_side_refuses_to_time_a_disagreeing_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sbs.engine_command
    wrong = (
        "import sys, polars as pl; df = pl.read_parquet(sys.argv[1]); "
        "df = df.with_columns(pl.col('tier').str.replace('vip', 'VIP')); "
        "df.head(-1).write_parquet(sys.argv[2])"
    )

    def command(engine: str, data_dir: Path, out: Path, **kw: object) -> list[str]:
        if engine == "polars":  # a 'peer' that copies segrule's output, then spoils it
            return [sys.executable, "-c", wrong, str(out.parent / "segrule.parquet"), str(out)]
        return real(engine, data_dir, out, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(sbs, "engine_command", command)
    timed: list[object] = []
    monkeypatch.setattr(sbs, "summarize", lambda runs: timed.append(runs))
    with pytest.raises(OutputMismatchError) as info:
        sbs.run_side_by_side(
            [1000],
            ["segrule", "duckdb", "polars"],
            repeat=1,
            cache_dir=tmp_path,
            shapes="default,shuffled",
        )
    # every shape is checked, and nothing is timed
    assert list(info.value.found) == ["1,000 orders, shape default", "1,000 orders, shape shuffled"]
    assert all(list(f) == ["polars"] for f in info.value.found.values())
    message = str(info.value)
    assert "row count: 100 in the reference, 99 here" in message
    assert "the peers disagree among themselves too: polars differ from duckdb" in message
    assert timed == []


def test_unknown_engine_is_an_error() -> None:
    with pytest.raises(BenchError, match="unknown engine"):
        sbs.run_side_by_side([1000], ["segrule", "spark"])
    assert os.path.basename(sbs.engine_command("pandas", Path("d"), Path("o"))[1]) == (
        "pandas_script.py"
    )
