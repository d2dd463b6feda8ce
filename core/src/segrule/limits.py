"""Limits on rule files: the sizes past which segrule refuses a rule file with one line.

A rule file is data that anyone may hand to a scoring job, so reading it must end
quickly with an answer, whatever it holds. Each limit below was chosen well above
what a real rule set needs (the packaged presets and the ten-thousand-label segment
of tests/core/test_limits.py are far inside them) and well below where a component
underneath hangs or crashes; the numbers that set them are in docs/security.md.
"""

from __future__ import annotations

#: Bytes of one rule file (a base named in ``extends:`` included). Read with at most
#: one byte more, so /dev/zero or a huge file cannot fill memory.
MAX_RULE_FILE_BYTES = 2 * 1024 * 1024

#: Nesting of YAML collections. PyYAML's composer recurses per level (a 10,000-deep
#: list ended in RecursionError); rule sets need about 8.
MAX_YAML_DEPTH = 64

#: YAML nodes after aliases are expanded (an 805-byte "billion laughs" file expands to
#: 10**9 nodes). The 10,001-case segment of tests/core/test_limits.py has ~30,000.
MAX_YAML_NODES = 250_000

#: Entries of one YAML list or mapping: the cases of one segment, the parts or tiers
#: of a score, the labels of a segment.
MAX_CASES = 20_000

#: Characters of one SQL expression (a condition, a filter, an aggregate).
MAX_SQL_CHARS = 100_000

#: Operators in one term of a SQL expression, after a long ``AND``/``OR`` chain was
#: split into its terms. polars' SQL parser recursed per operator: a chain of ~6,000
#: binary operators crashed the process (segmentation fault), and its optimizer took
#: seconds from ~1,500 on. Counted: binary and comparison operators, NOT, WHEN.
MAX_SQL_TERM_OPERATORS = 1_000

#: Nesting of constructs whose operand polars copies (BETWEEN, NULLIF, CASE x WHEN):
#: each level doubles the plan; 33 nested BETWEENs (1,275 characters) never finished.
#: 12 levels took 0.3 s, 16 took 7 s.
MAX_SQL_COPY_LEVELS = 12

#: A top-level ``AND``/``OR`` chain longer than this is split into its terms, each
#: parsed alone and combined as a balanced tree (same three-valued logic as SQL).
SPLIT_CHAINS_LONGER_THAN = 32

#: Bases one load may merge through ``extends`` (every mention counts; each file or
#: preset is read once).
MAX_EXTENDS = 256

#: Characters of a rule's SQL echoed in an error message.
MAX_ECHO_CHARS = 200

#: Environment variable naming folders outside the rule file's own that rule files
#: may read (``extends:``, ``blacklist:``), separated like PATH.
ALLOW_PATHS_ENV = "SEGRULE_ALLOW_PATHS"
