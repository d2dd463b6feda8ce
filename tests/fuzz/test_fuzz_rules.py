"""Rule files are data, not code: fuzz the rule-file and expression parsing.

Every generated input must either compile and run on a tiny data set, or stop with a
``SegruleError`` (what the CLI prints as one line). Any other exception, a polars
panic, or a run longer than ``TIMEOUT_S`` fails the test.

Three generators: rule sets built from the rule-set grammar with random (often wrong)
values and SQL from an expression grammar; the packaged presets' text with random
edits; and raw SQL text. The suite runs a small budget; the documented long run::

    SEGRULE_FUZZ_EXAMPLES=34000 uv run pytest tests/fuzz -q -p no:cacheprovider

(three tests, so over 100,000 inputs; see docs/testing.md for the last result).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import segrule
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segrule.errors import SegruleError
from segrule.sql import parse_sql
from segrule.testing import days_before, make_tables

EXAMPLES = int(os.environ.get("SEGRULE_FUZZ_EXAMPLES", "150"))
TIMEOUT_S = 30
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
    print_blob=True,
)
ENGINE = segrule.Engine(autoload=False)
AS_OF = days_before(0)
TABLES = make_tables(
    orders=[
        ("c1", days_before(3), 120.5),
        ("c1", days_before(40), 80.0, "refunded"),
        ("c2", days_before(400), 10_000.0),
        ("c3", days_before(1), 0.01, "paid", "dress", "app"),
    ],
    customers=[
        {"customer_id": "c1", "city": "上海", "birth_year": 1990, "gender": "f"},
        {"customer_id": "c2", "city": "成都", "birth_year": None},
        "c3",
        "c4",
    ],
    events=[("c1", days_before(2), "campaign"), ("c3", days_before(50), "view")],
    feedback=[("c1", days_before(5), 95), ("c2", days_before(9), 40)],
)

KNOWN = [
    "orders_30d",
    "orders_lifetime",
    "monetary_365d",
    "monetary_lifetime",
    "recency_days",
    "first_order_ts",
    "last_order_ts",
    "feedback_mean",
    "events_campaign_30d",
    "city",
    "birth_year",
    "age",
    "as_of",
    "seg_a",
    "seg_b",
    "score",
]
ODD = ["order_30d", "x", "中文", "a b", "__import__", "os", "1abc", "", "select", "NULL"]
PRESET_TEXTS = [ENGINE.presets.items[n].text() for n in ("taobao-5-tier", "rfm", "pareto-80-20")]


def sql_literals() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(2**70), 2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(max_size=8).map(lambda s: "'" + s.replace("'", "''") + "'"),
        st.text(max_size=8).map(lambda s: "'" + s + "'"),  # unescaped quotes too
        st.sampled_from(
            [
                "NULL",
                "TRUE",
                "FALSE",
                "'2026-11-01'",
                "INTERVAL '90 days'",
                "INTERVAL 'x'",
                "as_of - INTERVAL '30 days'",
                "DATE '2026-02-30'",
            ]
        ),
    )


def sql_names() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(KNOWN),
        st.sampled_from(ODD),
        st.sampled_from(ODD).map(lambda n: f'"{n}"'),
    )


def sql() -> st.SearchStrategy[str]:
    atoms = st.one_of(sql_names(), sql_literals())

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binop = st.sampled_from(
            ["+", "-", "*", "/", "%", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "||", "LIKE"]
        )
        func = st.sampled_from(
            ["COALESCE", "ABS", "ROUND", "LENGTH", "UPPER", "NULLIF", "GREATEST", "EVAL", "open"]
        )
        return st.one_of(
            st.tuples(inner, binop, inner).map(" ".join),
            inner.map(lambda e: f"NOT {e}"),
            inner.map(lambda e: f"({e})"),
            inner.map(lambda e: f"{e} IS NULL"),
            inner.map(lambda e: f"{e} IS NOT NULL"),
            st.tuples(inner, st.lists(inner, max_size=3)).map(
                lambda t: f"{t[0]} IN ({', '.join(t[1])})"
            ),
            st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
            st.tuples(inner, inner, inner).map(
                lambda t: f"CASE WHEN {t[0]} THEN {t[1]} ELSE {t[2]} END"
            ),
            st.tuples(func, st.lists(inner, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"
            ),
            st.tuples(inner, st.sampled_from(["INT", "DOUBLE", "VARCHAR", "DATE", "BOGUS"])).map(
                lambda t: f"CAST({t[0]} AS {t[1]})"
            ),
        )

    return st.recursive(atoms, extend, max_leaves=8)


def anything() -> st.SearchStrategy[object]:
    """A value of any YAML shape: where the grammar wants one thing, sometimes another."""
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


JUNK = {"on": False}  # set per drawn rule set: half of them are well-formed in shape


def maybe(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """``strategy``; in a rule set drawn with junk on, one time in ten a value of any
    other shape."""
    return st.integers(0, 9).flatmap(lambda i: anything() if i == 0 and JUNK["on"] else strategy)


@st.composite
def segments(draw: st.DrawFn) -> dict[str, object]:
    if draw(st.booleans()):
        return {"flag": draw(maybe(sql()))}
    cases = draw(
        st.lists(
            st.fixed_dictionaries(
                {"when": maybe(sql()), "label": maybe(st.sampled_from(["a", "b", "中", ""]))}
            ),
            max_size=4,
        )
    )
    out: dict[str, object] = {"cases": cases, "default": draw(maybe(st.just("rest")))}
    if draw(st.booleans()):
        out["labels"] = draw(maybe(st.just({"a": {"zh": "甲", "en": "A"}})))
    return out


@st.composite
def scores(draw: st.DrawFn) -> dict[str, object]:
    strategy = draw(st.sampled_from(["points", "rfm", "pareto", "quantile", "nosuch"]))
    params: dict[str, object] = {}
    if strategy == "points":
        params["parts"] = draw(
            maybe(
                st.lists(
                    st.fixed_dictionaries(
                        {"dimension": sql_names()},
                        optional={
                            "points": maybe(st.just({"a": 1, "b": 2})),
                            "bins": maybe(
                                st.lists(
                                    st.fixed_dictionaries(
                                        {"min": maybe(st.integers()), "points": st.integers()}
                                    ),
                                    max_size=3,
                                )
                            ),
                            "expr": sql(),
                            "weight": maybe(st.floats()),
                        },
                    ),
                    max_size=3,
                )
            )
        )
        if draw(st.booleans()):
            params["tiers"] = draw(
                maybe(
                    st.lists(
                        st.fixed_dictionaries({"label": st.text(max_size=3), "min": st.integers()}),
                        max_size=3,
                    )
                )
            )
    elif strategy == "rfm":
        params = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "buckets": maybe(st.integers(-2, 12)),
                    "method": maybe(st.sampled_from(["ntile", "ties", "cuts", "x"])),
                    "recency": sql_names(),
                    "buyers": sql(),
                    "cuts": maybe(st.just({"recency": [30, 60, 90, 180]})),
                },
            )
        )
    elif strategy in ("pareto", "quantile"):
        params = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "dimension": sql_names(),
                    "share": maybe(st.floats()),
                    "tiers": maybe(st.just([{"label": "top", "top": 0.2}])),
                    "buyers": sql(),
                },
            )
        )
    else:
        params = draw(st.dictionaries(st.text(max_size=5), anything(), max_size=3))
    return {"strategy": strategy, "params": params}


@st.composite
def dimensions(draw: st.DrawFn) -> dict[str, object]:
    kind = draw(
        st.sampled_from(
            ["expr", "aggregate", "use", "junk"] if JUNK["on"] else ["expr", "aggregate", "use"]
        )
    )
    if kind == "expr":
        return {"expr": draw(maybe(sql()))}
    if kind == "aggregate":
        func = draw(st.sampled_from(["count", "sum", "avg", "min", "max", "all", "any", "bogus"]))
        inner = draw(st.one_of(st.just("*"), sql(), st.just("DISTINCT category")))
        out: dict[str, object] = {"aggregate": f"{func}({inner})"}
        out.update(
            draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "table": maybe(st.sampled_from(["orders", "events", "feedback", "x"])),
                        "where": maybe(sql()),
                        "window": maybe(st.sampled_from(["30d", "12w", "lifetime", "-1d", "x"])),
                        "fill": maybe(st.integers(-1, 1)),
                    },
                )
            )
        )
        return out
    if kind == "use":
        return {"use": draw(maybe(st.sampled_from(["age_band", "orders_{window}", "nosuch"])))}
    return {str(k): v for k, v in draw(st.dictionaries(st.text(max_size=6), anything())).items()}


@st.composite
def rule_sets(draw: st.DrawFn) -> str:
    JUNK["on"] = draw(st.booleans())
    data: dict[str, object] = {"name": draw(maybe(st.just("fuzz")))}
    if draw(st.booleans()):
        data["extends"] = draw(
            maybe(st.sampled_from(["rfm", "taobao-5-tier", "nosuch", "fuzz.yaml", "/etc/hosts"]))
        )
    if draw(st.booleans()):
        data["timezone"] = draw(maybe(st.sampled_from(["UTC", "Asia/Shanghai", "Mars/Base"])))
    if draw(st.booleans()):
        data["tables"] = {
            "orders": draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "columns": maybe(st.just({"order_ts": "order_ts"})),
                        "where": maybe(sql()),
                        "status_values": maybe(st.just({"paid": ["paid", "PAID"]})),
                    },
                )
            )
        }
    names = st.sampled_from(["seg_a", "seg_b", "score", "dim_x", "orders_30d", "中"])
    data["dimensions"] = draw(maybe(st.dictionaries(names, dimensions(), max_size=2)))
    data["segments"] = draw(maybe(st.dictionaries(names, segments(), max_size=3)))
    data["scores"] = draw(maybe(st.dictionaries(names, scores(), max_size=2)))
    if draw(st.booleans()):
        data["outputs"] = draw(maybe(st.lists(sql_names(), max_size=5)))
    if JUNK["on"] and draw(st.integers(0, 4)) == 0:
        data[draw(st.text(max_size=6))] = draw(anything())
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def edited_presets(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(PRESET_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(
            st.one_of(
                st.text(max_size=6),
                st.sampled_from(
                    [":", "- ", "{", "}", "'", '"', "\n  ", "!!python/object:os.system", "*a", "&a"]
                ),
            )
        )
        if op == "insert":
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    return text


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def compile_and_run(text: str, folder: Path) -> None:
    """Load, compile and run the rule text on TABLES; SegruleError is a fine answer."""
    path = folder / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    with time_limit(TIMEOUT_S):
        try:
            rs = segrule.load_ruleset(path, engine=ENGINE)
            out = segrule.score(rs, TABLES, as_of=AS_OF, engine=ENGINE)
        except SegruleError as exc:
            assert str(exc).strip(), "an error without a message"
            return
    assert isinstance(out, pl.DataFrame)
    assert out.height == 4  # every customer of the universe, once


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(rule_sets())
def test_generated_rule_sets(folder: Path, text: str) -> None:
    compile_and_run(text, folder)


@FUZZ
@given(edited_presets())
def test_edited_presets(folder: Path, text: str) -> None:
    compile_and_run(text, folder)


@FUZZ
@given(st.one_of(sql(), st.text(max_size=40)))
def test_sql_text(text: str) -> None:
    with time_limit(TIMEOUT_S):
        try:
            expr = parse_sql(text, where="fuzz", name="x")
        except SegruleError:
            return
    assert isinstance(expr, pl.Expr)


@pytest.mark.parametrize(
    "text",
    [
        "name: x\ndescription: !!python/object/apply:os.system ['touch {marker}']\n",
        "name: x\nsegments:\n  a:\n    cases:\n      - !!python/object:os.system 0: 1\n",
        "name: x\nsegments: !!python/name:os.system\n",
    ],
    ids=["sequence tag", "key tag", "scalar tag"],
)
def test_python_tags_are_refused(tmp_path: Path, text: str) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "tag.yaml"
    path.write_text(text.format(marker=marker))
    with pytest.raises(SegruleError, match=r"tag\.yaml:\d+:\d+"):
        segrule.load_ruleset(path, engine=ENGINE)
    assert not marker.exists()


@pytest.mark.parametrize("sql_text", ["GREATEST()", "least( )", "orders_30d > GREATEST()"])
def test_sql_that_panics_polars_is_a_rule_error(sql_text: str) -> None:
    # Found by test_sql_text: polars 2.1's sql_expr panics on these.
    with pytest.raises(SegruleError, match="needs at least one argument"):
        parse_sql(sql_text)


@pytest.mark.parametrize("where", ["COALESCE()", "coalesce( ) AND amount > 0"])
def test_a_where_that_panics_polars_is_a_rule_error(tmp_path: Path, where: str) -> None:
    # Found by test_generated_rule_sets (25,000-input run): `where: COALESCE()` made
    # polars 2.1 panic while resolving the table's schema.
    path = tmp_path / "w.yaml"
    path.write_text(f'name: w\nextends: rfm\ntables:\n  orders:\n    where: "{where}"\n')
    with pytest.raises(SegruleError, match=r"w\.yaml:5:\d+.*COALESCE\(\) needs at least one"):
        segrule.score(segrule.load_ruleset(path, engine=ENGINE), TABLES, as_of=AS_OF, engine=ENGINE)
