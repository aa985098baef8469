"""X API v2 stand-in (PLATFORMS.md §5): tweets, the chunked media upload, X's errors and limits.

Its own weighted-length count is written apart from the provider's (the sandbox depends on core
only), so the two check each other rather than sharing a mistake.
"""

from __future__ import annotations

import base64
import math
import re
import time
import unicodedata
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/x", tags=["x"])

# POST /2/tweets allows 200 per 15 minutes per user (docs.x.com/x-api/posts/manage-tweets).
# Module constants, so a test can lower them rather than post 200 tweets.
TWEETS_PER_WINDOW = 200
WINDOW_SECONDS = 15 * 60
MAX_WEIGHTED_LENGTH = 280
MAX_MEDIA = 4
CATEGORIES = {"tweet_image", "tweet_gif", "tweet_video", "amplify_video"}
PROCESSED = {"tweet_gif", "tweet_video", "amplify_video"}  # X encodes these after finalize
MEDIA_TTL_SECS = 86_400

DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text length"
    " see https://github.com/twitter/twitter-text."
)

_URL = re.compile(r"https?://\S*[^\s.,;:!?'\")\]}]", re.IGNORECASE)
_EMOJI = re.compile(
    "[\U0001f1e6-\U0001f1ff]{2}"
    "|.(?:[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]|\u200d.)+",
    re.DOTALL,
)
_LIGHT = re.compile("[\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")

# Sample media the sandbox serves for tests at GET /x/media/{name}, so uploads need no outside
# host. The PNG and GIF are real 1x1 images; the MP4 is stand-in bytes (nothing here decodes).
SAMPLE_MEDIA = {
    "png": (
        "image/png",
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP438AAAAQBAYDFKhhdAAAAAElFTkSuQmCC"
        ),
    ),
    "gif": (
        "image/gif",
        base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="),
    ),
    "mp4": ("video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64),
}


def weighted_length(text: str) -> int:
    """twitter-text v3: URL 23, an emoji sequence 2, code points outside the light ranges 2."""
    text = _URL.sub("u" * 23, unicodedata.normalize("NFC", text))
    text = _EMOJI.sub("\U0001f600", text)
    return sum(1 if _LIGHT.match(char) else 2 for char in text)


def problem(
    status: int, title: str, detail: str, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"title": title, "detail": detail, "type": "about:blank", "status": status}
    return JSONResponse(body, status_code=status, headers=headers)


def invalid_request(message: str) -> JSONResponse:
    return JSONResponse(
        {
            "errors": [{"message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
            "status": 400,
        },
        status_code=400,
    )


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _user(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    claims = token_claims(request, token)
    return claims.subject if claims is not None and claims.platform == "x" else None


def unauthorized() -> JSONResponse:
    return problem(401, "Unauthorized", "Unauthorized")


def _media(request: Request, user: str, media_id: str) -> dict[str, Any] | None:
    found = _state(request).media.get(media_id)
    return found if found and found["platform"] == "x" and found["owner"] == user else None


@router.get("/media/{name}", include_in_schema=False)
async def sample_media(name: str) -> Response:
    kind = SAMPLE_MEDIA.get(name.rsplit(".", 1)[-1].lower())
    if kind is None:
        return Response(status_code=404)
    return Response(kind[1], media_type=kind[0])


@router.post("/2/media/upload/initialize")
async def initialize_upload(request: Request) -> JSONResponse:
    if (user := _user(request)) is None:
        return unauthorized()
    body = await request.json()
    total = body.get("total_bytes")
    if not isinstance(total, int) or total <= 0:
        return invalid_request("total_bytes must be a positive integer.")
    if body.get("media_category") not in CATEGORIES or not body.get("media_type"):
        return invalid_request("media_type and a known media_category are required.")
    state = _state(request)
    media_id = state.next_id()
    state.media[media_id] = {
        "platform": "x",
        "owner": user,
        "category": body["media_category"],
        "total_bytes": total,
        "segments": {},
        "state": None,  # None until finalized; then pending, in_progress or succeeded
    }
    data = {"id": media_id, "media_key": f"3_{media_id}", "expires_after_secs": MEDIA_TTL_SECS}
    return JSONResponse({"data": data})


@router.post("/2/media/upload/{media_id}/append")
async def append_upload(media_id: str, request: Request) -> JSONResponse:
    if (user := _user(request)) is None:
        return unauthorized()
    media = _media(request, user, media_id)
    if media is None or media["state"] is not None:
        return invalid_request(f"Invalid media_id: {media_id}")
    form = await request.form()
    chunk = form.get("media")
    index = str(form.get("segment_index", ""))
    if chunk is None or isinstance(chunk, str) or not index.isdigit():
        return invalid_request("segment_index and a media file part are required.")
    media["segments"][int(index)] = len(await chunk.read())
    # PLATFORMS.md gives no append answer; an expiry, as the initialize answer has.
    return JSONResponse({"data": {"expires_at": int(time.time()) + MEDIA_TTL_SECS}})


@router.post("/2/media/upload/{media_id}/finalize")
async def finalize_upload(media_id: str, request: Request) -> JSONResponse:
    if (user := _user(request)) is None:
        return unauthorized()
    media = _media(request, user, media_id)
    if media is None or media["state"] is not None:
        return invalid_request(f"Invalid media_id: {media_id}")
    if sum(media["segments"].values()) != media["total_bytes"]:
        return invalid_request("Segments do not add up to provided total file size.")
    media["state"] = "pending" if media["category"] in PROCESSED else "succeeded"
    return JSONResponse({"data": _media_data(media_id, media)})


@router.get("/2/media/upload")
async def upload_status(request: Request, command: str = "", media_id: str = "") -> JSONResponse:
    if (user := _user(request)) is None:
        return unauthorized()
    media = _media(request, user, media_id)
    if command != "STATUS" or media is None or media["state"] is None:
        return invalid_request(f"Invalid media_id: {media_id}")
    # Each poll moves processing one step on, so tests see pending turn into ready.
    media["state"] = {"pending": "in_progress", "in_progress": "succeeded"}.get(
        media["state"], media["state"]
    )
    return JSONResponse({"data": _media_data(media_id, media)})


def _media_data(media_id: str, media: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": media_id,
        "media_key": f"3_{media_id}",
        "size": media["total_bytes"],
        "expires_after_secs": MEDIA_TTL_SECS,
    }
    if media["category"] in PROCESSED:
        done = media["state"] == "succeeded"
        data["processing_info"] = {"state": media["state"], "progress_percent": 100 if done else 50}
        if not done:
            data["processing_info"]["check_after_secs"] = 1
    return data


@router.post("/2/tweets")
async def create_tweet(request: Request) -> JSONResponse:
    if (user := _user(request)) is None:
        return unauthorized()
    state = _state(request)
    now = time.time()
    recent = [p for p in state.posts_for("x", user) if p.received_at > now - WINDOW_SECONDS]
    reset = math.ceil((recent[0].received_at if recent else now) + WINDOW_SECONDS)
    if len(recent) >= TWEETS_PER_WINDOW:
        return problem(429, "Too Many Requests", "Too Many Requests", headers=_limits(0, reset))
    body = await request.json()
    text = body.get("text", "")
    media_ids = (body.get("media") or {}).get("media_ids") or []
    if not isinstance(text, str) or not isinstance(media_ids, list):
        return invalid_request("text must be a string and media.media_ids a list.")
    if not text and not media_ids:
        return invalid_request("Tweet text or media is required.")
    if len(media_ids) > MAX_MEDIA:
        return invalid_request(f"media.media_ids may hold at most {MAX_MEDIA} ids.")
    for media_id in media_ids:
        media = _media(request, user, str(media_id))
        if media is None or media["state"] != "succeeded":
            return invalid_request(f"Your media IDs are invalid: {media_id}")
    if weighted_length(text) > MAX_WEIGHTED_LENGTH:
        return invalid_request(TOO_LONG)
    if text and any(post.text == text for post in state.posts_for("x", user)):
        return problem(403, "Forbidden", DUPLICATE)
    tweet_id = state.next_id()
    state.posts.append(
        SandboxPost(
            platform="x",
            account=user,
            id=tweet_id,
            text=text,
            media=[str(media_id) for media_id in media_ids],
            received_at=now,
            url=f"https://x.com/i/status/{tweet_id}",
        )
    )
    data = {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}
    remaining = TWEETS_PER_WINDOW - len(recent) - 1
    return JSONResponse({"data": data}, status_code=201, headers=_limits(remaining, reset))


def _limits(remaining: int, reset: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(TWEETS_PER_WINDOW),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(reset),
    }
