"""A target's `options` (S5): the keys providers read are typed, and the whole is bounded, so
a 100 MB blob is never stored and echoed back, and `"tags": "abc"` never becomes three tags.

Typed by key rather than by platform: a target names an account, not a platform, so its
platform is known only once the account is read; the keys do not clash between platforms.
Other keys are allowed (a platform's new choice needs no release here) within the bounds.
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

# What the providers read (grep `options` in providers/ and activities/publishing.py).
_TEXT = ("a string", str)
_SWITCH = ("true or false", bool)
_OBJECT = ("an object", dict)
KNOWN: dict[str, tuple[str, type]] = {
    "title": _TEXT,  # YouTube, Pinterest, TikTok
    "privacy": _TEXT,  # YouTube
    "privacy_level": _TEXT,  # TikTok
    "topic_type": _TEXT,  # Google Business Profile
    "language_code": _TEXT,
    "call_to_action": _OBJECT,
    "event": _OBJECT,
    "offer": _OBJECT,
    "alt_text": _TEXT,  # Pinterest
    "cover_image_url": _TEXT,
    "rkey": _TEXT,  # Bluesky
    "disable_duet": _SWITCH,  # TikTok's switches
    "disable_comment": _SWITCH,
    "disable_stitch": _SWITCH,
    "brand_content_toggle": _SWITCH,
    "brand_organic_toggle": _SWITCH,
    "is_aigc": _SWITCH,
}
KNOWN_TEXT_LISTS = frozenset({"tags", "langs", "alt_texts"})  # YouTube; Bluesky


def options_problems(options: dict[str, Any]) -> list[str]:
    """Every problem with these options, each naming where it is (empty: fine)."""
    problems: list[str] = []
    if len(options) > MAX_KEYS:
        problems.append(f"{len(options)} keys, at most {MAX_KEYS}")
    for key, value in options.items():
        if len(key) > MAX_KEY_CHARS:
            problems.append(f"a key of {len(key)} characters, at most {MAX_KEY_CHARS}")
            continue
        if key in KNOWN:
            what, kind = KNOWN[key]
            if not isinstance(value, kind):
                problems.append(f"{key}: must be {what}")
                continue
        if key in KNOWN_TEXT_LISTS and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            problems.append(f"{key}: must be a list of strings")
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
