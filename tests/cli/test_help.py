"""Command help reads as prose: typer keeps a docstring's source line breaks, so the
app joins the lines of each paragraph before typer sees them."""

from __future__ import annotations

from segrule_cli.app import app
from segrule_cli.common import _reflow
from typer.testing import CliRunner


def test_reflow_joins_paragraph_lines_and_keeps_items() -> None:
    doc = """Short help.

    A paragraph written
    over three
    lines.

    - an item
    - another
    Example: segrule run x
    """
    assert _reflow(doc) == (
        "Short help.\n\nA paragraph written over three lines.\n\n- an item\n- another\n"
        "Example: segrule run x"
    )


def test_generate_help_is_not_broken_mid_sentence() -> None:
    result = CliRunner().invoke(app, ["generate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "With --vertical, the plugin's own tables" in result.output


def test_help_and_the_package_import_do_not_import_polars() -> None:
    """`segrule --help` answers without importing polars (0.7 s -> 0.2 s here): the
    package's API names load on first use."""
    import subprocess
    import sys

    code = (
        "import sys, segrule, segrule.io.cleanup, segrule_cli.app\n"
        "assert 'polars' not in sys.modules, 'polars imported'\n"
        "segrule.score\n"
        "assert 'polars' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _helps() -> dict[str, str]:
    import re

    from segrule_cli.app import app as the_app

    runner = CliRunner()
    names = [c.name or c.callback.__name__ for c in the_app.registered_commands]  # type: ignore[union-attr]
    out = {}
    for args in ([], *[[n] for n in names]):
        r = runner.invoke(the_app, [*args, "--help"], env={"COLUMNS": "300"})
        assert r.exit_code == 0, r.output
        out[" ".join(args) or "segrule"] = re.sub(r"\s+", " ", r.output)
    return out


def test_every_help_shows_readable_placeholders_and_the_text_as_written() -> None:
    helps = _helps()
    assert len(helps) >= 18
    for name, text in helps.items():
        # typer's type names (<list[str]>, <bool>, <path>, <int range>) are not placeholders
        assert "<list" not in text and "<bool>" not in text and "<str>" not in text, name
        assert "<path>" not in text and "<int" not in text, name
    # Bracketed words are text, not markup: rich would have eaten them.
    assert "'segrule[bench]'" in helps["bench"]
    assert 'pip install -e ".[test]"' in helps["new-plugin"]
    assert "--out TEXT" in helps["run"].replace("-o ", "") or " TEXT " in helps["run"]
    assert "zh|en" in helps["explain"] and "zh|en" in helps["report"]
    assert " PATH " in helps["run"] and " N " in helps["generate"]
    # Our own emphasis is still emphasis, not "[bold]" shown as typed.
    assert "[bold]" not in helps["run"] and "segrule run taobao-5-tier rfm" in helps["run"]
