"""A target's `options` (S5), bounded before anything else reads them: a 100 MB blob is never
stored and echoed back, and no nesting runs deeper than any platform's shape.

These bounds hold whatever the platform: a target names an account, not a platform, so its
platform is known only once the account is read. Then its options are checked against that
platform's model (providers/options/), which types every key and refuses the unknown ones.
"""

from __future__ import annotations

import json
from typing import Any

MAX_KEYS = 32
MAX_KEY_CHARS = 64
MAX_DEPTH = 4  # Google's event.schedule.startDate.year is four levels down
MAX_LIST_ITEMS = 32
MAX_STRING_CHARS = 2000
MAX_SERIALIZED_BYTES = 8 * 1024


def options_problems(options: dict[str, Any]) -> list[str]:
    """Every problem with these options, each naming where it is (empty: fine)."""
    problems: list[str] = []
    if len(options) > MAX_KEYS:
        problems.append(f"{len(options)} keys, at most {MAX_KEYS}")
    for key, value in options.items():
        if len(key) > MAX_KEY_CHARS:
            problems.append(f"a key of {len(key)} characters, at most {MAX_KEY_CHARS}")
            continue
        problems += _shape_problems(key, value, depth=1)
    if not problems:
        size = len(json.dumps(options, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_SERIALIZED_BYTES:
            problems.append(f"{size} bytes as JSON, at most {MAX_SERIALIZED_BYTES}")
    return problems


def _shape_problems(where: str, value: Any, *, depth: int) -> list[str]:
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            return [f"{where}: {len(value)} characters, at most {MAX_STRING_CHARS}"]
        return []
    if value is None or isinstance(value, bool | int | float):
        return []
    if depth >= MAX_DEPTH:
        return [f"{where}: nested deeper than {MAX_DEPTH} levels"]
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            return [f"{where}: {len(value)} items, at most {MAX_LIST_ITEMS}"]
        return [
            problem
            for index, item in enumerate(value)
            for problem in _shape_problems(f"{where}[{index}]", item, depth=depth + 1)
        ]
    if isinstance(value, dict):
        if len(value) > MAX_KEYS:
            return [f"{where}: {len(value)} keys, at most {MAX_KEYS}"]
        problems = []
        for key, item in value.items():
            if len(str(key)) > MAX_KEY_CHARS:
                problems.append(
                    f"{where}: a key of {len(str(key))} characters, at most {MAX_KEY_CHARS}"
                )
            else:
                problems += _shape_problems(f"{where}.{key}", item, depth=depth + 1)
        return problems
    return [f"{where}: not a JSON value"]
