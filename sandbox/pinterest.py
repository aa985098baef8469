"""Pinterest API v5 stand-in (docs/platforms.md §8): pins on the token's boards and the board's
pins listed back, the video media flow (register, presigned upload, processing status), the
user's account and boards, Pinterest's `{code, message}` errors and the per-user request limit.

A token's subject is either a user (`user:{username}`, what the OAuth flow in
sandbox/logins/pinterest.py grants), who may pin to their own boards, or a bare board id (a
token minted for one board, as `crier dev` seeds and the provider tests use), which may pin to
that board alone. A registered video's processing statuses can be
scripted through the control API, one per status read after the upload, as Instagram's
containers are: the sandbox runs on the wall clock and workflow tests do not, so reads are the
honest unit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.metrics_numbers import day_numbers
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/pinterest", tags=["pinterest"])
control = APIRouter(prefix="/_control/pinterest", tags=["control"])

# Standard access: 100 requests a second per user per app (docs/platforms.md §8). Module constants,
# so a test can lower them rather than send a hundred requests.
REQUESTS_PER_WINDOW = 100
WINDOW_SECONDS = 1.0
MAX_TITLE = 100
MAX_DESCRIPTION = 500
MAX_LINK = 2048
MAX_ALT_TEXT = 500
MAX_IMAGES = 5
STATUSES = ("registered", "processing", "succeeded", "failed")
MAX_PAGE_SIZE = 250  # GET /v5/boards and /v5/boards/{id}/pins: page_size 1 to 250, default 25
USER_PREFIX = "user:"


@dataclass(frozen=True)
class Board:
    id: str
    name: str


# The sandbox user (sandbox.oauth.DEFAULT_USER) is this Pinterest user, with two boards; anyone
# else (`sandbox_user=<name>`) is the user <name>, with two boards whose ids derive from it.
DEFAULT_USERNAME = "sandbox_pinner"
DEFAULT_BOARDS = (Board("900000000000000201", "Recipes"), Board("900000000000000202", "Travel"))
OTHER_BOARD_NAMES = ("Ideas", "Favourites")

# Sample media served at GET /pinterest/media/{name}, so uploads need no outside host. The PNG
# is a real 1x1 image; the MP4 is stand-in bytes (nothing here decodes them).
SAMPLE_MEDIA = {
    "png": (
        "image/png",
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP438AAAAQBAYDFKhhdAAAAAElFTkSuQmCC"
        ),
    ),
    "mp4": ("video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64),
}


@dataclass
class Media:
    id: str
    board: str  # the token subject that registered it: a board, or a user
    script: list[str] = field(default_factory=list)  # statuses for the next reads, then succeeded
    status: str = "registered"
    size: int = 0

    def read_status(self) -> str:
        if self.status in ("registered", "succeeded", "failed"):
            return self.status
        self.status = self.script.pop(0) if self.script else "succeeded"
        return self.status


class PinterestState:
    def __init__(self) -> None:
        self.media: dict[str, Media] = {}
        self.next_scripts: list[list[str]] = []
        self.calls: dict[str, list[float]] = {}  # subject → request times within the window
        self.pins: dict[str, dict[str, Any]] = {}  # pin id → the Pin as created, oldest first


def _pins(request: Request) -> PinterestState:
    state: SandboxState = request.app.state.sandbox
    found = state.extras.setdefault("pinterest", PinterestState())
    assert isinstance(found, PinterestState)
    return found


def error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def user_subject(username: str) -> str:
    return f"{USER_PREFIX}{username}"


def _numeric_id(*parts: str) -> str:
    """A stable 18-digit id, the shape of Pinterest's board and user ids."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return str(10**17 + int(digest, 16) % (9 * 10**17))


def username_of(subject: str) -> str:
    """The user a token acts for; a board token's owner is named after the board."""
    if subject.startswith(USER_PREFIX):
        return subject.removeprefix(USER_PREFIX)
    return f"board_{subject}"


def user_id_of(subject: str) -> str:
    return _numeric_id("user", username_of(subject))


def boards_of(subject: str) -> tuple[Board, ...]:
    """The boards a token may read and pin to."""
    if not subject.startswith(USER_PREFIX):
        return (Board(subject, f"Board {subject}"),)
    username = subject.removeprefix(USER_PREFIX)
    if username == DEFAULT_USERNAME:
        return DEFAULT_BOARDS
    return tuple(Board(_numeric_id("board", username, name), name) for name in OTHER_BOARD_NAMES)


def _authorize(request: Request) -> str | JSONResponse:
    """The subject the bearer token acts for (a user or a board), or the refusal; counts the
    request against the user's rate limit."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    claims = token_claims(request, token) if scheme.lower() == "bearer" else None
    if claims is None or claims.platform != "pinterest":
        return error(401, 2, "Authentication failed.")
    pins, now = _pins(request), time.time()
    recent = [t for t in pins.calls.get(claims.subject, []) if t > now - WINDOW_SECONDS]
    if len(recent) >= REQUESTS_PER_WINDOW:
        wait = math.ceil(recent[0] + WINDOW_SECONDS - now)
        return error(429, 8, "Rate limit exceeded.", headers={"Retry-After": str(max(wait, 1))})
    pins.calls[claims.subject] = [*recent, now]
    return claims.subject


def _upload_signature(secret: str, media_id: str) -> str:
    return hmac.new(secret.encode(), f"upload|{media_id}".encode(), hashlib.sha256).hexdigest()


@router.get("/media/{name}", include_in_schema=False)
async def sample_media(name: str) -> Response:
    kind = SAMPLE_MEDIA.get(name.rsplit(".", 1)[-1].lower())
    if kind is None:
        return Response(status_code=404)
    return Response(kind[1], media_type=kind[0])


@router.post("/v5/media")
async def register_media(request: Request) -> JSONResponse:
    subject = _authorize(request)
    if isinstance(subject, JSONResponse):
        return subject
    body = await request.json()
    if not isinstance(body, dict) or body.get("media_type") != "video":
        return error(400, 1, "Invalid request: media_type must be 'video'.")
    state: SandboxState = request.app.state.sandbox
    pins = _pins(request)
    media = Media(
        id=state.next_id(),
        board=subject,
        script=pins.next_scripts.pop(0) if pins.next_scripts else [],
    )
    pins.media[media.id] = media
    # Shaped like the S3 presigned form Pinterest hands out; the signature is what is checked.
    parameters = {
        "key": f"uploads/{media.id}",
        "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "x-amz-signature": _upload_signature(request.app.state.secret, media.id),
        "Content-Type": "multipart/form-data",
    }
    upload_url = f"{request.app.state.public_url}/pinterest/upload/{media.id}"
    answer = {
        "media_id": media.id,
        "media_type": "video",
        "upload_url": upload_url,
        "upload_parameters": parameters,
    }
    return JSONResponse(answer, status_code=201)


@router.post("/upload/{media_id}", include_in_schema=False)
async def upload(media_id: str, request: Request) -> Response:
    """The presigned upload: no bearer token, the form's own parameters authorize it."""
    media = _pins(request).media.get(media_id)
    form = await request.form()
    signature = str(form.get("x-amz-signature", ""))
    expected = _upload_signature(request.app.state.secret, media_id)
    if media is None or not hmac.compare_digest(signature, expected):
        return Response("<Error><Code>AccessDenied</Code></Error>", status_code=403)
    if form.get("key") != f"uploads/{media_id}" or media.status != "registered":
        return Response("<Error><Code>InvalidArgument</Code></Error>", status_code=400)
    file = form.get("file")
    if file is None or isinstance(file, str):
        return Response("<Error><Code>InvalidArgument</Code></Error>", status_code=400)
    media.size = len(await file.read())
    media.status = "processing"
    return Response(status_code=204)


@router.get("/v5/media/{media_id}")
async def read_media(media_id: str, request: Request) -> JSONResponse:
    subject = _authorize(request)
    if isinstance(subject, JSONResponse):
        return subject
    media = _pins(request).media.get(media_id)
    if media is None or media.board != subject:
        return error(404, 1, "Media upload not found.")
    answer = {"media_id": media.id, "media_type": "video", "status": media.read_status()}
    return JSONResponse(answer)


@router.get("/v5/user_account")
async def user_account(request: Request) -> JSONResponse:
    subject = _authorize(request)
    if isinstance(subject, JSONResponse):
        return subject
    username = username_of(subject)
    mine = {b.id for b in boards_of(subject)}
    account = {
        "account_type": "PINNER",
        "id": user_id_of(subject),
        "username": username,
        "profile_image": f"https://i.pinimg.example/75x75_RS/{username}.jpg",
        "website_url": "",
        "board_count": len(boards_of(subject)),
        # Counts now (docs/platforms.md §16.8): followers from sandbox/metrics_numbers.py.
        "follower_count": day_numbers(username, datetime.now(UTC).date())["followers"],
        "following_count": 0,
        "pin_count": sum(pin["board_id"] in mine for pin in _pins(request).pins.values()),
    }
    return JSONResponse(account)


@router.get("/v5/boards")
async def list_boards(
    request: Request, page_size: int = 25, bookmark: str | None = None
) -> JSONResponse:
    """The token's boards a page at a time; `bookmark` names the next page while there is one."""
    subject = _authorize(request)
    if isinstance(subject, JSONResponse):
        return subject
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        return error(400, 1, f"Invalid parameters: page_size must be 1 to {MAX_PAGE_SIZE}.")
    start = _offset(bookmark)
    if start is None:
        return error(400, 1, "Invalid parameters: bookmark is not valid.")
    boards = boards_of(subject)
    items = [
        {
            "id": board.id,
            "name": board.name,
            "description": "",
            "owner": {"username": username_of(subject)},
            "privacy": "PUBLIC",
        }
        for board in boards[start : start + page_size]
    ]
    return JSONResponse({"items": items, "bookmark": _next(start, page_size, len(boards))})


@router.get("/v5/boards/{board_id}/pins")
async def list_board_pins(
    board_id: str, request: Request, page_size: int = 25, bookmark: str | None = None
) -> JSONResponse:
    """The board's pins, newest first, a page at a time, as created (title, description,
    created_at, media type): what a reconciler reads back after a lost answer."""
    subject = _authorize(request)
    if isinstance(subject, JSONResponse):
        return subject
    if board_id not in {b.id for b in boards_of(subject)}:
        return error(404, 2, "Board not found.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        return error(400, 1, f"Invalid parameters: page_size must be 1 to {MAX_PAGE_SIZE}.")
    start = _offset(bookmark)
    if start is None:
        return error(400, 1, "Invalid parameters: bookmark is not valid.")
    pins = [pin for pin in reversed(_pins(request).pins.values()) if pin["board_id"] == board_id]
    page = pins[start : start + page_size]
    return JSONResponse({"items": page, "bookmark": _next(start, page_size, len(pins))})


def _offset(bookmark: str | None) -> int | None:
    """Where a bookmark resumes (0 without one); None when it is not one of ours."""
    if not bookmark:
        return 0
    try:
        start = int(base64.urlsafe_b64decode(bookmark.encode()).decode().removeprefix("o:"))
    except ValueError:
        return None
    return start if start >= 0 else None


def _next(start: int, page_size: int, total: int) -> str | None:
    """The bookmark of the page after this one, while there is one."""
    following = start + page_size
    return (
        base64.urlsafe_b64encode(f"o:{following}".encode()).decode() if following < total else None
    )


@router.post("/v5/pins")
async def create_pin(request: Request) -> JSONResponse:
    subject = _authorize(request)
    if isinstance(subject, JSONResponse):
        return subject
    body = await request.json()
    if not isinstance(body, dict):
        return error(400, 1, "Invalid request body.")
    board_id = body.get("board_id")
    if not isinstance(board_id, str) or not board_id.isdigit():
        return error(400, 1, "Invalid parameters: board_id must be a numeric string.")
    if board_id not in {b.id for b in boards_of(subject)}:
        return error(404, 2, "Board not found.")
    for name, limit in (
        ("title", MAX_TITLE),
        ("description", MAX_DESCRIPTION),
        ("link", MAX_LINK),
        ("alt_text", MAX_ALT_TEXT),
    ):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            return error(400, 1, f"Invalid parameters: {name} must be at most {limit} characters.")
    media, media_type, problem = _media_source(request, subject, body.get("media_source"))
    if problem is not None:
        return error(400, 1, problem)
    state: SandboxState = request.app.state.sandbox
    pin_id = state.next_id()
    url = f"https://www.pinterest.com/pin/{pin_id}/"
    state.posts.append(
        SandboxPost(
            platform="pinterest",
            account=board_id,
            id=pin_id,
            text=body.get("description") or "",
            media=media,
            link=body.get("link"),
            received_at=time.time(),
            url=url,
            alt=[body.get("alt_text")],  # one alt text for the pin's media (§8)
        )
    )
    pin = {
        "id": pin_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", ""),
        "board_id": board_id,
        "title": body.get("title"),
        "description": body.get("description"),
        "link": body.get("link"),
        "alt_text": body.get("alt_text"),
        "media": {"media_type": media_type},
    }
    _pins(request).pins[pin_id] = pin
    return JSONResponse(pin, status_code=201)


def _media_source(request: Request, subject: str, source: Any) -> tuple[list[str], str, str | None]:
    """What the pin shows (image URLs or the video's media id) and its media type, or why the
    source is refused."""
    if not isinstance(source, dict):
        return [], "", "Invalid parameters: media_source is required."
    kind = source.get("source_type")
    if kind == "image_url":
        url = source.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return [], "", "Invalid parameters: media_source.url must be an http(s) URL."
        return [url], "image", None
    if kind == "multiple_image_urls":
        items = source.get("items")
        if not isinstance(items, list) or not 2 <= len(items) <= MAX_IMAGES:
            return (
                [],
                "",
                f"Invalid parameters: items must hold 2 to {MAX_IMAGES} images (maxItems=5).",
            )
        urls = [str(item.get("url", "")) for item in items if isinstance(item, dict)]
        if len(urls) != len(items) or not all(u.startswith(("http://", "https://")) for u in urls):
            return [], "", "Invalid parameters: every item needs an http(s) url."
        return urls, "image", None
    if kind == "image_base64":
        if not source.get("content_type") or not source.get("data"):
            return [], "", "Invalid parameters: content_type and data are required."
        return ["base64"], "image", None
    if kind == "video_id":
        media = _pins(request).media.get(str(source.get("media_id", "")))
        if media is None or media.board != subject:
            return [], "", "Invalid parameters: media_id not found."
        if media.status != "succeeded":
            return [], "", f"Invalid parameters: the media upload is {media.status}, not succeeded."
        if "cover_image_url" not in source and "cover_image_key_frame_time" not in source:
            return [], "", "Invalid parameters: a video pin needs a cover image."
        return [media.id], "video", None
    return [], "", f"Invalid parameters: unknown source_type {kind!r}."


class MediaScript(BaseModel):
    statuses: list[str] = Field(
        description="statuses the next registered video answers, one per status read after its "
        'upload, e.g. ["processing", "processing", "succeeded"] or ["processing", "failed"]'
    )


@control.post("/next-media")
async def script_next_media(script: MediaScript, request: Request) -> JSONResponse:
    unknown = [s for s in script.statuses if s not in STATUSES]
    if unknown:
        return JSONResponse({"error": f"unknown statuses {unknown}"}, status_code=422)
    _pins(request).next_scripts.append(list(script.statuses))
    return JSONResponse({"data": script.model_dump()})


@control.get("/media")
async def list_media(request: Request) -> dict[str, Any]:
    media = _pins(request).media.values()
    data = [{"id": m.id, "board": m.board, "status": m.status, "size": m.size} for m in media]
    return {"data": data, "meta": {"count": len(data)}}
