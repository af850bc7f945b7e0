"""The tests' strict JSON reader: json.loads that refuses NaN, Infinity and -Infinity (which json.loads
accepts by default), so every JSON bayeslaw writes is checked against the standard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def loads(text: str) -> Any:
    """Parse ``text``; a non-standard constant raises ValueError naming it."""
    def refuse(name: str):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def load_file(path: Path) -> Any:
    """Parse the file at ``path`` strictly (the error names the file)."""
    try:
        return loads(Path(path).read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
