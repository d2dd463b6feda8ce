"""The run manifest: what produced an output, stored in the output's Parquet metadata.

Under the key ``segrule.manifest`` (a JSON object): the rule sets and the sha256 of
the composed rule set, the as-of instant and time zone, segrule's version and every
loaded plugin's distribution and version, each input table's source with a
fingerprint per file, and the output columns. There is deliberately no wall-clock
time in it: the same input and rule set give a byte-identical file.

A file's fingerprint is its size and the sha256 of its first and last 64 KiB (a
Parquet file's footer, with its schema and row-group statistics, is in the last
bytes). Reading whole inputs to hash them would cost as much as the run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segrule.io.locations import redact
from segrule.io.sources import source_files

if TYPE_CHECKING:
    from segrule.engine.compiler import Plan

MANIFEST_KEY = "segrule.manifest"
EDGE_BYTES = 64 * 1024


def fingerprint(path: Path) -> dict[str, Any]:
    """Size and sha256 of the first and last 64 KiB of ``path``."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as f:
        digest.update(f.read(EDGE_BYTES))
        if size > EDGE_BYTES:
            f.seek(max(EDGE_BYTES, size - EDGE_BYTES))
            digest.update(f.read(EDGE_BYTES))
    return {"bytes": size, "sha256_ends": digest.hexdigest()}


def ruleset_sha256(plan: Plan) -> str:
    """sha256 of the composed rule set (extends resolved), as canonical JSON."""
    model = plan.ruleset.model.model_dump(mode="json", exclude_none=True)
    text = json.dumps(model, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def build_manifest(plan: Plan) -> dict[str, Any]:
    """The manifest of a compiled plan (reads only the edges of the input files)."""
    from segrule.version import __version__

    engine = plan.ctx.engine
    plugins = {
        name: {"distribution": info.distribution, "version": info.version}
        for name, info in sorted(engine.plugins.items() if engine else ())
        if not info.builtin
    }
    inputs: dict[str, Any] = {}
    for table, source in sorted(plan.tables.items()):
        if isinstance(source, str) and "://" in source:
            # A URL (object store, web, database): its password or signature never
            # goes into an output's metadata.
            inputs[table] = {"source": redact(source)}
            continue
        files = source_files(source)
        if not files:
            inputs[table] = {"source": source}
            continue
        base = Path(source) if Path(source).is_dir() else None
        inputs[table] = {
            "source": source,
            "files": [
                {"file": str(f.relative_to(base)) if base else f.name, **fingerprint(f)}
                for f in files
            ],
        }
    if plan.blacklist and Path(plan.blacklist).is_file():
        bl = Path(plan.blacklist)
        inputs["blacklist"] = {"source": str(bl), "files": [{"file": bl.name, **fingerprint(bl)}]}
    return {
        "segrule": __version__,
        "plugins": plugins,
        "rulesets": list(plan.ruleset.sources),
        "ruleset_sha256": ruleset_sha256(plan),
        "as_of": plan.ctx.as_of.isoformat(),
        "timezone": plan.ctx.tz,
        "inputs": inputs,
        "outputs": list(plan.outputs),
    }


def read_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest of a Parquet output, or None when it has none."""
    import polars as pl

    meta = pl.read_parquet_metadata(path)
    text = meta.get(MANIFEST_KEY)
    return json.loads(text) if text else None
