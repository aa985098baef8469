"""The Pinterest provider against the sandbox over real HTTP, and its error mapping.

One test stubs the transport, to check exactly what goes on the wire; the rest talk to the
sandbox's Pinterest stand-in, whose video processing is scripted per status read.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from providers.pinterest import PinterestProvider, pinterest_error
from sandbox import pinterest as sandbox_pinterest
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.media import loopback_media, media_host
from tests.support.servers import RunningSandbox

BOARD = "549755885175"
IMAGE = "https://cdn.example.org/flat-white.jpg"


account = reconcile.account_fixture(Platform.PINTEREST, BOARD)
provider = reconcile.provider_fixture(PinterestProvider, "pinterest")


async def pins(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.PINTEREST)


async def script_next_media(sandbox_http: httpx.AsyncClient, *statuses: str) -> None:
    answer = await sandbox_http.post(
        "/_control/pinterest/next-media", json={"statuses": list(statuses)}
    )
    answer.raise_for_status()


def video(sandbox: RunningSandbox) -> PostContent:
    return PostContent(
        text="How to pour latte art\nThree steps, one jug.",
        media_urls=[f"{sandbox.url}/pinterest/media/pour.mp4"],
    )


async def test_an_image_pin_is_one_call_with_its_public_url(
    provider: PinterestProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(
        text="Flat white\nA double shot, thin milk.",
        media_urls=[IMAGE],
        link="https://example.org/recipes/flat-white",
    )
    prepared = await provider.prepare(account, content)
    assert prepared == Preparation()
    assert (await provider.check(account, prepared)).state == "ready"

    published = await provider.publish(account, content, prepared)

    assert published.external_id.isdigit()
    assert published.url == f"https://www.pinterest.com/pin/{published.external_id}/"
    [pin] = await pins(sandbox_http)
    assert (pin["id"], pin["account"], pin["url"]) == (published.external_id, BOARD, published.url)
    assert (pin["text"], pin["media"], pin["link"]) == (content.text, [IMAGE], content.link)


async def test_a_video_pin_waits_for_processing_then_publishes(
    provider: PinterestProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    await script_next_media(sandbox_http, "processing", "succeeded")
    content = video(sandbox)

    prepared = await provider.prepare(account, content)
    media_id = prepared.ids["media_id"]
    [media] = (await sandbox_http.get("/_control/pinterest/media")).json()["data"]
    assert (media["id"], media["board"], media["size"]) == (media_id, BOARD, 76)  # uploaded
    with pytest.raises(ContentError, match="processing, not succeeded"):
        await provider.publish(account, content, prepared)  # Pinterest refuses it unprocessed

    assert (await provider.check(account, prepared)).state == "pending"
    assert (await provider.check(account, prepared)).state == "ready"
    published = await provider.publish(account, content, prepared)

    [pin] = await pins(sandbox_http)
    assert (pin["id"], pin["media"]) == (published.external_id, [media_id])


async def test_a_video_pinterest_fails_to_process_fails_the_check(
    provider: PinterestProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    await script_next_media(sandbox_http, "processing", "failed")
    prepared = await provider.prepare(account, video(sandbox))

    assert (await provider.check(account, prepared)).state == "pending"
    failed = await provider.check(account, prepared)

    assert failed.state == "failed"
    assert failed.reason == (
        f"pinterest: the video failed to process (media {prepared.ids['media_id']})"
    )
    assert await pins(sandbox_http) == []


async def test_an_injected_503_is_transient_and_the_retry_pins(
    provider: PinterestProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    fault = {"method": "POST", "path": "^/pinterest/v5/pins$", "status": 503}
    body = {"code": 0, "message": "Service unavailable."}
    await sandbox_http.post("/_control/faults", json={**fault, "body": body})
    content = PostContent(text="Cortado", media_urls=[IMAGE])

    with pytest.raises(TransientError, match="Service unavailable") as caught:
        await provider.publish(account, content, Preparation())
    assert caught.value.http_status == 503
    assert await pins(sandbox_http) == []
    await provider.publish(account, content, Preparation())
    assert len(await pins(sandbox_http)) == 1


async def test_the_per_user_limit_answers_429_with_its_reset(
    provider: PinterestProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A wider window than the real second, so the test cannot outrun it on a slow machine.
    monkeypatch.setattr(sandbox_pinterest, "REQUESTS_PER_WINDOW", 2)
    monkeypatch.setattr(sandbox_pinterest, "WINDOW_SECONDS", 30.0)
    for n in range(2):
        await provider.publish(
            account, PostContent(text=f"pin {n}", media_urls=[IMAGE]), Preparation()
        )

    with pytest.raises(RateLimitedError) as caught:
        await provider.publish(
            account, PostContent(text="third", media_urls=[IMAGE]), Preparation()
        )
    assert caught.value.http_status == 429
    assert caught.value.retry_after is not None
    assert timedelta(seconds=28) <= caught.value.retry_after <= timedelta(seconds=30)
    assert len(await pins(sandbox_http)) == 2


async def test_a_429_without_retry_after_waits_the_documented_minute(
    provider: PinterestProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    body = {"code": 8, "message": "Rate limit exceeded."}
    fault = {"method": "POST", "path": "/pinterest/v5/pins", "status": 429, "body": body}
    await sandbox_http.post("/_control/faults", json=fault)

    with pytest.raises(RateLimitedError) as caught:
        await provider.publish(account, PostContent(text="x", media_urls=[IMAGE]), Preparation())
    assert caught.value.retry_after == timedelta(minutes=1)


async def test_an_unknown_board_is_a_content_error(
    provider: PinterestProvider, sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    # The token may pin to BOARD only; any other board is one Pinterest does not show it.
    elsewhere = Credentials("1099511627776", issue_token(sandbox.secret, "pinterest", BOARD))
    with pytest.raises(ContentError, match="Board not found") as caught:
        await provider.publish(elsewhere, PostContent(text="x", media_urls=[IMAGE]), Preparation())
    assert caught.value.http_status == 404
    assert await pins(sandbox_http) == []


async def test_a_title_over_100_characters_is_a_content_error(
    provider: PinterestProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="x", title="t" * 101, media_urls=[IMAGE])
    with pytest.raises(ContentError, match="title must be at most 100") as caught:
        await provider.publish(account, content, Preparation())
    assert caught.value.http_status == 400
    # A first line standing in for the title is cut to fit instead.
    await provider.publish(account, PostContent(text="w" * 300, media_urls=[IMAGE]), Preparation())
    assert len(await pins(sandbox_http)) == 1


@pytest.mark.parametrize(
    "token",
    [
        issue_token("not-the-sandbox-secret", "pinterest", BOARD),  # forged
        "sbx_garbage.0000",
    ],
)
async def test_a_forged_token_is_an_auth_error(
    provider: PinterestProvider, sandbox_http: httpx.AsyncClient, token: str
) -> None:
    with pytest.raises(AuthError) as caught:
        await provider.publish(
            Credentials(BOARD, token),
            PostContent(text="hi", media_urls=[IMAGE]),
            Preparation(),
        )
    assert caught.value.http_status == 401
    assert await pins(sandbox_http) == []


async def test_another_platforms_token_is_refused(
    provider: PinterestProvider, sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    other = Credentials(BOARD, issue_token(sandbox.secret, "instagram", BOARD))
    with pytest.raises(AuthError):
        await provider.prepare(other, video(sandbox))


async def test_the_exact_requests_of_a_video_pin() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "upload.example":
            return httpx.Response(204)
        if request.url.path == "/v5/media":
            registered = {
                "media_id": "7",
                "upload_url": "https://upload.example/",
                "upload_parameters": {"key": "uploads/7", "x-amz-signature": "sig"},
            }
            return httpx.Response(201, json=registered)
        if request.url.path == "/v5/media/7":
            return httpx.Response(200, json={"media_id": "7", "status": "succeeded"})
        return httpx.Response(201, json={"id": "813", "board_id": "42"})

    account = Credentials("42", "user-token")
    # The video comes from a real host through the guarded fetcher, never the platform client.
    async with (
        media_host({"/pour.mp4": (b"MP4-bytes", "video/mp4")}) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
    ):
        content = PostContent(
            text="Latte art\nIn three steps.",
            media_urls=[f"{host}/pour.mp4"],
            link="https://example.org/latte",
            options={"alt_text": "A jug pouring milk"},
        )
        pinterest = PinterestProvider(http, "https://api.pinterest.com", loopback_media())
        prepared = await pinterest.prepare(account, content)
        readiness = await pinterest.check(account, prepared)
        published = await pinterest.publish(account, content, prepared)

    assert prepared.ids == {"media_id": "7"}
    assert readiness.state == "ready"
    assert published.url == "https://www.pinterest.com/pin/813/"
    assert [(r.method, str(r.url)) for r in seen] == [
        ("POST", "https://api.pinterest.com/v5/media"),
        ("POST", "https://upload.example/"),
        ("GET", "https://api.pinterest.com/v5/media/7"),
        ("POST", "https://api.pinterest.com/v5/pins"),
    ]
    api = [seen[0], seen[2], seen[3]]
    assert all(r.headers["authorization"] == "Bearer user-token" for r in api)
    assert "authorization" not in seen[1].headers
    assert all("user-token" not in str(r.url) for r in seen)
    assert json.loads(seen[0].content) == {"media_type": "video"}
    assert b'name="x-amz-signature"\r\n\r\nsig' in seen[1].content
    assert b'name="file"' in seen[1].content and b"MP4-bytes" in seen[1].content
    assert json.loads(seen[3].content) == {
        "board_id": "42",
        "title": "Latte art",
        "description": "Latte art\nIn three steps.",
        "link": "https://example.org/latte",
        "alt_text": "A jug pouring milk",
        "media_source": {
            "source_type": "video_id",
            "media_id": "7",
            "cover_image_key_frame_time": 0,
        },
    }


async def test_the_exact_request_of_an_image_pin() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "814"})

    content = PostContent(text="Flat white", title="The flat white", media_urls=[IMAGE])
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        published = await PinterestProvider(
            http, "https://api.pinterest.com/", loopback_media()
        ).publish(Credentials("42", "user-token"), content, Preparation())

    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "https://api.pinterest.com/v5/pins")
    assert json.loads(request.content) == {
        "board_id": "42",
        "title": "The flat white",
        "description": "Flat white",
        "media_source": {"source_type": "image_url", "url": IMAGE},
    }
    assert published.external_id == "814"


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (httpx.Response(401, json={"code": 2, "message": "Authentication failed."}), AuthError),
        (httpx.Response(403, json={"code": 3, "message": "Not permitted."}), AuthError),
        (httpx.Response(404, json={"code": 2, "message": "Board not found."}), ContentError),
        (httpx.Response(400, json={"code": 1, "message": "Invalid parameters."}), ContentError),
        (httpx.Response(429, json={"code": 8, "message": "Slow down."}), RateLimitedError),
        (httpx.Response(500, json={"code": 0, "message": "Oops."}), TransientError),
        (httpx.Response(502, text="<html>Bad gateway</html>"), TransientError),
        (httpx.Response(401, text=""), AuthError),
    ],
)
def test_pinterest_errors_map_into_the_taxonomy(response: httpx.Response, kind: type) -> None:
    error = pinterest_error(response)
    assert type(error) is kind
    assert error.platform == "pinterest"


def test_a_retry_after_header_wins_over_the_documented_window() -> None:
    limited = httpx.Response(429, headers={"retry-after": "7"}, json={"code": 8, "message": "x"})
    error = pinterest_error(limited)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == timedelta(seconds=7)


@pytest.mark.parametrize(
    ("media_alt", "options", "arrived"),
    [
        (["A flat white from above"], {"alt_text": "the option's"}, "A flat white from above"),
        ([None], {"alt_text": "the option's"}, "the option's"),  # the option still works
        ([], {}, None),
    ],
)
async def test_the_pins_alt_text_is_its_images_else_the_option(
    provider: PinterestProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    media_alt: list[str | None],
    options: dict[str, str],
    arrived: str | None,
) -> None:
    content = PostContent(
        text="Flat white", media_urls=[IMAGE], media_alt=media_alt, options=options
    )
    await provider.publish(account, content, await provider.prepare(account, content))

    [pin] = await pins(sandbox_http)
    assert pin["alt"] == [arrived]
