"""Rule files are data, not code: fuzz the rule-file and expression parsing.

Every generated input must either compile and run on a tiny data set, or stop with a
``SegruleError`` (what the CLI prints as one line). Any other exception, a polars
panic, or a run longer than ``TIMEOUT_S`` fails the test.

Three generators: rule sets built from the rule-set grammar with random (often wrong)
values and SQL from an expression grammar; the packaged presets' text with random
edits; and raw SQL text. The suite runs a small budget; the documented long run::

    SEGRULE_FUZZ_EXAMPLES=34000 uv run pytest tests/fuzz -q -p no:cacheprovider

(three tests, so over 100,000 inputs; see docs/testing.md for the last result).

Six more generators aim at the limits of rule files (docs/security.md): YAML bombs,
deep nesting, huge files, long chains, hostile SQL and hostile paths. Their long run
sends every input to a worker process (tests/fuzz/fuzz_worker.py) that must answer
within 30 s; a worker that hangs or dies is counted as a failure and replaced::

    SEGRULE_FUZZ_ISOLATE=1 SEGRULE_FUZZ_EXAMPLES=2000 \\
        uv run pytest tests/fuzz -k limits -q -s -p no:cacheprovider
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import segrule
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segrule.errors import SegruleError
from segrule.model.sql import parse_sql

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
_spec = importlib.util.spec_from_file_location(
    "fuzz_worker", Path(__file__).with_name("fuzz_worker.py")
)
assert _spec is not None and _spec.loader is not None
fuzz_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz_worker)
# The tables the worker processes of the long run score too: one definition.
ENGINE, AS_OF, TABLES = fuzz_worker.ENGINE, fuzz_worker.AS_OF, fuzz_worker.TABLES

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


# -- the limits of rule files (docs/security.md) -------------------------------------

ISOLATE = os.environ.get("SEGRULE_FUZZ_ISOLATE") == "1"
#: The suite runs a few small inputs per limits generator; the long run (isolated, or
#: SEGRULE_FUZZ_EXAMPLES set) draws the big sizes too.
LONG_RUN = ISOLATE or "SEGRULE_FUZZ_EXAMPLES" in os.environ
LIMITS = settings(FUZZ, max_examples=int(os.environ.get("SEGRULE_FUZZ_EXAMPLES", "4")))


def sizes(small: list[int], big: list[int]) -> st.SearchStrategy[int]:
    return st.sampled_from(small + big if LONG_RUN else small)


class Workers:
    """One worker process at a time; replaced after a hang or a crash."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.counts: dict[str, int] = {}

    def _start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"}
        return subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("fuzz_worker.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, kind: str, text: str) -> str:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"kind": kind, "text": text}) + "\n")
        proc.stdin.flush()
        answer: list[str] = []
        with contextlib.suppress(TimeoutError), time_limit(TIMEOUT_S):
            answer.append(proc.stdout.readline())
        if not answer:
            proc.kill()
            proc.wait()
            result = f"hang: no answer in {TIMEOUT_S} s"
        elif not answer[0]:
            code = proc.wait()
            result = f"crash: worker died with {code}"
        else:
            result = json.loads(answer[0])["outcome"]
        key = result.split(":", 1)[0]
        self.counts[key] = self.counts.get(key, 0) + 1
        return result

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def limits_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Runs one input: in a worker (SEGRULE_FUZZ_ISOLATE=1) or in this process."""
    if ISOLATE:
        workers = Workers()
        yield workers.run
        workers.close()
        print(f"\nfuzz outcomes: {workers.counts}")  # read from the long run's log
        return
    job = fuzz_worker.make_job(tmp_path_factory.mktemp("limits"))

    def run(kind: str, text: str) -> str:
        with time_limit(TIMEOUT_S):
            return fuzz_worker.outcome(kind, text, job)

    yield run


def _check(result: str, text: str) -> None:
    assert result in ("ok", "segrule"), f"{result}\ninput ({len(text):,} chars): {text[:500]!r}"


@st.composite
def yaml_bombs(draw: st.DrawFn) -> str:
    """Aliases of aliases (billion laughs) of random width and depth, placed where the
    grammar wants a value; aliases to themselves; merge keys."""
    width = draw(st.integers(1, 12))
    depth = draw(st.integers(1, 12))
    lines = ["name: bomb", f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, depth):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    top = f"*l{depth - 1}"
    place = draw(st.sampled_from(["description", "outputs", "segments", "flag", "self", "merge"]))
    if place == "segments":
        lines.append(f"segments: {{s: {{cases: {top}, default: x}}}}")
    elif place == "flag":
        lines.append(f"segments: {{s: {{flag: {top}}}}}")
    elif place == "self":
        lines.append("description: &me [*me, *me]")
    elif place == "merge":
        lines.append(f"segments: {{s: {{<<: {top}, flag: 'orders_30d > 1'}}}}")
    else:
        lines.append(f"{place}: {top}")
    return "\n".join(lines) + "\n"


@st.composite
def deep_yaml(draw: st.DrawFn) -> str:
    depth = draw(st.one_of(st.integers(1, 100), sizes([65, 2_000], [5_000, 20_000])))
    form = draw(st.sampled_from(["flow list", "flow map", "block list", "block map", "mixed"]))
    where = draw(st.sampled_from(["description", "segments", "outputs", "extends"]))
    if form == "flow list":
        value = "[" * depth + "x" + "]" * depth
    elif form == "flow map":
        value = "{a: " * depth + "x" + "}" * depth
    elif form == "mixed":
        value = "[{a: " * (depth // 2) + "x" + "}]" * (depth // 2)
    else:
        depth = min(depth, 600)  # block forms grow as depth**2 characters
        item = "- " if form == "block list" else "a: "
        value = (
            "\n"
            + "".join("  " * (i + 1) + item + "\n" for i in range(depth))
            + "  " * (depth + 1)
            + "x"
        )
    return f"name: deep\n{where}: {value}\n"


@st.composite
def huge_files(draw: st.DrawFn) -> str:
    """Near and over the size limits: many cases, many segments, long scalars."""
    shape = draw(st.sampled_from(["cases", "segments", "scalar", "outputs", "labels"]))
    n = draw(sizes([0, 1, 100], [5_000, 19_999, 20_000, 20_001, 40_000]))
    if shape == "cases":
        cases = [{"when": f"orders_lifetime = {i}", "label": f"l{i}"} for i in range(n)]
        data: dict[str, object] = {"name": "h", "segments": {"s": {"cases": cases, "default": "x"}}}
    elif shape == "segments":
        data = {"name": "h", "segments": {f"s{i}": {"flag": "orders_30d > 1"} for i in range(n)}}
    elif shape == "labels":
        labels = {f"l{i}": {"en": "x"} for i in range(n)}
        data = {"name": "h", "segments": {"s": {"flag": "orders_30d > 1", "labels": labels}}}
    elif shape == "outputs":
        data = {"name": "h", "outputs": ["customer_id"] * n}
    else:
        size = draw(sizes([10, (2 << 20) + 1], [1 << 20, (2 << 20) - 100, 3 << 20]))
        data = {"name": "h", "description": "x" * size}
    return yaml.safe_dump(data, allow_unicode=True, width=1 << 30)


@st.composite
def long_chains(draw: st.DrawFn) -> str:
    """Long AND/OR chains (flattened), long chains of other operators (limited), in
    parentheses, under NOT, with BETWEEN and CASE inside."""
    n = draw(sizes([1, 33, 200], [1_000, 3_000, 6_000, 9_000]))
    term = draw(
        st.sampled_from(
            [
                "orders_30d > {i}",
                "x{i} > 1",
                "monetary_365d BETWEEN {i} AND 100000",
                "CASE WHEN orders_30d > {i} AND city IS NOT NULL THEN TRUE ELSE FALSE END",
                "NOT (orders_lifetime = {i})",
                "city = '{i} AND OR ('",
            ]
        )
    )
    op = draw(st.sampled_from([" AND ", " OR ", " + ", " || ", " = ", " mixed "]))
    parts = [term.format(i=i) for i in range(n)]
    if op == " mixed ":
        rng = random.Random(draw(st.integers(0, 2**32)))
        sql = parts[0] + "".join(rng.choice((" AND ", " OR ")) + p for p in parts[1:])
    else:
        sql = op.join(parts)
    wrap = draw(st.sampled_from(["{}", "({})", "NOT ({})", "orders_30d > 0 AND ({})", "(({})"]))
    sql = wrap.format(sql)
    if draw(st.booleans()):
        return "S" + sql  # raw SQL for parse_sql
    return yaml.safe_dump({"name": "c", "segments": {"s": {"flag": sql}}}, width=1 << 30)


HOSTILE_SQL = [
    "customer_id IN (SELECT x FROM read_csv('{secret}'))",
    "(SELECT max(a) FROM read_csv('{secret}')) > 1",
    "EXISTS (SELECT 1 FROM read_parquet('{secret}'))",
    "orders_30d IN (VALUES (1), (2))",
    "orders_30d IN (WITH t AS (SELECT 1 AS a) SELECT a FROM t)",
    "orders_30d IN (TABLE t)",
    "read_csv('{secret}') IS NULL",
    "\"read_csv\"('{secret}') IS NULL",
    "read_ndjson('{secret}') IS NULL",
    "scan_parquet('{secret}') IS NULL",
    "pg_catalog.read_csv('{secret}') IS NULL",
    "orders_30d > 1 -- it's\n OR orders_30d IN (SELECT 1)",
    "orders_30d > 1 /* ' */ OR orders_30d IN (SELECT a FROM read_csv('{secret}'))",
    "orders_30d > 1 /* /* nested ' */ */ OR orders_30d IN (SELECT 1)",
    "$$x$$ = 'x' OR orders_30d IN (SELECT 1)",
    "E'\\'' = 'x' OR orders_30d IN (SELECT 1) OR '' = '",
    "city = 'select * from read_csv(''{secret}'')'",
    "city = 'x''; SELECT 1; --'",
    "orders_30d > 1; SELECT * FROM read_csv('{secret}')",
    "orders_30d = ANY(SELECT 1)",
    "orders_30d IN (SELECT 1 UNION SELECT 2)",
    "city ~ '(('",
    "regexp_like(city, '(?<x')",
    "city SIMILAR TO 'a'",
    "city LIKE 'a' ESCAPE 'xx'",
    "orders_30d IN UNNEST([1])",
    "generate_series(1, 3) > 1",
    "`orders_30d` > 1",
    '"orders_30d" > 1',
    "orders_30d > 1 AND city = 'it''s'",
]


@st.composite
def hostile_sql(draw: st.DrawFn) -> str:
    secret = "../outside/shadow" if draw(st.booleans()) else "/etc/passwd"
    pieces = draw(st.lists(st.sampled_from(HOSTILE_SQL), min_size=1, max_size=3))
    glue = draw(st.sampled_from([" OR ", " AND ", " "]))
    sql = glue.join(p.replace("{secret}", secret) for p in pieces)
    if draw(st.booleans()):
        sql = draw(st.sampled_from(["({})", "NOT ({})", "CASE WHEN {} THEN 1 END = 1"])).format(sql)
    if draw(st.booleans()):
        return "S" + sql
    where = draw(st.sampled_from(["flag", "where", "expr", "aggregate"]))
    if where == "flag":
        data: dict[str, object] = {"name": "h", "segments": {"s": {"flag": sql}}}
    elif where == "where":
        data = {"name": "h", "extends": "rfm", "tables": {"orders": {"where": sql}}}
    elif where == "expr":
        data = {"name": "h", "dimensions": {"d": {"expr": sql}}}
    else:
        data = {"name": "h", "dimensions": {"d": {"aggregate": f"sum({sql})"}}}
    return yaml.safe_dump(data, allow_unicode=True, width=1 << 30)


HOSTILE_PATHS = [
    "../outside/base.yaml",
    "../outside/secret.yaml",
    "../outside/keys.yaml",
    "../../../../../../etc/shadow",
    "../../../../../../etc/passwd",
    "/etc/passwd",
    "/etc/hosts.yaml",
    "/dev/zero",
    "/dev/stdin",
    "/proc/self/environ",
    "~/.ssh/id_rsa",
    "fifo.yaml",
    "folder.yaml",
    "out.yaml",
    "etc/passwd",
    "etc/hostname.yaml",
    "notrules.yaml",
    "keys.yaml",
    "base.yaml",
    "./base.yaml",
    "sub/../base.yaml",
    "fuzz.yaml",
    "ids.txt",
    "a\x00b.yaml",
    "x" * 5000 + ".yaml",
    "",
    "rfm",
]


@st.composite
def hostile_paths(draw: st.DrawFn) -> str:
    refs = draw(st.lists(st.sampled_from(HOSTILE_PATHS), min_size=1, max_size=4))
    key = draw(st.sampled_from(["extends", "blacklist", "both"]))
    data: dict[str, object] = {"name": "p"}
    if key in ("extends", "both"):
        data["extends"] = refs if len(refs) > 1 else refs[0]
    if key in ("blacklist", "both"):
        data["blacklist"] = refs[-1]
        data.setdefault("extends", "rfm")
    return yaml.safe_dump(data, allow_unicode=True, width=1 << 30)


def _run_limits(run: object, text: str) -> None:
    kind, body = ("sql", text[1:]) if text.startswith("S") else ("rule", text)
    _check(run(kind, body), body)  # type: ignore[operator]


@LIMITS
@given(yaml_bombs())
def test_limits_yaml_bombs(limits_run: object, text: str) -> None:
    _run_limits(limits_run, text)


@LIMITS
@given(deep_yaml())
def test_limits_deep_nesting(limits_run: object, text: str) -> None:
    _run_limits(limits_run, text)


@LIMITS
@given(huge_files())
def test_limits_huge_files(limits_run: object, text: str) -> None:
    _run_limits(limits_run, text)


@LIMITS
@given(long_chains())
def test_limits_long_chains(limits_run: object, text: str) -> None:
    _run_limits(limits_run, text)


@LIMITS
@given(hostile_sql())
def test_limits_hostile_sql(limits_run: object, text: str) -> None:
    _run_limits(limits_run, text)


@LIMITS
@given(hostile_paths())
def test_limits_hostile_paths(limits_run: object, text: str) -> None:
    _run_limits(limits_run, text)
