"""Rule files are data and cannot reach outside the job (issue 15, points 4 and 6).

SQL: no subqueries, table functions or functions off the allow-list, checked before
polars parses the text; long AND/OR chains; size limits; one-line errors.
YAML: aliases, depth, size, entries. Paths: extends and blacklist stay in the rule
file's folder unless another folder is allowed; only regular files; no file content
in errors. extends graphs: each base read once.

Cases that hang or crash the process when their guard is missing run in a
subprocess with a timeout, so that a regression fails instead of stalling the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
import segrule
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from segrule.errors import DataError, RuleSetError
from segrule.limits import (
    ALLOW_PATHS_ENV,
    MAX_CASES,
    MAX_EXTENDS,
    MAX_RULE_FILE_BYTES,
    MAX_SQL_CHARS,
    MAX_YAML_DEPTH,
)
from segrule.model.ruleset import allowing_paths
from segrule.model.sql import ALLOWED_FUNCTIONS, _build, check_sql, parse_sql
from segrule_cli.app import app
from typer.testing import CliRunner

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")
SECRET = "root:SECRET-first-line-42:19000:0:99999:7:::"
SUBPROCESS_TIMEOUT_S = 120


def run_python(code: str, timeout: int = SUBPROCESS_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; a hang is a TimeoutExpired, a crash a
    negative return code: either fails the calling test instead of stalling it."""
    env = {**os.environ, "SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def load_error(path: Path | str) -> RuleSetError:
    with pytest.raises(RuleSetError) as info:
        segrule.load_ruleset(path)
    return info.value


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text, text
    return text


# -- SQL: queries and functions ------------------------------------------------------
@pytest.fixture
def secret_csv(tmp_path: Path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text(SECRET + "\nx\n")
    return path


def test_polars_runs_a_subquery_while_parsing(secret_csv: Path) -> None:
    # Why the check comes before pl.sql_expr: polars 2.1 reads the file at parse time
    # and names its first line in the error. If polars stops doing this, the guard is
    # still right; this test then only needs its expectation changed.
    with pytest.raises(Exception, match="SECRET-first-line-42"):
        pl.sql_expr(f"x IN (SELECT a FROM read_csv('{secret_csv}'))")


@pytest.mark.parametrize(
    "sql",
    [
        "customer_x IN (SELECT a FROM read_csv('{csv}'))",
        "(SELECT max(a) FROM read_csv('{csv}')) > 1",
        "EXISTS (SELECT 1)",
        "x = ANY (SELECT 1)",
        "x IN (VALUES (1))",
        "x IN (WITH t AS (SELECT 1 AS a) SELECT a FROM t)",
        "x IN (TABLE t)",
        "x IN ((select 1))",
        "x = 1 -- it's\n OR x IN (SELECT a FROM read_csv('{csv}'))",
        "x = 1 /* a /* nested */ ' */ OR x IN (SELECT 1)",
    ],
)
def test_subqueries_are_refused_before_polars_sees_them(secret_csv: Path, sql: str) -> None:
    with pytest.raises(RuleSetError) as info:
        parse_sql(sql.format(csv=secret_csv), where="r.yaml:4:11", name="seg")
    text = one_line(info.value)
    assert "SECRET" not in text
    assert text.startswith("r.yaml:4:11: seg: ")
    assert "subquery" in text and "is not allowed" in text


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("read_csv('{csv}') IS NULL", "table function"),
        ("READ_PARQUET('x.parquet') > 1", "table function"),
        ("\"read_json\"('x') > 1", "table function"),
        ("scan_csv('x') > 1", "table function"),
        ("pg_catalog.abs(x) > 1", "qualified function name"),
        ("x IN UNNEST([1])", "function 'UNNEST'"),
        ("generate_series(1, 3) > 1", "function 'generate_series'"),
        ("no_such_function(x) > 1", "function 'no_such_function'"),
    ],
)
def test_functions_off_the_allow_list_are_refused(secret_csv: Path, sql: str, what: str) -> None:
    with pytest.raises(RuleSetError) as info:
        parse_sql(sql.format(csv=secret_csv))
    assert what in one_line(info.value)


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("$$SELECT$$ = x", "'$'"),
        ("E'\\'' = x", "prefixed string"),
        ("U&'x' = x", "prefixed string"),
        ("x = 'open", "not closed"),
        ('"open = 1', "not closed"),
        ("x = 1; SELECT 1", "';'"),
        ("x = 1 /* open", "not closed"),
    ],
)
def test_quoting_the_parser_reads_otherwise_is_refused(sql: str, what: str) -> None:
    with pytest.raises(RuleSetError) as info:
        parse_sql(sql)
    assert what in one_line(info.value)


@pytest.mark.parametrize(
    "sql",
    [
        "city = 'select from read_csv(x)'",  # words in a string are text
        '"select" > 1',  # a quoted identifier is a name
        "EXTRACT(YEAR FROM first_order_ts) = 2026",
        "SUBSTRING(city FROM 1 FOR 2) = 'ab'",
        "TRIM(BOTH 'x' FROM city) = 'a'",
        "CAST(x AS DECIMAL(10, 2)) > 1",
        "x::VARCHAR(5) = '1'",
        "RANK() OVER (PARTITION BY city ORDER BY x) <= 3",
        "count(*) FILTER (WHERE x > 1)",
        "x BETWEEN 1 AND 5 AND city IS NOT NULL",
        "DATE'2026-01-01' < first_order_ts",
        "x > 1 -- a comment, it's fine\n AND y < 2",
        "COALESCE(x, 0) + ABS(y) > GREATEST(1, 2)",
    ],
)
def test_ordinary_sql_still_parses(sql: str) -> None:
    assert isinstance(parse_sql(sql), pl.Expr)


def test_every_allowed_function_is_known_to_polars() -> None:
    # The allow-list holds only functions polars' SQL has (an unknown one would be an
    # "unsupported function" error anyway; listing it would be wrong documentation).
    unknown = []
    for name in sorted(ALLOWED_FUNCTIONS):
        for args in ("(x)", "(x, 1)", "(x, 1, 2)", "()", "(x, 'a')"):
            try:
                pl.sql_expr(f"{name}{args}")
                break
            except Exception as exc:
                if f"unsupported function '{name}'" in str(exc).lower():
                    unknown.append(name)
                    break
    assert unknown == []


# -- SQL: long chains and size limits ------------------------------------------------
@pytest.mark.parametrize(("terms", "op"), [(1_000, "AND"), (6_000, "AND"), (6_000, "OR")])
def test_long_boolean_chains_compile_and_are_right(terms: int, op: str) -> None:
    # Unsplit, 6,000 terms crash polars' parser (segmentation fault) and 1,600 take
    # seconds in its optimizer: run in a subprocess so a regression fails, not crashes.
    proc = run_python(
        f"""
        import polars as pl
        from segrule.model.sql import parse_sql
        sql = " {op} ".join(f"x > {{i}}" if "{op}" == "AND" else f"x = {{i}}"
                            for i in range({terms}))
        frame = pl.DataFrame({{"x": [5, {terms} + 10, None, {terms} - 1]}})
        print(frame.lazy().select(parse_sql(sql).alias("r")).collect()["r"].to_list())
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = [False, True, None, False] if op == "AND" else [True, False, None, True]
    assert proc.stdout.strip() == str(expected)


def test_a_chain_inside_parentheses_and_not_is_split_too() -> None:
    inner = " AND ".join(f"x <> {i} AND x BETWEEN 0 AND {i + 100}" for i in range(1_500))
    sql = f"(x = 1 OR x = 5 OR NOT ({inner})) AND x IS NOT NULL"
    proc = run_python(
        f"""
        import polars as pl
        from segrule.model.sql import parse_sql
        frame = pl.DataFrame({{"x": [5, 2000, None, 0]}})
        print(frame.select(parse_sql({sql!r}).alias("r"))["r"].to_list())
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # 2000 is above every BETWEEN's upper bound, so NOT (...) holds; for 0, x <> 0 is
    # false, so NOT (...) holds; NULL: (NULL) AND (NULL IS NOT NULL = false) is false.
    assert proc.stdout.strip() == str([True, True, False, True])


def sql_terms() -> st.SearchStrategy[str]:
    atom = st.one_of(
        st.sampled_from(["x > 1", "x < 3", "y = 'a'", "y IS NULL", "x BETWEEN 0 AND 2"]),
        st.sampled_from(["z", "NOT z", "x IN (1, 2)", "CASE WHEN x > 1 AND z THEN z END"]),
    )
    return st.recursive(
        atom,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(" ".join),
            inner.map(lambda e: f"({e})"),
            inner.map(lambda e: f"NOT ({e})"),
        ),
        max_leaves=12,
    )


FRAME = pl.DataFrame(
    {
        "x": [0, 1, 2, 3, None, 2, 1],
        "y": ["a", None, "b", "a", "a", None, "b"],
        "z": [True, False, None, True, None, False, True],
    }
)


@settings(max_examples=150, deadline=None)
@given(sql_terms())
def test_split_chains_give_what_polars_gives_unsplit(sql: str) -> None:
    # The splitter must keep SQL's precedence (OR < AND < NOT), BETWEEN ... AND, CASE
    # ... END and three-valued logic: split everything (split_above=0) and compare.
    clean, toks = check_sql(sql)
    split = FRAME.select(_build(clean, toks, split_above=0).alias("r"))["r"]
    whole = FRAME.select(pl.sql_expr(sql).alias("r"))["r"]
    assert split.to_list() == whole.to_list(), sql


def test_nested_copies_are_limited() -> None:
    # Found by the long fuzz run: polars copies BETWEEN's operand, so 33 nested
    # BETWEENs (1,275 characters) grew a 2**33-node plan and never finished. 18 levels
    # take about a minute unguarded: the subprocess's timeout turns that into a failure.
    nested = " + ".join(f"x BETWEEN {i} AND 100000" for i in range(18))
    proc = run_python(
        f"""
        import polars as pl
        from segrule.errors import SegruleError
        from segrule.model.sql import parse_sql
        try:
            pl.DataFrame({{"x": [1]}}).select(parse_sql({nested!r}))
        except SegruleError as exc:
            print(exc)
        """,
        timeout=25,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "nested 18 deep in one term, more than the 12 allowed" in proc.stdout
    # side by side, conditions copy nothing more: a ladder, a mapping, an AND chain
    ladder = " ".join(f"WHEN m BETWEEN {i} AND {i + 1} THEN {i}" for i in range(40))
    mapping = " ".join(f"WHEN 'c{i}' THEN {i}" for i in range(500))
    for sql in (
        f"CASE {ladder} END > 1",
        f"CASE city {mapping} END > 1",
        " AND ".join(f"x{i} BETWEEN {i} AND 9" for i in range(40)),
        " OR ".join(f"NULLIF(x{i}, 0) > 1" for i in range(40)),
    ):
        assert isinstance(parse_sql(sql), pl.Expr)


def test_operators_in_one_term_are_limited() -> None:
    with pytest.raises(RuleSetError) as info:
        parse_sql(" + ".join(["x"] * 3_000) + " > 1")
    assert "operators, more than the 1,000 allowed" in one_line(info.value)


def test_expression_length_is_limited() -> None:
    with pytest.raises(RuleSetError) as info:
        parse_sql("x > 1 AND " * (MAX_SQL_CHARS // 10 + 1) + "x > 2")
    assert f"more than the {MAX_SQL_CHARS:,} allowed" in one_line(info.value)


# -- point 6: one-line SQL errors ----------------------------------------------------
def test_long_sql_is_echoed_once_and_cut() -> None:
    # 40 KB in one term (no AND/OR to split at), with a syntax error at its end
    sql = "x + " * 900 + "'" + "y" * 36_000 + "' >>> 2"
    with pytest.raises(RuleSetError) as info:
        parse_sql(sql, where="r.yaml:3:5", name="big")
    text = one_line(info.value)
    assert text.startswith("r.yaml:3:5: big: cannot parse SQL 'x + x + ")
    assert len(text) < 600 and text.count("'x + x") == 1 and "…'" in text
    # in a long chain, the error names the term that is wrong
    with pytest.raises(RuleSetError) as info:
        parse_sql("x > 1 AND " * 4_000 + "x >>> 2")
    assert "cannot parse SQL 'x >>> 2': unable to parse the expression" in one_line(info.value)


def test_a_syntax_tree_dump_is_reduced_to_its_name() -> None:
    with pytest.raises(RuleSetError) as info:
        parse_sql("city SIMILAR TO 'a'", where="r.yaml:3:5")
    text = one_line(info.value)
    assert "SimilarTo is not currently supported" in text
    assert "span" not in text and "Ident" not in text


def test_a_regex_error_keeps_its_reason(rules) -> None:
    path = rules(
        "re.yaml",
        """
        name: re
        segments:
          odd_city:
            flag: "city ~ '(('"
        outputs: [customer_id, odd_city]
        """,
    )
    with pytest.raises(RuleSetError) as info:
        segrule.compile(str(path), as_of="2026-11-01", check_only=True)
    text = one_line(info.value)
    assert text.startswith(f"{path}:4:")
    assert "invalid regular expression '((': unclosed group" in text


# -- YAML limits ---------------------------------------------------------------------
BILLION_LAUGHS = (
    "name: lol\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    + "description: *i\n"
)


def test_a_billion_laughs_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "lol.yaml"
    path.write_text(BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 1_000
    proc = run_python(
        f"""
        import segrule
        from segrule.errors import SegruleError
        try:
            segrule.load_ruleset({str(path)!r})
        except SegruleError as exc:
            print(exc)
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "expands to more than" in proc.stdout and f"{path}:" in proc.stdout


@pytest.mark.parametrize(
    "text",
    [
        "name: deep\ndescription: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "name: deep\ndescription:\n" + "".join("  " * i + "- \n" for i in range(200)),
        "name: deep\na0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200)),
        "name: deep\ndescription: &self [*self]\n",
    ],
    ids=["flow", "block", "alias chain", "alias to itself"],
)
def test_deep_nesting_is_one_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    err = load_error(path)
    assert f"nested deeper than {MAX_YAML_DEPTH} levels" in one_line(err)
    assert str(err).startswith(f"{path}:")


def test_rule_file_size_is_limited(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("name: big\ndescription: '" + "x" * MAX_RULE_FILE_BYTES + "'\n")
    assert "larger than 2 MiB" in one_line(load_error(path))


def test_entries_of_one_list_are_limited(tmp_path: Path) -> None:
    cases = [{"when": f"orders_lifetime = {i}", "label": f"l{i}"} for i in range(MAX_CASES + 1)]
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump({"name": "m", "segments": {"s": {"cases": cases}}}))
    err = load_error(path)
    assert f"more than the {MAX_CASES:,} allowed" in one_line(err)
    assert str(err).startswith(f"{path}:")


# -- files that are not rule files ---------------------------------------------------
@pytest.mark.parametrize(
    ("content", "what"),
    [
        (SECRET + "\n", "not a rule file"),  # a line of /etc/shadow: {line: null}
        ("SECRET-first-line-42 plain text\n", "must be a YAML mapping"),
        (f'SECRET_KEY: "{SECRET}"\nOTHER: 1\n', "not a rule file"),
        (f'KEY: "{SECRET}\n', "YAML syntax error"),
        ("*SECRET-first-line-42\n", "YAML syntax error"),  # PyYAML: undefined alias 'SECRET...'
        (f"*{SECRET}\n", "YAML syntax error"),
        (f"{SECRET}: [\n", "YAML syntax error"),
    ],
)
def test_errors_never_quote_a_file_that_is_not_a_rule_file(rules, content: str, what: str) -> None:
    child = rules("child.yaml", "name: c\nextends: secret.yaml\n")
    (child.parent / "secret.yaml").write_text(content)
    text = one_line(load_error(child))
    assert what in text
    assert "SECRET" not in text and "19000" not in text


# -- paths named in rule files -------------------------------------------------------
@pytest.fixture
def job(tmp_path: Path) -> Path:
    """tmp/job/rules.yaml's folder, with tmp/outside/base.yaml next to it."""
    (tmp_path / "job").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "base.yaml").write_text("name: base\nextends: rfm\n")
    (tmp_path / "outside" / "ids.txt").write_text("c1\n")
    return tmp_path / "job"


@pytest.mark.parametrize(
    "ref",
    [
        "../outside/base.yaml",
        "{tmp}/outside/base.yaml",
        "sub/../../outside/base.yaml",
        "/etc/hostname/x.yaml",
    ],
)
def test_extends_outside_the_folder_is_refused(job: Path, ref: str) -> None:
    rule = job / "r.yaml"
    rule.write_text(f"name: r\nextends: {ref.format(tmp=job.parent)}\n")
    text = one_line(load_error(rule))
    assert text.startswith(f"{rule}:2:10: extends:")
    assert "outside the rule file's folder" in text and ALLOW_PATHS_ENV in text


def test_a_symlink_out_of_the_folder_is_refused(job: Path) -> None:
    (job / "link.yaml").symlink_to(job.parent / "outside" / "base.yaml")
    rule = job / "r.yaml"
    rule.write_text("name: r\nextends: link.yaml\n")
    assert "outside the rule file's folder" in one_line(load_error(rule))


def test_an_allowed_folder_opens_extends_and_blacklist(
    job: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = job / "r.yaml"
    rule.write_text("name: r\nextends: ../outside/base.yaml\nblacklist: ../outside/ids.txt\n")
    outside = job.parent / "outside"
    with allowing_paths([outside]):
        assert segrule.load_ruleset(rule).model.blacklist == str(job / "../outside/ids.txt")
    monkeypatch.setenv(ALLOW_PATHS_ENV, os.pathsep.join(["/nonexistent", str(outside)]))
    assert segrule.load_ruleset(rule).name == "r"


@pytest.mark.parametrize("ref", ["../../../../etc/shadow", "/etc/passwd", "../outside/ids.txt"])
def test_blacklist_outside_the_folder_is_refused_by_validate(job: Path, ref: str) -> None:
    rule = job / "r.yaml"
    rule.write_text(f"name: r\nextends: rfm\nblacklist: {ref}\n")
    with pytest.raises(RuleSetError) as info:
        segrule.compile(str(rule), as_of="2026-11-01", check_only=True)
    text = one_line(info.value)
    assert text.startswith(f"{rule}:3:12: blacklist:")
    assert "outside the rule file's folder" in text


def test_a_blacklist_named_in_a_rule_file_is_not_quoted(job: Path) -> None:
    (job / "wide.csv").write_text(f"{SECRET},b\n1,2\n")
    rule = job / "r.yaml"
    rule.write_text("name: r\nextends: rfm\nblacklist: wide.csv\n")
    with pytest.raises(DataError) as info:
        segrule.compile(str(rule), as_of="2026-11-01", check_only=True)
    assert "has no customer_id column; it has 2 columns" in one_line(info.value)
    assert "SECRET" not in str(info.value)


def make_fifo(folder: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = folder / "fifo.yaml"
    os.mkfifo(fifo)
    return fifo


def test_only_regular_files_are_read(job: Path) -> None:
    fifo = make_fifo(job)
    (job / "dir.yaml").mkdir()
    rule = job / "r.yaml"
    for target in (fifo.name, "dir.yaml"):
        rule.write_text(f"name: r\nextends: {target}\n")
        proc = run_python(
            f"""
            import segrule
            from segrule.errors import SegruleError
            try:
                segrule.load_ruleset({str(rule)!r})
            except SegruleError as exc:
                print(exc)
            """,
            timeout=60,  # a FIFO opened for reading waits for a writer forever
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "not a regular file" in proc.stdout


def test_devices_are_not_read_even_when_allowed(job: Path) -> None:
    rule = job / "r.yaml"
    rule.write_text("name: r\nextends: /dev/zero\n")
    proc = run_python(
        f"""
        import segrule
        from segrule.errors import SegruleError
        from segrule.model.ruleset import allowing_paths
        with allowing_paths(["/dev"]):
            for ref in ({str(rule)!r}, "/dev/zero"):
                try:
                    segrule.load_ruleset(ref)
                except SegruleError as exc:
                    print(exc)
        """,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("/dev/zero: not a regular file") == 2, proc.stdout


def test_cli_allow_path_flag(job: Path) -> None:
    rule = job / "r.yaml"
    rule.write_text("name: r\nextends: ../outside/base.yaml\n")
    runner = CliRunner()
    env = {ALLOW_PATHS_ENV: "", "SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    refused = runner.invoke(app, ["validate", str(rule)], env=env)
    assert refused.exit_code == 1 and "outside the rule file's folder" in refused.output
    ok = runner.invoke(
        app, ["--allow-path", str(job.parent / "outside"), "validate", str(rule)], env=env
    )
    assert ok.exit_code == 0, ok.output
    # the flag held for that command only
    again = runner.invoke(app, ["validate", str(rule)], env=env)
    assert again.exit_code == 1


# -- extends graphs ------------------------------------------------------------------
def test_each_base_is_read_once(job: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 6 files, each extending the next 10 times: 10**5 loads without the memo (207 s).
    for i in range(6):
        bases = [f"f{i + 1}.yaml"] * 10 if i < 5 else []
        (job / f"f{i}.yaml").write_text(
            yaml.safe_dump({"name": f"f{i}", "extends": bases or "rfm"})
        )
    from segrule.model import ruleset

    reads: list[Path] = []
    real_read = ruleset._read_rule_file

    def counting(path: Path) -> str:
        reads.append(path)
        if len(reads) > 50:  # stop a regression early instead of running for minutes
            raise AssertionError("a base was read again")
        return real_read(path)

    monkeypatch.setattr(ruleset, "_read_rule_file", counting)
    rs = segrule.load_ruleset(job / "f0.yaml")
    assert rs.name == "f0"
    assert sorted(p.name for p in reads) == [f"f{i}.yaml" for i in range(6)]


def test_a_base_under_two_spellings_is_read_once(
    job: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (job / "sub").mkdir()
    (job / "link.yaml").symlink_to(job / "base.yaml")
    (job / "base.yaml").write_text("name: base\nextends: rfm\n")
    rule = job / "r.yaml"
    rule.write_text("name: r\nextends: [base.yaml, ./sub/../base.yaml, link.yaml]\n")
    from segrule.model import ruleset

    reads: list[str] = []
    real_read = ruleset._read_rule_file
    monkeypatch.setattr(ruleset, "_read_rule_file", lambda p: reads.append(p.name) or real_read(p))
    assert segrule.load_ruleset(rule).name == "r"
    assert sorted(reads) == ["base.yaml", "r.yaml"]


def test_a_loop_through_another_spelling_of_the_path_is_found(job: Path) -> None:
    (job / "sub").mkdir()
    rule = job / "a.yaml"
    rule.write_text("name: a\nextends: sub/../a.yaml\n")
    assert "extends chain loops" in one_line(load_error(rule))


def test_bases_merged_per_load_are_limited(job: Path) -> None:
    rule = job / "r.yaml"
    rule.write_text(yaml.safe_dump({"name": "r", "extends": ["rfm"] * (MAX_EXTENDS + 1)}))
    assert f"more than {MAX_EXTENDS} bases" in one_line(load_error(rule))
