"""The per-commit benchmark record: a short fixed comparison, one line per commit.

    python3 -m uv run --all-packages python benchmarks/record.py            # record HEAD
    python3 -m uv run --all-packages python benchmarks/record.py --check    # and compare

segrule, the DuckDB peer and the DuckDB job floor on 1M generated orders, shapes
default and int+shuffled, outputs checked equal first, 3 round-robin runs in fresh
processes, medians. A clean tree appends one JSON line to
benchmarks/record.jsonl (revision, date, machine, medians, ratios to DuckDB),
replacing an earlier line of the same commit; uncommitted changes are measured and
checked but not written. --check compares segrule's wall time / DuckDB's, shape by
shape, with the last record of another commit and exits 1 when it grew by more than
--threshold (default 0.15). See benchmarks/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from segrule.bench.record import main

if __name__ == "__main__":
    sys.exit(main(record_path=Path(__file__).resolve().parent / "record.jsonl"))
