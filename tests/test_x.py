"""The X provider against the sandbox over real HTTP, its error mapping and its text counting.

One test stubs the transport, to check exactly what goes on the wire; the rest talk to the
sandbox's X stand-in, which counts weighted length with its own, separately written code.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from providers.x import XProvider, weighted_length
from providers.x_errors import rate_limit_reset, x_error
from sandbox import x as sandbox_x
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.media import loopback_media, media_host
from tests.support.servers import RunningSandbox

USER = "4242"


account = reconcile.account_fixture(Platform.X, USER)
provider = reconcile.provider_fixture(XProvider, "x")


async def posted(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.X)


async def test_a_text_tweet_is_posted_once_with_its_public_url(
    provider: XProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    published = await provider.publish(account, PostContent(text="Hello from crier"), Preparation())

    assert published.external_id.isdigit()
    assert published.url == f"https://x.com/i/status/{published.external_id}"
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"], post["text"]) == (
        published.external_id,
        USER,
        "Hello from crier",
    )
    assert post["url"] == published.url and post["media"] == []


async def test_two_images_go_through_prepare_check_publish(
    provider: XProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = PostContent(
        text="Two pictures",
        media_urls=[f"{sandbox.url}/x/media/one.png", f"{sandbox.url}/x/media/two.png"],
    )

    prepared = await provider.prepare(account, content)
    assert list(prepared.ids) == ["media_ids"]  # images need no processing
    assert len(prepared.ids["media_ids"]) == 2
    assert (await provider.check(account, prepared)).state == "ready"
    assert await posted(sandbox_http) == []  # nothing public before publish

    published = await provider.publish(account, content, prepared)
    [post] = await posted(sandbox_http)
    assert post["id"] == published.external_id
    assert post["media"] == prepared.ids["media_ids"]


async def test_a_gif_is_pending_until_x_has_processed_it(
    provider: XProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = PostContent(text="Moving", media_urls=[f"{sandbox.url}/x/media/loop.gif"])
    prepared = await provider.prepare(account, content)
    assert prepared.ids["processing"] == prepared.ids["media_ids"]

    with pytest.raises(ContentError, match="media IDs are invalid"):
        await provider.publish(account, content, prepared)  # X refuses unprocessed media

    first = await provider.check(account, prepared)
    assert (first.state, first.check_after) == ("pending", timedelta(seconds=1))
    assert (await provider.check(account, prepared)).state == "ready"
    await provider.publish(account, content, prepared)
    assert len(await posted(sandbox_http)) == 1


async def test_an_injected_503_is_transient_and_the_retry_posts(
    provider: XProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    unavailable = {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503}
    fault = {"method": "POST", "path": "^/x/2/tweets$", "times": 1, "status": 503}
    await sandbox_http.post("/_control/faults", json={**fault, "body": unavailable})

    with pytest.raises(TransientError) as caught:
        await provider.publish(account, PostContent(text="soon"), Preparation())
    assert caught.value.http_status == 503
    assert await posted(sandbox_http) == []
    await provider.publish(account, PostContent(text="soon"), Preparation())
    assert len(await posted(sandbox_http)) == 1


async def test_the_per_user_cap_answers_429_with_its_reset(
    provider: XProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox_x, "TWEETS_PER_WINDOW", 2)
    for n in range(2):
        await provider.publish(account, PostContent(text=f"tweet {n}"), Preparation())

    with pytest.raises(RateLimitedError) as caught:
        await provider.publish(account, PostContent(text="one too many"), Preparation())
    assert caught.value.http_status == 429
    assert caught.value.retry_after is not None
    # The sandbox rounds the reset up to a whole second, as the header is in epoch seconds.
    assert timedelta(minutes=14) < caught.value.retry_after <= timedelta(minutes=15, seconds=1)
    assert len(await posted(sandbox_http)) == 2


async def test_an_injected_429_waits_until_x_rate_limit_reset(
    provider: XProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    reset = int(time.time()) + 120
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    fault = {"method": "POST", "path": "/x/2/tweets", "status": 429, "headers": headers}
    await sandbox_http.post("/_control/faults", json=fault)

    with pytest.raises(RateLimitedError) as caught:
        await provider.publish(account, PostContent(text="later"), Preparation())
    assert caught.value.retry_after is not None
    assert timedelta(seconds=115) <= caught.value.retry_after <= timedelta(seconds=120)


async def test_a_duplicate_is_a_content_error(
    provider: XProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    await provider.publish(account, PostContent(text="same words"), Preparation())
    with pytest.raises(ContentError, match="duplicate content") as caught:
        await provider.publish(account, PostContent(text="same words"), Preparation())
    assert caught.value.http_status == 403
    assert len(await posted(sandbox_http)) == 1


@pytest.mark.parametrize("text", ["a" * 281, "日" * 141, "🙂" * 141])
async def test_over_long_text_is_a_content_error(
    provider: XProvider, account: Credentials, sandbox_http: httpx.AsyncClient, text: str
) -> None:
    with pytest.raises(ContentError, match="too long") as caught:
        await provider.publish(account, PostContent(text=text), Preparation())
    assert caught.value.http_status == 400
    assert await posted(sandbox_http) == []


async def test_280_weighted_characters_with_a_long_url_fit(
    provider: XProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    text = "日" * 128 + " https://example.com/" + "p" * 100  # 256 + 1 + 23
    assert weighted_length(text) == 280
    await provider.publish(account, PostContent(text=text), Preparation())
    assert len(await posted(sandbox_http)) == 1


@pytest.mark.parametrize(
    "token",
    [
        issue_token("not-the-sandbox-secret", "x", USER),  # forged
        "sbx_garbage.0000",
    ],
)
async def test_a_forged_token_is_an_auth_error(
    provider: XProvider, sandbox_http: httpx.AsyncClient, token: str
) -> None:
    with pytest.raises(AuthError) as caught:
        await provider.publish(Credentials(USER, token), PostContent(text="hi"), Preparation())
    assert caught.value.http_status == 401
    assert await posted(sandbox_http) == []


async def test_another_platforms_token_is_refused(
    provider: XProvider, sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    facebook = Credentials(USER, issue_token(sandbox.secret, "facebook", USER))
    with pytest.raises(AuthError):
        await provider.publish(facebook, PostContent(text="hi"), Preparation())


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello world", 11),
        ("read https://example.com/a/very/long/path?with=query now", 5 + 23 + 4),
        ("see https://a.io/x.", 4 + 23 + 1),  # the full stop is not part of the URL
        ("日本語", 6),
        ("“quotes” — dash", 15),  # general punctuation weighs 1
        ("😀", 2),
        ("👍🏽", 2),  # skin tone
        ("👨\u200d👩\u200d👧", 2),  # ZWJ family
        ("🇫🇷🇩🇪", 4),  # two flags
        ("cafe\u0301", 4),  # counted in NFC
    ],
)
def test_weighted_length(text: str, length: int) -> None:
    assert weighted_length(text) == length
    assert sandbox_x.weighted_length(text) == length  # the stand-in agrees


async def test_the_exact_requests_of_a_tweet_with_media() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path.endswith("/initialize"):
            return httpx.Response(200, json={"data": {"id": "77", "media_key": "3_77"}})
        if path.endswith("/append"):
            return httpx.Response(200, json={"data": {}})
        if path.endswith("/finalize"):
            return httpx.Response(200, json={"data": {"id": "77"}})
        return httpx.Response(201, json={"data": {"id": "1001", "text": "Hi"}})

    account = Credentials("9", "user-token")
    # The image comes from a real host through the guarded fetcher, never the platform client.
    image = {"/a.png": (b"\x89PNG-bytes", "image/png")}
    async with (
        media_host(image) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
    ):
        content = PostContent(text="Hi", media_urls=[f"{host}/a.png"])
        x = XProvider(http, "https://api.x.com", loopback_media())
        prepared = await x.prepare(account, content)
        published = await x.publish(account, content, prepared)

    assert prepared.ids == {"media_ids": ["77"]}
    assert published.url == "https://x.com/i/status/1001"
    assert [(r.method, str(r.url)) for r in seen] == [
        ("POST", "https://api.x.com/2/media/upload/initialize"),
        ("POST", "https://api.x.com/2/media/upload/77/append"),
        ("POST", "https://api.x.com/2/media/upload/77/finalize"),
        ("POST", "https://api.x.com/2/tweets"),
    ]
    assert all(r.headers["authorization"] == "Bearer user-token" for r in seen)
    assert json.loads(seen[0].content) == {
        "media_type": "image/png",
        "total_bytes": 10,
        "media_category": "tweet_image",
    }
    assert seen[1].headers["content-type"].startswith("multipart/form-data")
    assert b'name="segment_index"\r\n\r\n0' in seen[1].content
    assert b"\x89PNG-bytes" in seen[1].content
    assert json.loads(seen[3].content) == {"text": "Hi", "media": {"media_ids": ["77"]}}


def problem(status: int, detail: str, type_: str = "about:blank") -> httpx.Response:
    body = {"title": "t", "detail": detail, "type": type_, "status": status}
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (problem(401, "Unauthorized"), AuthError),
        (
            problem(403, "You are not allowed to create a Tweet with duplicate content."),
            ContentError,
        ),
        (problem(403, "Unsupported Authentication"), AuthError),
        (problem(403, "You are not permitted to perform this action."), AuthError),
        (
            problem(403, "forbidden", "https://api.twitter.com/2/problems/client-forbidden"),
            AuthError,
        ),
        (problem(400, "One or more parameters to your request was invalid."), ContentError),
        (problem(422, "Unprocessable"), ContentError),
        (
            problem(429, "Too Many Requests", "https://api.twitter.com/2/problems/usage-capped"),
            RateLimitedError,
        ),
        (httpx.Response(429, text=""), RateLimitedError),
        (problem(503, "Service Unavailable"), TransientError),
        (httpx.Response(502, text="<html>Bad gateway</html>"), TransientError),
        (httpx.Response(401, text=""), AuthError),
    ],
)
def test_x_errors_map_into_the_taxonomy(response: httpx.Response, kind: type) -> None:
    error = x_error(response)
    assert type(error) is kind
    assert error.platform == "x"


def test_a_spent_daily_cap_outlasts_the_15_minute_window() -> None:
    headers = httpx.Headers(
        {
            "x-rate-limit-remaining": "150",
            "x-rate-limit-reset": "1000",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": "50000",
        }
    )
    assert rate_limit_reset(headers, now=0) == timedelta(seconds=50000)
    assert rate_limit_reset(httpx.Headers({}), now=0) is None


async def test_a_timeout_is_transient() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(TransientError, match="timed out"):
            await XProvider(http, "https://api.x.com", loopback_media()).publish(
                Credentials("9", "t"), PostContent(text="x"), Preparation()
            )


async def test_media_x_failed_to_process_makes_check_fail() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        info = {"state": "failed", "error": {"code": 1, "message": "InvalidMedia"}}
        return httpx.Response(200, json={"data": {"id": "5", "processing_info": info}})

    prepared = Preparation(ids={"media_ids": ["5"], "processing": ["5"]})
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        readiness = await XProvider(http, "https://api.x.com", loopback_media()).check(
            Credentials("9", "t"), prepared
        )
    assert (readiness.state, readiness.reason) == ("failed", "InvalidMedia")


async def test_alt_text_reaches_x_as_media_metadata_on_each_image(
    provider: XProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = PostContent(
        text="Described pictures",
        media_urls=[f"{sandbox.url}/x/media/one.png", f"{sandbox.url}/x/media/two.png"],
        media_alt=["A red kite over a hill", None],
    )

    prepared = await provider.prepare(account, content)
    await provider.publish(account, content, prepared)

    [post] = await posted(sandbox_http)
    assert post["alt"] == ["A red kite over a hill", None]


async def test_an_injected_503_on_the_alt_text_is_transient_and_a_retry_sends_it(
    provider: XProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    fault = {"method": "POST", "path": "^/x/2/media/metadata$", "times": 1, "status": 503}
    await sandbox_http.post("/_control/faults", json=fault)
    content = PostContent(
        text="Kite", media_urls=[f"{sandbox.url}/x/media/one.png"], media_alt=["A kite"]
    )

    with pytest.raises(TransientError):
        await provider.prepare(account, content)
    await provider.publish(account, content, await provider.prepare(account, content))

    [post] = await posted(sandbox_http)
    assert post["alt"] == ["A kite"]


async def test_the_exact_alt_text_request_follows_the_upload() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/initialize"):
            return httpx.Response(200, json={"data": {"id": "77", "media_key": "3_77"}})
        return httpx.Response(200, json={"data": {"id": "77"}})

    image = {"/a.png": (b"\x89PNG-bytes", "image/png")}
    async with (
        media_host(image) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
    ):
        content = PostContent(text="Hi", media_urls=[f"{host}/a.png"], media_alt=["A kite"])
        await XProvider(http, "https://api.x.com", loopback_media()).prepare(
            Credentials("9", "user-token"), content
        )

    assert [str(r.url) for r in seen][-2:] == [
        "https://api.x.com/2/media/upload/77/finalize",
        "https://api.x.com/2/media/metadata",
    ]
    assert json.loads(seen[-1].content) == {
        "id": "77",
        "metadata": {"alt_text": {"text": "A kite"}},
    }
