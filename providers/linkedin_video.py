"""LinkedIn video through the Videos API (docs/platforms.md §4).

`initializeUpload` declares the file's size and answers the video's URN, an upload token and
instructions: byte ranges (parts of 4 MB (U)), each with its own upload URL. Each part's bytes
are PUT to its URL, and every answer's `etag` names that part; `finalizeUpload` lists those
etags in order. LinkedIn then processes the video: `GET /rest/videos/{urn}` says PROCESSING
until AVAILABLE (or PROCESSING_FAILED), and a post naming a video not yet AVAILABLE is refused,
so `check` waits, the workflow sleeping durably between reads as for Instagram's containers.

The upload token is used within `prepare` and never kept: `Preparation.ids` holds the URN only.
A post carries one video and nothing beside it (`content.media`), hence `video_alone`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from providers.base import READY, Credentials, PostContent, Readiness
from providers.errors import ContentError, TransientError
from providers.kit.api import PlatformAPI, bearer
from providers.kit.media import Media, MediaDownloads
from providers.linkedin_images import images_ready, upload_image
from providers.linkedin_lookup import post_body

# 500 MB, as API clients' media guides give it; others say 200 MB or 5 GB (U). The worker's
# own ceiling applies below it.
MAX_VIDEO_BYTES = 500_000_000
# Encoding a video takes longer than an image's processing.
PROCESSING_CHECK_AFTER = timedelta(seconds=10)
# A media's processing status by its REST path, or None when the token may not read it.
StatusRead = Callable[[str], Awaitable[dict[str, Any] | None]]


async def upload_media(
    api: PlatformAPI, downloads: MediaDownloads, account: Credentials, urls: list[str]
) -> dict[str, Any]:
    """`prepare`'s ids: the images' URNs, or the one video's. Each file is fetched through the
    worker's guarded fetcher, and its bytes say which API takes it."""
    images: list[str] = []
    for url in urls:
        media = await downloads.fetch(url, platform="linkedin", max_bytes=MAX_VIDEO_BYTES)
        if not is_video(media):
            images.append(await upload_image(api, account, media))
        elif len(urls) > 1:
            raise ContentError("a video must be the post's only media", platform="linkedin")
        else:
            return {"video": await upload_video(api, account, media)}
    return {"images": images}


async def media_ready(read: StatusRead, ids: Mapping[str, Any]) -> Readiness:
    """`check`: the video's or the images' processing; a status that cannot be read leaves
    the answer to publish."""
    if video := ids.get("video"):
        status = await read(f"/videos/{quote(video, safe='')}")
        return READY if status is None else video_ready(status)
    statuses = []
    for image in ids.get("images", []):
        if (status := await read(f"/images/{quote(image, safe='')}")) is None:
            return READY
        statuses.append(status)
    return images_ready(statuses)


# ISO base-media brands of still images (HEIF, AVIF), which also open with an `ftyp` box.
IMAGE_BRANDS = frozenset({b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"})


def is_video(media: Media) -> bool:
    """Declared video/*, or an ISO base-media file (MP4, MOV: an `ftyp` box first) that is no
    HEIF or AVIF image."""
    head = media.content[:12]
    return media.media_type().startswith("video/") or (
        head[4:8] == b"ftyp" and head[8:12] not in IMAGE_BRANDS
    )


async def upload_video(api: PlatformAPI, account: Credentials, video: Media) -> str:
    """The video's URN, once every part is uploaded and the upload finalized."""
    request = {
        "initializeUploadRequest": {
            "owner": account.external_id,
            "fileSizeBytes": len(video.content),
            "uploadCaptions": False,
            "uploadThumbnail": False,
        }
    }
    started = await api.call(
        "POST", "/videos", account, params={"action": "initializeUpload"}, json=request
    )
    value = started["value"]
    etags = [
        await _upload_part(api, account, video.content, part)
        for part in value["uploadInstructions"]
    ]
    finish = {
        "finalizeUploadRequest": {
            "video": value["video"],
            "uploadToken": value.get("uploadToken", ""),
            "uploadedPartIds": etags,
        }
    }
    await api.call("POST", "/videos", account, params={"action": "finalizeUpload"}, json=finish)
    return str(value["video"])


async def _upload_part(
    api: PlatformAPI, account: Credentials, content: bytes, part: dict[str, Any]
) -> str:
    """PUTs the part's byte range (firstByte to lastByte, inclusive); its answer's etag."""
    first, last = int(part["firstByte"]), int(part["lastByte"])
    # The upload URL takes the token but not the REST version headers, as for images.
    headers = {**bearer(account), "Content-Type": "application/octet-stream"}
    answer = await api.answer(
        "PUT", part["uploadUrl"], None, headers=headers, content=content[first : last + 1]
    )
    etag = answer.headers.get("etag")
    if not etag:
        # Finalizing needs every part's etag; a new prepare uploads the video again.
        raise TransientError("a video part answered without an etag", platform="linkedin")
    return str(etag)


def video_ready(status: dict[str, Any]) -> Readiness:
    """Failed with LinkedIn's reason, ready once AVAILABLE, else pending."""
    if status.get("status") == "PROCESSING_FAILED":
        reason = status.get("processingFailureReason") or "video processing failed"
        return Readiness(state="failed", reason=str(reason))
    if status.get("status") == "AVAILABLE":
        return READY
    return Readiness(state="pending", check_after=PROCESSING_CHECK_AFTER)


def media_post_body(author: str, content: PostContent, ids: Mapping[str, Any]) -> dict[str, Any]:
    """The post `publish` sends for what `prepare` uploaded: its images, or the video as its
    one media (with the post's title, if any)."""
    body = post_body(author, content, ids.get("images") or None)
    if not (video := ids.get("video")):
        return body
    media = {"id": video} | ({"title": content.title} if content.title else {})
    return body | {"content": {"media": media}}
