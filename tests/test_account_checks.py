"""Checking an account with its platform now (POST /v1/accounts/{id}/verify) and listing what
its login reaches (GET /v1/accounts/{id}/pages), against the sandbox's platforms."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from core.config import Settings
from core.db import Database
from core.models import Account, Notification, Project
from core.status import AccountStatus, Platform
from sandbox.tokens import issue_token
from tests.support.api import api_client, bearer, connect_oauth
from tests.support.events import events_of
from tests.support.factories import TenantFixture, add_key, make_account, make_tenant

PAGE = "100000000000011"  # the sandbox's default person manages this Page and one more
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
# The connectors that list a login's accounts from the token crier keeps (Google's).
LISTS_FROM_STORED_TOKEN = {Platform.GOOGLE_BUSINESS, Platform.YOUTUBE}


@pytest.fixture
async def api(
    settings: Settings, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    # No Temporal: checking an account starts no workflow.
    async with api_client(settings, None) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def tenant(db: Database) -> TenantFixture:
    return await make_tenant(db)


async def verify(api: httpx.AsyncClient, key: str, account_id: str) -> httpx.Response:
    return await api.post(f"/v1/accounts/{account_id}/verify", headers=bearer(key))


async def stored(db: Database, account_id: str) -> Account:
    async with db.session() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return account


async def notifications(db: Database, tenant_id: str) -> list[Notification]:
    async with db.session() as session:
        rows = await session.exec(select(Notification).where(Notification.tenant_id == tenant_id))
        return list(rows.all())


async def calls(sandbox_http: httpx.AsyncClient, path: str) -> int:
    answer = (await sandbox_http.get("/_control/calls", params={"path": path})).json()
    count: int = answer["meta"]["count"]
    return count


async def test_a_live_token_is_ok_for_one_call(
    api: httpx.AsyncClient,
    tenant: TenantFixture,
    db: Database,
    settings: Settings,
    sandbox_http: httpx.AsyncClient,
) -> None:
    account = await make_account(db, settings, tenant, Platform.FACEBOOK, PAGE)
    answer = await verify(api, tenant.api_key, account.id)
    assert answer.status_code == 200, answer.text
    check = answer.json()["data"]
    assert check["ok"] is True and check["reason"] is None and check["refreshed"] is False
    assert check["account"]["id"] == account.id and check["account"]["status"] == "active"
    assert check["checked_at"].endswith("Z") or "+00:00" in check["checked_at"]
    assert await calls(sandbox_http, f"/facebook/.*/{PAGE}$") == 1  # one call of the budget
    assert await notifications(db, tenant.tenant_id) == []


async def test_a_dead_token_expires_the_account_as_the_health_check_does(
    api: httpx.AsyncClient, tenant: TenantFixture, db: Database, settings: Settings
) -> None:
    secret = settings.sandbox_secret.get_secret_value()
    dead = issue_token(secret, "facebook", PAGE, expires_at=int(time.time()) - 60)
    account = await make_account(db, settings, tenant, Platform.FACEBOOK, PAGE, token=dead)
    answer = await verify(api, tenant.api_key, account.id)
    assert answer.status_code == 200, answer.text
    check = answer.json()["data"]
    assert check["ok"] is False and "no longer works" in check["reason"]
    assert check["account"]["status"] == "expired"
    row = await stored(db, account.id)
    assert row.status == AccountStatus.EXPIRED and row.access_token_enc is None
    [note] = await notifications(db, tenant.tenant_id)
    assert note.kind == "token_expired" and account.display_name in note.message
    [event] = await events_of(db, tenant.tenant_id)
    assert event.type == "social.token_expired" and event.data["account_id"] == account.id

    # Checked again, an expired account answers why without calling the platform.
    again = (await verify(api, tenant.api_key, account.id)).json()["data"]
    assert again["ok"] is False and again["reason"] == check["reason"]
    assert len(await notifications(db, tenant.tenant_id)) == 1


async def test_a_platform_that_is_down_is_a_502_and_changes_nothing(
    api: httpx.AsyncClient,
    tenant: TenantFixture,
    db: Database,
    settings: Settings,
    sandbox_http: httpx.AsyncClient,
) -> None:
    account = await make_account(db, settings, tenant, Platform.FACEBOOK, PAGE)
    fault = {"path": f"/facebook/.*/{PAGE}$", "status": 503, "times": 10}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    answer = await verify(api, tenant.api_key, account.id)
    assert answer.status_code == 502, answer.text
    error = answer.json()["error"]
    assert error["code"] == "platform_unavailable" and error["message"].startswith("facebook ")
    row = await stored(db, account.id)
    assert row.status == AccountStatus.ACTIVE and row.access_token_enc == account.access_token_enc
    assert await notifications(db, tenant.tenant_id) == []
    assert await events_of(db, tenant.tenant_id) == []


async def test_another_tenants_mode_or_project_account_is_not_found(
    api: httpx.AsyncClient, tenant: TenantFixture, db: Database, settings: Settings
) -> None:
    account = await make_account(db, settings, tenant, Platform.FACEBOOK, PAGE)
    other_tenant = await make_tenant(db)
    live_key = await add_key(db, tenant, name="live key", test=False)
    other = Project(tenant_id=tenant.tenant_id, is_test=True, name="Another brand")
    async with db.session() as session:
        session.add(other)
        await session.commit()
    elsewhere = await add_key(db, tenant, name="brand key", project_ids=(other.id,))
    for key in (other_tenant.api_key, live_key.api_key, elsewhere.api_key):
        for method, path in (("POST", "verify"), ("GET", "pages")):
            answer = await api.request(
                method, f"/v1/accounts/{account.id}/{path}", headers=bearer(key)
            )
            assert answer.status_code == 404, (path, answer.text)
    assert (await stored(db, account.id)).status == AccountStatus.ACTIVE


async def test_a_view_key_may_not_spend_the_platforms_budget(
    api: httpx.AsyncClient, tenant: TenantFixture, db: Database, settings: Settings
) -> None:
    account = await make_account(db, settings, tenant, Platform.FACEBOOK, PAGE)
    viewer = await add_key(db, tenant, name="viewer", scopes=("social.view",))
    for method, path in (("POST", "verify"), ("GET", "pages")):
        answer = await api.request(
            method, f"/v1/accounts/{account.id}/{path}", headers=bearer(viewer.api_key)
        )
        assert answer.status_code == 403, (path, answer.text)


async def test_a_facebook_page_is_rechosen_by_connecting_again(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    key = tenant.api_key
    first = await connect_oauth(api, browser, key, "facebook", choose=[PAGE])
    assert len(first["candidates"]) == 2  # the login reaches two Pages; one was chosen
    [account] = first["accounts"]

    refused = await api.get(f"/v1/accounts/{account['id']}/pages", headers=bearer(key))
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "reconnect_to_choose"
    assert "POST /v1/accounts/facebook/connect" in error["message"]

    # What the answer names: a new connection, whose login lists both Pages to choose from.
    [other] = [c["external_id"] for c in first["candidates"] if c["external_id"] != PAGE]
    second = await connect_oauth(api, browser, key, "facebook", choose=[other])
    assert {c["external_id"] for c in second["candidates"]} == {PAGE, other}
    assert [a["external_id"] for a in second["accounts"]] == [other]


async def test_the_locations_a_google_login_reaches_now(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    key = tenant.api_key
    first = await connect_oauth(
        api, browser, key, "google_business", choose=["accounts/101/locations/201"]
    )
    [account] = first["accounts"]
    answer = await api.get(f"/v1/accounts/{account['id']}/pages", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == [
        {
            "id": "accounts/101/locations/201",
            "name": "Sandbox Bakery - High Street",
            "connected": True,
            "account_id": account["id"],
        },
        {
            "id": "accounts/101/locations/202",
            "name": "Sandbox Bakery - Station Road",
            "connected": False,
            "account_id": None,
        },
    ]
    assert answer.json()["meta"]["count"] == 2


async def test_every_platform_verifies_and_lists_or_names_the_connect_call(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    key = tenant.api_key
    for platform in Platform:
        if platform == Platform.BLUESKY:
            made = await api.post(
                "/v1/accounts/bluesky/connect",
                json={"identifier": "sandbox.bsky.social", "app_password": APP_PASSWORD},
                headers=bearer(key),
            )
            assert made.status_code == 201, made.text
            connection = made.json()["data"]
        else:
            connection = await connect_oauth(api, browser, key, platform.value)
        account = connection["accounts"][0]
        answer = await verify(api, key, account["id"])
        assert answer.status_code == 200, (platform, answer.text)
        assert answer.json()["data"]["ok"] is True, (platform, answer.text)

        pages = await api.get(f"/v1/accounts/{account['id']}/pages", headers=bearer(key))
        if platform in LISTS_FROM_STORED_TOKEN:
            assert pages.status_code == 200, (platform, pages.text)
            [mine] = [p for p in pages.json()["data"] if p["connected"]]
            assert (mine["id"], mine["account_id"]) == (account["external_id"], account["id"])
        else:
            assert pages.status_code == 409, (platform, pages.text)
            error = pages.json()["error"]
            assert error["code"] == "reconnect_to_choose"
            assert f"POST /v1/accounts/{platform.value}/connect" in error["message"]
