"""Facebook Page videos and reels over real HTTP against the sandbox's Graph: each is prepared,
checked while it processes (pending, then ready), and published, as the workflow calls them."""

from __future__ import annotations

import httpx

from core.status import Platform
from providers.base import Credentials, PostContent, Preparation, Readiness
from providers.facebook import FacebookProvider
from providers.facebook_video import upload_url
from tests.support import reconcile
from tests.support.servers import RunningSandbox

account = reconcile.account_fixture(Platform.FACEBOOK, "200000000000001")
provider = reconcile.provider_fixture(FacebookProvider, "facebook/v23.0")


def a_video(sandbox: RunningSandbox, name: str = "clip", **options: str) -> PostContent:
    url = f"{sandbox.url}/samples/video/{name}.mp4"
    return PostContent(text=f"Our {name}", media_urls=[url], options=options)


async def until_done(
    provider: FacebookProvider, account: Credentials, prepared: Preparation
) -> list[Readiness]:
    """Every check the workflow would make, up to the first that is not pending."""
    seen = [await provider.check(account, prepared)]
    while seen[-1].state == "pending" and len(seen) < 10:
        seen.append(await provider.check(account, prepared))
    return seen


async def posts(sandbox_http: httpx.AsyncClient) -> list[dict[str, object]]:
    answer = await sandbox_http.get("/_control/posts", params={"platform": "facebook"})
    data: list[dict[str, object]] = answer.json()["data"]
    return data


async def test_a_page_video_processes_then_goes_public_at_publish(
    provider: FacebookProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = a_video(sandbox)
    prepared = await provider.prepare(account, content)
    assert prepared.ids["reel"] is False

    checks = await until_done(provider, account, prepared)
    assert [c.state for c in checks] == ["pending", "pending", "ready"]
    assert await posts(sandbox_http) == []  # uploaded unpublished: nothing public yet

    published = await provider.publish(account, content, prepared)
    [post] = await posts(sandbox_http)
    assert (post["text"], post["media"]) == ("Our clip", content.media_urls)
    assert published.external_id == prepared.ids["video"]
    assert (
        published.url
        == f"https://www.facebook.com/{account.external_id}/videos/{published.external_id}/"
    )


async def test_a_reel_uploads_at_prepare_and_finishes_at_publish(
    provider: FacebookProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = a_video(sandbox, "short", post_type="reel")
    prepared = await provider.prepare(account, content)
    assert prepared.ids["reel"] is True

    checks = await until_done(provider, account, prepared)
    assert [c.state for c in checks] == ["pending", "pending", "ready"]
    assert await posts(sandbox_http) == []

    published = await provider.publish(account, content, prepared)
    [post] = await posts(sandbox_http)
    assert (post["text"], post["media"]) == ("Our short", content.media_urls)
    assert published.url == f"https://www.facebook.com/reel/{published.external_id}"


async def test_failed_processing_ends_the_check_with_graphs_reason(
    provider: FacebookProvider, account: Credentials, sandbox: RunningSandbox
) -> None:
    for options in ({}, {"post_type": "reel"}):
        prepared = await provider.prepare(account, a_video(sandbox, "broken", **options))
        [failed] = await until_done(provider, account, prepared)
        assert failed.state == "failed"
        assert failed.reason == (
            "facebook: the video failed to process (The video file could not be processed.)"
        )


async def test_a_lost_publish_is_found_by_the_prepared_video(
    provider: FacebookProvider, account: Credentials, sandbox: RunningSandbox
) -> None:
    for options in ({}, {"post_type": "reel"}):
        content = a_video(sandbox, **options)
        prepared = await provider.prepare(account, content)
        await until_done(provider, account, prepared)
        since = reconcile.began()
        assert await provider.find_published(account, content, prepared, since=since) is None

        published = await provider.publish(account, content, prepared)
        found = await provider.find_published(account, content, prepared, since=since)
        assert found == published


async def test_photo_posts_are_ready_at_once(
    provider: FacebookProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="Bread", media_urls=["https://cdn.example.org/1.jpg"])
    prepared = await provider.prepare(account, content)
    assert (await provider.check(account, prepared)).state == "ready"
    await provider.publish(account, content, prepared)
    [post] = await posts(sandbox_http)
    assert post["media"] == content.media_urls


def test_the_reel_upload_goes_to_rupload_beside_the_graph_version() -> None:
    assert upload_url("https://graph.facebook.com/v23.0", "42") == (
        "https://rupload.facebook.com/video-upload/v23.0/42"
    )
    assert upload_url("http://127.0.0.1:9/facebook/v23.0/", "42") == (
        "http://127.0.0.1:9/facebook/video-upload/v23.0/42"
    )
