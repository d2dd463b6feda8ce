"""`segrule schema`: the JSON Schema of rule files."""

from __future__ import annotations

import json


def schema() -> None:
    """Print the JSON Schema of rule files (for editor validation and completion)."""
    from segrule.model.ruleset import json_schema

    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))
