"""The Google Business Profile provider against the sandbox's v4 local posts over real HTTP.

One test stubs the transport, to check what goes on the wire; the rest talk to the sandbox.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from providers.google_business import GoogleBusinessProvider, until_next_minute
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.servers import RunningSandbox

LOCATION = "accounts/111/locations/222"
POSTS_PATH = f"/google_business/v4/{LOCATION}/localPosts"
SEARCH_URL = "https://local.google.com/place?id=222&use=posts&lpsid="
SCHEDULE = {
    "startDate": {"year": 2026, "month": 7, "day": 4},
    "startTime": {"hours": 18, "minutes": 0},
    "endDate": {"year": 2026, "month": 7, "day": 4},
    "endTime": {"hours": 23, "minutes": 30},
}


def account(sandbox: RunningSandbox, location: str = LOCATION) -> Credentials:
    return reconcile.credentials(sandbox, Platform.GOOGLE_BUSINESS, location)


provider = reconcile.provider_fixture(GoogleBusinessProvider, "google_business")


async def posted(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.GOOGLE_BUSINESS)


fault = reconcile.inject


async def publish_one(
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
    provider: GoogleBusinessProvider,
    content: PostContent,
) -> dict[str, Any]:
    """Publishes, then checks the one stored post matches the id and public URL returned."""
    published = await provider.publish(account(sandbox), content, Preparation())
    assert published.external_id.startswith(f"{LOCATION}/localPosts/")
    assert published.url == SEARCH_URL + published.external_id.rsplit("/", 1)[1]
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"], post["url"]) == (
        published.external_id,
        LOCATION,
        published.url,
    )
    return post


async def test_a_standard_post_carries_its_call_to_action(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    cta = {"actionType": "BOOK", "url": "https://example.com/book"}
    content = PostContent(text="Open Sunday", options={"call_to_action": cta})
    post = await publish_one(sandbox, sandbox_http, provider, content)
    assert (post["text"], post["link"], post["media"]) == (
        "Open Sunday",
        "https://example.com/book",
        [],
    )


async def test_an_event_post_is_published_with_its_schedule(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    content = PostContent(
        text="Live music on the terrace",
        title="Summer night",
        options={"topic_type": "EVENT", "event": {"schedule": SCHEDULE}},
    )
    post = await publish_one(sandbox, sandbox_http, provider, content)
    assert post["text"] == "Live music on the terrace"


async def test_an_offer_post_ignores_its_call_to_action(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    content = PostContent(
        text="20% off this week",
        options={
            "topic_type": "OFFER",
            "event": {"title": "Summer sale", "schedule": SCHEDULE},
            "offer": {"couponCode": "SUMMER20", "termsConditions": "One per visit"},
            "call_to_action": {"actionType": "CALL"},
        },
    )
    post = await publish_one(sandbox, sandbox_http, provider, content)
    assert post["link"] is None


async def test_a_photo_post_sends_its_source_url(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    content = PostContent(
        text="New menu",
        media_urls=["https://cdn.example/menu.jpg"],
        link="https://example.com/menu",
    )
    post = await publish_one(sandbox, sandbox_http, provider, content)
    # A bare link becomes a LEARN_MORE button rather than vanishing.
    assert (post["media"], post["link"]) == (
        ["https://cdn.example/menu.jpg"],
        "https://example.com/menu",
    )


async def test_a_503_is_transient(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    body = {
        "error": {"code": 503, "message": "The service is unavailable.", "status": "UNAVAILABLE"}
    }
    await fault(sandbox_http, method="POST", path=POSTS_PATH, status=503, body=body)
    with pytest.raises(TransientError, match="unavailable") as raised:
        await provider.publish(account(sandbox), PostContent(text="x"))
    assert (raised.value.http_status, raised.value.code) == (503, "UNAVAILABLE")
    assert await posted(sandbox_http) == []


async def test_the_eleventh_post_in_a_minute_is_rate_limited_until_the_next_minute(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    creds = account(sandbox)
    for n in range(10):
        await provider.publish(creds, PostContent(text=f"post {n}"))
    with pytest.raises(RateLimitedError) as raised:
        await provider.publish(creds, PostContent(text="one too many"))
    assert (raised.value.http_status, raised.value.code) == (429, "RESOURCE_EXHAUSTED")
    wait = raised.value.retry_after
    assert wait is not None and timedelta(0) < wait <= timedelta(minutes=1)
    assert len(await posted(sandbox_http)) == 10
    # The quota is per location: another location of the same account still posts.
    other = "accounts/111/locations/333"
    await provider.publish(account(sandbox, other), PostContent(text="elsewhere"))


def test_the_wait_ends_at_the_next_minute() -> None:
    now = datetime(2026, 5, 1, 12, 0, 45, 500_000, tzinfo=UTC)
    assert until_next_minute(now) == timedelta(seconds=14, microseconds=500_000)


async def test_a_too_long_summary_is_refused(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    with pytest.raises(ContentError, match="1500") as raised:
        await provider.publish(account(sandbox), PostContent(text="a" * 1501))
    assert (raised.value.http_status, raised.value.code) == (400, "INVALID_ARGUMENT")
    assert await posted(sandbox_http) == []


async def test_a_call_button_with_a_url_is_refused(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    cta = {"actionType": "CALL", "url": "https://example.com"}
    with pytest.raises(ContentError, match="CALL") as raised:
        await provider.publish(
            account(sandbox), PostContent(text="Ring us", options={"call_to_action": cta})
        )
    assert (raised.value.http_status, raised.value.code) == (400, "INVALID_ARGUMENT")
    assert await posted(sandbox_http) == []


async def test_a_video_is_a_content_error_not_a_retried_500(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    content = PostContent(text="Tour", media_urls=["https://cdn.example/tour.mp4"])
    with pytest.raises(ContentError, match="photos only"):
        await provider.publish(account(sandbox), content)
    assert await posted(sandbox_http) == []
    # What the provider spares us: the sandbox, like Google, fails a video with a bare 500.
    headers = {"Authorization": f"Bearer {account(sandbox).access_token}"}
    media = [{"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example/tour.mp4"}]
    answer = await sandbox_http.post(
        POSTS_PATH, json={"summary": "Tour", "media": media}, headers=headers
    )
    assert (answer.status_code, answer.json()["error"]["status"]) == (500, "INTERNAL")


async def test_a_forged_token_is_an_auth_error(
    sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    forged = Credentials(
        external_id=LOCATION,
        access_token=issue_token("not-the-secret", "google_business", LOCATION),
    )
    with pytest.raises(AuthError) as raised:
        await provider.publish(forged, PostContent(text="x"))
    assert (raised.value.http_status, raised.value.code) == (401, "UNAUTHENTICATED")


async def test_another_locations_token_is_permission_denied(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: GoogleBusinessProvider
) -> None:
    creds = Credentials(
        external_id=LOCATION,
        access_token=account(sandbox, "accounts/999/locations/1").access_token,
    )
    with pytest.raises(AuthError) as raised:
        await provider.publish(creds, PostContent(text="x"))
    assert (raised.value.http_status, raised.value.code) == (403, "PERMISSION_DENIED")


async def test_the_exact_request_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "name": f"{LOCATION}/localPosts/9",
                "state": "PROCESSING",
                "searchUrl": "https://local.google.com/place?id=222&use=posts&lpsid=9",
            },
        )

    creds = Credentials(external_id=LOCATION, access_token="tok")
    content = PostContent(
        text="Opening week: 20% off",
        link="https://example.com/open",
        media_urls=["https://cdn.example/a.png"],
        options={
            "topic_type": "OFFER",
            "event": {"title": "Opening week", "schedule": SCHEDULE},
            "offer": {"couponCode": "OPEN20", "redeemOnlineUrl": "https://example.com/r"},
        },
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        published = await GoogleBusinessProvider(
            http, "https://mybusiness.googleapis.com/"
        ).publish(creds, content)

    assert published.external_id == f"{LOCATION}/localPosts/9"
    assert published.url == "https://local.google.com/place?id=222&use=posts&lpsid=9"
    [request] = seen
    assert (request.method, str(request.url)) == (
        "POST",
        f"https://mybusiness.googleapis.com/v4/{LOCATION}/localPosts",
    )
    assert request.headers["authorization"] == "Bearer tok"
    assert "tok" not in str(request.url)
    assert json.loads(request.content) == {
        "languageCode": "en",
        "summary": "Opening week: 20% off",
        "topicType": "OFFER",
        # No callToAction: Google ignores it on OFFER posts, so the link is not sent.
        "event": {"title": "Opening week", "schedule": SCHEDULE},
        "offer": {"couponCode": "OPEN20", "redeemOnlineUrl": "https://example.com/r"},
        "media": [{"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example/a.png"}],
    }
