"""YouTube's resumable upload session (docs/platforms.md §10), as pure functions: the video
resource that opens it, the session URI it answers with, which answers are failures, how many
bytes a 308 says it holds, the request that sends the rest, and the video it names.

A Short has no flag in the API: YouTube files a square or vertical video of at most three
minutes as one (U: its Shorts help). So `post_type: "short"` checks what an MP4's own header
says (`moov`: `mvhd` for the length, `tkhd` for the frame) before anything is uploaded, and
adds nothing to the title or description: the `#Shorts` hashtag was advice from before that
rule (U), and crier does not rewrite the caller's text.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import httpx

from providers.base import Credentials, PostContent, Preparation, Published
from providers.errors import AuthError, ContentError, TransientError
from providers.kit.error_table import ErrorTable
from providers.youtube_lookup import video_title

WATCH_URL = "https://www.youtube.com/watch?v={id}"
RESUME_INCOMPLETE = 308  # the session's "send the rest" answer, never a redirect here
MAX_SHORT_SECONDS = 180  # (U) YouTube's Shorts help, since October 2024; 60 before


def video_resource(content: PostContent, *, draft: bool) -> dict[str, Any]:
    """The snippet and status `prepare` sends; a draft is uploaded with privacyStatus private.
    Every upload declares selfDeclaredMadeForKids (COPPA), false unless the options say so."""
    options = content.options
    privacy = "private" if draft else str(options.get("privacy", "public"))
    snippet: dict[str, Any] = {
        "title": video_title(content),
        "description": content.text,
        "tags": list(options.get("tags", [])),
    }
    status: dict[str, Any] = {
        "privacyStatus": privacy,
        "selfDeclaredMadeForKids": bool(options.get("made_for_kids", False)),
    }
    # Left out, YouTube's own defaults hold (category 22, embeddable, and so on).
    given = {
        "categoryId": (snippet, options.get("category_id")),
        "defaultLanguage": (snippet, options.get("default_language")),
        "containsSyntheticMedia": (status, options.get("contains_synthetic_media")),
        "embeddable": (status, options.get("embeddable")),
        "publicStatsViewable": (status, options.get("public_stats_viewable")),
        "license": (status, options.get("license")),
    }
    for name, (part, value) in given.items():
        if value is not None:
            part[name] = value
    return {"snippet": snippet, "status": status}


def upload_params(content: PostContent) -> dict[str, str]:
    """videos.insert's query: a resumable upload of snippet and status, and whether
    subscribers hear of it (notifySubscribers, YouTube's default true)."""
    params = {"uploadType": "resumable", "part": "snippet,status"}
    if "notify_subscribers" in content.options:
        params["notifySubscribers"] = str(content.options["notify_subscribers"]).lower()
    return params


def short_problem(content: PostContent, data: bytes) -> str | None:
    """Why this video would not be filed as a Short, when it is meant as one and its header
    says (None: fine, or not a header crier reads, which YouTube then judges alone)."""
    if content.options.get("post_type") != "short":
        return None
    seconds, width, height = mp4_facts(data)
    if width and height and width > height:
        return f"a Short is square or vertical; this video is {width}\u00d7{height}"
    if seconds is not None and seconds > MAX_SHORT_SECONDS:
        return f"a Short runs at most {MAX_SHORT_SECONDS} seconds; this video runs {seconds:g}"
    return None


def mp4_facts(data: bytes) -> tuple[float | None, int, int]:
    """An MP4's length in seconds (`mvhd`) and its largest track frame (`tkhd`), as far as
    its `moov` box says; (None, 0, 0) when it has none."""
    seconds, width, height = None, 0, 0
    for kind, body in _boxes(memoryview(data)):  # a view: the media box is never copied
        if kind != b"moov":
            continue
        for inner, content in _boxes(body):
            if inner == b"mvhd":
                seconds = _mvhd_seconds(content)
            elif inner == b"trak":
                for leaf, header in _boxes(content):
                    if leaf == b"tkhd" and len(header) >= 8:
                        # The frame is the header's last 8 bytes, each side 16.16 fixed point.
                        w, h = struct.unpack(">II", header[-8:])
                        width, height = max(width, w >> 16), max(height, h >> 16)
    return seconds, width, height


def _mvhd_seconds(body: memoryview) -> float | None:
    version = body[0] if body else None
    if version == 0 and len(body) >= 20:
        scale, duration = struct.unpack(">II", body[12:20])
    elif version == 1 and len(body) >= 32:
        scale, duration = struct.unpack(">IQ", body[20:32])
    else:
        return None
    return duration / scale if scale else None


def _boxes(data: memoryview) -> Iterator[tuple[bytes, memoryview]]:
    """The boxes at one level: (type, body); a box too short or running past the end ends it."""
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        start = at + 8
        if size == 1 and at + 16 <= len(data):  # a 64-bit size follows the type
            size, start = struct.unpack(">Q", data[at + 8 : at + 16])[0], at + 16
        elif size == 0:  # the box runs to the end
            size = len(data) - at
        if size < start - at or at + size > len(data):
            return
        yield kind, data[start : at + size]
        at += size


def session_uri(opened: httpx.Response, account: Credentials) -> str:
    """The session URI the opening call answers with, which must carry no credential."""
    session = opened.headers.get("location")
    if not session:
        raise TransientError("the upload session answered without a Location", platform="youtube")
    if account.access_token in session or "access_token=" in session:
        # The Preparation is written to Temporal history, where no credential may go.
        raise AuthError("the upload session URI carries a credential", platform="youtube")
    return str(session)


def video_type(media_type: str) -> str:
    """The media type, when it may be a video (YouTube takes video only)."""
    if not media_type.startswith("video/") and media_type != "application/octet-stream":
        raise ContentError(f"YouTube takes video only, not {media_type}", platform="youtube")
    return media_type


def session_answer(method: str, response: httpx.Response, errors: ErrorTable) -> httpx.Response:
    """The answer itself when a success or a 308, else the error it means."""
    if response.is_success or response.status_code == RESUME_INCOMPLETE:
        return response
    if method == "PUT" and response.status_code in (404, 410):
        # Sessions expire (about a week); a new one needs a new prepare.
        raise ContentError(
            "the upload session expired", platform="youtube", http_status=response.status_code
        )
    raise errors.error(response)


def received_bytes(response: httpx.Response) -> int:
    """How many bytes a 308 says the session holds: `Range: bytes=0-N`, absent when none."""
    raw = response.headers.get("range", "")
    _, _, last = raw.partition("-")
    return int(last) + 1 if last.strip().isdigit() else 0


def the_rest(data: bytes, prepared: Preparation, offset: int) -> tuple[dict[str, str], bytes]:
    """The headers and bytes that finish the upload from `offset`, the session holding the
    bytes before it; the media must be the length `prepare` announced."""
    total = int(prepared.ids["bytes"])
    if len(data) != total:
        raise ContentError(
            f"the media changed since prepare ({len(data)} bytes, not {total})",
            platform="youtube",
        )
    headers = {"Content-Type": str(prepared.ids["type"])}
    if offset:
        headers["Content-Range"] = f"bytes {offset}-{total - 1}/{total}"
    return headers, data[offset:]


def published(response: httpx.Response) -> Published:
    try:
        video_id = str(response.json()["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TransientError(
            f"the upload finished without a video id (HTTP {response.status_code})",
            platform="youtube",
        ) from exc
    return Published(external_id=video_id, url=WATCH_URL.format(id=video_id))
