"""Bluesky's app-password login against the sandbox PDS: createSession, rotating refresh
tokens, getSession, deleteSession."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.config import Settings
from providers.base import PostContent
from providers.bluesky import BlueskyProvider
from providers.connect.base import PasswordConnector
from providers.connect.bluesky import BlueskyConnector, jwt_expiry
from providers.connect.registry import is_password_login
from providers.errors import AuthError
from sandbox.logins.bluesky import APP_PASSWORD, DEFAULT_DID, DEFAULT_HANDLE, did_for
from tests.connect import flow
from tests.support import connector_checks as checks


@pytest.fixture
def connector(http: httpx.AsyncClient, settings: Settings) -> PasswordConnector:
    found = flow.sandbox_connector(BlueskyConnector, http, settings)
    assert is_password_login(found)
    return found


async def test_a_login_grants_the_account_whose_token_publishes(
    connector: PasswordConnector,
    http: httpx.AsyncClient,
    settings: Settings,
    sandbox_http: httpx.AsyncClient,
) -> None:
    [account] = await connector.login(identifier=DEFAULT_HANDLE, password=APP_PASSWORD)

    assert (account.external_id, account.display_name) == (DEFAULT_DID, DEFAULT_HANDLE)
    assert account.tokens.refresh_token and account.tokens.expires_at is not None
    lifetime = account.tokens.expires_at - datetime.now(UTC)
    assert timedelta(hours=1, minutes=59) < lifetime <= timedelta(hours=2)
    provider = checks.sandbox_provider(BlueskyProvider, http, settings)
    await checks.tokens_publish(
        sandbox_http, connector, provider, PostContent(text="connected"), account, checked=False
    )


async def test_a_wrong_app_password_is_refused(connector: PasswordConnector) -> None:
    with pytest.raises(AuthError) as refused:
        await connector.login(identifier=DEFAULT_HANDLE, password="abcd-efgh-ijkl-mnoq")
    assert (refused.value.code, refused.value.http_status) == ("AuthenticationRequired", 401)


async def test_another_handle_is_its_own_account_and_may_log_in_by_its_did(
    connector: PasswordConnector,
) -> None:
    [alice] = await connector.login(identifier="@Alice.bsky.social", password=APP_PASSWORD)
    assert (alice.external_id, alice.display_name) == (
        did_for("alice.bsky.social"),
        "alice.bsky.social",
    )
    [again] = await connector.login(identifier=alice.external_id, password=APP_PASSWORD)
    assert (again.external_id, again.display_name) == (alice.external_id, "alice.bsky.social")
    with pytest.raises(AuthError):
        await connector.login(identifier="did:plc:nobodyknowsthisone000000", password=APP_PASSWORD)


async def test_refresh_tokens_rotate_and_a_spent_one_is_refused(
    connector: PasswordConnector,
) -> None:
    [account] = await connector.login(identifier=DEFAULT_HANDLE, password=APP_PASSWORD)

    await flow.refreshed(connector, account.external_id, account.tokens, rotates=True)
    with pytest.raises(AuthError) as refused:
        await connector.refresh(account.tokens)
    assert (refused.value.code, refused.value.http_status) == ("ExpiredToken", 400)


async def test_revoking_ends_the_session_not_the_live_access_token(
    connector: PasswordConnector,
) -> None:
    [account] = await connector.login(identifier=DEFAULT_HANDLE, password=APP_PASSWORD)
    await connector.verify(account.external_id, account.tokens)

    await connector.revoke(account.tokens)

    with pytest.raises(AuthError) as refused:
        await connector.refresh(account.tokens)
    assert refused.value.code == "ExpiredToken"
    # A PDS keeps no list of access tokens: this one works until it expires, as live.
    await connector.verify(account.external_id, account.tokens)


async def test_verify_refuses_another_accounts_token(connector: PasswordConnector) -> None:
    [alice] = await connector.login(identifier="alice.bsky.social", password=APP_PASSWORD)
    with pytest.raises(AuthError, match="another Bluesky account"):
        await connector.verify(DEFAULT_DID, alice.tokens)


def _jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_jwt_access_token_expires_at_its_exp() -> None:
    assert jwt_expiry(_jwt({"sub": DEFAULT_DID, "exp": 1_900_000_000})) == datetime.fromtimestamp(
        1_900_000_000, UTC
    )
    assert jwt_expiry(_jwt({"sub": DEFAULT_DID})) is None
    assert jwt_expiry("sbx_payload.signature") is None
