"""Connecting accounts through the API: the consent link, the callback, choosing, reconnecting
and disconnecting, against the sandbox's OAuth servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import update

from core.config import OAuthClientSettings
from core.db import utcnow
from core.models import Account, Connection
from core.status import Platform, TargetStatus
from core.vault import Vault
from providers.connect.base import TokenSet
from providers.connect.registry import connector_for
from providers.connect.stored import store_tokens, tokens_of
from providers.errors import AuthError
from tests.support.api import api_client, bearer, callback, connect_oauth, start_connect
from tests.support.events import events_of
from tests.support.factories import TenantFixture, make_account, make_tenant
from tests.support.harness import Harness
from tests.support.oauth import consent


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(harness.settings, harness.env.client) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def tenant(harness: Harness) -> TenantFixture:
    return await make_tenant(harness.db)


async def stored_account(harness: Harness, account_id: str) -> Account:
    async with harness.db.session() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return account


async def test_connecting_x_creates_an_account_that_publishes(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture, harness: Harness
) -> None:
    started = await start_connect(api, tenant.api_key, "x")
    assert started["status"] == "pending"
    assert started["authorization_url"].startswith(f"{harness.settings.sandbox_url}/x/i/oauth2/")
    answer = await consent(browser, started["authorization_url"])
    back = await callback(api, "x", answer)
    assert back.status_code == 200, back.text
    connection = back.json()["data"]
    assert connection["status"] == "completed"
    [account] = connection["accounts"]
    assert account["platform"] == "x" and account["status"] == "active"
    assert account["is_sandbox"] is True and account["token_expires_at"] is not None

    listed = (await api.get("/v1/accounts", headers=bearer(tenant.api_key))).json()["data"]
    assert [a["id"] for a in listed] == [account["id"]]

    post = await api.post(
        "/v1/posts",
        json={"body": "first post", "targets": [{"account_id": account["id"]}]},
        headers=bearer(tenant.api_key),
    )
    assert post.status_code == 201, post.text
    published = await api.post(
        f"/v1/posts/{post.json()['data']['id']}/publish", json={}, headers=bearer(tenant.api_key)
    )
    assert published.status_code == 202, published.text
    [target] = published.json()["data"]["targets"]
    final = await harness.result(f"target-{target['id']}")
    assert final.status == TargetStatus.PUBLISHED
    assert [p["text"] for p in await harness.posts(Platform.X)] == ["first post"]


async def test_a_connect_link_works_once(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    started = await start_connect(api, tenant.api_key, "x")
    answer = await consent(browser, started["authorization_url"])
    assert (await callback(api, "x", answer)).status_code == 200
    again = await callback(api, "x", answer)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_state"
    forged = await callback(api, "x", {**answer, "state": "made-up"})
    assert forged.status_code == 400


async def test_two_callbacks_racing_with_one_state_connect_once(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture, harness: Harness
) -> None:
    started = await start_connect(api, tenant.api_key, "x")
    answer = await consent(browser, started["authorization_url"])
    first, second = await asyncio.gather(callback(api, "x", answer), callback(api, "x", answer))
    assert sorted([first.status_code, second.status_code]) == [200, 400]
    loser = first if first.status_code == 400 else second
    assert loser.json()["error"]["code"] == "invalid_state"  # refused before any exchange
    seen = await api.get(f"/v1/connections/{started['id']}", headers=bearer(tenant.api_key))
    assert seen.json()["data"]["status"] == "completed"
    listed = (await api.get("/v1/accounts", headers=bearer(tenant.api_key))).json()["data"]
    assert len(listed) == 1


async def test_an_expired_connect_link_is_refused(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture, harness: Harness
) -> None:
    started = await start_connect(api, tenant.api_key, "x")
    answer = await consent(browser, started["authorization_url"])
    async with harness.db.session() as session:
        await session.exec(
            update(Connection)
            .where(Connection.id == started["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    refused = await callback(api, "x", answer)
    assert refused.status_code == 400
    seen = await api.get(f"/v1/connections/{started['id']}", headers=bearer(tenant.api_key))
    assert seen.json()["data"]["status"] == "expired"


async def test_a_refusal_at_the_platform_fails_the_connection(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    started = await start_connect(api, tenant.api_key, "x")
    answer = await consent(browser, started["authorization_url"], decision="deny")
    back = await callback(api, "x", answer)
    assert back.status_code == 200
    connection = back.json()["data"]
    assert connection["status"] == "failed"
    assert "denied" in connection["error"]
    assert (await api.get("/v1/accounts", headers=bearer(tenant.api_key))).json()["data"] == []


async def test_return_to_sends_the_browser_back_with_the_connection(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    registered = await api.post(
        "/v1/oauth/return-origins",
        json={"origin": "https://app.example"},
        headers=bearer(tenant.api_key),
    )
    assert registered.status_code == 201, registered.text
    started = await start_connect(
        api, tenant.api_key, "x", return_to="https://app.example/settings?tab=accounts"
    )
    answer = await consent(browser, started["authorization_url"])
    back = await callback(api, "x", answer)
    assert back.status_code == 303
    assert back.headers["location"] == (
        f"https://app.example/settings?tab=accounts&connection_id={started['id']}&status=completed"
    )


async def test_reconnecting_replaces_the_tokens_in_place(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture, harness: Harness
) -> None:
    first = await connect_oauth(api, browser, tenant.api_key, "x")
    [account] = first["accounts"]
    before = await stored_account(harness, account["id"])
    second = await connect_oauth(api, browser, tenant.api_key, "x")
    assert [a["id"] for a in second["accounts"]] == [account["id"]]
    after = await stored_account(harness, account["id"])
    assert after.access_token_enc != before.access_token_enc
    assert after.refresh_token_enc != before.refresh_token_enc


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one() -> None:
    vault = Vault([Fernet.generate_key().decode()])
    account = Account(
        tenant_id="t", project_id="p", platform=Platform.X, external_id="1", display_name="x"
    )
    store_tokens(account, TokenSet("a1", "r1", None), vault)
    store_tokens(account, TokenSet("a2", None, None), vault)
    store_tokens(account, TokenSet("a3", "", None), vault)
    tokens = tokens_of(account, vault)
    assert tokens is not None
    assert (tokens.access_token, tokens.refresh_token) == ("a3", "r1")


async def test_disconnecting_revokes_forgets_and_cancels_waiting_targets(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture, harness: Harness
) -> None:
    connection = await connect_oauth(api, browser, tenant.api_key, "x")
    [account] = connection["accounts"]
    tokens = tokens_of(
        await stored_account(harness, account["id"]), Vault.from_settings(harness.settings)
    )
    assert tokens is not None
    post = await api.post(
        "/v1/posts",
        json={"body": "tomorrow", "targets": [{"account_id": account["id"]}]},
        headers=bearer(tenant.api_key),
    )
    post_id = post.json()["data"]["id"]
    when = (await harness.now() + timedelta(days=1)).isoformat()
    scheduled = await api.post(
        f"/v1/posts/{post_id}/publish", json={"scheduled_for": when}, headers=bearer(tenant.api_key)
    )
    assert scheduled.status_code == 202, scheduled.text
    draft = await api.post(
        "/v1/posts",
        json={"body": "a draft", "targets": [{"account_id": account["id"]}]},
        headers=bearer(tenant.api_key),
    )

    gone = await api.delete(f"/v1/accounts/{account['id']}", headers=bearer(tenant.api_key))
    assert gone.status_code == 200, gone.text
    answer = gone.json()["data"]
    assert answer["account"]["status"] == "disconnected"
    assert answer["revoked"] is True
    assert answer["cancelled_targets"] == 1 and answer["refused_targets"] == []

    [target] = (
        await api.get(f"/v1/posts/{post_id}/targets", headers=bearer(tenant.api_key))
    ).json()["data"]
    assert target["status"] == "cancelled"
    assert "was disconnected" in target["last_error"]
    stored = await stored_account(harness, account["id"])
    assert stored.access_token_enc is None and stored.refresh_token_enc is None
    connector = connector_for(Platform.X, browser, harness.settings, sandbox=True)
    with pytest.raises(AuthError):
        await connector.verify(account["external_id"], tokens)

    new = await api.post(
        "/v1/posts",
        json={"body": "after", "targets": [{"account_id": account["id"]}]},
        headers=bearer(tenant.api_key),
    )
    assert new.status_code == 422
    assert "disconnected" in new.text
    publish = await api.post(
        f"/v1/posts/{draft.json()['data']['id']}/publish", json={}, headers=bearer(tenant.api_key)
    )
    assert publish.status_code == 409

    events = await events_of(harness.db, tenant.tenant_id)
    assert [e.type for e in events] == [
        "social.account_connected",
        "social.post_scheduled",
        "social.account_disconnected",
    ]
    connected, scheduled_event, disconnected = events
    assert connected.data["account_id"] == account["id"] and connected.data["platform"] == "x"
    assert scheduled_event.data["post_id"] == post_id
    assert scheduled_event.data["scheduled_for"] == when.replace("Z", "+00:00")
    assert scheduled_event.data["targets"][0]["account_id"] == account["id"]
    assert disconnected.data["status"] == "disconnected"
    assert all(e.is_test for e in events)
    assert publish.json()["error"]["code"] == "account_disconnected"
    assert await harness.posts(Platform.X) == []


async def test_a_live_key_connects_to_the_live_platform_only_when_an_app_is_configured(
    harness: Harness, browser: httpx.AsyncClient
) -> None:
    live = await make_tenant(harness.db, test=False)
    async with api_client(harness.settings, harness.env.client) as api:
        refused = await api.post("/v1/accounts/x/connect", json={}, headers=bearer(live.api_key))
    assert refused.status_code == 409
    assert "CRIER_OAUTH_CLIENTS" in refused.json()["error"]["message"]

    app = OAuthClientSettings(client_id="live-app", client_secret=SecretStr("s3cret"))
    configured = harness.settings.model_copy(update={"oauth_clients": {"x": app}})
    async with api_client(configured, harness.env.client) as api:
        started = await start_connect(api, live.api_key, "x")
    url = started["authorization_url"]
    assert url.startswith("https://x.com/i/oauth2/authorize?")
    assert "client_id=live-app" in url and harness.settings.sandbox_url not in url
    assert "s3cret" not in url


async def test_the_plan_gates_publishing(api: httpx.AsyncClient, harness: Harness) -> None:
    free = await make_tenant(harness.db, allow_social_publishing=False)
    connection_key = free.api_key
    account = await make_account(
        harness.db, harness.settings, free, Platform.X, "1600000000000000001"
    )
    post = await api.post(
        "/v1/posts",
        json={"body": "not yet", "targets": [{"account_id": account.id}]},
        headers=bearer(connection_key),
    )
    assert post.status_code == 201, post.text  # drafting is allowed; publishing is the plan's
    refused = await api.post(
        f"/v1/posts/{post.json()['data']['id']}/publish", json={}, headers=bearer(connection_key)
    )
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "publishing_not_enabled"
    assert (
        "crier tenants update" in error["message"]
        and "--allow-social-publishing" in error["message"]
    )
    assert await harness.posts(Platform.X) == []
