"""TikTok's Display API video query (docs/platforms.md §16.9): `POST /v2/video/query/?fields=…`
with `{"filters": {"video_ids": [...]}}` (1 to 20) answers the user's own public videos among
them, with their view, like, comment and share counts from sandbox/metrics_numbers.py; a video
that is not theirs, not public or not (yet) posted is left out, as TikTok does. The account's
follower count is a field of `GET /v2/user/info/` (sandbox/tiktok.py)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import tiktok
from sandbox.metrics_numbers import post_numbers
from sandbox.state import SandboxState

router = APIRouter(prefix="/tiktok", tags=["tiktok"])

MAX_VIDEO_IDS = 20
COUNT_FIELDS = ("view_count", "like_count", "comment_count", "share_count")


@router.post("/v2/video/query/")
async def video_query(request: Request, fields: str = "") -> JSONResponse:
    if (open_id := tiktok._open_id(request)) is None:
        return tiktok.tiktok_error(*tiktok.UNAUTHORIZED, 401)
    wanted = [name for name in fields.split(",") if name]
    if not wanted or (unknown := set(wanted) - {*tiktok.VIDEO_FIELDS, *COUNT_FIELDS}):
        message = f"unknown fields: {sorted(unknown)}" if wanted else "fields is required."
        return tiktok.tiktok_error("invalid_params", message, 400)
    body = await tiktok._body(request)
    ids = ((body or {}).get("filters") or {}).get("video_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_VIDEO_IDS:
        message = f"filters.video_ids must list 1 to {MAX_VIDEO_IDS} video ids."
        return tiktok.tiktok_error("invalid_params", message, 400)
    state: SandboxState = request.app.state.sandbox
    posts = {p.id: p for p in state.posts_for("tiktok", open_id)}
    found = tiktok._tiktok(request)
    username = found.creator(open_id).username
    videos = []
    for publish in found.publishes.values():
        post = posts.get(publish.post_id or "")
        if (
            post is None
            or publish.open_id != open_id
            or publish.privacy_level != "PUBLIC_TO_EVERYONE"
            or publish.post_id not in [str(i) for i in ids]
        ):
            continue
        counts = post_numbers(post.id, time.time() - post.received_at)
        video: dict[str, Any] = {
            **tiktok._video(publish, username),
            "view_count": counts["impressions"],
            "like_count": counts["likes"],
            "comment_count": counts["comments"],
            "share_count": counts["shares"],
        }
        videos.append({name: value for name, value in video.items() if name in wanted})
    return tiktok.ok({"videos": videos, "cursor": 0, "has_more": False})
