"""The API is server to server (seed 004: "browser origins are rejected"): a request a browser
made is refused with 403 `browser_origin_refused` on every route, before it does anything, while
the pages, the codec, the OAuth callback, the docs and the probes stay open to browsers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from core.config import Settings
from core.db import Database
from core.status import Platform
from tests.support.api import api_client, bearer
from tests.support.factories import TenantFixture, make_account, make_tenant

# What browsers send, one mark at a time, and all of them as a cross-origin fetch does.
BROWSERS: dict[str, dict[str, str]] = {
    "Origin": {"Origin": "https://app.example"},
    "Sec-Fetch-Site": {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "same-origin"},
    "Sec-Fetch-Mode": {"Sec-Fetch-Mode": "navigate"},
    "fetch": {
        "Origin": "https://app.example",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "cors",
        "Sec-Fetch-Dest": "empty",
    },
}
NAVIGATION = {
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
}
EXEMPT_ROUTES = {("GET", "/v1/oauth/{platform}/callback")}


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    # Nothing listens on port 1: /readyz answers at once that Temporal is unreachable.
    offline = settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    async with api_client(offline, None) as client:
        yield client


@pytest.fixture
async def tenant(db: Database) -> TenantFixture:
    return await make_tenant(db)


def refused_for_a_browser(answer: httpx.Response) -> bool:
    if answer.status_code != 403 or "json" not in answer.headers.get("content-type", ""):
        return False
    code: str = answer.json()["error"]["code"]
    return code == "browser_origin_refused"


async def test_every_api_route_refuses_a_browser_and_does_nothing(
    api: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    schema = (await api.get("/openapi.json")).json()
    routes = [
        (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method in methods
        if (method.upper(), path) not in EXEMPT_ROUTES and path not in ("/healthz", "/readyz")
    ]
    assert ("POST", "/v1/posts") in routes and len(routes) > 30
    for method, template in routes:
        path = re.sub(r"\{[^}]+\}", "x", template)
        for mark, headers in BROWSERS.items():
            body = {"body": "from a browser", "targets": []} if method != "GET" else None
            answer = await api.request(
                method, path, json=body, headers={**bearer(tenant.api_key), **headers}
            )
            assert refused_for_a_browser(answer), (method, template, mark, answer.text)
            error = answer.json()["error"]
            named = {tuple(d["loc"])[1] for d in error["details"]}
            if mark != "fetch":
                assert named == {mark}, (method, template, named)
            assert "server to server" in error["message"]
            # Refused before authentication: no key is needed to be told.
            anonymous = await api.request(method, path, json=body, headers=headers)
            assert refused_for_a_browser(anonymous), (method, template, mark)
    # Nothing any of them asked for happened.
    posts = await api.get("/v1/posts", headers=bearer(tenant.api_key))
    assert posts.status_code == 200 and posts.json()["data"] == []


async def test_a_server_to_server_call_is_served(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture
) -> None:
    account = await make_account(db, settings, tenant, Platform.X, "1600000000000000001")
    listed = await api.get("/v1/accounts", headers=bearer(tenant.api_key))
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["data"]] == [account.id]
    # Node.js's own fetch (undici) sends `Sec-Fetch-Mode: cors` from servers too, and nothing
    # else a browser sends: it is a server.
    node = {"Sec-Fetch-Mode": "cors", "User-Agent": "node"}
    created = await api.post(
        "/v1/posts",
        json={"body": "from a server", "targets": [{"account_id": account.id}]},
        headers={**bearer(tenant.api_key), **node},
    )
    assert created.status_code == 201, created.text


async def test_a_cors_preflight_is_refused_so_the_browser_never_sends_the_call(
    api: httpx.AsyncClient,
) -> None:
    preflight = await api.options(
        "/v1/posts",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
            "Sec-Fetch-Mode": "cors",
            "Sec-Fetch-Site": "cross-site",
        },
    )
    assert refused_for_a_browser(preflight), preflight.text
    assert not any(name.startswith("access-control-") for name in preflight.headers)


async def test_pages_codec_oauth_callback_docs_and_probes_stay_open_to_browsers(
    api: httpx.AsyncClient,
) -> None:
    cross_site_fetch = BROWSERS["fetch"]
    for method, path, headers, expected in (
        ("GET", "/ui/sign-in", NAVIGATION, 200),
        ("GET", "/v1/oauth/x/callback", NAVIGATION, 400),  # no state: refused by the route
        ("GET", "/docs", NAVIGATION, 200),
        ("GET", "/redoc", NAVIGATION, 200),
        ("GET", "/openapi.json", cross_site_fetch, 200),
        ("GET", "/healthz", NAVIGATION, 200),
        ("GET", "/readyz", NAVIGATION, 503),
        ("GET", "/metrics", NAVIGATION, 200),
    ):
        answer = await api.request(method, path, headers=headers)
        assert answer.status_code == expected, (path, answer.text)
    # The codec answers for itself (its own CORS and key check), whatever it decides.
    codec = await api.post("/codec/decode", json={"payloads": []}, headers=cross_site_fetch)
    assert not refused_for_a_browser(codec), codec.text
    callback = await api.get("/v1/oauth/x/callback", headers=NAVIGATION)
    assert callback.json()["error"]["code"] == "invalid_state"


async def test_paths_that_only_look_exempt_are_refused(api: httpx.AsyncClient) -> None:
    for path in (
        "/uix",
        "/codecs/decode",
        "/v1/oauth/x/callback/more",
        "/v1/oauth/return-origins",
        "/healthz/more",
        "/nowhere",
    ):
        answer = await api.get(path, headers=BROWSERS["Origin"])
        assert refused_for_a_browser(answer), (path, answer.status_code)
