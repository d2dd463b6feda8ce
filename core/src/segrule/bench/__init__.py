"""The side-by-side benchmark: segrule against hand-written peers on the same job.

The job is ``segrule run taobao-5-tier rfm pareto-80-20 --as-of 2026-11-01`` over data
written by ``segrule generate``. The same definitions are written independently as
one DuckDB SQL statement (:mod:`segrule.bench.peers.duckdb_sql`), a hand-written polars
lazy query (:mod:`segrule.bench.peers.polars_lazy`) and a pandas script
(:mod:`segrule.bench.peers.pandas_script`); :mod:`segrule.bench.peers.floor` (the
order floor) is the least any engine must do (read the order columns, one group-by per
customer), :mod:`segrule.bench.peers.jobfloor` (the job floor) the job's reads,
group-bys, joins, sort and write without its logic.

- :mod:`segrule.bench.data`: the cached benchmark data sets and their shapes;
- :mod:`segrule.bench.measure`: wall, CPU and peak memory of one command in a fresh
  process;
- :mod:`segrule.bench.compare`: column-by-column comparison of two outputs;
- :mod:`segrule.bench.sidebyside`: check that every peer agrees with segrule, then
  time them all and format the table.

DuckDB and pandas are optional (``pip install 'segrule[bench]'``); they are imported
only inside the peers that use them.
"""

from __future__ import annotations

from segrule.bench.peers._common import AS_OF, INSTALL_HINT
from segrule.errors import SegruleError

PRESETS = ("taobao-5-tier", "rfm", "pareto-80-20")


class BenchError(SegruleError):
    """A benchmark cannot run or its outputs disagree (the message says which)."""


class OutputMismatchError(BenchError):
    """An output differs from the one it must equal: no timing is reported.

    ``found`` maps each case ("1,000 orders, shape int") to its engines, each with its
    list of human-readable differences; ``notes`` says for a case whether the peers
    agree with each other (then segrule is the one that differs).
    """

    def __init__(self, found: dict[str, dict[str, list[str]]], notes: dict[str, str] | None = None):
        self.found = found
        self.notes = notes or {}
        lines = ["outputs differ from segrule's; no timing is reported:"]
        for case, mismatches in found.items():
            lines.append(f"  {case}:")
            for engine, problems in mismatches.items():
                lines.append(f"    {engine}:")
                lines.extend(f"      {p}" for p in problems)
            if case in self.notes:
                lines.append(f"    ({self.notes[case]})")
        super().__init__("\n".join(lines))


__all__ = ["AS_OF", "INSTALL_HINT", "PRESETS", "BenchError", "OutputMismatchError"]
