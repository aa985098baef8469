"""What every platform's options model shares: its strictness and the post types it names.

Each platform's `options` are a TypedDict validated by pydantic, not a BaseModel: every key
may be left out, and a key that is present must hold a value of its type, never `null` (a
provider tells "left out" from "given" by the key's presence, as Bluesky's `rkey` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ConfigDict

# Unknown keys are refused (a misspelt `privacy_levle` must not be dropped silently), and no
# value is coerced ("yes" is not true, "1" is not 1).
STRICT = ConfigDict(extra="forbid", strict=True)

# A BCP-47 language tag as people write them: "en", "pt-BR", "zh-Hant-TW".
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


@dataclass(frozen=True)
class PostType:
    """A kind of post the platform publishes, and what makes a post that kind."""

    name: str
    made_by: str


def http_url(value: str) -> str:
    """An absolute http(s) URL, kept exactly as written (it travels to the platform as is)."""
    if not HTTP_URL.match(value):
        raise ValueError("must be an absolute http(s) URL")
    return value


def language_tag(value: str) -> str:
    if not LANGUAGE_TAG.match(value):
        raise ValueError("must be a BCP-47 language tag, such as en or pt-BR")
    return value
