"""Page videos and reels as the sandbox's Graph keeps them (docs/platforms.md §1): what each
video is, how far it has processed, and how `GET /{video-id}?fields=status` shows it. The routes
are in sandbox/facebook.py; this module holds no route, so it imports nothing of it.

A video "processes" for PROCESSING_READS status reads, then is ready. A media URL whose file
name holds "broken" fails processing instead, with the error Graph reports, so a test can make
it fail without a control call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.state import SandboxState

PROCESSING_READS = 2
FAILING_NAME = "broken"
# (U) The error a failed encode lists in processing_phase.errors: Graph documents the field,
# not its codes; 1363008 is a video-upload subcode seen in the wild.
PROCESSING_ERROR = {"code": 1363008, "message": "The video file could not be processed."}


@dataclass
class Video:
    id: str
    page: str
    kind: str  # "video" (/videos) or "reel" (/video_reels)
    url: str | None = None  # the media URL Facebook fetched
    description: str = ""
    title: str | None = None
    reads: int = 0  # status reads since the upload, which is how far it has processed
    published: bool = False
    post_id: str | None = None  # the SandboxPost it became

    @property
    def failing(self) -> bool:
        return self.url is not None and FAILING_NAME in self.url.rsplit("/", 1)[-1]


def videos(state: SandboxState) -> dict[str, Video]:
    found: dict[str, Video] = state.extras.setdefault("facebook_videos", {})
    return found


def add(state: SandboxState, page: str, kind: str, **fields: Any) -> Video:
    video = Video(id=state.next_id(), page=page, kind=kind, **fields)
    videos(state)[video.id] = video
    return video


def status(video: Video) -> dict[str, Any]:
    """The video's `status` field; each read moves its processing on by one step."""
    video.reads += 1
    uploaded = video.url is not None
    upload = {"status": "complete" if uploaded else "not_started"}
    if not uploaded:  # a reel's session, started and not yet uploaded to
        return {
            "video_status": "processing",
            "uploading_phase": upload,
            "processing_phase": {"status": "not_started"},
            "publishing_phase": {"status": "not_started"},
        }
    if video.failing:
        phase: dict[str, Any] = {"status": "error", "errors": [PROCESSING_ERROR]}
        overall = "error"
    elif video.reads <= PROCESSING_READS:
        phase, overall = {"status": "in_progress"}, "processing"
    else:
        phase, overall = {"status": "complete"}, "ready"
    publishing = (
        {"status": "complete", "publish_status": "published"}
        if video.published
        else {"status": "not_started", "publish_status": "not_published"}
    )
    return {
        "video_status": overall,
        "uploading_phase": upload,
        "processing_phase": phase,
        "publishing_phase": publishing,
    }


def ready(video: Video) -> bool:
    return not video.failing and video.reads > PROCESSING_READS


def render(video: Video, fields: list[str]) -> dict[str, Any]:
    listed: dict[str, Any] = {
        "description": video.description,
        "title": video.title,
        "published": video.published,
        "permalink_url": permalink(video),
    }
    answer = {"id": video.id} | {k: v for k, v in listed.items() if k in fields}
    if "status" in fields:
        answer["status"] = status(video)
    return answer


def permalink(video: Video) -> str:
    """Graph's video permalink_url is a path on facebook.com (U), a reel's /reel/{id}."""
    if video.kind == "reel":
        return f"/reel/{video.id}"
    return f"/{video.page}/videos/{video.id}/"
