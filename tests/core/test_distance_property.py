"""Distance to the next rung (``--distance``) on random threshold ladders: the gap is
exactly what it takes. For every customer with a next label, the rule set's own
classification, evaluated at the customer's value plus the gap (plus a cent when the
bound is strict), gives that label, and a cent less does not; customers without a next
label are on the highest rung."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
import pytest
import segrule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segrule.explain import ExplainOptions
from segrule.testing import AS_OF, make_tables

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

CENT = 0.01


@st.composite
def ladders(draw: st.DrawFn) -> tuple[list[tuple[str, int]], int | None, str]:
    """Rungs (op, bound) highest first, an optional lower case ``< low``, the default."""
    bounds = draw(st.lists(st.integers(1, 2000), min_size=2, max_size=4, unique=True))
    bounds.sort(reverse=True)
    rungs = [(draw(st.sampled_from([">=", ">"])), b) for b in bounds]
    low = draw(st.one_of(st.none(), st.integers(1, bounds[-1])))
    return rungs, low, "base"


def rule_text(rungs: list[tuple[str, int]], low: int | None) -> str:
    cases = [
        f'      - {{when: "monetary_365d {op} {bound}", label: r{i}}}'
        for i, (op, bound) in enumerate(rungs)
    ]
    if low is not None:
        cases.append(f'      - {{when: "monetary_365d < {low}", label: low}}')
    return (
        "segments:\n  band:\n    cases:\n"
        + "\n".join(cases)
        + "\n    default: base\noutputs: [customer_id, monetary_365d, band]\n"
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ladder=ladders(),
    cents=st.lists(st.integers(0, 250_000), min_size=1, max_size=12),
    at_bounds=st.booleans(),
)
def test_gap_is_exactly_what_it_takes(ladder, cents, at_bounds) -> None:
    rungs, low, _ = ladder
    if at_bounds:  # customers sitting exactly on each bound, and a cent either side
        cents = cents + [b * 100 + d for _, b in rungs for d in (-1, 0, 1)]
    when = AS_OF - dt.timedelta(days=3)
    ids = [f"c{i:03d}" for i in range(len(cents))]
    orders = [(cid, when, c / 100) for cid, c in zip(ids, cents, strict=True) if c > 0]
    tables = make_tables(orders=orders, customers=ids)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "band.yaml"
        path.write_text(rule_text(rungs, low))
        plan = segrule.compile(path, tables, as_of=AS_OF)
        df = segrule.score(path, tables, as_of=AS_OF, explain=ExplainOptions(False, True, False))
    band = plan.nodes["band"].expr

    def label_at(values: pl.Series) -> list[str]:
        return pl.DataFrame({"monetary_365d": values}).select(band)["band"].to_list()

    top = label_at(pl.Series([1e12]))[0]
    assert top == "r0"
    has_next = df.filter(pl.col("band_next").is_not_null())
    none = df.filter(pl.col("band_next").is_null())
    assert (none["band"] == top).all(), none
    if has_next.height == 0:
        return
    value, gap = has_next["monetary_365d"], has_next["band_gap"]
    strict = has_next["band_lacks"].str.contains("more than").to_list()
    assert (gap > 0).all() or any(strict)
    enough = [v + g + (CENT if s else 0) for v, g, s in zip(value, gap, strict, strict=True)]
    short = [v + g - (0 if s else CENT) for v, g, s in zip(value, gap, strict, strict=True)]
    nxt = has_next["band_next"].to_list()
    # Round to cents as money is: the gap is an exact number of cents here.
    assert label_at(pl.Series(enough).round(2)) == nxt
    assert all(a != b for a, b in zip(label_at(pl.Series(short).round(2)), nxt, strict=True))
