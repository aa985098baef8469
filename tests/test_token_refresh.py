"""Refreshing tokens before publishing: one refresh for an account however many targets fall
due together (X rotates refresh tokens, so a second refresh would lose the account), and a
refused refresh that fails the target, expires the account and is not retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from activities.tokens import TokenActivities
from core.config import Settings
from core.db import Database, utcnow
from core.messages.delivery import TOKEN_REFRESH_FAILED
from core.migrate import upgrade
from core.models import Account, Notification
from core.status import AccountStatus, Platform, TargetStatus
from core.vault import Vault
from providers.connect.base import Candidate, Pkce
from providers.connect.registry import connector_for
from providers.connect.stored import tokens_of
from providers.connect.x import XConnector
from providers.errors import AuthError
from tests.support.deliveries import start_delivery
from tests.support.events import event_types
from tests.support.factories import TenantFixture, make_account, make_post, make_tenant
from tests.support.harness import Harness
from tests.support.oauth import consent

REDIRECT = "https://app.example/v1/oauth/x/callback"
TOKEN_PATH = r"^/x/2/oauth2/token$"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def granted_x_account(http: httpx.AsyncClient, settings: Settings) -> Candidate:
    """Real tokens from the sandbox's X OAuth: a rotating refresh token included."""
    connector = connector_for(Platform.X, http, settings, sandbox=True)
    assert isinstance(connector, XConnector)
    pkce = Pkce.new()
    answer = await consent(
        http, connector.authorization_url(state="s", redirect_uri=REDIRECT, pkce=pkce)
    )
    [candidate] = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=pkce)
    return candidate


async def expiring_account(
    db: Database, settings: Settings, tenant: TenantFixture, granted: Candidate
) -> Account:
    return await make_account(
        db,
        settings,
        tenant,
        Platform.X,
        granted.external_id,
        token=granted.tokens.access_token,
        refresh_token=granted.tokens.refresh_token,
        expires_at=utcnow() + timedelta(minutes=5),  # inside the 10-minute margin
    )


async def token_calls(sandbox_http: httpx.AsyncClient) -> int:
    calls = await sandbox_http.get("/_control/calls", params={"method": "POST", "path": TOKEN_PATH})
    count: int = calls.json()["meta"]["count"]
    return count


@pytest.fixture(params=["sqlite", "postgresql"])
def race_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    # Both databases on every run, whichever CRIER_TEST_DATABASE chose: their locks differ.
    if request.param == "sqlite":
        return settings.model_copy(update={"database_url": ""})  # the file under data_dir
    url = request.getfixturevalue("postgres_database")
    return settings.model_copy(update={"database_url": url})


async def test_the_sandbox_refuses_a_rotated_refresh_token_used_twice(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    """The control for the race test below: two unguarded refreshes do lose the account."""
    granted = await granted_x_account(http, settings)
    connector = connector_for(Platform.X, http, settings, sandbox=True)
    results = await asyncio.gather(
        connector.refresh(granted.tokens), connector.refresh(granted.tokens), return_exceptions=True
    )
    assert sum(isinstance(r, AuthError) for r in results) == 1


async def test_two_workers_refreshing_one_account_at_once_refresh_it_once(
    race_settings: Settings, http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient
) -> None:
    upgrade(race_settings)
    setup = Database(race_settings)
    tenant = await make_tenant(setup)
    granted = await granted_x_account(http, race_settings)
    account = await expiring_account(setup, race_settings, tenant, granted)
    _, first = await make_post(setup, tenant, account, body="one")
    _, second = await make_post(setup, tenant, account, body="two")
    before = await token_calls(sandbox_http)

    # Two workers: each its own database engine and HTTP pool, as two processes would have.
    workers = [Database(race_settings) for _ in range(2)]
    vault = Vault.from_settings(race_settings)
    activities = [
        TokenActivities(db=w, http=http, vault=vault, settings=race_settings) for w in workers
    ]
    await asyncio.gather(
        activities[0].ensure_fresh_token(first.id), activities[1].ensure_fresh_token(second.id)
    )

    assert await token_calls(sandbox_http) - before == 1
    async with setup.session() as session:
        stored = await session.get(Account, account.id)
        assert stored is not None
    assert stored.status == AccountStatus.ACTIVE
    assert stored.token_refreshed_at is not None
    assert stored.token_expires_at is not None
    assert stored.token_expires_at - utcnow() > timedelta(hours=1)
    fresh = tokens_of(stored, vault)
    assert fresh is not None and fresh.refresh_token != granted.tokens.refresh_token
    connector = connector_for(Platform.X, http, race_settings, sandbox=True)
    await connector.verify(account.external_id, fresh)
    # The stored refresh token is the live one: the next refresh still works.
    await connector.refresh(fresh)
    for database in (*workers, setup):
        await database.dispose()


async def test_a_token_far_from_expiry_is_not_refreshed(
    harness: Harness, http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient
) -> None:
    granted = await granted_x_account(http, harness.settings)
    tenant = await make_tenant(harness.db)
    account = await make_account(
        harness.db,
        harness.settings,
        tenant,
        Platform.X,
        granted.external_id,
        token=granted.tokens.access_token,
        refresh_token=granted.tokens.refresh_token,
        expires_at=utcnow() + timedelta(hours=2),
    )
    before = await token_calls(sandbox_http)
    state = await _publish(harness, tenant, account)
    assert state == TargetStatus.PUBLISHED
    assert await token_calls(sandbox_http) == before


async def test_an_expiring_token_is_refreshed_before_the_publish_that_needs_it(
    harness: Harness, http: httpx.AsyncClient, sandbox_http: httpx.AsyncClient
) -> None:
    granted = await granted_x_account(http, harness.settings)
    tenant = await make_tenant(harness.db)
    account = await expiring_account(harness.db, harness.settings, tenant, granted)
    before = await token_calls(sandbox_http)

    state = await _publish(harness, tenant, account, keep="token_refreshed_then_published")
    assert state == TargetStatus.PUBLISHED
    assert await token_calls(sandbox_http) - before == 1
    assert [p["account"] for p in await harness.posts(Platform.X)] == [granted.external_id]


async def test_a_refused_refresh_fails_the_target_expires_the_account_and_is_not_retried(
    harness: Harness, sandbox_http: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(harness.db)
    account = await make_account(
        harness.db,
        harness.settings,
        tenant,
        Platform.X,
        "1600000000000000001",
        refresh_token="sbr_x_spent-long-ago",
        expires_at=utcnow() + timedelta(minutes=1),
    )
    before = await token_calls(sandbox_http)

    status, error = await _publish_detail(harness, tenant, account, keep="token_refresh_refused")

    assert status == TargetStatus.FAILED
    assert error == TOKEN_REFRESH_FAILED
    assert await token_calls(sandbox_http) - before == 1  # refused once, never asked again
    assert await harness.posts(Platform.X) == []
    async with harness.db.session() as session:
        stored = await session.get(Account, account.id)
        assert stored is not None
        notes = (
            await session.exec(
                select(Notification).where(Notification.tenant_id == tenant.tenant_id)
            )
        ).all()
    assert stored.status == AccountStatus.EXPIRED
    assert stored.access_token_enc is None and stored.refresh_token_enc is None
    assert stored.status_reason and "refused to refresh" in stored.status_reason
    assert sorted(n.kind for n in notes) == ["target_failed", "token_expired"]
    assert await event_types(harness.db, tenant.tenant_id) == [
        "social.token_expired",
        "social.post_failed",
    ]


async def _publish(
    harness: Harness, tenant: TenantFixture, account: Account, keep: str | None = None
) -> TargetStatus:
    return (await _publish_detail(harness, tenant, account, keep))[0]


async def _publish_detail(
    harness: Harness, tenant: TenantFixture, account: Account, keep: str | None = None
) -> tuple[TargetStatus, str | None]:
    post, target = await make_post(harness.db, tenant, account, body="refresh me")
    handle = await start_delivery(
        harness.db, harness.env.client, harness.settings, post, target, due=None
    )
    state = await handle.result()
    if keep:
        await harness.keep_history(handle, keep)
    return state.status, state.error
