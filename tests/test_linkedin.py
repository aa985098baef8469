"""The LinkedIn provider against the sandbox's Posts API over real HTTP, and its exact requests.

One test stubs the transport, to check what goes on the wire; the rest talk to the sandbox.
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
from providers.linkedin import API_VERSION, LinkedInProvider
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.media import loopback_media, media_host
from tests.support.servers import RunningSandbox
from tests.support.waiting import eventually

ORG = "urn:li:organization:123"
PERSON = "urn:li:person:abc"
FEED = "https://www.linkedin.com/feed/update/"


def account(sandbox: RunningSandbox, author: str = ORG) -> Credentials:
    return reconcile.credentials(sandbox, Platform.LINKEDIN, author)


provider = reconcile.provider_fixture(LinkedInProvider, "linkedin")


async def posted(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.LINKEDIN)


fault = reconcile.inject


async def test_a_text_post_is_published_once_with_its_urn_and_feed_url(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    text = "Launch day (finally) #crier @team *bold* \\o/"
    published = await provider.publish(account(sandbox), PostContent(text=text))

    assert published.external_id.startswith("urn:li:share:")
    assert published.url == FEED + published.external_id
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"], post["url"]) == (
        published.external_id,
        ORG,
        published.url,
    )
    # The sandbox cuts the text at an unescaped reserved character, as LinkedIn does.
    assert post["text"] == text


async def test_an_article_link_carries_its_source(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    content = PostContent(text="Read this", link="https://example.com/a", title="A")
    await provider.publish(account(sandbox, PERSON), content)
    [post] = await posted(sandbox_http)
    assert (post["account"], post["link"], post["media"]) == (
        PERSON,
        "https://example.com/a",
        [],
    )


async def test_one_image_is_uploaded_checked_then_posted(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    content = PostContent(text="Photo", media_urls=[f"{sandbox.url}/linkedin/media/photo.jpg"])

    prepared = await provider.prepare(creds, content)
    [image] = prepared.ids["images"]
    assert image.startswith("urn:li:image:")
    assert (await provider.check(creds, prepared)).state == "ready"
    published = await provider.publish(creds, content, prepared)

    [post] = await posted(sandbox_http)
    assert post["id"] == published.external_id
    assert post["media"] == [image]


async def test_several_images_make_one_multi_image_post(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    urls = [f"{sandbox.url}/linkedin/media/{name}" for name in ("photo.jpg", "photo.png")]
    content = PostContent(text="Two photos", media_urls=urls)
    prepared = await provider.prepare(creds, content)
    assert (await provider.check(creds, prepared)).state == "ready"
    await provider.publish(creds, content, prepared)
    [post] = await posted(sandbox_http)
    assert post["media"] == prepared.ids["images"] and len(post["media"]) == 2


async def _upload_directly(
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
    creds: Credentials,
    data: bytes,
    processing_seconds: float,
) -> str:
    """The provider cannot ask for slow processing, so these tests upload through the sandbox
    endpoints themselves and hand the image to the provider's `check`."""
    headers = {
        "Authorization": f"Bearer {creds.access_token}",
        "LinkedIn-Version": API_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
        "X-Sandbox-Processing-Seconds": str(processing_seconds),
    }
    started = await sandbox_http.post(
        "/linkedin/rest/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": creds.external_id}},
        headers=headers,
    )
    value = started.json()["value"]
    put = await sandbox_http.put(
        value["uploadUrl"], content=data, headers={"Authorization": headers["Authorization"]}
    )
    assert put.status_code == 201
    return str(value["image"])


async def test_check_waits_while_an_image_is_processing(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    image = await _upload_directly(sandbox, sandbox_http, creds, b"\xff\xd8\xff jpeg", 0.5)
    prepared = Preparation(ids={"images": [image]})

    pending = await provider.check(creds, prepared)
    assert pending.state == "pending" and pending.check_after == timedelta(seconds=5)
    refused = provider.publish(creds, PostContent(text="too soon", media_urls=["x"]), prepared)
    with pytest.raises(ContentError, match="PROCESSING"):
        await refused

    async def ready() -> bool:
        return (await provider.check(creds, prepared)).state == "ready"

    await eventually(ready, what="the image to be processed")


async def test_check_reports_the_processing_failure_reason(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    good = await _upload_directly(sandbox, sandbox_http, creds, b"\x89PNG\r\n\x1a\n", 0)
    bad = await _upload_directly(sandbox, sandbox_http, creds, b"plain text", 0)
    readiness = await provider.check(creds, Preparation(ids={"images": [good, bad]}))
    assert readiness.state == "failed"
    assert readiness.reason is not None and "not a supported image" in readiness.reason


async def test_a_503_is_transient(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    body = {"status": 503, "message": "Service Unavailable"}
    await fault(sandbox_http, method="POST", path="/linkedin/rest/posts", status=503, body=body)
    with pytest.raises(TransientError, match="Service Unavailable"):
        await provider.publish(account(sandbox), PostContent(text="x"))
    assert await posted(sandbox_http) == []


async def test_a_429_waits_for_midnight_utc(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    body = {"status": 429, "message": "Resource level throttle limit reached"}
    await fault(sandbox_http, method="POST", path="/linkedin/rest/posts", status=429, body=body)
    with pytest.raises(RateLimitedError) as raised:
        await provider.publish(account(sandbox), PostContent(text="x"))
    wait = raised.value.retry_after
    assert wait is not None and timedelta(0) < wait <= timedelta(days=1)


async def test_a_repeated_post_is_a_duplicate_naming_the_live_post(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    first = await provider.publish(creds, PostContent(text="Same words"))
    with pytest.raises(ContentError) as raised:
        await provider.publish(creds, PostContent(text="Same words"))
    assert raised.value.http_status == 422 and raised.value.code == "DUPLICATE"
    assert first.external_id in raised.value.message
    assert len(await posted(sandbox_http)) == 1


async def test_an_over_long_text_is_refused(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    with pytest.raises(ContentError, match="3001"):
        await provider.publish(account(sandbox), PostContent(text="a" * 3001))
    assert await posted(sandbox_http) == []


async def test_a_forged_token_is_an_auth_error(
    sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    forged = Credentials(
        external_id=ORG, access_token=issue_token("not-the-secret", "linkedin", ORG)
    )
    with pytest.raises(AuthError) as raised:
        await provider.publish(forged, PostContent(text="x"))
    assert (raised.value.http_status, raised.value.code) == (401, "65600")


async def test_another_authors_token_is_access_denied(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = Credentials(external_id=ORG, access_token=account(sandbox, PERSON).access_token)
    with pytest.raises(AuthError) as raised:
        await provider.publish(creds, PostContent(text="x"))
    assert (raised.value.http_status, raised.value.code) == (403, "ACCESS_DENIED")


async def test_the_exact_request_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, headers={"x-restli-id": "urn:li:share:7"})

    creds = Credentials(external_id=ORG, access_token="tok")
    text = "Hi (you) #tag @[Acme](urn:li:organization:9) a_b\\c"
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        published = await LinkedInProvider(http, "https://api.example/", loopback_media()).publish(
            creds, PostContent(text=text, link="https://example.com/a")
        )

    assert published.url == "https://www.linkedin.com/feed/update/urn:li:share:7"
    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "https://api.example/rest/posts")
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["linkedin-version"] == "202601"
    assert request.headers["x-restli-protocol-version"] == "2.0.0"
    assert json.loads(request.content) == {
        "author": ORG,
        "commentary": r"Hi \(you\) \#tag @[Acme](urn:li:organization:9) a\_b\\c",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "content": {"article": {"source": "https://example.com/a"}},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


async def test_an_upload_sends_the_token_to_linkedin_but_never_to_the_media_host() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "PUT":
            return httpx.Response(201)
        upload = {"uploadUrl": "https://up.example/u/1", "image": "urn:li:image:C1"}
        return httpx.Response(200, json={"value": upload})

    creds = Credentials(external_id=ORG, access_token="tok")
    # The image comes from a real host through the guarded fetcher, never the platform client.
    async with (
        media_host({"/p.jpg": (b"\xff\xd8\xffjpeg", "image/jpeg")}) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
    ):
        prepared = await LinkedInProvider(http, "https://api.example", loopback_media()).prepare(
            creds, PostContent(text="x", media_urls=[f"{host}/p.jpg"])
        )

    assert prepared.ids == {"images": ["urn:li:image:C1"]}
    initialize, put = seen
    assert str(initialize.url) == "https://api.example/rest/images?action=initializeUpload"
    assert json.loads(initialize.content) == {"initializeUploadRequest": {"owner": ORG}}
    assert (put.method, str(put.url), put.content) == (
        "PUT",
        "https://up.example/u/1",
        b"\xff\xd8\xffjpeg",
    )
    assert put.headers["authorization"] == "Bearer tok"


@pytest.mark.parametrize(
    ("names", "alts"),
    [
        (("photo.jpg",), ["A team photo on the stairs"]),  # content.media
        (("photo.jpg", "photo.png"), ["A team photo", None]),  # content.multiImage
    ],
)
async def test_alt_text_rides_on_each_image_in_the_post(
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
    provider: LinkedInProvider,
    names: tuple[str, ...],
    alts: list[str | None],
) -> None:
    creds = account(sandbox)
    urls = [f"{sandbox.url}/linkedin/media/{name}" for name in names]
    content = PostContent(text="Described", media_urls=urls, media_alt=alts)
    prepared = await provider.prepare(creds, content)
    assert (await provider.check(creds, prepared)).state == "ready"
    await provider.publish(creds, content, prepared)

    [post] = await posted(sandbox_http)
    assert post["alt"] == alts
