"""What TikTok says of a post, as pure functions: the post a finished status names, and
whether a listed video is the one init sent (its caption, created since the attempt began)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from providers.base import Preparation, Published

PUBLIC_URL = "https://www.tiktok.com/@{user}/video/{id}"


def reported(found: dict[str, Any], prepared: Preparation, *, draft: bool) -> Published:
    """The post a finished status names: its public id once moderation passed, else (and for
    an inbox draft) the publish_id, which is all there is to name it by."""
    post_ids = found.get("publicaly_available_post_id") or []  # (sic) TikTok's spelling
    if draft or not post_ids:
        return Published(external_id=str(prepared.ids["publish_id"]))
    return public_post(str(post_ids[0]), prepared.ids.get("username"))


def public_post(post_id: str, user: object) -> Published:
    """The post by its public id, with its URL when the creator's username is known."""
    return Published(
        external_id=post_id, url=PUBLIC_URL.format(user=user, id=post_id) if user else None
    )


def captioned(video: dict[str, Any], text: str) -> bool:
    """Does the Display API show `text` as this video's caption? `title` is what init sent as
    post_info.title; `video_description` is the caption as shown, so either may carry it."""
    wanted = text.strip()
    return wanted in (
        str(video.get("video_description") or "").strip(),
        str(video.get("title") or "").strip(),
    )


def reaches_back_past(videos: Sequence[dict[str, Any]], since: datetime) -> bool:
    """Does a page of the list (newest first, by create_time) reach back past `since`?"""
    oldest = min((int(v.get("create_time") or 0) for v in videos), default=0)
    return oldest < since.timestamp()


def is_the_video(video: dict[str, Any], text: str, since: datetime) -> bool:
    """A listed video created since `since` and captioned `text`."""
    created = int(video.get("create_time") or 0)
    return created >= since.timestamp() and captioned(video, text)
