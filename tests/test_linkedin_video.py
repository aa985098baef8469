"""LinkedIn video (the Videos API) against the sandbox over real HTTP: a file larger than one
part is uploaded in 4 MiB parts and finalized with their etags in `prepare`, `check` waits while
LinkedIn processes it (pending, then ready, or failed with LinkedIn's reason), and `publish`
posts it as the post's one media. A video beside an image is refused by the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.media_facts import MediaFacts
from api.services.media_rules import media_problems
from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.errors import ContentError
from providers.linkedin import API_VERSION, LinkedInProvider
from providers.linkedin_video import PROCESSING_CHECK_AFTER
from sandbox.linkedin_video import PART_BYTES
from tests.support import reconcile
from tests.support.servers import RunningSandbox

ORG = "urn:li:organization:123"
# Two whole parts and a short third.
SIZE = 2 * PART_BYTES + 1_000


def account(sandbox: RunningSandbox) -> Credentials:
    return reconcile.credentials(sandbox, Platform.LINKEDIN, ORG)


def video_url(sandbox: RunningSandbox, name: str = "clip", size: int = SIZE) -> str:
    return f"{sandbox.url}/linkedin/media/video/{name}.mp4?size={size}"


def rest_headers(creds: Credentials) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {creds.access_token}",
        "LinkedIn-Version": API_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }


provider = reconcile.provider_fixture(LinkedInProvider, "linkedin")


async def posted(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.LINKEDIN)


async def test_a_video_is_uploaded_in_parts_waited_for_then_posted(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    content = PostContent(text="Our launch film", media_urls=[video_url(sandbox)], title="Launch")

    prepared = await provider.prepare(creds, content)
    video = prepared.ids["video"]
    assert video.startswith("urn:li:video:")
    assert set(prepared.ids) == {"video"}  # ids only: no upload token crosses into history

    # Processing: the workflow is told to sleep and look again.
    pending = await provider.check(creds, prepared)
    assert (pending.state, pending.check_after) == ("pending", PROCESSING_CHECK_AFTER)
    with pytest.raises(ContentError, match="PROCESSING"):
        await provider.publish(creds, content, prepared)
    assert (await provider.check(creds, prepared)).state == "pending"
    assert (await provider.check(creds, prepared)).state == "ready"

    published = await provider.publish(creds, content, prepared)
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"], post["media"]) == (published.external_id, ORG, [video])
    read = f"/linkedin/rest/posts/{published.external_id}"
    stored = await sandbox_http.get(read, headers=rest_headers(creds))
    assert stored.json()["content"] == {"media": {"id": video, "title": "Launch"}}


async def test_the_sandbox_refuses_a_part_of_the_wrong_size_and_wrong_etags(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    creds = account(sandbox)
    headers = rest_headers(creds)
    request = {"owner": ORG, "fileSizeBytes": SIZE, "uploadCaptions": False}
    started = await sandbox_http.post(
        "/linkedin/rest/videos",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": request | {"uploadThumbnail": False}},
        headers=headers,
    )
    value = started.json()["value"]
    parts = value["uploadInstructions"]
    assert [(p["firstByte"], p["lastByte"]) for p in parts] == [
        (0, PART_BYTES - 1),
        (PART_BYTES, 2 * PART_BYTES - 1),
        (2 * PART_BYTES, SIZE - 1),
    ]
    auth = {"Authorization": headers["Authorization"]}
    short = await sandbox_http.put(parts[0]["uploadUrl"], content=b"x" * 10, headers=auth)
    assert short.status_code == 400

    finish = {"video": value["video"], "uploadToken": value["uploadToken"]}
    refused = await sandbox_http.post(
        "/linkedin/rest/videos",
        params={"action": "finalizeUpload"},
        json={"finalizeUploadRequest": finish | {"uploadedPartIds": ["made-up"]}},
        headers=headers,
    )
    assert refused.status_code == 400 and "uploadedPartIds" in refused.json()["message"]


async def test_failed_processing_ends_check_failed_with_linkedins_reason(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    # Declared video/mp4, but the bytes are no video: LinkedIn's processing fails.
    content = PostContent(text="Broken", media_urls=[video_url(sandbox, "broken", 5_000)])
    prepared = await provider.prepare(creds, content)

    states = [(await provider.check(creds, prepared)) for _ in range(3)]
    assert [s.state for s in states] == ["pending", "pending", "failed"]
    assert states[-1].reason == "The uploaded file is not a supported video (MP4)"
    with pytest.raises(ContentError, match="PROCESSING_FAILED"):
        await provider.publish(creds, content, prepared)
    assert await posted(sandbox_http) == []


async def test_a_video_beside_an_image_is_refused(
    sandbox: RunningSandbox, provider: LinkedInProvider
) -> None:
    urls = [f"{sandbox.url}/linkedin/media/photo.jpg", video_url(sandbox, size=5_000)]
    facts = {
        urls[0]: MediaFacts(kind="image", size=20, content_type="image/jpeg", format="JPEG"),
        urls[1]: MediaFacts(kind="video", size=5_000, content_type="video/mp4"),
    }
    found = media_problems(Platform.LINKEDIN, urls=urls, facts=facts, loc=["media_urls"])
    assert [p["loc"] for p in found] == [["media_urls", 1]]
    assert "must be the only media" in found[0]["msg"]

    # The provider refuses it too, should such a post ever reach it.
    with pytest.raises(ContentError, match="only media"):
        await provider.prepare(account(sandbox), PostContent(text="Both", media_urls=urls))


async def test_find_published_recognizes_the_video_post(
    sandbox: RunningSandbox, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    content = PostContent(text="Found again", media_urls=[video_url(sandbox, size=5_000)])
    prepared = await provider.prepare(creds, content)
    states = [(await provider.check(creds, prepared)).state for _ in range(3)]
    assert states == ["pending", "pending", "ready"]
    published = await provider.publish(creds, content, prepared)
    since = datetime.now(UTC) - timedelta(minutes=5)
    found = await provider.find_published(creds, content, prepared, since=since)
    assert found is not None and found.external_id == published.external_id
    other = Preparation(ids={"video": "urn:li:video:Dother"})
    assert await provider.find_published(creds, content, other, since=since) is None
