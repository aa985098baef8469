"""OAuth's `return_to` sends the person's browser only to an origin the tenant registered, in
the caller's mode (S19): crier's callback is no open redirect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from core.config import OAuthClientSettings, Settings
from core.db import Database
from tests.support.api import api_client, bearer, callback, start_connect
from tests.support.factories import TenantFixture, add_key, make_tenant
from tests.support.oauth import consent

ORIGINS = "/v1/oauth/return-origins"


@pytest.fixture
async def api(
    settings: Settings, db: Database, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, None) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def tenant(db: Database) -> TenantFixture:
    return await make_tenant(db)


async def register(api: httpx.AsyncClient, key: str, origin: str) -> httpx.Response:
    return await api.post(ORIGINS, json={"origin": origin}, headers=bearer(key))


async def listed(api: httpx.AsyncClient, key: str) -> list[str]:
    answer = await api.get(ORIGINS, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    return [row["origin"] for row in answer.json()["data"]]


async def connect(api: httpx.AsyncClient, key: str, return_to: str) -> httpx.Response:
    return await api.post(
        "/v1/accounts/x/connect", json={"return_to": return_to}, headers=bearer(key)
    )


def error(answer: httpx.Response) -> dict[str, Any]:
    found: dict[str, Any] = answer.json()["error"]
    return found


async def test_origins_are_registered_normalised_listed_and_removed(
    api: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    first = await register(api, tenant.api_key, " HTTPS://App.Example:443/ ")
    assert first.status_code == 201, first.text
    assert first.json()["data"]["origin"] == "https://app.example"
    again = await register(api, tenant.api_key, "https://app.example")
    assert again.status_code == 200  # already there: the same registration, no error
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    local = await register(api, tenant.api_key, "http://localhost:3000")
    assert local.status_code == 201, local.text  # http is for development only
    idn = await register(api, tenant.api_key, "https://Bücher.example:8443")
    assert idn.json()["data"]["origin"] == "https://xn--bcher-kva.example:8443"
    assert sorted(await listed(api, tenant.api_key)) == [
        "http://localhost:3000",
        "https://app.example",
        "https://xn--bcher-kva.example:8443",
    ]

    origin_id = first.json()["data"]["id"]
    gone = await api.delete(f"{ORIGINS}/{origin_id}", headers=bearer(tenant.api_key))
    assert gone.status_code == 204
    assert "https://app.example" not in await listed(api, tenant.api_key)
    twice = await api.delete(f"{ORIGINS}/{origin_id}", headers=bearer(tenant.api_key))
    assert twice.status_code == 404


async def test_what_is_not_an_origin_is_refused_naming_every_problem(
    api: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    answer = await register(api, tenant.api_key, "https://me:pw@app.example/back?x=1#top")
    assert answer.status_code == 422
    problems = error(answer)["details"]
    assert {tuple(p["loc"]) for p in problems} == {("body", "origin")}
    said = " | ".join(p["msg"] for p in problems)
    for word in ("password", "path", "query", "fragment"):
        assert word in said, said
    for bad in ("ftp://app.example", "app.example", "https://", ""):
        refused = await register(api, tenant.api_key, bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert error(refused)["details"][0]["loc"] == ["body", "origin"]
    extra = await api.post(
        ORIGINS, json={"origin": "https://app.example", "x": 1}, headers=bearer(tenant.api_key)
    )
    assert extra.status_code == 422
    assert await listed(api, tenant.api_key) == []


async def test_return_to_goes_only_to_an_origin_registered_for_the_tenant_and_mode(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture
) -> None:
    assert (await register(api, tenant.api_key, "https://app.example")).status_code == 201

    unknown = await connect(api, tenant.api_key, "https://evil.example/phish")
    assert unknown.status_code == 422
    refusal = error(unknown)
    assert refusal["code"] == "return_origin_not_registered"
    assert "https://evil.example" in refusal["message"]
    assert f'POST {ORIGINS} {{"origin": "https://evil.example"}}' in refusal["message"]
    assert refusal["details"][0]["loc"] == ["body", "return_to"]
    # Look-alikes of the registered origin are other origins.
    for lookalike in (
        "https://app.example.evil.com/back",
        "https://evil.com/https://app.example/",
        "http://app.example/back",
        "https://app.example:8443/back",
        "https://sub.app.example/back",
    ):
        refused = await connect(api, tenant.api_key, lookalike)
        assert refused.status_code == 422, lookalike
        assert error(refused)["code"] == "return_origin_not_registered", lookalike

    # Another tenant has registered nothing.
    stranger = await make_tenant(db)
    assert (await connect(api, stranger.api_key, "https://app.example/")).status_code == 422

    # The same tenant's live key: the sandbox registration is not its own.
    live = await add_key(db, tenant, test=False)
    app = OAuthClientSettings(client_id="live-app", client_secret=SecretStr("s3cret"))
    configured = settings.model_copy(update={"oauth_clients": {"x": app}})
    async with api_client(configured, None) as live_api:
        refused = await connect(live_api, live.api_key, "https://app.example/back")
        assert refused.status_code == 422
        assert error(refused)["code"] == "return_origin_not_registered"
        assert await listed(live_api, live.api_key) == []
        [row] = (await live_api.get(ORIGINS, headers=bearer(tenant.api_key))).json()["data"]
        for key in (live.api_key, stranger.api_key):
            hidden = await live_api.delete(f"{ORIGINS}/{row['id']}", headers=bearer(key))
            assert hidden.status_code == 404
        assert (await register(live_api, live.api_key, "https://app.example")).status_code == 201
        started = await connect(live_api, live.api_key, "https://app.example/back")
        assert started.status_code == 201, started.text
    assert await listed(api, tenant.api_key) == ["https://app.example"]


async def test_a_registered_return_to_gets_the_browser_back(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    assert (await register(api, tenant.api_key, "https://APP.example:443")).status_code == 201
    started = await start_connect(
        api, tenant.api_key, "x", return_to="https://app.example/settings?tab=accounts"
    )
    back = await callback(api, "x", await consent(browser, started["authorization_url"]))
    assert back.status_code == 303
    assert back.headers["location"] == (
        f"https://app.example/settings?tab=accounts&connection_id={started['id']}&status=completed"
    )


async def test_an_origin_removed_during_a_connect_is_not_redirected_to(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    registered = await register(api, tenant.api_key, "https://app.example")
    started = await start_connect(api, tenant.api_key, "x", return_to="https://app.example/back")
    answer = await consent(browser, started["authorization_url"])
    removed = await api.delete(
        f"{ORIGINS}/{registered.json()['data']['id']}", headers=bearer(tenant.api_key)
    )
    assert removed.status_code == 204
    back = await callback(api, "x", answer)
    assert back.status_code == 200, back.text  # crier's own answer, not a redirect
    assert "location" not in back.headers
    assert back.json()["data"]["status"] == "completed"  # the consent itself counted


async def test_outside_development_only_https_is_accepted(
    api: httpx.AsyncClient, settings: Settings, tenant: TenantFixture
) -> None:
    # Registered while in development, then refused once the same data is served in production.
    assert (await register(api, tenant.api_key, "http://app.example")).status_code == 201
    production = settings.model_copy(
        update={
            "env": "production",
            "token_keys": [SecretStr(Fernet.generate_key().decode())],
            "payload_keys": [SecretStr("A" * 43 + "=")],
            "session_secret": SecretStr("s" * 64),
        }
    )
    async with api_client(production, None) as prod:
        plain = await register(prod, tenant.api_key, "http://app.example")
        assert plain.status_code == 422
        assert "https" in error(plain)["details"][0]["msg"]
        loopback = await register(prod, tenant.api_key, "http://localhost:3000")
        assert loopback.status_code == 422
        assert (await register(prod, tenant.api_key, "https://app.example")).status_code == 201
        refused = await connect(prod, tenant.api_key, "http://app.example/back")
        assert refused.status_code == 422
        assert error(refused)["code"] == "invalid_request"
        assert "https" in error(refused)["details"][0]["msg"]
