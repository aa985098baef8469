"""Threads: a container, a durable wait until it is FINISHED, one threads_publish, the permalink.

Workflow tests on the time-skipping server and provider tests against the sandbox over real
HTTP; the sandbox counts text with its own, separately written code, so the two check each
other. One test stubs the transport to check exactly what goes on the wire.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from api.services.post_rules import content_problems
from core.status import AttemptOutcome, Platform, TargetMode
from core.status import TargetStatus as S
from providers.base import Credentials, PostContent, Preparation
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from providers.threads import ThreadsProvider, threads_length
from sandbox.threads import counted_length
from tests.support import reconcile
from tests.support.harness import Harness

USER = "27000000000000002"
VIDEO = "https://cdn.example.org/clip.mp4"
IMAGES = [f"https://cdn.example.org/{n}.jpg" for n in range(3)]
PERMALINK = f"https://www.threads.com/@sandbox_{USER}/post/SBX"


async def script_next_container(
    sandbox: httpx.AsyncClient, *statuses: str, error_message: str = "UNKNOWN"
) -> None:
    body = {"statuses": list(statuses), "error_message": error_message}
    (await sandbox.post("/_control/threads/next-container", json=body)).raise_for_status()


async def containers(sandbox: httpx.AsyncClient) -> list[dict[str, object]]:
    found: list[dict[str, object]] = (await sandbox.get("/_control/threads/containers")).json()[
        "data"
    ]
    return found


async def posted(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.THREADS)


# Counting text ------------------------------------------------------------------------------

LENGTHS = [
    ("hello", 5),
    ("漢字 é ü", 6),  # a non-emoji character is 1, whatever its bytes
    ("\U0001f44d", 4),  # thumbs up
    ("\U0001f44d\U0001f3fd", 8),  # with its skin tone
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467", 18),  # a ZWJ family: 3*4 + 2*3
    ("\U0001f1eb\U0001f1f7", 8),  # a flag: two regional indicators
    ("\u2764\ufe0f", 6),  # a red heart
    ("1\ufe0f\u20e3", 7),  # a keycap
    ("\u00a9", 1),  # (c) in text presentation: a character
    ("\u00a9\ufe0f", 5),  # (c) in emoji presentation: its bytes
    ("\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 28),  # Scotland
    ("Launch day \U0001f680 at 9:00 \u2705", 27),  # 11 + 4 + 9 + 3
]


@pytest.mark.parametrize(("text", "length"), LENGTHS)
def test_emoji_count_their_utf8_bytes_and_other_characters_one(text: str, length: int) -> None:
    assert threads_length(text) == length
    assert counted_length(text) == length  # the sandbox's separate count agrees


def test_the_create_time_check_names_the_threads_count() -> None:
    assert (
        content_problems(
            Platform.THREADS, text="x" * 496 + "👍", media_count=0, has_link=False, loc=["body"]
        )
        == []
    )
    [too_long, too_many] = content_problems(
        Platform.THREADS, text="x" * 497 + "👍", media_count=21, has_link=False, loc=["body"]
    )
    assert too_long["msg"] == (
        "501 characters (an emoji counts its UTF-8 bytes); threads allows at most 500"
    )
    assert too_many["msg"] == "21 media; threads allows at most 20"


# The workflow -------------------------------------------------------------------------------


async def test_a_video_processing_for_three_minutes_publishes_once(harness: Harness) -> None:
    await script_next_container(harness.sandbox, *["IN_PROGRESS"] * 3, "FINISHED")
    started = await harness.now()
    target, handle = await harness.schedule(
        after=None, platform=Platform.THREADS, account_id=USER, media_urls=[VIDEO]
    )

    final = await handle.result()

    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert await harness.now() - started >= timedelta(minutes=3)  # one status read a minute
    [container] = await containers(harness.sandbox)
    assert (container["kind"], container["status"]) == ("VIDEO", "PUBLISHED")
    [post] = await harness.posts(Platform.THREADS)
    assert post["media"] == [VIDEO]
    stored = await harness.target(target.id)
    assert (stored.external_id, stored.external_url) == (post["id"], post["url"])
    assert str(post["url"]).startswith(PERMALINK)
    assert [a.outcome for a in await harness.attempts(target.id)] == [AttemptOutcome.CONFIRMED]


@pytest.mark.parametrize(
    ("last", "reason"),
    [
        ("ERROR", "threads: the media failed to process (FAILED_PROCESSING_VIDEO)"),
        ("EXPIRED", "threads: the container expired unpublished"),
    ],
)
async def test_a_container_in_error_or_expired_fails_with_the_platforms_reason(
    harness: Harness, last: str, reason: str
) -> None:
    await script_next_container(
        harness.sandbox, "IN_PROGRESS", last, error_message="FAILED_PROCESSING_VIDEO"
    )
    target, handle = await harness.schedule(
        after=None, platform=Platform.THREADS, account_id=USER, media_urls=[VIDEO]
    )

    final = await handle.result()

    # Failed while being made ready, before its time: it never reached `publishing`.
    assert final.transitions == [S.SCHEDULED, S.FAILED]
    assert final.error is not None and reason in final.error
    assert await harness.posts(Platform.THREADS) == []
    assert await harness.attempts(target.id) == []  # nothing was ever sent to publish


async def test_a_draft_is_ready_for_a_person_since_threads_keeps_none(harness: Harness) -> None:
    _, handle = await harness.schedule(
        after=None, platform=Platform.THREADS, account_id=USER, mode=TargetMode.DRAFT
    )
    final = await handle.result()
    assert final.status == S.READY_FOR_MANUAL
    assert await harness.posts(Platform.THREADS) == []


# The provider against the sandbox over HTTP -------------------------------------------------


account = reconcile.account_fixture(Platform.THREADS, USER)
provider = reconcile.provider_fixture(ThreadsProvider, "threads")


async def test_a_text_post_goes_through_its_container(
    provider: ThreadsProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="Hello from crier 👋")
    prepared = await provider.prepare(account, content)
    assert (await provider.check(account, prepared)).state == "ready"
    assert await posted(sandbox_http) == []  # nothing public before publish

    published = await provider.publish(account, content, prepared)

    assert published.url == f"{PERMALINK}{published.external_id}"
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"], post["text"]) == (
        published.external_id,
        USER,
        "Hello from crier 👋",
    )
    [container] = await containers(sandbox_http)
    assert (container["kind"], container["status"]) == ("TEXT", "PUBLISHED")


async def test_a_carousel_of_three_images(
    provider: ThreadsProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="Three views", media_urls=IMAGES)
    prepared = await provider.prepare(account, content)
    assert len(prepared.ids["children"]) == 3
    assert (await provider.check(account, prepared)).state == "ready"
    published = await provider.publish(account, content, prepared)

    [post] = await posted(sandbox_http)
    assert (post["id"], post["media"]) == (published.external_id, IMAGES)
    found = await containers(sandbox_http)
    assert sorted(str(c["kind"]) for c in found) == ["CAROUSEL", "IMAGE", "IMAGE", "IMAGE"]
    [carousel] = [c for c in found if c["kind"] == "CAROUSEL"]
    assert carousel["children"] == prepared.ids["children"]


async def test_a_container_publishes_once_however_often_publish_is_retried(
    provider: ThreadsProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="Only once")
    prepared = await provider.prepare(account, content)
    await provider.check(account, prepared)
    await provider.publish(account, content, prepared)
    with pytest.raises(ContentError, match="already published"):
        await provider.publish(account, content, prepared)
    assert len(await posted(sandbox_http)) == 1


async def test_publishing_before_finished_is_transient(
    provider: ThreadsProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    await script_next_container(sandbox_http, "IN_PROGRESS")
    content = PostContent(text="Too soon", media_urls=[VIDEO])
    prepared = await provider.prepare(account, content)
    assert (await provider.check(account, prepared)).state == "pending"
    with pytest.raises(TransientError, match="Media ID is not available"):
        await provider.publish(account, content, prepared)


async def test_500_counted_characters_fit_and_501_do_not(
    provider: ThreadsProvider, account: Credentials
) -> None:
    fits = "a" * 488 + "🚀" * 3  # 488 + 3*4 = 500
    assert threads_length(fits) == 500
    await provider.prepare(account, PostContent(text=fits))
    with pytest.raises(ContentError, match="at most 500 characters") as refused:
        await provider.prepare(account, PostContent(text=fits + "é"))
    assert refused.value.code == "100"


async def test_a_spent_publishing_quota_waits_out_its_24_hours(
    provider: ThreadsProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="Post 251")
    prepared = await provider.prepare(account, content)
    await provider.check(account, prepared)
    spent = {"user": USER, "count": 250}
    (await sandbox_http.post("/_control/threads/published-earlier", json=spent)).raise_for_status()

    with pytest.raises(RateLimitedError, match="250 of 250 posts in 1 day") as limited:
        await provider.publish(account, content, prepared)

    assert limited.value.retry_after == timedelta(hours=24)
    assert await posted(sandbox_http) == []
    limit = await sandbox_http.get(
        f"/threads/v1.0/{USER}/threads_publishing_limit",
        params={"fields": "quota_usage,config"},
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    assert limit.json() == {
        "data": [{"quota_usage": 250, "config": {"quota_total": 250, "quota_duration": 86400}}]
    }


async def test_a_call_rate_limit_is_not_mistaken_for_the_daily_quota(
    provider: ThreadsProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    throttled = {"error": {"message": "Application request limit reached", "code": 4}}
    fault = {"method": "POST", "path": "/threads_publish$", "status": 400, "body": throttled}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    with pytest.raises(RateLimitedError, match="Application request limit") as limited:
        await provider.publish(account, PostContent(text="x"), Preparation(ids={"container": "1"}))
    assert limited.value.retry_after is None  # the activity's default wait applies


async def test_error_classes(
    provider: ThreadsProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="x", media_urls=[IMAGES[0]])
    forged = Credentials(USER, "sbx_forged.sig")
    with pytest.raises(AuthError, match="Error validating access token"):
        await provider.prepare(forged, content)
    with pytest.raises(AuthError):
        await provider.prepare(Credentials("27000000000000999", account.access_token), content)
    with pytest.raises(ContentError, match="could not be fetched"):
        await provider.prepare(account, PostContent(text="x", media_urls=["ftp://host/a.jpg"]))
    fault = {"method": "POST", "path": "/threads$", "status": 503, "body": {}}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    with pytest.raises(TransientError):
        await provider.prepare(account, content)
    transient = {"error": {"message": "Please retry", "code": 2, "is_transient": True}}
    fault = {"method": "GET", "path": r"/v1\.0/\d+$", "status": 500, "body": transient}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    with pytest.raises(TransientError, match="Please retry"):
        await provider.check(account, Preparation(ids={"container": "1"}))


# On the wire --------------------------------------------------------------------------------


async def test_the_exact_requests_of_a_carousel() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/threads_publish"):
            return httpx.Response(200, json={"id": "900"})
        if request.method == "GET":
            return httpx.Response(200, json={"id": "900", "permalink": "https://t/p/900"})
        return httpx.Response(200, json={"id": str(len(seen))})

    creds = Credentials(external_id="42", access_token="tok")
    content = PostContent(text="Two", media_urls=[IMAGES[0], VIDEO])
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        provider = ThreadsProvider(http, "https://graph.threads.net/")
        prepared = await provider.prepare(creds, content)
        published = await provider.publish(creds, content, prepared)

    assert prepared.ids == {"container": "3", "children": ["1", "2"]}
    assert (published.external_id, published.url) == ("900", "https://t/p/900")
    image, video, carousel, publish, permalink = seen
    for request in seen:
        assert request.headers["authorization"] == "Bearer tok"
        assert "tok" not in str(request.url) and b"tok" not in request.content
    assert str(image.url) == "https://graph.threads.net/v1.0/42/threads"
    assert parse_qs(image.content.decode()) == {
        "media_type": ["IMAGE"],
        "image_url": [IMAGES[0]],
        "is_carousel_item": ["true"],
    }
    assert parse_qs(video.content.decode())["video_url"] == [VIDEO]
    assert parse_qs(carousel.content.decode()) == {
        "media_type": ["CAROUSEL"],
        "children": ["1,2"],
        "text": ["Two"],
    }
    assert (publish.method, str(publish.url)) == (
        "POST",
        "https://graph.threads.net/v1.0/42/threads_publish?creation_id=3",
    )
    assert str(permalink.url) == "https://graph.threads.net/v1.0/900?fields=id%2Cpermalink"


async def test_a_link_goes_with_a_text_post_as_its_attachment() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "1"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        await ThreadsProvider(http, "https://graph.threads.net").prepare(
            Credentials("42", "tok"), PostContent(text="", link="https://example.com/a")
        )
    [create] = seen
    assert parse_qs(create.content.decode()) == {
        "media_type": ["TEXT"],
        "text": ["https://example.com/a"],
        "link_attachment": ["https://example.com/a"],
    }


async def test_a_permalink_that_cannot_be_read_does_not_fail_a_live_post() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(500, json={"error": {"message": "boom", "code": 1}})
        return httpx.Response(200, json={"id": "77"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        published = await ThreadsProvider(http, "https://graph.threads.net").publish(
            Credentials("42", "tok"),
            PostContent(text="x"),
            Preparation(ids={"container": "1"}),
        )
    assert (published.external_id, published.url) == ("77", None)


async def test_a_timeout_is_transient() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(TransientError, match="timed out"):
            await ThreadsProvider(http, "https://graph.threads.net").prepare(
                Credentials("42", "t"), PostContent(text="x")
            )
