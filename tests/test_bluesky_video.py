"""Bluesky video: the provider against the sandbox's PDS and video service over real HTTP.

prepare starts the video service's job, check reads it until done, publish embeds the blob.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.media_facts import MediaFacts
from api.services.media_rules import media_problems
from core.status import Platform
from providers.base import Credentials, PostContent
from providers.bluesky import BlueskyProvider
from providers.bluesky_video import pds_audience, video_service_url
from providers.errors import RateLimitedError
from tests.support import reconcile
from tests.support.servers import RunningSandbox

DID = "did:plc:sandboxalice"


account = reconcile.account_fixture(Platform.BLUESKY, DID)
provider = reconcile.provider_fixture(BlueskyProvider, "bluesky")


async def posts(sandbox_http: httpx.AsyncClient) -> list[dict[str, object]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.BLUESKY)


def test_the_video_service_and_audience_follow_the_pds() -> None:
    assert video_service_url("https://bsky.social") == "https://video.bsky.app"
    assert video_service_url("http://127.0.0.1:9/bluesky") == "http://127.0.0.1:9/bluesky/video"
    assert pds_audience("https://morel.us-east.host.bsky.network") == (
        "did:web:morel.us-east.host.bsky.network"
    )
    assert pds_audience("http://127.0.0.1:9/bluesky") == "did:web:127.0.0.1%3A9"


async def test_a_video_is_prepared_waited_for_and_posted_with_its_alt(
    provider: BlueskyProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    url = f"{sandbox.url}/samples/video/clip.mp4"
    content = PostContent(text="A clip", media_urls=[url], media_alt=["Waves on a beach"])
    prepared = await provider.prepare(account, content)
    assert set(prepared.ids) == {"rkey", "video_job"}  # ids only, no token

    first = await provider.check(account, prepared)
    assert first.state == "pending" and first.check_after is not None
    assert (await provider.check(account, prepared)).state == "pending"
    assert (await provider.check(account, prepared)).state == "ready"

    published = await provider.publish(account, content, prepared)
    [post] = await posts(sandbox_http)
    assert post["id"] == published.external_id and post["text"] == "A clip"
    assert len(post["media"]) == 1  # type: ignore[arg-type]
    assert post["alt"] == ["Waves on a beach"]
    # Reconciliation finds it by its key, the video embed matched.
    assert await provider.find_published(account, content, prepared, since=_long_ago()) == (
        published
    )


async def test_a_failed_job_ends_check_failed_with_the_services_reason(
    provider: BlueskyProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = PostContent(text="Broken", media_urls=[f"{sandbox.url}/samples/video/fail-me.mp4"])
    prepared = await provider.prepare(account, content)
    states = [await provider.check(account, prepared) for _ in range(3)]
    assert [s.state for s in states] == ["pending", "pending", "failed"]
    assert "failed to process" in (states[-1].reason or "")
    assert await posts(sandbox_http) == []


async def test_image_and_text_posts_prepare_as_before(
    provider: BlueskyProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = PostContent(text="Photo", media_urls=[f"{sandbox.url}/samples/image/64x64.jpg"])
    prepared = await provider.prepare(account, content)
    assert len(prepared.ids["blobs"]) == 1 and "video_job" not in prepared.ids
    assert (await provider.check(account, prepared)).state == "ready"
    await provider.publish(account, content, prepared)
    text_only = PostContent(text="Words")
    assert (await provider.check(account, await provider.prepare(account, text_only))).state == (
        "ready"
    )
    [post] = await posts(sandbox_http)
    assert len(post["media"]) == 1  # type: ignore[arg-type]


def test_a_video_beside_an_image_is_refused_at_create() -> None:
    video = MediaFacts(kind="video", size=4096, content_type="video/mp4")
    image = MediaFacts(
        kind="image", size=2048, content_type="image/jpeg", format="JPEG", width=64, height=64
    )
    urls = ["https://m.example/a.mp4", "https://m.example/b.jpg"]
    found = media_problems(
        Platform.BLUESKY, urls=urls, facts=dict(zip(urls, [video, image], strict=True)), loc=["m"]
    )
    assert any("must be the only media" in p["msg"] for p in found)
    assert media_problems(Platform.BLUESKY, urls=urls[:1], facts={urls[0]: video}, loc=["m"]) == []


def _long_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


async def test_a_spent_daily_allowance_is_a_wait_not_a_refusal(
    provider: BlueskyProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    limits = {"canUpload": False, "message": "You have reached your daily video upload limit"}
    fault = {"method": "GET", "path": r"getUploadLimits", "status": 200, "body": limits}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    content = PostContent(text="Later", media_urls=[f"{sandbox.url}/samples/video/clip.mp4"])
    with pytest.raises(RateLimitedError, match="daily video upload limit"):
        await provider.prepare(account, content)


async def test_a_publish_without_prepare_waits_for_its_video_itself(
    provider: BlueskyProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    """A reply, or a publish made without `prepare`: the job is waited for in the call."""
    content = PostContent(text="Direct", media_urls=[f"{sandbox.url}/samples/video/direct.mp4"])
    await provider.publish(account, content)
    [post] = await posts(sandbox_http)
    assert post["text"] == "Direct" and len(post["media"]) == 1  # type: ignore[arg-type]
    assert post["alt"] == [None]  # no alt given: the embed leaves it out
