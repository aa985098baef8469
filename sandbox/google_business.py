"""Google Business Profile v4 local posts stand-in (docs/platforms.md §6): its path, bodies, errors.

A token's subject is the location (`accounts/{a}/locations/{l}`) or its whole account, since a
Google token is a person's and reaches every location they manage. Each location takes 10
posts in any 60 seconds, as Google's "10 edits per minute per profile" quota, and sends no
Retry-After with its 429, as Google does not.

Local posts list back through `GET .../localPosts` (pageSize 1 to 100, default 20, pageToken),
as the LocalPosts they were created as, newest first (Google documents no order).
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/google_business", tags=["google_business"])

MAX_SUMMARY = 1500
MAX_EVENT_TITLE = 58
EDITS_PER_MINUTE = 10
TOPIC_TYPES = frozenset({"STANDARD", "EVENT", "OFFER", "ALERT"})
ACTION_TYPES = frozenset({"BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL"})
OFFER_FIELDS = frozenset({"couponCode", "redeemOnlineUrl", "termsConditions"})
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".webm", ".mkv", ".wmv", ".3gp")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
STATUS_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}


def google_error(status: int, message: str) -> JSONResponse:
    body = {"error": {"code": status, "message": message, "status": STATUS_CODES[status]}}
    return JSONResponse(body, status_code=status)


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _authorize(request: Request, account: str, location: str) -> JSONResponse | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    claims = token_claims(request, token) if scheme.lower() == "bearer" else None
    if claims is None or claims.platform != "google_business":
        return google_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
        )
    if claims.subject not in (location, account):
        return google_error(403, "The caller does not have permission")
    return None


def _over_quota(request: Request, location: str) -> bool:
    """Admits the call into the location's last-60-seconds window unless it is full."""
    windows: dict[str, list[float]] = _state(request).extras.setdefault("google_business", {})
    now = time.time()
    recent = [t for t in windows.get(location, []) if t > now - 60]
    if len(recent) >= EDITS_PER_MINUTE:
        windows[location] = recent
        return True
    windows[location] = [*recent, now]
    return False


def _http_url(value: Any) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")


def _moment(day: Any, clock: Any) -> datetime | None:
    if not isinstance(day, dict):
        return None
    clock = clock if isinstance(clock, dict) else {}
    try:
        return datetime.combine(
            date(int(day["year"]), int(day["month"]), int(day["day"])), datetime.min.time()
        ).replace(hour=int(clock.get("hours", 0)), minute=int(clock.get("minutes", 0)))
    except (KeyError, TypeError, ValueError):
        return None


def _event_problem(event: Any) -> str | None:
    if not isinstance(event, dict) or not event.get("title"):
        return "event.title is required"
    if len(str(event["title"])) > MAX_EVENT_TITLE:
        return f"event.title is longer than {MAX_EVENT_TITLE} characters"
    schedule = event.get("schedule")
    if not isinstance(schedule, dict):
        return "event.schedule is required"
    start = _moment(schedule.get("startDate"), schedule.get("startTime"))
    end = _moment(schedule.get("endDate"), schedule.get("endTime"))
    if start is None or end is None:
        return "event.schedule needs a valid startDate and endDate"
    if end < start:
        return "event.schedule ends before it starts"
    return None


def _problem(post: dict[str, Any], topic: str) -> str | None:
    """Why Google would refuse this LocalPost with INVALID_ARGUMENT, if it would."""
    summary = post.get("summary")
    if summary is not None and not isinstance(summary, str):
        return "summary must be a string"
    if topic not in TOPIC_TYPES:
        return f"Invalid value at 'local_post.topic_type' ({topic})"
    if topic == "ALERT" and not post.get("alertType"):
        return "alertType is required for ALERT posts"
    if len(summary or "") > MAX_SUMMARY:
        return f"summary is longer than {MAX_SUMMARY} characters"
    if topic == "STANDARD" and not (summary or post.get("media")):
        return "summary is required"
    cta = post.get("callToAction")
    if cta is not None and topic != "OFFER":
        if not isinstance(cta, dict) or cta.get("actionType") not in ACTION_TYPES:
            return "callToAction.actionType is invalid"
        if cta["actionType"] == "CALL" and cta.get("url"):
            return "callToAction.url must not be set for CALL"
        if cta["actionType"] != "CALL" and not _http_url(cta.get("url")):
            return "callToAction.url must be an http(s) URL"
    if topic in ("EVENT", "OFFER") and (problem := _event_problem(post.get("event"))):
        return problem
    offer = post.get("offer")
    if offer is not None:
        if topic != "OFFER" or not isinstance(offer, dict):
            return "offer is only allowed on OFFER posts"
        if unknown := set(offer) - OFFER_FIELDS:
            return f"offer has unknown fields {sorted(unknown)}"
        if "redeemOnlineUrl" in offer and not _http_url(offer["redeemOnlineUrl"]):
            return "offer.redeemOnlineUrl must be an http(s) URL"
    return None


def _photos(post: dict[str, Any]) -> list[str] | JSONResponse:
    media = post.get("media") or []
    if not isinstance(media, list):
        return google_error(400, "media must be a list")
    urls: list[str] = []
    for item in media:
        if not isinstance(item, dict) or not _http_url(item.get("sourceUrl")):
            return google_error(400, "media.sourceUrl must be a public http(s) URL")
        url = str(item["sourceUrl"])
        # Google fails a video in a post with a bare 500 (field notes, docs/platforms.md §6).
        if item.get("mediaFormat") == "VIDEO" or urlsplit(url).path.lower().endswith(
            VIDEO_SUFFIXES
        ):
            return google_error(500, "Internal error encountered.")
        if item.get("mediaFormat") != "PHOTO":
            return google_error(400, "media.mediaFormat must be PHOTO")
        urls.append(url)
    return urls


@router.post("/v4/accounts/{account_id}/locations/{location_id}/localPosts")
async def create_local_post(account_id: str, location_id: str, request: Request) -> JSONResponse:
    account = f"accounts/{account_id}"
    location = f"{account}/locations/{location_id}"
    if (refused := _authorize(request, account, location)) is not None:
        return refused
    if _over_quota(request, location):
        return google_error(
            429,
            "Quota exceeded for quota metric 'Edits' and limit 'Edits per minute per profile'.",
        )
    try:
        post = await request.json()
    except ValueError:
        return google_error(400, "Invalid JSON payload received.")
    if not isinstance(post, dict):
        return google_error(400, "Invalid JSON payload received.")
    topic = str(post.get("topicType") or "STANDARD")
    if problem := _problem(post, topic):
        return google_error(400, problem)
    photos = _photos(post)
    if isinstance(photos, JSONResponse):
        return photos
    state = _state(request)
    post_id = state.next_id()
    name = f"{location}/localPosts/{post_id}"
    search_url = f"https://local.google.com/place?id={location_id}&use=posts&lpsid={post_id}"
    cta = post.get("callToAction") if topic != "OFFER" else None
    link = cta.get("url") if isinstance(cta, dict) else None
    state.posts.append(
        SandboxPost(
            platform="google_business",
            account=location,
            id=name,
            text=str(post.get("summary") or ""),
            media=photos,
            link=str(link) if link else None,
            received_at=time.time(),
            url=search_url,
        )
    )
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    answer = {
        key: post[key]
        for key in ("languageCode", "summary", "event", "offer", "callToAction")
        if key in post and not (key == "callToAction" and topic == "OFFER")
    }
    if photos:
        answer["media"] = [{"mediaFormat": "PHOTO", "sourceUrl": url} for url in photos]
    # Google reviews a post after accepting it; it is PROCESSING until LIVE or REJECTED.
    answer |= {
        "name": name,
        "topicType": topic,
        "state": "PROCESSING",
        "createTime": now,
        "updateTime": now,
        "searchUrl": search_url,
    }
    _stored(state)[name] = answer
    return JSONResponse(answer)


def _stored(state: SandboxState) -> dict[str, dict[str, Any]]:
    posts: dict[str, dict[str, Any]] = state.extras.setdefault("google_business_posts", {})
    return posts


@router.get("/v4/accounts/{account_id}/locations/{location_id}/localPosts")
async def list_local_posts(
    account_id: str,
    location_id: str,
    request: Request,
    page_size: int = Query(DEFAULT_PAGE_SIZE, alias="pageSize"),
    page_token: str = Query("", alias="pageToken"),
) -> JSONResponse:
    account = f"accounts/{account_id}"
    location = f"{account}/locations/{location_id}"
    if (refused := _authorize(request, account, location)) is not None:
        return refused
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        return google_error(400, f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
    start = _offset(page_token) if page_token else 0
    if start is None:
        return google_error(400, "Invalid page token")
    posts = [
        post
        for post in reversed(_stored(_state(request)).values())
        if post["name"].startswith(f"{location}/localPosts/")
    ]
    answer: dict[str, Any] = {}
    if page := posts[start : start + page_size]:
        answer["localPosts"] = page  # Google leaves an empty list out
    if start + page_size < len(posts):
        answer["nextPageToken"] = base64.urlsafe_b64encode(
            f"offset:{start + page_size}".encode()
        ).decode()
    return JSONResponse(answer)


def _offset(token: str) -> int | None:
    try:
        decoded = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = decoded.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None
