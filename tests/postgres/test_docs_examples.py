"""docs/postgresql.md's examples run against the test server: its rule sets, its
command line and its Python, with the page's example URI replaced by the server's."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule.generate import generate
from segrule_cli.app import app
from typer.testing import CliRunner

PAGE = Path(__file__).resolve().parents[2] / "docs" / "postgresql.md"
EXAMPLE = "postgresql://scoring@db.internal:5432/shop"


def blocks(kind: str) -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    return re.findall(rf"```{kind}\n(.*?)```", text, re.S)


@pytest.fixture(scope="module")
def shop(pg, tmp_path_factory) -> str:
    """The page's database: public.orders, public.customers, sales.orders (renamed
    columns, two shops), an analytics schema for outputs."""
    paths = generate(tmp_path_factory.mktemp("shop"), orders=3_000, seed=9)
    pg.execute("DROP SCHEMA IF EXISTS sales CASCADE", "DROP SCHEMA IF EXISTS analytics CASCADE")
    pg.execute("CREATE SCHEMA sales", "CREATE SCHEMA analytics")
    pg.load(pl.read_parquet(paths["orders"]), "orders")
    pg.load(pl.read_parquet(paths["customers"]), "customers")
    pg.execute(
        "CREATE TABLE sales.orders AS SELECT order_id AS order_no, customer_id AS buyer_id, "
        "order_ts AS paid_at, amount::numeric(12,2) AS total, status AS state, "
        "(row_number() OVER () % 2) * 7 AS shop_id FROM public.orders"
    )
    return pg.uri


def test_rule_sets(shop: str, tmp_path: Path) -> None:
    found = blocks("yaml illustrative")
    assert len(found) == 2
    heights = []
    for i, block in enumerate(found):
        path = tmp_path / f"r{i}.yaml"
        path.write_text(block.replace(EXAMPLE, shop))
        out = segrule.score(path, as_of="2026-11-01")
        assert isinstance(out, pl.DataFrame) and "r_score" in out.columns
        heights.append(out.height)
    # Every customer of the customers table, then the buyers of shop 7 only.
    assert heights[0] > heights[1] > 50


def test_command_line(shop: str, pg) -> None:
    lines = [
        line[2:]
        for b in blocks("console")
        for line in b.splitlines()
        if line.startswith("$ segrule")
    ]
    assert lines
    for line in lines:
        args = shlex.split(line.replace(EXAMPLE, shop))[1:]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    assert pg.read("analytics.rfm_scores").height > 100


def test_python(shop: str) -> None:
    (code,) = blocks("python")
    scope: dict[str, object] = {}
    exec(code.replace(EXAMPLE, shop), scope)  # the page's own example
    assert isinstance(scope["scores"], pl.DataFrame) and scope["scores"].height > 100
    assert "***" in str(scope["result"].output)  # type: ignore[attr-defined]


def test_a_dependent_view_keeps_the_previous_table(shop: str, pg) -> None:
    out = f"{shop}#analytics.viewed"
    orders = f"{shop}#public.orders"
    segrule.run("rfm", out, {"orders": orders}, as_of="2026-11-01")
    pg.execute("CREATE VIEW analytics.v AS SELECT customer_id FROM analytics.viewed")
    with pytest.raises(segrule.SegruleError, match="previous table is unchanged") as err:
        segrule.run("rfm", out, {"orders": orders}, as_of="2026-10-01")
    assert "\n" not in str(err.value) and pg.password not in str(err.value)
    assert pg.execute("SELECT count(*) FROM analytics.v")[0][0] > 100
