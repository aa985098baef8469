"""Is this record the post `publish` wrote? Pure functions for Bluesky's reconciliation
(providers/bluesky.py): the record key a post is written under, the embed it carries, and the
match of a record found at that key or in the account's listing.

`prepare` fixes the post's record key, a TID as the PDS would mint, so every try of `publish`
writes to the same key. A TID is a timestamp, so it also says when a listed record's key was
minted: the listing stops at keys too old to be the attempt's.

A thread's part is a reply record: it is matched by the post its `reply.parent` names too,
and a post by naming none, so a reply of the same words is never taken for the post.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from providers.base import PostContent, Preparation
from providers.kit.times import parse_time

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable (atproto TID spec)
# Our record key is minted at prepare, and publish may be retried for a while after it: a key
# this much older than the attempt cannot be the attempt's, so listing stops there.
KEY_AGE_LIMIT = timedelta(hours=6)


def new_tid() -> str:
    """A timestamp identifier: microseconds since the epoch, then a random 10-bit clock id."""
    value = time.time_ns() // 1_000 << 10 | secrets.randbelow(1024)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def tid_time(rkey: str) -> datetime | None:
    """When a TID record key was minted; None for a key that is not a TID."""
    if len(rkey) != 13 or any(char not in TID_ALPHABET for char in rkey):
        return None
    value = 0
    for char in rkey:
        value = value << 5 | TID_ALPHABET.index(char)
    return datetime.fromtimestamp((value >> 10) / 1_000_000, UTC)


def record_key(content: PostContent, prepared: Preparation) -> str | None:
    """The key the post is written under: the caller's, else the one `prepare` fixed."""
    chosen = content.options.get("rkey") or prepared.ids.get("rkey")
    return str(chosen) if chosen else None


def post_embed(content: PostContent, blobs: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The embed `publish` writes, which `record_matches` looks for: the images, else the
    link card, else none."""
    if blobs:
        # The media's own alt text, else the older `alt_texts` option; the lexicon requires
        # `alt`, and "" means none (docs/platforms.md §7).
        alts = list(content.options.get("alt_texts") or [])
        return {
            "$type": "app.bsky.embed.images",
            "images": [
                {"image": blob, "alt": content.alt(i) or (alts[i] if i < len(alts) else "")}
                for i, blob in enumerate(blobs)
            ],
        }
    if content.link:
        return {
            "$type": "app.bsky.embed.external",
            "external": {"uri": content.link, "title": content.title or "", "description": ""},
        }
    return None


def replied_to(value: dict[str, Any]) -> str | None:
    """The uri of the post a record answers (`reply.parent.uri`), None for a post."""
    reply = value.get("reply")
    parent = reply.get("parent") if isinstance(reply, dict) else None
    return str(parent.get("uri")) if isinstance(parent, dict) else None


def record_matches(
    value: dict[str, Any],
    content: PostContent,
    blobs: list[dict[str, Any]] | None,
    parent: str | None = None,
) -> bool:
    """Is this post record the one `publish` (or `publish_part`, answering `parent`) writes
    for `content`: its text, and its embed (the same blobs, which are content-addressed, or
    the same link card)?"""
    if value.get("text") != content.text or replied_to(value) != parent:
        return False
    embed = value.get("embed") or {}
    if content.media_urls:
        images = embed.get("images") or []
        if embed.get("$type") != "app.bsky.embed.images" or len(images) != len(content.media_urls):
            return False
        if blobs:
            sent = [blob["ref"]["$link"] for blob in blobs]
            return [((i.get("image") or {}).get("ref") or {}).get("$link") for i in images] == sent
        return True
    if content.link:
        external = embed.get("external") or {}
        return (
            embed.get("$type") == "app.bsky.embed.external" and external.get("uri") == content.link
        )
    return not embed


def listed_matches(
    listed: dict[str, Any],
    content: PostContent,
    blobs: list[dict[str, Any]] | None,
    *,
    since: datetime,
    parent: str | None = None,
) -> bool:
    """Is this record of listRecords' the attempt's post (or part, answering `parent`): made
    no earlier than `since`, and the record `publish` writes?"""
    value = listed.get("value") or {}
    created = parse_time(value.get("createdAt"))
    return bool(created and created >= since and record_matches(value, content, blobs, parent))


def older(listed: dict[str, Any], since: datetime) -> bool:
    """Is this record, and so every one listed after it, too old to be the attempt's?"""
    rkey = str(listed.get("uri", "")).rsplit("/", 1)[-1]
    minted = tid_time(rkey) or parse_time((listed.get("value") or {}).get("createdAt"))
    return minted is not None and minted < since - KEY_AGE_LIMIT
