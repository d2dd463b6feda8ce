"""`segrule new-plugin NAME` creates a plugin whose own tests pass once it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from segrule_cli.app import app
from typer.testing import CliRunner

runner = CliRunner()


def _uv() -> list[str] | None:
    """uv as `uv run` exposes it (UV), on PATH, or as a module of this interpreter."""
    if os.environ.get("UV"):
        return [os.environ["UV"]]
    if shutil.which("uv"):
        return ["uv"]
    try:
        import uv  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "uv"]


def test_new_plugin_skeleton_installs_and_its_tests_pass(tmp_path: Path) -> None:
    target = tmp_path / "segrule-acme_shop"
    r = runner.invoke(app, ["new-plugin", "acme_shop", "--dir", str(target)])
    assert r.exit_code == 0, r.output
    assert (target / "src/segrule_acme_shop/hooks.py").is_file()
    assert (target / "src/segrule_acme_shop/presets/starter.yaml").is_file()
    uv = _uv()
    if uv is None:
        pytest.fail("uv is needed to install the skeleton (it is how the workspace is set up)")
    site = tmp_path / "site"
    # Installed for real (a wheel built from its pyproject, with its entry point), into a
    # folder put on the path of this interpreter, which already has segrule and pytest.
    subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "-q",
            "--python",
            sys.executable,
            "--no-deps",
            "--target",
            str(site),
            str(target),
        ],
        check=True,
        capture_output=True,
    )
    assert list(site.glob("segrule_acme_shop-0.1.0.dist-info/entry_points.txt"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", None)
    env.pop("SEGRULE_PLUGINS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target / "tests")],
        cwd=target,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "segrule_cli", "plugins", "--json", "--no-builtins"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert '"distribution": "segrule-acme_shop"' in listed.stdout, listed.stdout + listed.stderr


@pytest.mark.parametrize("bad", ["Acme", "1shop", "a-b", "x" * 41])
def test_new_plugin_rejects_bad_names(tmp_path: Path, bad: str) -> None:
    r = runner.invoke(app, ["new-plugin", bad, "--dir", str(tmp_path / "p")])
    assert r.exit_code == 2
    assert "must start with a lower-case letter" in r.output
    assert not (tmp_path / "p").exists()


def test_new_plugin_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    r = runner.invoke(app, ["new-plugin", "shop", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "not empty" in r.output
    assert (tmp_path / "keep.txt").read_text() == "mine"
