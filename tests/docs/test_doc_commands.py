"""Every command and code block of README.md and docs/ runs as written (issue 18, point 6).

Each page runs in a folder of its own, made for the test, that holds ``data/``: the tables
``segrule generate --orders 3000 --seed 1`` writes (made once per session, copied per
page). The blocks of a page run in page order in that folder, with the workspace's
``segrule`` first on PATH, so a page may use what its earlier blocks wrote.

- ```` ```bash ````: the block is one bash script, run with ``set -eo pipefail``.
- ```` ```console ````: the lines starting with ``$ `` are commands (a line ending in
  ``\\`` continues on the next one); the other lines are output and are not compared. A
  command must exit 0, except one whose output shown in the page starts with
  ``error:``: that one must fail, with a message that starts as the page shows it (and
  one shown printing a ``Traceback``, under ``--debug``, must fail with one).
- ```` ```python ````: run with the workspace's Python in the page's folder.
- ```` ```yaml ```` and the others (``text``, ``sql``, output samples) are not run here
  (tests/docs/test_docs.py compiles every YAML example).

HTML comments right before a block (blank lines between are allowed) say more:

- ``<!-- not-run: REASON -->``: the block is not run; the reason is required. Every such
  block is counted and listed by ``test_every_block_is_run_or_marked``.
- ``<!-- file: NAME -->``: the block is the content of the file NAME in the page's folder,
  e.g. the rule set a later command validates. A yaml or python block whose first line is
  a comment naming a file (``# held.yaml``, ``# make_shop.py: ...``) is such a file too.
  A page's files are written into its folder before its first block runs.
- ``<!-- setup: COMMAND -->``: a shell command run before the block, in the page's
  folder, to make the data the block needs (e.g. an older output to diff against).
  Several may be given. They are visible in the page's source, never on the rendered page.
- ``<!-- needs: FIXTURE -->``: the block needs a server or a service that a pytest
  fixture named FIXTURE provides (e.g. ``<!-- needs: postgresql -->``). The fixture must
  be visible to tests/docs (defined in tests/docs/conftest.py or tests/conftest.py) and
  return a mapping of text replacements: each key, as written in the page (an example
  URI), is replaced in the block by its value (the test server's URI) before it runs.
- ``<!-- tested-by: PATH -->``: the block is run by another test (e.g. against a real
  server); counted like not-run.
- ``<!-- continues -->`` (python): the block runs after the page's previous python block,
  in the same interpreter (it uses names that block defined).

To keep the run short, a ``--orders N`` of ``segrule generate``, ``demo`` or ``bench`` above
3000 is run with 3000 (and bench's ``--repeat`` with 1): the command is otherwise as
written. Pages that do not exist yet cost nothing: pages are found by globbing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RUN = ("bash", "console", "python")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
MARKER = re.compile(
    r"<!--\s*(not-run|file|setup|needs|tested-by|continues)\s*:?\s*(.*?)\s*-->", re.S
)
FILE_COMMENT = re.compile(r"#\s*([\w.-]+\.(?:yaml|yml|py))\b")
MAX_ORDERS = 3000
TIMEOUT = 300


@dataclass
class Block:
    page: str
    line: int
    lang: str
    text: str
    markers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def marked(self, kind: str) -> list[str]:
        return [value for key, value in self.markers if key == kind]

    @property
    def file(self) -> str | None:
        """The file this block is the content of, if it is one."""
        (named,) = self.marked("file") or [None]
        if named is None and self.lang in ("yaml", "python"):
            first = FILE_COMMENT.match(self.text)
            named = first.group(1) if first else None
        return named


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def parse(path: Path, text: str | None = None) -> list[Block]:
    """The fenced blocks of a page with the markers in the comments right before each."""
    text = path.read_text(encoding="utf-8") if text is None else text
    page = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    found = []
    for m in FENCE.finditer(text):
        before = text[: m.start()]
        markers: list[tuple[str, str]] = []
        # The comments between the previous paragraph and the fence, nearest last.
        tail = before.rstrip()
        while tail.endswith("-->"):
            start = tail.rfind("<!--")
            if start < 0:
                break
            comment = MARKER.fullmatch(tail[start:])
            if comment is None:
                break
            markers.insert(0, (comment.group(1), comment.group(2)))
            tail = tail[:start].rstrip()
        found.append(Block(page, before.count("\n") + 1, m.group(1).strip(), m.group(2), markers))
    return found


def _all_blocks() -> list[Block]:
    return [b for p in pages() for b in parse(p)]


BLOCKS = _all_blocks()
RUNNABLE = [
    b
    for b in BLOCKS
    if (b.lang in RUN or b.marked("file")) and not b.marked("not-run") and not b.marked("tested-by")
]


def console_commands(text: str) -> list[tuple[str, list[str]]]:
    """(command, the output lines the page shows after it) of a console block."""
    commands: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + "\n" + lines[i]
            commands.append((command, []))
        elif commands:
            commands[-1][1].append(line)
        i += 1
    return commands


def shrink(command: str) -> str:
    """generate/demo/bench with at most MAX_ORDERS orders and one repeat."""
    if not re.search(r"\bsegrule\b.*\b(generate|demo|bench)\b", command):
        return command

    def orders(m: re.Match[str]) -> str:
        return f"--orders {min(int(m.group(1)), MAX_ORDERS)}"

    command = re.sub(r"--orders[ =](\d+)", orders, command)
    return re.sub(r"--repeat[ =]\d+", "--repeat 1", command)


@pytest.fixture(scope="session")
def docs_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs-data") / "data"
    done = subprocess.run(
        [
            str(BIN / "segrule"),
            "generate",
            "--orders",
            str(MAX_ORDERS),
            "--seed",
            "1",
            "--out",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    return folder


_FOLDERS: dict[str, Path] = {}
_PYTHON: dict[str, str] = {}


@pytest.fixture
def page_folder(
    request: pytest.FixtureRequest, docs_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    block: Block = request.node.callspec.params["block"]
    if block.page not in _FOLDERS:
        folder = tmp_path_factory.mktemp("page")
        shutil.copytree(docs_data, folder / "data")
        for other in BLOCKS:
            if other.page == block.page and other.file and not other.marked("not-run"):
                target = folder / other.file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(other.text, encoding="utf-8")
        _FOLDERS[block.page] = folder
    yield _FOLDERS[block.page]


def environment(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["SEGRULE_CACHE_DIR"] = str(folder / ".cache")
    env["COLUMNS"] = "120"
    env.pop("SEGRULE_DEBUG", None)
    return env


def replacements(block: Block, request: pytest.FixtureRequest) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for name in block.marked("needs"):
        try:
            value = request.getfixturevalue(name)
        except pytest.FixtureLookupError:
            pytest.fail(
                f"{block.where}: needs: {name}: no fixture of that name is visible to "
                "tests/docs (define it in tests/docs/conftest.py)"
            )
        out.update(value or {})
    return out


def _shell(script: str, folder: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def run_block(block: Block, folder: Path, swap: Mapping[str, str]) -> None:
    env = environment(folder)

    def real(text: str) -> str:
        for example, value in swap.items():
            text = text.replace(example, value)
        return text

    for setup in block.marked("setup"):
        done = _shell(real(setup), folder, env)
        assert done.returncode == 0, f"{block.where}: setup `{setup}` failed: {done.stderr}"
    if block.file is not None:  # a page's files are written with its folder
        target = folder / block.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(real(block.text), encoding="utf-8")
        return
    if block.lang == "bash":
        done = _shell("set -eo pipefail\n" + shrink(real(block.text)), folder, env)
        assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stderr}"
    elif block.lang == "console":
        commands = console_commands(block.text)
        assert commands, f"{block.where}: a console block without a `$ ` command"
        for command, shown in commands:
            run_command(block, shrink(real(command)), shown, folder, env)
    elif block.lang == "python":
        code = real(block.text)
        if block.marked("continues"):
            code = _PYTHON.get(block.page, "") + "\n" + code
        _PYTHON[block.page] = code
        script = folder / f".block-{block.line}.py"
        script.write_text(code, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stderr}"


_STATUS: dict[str, int] = {}


def run_command(
    block: Block, command: str, shown: list[str], folder: Path, env: Mapping[str, str]
) -> None:
    """One ``$`` line: the page's earlier ``$?`` is the previous command's status."""
    previous = _STATUS.get(block.page, 0)
    done = _shell(f"(exit {previous}); {command}", folder, env)
    _STATUS[block.page] = done.returncode
    errors = [x for x in shown if x.startswith("error:")]
    if not errors and shown[:1] == ["Traceback (most recent call last):"]:  # --debug
        assert done.returncode != 0, f"{block.where}: `{command}` should fail as the page shows"
        assert "Traceback (most recent call last):" in done.stderr
        return
    if not errors:
        assert done.returncode == 0, (
            f"{block.where}: `{command}` exited {done.returncode}\n{done.stderr[-2000:]}"
        )
        return
    if "; echo $?" not in command:
        assert done.returncode != 0, f"{block.where}: `{command}` should fail as the page shows"
    got = [x for x in (done.stderr + done.stdout).splitlines() if x.startswith("error:")]
    for line in errors:
        start = line[:40]
        assert any(g.startswith(start) for g in got), (
            f"{block.where}: `{command}` shows {line!r}; it printed {got}"
        )


@pytest.mark.parametrize(
    "block",
    # A page's blocks run in order in one pytest-xdist worker (later ones use what earlier
    # ones wrote).
    [
        pytest.param(b, id=b.where, marks=pytest.mark.xdist_group(re.sub(r"\W", "_", b.page)))
        for b in RUNNABLE
    ],
)
def test_block_runs_as_written(
    block: Block, page_folder: Path, request: pytest.FixtureRequest
) -> None:
    run_block(block, page_folder, replacements(block, request))


def test_every_block_is_run_or_marked() -> None:
    """A block in a runnable language is run or says why not; the count of each is shown."""
    unknown = [
        m for b in BLOCKS for m in b.markers if m[0] in ("not-run", "tested-by") and not m[1]
    ]
    assert not unknown, f"a not-run/tested-by marker without a reason: {unknown}"
    skipped = [b for b in BLOCKS if b.lang in RUN and b not in RUNNABLE]
    print(f"\n{len(RUNNABLE)} blocks run, {len(skipped)} marked not run:")
    for b in skipped:
        print(f"  {b.where}: {(b.marked('not-run') or b.marked('tested-by'))[0]}")
    assert len(RUNNABLE) >= 20


def test_the_markers_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    text = (
        "Intro.\n\n<!-- file: r.yaml -->\n```yaml\nname: x\n```\n\n"
        "<!-- setup: touch old.parquet -->\n<!-- needs: postgresql -->\n\n"
        "```console\n$ segrule diff \\\n  old.parquet new.parquet\nerror: no\n$ echo $?\n1\n```\n"
        "<!-- not-run: an output sample -->\n```bash\nrm -rf /\n```\n"
    )
    first, second, third = parse(page, text)
    assert first.marked("file") == ["r.yaml"] and first.lang == "yaml"
    assert second.marked("setup") == ["touch old.parquet"]
    assert second.marked("needs") == ["postgresql"]
    assert console_commands(second.text) == [
        ("segrule diff \n  old.parquet new.parquet", ["error: no"]),
        ("echo $?", ["1"]),
    ]
    assert third.marked("not-run") == ["an output sample"]
    assert (
        shrink("segrule generate --orders 1000000 --out d")
        == "segrule generate --orders 3000 --out d"
    )
    assert shrink("segrule run x --orders o.parquet") == "segrule run x --orders o.parquet"


@pytest.fixture
def docs_fake_server() -> dict[str, str]:
    return {"postgresql://example.invalid/shop": "it-ran"}


def test_a_needs_marker_names_a_fixture_that_replaces_text(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    text = (
        "<!-- needs: docs_fake_server -->\n```bash\n"
        "echo postgresql://example.invalid/shop > seen.txt\n```\n"
    )
    (block,) = parse(tmp_path / "p.md", text)
    run_block(block, tmp_path, replacements(block, request))
    assert (tmp_path / "seen.txt").read_text().strip() == "it-ran"
    missing = parse(tmp_path / "p.md", text.replace("docs_fake_server", "no_such_fixture"))[0]
    with pytest.raises(pytest.fail.Exception, match="no fixture of that name"):
        replacements(missing, request)
