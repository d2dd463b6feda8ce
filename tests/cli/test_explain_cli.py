"""`segrule explain` and `segrule run --explain/--distance/--rolloff` through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("isolated_cli")


def _run(data_dir: Path, out: Path, *flags: str) -> pl.DataFrame:
    args = ["run", "taobao-5-tier", "--data", str(data_dir), "--as-of", "2026-11-01"]
    result = runner.invoke(app, [*args, "--out", str(out), *flags])
    assert result.exit_code == 0, result.output
    return pl.read_parquet(out)


def test_run_explain_adds_reason_columns(data_dir: Path, tmp_path: Path) -> None:
    plain = _run(data_dir, tmp_path / "plain.parquet")
    df = _run(data_dir, tmp_path / "x.parquet", "--explain", "--distance", "--rolloff")
    assert df.select(plain.columns).equals(plain)
    for col in ("lifecycle", "freq_tier", "amount_tier", "interaction", "satisfaction", "tier"):
        assert df[f"{col}_reason"].null_count() == 0
    assert {"tier_next", "tier_gap", "tier_lacks", "amount_tier_rolloff"} <= set(df.columns)
    # The next tier of a customer with a gap is a rung above: its gap is positive.
    gaps = df.filter(pl.col("tier_gap").is_not_null())
    assert gaps.height > 0 and gaps["tier_gap"].min() > 0
    assert gaps["tier_next"].is_in(["super_vip", "vip", "advanced"]).all()


def test_run_distance_says_which_outputs_get_no_columns(data_dir: Path, tmp_path: Path) -> None:
    args = ["run", "taobao-5-tier", "--data", str(data_dir), "--as-of", "2026-11-01"]
    out = tmp_path / "d.parquet"
    result = runner.invoke(app, [*args, "--out", str(out), "--distance"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "--distance adds no columns" in line]
    # lifecycle and freq_tier are not ladders (each one threshold); tier and amount_tier are
    assert {n.split(" for ")[1].split(":")[0] for n in notes} == {
        "lifecycle",
        "freq_tier",
        "interaction",
        "satisfaction",
    } - {c[: -len("_next")] for c in pl.read_parquet(out).columns if c.endswith("_next")}
    assert notes and all(": " in n.split(" for ", 1)[1] for n in notes)


def test_explain_one_customer(data_dir: Path, tmp_path: Path) -> None:
    cid = pl.read_parquet(data_dir / "customers.parquet")["customer_id"][5]
    args = ["explain", "taobao-5-tier", "--data", str(data_dir), "--as-of", "2026-11-01"]
    result = runner.invoke(app, [*args, "--customer", cid])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"Customer {cid}" in out
    for text in ("Dimensions", "monetary_365d", "tier", "score >= 11", "→", "Scores", "total"):
        assert text in out, text
    zh = runner.invoke(app, [*args, "--customer", cid, "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    assert "客户等级" in zh.output and "维度" in zh.output
    # In Chinese every case and part value shows its label's display name after its key.
    assert "3. super_vip 超级VIP" in zh.output and "默认 normal 普通客户" in zh.output
    assert "super_vip 超级VIP" not in out
    js = runner.invoke(app, [*args, "--customer", cid, "--json"])
    assert js.exit_code == 0, js.output
    record = json.loads(js.output)
    items = {i["name"]: i for i in record["items"]}
    tier = items["tier"]
    matched = [c["label"] for c in tier["cases"] if c["matched"]]
    assert matched == [tier["value"]] or (not matched and tier["value"] == tier["default"])
    # The explanation is the run's: the same tier, score and spend.
    row = _run(data_dir, tmp_path / "run.parquet").filter(pl.col("customer_id") == cid)
    assert (tier["value"], items["score"]["value"]) == (row["tier"][0], row["score"][0])
    assert items["monetary_365d"]["value"] == row["monetary_365d"][0]


def test_explain_unknown_customer_is_one_line_error(data_dir: Path) -> None:
    args = ["explain", "taobao-5-tier", "--data", str(data_dir), "--as-of", "2026-11-01"]
    result = runner.invoke(app, [*args, "--customer", "nobody"])
    assert result.exit_code == 1
    assert "customer 'nobody' is not in the universe" in result.output
    assert "Traceback" not in result.output


def test_lacks_sentences_in_chinese(data_dir: Path, tmp_path: Path) -> None:
    """--lang zh writes the --distance sentences in Chinese, with the same numbers and
    labels as the English ones; `segrule explain --lang zh` prints them."""
    en = _run(data_dir, tmp_path / "en.parquet", "--distance")
    zh = _run(data_dir, tmp_path / "zh.parquet", "--distance", "--lang", "zh")
    assert en.drop(pl.selectors.ends_with("_lacks")).equals(
        zh.drop(pl.selectors.ends_with("_lacks"))
    )
    both = en.select("customer_id", "amount_tier_lacks", "amount_tier_next").join(
        zh.select("customer_id", pl.col("amount_tier_lacks").alias("zh")), on="customer_id"
    )
    both = both.filter(pl.col("zh").is_not_null())
    assert both.height > 0 and both["amount_tier_lacks"].null_count() == 0
    for text, zh_text, label in both.select("amount_tier_lacks", "zh", "amount_tier_next").rows():
        assert "needs" in text and "needs" not in zh_text
        assert zh_text.startswith("monetary_365d 还需增加 ") and zh_text.endswith(
            f"才能升至 {label}"
        )
        amount = text.split(" more for ")[0].split()[-1]  # the gap as written in English
        assert f" {amount} " in zh_text
        assert ("more than" in text) == ("超过" in zh_text)
    cid = both["customer_id"][0]
    args = ["explain", "taobao-5-tier", "--data", str(data_dir), "--as-of", "2026-11-01"]
    shown = runner.invoke(app, [*args, "--customer", cid, "--lang", "zh"])
    assert shown.exit_code == 0, shown.output
    assert both["zh"][0] in shown.output and "needs" not in shown.output
    bad = runner.invoke(
        app,
        [
            "run",
            "taobao-5-tier",
            "--out",
            str(tmp_path / "x.parquet"),
            "--data",
            str(data_dir),
            "--distance",
            "--lang",
            "fr",
        ],
    )
    assert bad.exit_code == 2 and "--lang 'fr'" in bad.output
