"""Instagram's connect flow against the sandbox: Facebook Login, whose candidates are the
Instagram accounts linked to the person's Pages, each with its Page's token."""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from providers.base import PostContent
from providers.connect.facebook import FacebookConnector
from providers.connect.instagram import InstagramConnector
from providers.errors import AuthError
from providers.instagram import InstagramProvider
from sandbox.tokens import verify_token
from tests.connect import flow
from tests.support import connector_checks as checks
from tests.support.servers import RunningSandbox

REDIRECT = "https://app.example/v1/oauth/instagram/callback"
# The sandbox Bakery Page's Instagram account; the Bistro Page has none.
BAKERY_IG = ("17841400000000011", "sandbox_bakery")


def _connector(http: httpx.AsyncClient, settings: Settings) -> InstagramConnector:
    return flow.sandbox_connector(InstagramConnector, http, settings)


async def test_the_live_dialog_is_facebook_logins_with_instagram_permissions(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    url = checks.facebook_login_dialog(InstagramConnector, http, settings, REDIRECT)
    assert "instagram_content_publish" in url.params["scope"].split(",")


async def test_connect_grants_the_linked_instagram_account_whose_token_publishes(
    http: httpx.AsyncClient,
    settings: Settings,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT)
    assert (account.external_id, account.display_name) == BAKERY_IG
    assert account.tokens.expires_at is None and account.tokens.refresh_token is None
    # Taken from the long-lived user token, the Page's token never expires.
    claims = verify_token(sandbox.secret, account.tokens.access_token)
    assert claims is not None and claims.expires_at == 0
    provider = checks.sandbox_provider(InstagramProvider, http, settings)
    content = PostContent(text="connected", media_urls=["https://cdn.example.org/1.jpg"])
    await checks.tokens_publish(sandbox_http, connector, provider, content, account)


async def test_a_facebook_code_is_not_an_instagram_one(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    facebook = flow.sandbox_connector(FacebookConnector, http, settings)
    code = (await flow.authorize(http, facebook, REDIRECT))["code"]
    instagram = _connector(http, settings)
    await flow.authorize(http, instagram, REDIRECT)
    await flow.refused_exchange(instagram, code, REDIRECT, match="Invalid verification code")


async def test_nothing_refreshes_and_verify_fails_once_the_token_dies(
    http: httpx.AsyncClient, settings: Settings, sandbox: RunningSandbox
) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT)
    await checks.lives_until_it_expires(connector, account, sandbox.secret)
    # A token for another Instagram account does not reach this one.
    with pytest.raises(AuthError):
        await connector.verify("17841400000000099", account.tokens)
