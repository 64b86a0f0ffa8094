"""Job parameters from the command line: `--param key=value` pairs, where a value is JSON when
it parses as JSON (`max_frames=100`, `annotate=true`, `zones=[...]`) and text otherwise, and the
list parameters also take comma-separated text (`classes=person,car`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

# The job parameters that are lists (shared/params.py's JobParams; the SDK cannot import it).
LIST_KEYS = frozenset({"classes", "detectors", "zones", "lines"})


def parse_value(key: str, text: str, list_keys: frozenset[str] = LIST_KEYS) -> Any:
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    if key in list_keys and isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def parse_pairs(pairs: Iterable[str], list_keys: frozenset[str] = LIST_KEYS) -> dict[str, Any]:
    """ValueError for a pair without `=` or without a key."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param expects key=value, got {pair!r}")
        params[key] = parse_value(key, text, list_keys)
    return params
