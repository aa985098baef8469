"""Videos API stand-in (docs/platforms.md §4), joined to the LinkedIn router in sandbox/linkedin.py.

`initializeUpload` splits the declared size into 4 MiB parts (U), each with its own upload URL
on the sandbox; a part PUT must carry exactly its byte range and is answered with an `etag`;
`finalizeUpload` must name the upload token and every part's etag, in order. A finalized video
reads PROCESSING for PROCESSING_READS reads (`GET /rest/videos/{urn}`), then AVAILABLE, or
PROCESSING_FAILED with a reason when its bytes are not an ISO base-media file (no `ftyp` box):
a test makes processing fail by uploading such bytes. A post may name an AVAILABLE video alone,
in `content.media` (sandbox/linkedin.py `create_post`).

Sample videos for tests: `GET /linkedin/media/video/clip.mp4?size=N` (an MP4 header padded to
N bytes) and `/linkedin/media/video/broken.mp4?size=N` (N bytes that are no video).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from sandbox.linkedin import _authorize, _json, _state, _versioned, li_error

router: APIRouter = APIRouter(tags=["linkedin"])

PART_BYTES = 4 * 1024 * 1024
PROCESSING_READS = 2
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
NOT_A_VIDEO = "The uploaded file is not a supported video (MP4)"


def part_ranges(size: int) -> list[tuple[int, int]]:
    """Inclusive byte ranges of PART_BYTES each, the last one shorter."""
    return [(first, min(first + PART_BYTES, size) - 1) for first in range(0, size, PART_BYTES)]


def video_status(video: dict[str, Any]) -> str:
    """The video's state now; reading it (`read_video`) is what moves PROCESSING along."""
    if not video["finalized"]:
        return "WAITING_UPLOAD"
    if video["reads"] < PROCESSING_READS:
        return "PROCESSING"
    return "PROCESSING_FAILED" if video["failure"] else "AVAILABLE"


def _video(request: Request, urn: str) -> dict[str, Any] | None:
    video = _state(request).media.get(urn)
    if video is None or video.get("platform") != "linkedin" or video.get("kind") != "video":
        return None
    return video


@router.get("/media/video/{name}.mp4", include_in_schema=False)
async def sample_video(
    name: Literal["clip", "broken"], size: Annotated[int, Query(ge=32, le=64 * 1024 * 1024)]
) -> Response:
    head = MP4_HEAD if name == "clip" else b"not a video at all, just bytes."
    return Response(head + bytes(size - len(head)), media_type="video/mp4")


@router.post("/rest/videos")
async def video_action(request: Request, action: str = "") -> Response:
    if (refused := _versioned(request)) is not None:
        return refused
    body = await _json(request)
    if action == "initializeUpload":
        return await _initialize(request, body.get("initializeUploadRequest") or {})
    if action == "finalizeUpload":
        return await _finalize(request, body.get("finalizeUploadRequest") or {})
    return li_error(400, f"Unsupported action: {action or '(none)'}", code="BAD_REQUEST")


async def _initialize(request: Request, asked: dict[str, Any]) -> Response:
    owner = str(asked.get("owner", ""))
    if not owner:
        return li_error(422, "/initializeUploadRequest/owner :: field is required")
    size = asked.get("fileSizeBytes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        return li_error(
            422, "/initializeUploadRequest/fileSizeBytes :: a positive size is required"
        )
    if (refused := _authorize(request, owner, "POST /rest/videos")) is not None:
        return refused
    state = _state(request)
    urn = f"urn:li:video:D{state.next_id()}"
    parts = part_ranges(size)
    state.media[urn] = {
        "platform": "linkedin",
        "kind": "video",
        "owner": owner,
        "parts": parts,
        "etags": [None] * len(parts),
        "token": secrets.token_hex(8),
        "finalized": False,
        "reads": 0,
        "failure": None,
    }
    base = f"{request.app.state.public_url}/linkedin/video-uploads/{urn}"
    instructions = [
        {"uploadUrl": f"{base}/{index}", "firstByte": first, "lastByte": last}
        for index, (first, last) in enumerate(parts)
    ]
    value = {"video": urn, "uploadInstructions": instructions}
    return JSONResponse({"value": value | {"uploadToken": state.media[urn]["token"]}})


@router.put("/video-uploads/{urn}/{index}")
async def upload_part(urn: str, index: int, request: Request) -> Response:
    video = _video(request, urn)
    if video is None or not 0 <= index < len(video["parts"]) or video["finalized"]:
        return li_error(404, f"No upload pending for {urn} part {index}")
    if (refused := _authorize(request, video["owner"], "PUT upload")) is not None:
        return refused
    data = await request.body()
    first, last = video["parts"][index]
    if len(data) != last - first + 1:
        return li_error(400, f"Part {index} takes bytes {first}-{last}, got {len(data)} bytes")
    if index == 0 and data[4:8] != b"ftyp":
        video["failure"] = NOT_A_VIDEO
    etag = f"/sbx-video/{urn.rsplit(':', 1)[1]}/{index}/{hashlib.sha256(data).hexdigest()[:16]}"
    video["etags"][index] = etag
    return Response(status_code=200, headers={"ETag": etag})


async def _finalize(request: Request, asked: dict[str, Any]) -> Response:
    urn = str(asked.get("video", ""))
    video = _video(request, urn)
    if video is None:
        return li_error(404, f"Not found: {urn or '(no video)'}", code="NOT_FOUND")
    if (refused := _authorize(request, video["owner"], "POST /rest/videos")) is not None:
        return refused
    if asked.get("uploadToken") != video["token"]:
        return li_error(400, "/finalizeUploadRequest/uploadToken :: does not match the upload")
    if None in video["etags"] or asked.get("uploadedPartIds") != video["etags"]:
        return li_error(
            400, "/finalizeUploadRequest/uploadedPartIds :: must list every part's etag in order"
        )
    video["finalized"] = True
    return Response(status_code=200)


@router.get("/rest/videos/{urn}")
async def read_video(urn: str, request: Request) -> JSONResponse:
    if (refused := _versioned(request)) is not None:
        return refused
    video = _video(request, urn)
    if video is None:
        return li_error(404, f"Not found: {urn}", code="NOT_FOUND")
    if (refused := _authorize(request, video["owner"], f"GET /rest/videos/{urn}")) is not None:
        return refused
    status = video_status(video)
    if video["finalized"]:
        video["reads"] += 1
    answer: dict[str, Any] = {"id": urn, "owner": video["owner"], "status": status}
    if status == "PROCESSING_FAILED":
        answer["processingFailureReason"] = video["failure"]
    return JSONResponse(answer)
