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

from providers.base import PostContent, Preparation, Published
from providers.kit.times import parse_time

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable (atproto TID spec)
# Our record key is minted at prepare, and publish may be retried for a while after it: a key
# this much older than the attempt cannot be the attempt's, so listing stops there.
KEY_AGE_LIMIT = timedelta(hours=6)
POST = "app.bsky.feed.post"
IMAGES, VIDEO = "app.bsky.embed.images", "app.bsky.embed.video"


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
    """The embed `publish` writes, which `record_matches` looks for: the video or the images,
    else the link card, else none."""
    if blobs:
        # The media's own alt text, else the older `alt_texts` option; the lexicon requires
        # an image's `alt`, and "" means none (docs/platforms.md §7).
        given = list(content.options.get("alt_texts") or [])
        alts = [content.alt(i) or (given[i] if i < len(given) else "") for i in range(len(blobs))]
        if str(blobs[0].get("mimeType", "")).startswith("video/"):
            # One video, alone; `alt` is optional here, so an empty one is left out.
            return {"$type": VIDEO, "video": blobs[0], **({"alt": alts[0]} if alts[0] else {})}
        return {
            "$type": IMAGES,
            "images": [{"image": blob, "alt": alt} for blob, alt in zip(blobs, alts, strict=True)],
        }
    if content.link:
        return {
            "$type": "app.bsky.embed.external",
            "external": {"uri": content.link, "title": content.title or "", "description": ""},
        }
    return None


def embedded_blobs(embed: dict[str, Any]) -> list[dict[str, Any]]:
    """The blobs an embed carries: its video, or its images."""
    if embed.get("$type") == VIDEO:
        return [embed.get("video") or {}]
    if embed.get("$type") == IMAGES:
        return [image.get("image") or {} for image in embed.get("images") or []]
    return []


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
        found = embedded_blobs(embed)
        if len(found) != len(content.media_urls):
            return False
        if blobs:  # blobs are content-addressed: the same refs, the same files
            return [(b.get("ref") or {}).get("$link") for b in found] == [
                blob["ref"]["$link"] for blob in blobs
            ]
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


def published(uri: str, cid: Any = None) -> Published:
    """at://{did}/app.bsky.feed.post/{rkey}, with its bsky.app page (the DID for a handle),
    and the record's cid, which a reply to it names."""
    did, _, rkey = uri.removeprefix("at://").partition(f"/{POST}/")
    url = f"https://bsky.app/profile/{did}/post/{rkey}"
    return Published(external_id=uri, url=url, cid=str(cid) if cid else None)
