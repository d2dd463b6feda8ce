"""Every YAML example in docs/ is checked against the engine, so the docs cannot rot.

A block that is a whole rule set (it has ``outputs`` or ``extends``) must compile against
the table contracts. A fragment (only ``dimensions:``, ``segments:`` or ``scores:``) is
completed with ``outputs`` naming everything it defines and must compile too. A fragment
may use what earlier fragments of the same page defined (the pages build up their
examples). A block that starts with ``# typo.yaml`` shows an error on purpose: it must
fail with a SegruleError whose message the doc quotes. A block fenced as
``yaml illustrative`` (syntax alternatives, templates, examples that need their data
files) is not checked. Pages under docs/plugins/ are checked with their plugin loaded.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import segrule
import yaml
from segrule.errors import SegruleError

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)  # not "```yaml illustrative"
ENGINE = segrule.Engine(autoload=False)
PAGES = sorted(DOCS.glob("**/*.md"))


def engine_for(page: str) -> segrule.Engine:
    """docs/plugins/<name>.md is about plugin <name>: check its examples with it loaded."""
    if page.startswith("plugins/"):
        name = page.split("/", 1)[1].split(".", 1)[0]
        return segrule.Engine(plugins=[f"segrule_{name}.hooks"], autoload=False)
    return ENGINE


SECTIONS = ("dimensions", "segments", "scores")


def blocks() -> list[tuple[str, str, str, dict]]:
    """(where, block, text after it, definitions of the page's earlier fragments)."""
    found = []
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        context: dict[str, dict] = {key: {} for key in SECTIONS}
        for m in BLOCK.finditer(text):
            line = text[: m.start()].count("\n") + 1
            found.append(
                (
                    f"{path.relative_to(DOCS).as_posix()}:{line}",
                    m.group(1),
                    text[m.end() :],
                    {k: dict(v) for k, v in context.items()},
                )
            )
            data = yaml.safe_load(m.group(1))
            if isinstance(data, dict) and not ({"outputs", "extends"} & data.keys()):
                for key in SECTIONS:
                    context[key].update(data.get(key) or {})
    return found


BLOCKS = blocks()


def test_docs_have_yaml_examples() -> None:
    assert len(BLOCKS) >= 10


def _complete(data: dict, context: dict) -> dict:
    if "extends" in data or "name" in data:
        return data
    names: list[str] = []
    merged = dict(data)
    for key in SECTIONS:
        names += list((data.get(key) or {}).keys())
        if context[key] or key in data:
            merged[key] = {**context[key], **(data.get(key) or {})}
    merged.setdefault("outputs", ["customer_id", *names])
    return merged


@pytest.mark.parametrize(("where", "block", "after", "context"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_yaml_example_compiles(
    tmp_path: Path, where: str, block: str, after: str, context: dict
) -> None:
    data = yaml.safe_load(block)
    if not isinstance(data, dict):
        pytest.fail(f"{where}: a YAML example that is not a mapping")
    engine = engine_for(where)
    path = tmp_path / "example.yaml"
    if block.lstrip().startswith("# typo.yaml"):
        path.write_text(block, encoding="utf-8")
        with pytest.raises(SegruleError) as err:
            segrule.compile(
                segrule.load_ruleset(path, engine=engine),
                engine=engine,
                check_only=True,
                as_of="2026-06-30",
            )
        first = str(err.value).splitlines()[0]
        key = first.split(": ", 1)[-1][:40]
        assert key in after[:2000], f"{where}: the doc does not show the error {first!r}"
        return
    path.write_text(yaml.safe_dump(_complete(data, context), allow_unicode=True), encoding="utf-8")
    try:
        segrule.compile(
            segrule.load_ruleset(path, engine=engine),
            engine=engine,
            check_only=True,
            as_of="2026-06-30",
        )
    except SegruleError as exc:
        pytest.fail(f"{where}: {exc}")


# -- links between pages ------------------------------------------------------------
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'
    (underscores inside words are kept: `b2b_value_matrix` -> b2b_value_matrix)."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


ROOT = DOCS.parent


@pytest.mark.parametrize(
    "page",
    [*PAGES, ROOT / "README.md", *sorted(ROOT.glob("plugins/*/README.md"))],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)
