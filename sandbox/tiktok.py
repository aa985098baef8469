"""TikTok Content Posting API stand-in (docs/platforms.md §9): creator_info, video init (direct
post or inbox draft) pulled from a URL, a status machine per publish_id, TikTok's envelope,
and the Display API's list of the user's public videos (`POST /v2/video/list/`).

Every answer carries `{"data": ..., "error": {"code", "message", "log_id"}}`, `code` being
"ok" on success, as the real API does. A publish's statuses can be scripted through the
control API, and a status read is the unit of progress (as in sandbox/instagram.py): the
sandbox runs on the wall clock, the time-skipping workflow tests do not. A video list read
advances each of the user's unfinished direct posts by one step as well, since the real
processing goes on whether or not anyone asks for a status (after a lost init answer nobody
can: the publish_id is what was lost).

Only PULL_FROM_URL is served: crier never uses FILE_UPLOAD, and chunk uploads would need an
upload server of their own here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.metrics_numbers import day_numbers
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/tiktok", tags=["tiktok"])
control = APIRouter(prefix="/_control/tiktok", tags=["control"])

STATUS_READS_PER_MINUTE = 30  # per token (docs/platforms.md §9)
# TikTok's documented title limit is 2,200 UTF-16 runes (direct post reference).
MAX_TITLE_UTF16 = 2_200
PRIVACY_LEVELS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
PROCESSING = ("PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD")
FINAL = ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX", "FAILED")
DAY = 86_400.0
MAX_LIST_COUNT = 20  # /v2/video/list/ max_count: default 10, at most 20
# The Video Object fields the sandbox can answer (Display API, scope video.list).
VIDEO_FIELDS = ("id", "title", "video_description", "create_time", "share_url", "duration")


@dataclass
class Creator:
    username: str
    privacy_level_options: list[str] = field(default_factory=lambda: list(PRIVACY_LEVELS))


@dataclass
class Publish:
    id: str
    open_id: str
    inbox: bool
    title: str
    video_url: str
    privacy_level: str | None
    script: list[str] = field(default_factory=list)  # statuses for the next reads
    fail_reason: str = "internal"
    status: str = "PROCESSING_DOWNLOAD"
    post_id: str | None = None
    posted_at: float | None = None  # when it went public: the video's create_time


class TikTokState:
    def __init__(self) -> None:
        self.creators: dict[str, Creator] = {}
        self.publishes: dict[str, Publish] = {}
        self.next_scripts: list[tuple[list[str], str]] = []
        self.status_reads: dict[str, deque[float]] = {}  # token → read times (last minute)
        self.daily_cap: int | None = None  # docs/platforms.md names the error, not the number
        self.inits: dict[str, list[float]] = {}  # open_id → init times (rolling 24 h)

    def creator(self, open_id: str) -> Creator:
        return self.creators.setdefault(open_id, Creator(username=f"sbx_{open_id}"))


def _tiktok(request: Request) -> TikTokState:
    state: SandboxState = request.app.state.sandbox
    found = state.extras.setdefault("tiktok", TikTokState())
    assert isinstance(found, TikTokState)
    return found


def _log_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:18].upper()


def ok(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"data": data, "error": {"code": "ok", "message": "", "log_id": _log_id()}})


def tiktok_error(code: str, message: str, status: int) -> JSONResponse:
    error = {"code": code, "message": message, "log_id": _log_id()}
    return JSONResponse({"error": error}, status_code=status)


def _open_id(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    claims = token_claims(request, token) if scheme == "Bearer" else None
    if claims is None or claims.platform != "tiktok":
        return None
    return claims.subject


async def _body(request: Request) -> dict[str, Any] | None:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


UNAUTHORIZED = ("access_token_invalid", "The access token is invalid or not found in the request.")


@router.post("/v2/post/publish/creator_info/query/")
async def creator_info(request: Request) -> JSONResponse:
    if (open_id := _open_id(request)) is None:
        return tiktok_error(*UNAUTHORIZED, 401)
    creator = _tiktok(request).creator(open_id)
    return ok(
        {
            "creator_avatar_url": f"https://p16.tiktokcdn.example/{open_id}.jpeg",
            "creator_username": creator.username,
            "creator_nickname": creator.username,
            "privacy_level_options": creator.privacy_level_options,
            "comment_disabled": False,
            "duet_disabled": False,
            "stitch_disabled": False,
            "max_video_post_duration_sec": 600,
        }
    )


# The fields of GET /v2/user/info/ that scope user.info.basic covers.
USER_FIELDS = ("open_id", "union_id", "avatar_url", "display_name")
# And those of scope user.info.stats: counts as they are now (docs/platforms.md §16.9).
STATS_FIELDS = ("follower_count", "following_count", "likes_count", "video_count")


@router.get("/v2/user/info/")
async def user_info(request: Request, fields: str = "") -> JSONResponse:
    """Who the token belongs to: only the `fields` asked for, as the real endpoint answers."""
    if (open_id := _open_id(request)) is None:
        return tiktok_error(*UNAUTHORIZED, 401)
    wanted = [name for name in fields.split(",") if name]
    if not wanted:
        return tiktok_error("invalid_params", "fields is required.", 400)
    creator = _tiktok(request).creator(open_id)
    known = {
        "open_id": open_id,
        "union_id": f"union-{open_id}",
        "avatar_url": f"https://p16.tiktokcdn.example/{open_id}.jpeg",
        "display_name": creator.username,
    } | _stats(request, open_id)
    shown = (*USER_FIELDS, *STATS_FIELDS)
    return ok({"user": {name: known[name] for name in wanted if name in shown}})


def _stats(request: Request, open_id: str) -> dict[str, int]:
    """user.info.stats' counts now: followers drift by the day (sandbox/metrics_numbers.py)."""
    followers = day_numbers(open_id, datetime.now(UTC).date())["followers"]
    state: SandboxState = request.app.state.sandbox
    return {
        "follower_count": followers,
        "following_count": followers // 20,
        "likes_count": followers * 3,
        "video_count": len(state.posts_for("tiktok", open_id)),
    }


@router.post("/v2/post/publish/video/init/")
async def direct_post_init(request: Request) -> JSONResponse:
    return await _init(request, inbox=False)


@router.post("/v2/post/publish/inbox/video/init/")
async def inbox_init(request: Request) -> JSONResponse:
    return await _init(request, inbox=True)


async def _init(request: Request, *, inbox: bool) -> JSONResponse:
    if (open_id := _open_id(request)) is None:
        return tiktok_error(*UNAUTHORIZED, 401)
    body = await _body(request)
    if body is None:
        return tiktok_error("invalid_params", "The request body is not a JSON object.", 400)
    source = body.get("source_info") or {}
    post_info = body.get("post_info") or {}
    if not isinstance(source, dict) or not isinstance(post_info, dict):
        return tiktok_error("invalid_params", "source_info and post_info must be objects.", 400)
    if source.get("source") != "PULL_FROM_URL":
        return tiktok_error("invalid_params", "The sandbox serves source PULL_FROM_URL only.", 400)
    video_url = str(source.get("video_url") or "")
    if not video_url.startswith(("http://", "https://")):
        return tiktok_error("invalid_file_upload", "video_url is not a fetchable URL.", 400)
    title = str(post_info.get("title") or "")
    if len(title.encode("utf-16-le")) // 2 > MAX_TITLE_UTF16:
        return tiktok_error("invalid_params", f"title exceeds {MAX_TITLE_UTF16} runes.", 400)
    tiktok = _tiktok(request)
    privacy = post_info.get("privacy_level")
    if not inbox and privacy not in tiktok.creator(open_id).privacy_level_options:
        return tiktok_error(
            "privacy_level_option_mismatch",
            "privacy_level is not among the creator's privacy_level_options.",
            400,
        )
    now = time.time()
    recent = [t for t in tiktok.inits.get(open_id, []) if t > now - DAY]
    if tiktok.daily_cap is not None and len(recent) >= tiktok.daily_cap:
        return tiktok_error(
            "spam_risk_too_many_posts", "The user has reached the daily post cap.", 403
        )
    tiktok.inits[open_id] = [*recent, now]
    state: SandboxState = request.app.state.sandbox
    script, fail_reason = tiktok.next_scripts.pop(0) if tiktok.next_scripts else ([], "internal")
    publish = Publish(
        id=f"v_{'inbox' if inbox else 'pub'}_url~v2.{state.next_id()}",
        open_id=open_id,
        inbox=inbox,
        title=title,
        video_url=video_url,
        privacy_level=None if inbox else str(privacy),
        script=script,
        fail_reason=fail_reason,
    )
    tiktok.publishes[publish.id] = publish
    return ok({"publish_id": publish.id})


@router.post("/v2/post/publish/status/fetch/")
async def status_fetch(request: Request) -> JSONResponse:
    if (open_id := _open_id(request)) is None:
        return tiktok_error(*UNAUTHORIZED, 401)
    tiktok = _tiktok(request)
    token = request.headers["authorization"].partition(" ")[2]
    reads = tiktok.status_reads.setdefault(token, deque())
    now = time.time()
    while reads and reads[0] <= now - 60:
        reads.popleft()
    if len(reads) >= STATUS_READS_PER_MINUTE:
        return tiktok_error("rate_limit_exceeded", "Too many status requests.", 429)
    reads.append(now)
    body = await _body(request)
    publish = tiktok.publishes.get(str((body or {}).get("publish_id", "")))
    if publish is None or publish.open_id != open_id:
        return tiktok_error("invalid_params", "publish_id is not a publish of this user.", 400)
    status = _advance(publish, tiktok, request.app.state.sandbox)
    data: dict[str, Any] = {"status": status, "uploaded_bytes": 0}
    if status == "FAILED":
        data["fail_reason"] = publish.fail_reason
    if status == "PUBLISH_COMPLETE" and publish.post_id:
        data["publicaly_available_post_id"] = [int(publish.post_id)]  # (sic), int64s
    return ok(data)


def _advance(publish: Publish, tiktok: TikTokState, state: SandboxState) -> str:
    """The next scripted status; once the script runs out, the post completes."""
    if publish.status in FINAL:
        return publish.status
    if publish.script:
        publish.status = publish.script.pop(0)
    else:
        publish.status = "SEND_TO_USER_INBOX" if publish.inbox else "PUBLISH_COMPLETE"
    if publish.status in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"):
        _store(publish, tiktok.creator(publish.open_id).username, state)
    return publish.status


def _store(publish: Publish, username: str, state: SandboxState) -> None:
    # An inbox upload has no public post yet: the publish_id is all there is to name it.
    publish.post_id = None if publish.inbox else state.next_id()
    publish.posted_at = time.time()
    state.posts.append(
        SandboxPost(
            platform="tiktok",
            account=publish.open_id,
            id=publish.post_id or publish.id,
            text=publish.title,
            media=[publish.video_url],
            received_at=time.time(),
            url=None
            if publish.inbox
            else f"https://www.tiktok.com/@{username}/video/{publish.post_id}",
            published=not publish.inbox,
        )
    )


@router.post("/v2/video/list/")
async def video_list(request: Request, fields: str = "") -> JSONResponse:
    """The user's public videos, newest create_time first; `cursor` (epoch milliseconds)
    reaches back to videos posted before it. Drafts in the inbox and posts that are not
    PUBLIC_TO_EVERYONE are not public videos, so they are never listed."""
    if (open_id := _open_id(request)) is None:
        return tiktok_error(*UNAUTHORIZED, 401)
    wanted = [name for name in fields.split(",") if name]
    if not wanted:
        return tiktok_error("invalid_params", "fields is required.", 400)
    body = await _body(request)
    if body is None:
        return tiktok_error("invalid_params", "The request body is not a JSON object.", 400)
    count, cursor = body.get("max_count", 10), body.get("cursor")
    if not isinstance(count, int) or not 1 <= count <= MAX_LIST_COUNT:
        return tiktok_error("invalid_params", f"max_count must be 1 to {MAX_LIST_COUNT}.", 400)
    if cursor is not None and not isinstance(cursor, int):
        return tiktok_error("invalid_params", "cursor must be an int64.", 400)
    tiktok = _tiktok(request)
    state: SandboxState = request.app.state.sandbox
    mine = [p for p in tiktok.publishes.values() if p.open_id == open_id and not p.inbox]
    for publish in mine:
        _advance(publish, tiktok, state)
    public = sorted(
        (
            p
            for p in mine
            if p.status == "PUBLISH_COMPLETE"
            and p.privacy_level == "PUBLIC_TO_EVERYONE"
            and p.posted_at is not None
            and (cursor is None or p.posted_at * 1000 < cursor)
        ),
        key=lambda p: p.posted_at or 0.0,
        reverse=True,
    )
    page = public[:count]
    username = tiktok.creator(open_id).username
    videos = [
        {name: value for name, value in _video(p, username).items() if name in wanted} for p in page
    ]
    after = int((page[-1].posted_at or 0) * 1000) if page else (cursor or 0)
    return ok({"videos": videos, "cursor": after, "has_more": len(public) > count})


def _video(publish: Publish, username: str) -> dict[str, Any]:
    """The Display API's Video Object for a public post: `title` and `video_description`
    both carry the caption init sent."""
    return {
        "id": publish.post_id,
        "title": publish.title,
        "video_description": publish.title,
        "create_time": int(publish.posted_at or 0),
        "share_url": f"https://www.tiktok.com/@{username}/video/{publish.post_id}",
        "duration": 15,
    }


class PublishScript(BaseModel):
    statuses: list[str] = Field(
        description="statuses the next publish answers, one per status read, e.g. "
        '["PROCESSING_DOWNLOAD", "PUBLISH_COMPLETE"] or [..., "FAILED"]; when they run out '
        "the publish completes (PUBLISH_COMPLETE, or SEND_TO_USER_INBOX for an inbox upload)"
    )
    fail_reason: str = "internal"


class CreatorIn(BaseModel):
    username: str | None = None
    privacy_level_options: list[str] | None = None


class DailyCap(BaseModel):
    posts: int | None = Field(description="init calls allowed per user per rolling 24 h")


@control.post("/next-publish")
async def script_next_publish(script: PublishScript, request: Request) -> dict[str, Any]:
    if unknown := set(script.statuses) - {*PROCESSING, *FINAL}:
        raise HTTPException(422, f"unknown statuses {sorted(unknown)}")
    _tiktok(request).next_scripts.append((list(script.statuses), script.fail_reason))
    return {"data": script.model_dump()}


@control.put("/creators/{open_id}")
async def set_creator(open_id: str, creator: CreatorIn, request: Request) -> dict[str, Any]:
    found = _tiktok(request).creator(open_id)
    if creator.username is not None:
        found.username = creator.username
    if creator.privacy_level_options is not None:
        found.privacy_level_options = list(creator.privacy_level_options)
    return {"data": {"open_id": open_id, **vars(found)}}


@control.put("/daily-cap")
async def set_daily_cap(cap: DailyCap, request: Request) -> dict[str, Any]:
    _tiktok(request).daily_cap = cap.posts
    return {"data": cap.model_dump()}


@control.get("/publishes")
async def list_publishes(request: Request) -> dict[str, Any]:
    data = [
        {k: v for k, v in vars(p).items() if k != "script"}
        for p in _tiktok(request).publishes.values()
    ]
    return {"data": data, "meta": {"count": len(data)}}
