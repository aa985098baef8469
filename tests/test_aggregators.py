"""The PostForMe and LATE providers and their failover, against the sandbox over real HTTP.

The session sandbox does not mount the aggregator routers yet, so this module serves its own
sandbox app with them added (the way tests/support/servers.py serves the shared one). Two
tests stub the transport instead, to pin each provider's exact request on the wire.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from core.config import Settings
from providers.aggregators import late as late_module
from providers.aggregators.failover import (
    ANSWER_LOST,
    AggregatorCandidate,
    publish_with_failover,
)
from providers.aggregators.late import LateProvider
from providers.aggregators.postforme import PostForMeProvider
from providers.base import PostContent
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
)
from sandbox import aggregators
from sandbox.app import create_app
from sandbox.tokens import issue_token
from tests.support.media import loopback_media, media_host
from tests.support.servers import RunningSandbox, free_port

TENANT, DEPLOYMENT = "tenant-1", "crier-deployment"
Provider = PostForMeProvider | LateProvider


@pytest.fixture(scope="module")
def agg_sandbox(sandbox_settings: Settings) -> Iterator[RunningSandbox]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(sandbox_settings, public_url=url)
    # Once sandbox/app.py mounts these itself, adding them again is skipped.
    if not any(getattr(route, "path", "") == "/late/posts" for route in app.routes):
        for router in (aggregators.control, aggregators.postforme, aggregators.late):
            app.include_router(router)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the aggregator sandbox did not start")
        time.sleep(0.01)
    try:
        yield RunningSandbox(url=url, secret=sandbox_settings.sandbox_secret.get_secret_value())
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
async def control(agg_sandbox: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=agg_sandbox.url, timeout=10) as client:
        (await client.post("/_control/reset")).raise_for_status()
        yield client


@pytest.fixture
def sent() -> list[str]:
    """Every "METHOD path" the providers' client sent, so a test can see who was asked."""
    return []


@pytest.fixture
async def http(control: httpx.AsyncClient, sent: list[str]) -> AsyncIterator[httpx.AsyncClient]:
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
    control: httpx.AsyncClient, name: str, customer: str = TENANT, platform: str = "linkedin"
) -> str:
    body = {"customer": customer, "platform": platform, "username": "acme"}
    answer = await control.post(f"/_control/aggregators/{name}/accounts", json=body)
    answer.raise_for_status()
    return str(answer.json()["data"]["id"])


async def posted(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = (await control.get("/_control/posts")).json()["data"]
    return posts


async def fault(control: httpx.AsyncClient, **spec: Any) -> None:
    (await control.post("/_control/faults", json=spec)).raise_for_status()


async def test_postforme_posts_an_image_through_the_presigned_flow(
    http: httpx.AsyncClient, control: httpx.AsyncClient, agg_sandbox: RunningSandbox
) -> None:
    account = await connect(control, "postforme")
    provider = make("postforme", http, agg_sandbox)
    content = PostContent(
        text="Hello via PostForMe", media_urls=[f"{agg_sandbox.url}/x/media/a.png"]
    )

    prepared = await provider.prepare(account, "linkedin", content)
    [hosted] = prepared.ids["media_urls"]
    assert hosted.startswith(f"{agg_sandbox.url}/postforme/media/")
    image = await http.get(hosted)
    assert image.headers["content-type"] == "image/png"
    assert image.content == (await http.get(f"{agg_sandbox.url}/x/media/a.png")).content
    assert (await provider.check(account, "linkedin", prepared)).state == "ready"
    assert await posted(control) == []

    published = await provider.publish(account, "linkedin", content, prepared)
    assert published.external_id.startswith("pfm_") and published.url is None
    [post] = await posted(control)
    assert (post["id"], post["account"], post["platform"]) == (
        published.external_id,
        account,
        "linkedin",
    )
    assert (post["text"], post["media"]) == ("Hello via PostForMe", [hosted])


async def test_late_posts_an_image_and_gives_the_platform_post_id_and_url(
    http: httpx.AsyncClient, control: httpx.AsyncClient, agg_sandbox: RunningSandbox
) -> None:
    account = await connect(control, "late", platform="twitter")
    provider = make("late", http, agg_sandbox)
    content = PostContent(text="Hello via LATE", media_urls=[f"{agg_sandbox.url}/x/media/b.png"])

    started = time.monotonic()
    prepared = await provider.prepare(account, "x", content)
    # The seed's "wait 1s for CDN propagation" after the PUT, before the publicUrl is used.
    assert time.monotonic() - started >= late_module.CDN_PROPAGATION.total_seconds()
    assert prepared.ids["profile_id"] == f"profile_{TENANT}"
    [item] = prepared.ids["media"]
    assert item["type"] == "image" and (await http.get(item["url"])).status_code == 200

    published = await provider.publish(account, "x", content, prepared)
    [post] = await posted(control)
    assert published.external_id == post["id"] and published.external_id.startswith("late_")
    assert published.url == post["url"] is not None
    assert (post["platform"], post["account"], post["media"]) == ("twitter", account, [item["url"]])


async def test_an_account_another_customer_connected_is_an_auth_error(
    http: httpx.AsyncClient, control: httpx.AsyncClient, agg_sandbox: RunningSandbox
) -> None:
    for name in ("postforme", "late"):
        account = await connect(control, name, customer="someone-else")
        with pytest.raises(AuthError) as caught:
            await make(name, http, agg_sandbox).prepare(account, "linkedin", PostContent(text="x"))
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
    http: httpx.AsyncClient, control: httpx.AsyncClient, agg_sandbox: RunningSandbox
) -> tuple[dict[str, str], dict[str, str]]:
    """Account refs and keys for the seed's four candidates, all valid."""
    refs, keys = {}, {}
    for owner, customer in (("tenant", TENANT), ("deployment", DEPLOYMENT)):
        for name in ("postforme", "late"):
            refs[f"{owner}:{name}"] = await connect(control, name, customer=customer)
            keys[f"{owner}:{name}"] = issue_token(agg_sandbox.secret, name, customer)
    return refs, keys


async def test_a_forged_tenant_postforme_key_fails_over_to_the_tenant_late_key(
    http: httpx.AsyncClient,
    control: httpx.AsyncClient,
    agg_sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    keys["tenant:postforme"] = issue_token("not-the-sandbox-secret", "postforme", TENANT)
    chain = candidates(http, agg_sandbox, refs, keys)

    published, label = await publish_with_failover(chain, "linkedin", PostContent(text="hi"))

    assert label == "tenant:late"
    [post] = await posted(control)
    assert (post["id"], post["account"]) == (published.external_id, refs["tenant:late"])


async def test_a_rate_limited_and_an_unavailable_aggregator_fall_through_to_the_deployment(
    http: httpx.AsyncClient,
    control: httpx.AsyncClient,
    agg_sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    busy = {"error": "rate_limited", "message": "slow down"}
    await fault(control, method="POST", path="^/postforme/social-posts$", status=429, body=busy)
    await fault(control, method="GET", path="^/late/accounts$", status=503)

    published, label = await publish_with_failover(
        candidates(http, agg_sandbox, refs, keys), "linkedin", PostContent(text="hi")
    )

    assert label == "deployment:postforme"
    [post] = await posted(control)
    assert (post["id"], post["account"]) == (published.external_id, refs["deployment:postforme"])


async def test_a_content_error_is_not_failed_over(
    http: httpx.AsyncClient,
    sent: list[str],
    control: httpx.AsyncClient,
    agg_sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    with pytest.raises(ContentError) as caught:
        # Neither text nor media: PostForMe refuses it, and so would every other aggregator.
        await publish_with_failover(
            candidates(http, agg_sandbox, refs, keys), "linkedin", PostContent(text="")
        )
    assert (caught.value.platform, caught.value.http_status) == ("postforme", 400)
    assert [call for call in sent if "/late/" in call] == []
    assert await posted(control) == []


async def test_a_timeout_on_publish_is_final_because_the_post_may_exist(
    control: httpx.AsyncClient,
    agg_sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    await fault(control, method="POST", path="^/postforme/social-posts$", delay=1.5, status=201)
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        chain = candidates(impatient, agg_sandbox, refs, keys)
        with pytest.raises(TransientError) as caught:
            await publish_with_failover(chain, "linkedin", PostContent(text="once only"))
    assert caught.value.code == ANSWER_LOST and caught.value.platform == "postforme"
    assert await posted(control) == []  # LATE was never asked


async def test_a_timeout_before_publish_fails_over(
    control: httpx.AsyncClient,
    agg_sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    await fault(control, method="GET", path="^/postforme/social-accounts$", delay=1.5)
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        chain = candidates(impatient, agg_sandbox, refs, keys)
        _, label = await publish_with_failover(chain, "linkedin", PostContent(text="prepared"))
    assert label == "tenant:late"


async def test_when_every_candidate_fails_the_last_error_names_them_all(
    http: httpx.AsyncClient,
    control: httpx.AsyncClient,
    agg_sandbox: RunningSandbox,
    four: tuple[dict[str, str], dict[str, str]],
) -> None:
    refs, keys = four
    keys["tenant:postforme"] = "sbx_forged.0000"
    refs["tenant:late"] = "late_acct_unknown"
    await fault(control, method="POST", path="^/postforme/social-posts$", status=502)
    await fault(
        control, method="POST", path="^/late/posts$", status=429, headers={"Retry-After": "7"}
    )

    with pytest.raises(RateLimitedError) as caught:
        await publish_with_failover(
            candidates(http, agg_sandbox, refs, keys), "linkedin", PostContent(text="hi")
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
    assert await posted(control) == []


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
    control: httpx.AsyncClient,
    agg_sandbox: RunningSandbox,
) -> None:
    account = await connect(control, name)
    provider = make(name, http, agg_sandbox)
    prepared = await provider.prepare(account, "linkedin", PostContent(text="hi"))
    path = "^/postforme/social-posts$" if name == "postforme" else "^/late/posts$"
    body = {"error": "boom", "message": f"the {status} words"}
    await fault(
        control, method="POST", path=path, status=status, body=body, headers={"Retry-After": "30"}
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
    name: str, http: httpx.AsyncClient, control: httpx.AsyncClient, agg_sandbox: RunningSandbox
) -> None:
    account = await connect(control, name)
    forged = make(name, http, agg_sandbox, key="sbx_forged.0000")
    with pytest.raises(AuthError) as auth:
        await forged.prepare(account, "linkedin", PostContent(text="hi"))
    assert auth.value.http_status == 401
    other = "late" if name == "postforme" else "postforme"
    with pytest.raises(AuthError):  # a genuine key, but the other aggregator's
        await make(name, http, agg_sandbox, issue_token(agg_sandbox.secret, other, TENANT)).prepare(
            account, "linkedin", PostContent(text="hi")
        )

    provider = make(name, http, agg_sandbox)
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


async def test_postforme_exact_requests_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        routes: dict[tuple[str, str], httpx.Response] = {
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
        }
        return routes[(request.method, request.url.path)]

    # The image comes from a real host through the guarded fetcher, never the platform client.
    async with (
        media_host({"/a.png": (b"PNG", "image/png")}) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client,
    ):
        content = PostContent(text="Hi", media_urls=[f"{host}/a.png"], link="https://l.example")
        provider = PostForMeProvider(
            client, "https://api.postforme.example/v1/", "sk-pfm", loopback_media()
        )
        prepared = await provider.prepare("sa_1", "x", content)
        published = await provider.publish("sa_1", "x", content, prepared)

    assert prepared.ids == {"media_urls": ["https://cdn.example/m1"]}
    assert (published.external_id, published.url) == ("post_9", None)
    assert [(r.method, str(r.url)) for r in seen] == [
        ("GET", "https://api.postforme.example/v1/social-accounts"),
        ("POST", "https://api.postforme.example/v1/media/create-upload-url"),
        ("PUT", "https://s3.example/put?sig=1"),
        ("POST", "https://api.postforme.example/v1/social-posts"),
    ]
    api = [r for r in seen if r.url.host == "api.postforme.example"]
    assert all(r.headers["authorization"] == "Bearer sk-pfm" for r in api)
    assert not any("authorization" in r.headers for r in seen if r not in api)
    assert json.loads(seen[1].content) == {"content_type": "image/png"}
    assert (seen[2].content, seen[2].headers["content-type"]) == (b"PNG", "image/png")
    assert json.loads(seen[3].content) == {
        "caption": "Hi\n\nhttps://l.example",
        "social_accounts": ["sa_1"],
        "media": [{"url": "https://cdn.example/m1"}],
    }


async def test_late_exact_requests_on_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(late_module, "CDN_PROPAGATION", timedelta(0))
    seen: list[httpx.Request] = []
    platforms = [
        {
            "platform": "twitter",
            "platformPostId": "189",
            "platformPostUrl": "https://x.com/a/status/189",
        }
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        routes: dict[tuple[str, str], httpx.Response] = {
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
        }
        return routes[(request.method, request.url.path)]

    async with (
        media_host({"/v.mp4": (b"MP4", "video/mp4")}) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client,
    ):
        content = PostContent(text="Clip", media_urls=[f"{host}/v.mp4"])
        provider = LateProvider(client, "https://late.example/api", "sk-late", loopback_media())
        prepared = await provider.prepare("acc_1", "x", content)
        published = await provider.publish("acc_1", "x", content, prepared)

    assert (published.external_id, published.url) == ("189", "https://x.com/a/status/189")
    assert [(r.method, str(r.url)) for r in seen] == [
        ("GET", "https://late.example/api/accounts"),
        ("POST", "https://late.example/api/media/presign"),
        ("PUT", "https://r2.example/up?sig=2"),
        ("POST", "https://late.example/api/posts"),
    ]
    api = [r for r in seen if r.url.host == "late.example"]
    assert all(r.headers["authorization"] == "Bearer sk-late" for r in api)
    assert not any("authorization" in r.headers for r in seen if r not in api)
    assert json.loads(seen[1].content) == {"filename": "v.mp4", "contentType": "video/mp4"}
    assert (seen[2].content, seen[2].headers["content-type"]) == (b"MP4", "video/mp4")
    assert json.loads(seen[3].content) == {
        "content": "Clip",
        "platforms": [{"platform": "twitter", "accountId": "acc_1", "profileId": "prof_1"}],
        "mediaItems": [{"url": "https://cdn.example/v", "type": "video"}],
    }
