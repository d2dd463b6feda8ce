"""Digests of every preset's output on one generated data set, to show that a change
meant to keep outputs (a refactor, a speed-up) keeps them byte for byte.

    python3 -m uv run --all-packages python tests/golden/outputs.py --write

writes ``digests.json`` beside this file; ``test_outputs_unchanged.py`` recomputes the
digests and compares. A change that is meant to alter outputs rewrites the file and
says why in its commit.

A digest covers the output's schema and every value (the frame written as CSV, which
polars writes deterministically), the data-quality report and the summary counts: not
the Parquet bytes, whose footer holds the run's manifest (times, versions, paths).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import segrule
from segrule.generate import TableSpec, generate

VERTICALS = ["apparel", "childrenswear", "groupbuy", "b2b"]
AS_OF = "2026-11-01"
HERE = Path(__file__).parent
DIGESTS = HERE / "digests.json"


HYSTERESIS = """\
name: golden-hysteresis
extends: taobao-5-tier
hysteresis:
  tier:
    order: [super_vip, vip, advanced, normal]
    downgrade_after: 2
outputs: [customer_id, score, tier]
"""


def engine() -> segrule.Engine:
    return segrule.Engine(plugins=[f"segrule_{v}.hooks" for v in VERTICALS], autoload=False)


def make_data(folder: Path) -> Path:
    """Core tables plus every vertical's tables for one set of customers (seeded)."""
    eng = engine()
    generators = {
        t.name: TableSpec(t.generate, t.rows or (lambda ctx: 0))
        for t in eng.tables.items.values()
        if t.generate is not None and t.owner.plugin in VERTICALS
    }
    generate(
        folder,
        orders=4_000,
        seed=11,
        tables=["orders", "customers", "events", "feedback", "messages", *generators],
        generators=generators,
    )
    return folder


def jobs(eng: segrule.Engine) -> dict[str, dict[str, Any]]:
    """Name -> run arguments: every preset alone, the core presets together, and the
    core presets with every explanation column."""
    from segrule.explain import ExplainOptions

    presets = sorted(eng.presets.items)
    core = [p for p in presets if ":" not in p]
    out: dict[str, dict[str, Any]] = {p: {"rulesets": [p]} for p in presets}
    out["core-together"] = {"rulesets": core}
    out["core-explained"] = {
        "rulesets": ["taobao-5-tier", "rfm", "pareto-80-20", "value-tiers"],
        "explain": ExplainOptions(reasons=True, distance=True, rolloff=True, lang="zh"),
    }
    return out


def digest_of(result: Any) -> str:
    frame = pl.read_parquet(result.output)
    h = hashlib.sha256()
    h.update(repr(list(frame.schema.items())).encode())
    h.update(frame.write_csv().encode())
    h.update(json.dumps(result.quality, sort_keys=True, default=str).encode())
    h.update(json.dumps(result.summary, sort_keys=True, default=str).encode())
    return h.hexdigest()


def compute(folder: Path) -> dict[str, str]:
    data = make_data(folder / "data")
    eng = engine()
    digests = {}
    for name, job in jobs(eng).items():
        out = folder / "out" / f"{name.replace(':', '_')}.parquet"
        out.parent.mkdir(exist_ok=True)
        result = segrule.run(
            job["rulesets"], out, data=data, as_of=AS_OF, engine=eng, explain=job.get("explain")
        )
        digests[name] = digest_of(result)
    # Hysteresis: the same rule set at four as-ofs into one history folder.
    rules = folder / "hysteresis.yaml"
    rules.write_text(HYSTERESIS)
    history = folder / "history"
    for i, as_of in enumerate(["2026-08-01", "2026-09-01", "2026-10-01", AS_OF]):
        out = folder / "out" / f"history-{i}.parquet"
        result = segrule.run(rules, out, data=data, as_of=as_of, engine=eng, history=history)
        digests[f"history-{i}"] = digest_of(result)
    return digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DIGESTS.name}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        digests = compute(Path(tmp))
    if args.write:
        DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    else:
        json.dump(digests, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
