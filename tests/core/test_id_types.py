"""Customer ids keep their input type (issue 16 point 1).

The rule: each table's customer_id is normalised on its own (text kinds -> String,
integers kept, whole floats and Decimals -> Int64, a Null column takes the others'
type, anything else is an error), the tables of a run agree on one type (integers of
different widths -> Int64, unsigned only -> the widest unsigned; UInt64 beside a signed
type, or text beside integers, is an error naming both tables and types), and every
output, reader and tie "by customer_id" uses that type and its natural order (numeric
for integers). Blacklist entries and ``explain --customer`` are converted to it;
order_id keeps its type too.

The ids below are chosen so that text order and numeric order disagree: 9 < 80 < 123 <
700 < 5000, but "123" < "5000" < "700" < "80" < "9". Each customer has one paid order
of 100.00 three days before the as-of, so every R, F and M score and the Pareto set are
decided by customer_id alone: NTILE(5) over the five gives positions 1..5 in id order,
and the Pareto set is the first four (400.00 of 500.00 before the fifth).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
import segrule.history
from segrule.errors import DataError
from segrule_cli.app import app
from typer.testing import CliRunner

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

ENGINE = segrule.Engine(autoload=False)
AS_OF = dt.datetime(2026, 11, 1)
IDS = [9, 80, 123, 700, 5000]  # numeric order
TEXT_IDS = ["123", "5000", "700", "80", "9"]  # the same ids in text order
POSITIONS = [1, 2, 3, 4, 5]  # R, F and M of the ids above, in their order
KEY = [True, True, True, True, False]  # pareto_key in that order
BIG_U64 = [9, 80, 123, 2**63 + 5, 2**64 - 1]  # beyond Int64: must not wrap or overflow

runner = CliRunner()


def before(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


def orders(ids: pl.Series, **columns: list[Any]) -> pl.DataFrame:
    """One paid order of 100.00 per id, three days before the as-of (integer order ids
    1, 2, ...), unless ``columns`` says otherwise."""
    n = ids.len()
    base: dict[str, Any] = {
        "order_id": pl.Series(range(1, n + 1), dtype=pl.Int64),
        "customer_id": ids,
        "order_ts": pl.Series([before(3)] * n, dtype=pl.Datetime("us")),
        "amount": [100.0] * n,
        "status": ["paid"] * n,
    }
    base.update(columns)
    return pl.DataFrame(base)


def customers(ids: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": ids, "city": ["上海"] * ids.len()})


def no_events(dtype: type[pl.DataType] = pl.Int64) -> pl.DataFrame:
    return pl.DataFrame(
        schema={"customer_id": dtype, "event_ts": pl.Datetime("us"), "event_type": pl.String}
    )


def no_feedback(dtype: type[pl.DataType] = pl.Int64) -> pl.DataFrame:
    return pl.DataFrame(schema={"customer_id": dtype, "ts": pl.Datetime("us"), "score": pl.Int64})


def score(
    tables: dict[str, pl.DataFrame], rules: list[str] | None = None, **kw: Any
) -> pl.DataFrame:
    df = segrule.score(
        rules or ["rfm", "pareto-80-20"], tables=tables, as_of=AS_OF, engine=ENGINE, **kw
    )
    assert isinstance(df, pl.DataFrame)
    return df


def quality_rows(result: segrule.RunResult, table: str, check: str) -> int:
    return next(q["rows"] for q in result.quality if q["table"] == table and q["check"] == check)


# -- one table: the output's type and order per input type -----------------------------------
INTEGER_INPUTS = {
    "Int64": (pl.Series(IDS, dtype=pl.Int64), pl.Int64()),
    "UInt64": (pl.Series(IDS, dtype=pl.UInt64), pl.UInt64()),
    "UInt64 above 2^63": (pl.Series(BIG_U64, dtype=pl.UInt64), pl.UInt64()),
    "Int32": (pl.Series(IDS, dtype=pl.Int32), pl.Int32()),
    "Int16": (pl.Series(IDS, dtype=pl.Int16), pl.Int16()),
    "UInt32": (pl.Series(IDS, dtype=pl.UInt32), pl.UInt32()),
    "Float64 whole numbers": (pl.Series([float(i) for i in IDS]), pl.Int64()),
    "Decimal whole numbers": (
        pl.Series([Decimal(f"{i}.00") for i in IDS], dtype=pl.Decimal(12, 2)),
        pl.Int64(),
    ),
}
TEXT_INPUTS = {
    "String": pl.Series(IDS).cast(pl.String),
    "Categorical": pl.Series(IDS).cast(pl.String).cast(pl.Categorical),
    "Enum": pl.Series(IDS).cast(pl.String).cast(pl.Enum([str(i) for i in sorted(IDS)[::-1]])),
}


def _shuffled(ids: pl.Series) -> pl.Series:
    return ids.gather([3, 0, 4, 2, 1])  # row order must not matter


@pytest.mark.parametrize("name", list(INTEGER_INPUTS))
def test_integer_ids_stay_integers_in_numeric_order(name: str) -> None:
    ids, expected = INTEGER_INPUTS[name]
    df = score({"orders": orders(_shuffled(ids))})
    assert df.schema["customer_id"] == expected
    want = sorted(int(v) for v in ids.to_list())
    assert df["customer_id"].to_list() == want  # numeric order, not "123" < "5000" < "9"
    # ties in R, F, M and the Pareto set are broken by the ids in numeric order
    for column in ("r_score", "f_score", "m_score"):
        assert df[column].to_list() == POSITIONS, column
    assert df["pareto_key"].to_list() == KEY


@pytest.mark.parametrize("name", list(TEXT_INPUTS))
def test_text_ids_are_strings_in_text_order(name: str) -> None:
    """Text, Categorical and Enum ids are written as String and ordered as text (the
    Enum's own category order is not used)."""
    df = score({"orders": orders(_shuffled(TEXT_INPUTS[name]))})
    assert df.schema["customer_id"] == pl.String()
    assert df["customer_id"].to_list() == TEXT_IDS
    assert df["r_score"].to_list() == POSITIONS
    assert df["pareto_key"].to_list() == KEY


def test_float_ids_nan_is_a_null_id(tmp_path: Path) -> None:
    """A float column (a CSV round trip through pandas): NaN and infinities are null ids,
    counted as null_customer_id; the others are Int64."""
    ids = pl.Series([9.0, float("nan"), 80.0, float("inf"), 123.0])
    result = segrule.run(
        ["rfm"], tmp_path / "out.parquet", {"orders": orders(ids)}, as_of=AS_OF, engine=ENGINE
    )
    assert quality_rows(result, "orders", "null_customer_id") == 2
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out.schema["customer_id"] == pl.Int64()
    assert out["customer_id"].to_list() == [9, 80, 123]


@pytest.mark.parametrize(
    ("ids", "value"),
    [
        (pl.Series([9.0, 1.5, 80.0]), "1.5"),
        (pl.Series([Decimal("9.00"), Decimal("1.50")], dtype=pl.Decimal(12, 2)), "1.5"),
    ],
    ids=["Float64", "Decimal"],
)
def test_a_fractional_id_is_an_error_naming_table_and_value(ids: pl.Series, value: str) -> None:
    with pytest.raises(DataError, match=rf"orders.*{value}|{value}.*orders"):
        score({"orders": orders(ids)})


@pytest.mark.parametrize(
    ("ids", "type_name"),
    [
        (pl.Series([True, False, True]), "Boolean"),
        (pl.Series([dt.date(2020, 1, d) for d in (1, 2, 3)]), "Date"),
        (pl.Series([[1], [2], [3]]), "List"),
    ],
    ids=["Boolean", "Date", "List"],
)
def test_other_id_types_are_an_error_naming_table_column_and_type(
    ids: pl.Series, type_name: str
) -> None:
    with pytest.raises(DataError) as caught:
        score({"orders": orders(ids)})
    message = str(caught.value)
    for part in ("orders", "customer_id", type_name):
        assert part in message, (part, message)


# -- several tables: one type per run ------------------------------------------------------
@pytest.mark.parametrize(
    ("orders_type", "customers_type", "expected"),
    [
        (pl.Int32(), pl.Int64(), pl.Int64()),
        (pl.Int16(), pl.Int32(), pl.Int64()),  # different widths: Int64
        (pl.Int32(), pl.UInt32(), pl.Int64()),  # signed beside (narrower than 64) unsigned
        (pl.UInt32(), pl.UInt64(), pl.UInt64()),  # unsigned only: the widest unsigned
        (pl.UInt8(), pl.UInt16(), pl.UInt16()),
        (pl.Categorical(), pl.String(), pl.String()),  # text kinds: String
    ],
    ids=str,
)
def test_tables_of_different_id_types_agree_on_one(
    orders_type: pl.DataType, customers_type: pl.DataType, expected: pl.DataType
) -> None:
    small = [9, 80, 123]  # fit UInt8 too
    text = orders_type == pl.Categorical() or customers_type == pl.String()

    def typed(values: list[int], dtype: pl.DataType) -> pl.Series:
        series = pl.Series(values)
        return series.cast(pl.String).cast(dtype) if text else series.cast(dtype)

    universe = [*small, 250]  # 250: a customer without orders
    df = score(
        {
            "orders": orders(typed(small, orders_type)),
            "customers": customers(typed(universe, customers_type)),
        }
    )
    assert df.schema["customer_id"] == expected
    if text:
        assert df["customer_id"].to_list() == ["123", "250", "80", "9"]
    else:
        assert df["customer_id"].to_list() == [9, 80, 123, 250]
        assert df["orders_lifetime"].to_list() == [1, 1, 1, 0]
        assert df["r_score"].to_list() == [1, 2, 3, None]


def test_events_and_feedback_of_another_integer_width_are_joined() -> None:
    """Int32 orders, Int64 customers, Int16 events and UInt8 feedback: one Int64 run in
    which every table's rows reach their customer."""
    small = [9, 80, 123]
    events = pl.DataFrame(
        {
            "customer_id": pl.Series([80, 123], dtype=pl.Int16),
            "event_ts": pl.Series([before(5), before(60)], dtype=pl.Datetime("us")),
            "event_type": ["campaign", "campaign"],
        }
    )
    feedback = pl.DataFrame(
        {
            "customer_id": pl.Series([9, 9], dtype=pl.UInt8),
            "ts": pl.Series([before(5), before(6)], dtype=pl.Datetime("us")),
            "score": [100, 80],
        }
    )
    df = score(
        {
            "orders": orders(pl.Series(small, dtype=pl.Int32)),
            "customers": customers(pl.Series(small, dtype=pl.Int64)),
            "events": events,
            "feedback": feedback,
        },
        rules=["taobao-5-tier"],
    )
    assert df.schema["customer_id"] == pl.Int64()
    assert df["customer_id"].to_list() == small
    assert df["interaction"].to_list() == ["none", "active", "occasional"]
    assert df["feedback_mean"].to_list() == [90.0, None, None]


def test_an_all_null_id_column_takes_the_others_type() -> None:
    """An empty feedback table whose customer_id has no type (Null, as from an empty
    CSV column or a frame built without a schema) does not change the run's Int64."""
    feedback = pl.DataFrame(
        {
            "customer_id": pl.Series([], dtype=pl.Null),
            "ts": pl.Series([], dtype=pl.Datetime("us")),
            "score": pl.Series([], dtype=pl.Int64),
        }
    )
    df = score(
        {"orders": orders(pl.Series(IDS)), "events": no_events(), "feedback": feedback},
        rules=["taobao-5-tier"],
    )
    assert df.schema["customer_id"] == pl.Int64()
    assert df["customer_id"].to_list() == IDS
    assert df["satisfaction"].to_list() == ["unknown"] * len(IDS)


@pytest.mark.parametrize(
    ("orders_ids", "customers_ids", "names"),
    [
        (pl.Series(IDS, dtype=pl.UInt64), pl.Series(IDS, dtype=pl.Int64), ("UInt64", "Int64")),
        (pl.Series(IDS, dtype=pl.Int64), pl.Series(IDS, dtype=pl.UInt64), ("Int64", "UInt64")),
        (pl.Series(IDS, dtype=pl.Int64), pl.Series(IDS).cast(pl.String), ("Int64", "String")),
        (pl.Series(IDS).cast(pl.String), pl.Series(IDS, dtype=pl.Int32), ("String", "Int32")),
    ],
    ids=["UInt64+Int64", "Int64+UInt64", "Int64+String", "String+Int32"],
)
def test_incompatible_id_types_are_an_error_naming_both_tables_and_types(
    orders_ids: pl.Series, customers_ids: pl.Series, names: tuple[str, str]
) -> None:
    with pytest.raises(DataError) as caught:
        score({"orders": orders(orders_ids), "customers": customers(customers_ids)})
    message = str(caught.value)
    for part in ("orders", "customers", *names):
        assert part in message, (part, message)
    if "String" in names:
        assert "export" in message, message  # text beside integers: fix the export


# -- outputs and readers keep the type ----------------------------------------------------------
def test_run_out_files_keep_integer_ids(tmp_path: Path) -> None:
    tables = {"orders": orders(_shuffled(pl.Series(IDS)))}
    for name in ("out.parquet", "out.arrow", "out.ndjson", "out.csv"):
        segrule.run(["rfm"], tmp_path / name, tables, as_of=AS_OF, engine=ENGINE)
    for name in ("out.parquet", "out.arrow"):
        frame = (
            pl.read_ipc(tmp_path / name)
            if name.endswith("arrow")
            else pl.read_parquet(tmp_path / name)
        )
        assert frame.schema["customer_id"] == pl.Int64(), name
        assert frame["customer_id"].to_list() == IDS, name
    lines = (tmp_path / "out.ndjson").read_text().splitlines()
    assert [json.loads(line)["customer_id"] for line in lines] == IDS  # numbers, not "9"
    rows = (tmp_path / "out.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == [str(i) for i in IDS]  # numeric order


def test_rejects_keep_the_id_types(tmp_path: Path) -> None:
    """--rejects writes the rows as read: Int64 customer and order ids stay Int64."""
    tables = {
        "orders": orders(
            pl.Series([*IDS, 80, 4242], dtype=pl.Int64),
            amount=[100.0] * 5 + [-1.0, 5.0],  # 80: a bad amount; 4242: not a customer
        ),
        "customers": customers(pl.Series(IDS, dtype=pl.Int64)),
    }
    result = segrule.run(
        ["rfm"],
        tmp_path / "out.parquet",
        tables,
        as_of=AS_OF,
        engine=ENGINE,
        rejects=tmp_path / "rej",
    )
    assert result.rejects == {"orders": 2}
    rejected = pl.read_parquet(tmp_path / "rej" / "orders.parquet")
    assert rejected.schema["customer_id"] == pl.Int64()
    assert rejected.schema["order_id"] == pl.Int64()
    assert dict(zip(rejected["customer_id"], rejected["reason"], strict=True)) == {
        80: "bad_amount",
        4242: "unknown_customer",
    }


def _history_tables() -> dict[str, pl.DataFrame]:
    """Five customers; 9 and 80 buy 20 days before the as-of, everyone 3 days before."""
    ids = pl.Series([*IDS, 9, 80], dtype=pl.Int64)
    ts = [before(3)] * 5 + [before(20)] * 2
    return {
        "orders": orders(ids, order_ts=pl.Series(ts, dtype=pl.Datetime("us"))),
        "events": no_events(),
        "feedback": no_feedback(),
    }


def test_history_keeps_integer_ids(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    for as_of in (before(10), AS_OF):
        segrule.run(
            ["taobao-5-tier"],
            tmp_path / "scores.parquet",
            _history_tables(),
            as_of=as_of,
            engine=ENGINE,
            history=hist,
        )
    parts = segrule.history.partitions(hist)
    assert len(parts) == 2
    for _, path in parts:
        assert pl.read_parquet_schema(path)["customer_id"] == pl.Int64(), path
    assert pl.read_parquet(parts[0][1])["customer_id"].to_list() == [9, 80]
    assert pl.read_parquet(parts[1][1])["customer_id"].to_list() == IDS
    everything = segrule.history.read(hist).collect()
    assert everything.schema["customer_id"] == pl.Int64()
    moves = segrule.history.events(hist, "tier")
    assert moves.schema["customer_id"] == pl.Int64()
    # 123, 700 and 5000 enter at the second run; in numeric order
    entered = moves.filter(pl.col("old_label") == "(absent)")["customer_id"].to_list()
    assert entered == [123, 700, 5000]
    assert moves["customer_id"].to_list() == sorted(moves["customer_id"].to_list())


def test_history_cli_finds_an_integer_customer(tmp_path: Path, cli_env: None) -> None:
    hist = tmp_path / "hist"
    for as_of in (before(10), AS_OF):
        segrule.run(
            ["taobao-5-tier"], tmp_path / "s.parquet", _history_tables(), as_of=as_of, history=hist
        )
    result = runner.invoke(app, ["history", str(hist), "--customer", "80"])
    assert result.exit_code == 0, result.output
    # its two runs: one order (100.00) by the first, two (200.00) by the second
    assert "2026-10-22" in result.output and "2026-11-01" in result.output
    assert "one_time" in result.output and "200.0" in result.output


def _outputs(tmp_path: Path, old_ids: pl.Series, new_ids: pl.Series) -> tuple[Path, Path]:
    """Two rfm outputs a month apart. At the first every customer has one order 40 days
    before (all tied: R = F = position by id); by the second, 9 and 80 have ordered again
    (R and F 4 and 5, the three others 1 to 3 by id)."""
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    n = len(IDS)

    def tables(ids: pl.Series) -> dict[str, pl.DataFrame]:
        all_ids = pl.concat([ids, ids.head(2)])  # 9 and 80 again
        ts = [before(40)] * n + [before(3)] * 2
        return {"orders": orders(all_ids, order_ts=pl.Series(ts, dtype=pl.Datetime("us")))}

    segrule.run(["rfm"], old, tables(old_ids), as_of=before(30), engine=ENGINE)
    segrule.run(["rfm"], new, tables(new_ids), as_of=AS_OF, engine=ENGINE)
    return old, new


def _moves(changes: pl.DataFrame) -> dict[Any, tuple[str, str]]:
    left = changes.filter(pl.col("event") == "left")
    return {r["customer_id"]: (r["old_label"], r["new_label"]) for r in left.to_dicts()}


def test_diff_changes_keep_integer_ids(tmp_path: Path, cli_env: None) -> None:
    """In numeric order every customer moves (in text order nobody would: 9 and 80 are
    last as text at both as-ofs)."""
    old, new = _outputs(tmp_path, pl.Series(IDS), pl.Series(IDS))
    changes = tmp_path / "changes.parquet"
    result = runner.invoke(app, ["diff", str(old), str(new), "--changes", str(changes)])
    assert result.exit_code == 0, result.output
    moved = pl.read_parquet(changes)
    assert moved.schema["customer_id"] == pl.Int64()
    assert moved["customer_id"].to_list() == [i for i in IDS for _ in ("left", "entered")]
    assert _moves(moved) == {
        9: ("hibernating", "loyal"),  # R1 F1 -> R4 F4
        80: ("hibernating", "champions"),  # R2 F2 -> R5 F5
        123: ("need_attention", "hibernating"),  # R3 F3 -> R1 F1
        700: ("loyal", "hibernating"),  # R4 F4 -> R2 F2
        5000: ("champions", "need_attention"),  # R5 F5 -> R3 F3
    }


def test_diff_of_text_ids_against_integer_ids_compares_them_as_text(
    tmp_path: Path, cli_env: None
) -> None:
    """An old output written with text ids (ranked in text order) against a new one with
    integer ids: the same five customers, compared as text, not ten customers each on
    one side only."""
    old, new = _outputs(tmp_path, pl.Series(IDS).cast(pl.String), pl.Series(IDS))
    assert pl.read_parquet_schema(old)["customer_id"] == pl.String()
    assert pl.read_parquet_schema(new)["customer_id"] == pl.Int64()
    changes = tmp_path / "changes.parquet"
    result = runner.invoke(app, ["diff", str(old), str(new), "--changes", str(changes)])
    assert result.exit_code == 0, result.output
    moved = pl.read_parquet(changes)
    assert moved.schema["customer_id"] == pl.String()
    # old, text order 123 5000 700 80 9: hib hib need_attention loyal champions;
    # new, numeric: 123 700 5000 (one order) then 9 80: hib hib need_attention loyal champions
    assert _moves(moved) == {
        "5000": ("hibernating", "need_attention"),
        "700": ("need_attention", "hibernating"),
        "80": ("loyal", "champions"),
        "9": ("champions", "loyal"),
    }


# -- blacklists, explain and history --customer convert to the run's type --------------------------
def test_blacklist_file_of_integer_ids_excludes_integer_customers(tmp_path: Path) -> None:
    listing = tmp_path / "blacklist.txt"
    listing.write_text("# do not contact\n123\n\n9\n", encoding="utf-8")
    tables = {"orders": orders(_shuffled(pl.Series(IDS)))}
    result = segrule.run(
        ["rfm", "pareto-80-20"],
        tmp_path / "out.parquet",
        tables,
        as_of=AS_OF,
        engine=ENGINE,
        blacklist=listing,
    )
    assert quality_rows(result, "customers", "blacklisted_customers") == 2
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out.schema["customer_id"] == pl.Int64()
    assert out["customer_id"].to_list() == [80, 700, 5000]
    assert out["r_score"].to_list() == [1, 2, 3]  # outside every rank, the rest in id order


def test_blacklist_parquet_of_integer_ids(tmp_path: Path) -> None:
    listing = tmp_path / "blacklist.parquet"
    pl.DataFrame({"customer_id": pl.Series([700, 9999], dtype=pl.Int64)}).write_parquet(listing)
    df = score({"orders": orders(pl.Series(IDS, dtype=pl.Int32))}, blacklist=listing)
    assert df.schema["customer_id"] == pl.Int32()
    assert df["customer_id"].to_list() == [9, 80, 123, 5000]


def test_a_blacklist_entry_that_is_not_an_integer_id_is_an_error_naming_it(tmp_path: Path) -> None:
    listing = tmp_path / "blacklist.txt"
    listing.write_text("123\nC-42\n", encoding="utf-8")
    with pytest.raises(DataError, match="C-42"):
        score({"orders": orders(pl.Series(IDS))}, blacklist=listing)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As tests/cli's isolated_cli: a private cache, builtin plugins only, wide terminal."""
    monkeypatch.setenv("SEGRULE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SEGRULE_DEBUG", raising=False)


@pytest.fixture
def int_data(tmp_path: Path) -> Path:
    """A data folder whose orders.parquet has Int64 customer and order ids."""
    folder = tmp_path / "data"
    folder.mkdir()
    orders(_shuffled(pl.Series(IDS))).write_parquet(folder / "orders.parquet")
    return folder


def test_explain_finds_integer_customer_123(int_data: Path, cli_env: None) -> None:
    args = ["explain", "rfm", "--data", str(int_data), "--as-of", "2026-11-01"]
    result = runner.invoke(app, [*args, "--customer", "123", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["customer_id"] == 123  # the run's type, not "123"
    values = {item["name"]: item["value"] for item in record["items"]}
    assert values["r_score"] == 3  # third of five in numeric order ("123" is first as text)
    assert values["rfm_segment"] == "need_attention"  # R 3, F 3
    text = runner.invoke(app, [*args, "--customer", "123"])
    assert text.exit_code == 0, text.output
    assert "123" in text.output


def test_explain_customer_that_is_not_an_integer_id_is_an_error(
    int_data: Path, cli_env: None
) -> None:
    args = ["explain", "rfm", "--data", str(int_data), "--as-of", "2026-11-01"]
    result = runner.invoke(app, [*args, "--customer", "C-42"])
    assert result.exit_code == 1, result.output
    assert "C-42" in result.output
    assert "Traceback" not in result.output


# -- order ids keep their type: duplicates are found on them as they are ----------------------
def test_duplicate_integer_order_ids_are_found_and_the_later_row_dropped(tmp_path: Path) -> None:
    ids = pl.Series([9, 80, 9, 123], dtype=pl.Int64)
    tables = {
        "orders": orders(
            ids,
            order_id=pl.Series([42, 7, 42, 2**53 + 1], dtype=pl.Int64),  # 42 twice
            order_ts=pl.Series(
                [before(5), before(5), before(4), before(5)], dtype=pl.Datetime("us")
            ),
            amount=[10.0, 20.0, 99.0, 30.0],
        )
    }
    result = segrule.run(
        ["rfm"],
        tmp_path / "out.parquet",
        tables,
        as_of=AS_OF,
        engine=ENGINE,
        rejects=tmp_path / "rej",
    )
    assert quality_rows(result, "orders", "duplicate_order_id") == 1
    out = pl.read_parquet(tmp_path / "out.parquet")
    # the earlier row of order 42 is kept (keyed by text: the output's id type and order
    # are other tests' business)
    spend = dict(zip(out["customer_id"].cast(pl.String), out["monetary_lifetime"], strict=True))
    assert spend == {"9": 10.0, "80": 20.0, "123": 30.0}
    rejected = pl.read_parquet(tmp_path / "rej" / "orders.parquet")
    assert rejected.schema["order_id"] == pl.Int64()
    assert rejected.select("order_id", "customer_id", "amount", "reason").to_dicts() == [
        {"order_id": 42, "customer_id": 9, "amount": 99.0, "reason": "duplicate_order_id"}
    ]


@pytest.mark.parametrize(
    "order_ids",
    [
        pl.Series([2**53, 2**53 + 1, 2**53 + 2], dtype=pl.Int64),  # equal once made floats
        pl.Series(["1", "01", "1.0"], dtype=pl.String),  # equal once read as numbers
        pl.Series([1, 10, 101], dtype=pl.UInt64),  # "1" "10" "101": prefixes as text
    ],
    ids=["Int64 beyond 2^53", "String numbers", "UInt64"],
)
def test_distinct_order_ids_are_not_duplicates(order_ids: pl.Series, tmp_path: Path) -> None:
    tables = {"orders": orders(pl.Series([9, 80, 123], dtype=pl.Int64), order_id=order_ids)}
    result = segrule.run(["rfm"], tmp_path / "out.parquet", tables, as_of=AS_OF, engine=ENGINE)
    assert quality_rows(result, "orders", "duplicate_order_id") == 0
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out["orders_lifetime"].to_list() == [1, 1, 1]


# -- CSV: every column is text as read ---------------------------------------------------
def _csv_run(tmp_path: Path, order_ids: list[str], customer_file: pl.DataFrame | None) -> Any:
    csv = tmp_path / "orders.csv"
    orders(pl.Series(order_ids)).write_csv(csv)
    tables: dict[str, Any] = {"orders": csv}
    if customer_file is not None:
        tables["customers"] = customer_file
    return score(tables)


def test_csv_integer_ids_are_integers_and_zero_padded_ids_stay_text(tmp_path: Path) -> None:
    df = _csv_run(tmp_path, [str(i) for i in _shuffled(pl.Series(IDS)).to_list()], None)
    assert df.schema["customer_id"] == pl.Int64
    assert df["customer_id"].to_list() == IDS
    assert df["r_score"].to_list() == POSITIONS
    # "0009" keeps its zeros: the column is text, in text order
    padded = [f"{i:04d}" for i in IDS]
    df = _csv_run(tmp_path, padded, None)
    assert df.schema["customer_id"] == pl.String
    assert df["customer_id"].to_list() == sorted(padded)


def test_csv_integer_ids_join_a_typed_customers_table(tmp_path: Path) -> None:
    typed = customers(pl.Series(IDS, dtype=pl.Int32))
    df = _csv_run(tmp_path, [str(i) for i in IDS], typed)
    assert df.schema["customer_id"] == pl.Int64
    assert df["customer_id"].to_list() == IDS
    assert df["pareto_key"].to_list() == KEY
    # text ids in the CSV against integers in the customers table: refused, both named
    with pytest.raises(DataError, match=r"text in table 'orders'.*numbers in table 'customers'"):
        _csv_run(tmp_path, [f"C{i}" for i in IDS], typed)


@pytest.mark.parametrize("dtype", [pl.Int64, pl.UInt64, pl.Int32, pl.String])
def test_order_ids_keep_their_type_in_the_plan(dtype: type[pl.DataType]) -> None:
    """The duplicate check reads order_id as the table has it: integers are not made
    text (which cost a cast and a text sort, and put 10 before 9)."""
    table = orders(pl.Series(IDS), order_id=pl.Series([5, 40, 300, 2000, 10000]).cast(dtype))
    plan = segrule.compile(["rfm"], {"orders": table}, as_of=AS_OF, engine=ENGINE)
    assert plan.loaded["orders"].frame.collect_schema()["order_id"] == dtype


@pytest.mark.parametrize("dtype", [pl.Int64, pl.UInt32, pl.String])
def test_unknown_customers_are_counted_in_any_id_type(
    dtype: type[pl.DataType], tmp_path: Path
) -> None:
    """Orders of customers outside the customers table are counted (and left out) the
    same whether ids are integers (a set lookup) or text (an anti-join)."""
    order_ids = pl.Series([9, 80, 77, 123, 78, 9, None]).cast(dtype)
    table = orders(order_ids)
    result = segrule.run(
        ["rfm"],
        tmp_path / "out.parquet",
        {"orders": table, "customers": customers(pl.Series(IDS).cast(dtype))},
        as_of=AS_OF,
        engine=ENGINE,
    )
    assert quality_rows(result, "orders", "unknown_customer") == 2  # 77 and 78
    assert quality_rows(result, "orders", "null_customer_id") == 1


@pytest.mark.parametrize("shuffle", [False, True], ids=["ids in order", "ids out of order"])
def test_a_duplicate_outside_the_rows_read_is_no_duplicate(shuffle: bool, tmp_path: Path) -> None:
    """Candidates come from every row of the table (after the as-of and bad rows too);
    only rows the run reads are counted: order 42 once before the as-of and once after
    is one order, order 43 twice before it is a duplicate."""
    table = orders(
        pl.Series([9, 80, 123, 700, 5000, 9]),
        order_id=pl.Series([41, 42, 42, 43, 43, 44], dtype=pl.Int64),
        order_ts=pl.Series(
            [before(3), before(3), before(-2), before(3), before(2), before(3)],
            dtype=pl.Datetime("us"),
        ),
    )
    if shuffle:
        table = table.reverse()
    result = segrule.run(
        ["rfm"], tmp_path / "o.parquet", {"orders": table}, as_of=AS_OF, engine=ENGINE
    )
    assert quality_rows(result, "orders", "duplicate_order_id") == 1
    assert quality_rows(result, "orders", "after_as_of") == 1
