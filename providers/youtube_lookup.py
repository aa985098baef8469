"""The video `prepare` describes, as pure functions: its title, and whether a video the
channel lists is it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from providers.base import PostContent
from providers.kit.times import parse_time

MAX_TITLE = 100
# search.list refuses publishedAfter beside forMine, so `order=date` and a stop at the first
# older video stand in for it.
MINE_NEWEST_FIRST = {"part": "snippet", "forMine": "true", "type": "video", "order": "date"}


def video_title(content: PostContent) -> str:
    if content.title:
        return content.title
    first_line = content.text.strip().split("\n", 1)[0].strip()
    return first_line[:MAX_TITLE]


def is_the_video(video: dict[str, Any], content: PostContent) -> bool:
    """The same title and description as `prepare` sent (search.list's snippets are cut
    short, so this reads videos.list's)."""
    snippet = video.get("snippet") or {}
    return snippet.get("title") == video_title(content) and (
        snippet.get("description") == content.text
    )


def uploaded_since(items: list[dict[str, Any]], since: datetime) -> list[str]:
    """The video ids of search.list items published at or after `since`."""
    return [
        str(item["id"]["videoId"])
        for item in items
        if (uploaded := parse_time(item.get("snippet", {}).get("publishedAt")))
        and uploaded >= since
    ]
