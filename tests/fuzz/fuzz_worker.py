"""Run fuzzed rule files and SQL, in this process or in a worker process.

``outcome(kind, text)`` loads (and for rule files, scores on a tiny data set) one
input and says how it ended: ``ok``, ``segrule`` (a one-line SegruleError, the
right answer to bad input), ``leak`` (an error quoting a file that is not a rule
file), or ``other: <exception>``.

Run as a script, it is a worker: one JSON request per stdin line, one JSON answer
per stdout line. The fuzz tests' isolated mode (``SEGRULE_FUZZ_ISOLATE=1``) sends
each input to such a worker and waits at most 30 s: a worker that does not answer
is a hang, one that dies (a segmentation fault, memory) is a crash; either is
replaced by a fresh worker for the next input.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import polars as pl
import segrule
from segrule.errors import SegruleError
from segrule.model.sql import parse_sql
from segrule.testing import days_before, make_tables

#: Text of files outside the job: any error showing it is a leak.
SECRET = "root:SECRET-7f3a:19000:0:99999:7:::"
ENGINE = segrule.Engine(autoload=False)
AS_OF = days_before(0)
TABLES = make_tables(
    orders=[
        ("c1", days_before(3), 120.5),
        ("c1", days_before(40), 80.0, "refunded"),
        ("c2", days_before(400), 10_000.0),
        ("c3", days_before(1), 0.01, "paid", "dress", "app"),
    ],
    customers=[
        {"customer_id": "c1", "city": "上海", "birth_year": 1990, "gender": "f"},
        {"customer_id": "c2", "city": "成都", "birth_year": None},
        "c3",
        "c4",
    ],
    events=[("c1", days_before(2), "campaign"), ("c3", days_before(50), "view")],
    feedback=[("c1", days_before(5), 95), ("c2", days_before(9), 40)],
)


def make_job(root: Path) -> Path:
    """``root/job`` (where fuzzed rule files go) and ``root/outside`` (secrets), with
    the hostile files the path generator names: a FIFO, a folder, links out."""
    job = root / "job"
    outside = root / "outside"
    job.mkdir(parents=True, exist_ok=True)
    outside.mkdir(exist_ok=True)
    for name in ("shadow", "secret.yaml", "secret.txt", "ids.csv"):
        (outside / name).write_text(SECRET + "\n" + SECRET + "\n")
    (outside / "keys.yaml").write_text(f'API_KEY: "{SECRET}"\n')
    (outside / "base.yaml").write_text("name: outside\nextends: rfm\n")
    (job / "base.yaml").write_text("name: base\nextends: rfm\n")
    (job / "ids.txt").write_text("c1\n")
    (job / "notrules.yaml").write_text(f"{SECRET}\n")
    (job / "keys.yaml").write_text(f'API_KEY: "{SECRET}"\n')
    (job / "folder.yaml").mkdir(exist_ok=True)
    for link, target in (("out.yaml", outside / "secret.yaml"), ("etc", Path("/etc"))):
        if not (job / link).is_symlink():
            (job / link).symlink_to(target)
    if hasattr(os, "mkfifo") and not (job / "fifo.yaml").exists():
        os.mkfifo(job / "fifo.yaml")
    return job


def outcome(kind: str, text: str, job: Path) -> str:
    try:
        if kind == "sql":
            assert isinstance(parse_sql(text, where="fuzz", name="x"), pl.Expr)
            return "ok"
        path = job / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        rs = segrule.load_ruleset(path, engine=ENGINE)
        out = segrule.score(rs, TABLES, as_of=AS_OF, engine=ENGINE)
        # every customer of the universe once; job/ids.txt blacklists c1
        expected = 3 if (rs.model.blacklist or "").endswith("ids.txt") else 4
        assert isinstance(out, pl.DataFrame) and out.height == expected, "rows != customers"
        return "ok"
    except SegruleError as exc:
        message = str(exc)
        if "SECRET-7f3a" in message or "19000:0:99999" in message:
            return f"leak: {message[:300]}"
        if not message.strip() or "\n" in message.strip():
            return f"other: not one line: {message[:300]!r}"
        return "segrule"
    except BaseException as exc:  # the fuzz test reports what it was
        return f"other: {type(exc).__name__}: {str(exc)[:300]}"


def main() -> None:
    job = make_job(Path(tempfile.mkdtemp(prefix="segrule-fuzz-")))
    for line in sys.stdin:
        request = json.loads(line)
        answer = outcome(request["kind"], request["text"], job)
        sys.stdout.write(json.dumps({"outcome": answer}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
