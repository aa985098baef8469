"""Facebook Page videos and reels (docs/platforms.md §1), the part of the Facebook provider that
waits: Facebook fetches the video from its URL and processes it, and the workflow sleeps
durably between status reads (`check`), as it does for Instagram's containers.

- A Page video is uploaded unpublished at `prepare` (`POST /{page-id}/videos`, `file_url`,
  `published=false`), watched by `GET /{video-id}?fields=status` until `video_status` is
  `ready`, and made public at `publish` by `POST /{video-id}` with `published=true` (U: the
  Video node's update is documented; publishing by it is what third parties report).
- A reel (`post_type: "reel"`) opens an upload session at `prepare` (`POST /{page-id}/video_reels`,
  `upload_phase=start`) and has Facebook fetch the file into it (a POST to the upload URL with a
  `file_url` header); `check` reads the upload's status; `publish` is the finish
  (`upload_phase=finish`, `video_state=PUBLISHED`), the call that makes it public.

A publish whose answer was lost is settled by the prepared video itself, which publishes at most
once: Graph says whether it is published (`published`, or a reel's `publishing_phase`). Its
creation time is the upload's, before the publish attempt began, so the Page's video lists,
filtered by time, would not find it; the id `prepare` kept does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from providers.base import Credentials, PostContent, Preparation, Published, Readiness
from providers.errors import ProviderError
from providers.kit.api import PlatformAPI

# Graph's video host for uploads; crier's own base URL otherwise (the sandbox serves both).
GRAPH_HOST = "graph.facebook.com"
UPLOAD_HOST = "rupload.facebook.com"
WEB = "https://www.facebook.com"


def is_reel(content: PostContent) -> bool:
    return content.options.get("post_type") == "reel"


def upload_url(base_url: str, video_id: str) -> str:
    """Where a reel's bytes go: rupload's `/video-upload/{version}/{video-id}`, beside the base
    URL's version (https://graph.facebook.com/v23.0 gives https://rupload.facebook.com/...)."""
    scheme, host, path, _, _ = urlsplit(base_url.rstrip("/"))
    prefix, _, version = path.rpartition("/")
    host = UPLOAD_HOST if host == GRAPH_HOST else host
    return urlunsplit((scheme, host, f"{prefix}/video-upload/{version}/{video_id}", "", ""))


class FacebookVideos:
    """Prepare, check, publish and find one Page video or reel, through the provider's API."""

    def __init__(self, api: PlatformAPI) -> None:
        self._api = api

    async def prepare(self, account: Credentials, content: PostContent) -> dict[str, Any]:
        """The ids `Preparation` keeps: the video's, and whether it is a reel."""
        url = content.media_urls[0]
        page = account.external_id
        if not is_reel(content):
            body: dict[str, Any] = {
                "file_url": url,
                "description": content.text,
                "published": False,
                "access_token": account.access_token,
            }
            if content.title:
                body["title"] = content.title
            created = await self._api.call("POST", f"/{page}/videos", None, json=body)
            return {"video": str(created["id"]), "reel": False}
        start = {"upload_phase": "start", "access_token": account.access_token}
        session = await self._api.call("POST", f"/{page}/video_reels", None, json=start)
        video_id = str(session["video_id"])
        # Facebook fetches the file itself, as for photos; the token rides in the OAuth header.
        target = upload_url(self._api.base, video_id)
        await self._api.call("POST", target, account, headers={"file_url": url})
        return {"video": video_id, "reel": True}

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        status = await self._status(account, prepared.ids["video"])
        phases = ("uploading_phase", "processing_phase")
        if status.get("video_status") == "error" or any(
            (status.get(p) or {}).get("status") == "error" for p in phases
        ):
            return Readiness(state="failed", reason=f"facebook: {_failure(status)}")
        if prepared.ids.get("reel"):
            # Before the finish a reel has only to be uploaded; Graph may process it after.
            uploaded = (status.get("uploading_phase") or {}).get("status") == "complete"
            processing = (status.get("processing_phase") or {}).get("status") == "in_progress"
            return Readiness(state="ready" if uploaded and not processing else "pending")
        # No hint from the platform: the workflow's media poll interval applies.
        return Readiness(state="ready" if status.get("video_status") == "ready" else "pending")

    async def publish(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, draft: bool
    ) -> Published:
        video_id = prepared.ids["video"]
        if prepared.ids.get("reel"):
            body = {
                "upload_phase": "finish",
                "video_id": video_id,
                # A draft reel waits in the Page's publishing tools (reels guide, video_state).
                "video_state": "DRAFT" if draft else "PUBLISHED",
                "description": content.text,
                "access_token": account.access_token,
            }
            await self._api.call("POST", f"/{account.external_id}/video_reels", None, json=body)
        elif not draft:  # a draft Page video is left as uploaded: unpublished
            body = {"published": True, "access_token": account.access_token}
            await self._api.call("POST", f"/{video_id}", None, json=body)
        return Published(external_id=video_id, url=await self._permalink(account, video_id))

    async def find_published(self, account: Credentials, prepared: Preparation) -> Published | None:
        """The prepared video, if a lost publish made it public."""
        video_id = prepared.ids["video"]
        params = {"fields": "published,status,permalink_url"}
        found = await self._api.call("GET", f"/{video_id}", account, params=params)
        if prepared.ids.get("reel"):
            phase = (found.get("status") or {}).get("publishing_phase") or {}
            live = phase.get("status") in ("in_progress", "complete")
        else:
            live = bool(found.get("published"))
        if not live:
            return None
        return Published(external_id=video_id, url=_web(found.get("permalink_url"), video_id))

    async def _status(self, account: Credentials, video_id: str) -> dict[str, Any]:
        params = {"fields": "status"}
        found = await self._api.call("GET", f"/{video_id}", account, params=params)
        status: dict[str, Any] = found.get("status") or {}
        return status

    async def _permalink(self, account: Credentials, video_id: str) -> str:
        # The video is public: a failed read must not fail (and so repeat) the publish.
        try:
            params = {"fields": "permalink_url"}
            found = await self._api.call("GET", f"/{video_id}", account, params=params)
            return _web(found.get("permalink_url"), video_id)
        except ProviderError:
            return _web(None, video_id)


def _failure(status: dict[str, Any]) -> str:
    """Graph's own words for a failed upload or encode, from the phase that failed."""
    for phase in ("uploading_phase", "processing_phase", "publishing_phase"):
        errors = (status.get(phase) or {}).get("errors") or []
        messages = [str(e.get("message")) for e in errors if isinstance(e, dict)]
        if messages:
            return f"the video failed to process ({'; '.join(messages)})"
    return "the video failed to process (no detail)"


def _web(permalink: object, video_id: str) -> str:
    """Graph gives a video's permalink_url as a path on facebook.com (U); whole URLs pass."""
    if not permalink:
        return f"{WEB}/{video_id}"
    text = str(permalink)
    return text if text.startswith(("http://", "https://")) else f"{WEB}{text}"
