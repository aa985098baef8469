"""A first comment on YouTube as pure functions (docs/platforms.md §10): the top-level comment
thread the channel writes on its own video (commentThreads.insert), how a listed thread says
when it was written and who wrote what, and the comment as published. They sit apart from
providers/youtube.py because a comment is a second thing YouTube makes, with its own resource
shape, beside the upload the provider is mostly about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from providers.base import Published
from providers.kit.pages import Page
from providers.kit.times import parse_time
from providers.youtube_upload import WATCH_URL


def new_thread(channel: str, video: str, text: str) -> dict[str, Any]:
    """The commentThreads.insert body: a top-level comment by `channel` on `video`."""
    comment = {"topLevelComment": {"snippet": {"textOriginal": text}}}
    return {"snippet": {"channelId": channel, "videoId": video} | comment}


def written(thread: dict[str, Any]) -> datetime | None:
    """When the thread's top-level comment was written (None: not said, so not ruled out)."""
    top = (thread.get("snippet") or {}).get("topLevelComment") or {}
    return parse_time((top.get("snippet") or {}).get("publishedAt"))


def threads_since(page: dict[str, Any], since: datetime) -> Page[dict[str, Any]]:
    """A commentThreads.list page's threads written since `since`, and the next page's token
    unless this page already reaches past `since`."""
    items: list[dict[str, Any]] = page.get("items") or []
    recent = [item for item in items if (written(item) or since) >= since]
    # order=time is newest first: a page reaching past `since` is the last one needed.
    last = len(recent) < len(items) or not page.get("nextPageToken")
    return Page(recent, None if last else str(page["nextPageToken"]))


def is_own_thread(thread: dict[str, Any], channel: str, text: str) -> bool:
    """Whether `channel` wrote the thread's top-level comment with exactly `text`."""
    top = (thread.get("snippet") or {}).get("topLevelComment", {}).get("snippet") or {}
    author = (top.get("authorChannelId") or {}).get("value")
    return bool(author == channel and top.get("textOriginal") == text)


def comment_published(video: str, thread: dict[str, Any]) -> Published:
    # The thread's id is its top-level comment's; `lc` links the watch page to that comment.
    url = f"{WATCH_URL.format(id=video)}&lc={thread['id']}"
    return Published(external_id=str(thread["id"]), url=url)
