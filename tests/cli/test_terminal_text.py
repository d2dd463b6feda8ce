"""User text on the terminal is printed as written: rich markup (``[/x]``, ``[bold
red]boom[/]``, ``[link=...]``), emoji codes (``:thumbs_up:``) and control characters
(an ESC starting a terminal escape sequence, shown as U+FFFD) in labels, display names,
segment, dimension and rule set names, descriptions, actions, file paths and error
messages. Every command that prints them, with the hostile rule set of tests/conftest.py.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import segrule_cli.app as cli
from segrule_cli import common
from segrule_cli.app import app
from typer.testing import CliRunner

pytestmark = pytest.mark.usefixtures("isolated_cli")

runner = CliRunner()
AS_OF = "2026-11-01"
MARKUP = ("[/x]", "[bold red]boom[/]", "[link=file:///etc/passwd]x[/link]", ":thumbs_up:")
ESCAPED_ESC = "\ufffd[2J\ufffd[31mred"  # HOSTILE_MARKUP's escape sequence, as printed


def invoke(*args: str, code: int = 0) -> str:
    r = runner.invoke(app, [str(a) for a in args])
    out = r.output
    assert r.exit_code == code, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert "\x1b" not in out  # no escape sequence from user text (CliRunner is no tty)
    assert "👍" not in out  # ":thumbs_up:" is not an emoji code here
    return out


def assert_shown(out: str, expected: Iterable[str]) -> None:
    flat = " ".join(out.split())
    missing = [t for t in expected if " ".join(t.split()) not in flat]
    assert not missing, f"missing {missing!r} in:\n{out}"


@pytest.fixture(scope="module")
def scored_hostile(hostile_rules: Any, data_dir: Path, tmp_path_factory: Any) -> dict[str, Path]:
    """The hostile rule set run twice (as of 2026-08-01 and 2026-11-01) into a history."""
    root = tmp_path_factory.mktemp("terminal")
    runs = {}
    for key, as_of in (("old", "2026-08-01"), ("new", AS_OF)):
        out = root / f"{key}.parquet"
        r = runner.invoke(
            app,
            [
                *("run", str(hostile_rules.path), "--data", str(data_dir), "--as-of", as_of),
                *("--out", str(out), "--history", str(root / "history"), "-q"),
            ],
            env={"SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1", "COLUMNS": "200"},
        )
        assert r.exit_code == 0, r.output
        runs[key] = out
    runs["history"] = root / "history"
    return runs


def test_run_summary(hostile_rules: Any, data_dir: Path, tmp_path: Path) -> None:
    out = invoke(
        "run", hostile_rules.path, "--data", data_dir, "--as-of", AS_OF,
        "--out", tmp_path / "x.parquet",
    )  # fmt: skip
    assert_shown(out, [*MARKUP, ESCAPED_ESC, hostile_rules.segments[0]])
    assert "wrote" in out


def test_validate(hostile_rules: Any) -> None:
    out = invoke("validate", hostile_rules.path)
    assert_shown(out, ['ok "><script>window.__pwned=1</script> [/x]:'])


def test_explain(hostile_rules: Any, data_dir: Path) -> None:
    out = invoke(
        "explain", hostile_rules.path, "--data", data_dir, "--as-of", AS_OF,
        "--customer", "C00000001",
    )  # fmt: skip
    # dimension descriptions, segment names and titles, label keys and display names,
    # actions; NUL and ESC as U+FFFD
    assert_shown(out, [*MARKUP, '</style><svg onload="alert(6)"> [/x]'])
    assert_shown(out, ["\ufffdchart:0\ufffd \ufffdnotes\ufffd", hostile_rules.segments[0]])
    assert "actions:" in out


def test_diff(scored_hostile: dict[str, Path], hostile_rules: Any, tmp_path: Path) -> None:
    changes = tmp_path / "changes [/x].csv"
    out = invoke(
        "diff", scored_hostile["old"], scored_hostile["new"],
        "--column", hostile_rules.segments[0], "--changes", changes,
    )  # fmt: skip
    assert_shown(out, ["[/x]", "[bold red]boom[/]", hostile_rules.segments[0], str(changes)])


def test_history(scored_hostile: dict[str, Path], hostile_rules: Any) -> None:
    folder = scored_hostile["history"]
    out = invoke(
        "history", folder, "--events", "--column", hostile_rules.segments[0]
    )  # a row per customer who entered or left a label: label keys in cells
    assert_shown(out, ["[/x]", "[bold red]boom[/]"])
    out = invoke("history", folder, "--customer", "C00000001")
    assert_shown(out, [hostile_rules.segments[0]])  # a row per column, names as written


def test_sweep(hostile_rules: Any, data_dir: Path) -> None:
    long_name = hostile_rules.segments[3]
    out = invoke(
        "sweep", hostile_rules.path, "--data", data_dir, "--as-of", AS_OF,
        "--param", f"{long_name}.:thumbs_up:=1..3:1", "--target", ":thumbs_up:=50%",
    )  # fmt: skip
    assert_shown(out, [":thumbs_up:", "$\\frac{1}$ and $x$", "closest to"])


def test_check(hostile_rules: Any, data_dir: Path) -> None:
    r = runner.invoke(
        app, ["check", str(hostile_rules.path), "--data", str(data_dir), "--as-of", AS_OF]
    )
    assert r.exit_code in (0, 1), r.output
    assert "Traceback" not in r.output
    assert_shown(r.output, ["customers checked", "[/x]"])


def test_validate_errors_print_names_as_written(rules: Any) -> None:
    path = rules(
        "bad [/x].yaml",
        """
        name: "[bold red]boom[/]"
        segments:
          "[/x]":
            cases: [{when: "nope_[/x] > 1", label: "[link=file:///etc/passwd]x[/link]"}]
            default: ":thumbs_up:"
        """,
    )
    out = invoke("validate", path, code=1)
    assert_shown(out, ["error:", "bad [/x].yaml", "[/x]"])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "missing [/x].yaml", "--out", "o.parquet"], 1, "missing [/x].yaml"),
        (["report", "[bold]gone[/bold].parquet", "--out", "r.html"], 1, "[bold]gone[/bold]"),
        (["validate", "[link=file:///etc/passwd]x[/link].yaml"], 1, "[link=file:///etc/passwd]"),
    ],
)
def test_error_messages_print_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    out = invoke(*args, code=code)
    assert out.startswith("error: ") and message in out
    assert len(out.strip().splitlines()) == 1 or "\n" not in out.strip()[:200]


def test_internal_error_message_prints_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last-resort handler of main(): the message of an unexpected exception."""

    def broken() -> None:
        raise RuntimeError("[/x] [bold red]boom[/] \x1b[2J")

    monkeypatch.setattr(cli, "app", broken)
    monkeypatch.setitem(common._state, "debug", False)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: [/x] [bold red]boom[/] \ufffd[2J" in " ".join(err.split())


PLUGIN = """
import polars as pl
from segrule import hookimpl
from segrule.model.nodes import Dimension, Node


def _count(ctx, name, groups, params):
    return [Node(name, "aggregate", pl.len().cast(pl.Int64).alias(name), table="orders",
                 columns=(), fill=0, description="[/x] [bold red]boom[/]")]


@hookimpl
def segrule_register_dimensions(register):
    register(Dimension("hostile_[/x]", _count, "aggregate",
                       "[link=file:///etc/passwd]x[/link] [/x]", "integer", tables=("orders",)))
"""


def test_plugin_text_in_catalogues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin's names and descriptions in `dimensions` and `plugins`."""
    (tmp_path / "hostile_plugin_for_cli.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        out = invoke("dimensions", "--plugin", "hostile_plugin_for_cli")
        assert_shown(out, ["hostile_[/x]", "[link=file:///etc/passwd]x[/link] [/x]"])
        out = invoke("plugins", "--plugin", "hostile_plugin_for_cli")
        assert_shown(out, ["hostile_[/x]"])
    finally:
        sys.modules.pop("hostile_plugin_for_cli", None)


def test_no_markup_left_in_the_cli_sources() -> None:
    """Emphasis is written as styles: "[bold]" in a printed string would be shown as
    typed (the consoles read no markup). Command docstrings (typer's help) are fine.
    Every module of the package is read, wherever a command lives."""
    package = Path(cli.__file__ or "").parent
    sources = sorted(package.rglob("*.py"))
    assert {"app.py", "output.py"} <= {s.name for s in sources}
    for path in sources:
        source = path.read_text(encoding="utf-8")
        code = re.sub(r'"""[\s\S]*?"""', "", source)  # docstrings hold help markup
        assert not re.search(r"\[/?(bold|green|red|dim|yellow)\]", code), str(path)


def test_explain_unknown_customer_with_markup(hostile_rules: Any, data_dir: Path) -> None:
    """The customer id is shown in the spinner and in the error."""
    out = invoke(
        "explain", hostile_rules.path, "--data", data_dir, "--as-of", AS_OF,
        "--customer", "[/x]", code=1,
    )  # fmt: skip
    assert out.startswith("error: ") and "[/x]" in out
