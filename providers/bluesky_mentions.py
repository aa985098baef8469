"""Bluesky mentions as the post's text says them, `@alice.bsky.social`, found as pure
functions (docs/platforms.md §7). `BlueskyProvider` resolves each handle to its DID with
com.atproto.identity.resolveHandle and writes an `app.bsky.richtext.facet#mention` facet for
each one that resolves; offsets are UTF-8 bytes, as for links.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

MENTION_FEATURE = "app.bsky.richtext.facet#mention"
MAX_HANDLE_CHARS = 253  # a handle is a hostname (atproto.com/specs/handle)
# The handle syntax of atproto.com/specs/handle after an "@" that does not continue a word or
# an address (`me@alice.bsky.social` is an email), as the Bluesky docs' own parser finds them.
# The facet covers the "@" too.
_MENTION = re.compile(
    r"(?<![\w@.])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)


def mention_spans(text: str, taken: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int, str]]:
    """Each `@handle` in `text`: its byte start and end, and the handle in lower case (handles
    are case-insensitive). One inside a byte range of `taken` (a link's, say
    `https://example.com/@alice.bsky.social`) is not a mention."""
    spans = []
    for found in _MENTION.finditer(text):
        handle = found.group(1)
        if len(handle) > MAX_HANDLE_CHARS:
            continue
        start = len(text[: found.start()].encode())
        end = start + len(found.group().encode())
        if not any(start < until and since < end for since, until in taken):
            spans.append((start, end, handle.lower()))
    return spans


def mention_facet(start: int, end: int, did: str) -> dict[str, Any]:
    return {
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": MENTION_FEATURE, "did": did}],
    }
