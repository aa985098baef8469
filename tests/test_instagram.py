"""Instagram: create a container, wait durably until it is FINISHED, publish it once.

Workflow tests on the time-skipping server with real HTTP to the sandbox; provider tests
against the sandbox over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from core.status import AttemptOutcome, Platform
from core.status import TargetStatus as S
from providers.base import Credentials, PostContent, Preparation
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from providers.instagram import InstagramProvider
from sandbox.tokens import issue_token
from tests.support.harness import Harness
from tests.support.servers import RunningSandbox

IG_USER = "17841400000000001"
REEL = "https://cdn.example.org/reel.mp4"
IMAGES = [f"https://cdn.example.org/{n}.jpg" for n in range(3)]


async def script_next_container(sandbox: httpx.AsyncClient, *statuses: str) -> None:
    response = await sandbox.post(
        "/_control/instagram/next-container", json={"statuses": list(statuses)}
    )
    response.raise_for_status()


async def containers(sandbox: httpx.AsyncClient) -> list[dict[str, str]]:
    found: list[dict[str, str]] = (await sandbox.get("/_control/instagram/containers")).json()[
        "data"
    ]
    return found


async def test_a_reel_encoding_for_four_minutes_publishes_once(harness: Harness) -> None:
    await script_next_container(harness.sandbox, *["IN_PROGRESS"] * 4, "FINISHED")
    started = await harness.now()
    target, handle = await harness.schedule(
        after=None, platform=Platform.INSTAGRAM, account_id=IG_USER, media_urls=[REEL]
    )

    final = await handle.result()

    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert await harness.now() - started >= timedelta(minutes=4)  # one status read a minute
    [container] = await containers(harness.sandbox)
    assert (container["kind"], container["status"]) == ("REELS", "PUBLISHED")
    [post] = await harness.posts(Platform.INSTAGRAM)
    assert post["media"] == [REEL]
    stored = await harness.target(target.id)
    assert (stored.external_id, stored.external_url) == (post["id"], post["url"])
    assert [a.outcome for a in await harness.attempts(target.id)] == [AttemptOutcome.CONFIRMED]
    await harness.keep_history(handle, "instagram_reel_after_encoding")


@pytest.mark.parametrize(
    ("last", "reason"),
    [("ERROR", "the media failed to process (2207004"), ("EXPIRED", "container expired")],
)
async def test_a_container_in_error_or_expired_fails_with_the_platforms_reason(
    harness: Harness, last: str, reason: str
) -> None:
    await script_next_container(harness.sandbox, "IN_PROGRESS", last)
    target, handle = await harness.schedule(
        after=None, platform=Platform.INSTAGRAM, account_id=IG_USER, media_urls=[REEL]
    )

    final = await handle.result()

    # Failed while being made ready, before its time: it never reached `publishing`.
    assert final.transitions == [S.SCHEDULED, S.FAILED]
    assert final.error is not None and reason in final.error
    stored = await harness.target(target.id)
    assert stored.last_error is not None and reason in stored.last_error
    assert await harness.posts(Platform.INSTAGRAM) == []
    assert await harness.attempts(target.id) == []  # nothing was ever sent to publish


async def test_a_media_deadline_ends_a_container_that_never_finishes(harness: Harness) -> None:
    harness.settings = harness.settings.model_copy(
        update={"media_ready_deadline": timedelta(minutes=3)}
    )
    await script_next_container(harness.sandbox, *["IN_PROGRESS"] * 50)
    _, handle = await harness.schedule(
        after=None, platform=Platform.INSTAGRAM, account_id=IG_USER, media_urls=[REEL]
    )
    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.FAILED]
    assert final.error is not None and "still processing after 0:03:00" in final.error


# The provider against the sandbox over HTTP ------------------------------------------------


@pytest.fixture
def ig(sandbox: RunningSandbox) -> tuple[InstagramProvider, Credentials]:
    http = httpx.AsyncClient(timeout=5)
    token = issue_token(sandbox.secret, "instagram", IG_USER)
    provider = InstagramProvider(http, f"{sandbox.url}/instagram/v23.0")
    return provider, Credentials(external_id=IG_USER, access_token=token)


async def test_a_carousel_of_three_images(
    ig: tuple[InstagramProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = ig
    content = PostContent(text="Three views", media_urls=IMAGES)
    prepared = await provider.prepare(account, content)
    assert len(prepared.ids["children"]) == 3
    assert (await provider.check(account, prepared)).state == "ready"
    published = await provider.publish(account, content, prepared)
    assert published.url == f"https://www.instagram.com/p/SBX{published.external_id}/"
    kinds = sorted(c["kind"] for c in await containers(sandbox_http))
    assert kinds == ["CAROUSEL", "IMAGE", "IMAGE", "IMAGE"]


async def test_publishing_before_finished_is_transient(
    ig: tuple[InstagramProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = ig
    await script_next_container(sandbox_http, "IN_PROGRESS")
    content = PostContent(text="Too soon", media_urls=[REEL])
    prepared = await provider.prepare(account, content)
    with pytest.raises(TransientError, match="Media ID is not available"):
        await provider.publish(account, content, prepared)


async def test_error_classes(
    ig: tuple[InstagramProvider, Credentials],
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
) -> None:
    provider, account = ig
    content = PostContent(text="x", media_urls=[IMAGES[0]])
    with pytest.raises(ContentError, match="caption is too long"):
        await provider.prepare(account, PostContent(text="x" * 2201, media_urls=[IMAGES[0]]))
    forged = Credentials(external_id=IG_USER, access_token="sbx_forged.sig")
    with pytest.raises(AuthError):
        await provider.prepare(forged, content)
    fault = {"method": "POST", "path": "/media$", "times": 1, "status": 503, "body": {}}
    await sandbox_http.post("/_control/faults", json=fault)
    with pytest.raises(TransientError):
        await provider.prepare(account, content)
    quota = {"error": {"message": "Limit reached", "code": 4, "error_subcode": 2207042}}
    fault = {"method": "POST", "path": "/media_publish$", "status": 400, "body": quota}
    await sandbox_http.post("/_control/faults", json=fault)
    with pytest.raises(RateLimitedError) as limited:
        await provider.publish(account, content, Preparation(ids={"container": "1"}))
    assert limited.value.retry_after == timedelta(hours=24)


@pytest.mark.parametrize(
    ("urls", "alts", "arrived"),
    [
        (IMAGES[:1], ["A lighthouse"], ["A lighthouse"]),
        (IMAGES, ["A lighthouse", None, "A pier"], ["A lighthouse", None, "A pier"]),
    ],
)
async def test_alt_text_goes_on_each_image_container(
    ig: tuple[InstagramProvider, Credentials],
    sandbox_http: httpx.AsyncClient,
    urls: list[str],
    alts: list[str | None],
    arrived: list[str | None],
) -> None:
    provider, account = ig
    content = PostContent(text="Described", media_urls=urls, media_alt=alts)
    prepared = await provider.prepare(account, content)
    assert (await provider.check(account, prepared)).state == "ready"
    await provider.publish(account, content, prepared)

    answer = await sandbox_http.get("/_control/posts", params={"platform": "instagram"})
    [post] = answer.json()["data"]
    assert post["alt"] == arrived
