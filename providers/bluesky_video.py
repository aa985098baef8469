"""Bluesky's media uploads (docs/platforms.md §7): images as blobs on the PDS, a video through
Bluesky's video service.

An image goes up with the PDS's `uploadBlob` and is usable at once. A video goes to the video
service, which transcodes it and answers a job: `prepare` starts it, `check` reads the job's
state (`getJobStatus`) between the workflow's durable sleeps, and `publish` reads the finished
job's blob and embeds it as `app.bsky.embed.video`. Nothing but the job id is kept between the
three, so no token crosses the workflow's history.

The video service takes a service token the PDS signs for the account (`getServiceAuth`):
audience the account's PDS's own did:web and method `com.atproto.repo.uploadBlob` for the
upload, since the service then writes the blob to that PDS. crier may talk to an entryway
(bsky.social) rather than the PDS itself, so the PDS is read from the account's DID document
(`describeRepo`); audience the service itself for
`getUploadLimits`, the account's daily allowance, read before each upload.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from core.media_fetch import is_video
from providers.base import Credentials, Readiness
from providers.errors import ContentError, RateLimitedError, TransientError
from providers.kit.api import PlatformAPI
from providers.kit.media import Media, MediaDownloads

VIDEO_SERVICE = "https://video.bsky.app"
VIDEO_SERVICE_DID = "did:web:video.bsky.app"
MAX_BLOB_BYTES = 2_000_000  # each image blob (docs/platforms.md §7)
# The video service's cap since March 2025 (100 MB, 3 minutes); the lexicon's own maxSize is
# larger (300 MB), so the service's is the one that binds (U).
MAX_VIDEO_BYTES = 100_000_000
COMPLETED, FAILED = "JOB_STATE_COMPLETED", "JOB_STATE_FAILED"
# The service names no wait; a short video is usually done within seconds (U).
CHECK_AFTER = timedelta(seconds=5)
SERVICE_TOKEN_TTL = 30 * 60  # seconds: long enough for a 100 MB upload
PART_VIDEO_CHECKS = 12  # a reply's video is waited for in the activity, at most this often
# The service refuses an upload beyond the day's allowance; its window is a day (U).
DAILY_WAIT = timedelta(hours=1)


def video_service_url(pds_url: str) -> str:
    """Bluesky's video service, whatever the PDS; a PDS served under a path (the sandbox's
    /bluesky) is a stand-in, and its video service stands beside it, at /video."""
    base = pds_url.rstrip("/")
    return f"{base}/video" if urlsplit(base).path.strip("/") else VIDEO_SERVICE


def pds_audience(pds_url: str) -> str:
    """The PDS's did:web, the audience of the upload's service token (a port is %3A-encoded,
    as did:web requires)."""
    return f"did:web:{quote(urlsplit(pds_url).netloc, safe='')}"


def the_video(media: list[Media]) -> Media | None:
    """The post's video: Bluesky embeds one video and nothing beside it (refused at create)."""
    if len(media) == 1 and is_video(media[0].url, media[0].content_type):
        return media[0]
    return None


def job_status(answer: dict[str, Any]) -> dict[str, Any]:
    """The job inside `{"jobStatus": ...}`; the live uploadVideo has answered it bare (U)."""
    found = answer.get("jobStatus", answer)
    return found if isinstance(found, dict) else {}


class BlueskyMedia:
    """Uploads for one provider: `pds` is its XRPC API on the account's PDS."""

    def __init__(
        self, http: httpx.AsyncClient, pds: PlatformAPI, pds_url: str, media: MediaDownloads
    ) -> None:
        self._pds = pds
        self._service = PlatformAPI(http, video_service_url(pds_url), pds.errors)
        self._pds_url = pds_url
        self._media = media

    async def fetch(self, urls: list[str]) -> list[Media]:
        """Each file, read no further than its kind allows: a lone video (named so by its URL)
        up to a video's size, anything else up to an image blob's, so an endless or huge
        "image" costs at most 2 MB."""
        lone_video = len(urls) == 1 and is_video(urls[0], None)
        cap = MAX_VIDEO_BYTES if lone_video else MAX_BLOB_BYTES
        return [await self._media.fetch(url, platform="bluesky", max_bytes=cap) for url in urls]

    async def upload_image(self, account: Credentials, image: Media) -> dict[str, Any]:
        uploaded = await self._pds.call(
            "POST",
            "/xrpc/com.atproto.repo.uploadBlob",
            account,
            content=image.content,
            headers={"Content-Type": image.media_type("image/jpeg")},
        )
        blob: dict[str, Any] = uploaded["blob"]
        return blob

    async def upload_video(self, account: Credentials, video: Media) -> str:
        """Starts the video service's job for `video`; its id."""
        await self._check_allowance(account, len(video.content))
        audience = await self._pds_audience(account)
        token = await self._service_token(account, audience, "com.atproto.repo.uploadBlob")
        name = urlsplit(video.url).path.rsplit("/", 1)[-1] or "video.mp4"
        answer = await self._service.call(
            "POST",
            "/xrpc/app.bsky.video.uploadVideo",
            token,
            params={"did": account.external_id, "name": name},
            content=video.content,
            headers={"Content-Type": video.media_type("video/mp4")},
        )
        job = job_status(answer)
        if job.get("state") == FAILED:
            raise ContentError(f"video refused: {reason(job)}", platform="bluesky")
        return str(job["jobId"])

    async def readiness(self, job_id: str) -> Readiness:
        job = await self._job(job_id)
        if job.get("state") == FAILED:
            return Readiness(state="failed", reason=reason(job))
        if job.get("state") == COMPLETED and job.get("blob"):
            return Readiness(state="ready")
        return Readiness(state="pending", check_after=CHECK_AFTER)

    async def blob(self, job_id: str) -> dict[str, Any]:
        """The finished job's video blob; `check` said ready before `publish` asks."""
        job = await self._job(job_id)
        if job.get("state") == FAILED:
            raise ContentError(f"video refused: {reason(job)}", platform="bluesky")
        blob = job.get("blob")
        if job.get("state") != COMPLETED or not isinstance(blob, dict):
            message = "the video is still processing"
            raise TransientError(message, platform="bluesky", maybe_sent=False)
        return blob

    async def ready_blob(self, account: Credentials, video: Media) -> dict[str, Any]:
        """A reply's video, uploaded and waited for here: a part has no prepare step."""
        job_id = await self.upload_video(account, video)
        for _ in range(PART_VIDEO_CHECKS):
            if (await self.readiness(job_id)).state != "pending":
                return await self.blob(job_id)
            await asyncio.sleep(CHECK_AFTER.total_seconds())
        # Nothing was posted: the next try uploads afresh.
        message = "the part's video is still processing"
        raise TransientError(message, platform="bluesky", maybe_sent=False)

    async def _pds_audience(self, account: Credentials) -> str:
        """The did:web of the PDS the account's DID document names, else of ours."""
        params = {"repo": account.external_id}
        repo = await self._pds.call(
            "GET", "/xrpc/com.atproto.repo.describeRepo", None, params=params
        )
        services = (repo.get("didDoc") or {}).get("service") or []
        for service in services if isinstance(services, list) else []:
            if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
                return pds_audience(str(service.get("serviceEndpoint", "")))
        return pds_audience(self._pds_url)

    async def _job(self, job_id: str) -> dict[str, Any]:
        params = {"jobId": job_id}  # public: the job id is the only key
        answer = await self._service.call(
            "GET", "/xrpc/app.bsky.video.getJobStatus", None, params=params
        )
        return job_status(answer)

    async def _check_allowance(self, account: Credentials, size: int) -> None:
        """Refuses early when the day's video allowance (count or bytes) is spent."""
        token = await self._service_token(
            account, VIDEO_SERVICE_DID, "app.bsky.video.getUploadLimits"
        )
        limits = await self._service.call("GET", "/xrpc/app.bsky.video.getUploadLimits", token)
        bytes_left = limits.get("remainingDailyBytes")
        if limits.get("canUpload") is False or (isinstance(bytes_left, int) and bytes_left < size):
            message = str(limits.get("message") or "the day's video upload allowance is spent")
            raise RateLimitedError(
                message, platform="bluesky", code="upload_limit", retry_after=DAILY_WAIT
            )

    async def _service_token(self, account: Credentials, audience: str, method: str) -> Credentials:
        """The account acting at the video service, with a token the PDS signed for `method`."""
        params = {"aud": audience, "lxm": method, "exp": int(time.time()) + SERVICE_TOKEN_TTL}
        answer = await self._pds.call(
            "GET", "/xrpc/com.atproto.server.getServiceAuth", account, params=params
        )
        return Credentials(external_id=account.external_id, access_token=str(answer["token"]))


def reason(job: dict[str, Any]) -> str:
    """The service's own words for a failed job."""
    return str(job.get("message") or job.get("error") or "the video service failed the job")
