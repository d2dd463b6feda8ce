"""The key of every table and of every output row: the one place its name is written
(no imports, so the CLI can name it without loading polars)."""

BASE = "customer_id"
