"""The Facebook provider's requests and its error mapping.

The request-shape tests stub the transport: they check exactly what goes on the wire. Behaviour
against a server is covered over real HTTP elsewhere, and here for the photos' alt text.
"""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, PostContent
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from providers.facebook import GRAPH, FacebookProvider
from tests.support import reconcile

BASE = "https://graph.example/v23.0"
PAGE = Credentials(external_id="123", access_token="page-token")


async def test_a_photo_post_uploads_unpublished_photos_then_one_feed_post() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/photos"):
            return httpx.Response(200, json={"id": f"photo{len(seen)}"})
        if request.url.path.endswith("/feed"):
            return httpx.Response(200, json={"id": "123_456"})
        return httpx.Response(200, json={"id": "123_456", "permalink_url": "https://fb/123_456"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        published = await FacebookProvider(http, BASE).publish(
            PAGE,
            PostContent(text="Hi", media_urls=["https://img/1.jpg", "https://img/2.jpg"]),
        )

    assert published.external_id == "123_456"
    assert published.url == "https://fb/123_456"
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/v23.0/123/photos"),
        ("POST", "/v23.0/123/photos"),
        ("POST", "/v23.0/123/feed"),
        ("GET", "/v23.0/123_456"),
    ]
    assert json.loads(seen[0].content) == {
        "url": "https://img/1.jpg",
        "published": False,
        "access_token": "page-token",
    }
    assert json.loads(seen[2].content) == {
        "message": "Hi",
        "access_token": "page-token",
        "attached_media": [{"media_fbid": "photo1"}, {"media_fbid": "photo2"}],
    }
    # The token never rides in a URL, where access logs would keep it.
    assert all("page-token" not in str(r.url) for r in seen)
    assert seen[3].headers["authorization"] == "OAuth page-token"
    assert seen[3].url.params["fields"] == "permalink_url"


async def test_a_failed_permalink_read_does_not_fail_the_published_post() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json={"id": "123_9"})
        return httpx.Response(500)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        published = await FacebookProvider(http, BASE).publish(PAGE, PostContent(text="x"))
    assert published.external_id == "123_9"
    assert published.url == "https://www.facebook.com/123_9"


def graph(
    status: int, code: int, subcode: int | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    error: dict[str, object] = {"message": f"error {code}", "type": "OAuthException", "code": code}
    if subcode:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error}, headers=headers)


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (graph(400, 1), TransientError),
        (graph(500, 2), TransientError),
        (graph(400, 100, 1363047), TransientError),
        (httpx.Response(502, text="<html>Bad gateway</html>"), TransientError),
        (graph(400, 4), RateLimitedError),
        (httpx.Response(429, text="slow down"), RateLimitedError),
        (httpx.Response(401, text=""), AuthError),
        (httpx.Response(400, text="<html>"), ContentError),
        (graph(403, 17), RateLimitedError),
        (graph(400, 32), RateLimitedError),
        (graph(400, 613), RateLimitedError),
        (graph(400, 80001), RateLimitedError),
        (graph(400, 190, 463), AuthError),
        (graph(400, 102), AuthError),
        (graph(403, 200), AuthError),
        (graph(400, 10), AuthError),
        (graph(400, 506), ContentError),
        (graph(400, 368), ContentError),
        (graph(400, 100, 1609005), ContentError),
    ],
)
def test_graph_errors_map_into_the_taxonomy(response: httpx.Response, kind: type) -> None:
    error = GRAPH.error(response)
    assert type(error) is kind
    assert error.platform == "facebook"


def test_a_rate_limit_reads_the_regain_access_estimate() -> None:
    usage = '{"123":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":17}]}'
    error = GRAPH.error(graph(400, 32, headers={"X-Business-Use-Case-Usage": usage}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == timedelta(minutes=17)
    assert error.code == "32"


def test_a_bare_429_reads_retry_after() -> None:
    error = GRAPH.error(httpx.Response(429, text="", headers={"Retry-After": "120"}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == timedelta(seconds=120)


async def test_a_timeout_is_transient() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(TransientError, match="timed out"):
            await FacebookProvider(http, BASE).publish(PAGE, PostContent(text="x"))


async def test_each_photo_carries_its_alt_text_as_alt_text_custom() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": f"photo{len(seen)}"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        content = PostContent(
            text="Hi",
            media_urls=["https://img/1.jpg", "https://img/2.jpg"],
            media_alt=["A bakery window", None],
        )
        await FacebookProvider(http, BASE).prepare(PAGE, content)

    first, second = (json.loads(r.content) for r in seen)
    assert first == {
        "url": "https://img/1.jpg",
        "published": False,
        "access_token": "page-token",
        "alt_text_custom": "A bakery window",
    }
    assert "alt_text_custom" not in second


account = reconcile.account_fixture(Platform.FACEBOOK, "200000000000001")
provider = reconcile.provider_fixture(FacebookProvider, "facebook/v23.0")


async def test_the_alt_text_arrives_on_the_sandbox_pages_photos(
    provider: FacebookProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(
        text="Fresh bread",
        media_urls=["https://cdn.example.org/1.jpg", "https://cdn.example.org/2.jpg"],
        media_alt=[None, "Loaves on a rack"],
    )
    await provider.publish(account, content, await provider.prepare(account, content))

    answer = await sandbox_http.get("/_control/posts", params={"platform": "facebook"})
    [post] = answer.json()["data"]
    assert post["alt"] == [None, "Loaves on a rack"]
