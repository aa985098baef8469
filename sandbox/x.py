"""X API v2 stand-in (docs/platforms.md §5): tweets, the chunked media upload, X's errors, limits.

Its own weighted-length count is written apart from the provider's (the sandbox depends on core
only), so the two check each other rather than sharing a mistake.

A user's tweets read back through `GET /2/users/{id}/tweets` (newest first, max_results 5 to
100, start_time/end_time, since_id/until_id, pagination_token), with the text altered as X
alters it: `&`, `<` and `>` as HTML entities, each link wrapped in a t.co link, and a t.co
link to the attached media appended.

A reply names the tweet it answers as `reply.in_reply_to_tweet_id`; one to a tweet the sandbox
does not hold is refused as X refuses a reply to a deleted or hidden tweet (403). It is kept
as a post of kind "reply", and the timeline shows it with `referenced_tweets` (replied_to).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import time
import unicodedata
from datetime import UTC, datetime
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
MAX_ALT_TEXT = 1000  # docs/platforms.md §5: media metadata alt_text.text
# The media key's prefix names the kind: 3 a photo, 16 an animated GIF, 7 a video.
MEDIA_KEY_TYPES = {"tweet_image": "3", "tweet_gif": "16", "tweet_video": "7", "amplify_video": "7"}

# GET /2/users/{id}/tweets: its page sizes, and the parameters it knows (others answer 400).
TIMELINE_MIN_RESULTS = 5
TIMELINE_MAX_RESULTS = 100
TIMELINE_DEFAULT_RESULTS = 10
TIMELINE_PARAMETERS = frozenset(
    {
        "max_results",
        "start_time",
        "end_time",
        "since_id",
        "until_id",
        "pagination_token",
        "tweet.fields",
        "exclude",  # replies, retweets: the sandbox makes no retweets
    }
)
TWEET_FIELDS = frozenset(
    {
        "id",
        "text",
        "created_at",
        "attachments",
        "author_id",
        "edit_history_tweet_ids",
        "referenced_tweets",
        "in_reply_to_user_id",
        "conversation_id",
    }
)

DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
GONE_PARENT = "You attempted to reply to a Tweet that is deleted or not visible to you."
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
    data = {
        "id": media_id,
        "media_key": _media_key(media_id, body["media_category"]),
        "expires_after_secs": MEDIA_TTL_SECS,
    }
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
    # docs/platforms.md gives no append answer; an expiry, as the initialize answer has.
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


@router.post("/2/media/metadata")
async def create_media_metadata(request: Request) -> JSONResponse:
    """Alt text for an uploaded image or GIF (docs/platforms.md §5), kept on the media so the
    tweet that attaches it records it."""
    if (user := _user(request)) is None:
        return unauthorized()
    body = await request.json()
    media_id = str(body.get("id", ""))
    media = _media(request, user, media_id)
    if media is None or media["state"] is None:
        return invalid_request(f"Invalid media_id: {media_id}")
    alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
    if not isinstance(alt, str) or len(alt) > MAX_ALT_TEXT:
        return invalid_request(f"alt_text.text must be a string of at most {MAX_ALT_TEXT}.")
    if media["category"] not in ("tweet_image", "tweet_gif"):
        return invalid_request("Alt text is supported for images and GIFs only.")
    media["alt_text"] = alt
    data = {"id": media_id, "associated_metadata": {"alt_text": {"text": alt}}}
    return JSONResponse({"data": data})


def _media_key(media_id: str, category: str) -> str:
    return f"{MEDIA_KEY_TYPES.get(category, '3')}_{media_id}"


def _media_data(media_id: str, media: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": media_id,
        "media_key": _media_key(media_id, media["category"]),
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
    reply = body.get("reply")
    reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
    if reply is not None and not (isinstance(reply_to, str) and reply_to.isdigit()):
        return invalid_request("reply.in_reply_to_tweet_id must be a tweet id string.")
    if reply_to is not None and _tweet_by_id(state, reply_to) is None:
        return problem(403, "Forbidden", GONE_PARENT)
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
            alt=[state.media[str(media_id)].get("alt_text") for media_id in media_ids],
            received_at=now,
            url=f"https://x.com/i/status/{tweet_id}",
            kind="reply" if reply_to else "post",
            reply_to=reply_to,
        )
    )
    data = {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}
    remaining = TWEETS_PER_WINDOW - len(recent) - 1
    return JSONResponse({"data": data}, status_code=201, headers=_limits(remaining, reset))


def _tweet_by_id(state: SandboxState, tweet_id: str) -> SandboxPost | None:
    """Any user's tweet: a public tweet may be replied to by anyone."""
    return next((post for post in state.posts_for("x") if post.id == tweet_id), None)


def _limits(remaining: int, reset: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(TWEETS_PER_WINDOW),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(reset),
    }


@router.get("/2/users/{user_id}/tweets")
async def user_tweets(user_id: str, request: Request) -> JSONResponse:
    """A user's tweets, newest first: any valid token may read a public timeline."""
    if _user(request) is None:
        return unauthorized()
    query = request.query_params
    for name in query:
        if name not in TIMELINE_PARAMETERS:
            known = ",".join(sorted(TIMELINE_PARAMETERS))
            return invalid_request(f"The query parameter [{name}] is not one of [{known}]")
    raw_size = query.get("max_results", str(TIMELINE_DEFAULT_RESULTS))
    size = int(raw_size) if raw_size.isdigit() else -1
    if not TIMELINE_MIN_RESULTS <= size <= TIMELINE_MAX_RESULTS:
        return invalid_request(
            f"The `max_results` query parameter value [{raw_size}] is not between "
            f"{TIMELINE_MIN_RESULTS} and {TIMELINE_MAX_RESULTS}"
        )
    bounds: dict[str, float] = {}
    for name in ("start_time", "end_time"):
        if name in query:
            moment = _rfc3339(query[name])
            if moment is None:
                return invalid_request(
                    f"Invalid '{name}':'{query[name]}'. '{name}' must be a valid RFC3339 date."
                )
            bounds[name] = moment
    fields = {f for f in query.get("tweet.fields", "").split(",") if f}
    if unknown := fields - TWEET_FIELDS:
        return invalid_request(
            f"The `tweet.fields` query parameter value {sorted(unknown)} is invalid"
        )
    state = _state(request)
    excluded = set(query.get("exclude", "").split(","))
    tweets = [
        post
        for post in reversed(state.posts_for("x", user_id))
        if post.received_at >= bounds.get("start_time", 0)
        and post.received_at < bounds.get("end_time", math.inf)
        and not (post.kind == "reply" and "replies" in excluded)
    ]
    for name in ("since_id", "until_id"):
        if name in query and not query[name].isdigit():
            return invalid_request(f"The `{name}` query parameter value [{query[name]}] is invalid")
    if "since_id" in query:
        tweets = [post for post in tweets if int(post.id) > int(query["since_id"])]
    if "until_id" in query:
        tweets = [post for post in tweets if int(post.id) < int(query["until_id"])]
    if "pagination_token" in query:
        before = _page_start(query["pagination_token"])
        if before is None:
            return invalid_request(
                f"The `pagination_token` query parameter value [{query['pagination_token']}] "
                "is not valid"
            )
        tweets = [post for post in tweets if int(post.id) < before]
    page, rest = tweets[:size], tweets[size:]
    if not page:
        return JSONResponse({"meta": {"result_count": 0}})
    meta: dict[str, Any] = {
        "result_count": len(page),
        "newest_id": page[0].id,
        "oldest_id": page[-1].id,
    }
    if rest:
        meta["next_token"] = _page_token(int(page[-1].id))
    return JSONResponse({"data": [_tweet(state, post, fields) for post in page], "meta": meta})


def _tweet(state: SandboxState, post: SandboxPost, fields: set[str]) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "id": post.id,
        "text": _as_x_shows(post),
        "edit_history_tweet_ids": [post.id],
    }
    if "created_at" in fields:
        moment = datetime.fromtimestamp(post.received_at, UTC)
        tweet["created_at"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if "author_id" in fields:
        tweet["author_id"] = post.account
    if post.reply_to is not None:
        tweet |= _reply_fields(state, post, fields)
    if "attachments" in fields and post.media:
        keys = [_media_key(m, (state.media.get(m) or {}).get("category", "")) for m in post.media]
        tweet["attachments"] = {"media_keys": keys}
    return tweet


def _reply_fields(state: SandboxState, post: SandboxPost, fields: set[str]) -> dict[str, Any]:
    """What a reply adds, as fields ask: the tweet it answers, its author, the thread's root."""
    parent = _tweet_by_id(state, str(post.reply_to))
    root = post
    while root.reply_to is not None and (up := _tweet_by_id(state, root.reply_to)) is not None:
        root = up
    added: dict[str, Any] = {
        "referenced_tweets": [{"type": "replied_to", "id": post.reply_to}],
        "in_reply_to_user_id": parent.account if parent else None,
        "conversation_id": root.id,
    }
    return {k: v for k, v in added.items() if k in fields and v is not None}


def _as_x_shows(post: SandboxPost) -> str:
    """The text as X answers it: links wrapped in t.co links, the media's own t.co link
    appended, and &, < and > as HTML entities."""
    links = iter(range(1_000))

    def wrap(_: re.Match[str]) -> str:
        return _tco(post.id, next(links))

    text = _URL.sub(wrap, post.text)
    if post.media:
        text = f"{text} {_tco(post.id, next(links))}".lstrip()
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tco(tweet_id: str, index: int) -> str:
    return "https://t.co/" + hashlib.sha1(f"{tweet_id}/{index}".encode()).hexdigest()[:10]


def _rfc3339(value: str) -> float | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _page_token(before: int) -> str:
    return base64.b32encode(f"before:{before}".encode()).decode().rstrip("=").lower()


def _page_start(token: str) -> int | None:
    padded = token.upper() + "=" * (-len(token) % 8)
    try:
        decoded = base64.b32decode(padded).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, number = decoded.partition(":")
    return int(number) if prefix == "before" and number.isdigit() else None
