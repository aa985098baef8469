"""X's media uploads (docs/platforms.md §5), kept apart from providers/x.py because getting a
file to X is a job of its own: the v2 chunked upload (initialize, append in 1 MB segments,
finalize), alt text set afterwards as media metadata, and X's processing of videos and GIFs,
whose state (`processing_info`) must read "succeeded" before a tweet may carry the media. The
provider's `prepare` uploads through `XMedia.upload` and its `check` asks `XMedia.readiness`,
so the provider itself only says what to post and how to find it again.
"""

from __future__ import annotations

from datetime import timedelta

from providers.base import READY, Credentials, Readiness
from providers.errors import ContentError
from providers.kit.api import PlatformAPI
from providers.kit.media import MediaDownloads

CHUNK_BYTES = 1024 * 1024  # Postiz appends 1 MB segments
# docs/platforms.md §5 states no size limit; X's media upload takes at most 512 MB (a video;
# images 5 MB, GIFs 15 MB), so no download goes past that.
MAX_FILE_BYTES = 512 * 1024 * 1024


class XMedia:
    """Uploads for one provider, through its X API."""

    def __init__(self, api: PlatformAPI, media: MediaDownloads) -> None:
        self._api = api
        self._media = media

    async def upload(
        self, account: Credentials, url: str, alt: str | None = None
    ) -> tuple[str, bool]:
        """The media id, and whether X must still process it before a tweet may carry it."""
        media = await self._media.fetch(url, platform="x", max_bytes=MAX_FILE_BYTES)
        data, media_type = media.content, media.media_type()
        gif, video = media_type == "image/gif", media_type.startswith("video/")
        category = "tweet_gif" if gif else "tweet_video" if video else "tweet_image"
        init = {"media_type": media_type, "total_bytes": len(data), "media_category": category}
        started = await self._api.call("POST", "/2/media/upload/initialize", account, json=init)
        media_id = str(started["data"]["id"])
        upload = f"/2/media/upload/{media_id}"
        for index, offset in enumerate(range(0, len(data), CHUNK_BYTES)):
            segment = {"media": ("media", data[offset : offset + CHUNK_BYTES], media_type)}
            part = {"segment_index": str(index)}
            await self._api.call("POST", f"{upload}/append", account, data=part, files=segment)
        done = await self._api.call("POST", f"{upload}/finalize", account)
        info = done.get("data", {}).get("processing_info")
        if info and info.get("state") == "failed":
            raise ContentError(f"media refused: {info.get('error')}", platform="x", code=media_id)
        if alt and not video:
            # docs/platforms.md §5: alt text is media metadata, for images and GIFs only.
            metadata = {"id": media_id, "metadata": {"alt_text": {"text": alt}}}
            await self._api.call("POST", "/2/media/metadata", account, json=metadata)
        return media_id, bool(info) and info.get("state") != "succeeded"

    async def readiness(self, account: Credentials, processing: list[str]) -> Readiness:
        """Failed if X failed any of the `processing` media, ready once all have succeeded."""
        waits: list[int] = []
        for media_id in processing:
            params = {"command": "STATUS", "media_id": media_id}
            answer = await self._api.call("GET", "/2/media/upload", account, params=params)
            info = answer.get("data", {}).get("processing_info") or {"state": "succeeded"}
            if info.get("state") == "failed":
                error = info.get("error") or {}
                return Readiness(state="failed", reason=str(error.get("message") or error))
            if info.get("state") != "succeeded":
                waits.append(int(info.get("check_after_secs", 0)))
        if not waits:
            return READY
        wait = max(waits)  # 0: X named no time, so the workflow's own poll interval applies
        return Readiness(state="pending", check_after=timedelta(seconds=wait) if wait else None)
