"""A Bluesky post's rich-text facets (docs/platforms.md §7), kept apart from
providers/bluesky.py because turning the text into facets is a job of its own: the PDS makes
no links or mentions out of plain text, so each http(s) URL becomes an
`app.bsky.richtext.facet#link` and each `@alice.bsky.social` an
`app.bsky.richtext.facet#mention` carrying the DID com.atproto.identity.resolveHandle gives the
handle, all at UTF-8 byte offsets. Finding the links and mentions is pure; `text_facets`
resolves the handles through the provider's API and puts the facets in text order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from providers.base import Credentials
from providers.errors import ContentError
from providers.kit.api import PlatformAPI

_URL = re.compile(r"https?://[^\s<>\"'`]+")
_TRAILING = ".,;:!?\"')]}"
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


def link_facets(text: str) -> list[dict[str, Any]]:
    """`app.bsky.richtext.facet` links for each http(s) URL, with offsets in UTF-8 bytes."""
    facets: list[dict[str, Any]] = []
    for match in _URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if url.count("(") > url.count(")") and match.group()[len(url) :].startswith(")"):
            url += ")"  # keep a Wikipedia-style closing parenthesis that belongs to the URL
        start = len(text[: match.start()].encode())
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": start + len(url.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
    return facets


async def text_facets(api: PlatformAPI, account: Credentials, text: str) -> list[dict[str, Any]]:
    """The text's links, and its mentions of handles that resolve, in text order."""
    facets = link_facets(text)
    links = [(f["index"]["byteStart"], f["index"]["byteEnd"]) for f in facets]
    dids: dict[str, str | None] = {}
    for start, end, handle in mention_spans(text, links):
        if handle not in dids:
            dids[handle] = await resolve_handle(api, account, handle)
        if did := dids[handle]:
            facets.append(mention_facet(start, end, did))
    return sorted(facets, key=lambda facet: int(facet["index"]["byteStart"]))


async def resolve_handle(api: PlatformAPI, account: Credentials, handle: str) -> str | None:
    """The handle's DID, or None when no account has it. Such a mention stays plain text,
    as in Bluesky's own app: the words are still what the author wrote, and the post
    should not fail over someone else's handle."""
    params = {"handle": handle}
    try:
        found = await api.call(
            "GET", "/xrpc/com.atproto.identity.resolveHandle", account, params=params
        )
    except ContentError:
        return None  # HandleNotFound, or an older PDS's InvalidRequest: no such handle
    did = found.get("did")
    return did if isinstance(did, str) and did.startswith("did:") else None
