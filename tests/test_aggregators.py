"""The PostForMe and LATE providers and their failover, against the sandbox over real HTTP.

The session sandbox does not mount the aggregator routers yet, so this module serves its own
sandbox app with them added (`running_sandbox(..., extend=...)`). Two tests stub the
transport instead, to pin each provider's exact request on the wire.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from core.config import Settings
from providers.aggregators import late as late_module
from providers.aggregators.failover import (
    ANSWER_LOST,
    AggregatorCandidate,
    publish_with_failover,
)
from providers.aggregators.late import LateProvider
from providers.aggregators.postforme import PostForMeProvider
from providers.base import PostContent, Preparation, Published
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
)
from sandbox import aggregators
from sandbox.tokens import issue_token
from tests.support.media import loopback_media, media_host
from tests.support.servers import RunningSandbox, running_sandbox

TENANT, DEPLOYMENT = "tenant-1", "crier-deployment"
Provider = PostForMeProvider | LateProvider


def with_aggregators(app: FastAPI) -> None:
    # Once sandbox/app.py mounts these itself, adding them again is skipped.
    if not any(getattr(route, "path", "") == "/late/posts" for route in app.routes):
        for router in (aggregators.control, aggregators.postforme, aggregators.late):
            app.include_router(router)


@pytest.fixture(scope="module")
def sandbox(sandbox_settings: Settings) -> Iterator[RunningSandbox]:
    """This module's sandbox, in place of the session's: the same app, with the aggregators'
    routers (`sandbox_http`, its control API reset for every test, follows it here)."""
    with running_sandbox(sandbox_settings, extend=with_aggregators) as running:
        yield running


@pytest.fixture
def sent() -> list[str]:
    """Every "METHOD path" the providers' client sent, so a test can see who was asked."""
    return []


@pytest.fixture
async def http(
    sandbox_http: httpx.AsyncClient, sent: list[str]
) -> AsyncIterator[httpx.AsyncClient]:
    async def record(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    async with httpx.AsyncClient(timeout=5, event_hooks={"request": [record]}) as client:
        yield client


def make(
    name: str, http: httpx.AsyncClient, sandbox: RunningSandbox, key: str | None = None
) -> Provider:
    key = key or issue_token(sandbox.secret, name, TENANT)
    cls = PostForMeProvider if name == "postforme" else LateProvider
    return cls(http, f"{sandbox.url}/{name}", key, loopback_media())


async def connect(
    sandbox_http: httpx.AsyncClient, name: str, customer: str = TENANT, platform: str = "linkedin"
) -> str:
    body = {"customer": customer, "platform": platform, "username": "acme"}
    answer = await sandbox_http.post(f"/_control/aggregators/{name}/accounts", json=body)
    answer.raise_for_status()
    return str(answer.json()["data"]["id"])


async def posted(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = (await sandbox_http.get("/_control/posts")).json()["data"]
    return posts


async def fault(sandbox_http: httpx.AsyncClient, **spec: Any) -> None:
    (await sandbox_http.post("/_control/faults", json=spec)).raise_for_status()


async def test_postforme_posts_an_image_through_the_presigned_flow(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    account = await connect(sandbox_http, "postforme")
    provider = make("postforme", http, sandbox)
    content = PostContent(text="Hello via PostForMe", media_urls=[f"{sandbox.url}/x/media/a.png"])

    prepared = await provider.prepare(account, "linkedin", content)
    [hosted] = prepared.ids["media_urls"]
    assert hosted.startswith(f"{sandbox.url}/postforme/media/")
    image = await http.get(hosted)
    assert image.headers["content-type"] == "image/png"
    assert image.content == (await http.get(f"{sandbox.url}/x/media/a.png")).content
    assert (await provider.check(account, "linkedin", prepared)).state == "ready"
    assert await posted(sandbox_http) == []

    published = await provider.publish(account, "linkedin", content, prepared)
    assert published.external_id.startswith("pfm_") and published.url is None
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"], post["platform"]) == (
        published.external_id,
        account,
        "linkedin",
    )
    assert (post["text"], post["media"]) == ("Hello via PostForMe", [hosted])


async def test_late_posts_an_image_and_gives_the_platform_post_id_and_url(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    account = await connect(sandbox_http, "late", platform="twitter")
    provider = make("late", http, sandbox)
    content = PostContent(text="Hello via LATE", media_urls=[f"{sandbox.url}/x/media/b.png"])

    started = time.monotonic()
    prepared = await provider.prepare(account, "x", content)
    # The seed's "wait 1s for CDN propagation" after the PUT, before the publicUrl is used.
    assert time.monotonic() - started >= late_module.CDN_PROPAGATION.total_seconds()
    assert prepared.ids["profile_id"] == f"profile_{TENANT}"
    [item] = prepared.ids["media"]
    assert item["type"] == "image" and (await http.get(item["url"])).status_code == 200

    published = await provider.publish(account, "x", content, prepared)
    [post] = await posted(sandbox_http)
    assert published.external_id == post["id"] and published.external_id.startswith("late_")
    assert published.url == post["url"] is not None
    assert (post["platform"], post["account"], post["media"]) == ("twitter", account, [item["url"]])


async def test_an_account_another_customer_connected_is_an_auth_error(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    for name in ("postforme", "late"):
        account = await connect(sandbox_http, name, customer="someone-else")
        with pytest.raises(AuthError) as caught:
            await make(name, http, sandbox).prepare(account, "linkedin", PostContent(text="x"))
        assert caught.value.code == "account_not_connected"


def candidates(
    http: httpx.AsyncClient, sandbox: RunningSandbox, refs: dict[str, str], keys: dict[str, str]
) -> list[AggregatorCandidate]:
    order = ("tenant:postforme", "tenant:late", "deployment:postforme", "deployment:late")
    return [
        AggregatorCandidate(
            make(label.split(":")[1], http, sandbox, keys[label]), refs[label], label
        )
        for label in order
    ]


@pytest.fixture
async def four(
    http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, sandbox: RunningSandbox
) -> tuple[dict[str, str], dict[str, str]]:
    """Account refs and keys for the seed's four candidates, all valid."""
    refs, keys = {}, {}
    for owner, customer in (("tenant", TENANT), ("deployment", DEPLOYMENT)):
        for name in ("postforme", "late"):
            refs[f"{owner}:{name}"] = await connect(sandbox_http, name, customer=customer)
            keys[f"{owner}:{name}"] = issue_token(sandbox.secret, name, customer)
    return refs, keys


async def test_a_forged_tenant_postforme_key_fails_over_to_the_tenant_late_key(
    http: httpx.AsyncClient,
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    keys["tenant:postforme"] = issue_token("not-the-sandbox-secret", "postforme", TENANT)
    chain = candidates(http, sandbox, refs, keys)

    published, label = await publish_with_failover(chain, "linkedin", PostContent(text="hi"))

    assert label == "tenant:late"
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"]) == (published.external_id, refs["tenant:late"])


async def test_a_rate_limited_and_an_unavailable_aggregator_fall_through_to_the_deployment(
    http: httpx.AsyncClient,
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    busy = {"error": "rate_limited", "message": "slow down"}
    await fault(
        sandbox_http, method="POST", path="^/postforme/social-posts$", status=429, body=busy
    )
    await fault(sandbox_http, method="GET", path="^/late/accounts$", status=503)

    published, label = await publish_with_failover(
        candidates(http, sandbox, refs, keys), "linkedin", PostContent(text="hi")
    )

    assert label == "deployment:postforme"
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"]) == (published.external_id, refs["deployment:postforme"])


async def test_a_content_error_is_not_failed_over(
    http: httpx.AsyncClient,
    sent: list[str],
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    with pytest.raises(ContentError) as caught:
        # Neither text nor media: PostForMe refuses it, and so would every other aggregator.
        await publish_with_failover(
            candidates(http, sandbox, refs, keys), "linkedin", PostContent(text="")
        )
    assert (caught.value.platform, caught.value.http_status) == ("postforme", 400)
    assert [call for call in sent if "/late/" in call] == []
    assert await posted(sandbox_http) == []


async def test_a_timeout_on_publish_is_final_because_the_post_may_exist(
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    await fault(
        sandbox_http, method="POST", path="^/postforme/social-posts$", delay=1.5, status=201
    )
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        chain = candidates(impatient, sandbox, refs, keys)
        with pytest.raises(TransientError) as caught:
            await publish_with_failover(chain, "linkedin", PostContent(text="once only"))
    assert caught.value.code == ANSWER_LOST and caught.value.platform == "postforme"
    assert await posted(sandbox_http) == []  # LATE was never asked


async def test_a_timeout_before_publish_fails_over(
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    await fault(sandbox_http, method="GET", path="^/postforme/social-accounts$", delay=1.5)
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        chain = candidates(impatient, sandbox, refs, keys)
        _, label = await publish_with_failover(chain, "linkedin", PostContent(text="prepared"))
    assert label == "tenant:late"


async def test_when_every_candidate_fails_the_last_error_names_them_all(
    http: httpx.AsyncClient,
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    keys["tenant:postforme"] = "sbx_forged.0000"
    refs["tenant:late"] = "late_acct_unknown"
    await fault(sandbox_http, method="POST", path="^/postforme/social-posts$", status=502)
    await fault(
        sandbox_http, method="POST", path="^/late/posts$", status=429, headers={"Retry-After": "7"}
    )

    with pytest.raises(RateLimitedError) as caught:
        await publish_with_failover(
            candidates(http, sandbox, refs, keys), "linkedin", PostContent(text="hi")
        )

    assert caught.value.retry_after == timedelta(seconds=7)
    message = str(caught.value)
    for label, kind in (
        ("tenant:postforme", "auth"),
        ("tenant:late", "auth"),
        ("deployment:postforme", "transient"),
        ("deployment:late", "rate_limited"),
    ):
        assert f"{label}: {kind}" in message
    assert await posted(sandbox_http) == []


@pytest.mark.parametrize("name", ["postforme", "late"])
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ContentError),
        (401, AuthError),
        (403, AuthError),
        (404, ContentError),
        (429, RateLimitedError),
        (500, TransientError),
        (503, TransientError),
    ],
)
async def test_each_error_status_maps_into_the_taxonomy(
    name: str,
    status: int,
    kind: type[ProviderError],
    http: httpx.AsyncClient,
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
) -> None:
    account = await connect(sandbox_http, name)
    provider = make(name, http, sandbox)
    prepared = await provider.prepare(account, "linkedin", PostContent(text="hi"))
    path = "^/postforme/social-posts$" if name == "postforme" else "^/late/posts$"
    body = {"error": "boom", "message": f"the {status} words"}
    await fault(
        sandbox_http,
        method="POST",
        path=path,
        status=status,
        body=body,
        headers={"Retry-After": "30"},
    )

    with pytest.raises(ProviderError) as caught:
        await provider.publish(account, "linkedin", PostContent(text="hi"), prepared)

    assert type(caught.value) is kind
    assert (caught.value.platform, caught.value.http_status) == (name, status)
    assert (caught.value.message, caught.value.code) == (f"the {status} words", "boom")
    if isinstance(caught.value, RateLimitedError):
        assert caught.value.retry_after == timedelta(seconds=30)


@pytest.mark.parametrize("name", ["postforme", "late"])
async def test_the_sandbox_own_refusals_map_too(
    name: str, http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    account = await connect(sandbox_http, name)
    forged = make(name, http, sandbox, key="sbx_forged.0000")
    with pytest.raises(AuthError) as auth:
        await forged.prepare(account, "linkedin", PostContent(text="hi"))
    assert auth.value.http_status == 401
    other = "late" if name == "postforme" else "postforme"
    with pytest.raises(AuthError):  # a genuine key, but the other aggregator's
        await make(name, http, sandbox, issue_token(sandbox.secret, other, TENANT)).prepare(
            account, "linkedin", PostContent(text="hi")
        )

    provider = make(name, http, sandbox)
    prepared = await provider.prepare(account, "linkedin", PostContent(text="hi"))
    with pytest.raises(ContentError) as empty:
        await provider.publish(account, "linkedin", PostContent(text=""), prepared)
    assert empty.value.http_status == 400

    with pytest.raises(TransientError) as unreachable:
        await PostForMeProvider(http, "http://127.0.0.1:9", "k", loopback_media()).prepare(
            account, "linkedin", PostContent(text="hi")
        )
    assert unreachable.value.code is None  # never reached: safe to try elsewhere


@pytest.mark.parametrize("name", ["postforme", "late"])
async def test_the_key_stays_out_of_repr(name: str) -> None:
    async with httpx.AsyncClient() as client:
        provider = make(name, client, RunningSandbox("https://agg.example", "s"), "sk-123")
        assert "sk-123" not in repr(provider) and "agg.example" in repr(provider)


async def through_a_stub(
    provider_on: Callable[[httpx.AsyncClient], Provider],
    routes: dict[tuple[str, str], httpx.Response],
    media: tuple[str, bytes, str],
    account: str,
    **content: str,
) -> tuple[Preparation, Published, list[httpx.Request]]:
    """A post to X with one media file (`media`: its path, bytes and type), prepared and
    published by `provider_on` a client whose transport answers `routes` (by method and path);
    returns what prepare and publish gave and every request sent."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return routes[(request.method, request.url.path)]

    path, body, kind = media
    # The media comes from a real host through the guarded fetcher, never the platform client.
    async with (
        media_host({path: (body, kind)}) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client,
    ):
        post = PostContent(media_urls=[f"{host}{path}"], **content)
        provider = provider_on(client)
        prepared = await provider.prepare(account, "x", post)
        published = await provider.publish(account, "x", post, prepared)
    return prepared, published, seen


def only_the_api_is_sent_the_key(seen: list[httpx.Request], host: str, key: str) -> None:
    api = [r for r in seen if r.url.host == host]
    assert all(r.headers["authorization"] == f"Bearer {key}" for r in api)
    assert not any("authorization" in r.headers for r in seen if r not in api)


async def test_postforme_exact_requests_on_the_wire() -> None:
    prepared, published, seen = await through_a_stub(
        lambda client: PostForMeProvider(
            client, "https://api.postforme.example/v1/", "sk-pfm", loopback_media()
        ),
        {
            ("GET", "/v1/social-accounts"): httpx.Response(
                200, json={"data": [{"id": "sa_1", "platform": "x", "username": "a"}]}
            ),
            ("POST", "/v1/media/create-upload-url"): httpx.Response(
                200,
                json={
                    "upload_url": "https://s3.example/put?sig=1",
                    "media_url": "https://cdn.example/m1",
                },
            ),
            ("PUT", "/put"): httpx.Response(200),
            ("POST", "/v1/social-posts"): httpx.Response(201, json={"data": {"id": "post_9"}}),
        },
        ("/a.png", b"PNG", "image/png"),
        "sa_1",
        text="Hi",
        link="https://l.example",
    )

    assert prepared.ids == {"media_urls": ["https://cdn.example/m1"]}
    assert (published.external_id, published.url) == ("post_9", None)
    assert [(r.method, str(r.url)) for r in seen] == [
        ("GET", "https://api.postforme.example/v1/social-accounts"),
        ("POST", "https://api.postforme.example/v1/media/create-upload-url"),
        ("PUT", "https://s3.example/put?sig=1"),
        ("POST", "https://api.postforme.example/v1/social-posts"),
    ]
    only_the_api_is_sent_the_key(seen, "api.postforme.example", "sk-pfm")
    assert json.loads(seen[1].content) == {"content_type": "image/png"}
    assert (seen[2].content, seen[2].headers["content-type"]) == (b"PNG", "image/png")
    assert json.loads(seen[3].content) == {
        "caption": "Hi\n\nhttps://l.example",
        "social_accounts": ["sa_1"],
        "media": [{"url": "https://cdn.example/m1"}],
    }


async def test_late_exact_requests_on_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(late_module, "CDN_PROPAGATION", timedelta(0))
    platforms = [
        {
            "platform": "twitter",
            "platformPostId": "189",
            "platformPostUrl": "https://x.com/a/status/189",
        }
    ]

    _, published, seen = await through_a_stub(
        lambda client: LateProvider(
            client, "https://late.example/api", "sk-late", loopback_media()
        ),
        {
            ("GET", "/api/accounts"): httpx.Response(
                200,
                json={
                    "accounts": [
                        {
                            "_id": "acc_1",
                            "platform": "twitter",
                            "username": "a",
                            "profileId": "prof_1",
                        }
                    ]
                },
            ),
            ("POST", "/api/media/presign"): httpx.Response(
                200,
                json={
                    "uploadUrl": "https://r2.example/up?sig=2",
                    "publicUrl": "https://cdn.example/v",
                },
            ),
            ("PUT", "/up"): httpx.Response(200),
            ("POST", "/api/posts"): httpx.Response(
                201, json={"post": {"_id": "p_1", "platforms": platforms}}
            ),
        },
        ("/v.mp4", b"MP4", "video/mp4"),
        "acc_1",
        text="Clip",
    )

    assert (published.external_id, published.url) == ("189", "https://x.com/a/status/189")
    assert [(r.method, str(r.url)) for r in seen] == [
        ("GET", "https://late.example/api/accounts"),
        ("POST", "https://late.example/api/media/presign"),
        ("PUT", "https://r2.example/up?sig=2"),
        ("POST", "https://late.example/api/posts"),
    ]
    only_the_api_is_sent_the_key(seen, "late.example", "sk-late")
    assert json.loads(seen[1].content) == {"filename": "v.mp4", "contentType": "video/mp4"}
    assert (seen[2].content, seen[2].headers["content-type"]) == (b"MP4", "video/mp4")
    assert json.loads(seen[3].content) == {
        "content": "Clip",
        "platforms": [{"platform": "twitter", "accountId": "acc_1", "profileId": "prof_1"}],
        "mediaItems": [{"url": "https://cdn.example/v", "type": "video"}],
    }
