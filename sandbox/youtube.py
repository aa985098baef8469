"""YouTube Data API v3 stand-in (docs/platforms.md §10): the resumable upload, videos.list,
search.list for the channel's own videos (`forMine`), the daily videos.insert quota and Google's
error shape.

A session keeps whatever bytes reached it, as Google's does, so a test can cut an upload short
and watch the provider resume it; `bytes */N` asks a session what it holds (308 + Range).

The upload's snippet and status are checked as YouTube checks them: an unknown categoryId is
refused (400 invalidCategoryId), the status switches must be booleans and the licence one of
YouTube's two. What arrived (with the notifySubscribers the upload asked for) stays on the
stored video (`YouTubeState.videos`, read whole at `/youtube/_control/videos/{id}`); videos.list
answers its snippet and status. A sample named
like `tall-1080x1920-30s.mp4` carries an MP4 `moov` header saying that frame and length.

commentThreads.insert and commentThreads.list (by videoId) serve top-level comments; each is
also a sandbox post of kind "comment" answering its video. A video declared made for kids takes
no comments (403 commentsDisabled), as on YouTube.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import struct
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.metrics_numbers import post_numbers
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/youtube", tags=["youtube"])

# videos.insert has its own bucket of 100 calls a day (current docs), reset at midnight Pacific.
# Module constants, so a test can lower them rather than upload 100 videos.
VIDEOS_INSERT_PER_DAY = 100
QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")
MAX_TITLE = 100
MAX_DESCRIPTION_BYTES = 5000
MAX_TAGS_CHARS = 500
PRIVACY = {"public", "private", "unlisted"}
UPLOAD_PATH = "/upload/youtube/v3/videos"
# Stand-in bytes (nothing here decodes them); the name is mixed in so each sample is distinct.
SAMPLE_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
SAMPLE_BYTES = 64 * 1024
MAX_SEARCH_RESULTS = 50  # search.list maxResults: 0 to 50, default 5
SEARCH_DESCRIPTION_CHARS = 160  # a search result's snippet cuts the description short
# search.list refuses these beside forMine (invalidSearchFilter), as the live API does.
NOT_WITH_FOR_MINE = ("publishedAfter", "publishedBefore", "videoDefinition", "videoDuration")
MAX_COMMENT_CHARS = 10_000  # (U): widely reported; the reference names only commentTextTooLong
MAX_THREAD_RESULTS = 100  # commentThreads.list maxResults: 1 to 100, default 20
# videoCategories.list's assignable ids for the US (U: as the API answers them); 22 is YouTube's
# default, People & Blogs.
CATEGORIES = {
    "1",
    "2",
    "10",
    "15",
    "17",
    "19",
    "20",
    "22",
    "23",
    "24",
    "25",
    "26",
    "27",
    "28",
    "29",
}
DEFAULT_CATEGORY = "22"
STATUS_SWITCHES = ("selfDeclaredMadeForKids", "containsSyntheticMedia", "embeddable")
LICENSES = {"youtube", "creativeCommon"}
SAMPLE_FRAME = re.compile(r"(\d+)x(\d+)-(\d+)s")


@dataclass
class UploadSession:
    id: str
    channel: str
    total: int
    content_type: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    notify_subscribers: bool = True
    received: bytearray = field(default_factory=bytearray)
    video: dict[str, Any] | None = None  # the resource, once every byte arrived


class YouTubeState:
    def __init__(self) -> None:
        self.sessions: dict[str, UploadSession] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.inserts: list[float] = []  # videos.insert calls, for the daily quota
        self.served: dict[str, str] = {}  # sha256 of sample bytes → the URL they were served at
        self.threads: dict[str, list[dict[str, Any]]] = {}  # video id → its comment threads


def _yt(request: Request) -> YouTubeState:
    state: SandboxState = request.app.state.sandbox
    found = state.extras.setdefault("youtube", YouTubeState())
    assert isinstance(found, YouTubeState)
    return found


def google_error(
    status: int, reason: str, message: str, *, domain: str = "youtube.video"
) -> JSONResponse:
    item = {"message": message, "domain": domain, "reason": reason}
    return JSONResponse(
        {"error": {"code": status, "message": message, "errors": [item]}}, status_code=status
    )


def unauthorized() -> JSONResponse:
    return google_error(
        401,
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        domain="global",
    )


def _channel(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    claims = token_claims(request, token)
    return claims.subject if claims is not None and claims.platform == "youtube" else None


def _since_pacific_midnight() -> float:
    now = datetime.now(QUOTA_TIMEZONE)
    return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def sample_bytes(name: str) -> bytes:
    head = b"\x00\x00\x00\x18ftypmp42" + name.encode()
    if frame := SAMPLE_FRAME.search(name):
        width, height, seconds = (int(group) for group in frame.groups())
        head = head[:24] + _moov(width, height, seconds) + head[24:]
    return head + bytes(index % 251 for index in range(SAMPLE_BYTES - len(head)))


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _moov(width: int, height: int, seconds: int) -> bytes:
    """An MP4 header saying this length (mvhd, version 0, milliseconds) and frame (tkhd, whose
    last 8 bytes are the width and height in 16.16 fixed point), as ISO/IEC 14496-12 lays out."""
    mvhd = bytes(12) + struct.pack(">II", 1000, seconds * 1000) + bytes(80)
    tkhd = bytes(76) + struct.pack(">II", width << 16, height << 16)
    return _box(b"moov", _box(b"mvhd", mvhd) + _box(b"trak", _box(b"tkhd", tkhd)))


@router.get("/media/{name}", include_in_schema=False)
async def sample_media(name: str, request: Request) -> Response:
    media_type = SAMPLE_TYPES.get(name.rsplit(".", 1)[-1].lower())
    if media_type is None:
        return Response(status_code=404)
    data = sample_bytes(name)
    _yt(request).served[hashlib.sha256(data).hexdigest()] = str(request.url)
    return Response(data, media_type=media_type)


@router.post(UPLOAD_PATH)
async def open_upload_session(request: Request) -> Response:
    if (channel := _channel(request)) is None:
        return unauthorized()
    params = request.query_params
    if params.get("uploadType") != "resumable":
        return google_error(400, "badRequest", "Only uploadType=resumable is served here.")
    if not {"snippet", "status"} <= set(params.get("part", "").split(",")):
        return google_error(400, "invalidPart", "part must name snippet and status.")
    length = request.headers.get("x-upload-content-length", "")
    content_type = request.headers.get("x-upload-content-type", "")
    if not length.isdigit() or int(length) <= 0:
        return google_error(400, "badContent", "X-Upload-Content-Length must be positive.")
    if not content_type.startswith("video/") and content_type != "application/octet-stream":
        return google_error(400, "invalidVideoType", "The uploaded file is not a video.")
    try:
        body = await request.json()
        snippet, status = dict(body["snippet"]), dict(body["status"])
    except (ValueError, KeyError, TypeError):
        return google_error(400, "badRequest", "The request body needs snippet and status.")
    if (refused := _refused_metadata(snippet, status)) is not None:
        return refused
    notify = params.get("notifySubscribers", "true")
    if notify not in ("true", "false"):
        return google_error(400, "invalidValue", "notifySubscribers must be a boolean.")
    yt = _yt(request)
    today = [t for t in yt.inserts if t >= _since_pacific_midnight()]
    if len(today) >= VIDEOS_INSERT_PER_DAY:
        return google_error(
            403,
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your quota.",
            domain="youtube.quota",
        )
    yt.inserts = [*today, time.time()]
    session = UploadSession(
        id=uuid.uuid4().hex,
        channel=channel,
        total=int(length),
        content_type=content_type,
        snippet=snippet,
        status=status,
        notify_subscribers=notify == "true",
    )
    yt.sessions[session.id] = session
    location = (
        f"{request.app.state.public_url}{router.prefix}{UPLOAD_PATH}"
        f"?uploadType=resumable&part=snippet,status&upload_id={session.id}"
    )
    return Response(status_code=200, headers={"Location": location})


def _refused_metadata(snippet: dict[str, Any], status: dict[str, Any]) -> JSONResponse | None:
    title, description = snippet.get("title"), snippet.get("description", "")
    tags = snippet.get("tags") or []
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        return google_error(400, "invalidTitle", "The request metadata specifies an invalid title.")
    if "<" in title or ">" in title:
        return google_error(400, "invalidTitle", "The request metadata specifies an invalid title.")
    if not isinstance(description, str) or "<" in description or ">" in description:
        return google_error(400, "invalidDescription", "The description is invalid.")
    if len(description.encode()) > MAX_DESCRIPTION_BYTES:
        return google_error(400, "invalidDescription", "The description is too long.")
    if not isinstance(tags, list) or sum(len(str(tag)) for tag in tags) > MAX_TAGS_CHARS:
        return google_error(400, "invalidTags", "The request metadata specifies invalid tags.")
    if status.get("privacyStatus") not in PRIVACY:
        return google_error(400, "invalidValue", "privacyStatus is invalid.", domain="global")
    return _refused_choices(snippet, status)


def _refused_choices(snippet: dict[str, Any], status: dict[str, Any]) -> JSONResponse | None:
    if str(snippet.get("categoryId", DEFAULT_CATEGORY)) not in CATEGORIES:
        return google_error(
            400,
            "invalidCategoryId",
            "The snippet.categoryId property specifies an invalid category ID.",
        )
    for name in (*STATUS_SWITCHES, "publicStatsViewable"):
        if not isinstance(status.get(name, False), bool):
            return google_error(400, "invalidValue", f"{name} must be a boolean.")
    if status.get("license", "youtube") not in LICENSES:
        return google_error(400, "invalidLicense", "The license is invalid.")
    language = snippet.get("defaultLanguage", "en")
    if not isinstance(language, str) or not language:
        return google_error(400, "invalidDefaultLanguage", "The defaultLanguage is invalid.")
    return None


@router.put(UPLOAD_PATH)
async def upload_bytes(request: Request, upload_id: str = "") -> Response:
    if (channel := _channel(request)) is None:
        return unauthorized()
    yt = _yt(request)
    session = yt.sessions.get(upload_id)
    if session is None:
        return google_error(404, "notFound", "Not Found", domain="global")
    if session.channel != channel:
        return google_error(403, "forbidden", "This session belongs to another channel.")
    content_range = request.headers.get("content-range", "")
    data = await request.body()
    if content_range == f"bytes */{session.total}" or session.video is not None:
        return _session_answer(session)
    if content_range:
        first, _, rest = content_range.removeprefix("bytes ").partition("-")
        last, _, total = rest.partition("/")
        if not (first.isdigit() and last.isdigit() and total == str(session.total)):
            return google_error(400, "badContent", f"Malformed Content-Range: {content_range}")
        if int(first) != len(session.received) or int(last) - int(first) + 1 < len(data):
            return google_error(400, "badContent", "Content-Range does not continue the upload.")
    elif session.received:
        return google_error(400, "badContent", "Resume with a Content-Range.")
    # A body shorter than the rest is a dropped connection: keep what arrived, as Google does.
    session.received += data[: session.total - len(session.received)]
    if len(session.received) == session.total:
        _create_video(request, yt, session)
    return _session_answer(session, created=True)


def _present(found: dict[str, Any], name: str) -> dict[str, Any]:
    return {name: found[name]} if name in found else {}


def _session_answer(session: UploadSession, *, created: bool = False) -> Response:
    if session.video is not None:
        video = {k: v for k, v in session.video.items() if k != "sandbox"}
        return JSONResponse(video, status_code=201 if created else 200)
    headers = {"Range": f"bytes=0-{len(session.received) - 1}"} if session.received else {}
    return Response(status_code=308, headers=headers)


def _create_video(request: Request, yt: YouTubeState, session: UploadSession) -> None:
    state: SandboxState = request.app.state.sandbox
    video_id = secrets.token_urlsafe(8)[:11]
    now = time.time()
    privacy = str(session.status["privacyStatus"])
    session.video = {
        "kind": "youtube#video",
        "etag": secrets.token_hex(8),
        "id": video_id,
        "snippet": {
            "publishedAt": datetime.fromtimestamp(now).astimezone().isoformat(),
            "channelId": session.channel,
            "title": session.snippet["title"],
            "description": session.snippet.get("description", ""),
            "tags": session.snippet.get("tags") or [],
            "categoryId": str(session.snippet.get("categoryId", DEFAULT_CATEGORY)),
        }
        | _present(session.snippet, "defaultLanguage"),
        "status": {
            "uploadStatus": "uploaded",
            "privacyStatus": privacy,
            "license": session.status.get("license", "youtube"),
            "embeddable": session.status.get("embeddable", True),
            "publicStatsViewable": session.status.get("publicStatsViewable", True),
            "selfDeclaredMadeForKids": session.status.get("selfDeclaredMadeForKids") is True,
        }
        # Whether YouTube answers it when never declared is not documented (U): only when sent.
        | _present(session.status, "containsSyntheticMedia"),
        # Not a field of the resource: what the upload asked, kept for a test to read back.
        "sandbox": {"notifySubscribers": session.notify_subscribers},
    }
    yt.videos[video_id] = session.video
    source = yt.served.get(hashlib.sha256(session.received).hexdigest(), f"upload:{session.id}")
    state.posts.append(
        SandboxPost(
            platform="youtube",
            account=session.channel,
            id=video_id,
            text=session.video["snippet"]["description"],
            media=[source],
            received_at=now,
            url=f"https://www.youtube.com/watch?v={video_id}",
            published=privacy != "private",
        )
    )


@router.get("/_control/videos/{video_id}", include_in_schema=False)
async def stored_video(video_id: str, request: Request) -> JSONResponse:
    """The video as stored, with what the upload asked beyond the resource (`sandbox`)."""
    video = _yt(request).videos.get(video_id)
    return JSONResponse(video) if video is not None else JSONResponse({}, status_code=404)


@router.get("/youtube/v3/videos")
async def list_videos(request: Request, part: str = "", id: str = "") -> JSONResponse:
    if (channel := _channel(request)) is None:
        return unauthorized()
    parts = {p for p in part.split(",") if p}
    if not parts:
        return google_error(400, "required", "No filter selected.", domain="global")
    items = []
    for video_id in (i for i in id.split(",") if i):
        video = _yt(request).videos.get(video_id)
        # A private video is visible to its own channel only, as the real list is.
        if video is None or (
            video["status"]["privacyStatus"] == "private"
            and video["snippet"]["channelId"] != channel
        ):
            continue
        item: dict[str, Any] = {"kind": "youtube#video", "etag": video["etag"], "id": video_id}
        if "processingDetails" in parts:
            item["processingDetails"] = {"processingStatus": "succeeded"}
        for name in parts & {"snippet", "status"}:
            item[name] = video[name]
        if "statistics" in parts:
            item["statistics"] = _statistics(request, video_id)
        if "status" in item:
            item["status"] = {**item["status"], "uploadStatus": "processed"}
        items.append(item)
    page = {"totalResults": len(items), "resultsPerPage": len(items)}
    return JSONResponse({"kind": "youtube#videoListResponse", "items": items, "pageInfo": page})


def _statistics(request: Request, video_id: str) -> dict[str, str]:
    """The video's counts now, growing with its age (sandbox/metrics_numbers.py): strings, as
    YouTube sends them (docs/platforms.md §16.10)."""
    state: SandboxState = request.app.state.sandbox
    post = next((p for p in state.posts if p.id == video_id), None)
    counts = post_numbers(video_id, time.time() - post.received_at if post else 0)
    return {
        "viewCount": str(counts["impressions"]),
        "likeCount": str(counts["likes"]),
        "favoriteCount": "0",  # always 0 since favourites became the Liked playlist
        "commentCount": str(counts["comments"]),
    }


@router.get("/youtube/v3/search")
async def search(request: Request) -> JSONResponse:
    """search.list with `forMine=true&type=video`, the one search crier makes: the channel's own
    videos, newest first, with the search snippet's HTML-escaped title and shortened
    description. Other searches are not served."""
    if (channel := _channel(request)) is None:
        return unauthorized()
    params = request.query_params
    if params.get("part") not in ("snippet", "id", "id,snippet", "snippet,id"):
        return google_error(400, "required", "Required parameter: part", domain="global")
    if params.get("forMine") != "true":
        return google_error(400, "badRequest", "The sandbox serves forMine searches only.")
    if params.get("type") != "video" or any(name in params for name in NOT_WITH_FOR_MINE):
        return google_error(
            400,
            "invalidSearchFilter",
            "The request contains an invalid combination of search filters and/or restrictions.",
            domain="youtube.search",
        )
    size = params.get("maxResults", "5")
    if not size.isdigit() or int(size) > MAX_SEARCH_RESULTS:
        return google_error(400, "invalidValue", "maxResults is out of range.", domain="global")
    start = _page_start(params.get("pageToken", ""))
    if start is None:
        return google_error(400, "invalidPageToken", "The pageToken is invalid.")
    mine = sorted(
        (v for v in _yt(request).videos.values() if v["snippet"]["channelId"] == channel),
        key=lambda v: datetime.fromisoformat(v["snippet"]["publishedAt"]),
        reverse=True,
    )
    page = mine[start : start + int(size)]
    answer: dict[str, Any] = {
        "kind": "youtube#searchListResponse",
        "etag": secrets.token_hex(8),
        "regionCode": "US",
        "pageInfo": {"totalResults": len(mine), "resultsPerPage": int(size)},
        "items": [_search_result(video) for video in page],
    }
    if start + int(size) < len(mine):
        answer["nextPageToken"] = base64.urlsafe_b64encode(
            f"s{start + int(size)}".encode()
        ).decode()
    return JSONResponse(answer)


def _page_start(token: str) -> int | None:
    if not token:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        return None
    digits = decoded.removeprefix("s")
    return int(digits) if decoded.startswith("s") and digits.isdigit() else None


def _search_result(video: dict[str, Any]) -> dict[str, Any]:
    snippet = video["snippet"]
    published = (
        datetime.fromisoformat(snippet["publishedAt"])
        .astimezone(UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    return {
        "kind": "youtube#searchResult",
        "etag": video["etag"],
        "id": {"kind": "youtube#video", "videoId": video["id"]},
        "snippet": {
            "publishedAt": published,
            "channelId": snippet["channelId"],
            "title": html.escape(snippet["title"]),
            "description": snippet["description"][:SEARCH_DESCRIPTION_CHARS],
            "thumbnails": {},
            "channelTitle": snippet["channelId"],
            "liveBroadcastContent": "none",
            "publishTime": published,
        },
    }


# Comment threads ------------------------------------------------------------------------------


def _commentable(request: Request, channel: str, video_id: str) -> dict[str, Any] | JSONResponse:
    """The video a thread goes on or is listed for, or the refusal commentThreads answers."""
    video = _yt(request).videos.get(video_id)
    if video is None or (
        video["status"]["privacyStatus"] == "private" and video["snippet"]["channelId"] != channel
    ):
        return google_error(
            404,
            "videoNotFound",
            "The video identified by the videoId parameter could not be found.",
            domain="youtube.commentThread",
        )
    if video["status"].get("selfDeclaredMadeForKids"):
        return google_error(
            403,
            "commentsDisabled",
            "The video identified by the videoId parameter has disabled comments.",
            domain="youtube.commentThread",
        )
    return video


@router.post("/youtube/v3/commentThreads")
async def insert_comment_thread(request: Request, part: str = "") -> JSONResponse:
    if (channel := _channel(request)) is None:
        return unauthorized()
    if "snippet" not in part.split(","):
        return google_error(400, "required", "Required parameter: part", domain="global")
    try:
        snippet = dict((await request.json())["snippet"])
        comment = dict(snippet.get("topLevelComment", {}).get("snippet", {}))
    except (ValueError, KeyError, TypeError, AttributeError):
        return google_error(400, "invalidCommentThreadMetadata", "The request metadata is invalid.")
    if not snippet.get("videoId"):
        return google_error(
            400, "channelOrVideoIdMissing", "The comment thread must be linked to a video."
        )
    video = _commentable(request, channel, str(snippet["videoId"]))
    if isinstance(video, JSONResponse):
        return video
    text = comment.get("textOriginal")
    if not isinstance(text, str) or not text.strip():
        return google_error(400, "commentTextRequired", "The comment text is required.")
    if len(text) > MAX_COMMENT_CHARS:
        return google_error(400, "commentTextTooLong", "The comment text is too long.")
    thread = _thread(video, channel, text)
    _yt(request).threads.setdefault(video["id"], []).append(thread)
    state: SandboxState = request.app.state.sandbox
    state.posts.append(
        SandboxPost(
            platform="youtube",
            account=channel,
            id=thread["id"],
            text=text,
            received_at=time.time(),
            url=f"https://www.youtube.com/watch?v={video['id']}&lc={thread['id']}",
            kind="comment",
            reply_to=video["id"],
        )
    )
    return JSONResponse(thread)


def _thread(video: dict[str, Any], channel: str, text: str) -> dict[str, Any]:
    """A commentThread resource as insert answers it: its id is its top-level comment's."""
    thread_id = "Ug" + secrets.token_urlsafe(18)[:24]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    owner, video_id = video["snippet"]["channelId"], video["id"]
    comment = {
        "authorDisplayName": channel,
        "authorChannelId": {"value": channel},
        "channelId": owner,
        "videoId": video_id,
        "textDisplay": html.escape(text),
        "textOriginal": text,
        "canRate": True,
        "viewerRating": "none",
        "likeCount": 0,
        "publishedAt": now,
        "updatedAt": now,
    }
    top = {"kind": "youtube#comment", "etag": secrets.token_hex(8), "id": thread_id}
    snippet = {"channelId": owner, "videoId": video_id, "canReply": True, "isPublic": True}
    return {
        "kind": "youtube#commentThread",
        "etag": secrets.token_hex(8),
        "id": thread_id,
        "snippet": snippet | {"topLevelComment": top | {"snippet": comment}, "totalReplyCount": 0},
    }


@router.get("/youtube/v3/commentThreads")
async def list_comment_threads(request: Request) -> JSONResponse:
    """commentThreads.list by `videoId`, the one filter crier uses: newest first (order=time,
    the default), with textDisplay as HTML unless textFormat=plainText."""
    if (channel := _channel(request)) is None:
        return unauthorized()
    params = request.query_params
    if not {"snippet", "id"} & set(params.get("part", "").split(",")):
        return google_error(400, "required", "Required parameter: part", domain="global")
    if not params.get("videoId"):
        return google_error(400, "missingRequiredParameter", "The sandbox lists by videoId only.")
    size = params.get("maxResults", "20")
    if not size.isdigit() or not 1 <= int(size) <= MAX_THREAD_RESULTS:
        return google_error(400, "invalidValue", "maxResults is out of range.", domain="global")
    if (start := _page_start(params.get("pageToken", ""))) is None:
        return google_error(400, "invalidPageToken", "The pageToken is invalid.")
    video = _commentable(request, channel, params["videoId"])
    if isinstance(video, JSONResponse):
        return video
    newest = list(reversed(_yt(request).threads.get(video["id"], [])))
    page = newest[start : start + int(size)]
    if params.get("textFormat") == "plainText":
        page = [_plain(thread) for thread in page]
    answer: dict[str, Any] = {
        "kind": "youtube#commentThreadListResponse",
        "etag": secrets.token_hex(8),
        "pageInfo": {"totalResults": len(newest), "resultsPerPage": int(size)},
        "items": page,
    }
    if start + int(size) < len(newest):
        token = f"s{start + int(size)}".encode()
        answer["nextPageToken"] = base64.urlsafe_b64encode(token).decode()
    return JSONResponse(answer)


def _plain(thread: dict[str, Any]) -> dict[str, Any]:
    top = thread["snippet"]["topLevelComment"]
    comment = top["snippet"] | {"textDisplay": top["snippet"]["textOriginal"]}
    snippet = thread["snippet"] | {"topLevelComment": top | {"snippet": comment}}
    return thread | {"snippet": snippet}
