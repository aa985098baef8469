"""YouTube's resumable upload session (docs/platforms.md §10), as pure functions: the video
resource that opens it, the session URI it answers with, which answers are failures, how many
bytes a 308 says it holds, the request that sends the rest, and the video it names."""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import Credentials, PostContent, Preparation, Published
from providers.errors import AuthError, ContentError, TransientError
from providers.kit.error_table import ErrorTable
from providers.youtube_lookup import video_title

WATCH_URL = "https://www.youtube.com/watch?v={id}"
RESUME_INCOMPLETE = 308  # the session's "send the rest" answer, never a redirect here


def video_resource(content: PostContent, *, draft: bool) -> dict[str, Any]:
    """The snippet and status `prepare` sends; a draft is uploaded with privacyStatus private."""
    privacy = "private" if draft else str(content.options.get("privacy", "public"))
    return {
        "snippet": {
            "title": video_title(content),
            "description": content.text,
            "tags": list(content.options.get("tags", [])),
        },
        "status": {"privacyStatus": privacy, "selfDeclaredMadeForKids": False},
    }


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
