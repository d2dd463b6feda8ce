"""docs/plugins/apparel.md stays true: its YAML examples compile with the plugin, the
dimension list matches the registry, and its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import segrule
import segrule_apparel.hooks as plugin
import yaml

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "plugins" / "apparel.md"
README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.skipif(not PAGE.is_file(), reason="outside the repository")


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_yaml_examples_compile(tmp_path: Path) -> None:
    engine = segrule.Engine(plugins=[plugin], autoload=False)
    blocks = yaml_blocks()
    assert len(blocks) >= 3
    for i, block in enumerate(blocks):
        data = yaml.safe_load(block)
        if "outputs" not in data:  # a fragment: output everything it defines
            names = [n for key in ("dimensions", "segments") for n in data.get(key) or {}]
            data["outputs"] = ["customer_id", *names]
        path = tmp_path / f"block{i}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        rs = segrule.load_ruleset(path, engine=engine)
        segrule.compile(rs, engine=engine, check_only=True, as_of="2026-11-01")


def test_dimension_list_matches_the_registry() -> None:
    engine = segrule.Engine(plugins=[plugin], autoload=False)
    text = PAGE.read_text(encoding="utf-8")
    for name, dim in engine.dimensions.items.items():
        if name.startswith("apparel_"):
            row = f"| `{name}` | {dim.kind} | {dim.dtype} |"
            assert row in text, row
            assert dim.description in text, name


@pytest.mark.parametrize("page", [PAGE, README], ids=lambda p: p.name)
def test_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        assert dest.exists(), target
        if anchor and dest.suffix == ".md":
            body = re.sub(r"```.*?```", "", dest.read_text(encoding="utf-8"), flags=re.S)
            headings = re.findall(r"^#+ (.+)$", body, re.M)
            slugs = {
                re.sub(r"[^\w\- ]", "", re.sub(r"[`*]", "", h.strip().lower())).replace(" ", "-")
                for h in headings
            }
            assert anchor in slugs, target
