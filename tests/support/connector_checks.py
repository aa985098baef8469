"""Checks that several connectors' tests (tests/connect/) make alike: a code bound to its
redirect URI, a granted token that publishes, refresh tokens that rotate. Each platform's test
still says what its platform answers (error codes, messages)."""

from __future__ import annotations

import time
from typing import TypeVar

import httpx
import pytest

from core.config import Settings
from providers.base import Credentials, PostContent, Provider
from providers.connect.base import Candidate, Connector, PasswordConnector, Pkce, TokenSet
from providers.errors import AuthError
from providers.registry import base_url
from sandbox.tokens import issue_token
from tests.connect import flow
from tests.support.media import loopback_media

P = TypeVar("P", bound=Provider)
C = TypeVar("C", bound=Connector)


def sandbox_provider(kind: type[P], http: httpx.AsyncClient, settings: Settings) -> P:
    """`kind`, publishing to its platform on the sandbox through `http`."""
    return kind(http, base_url(kind.platform, settings, sandbox=True), loopback_media())


async def bound_to_redirect(
    http: httpx.AsyncClient,
    connector: Connector,
    redirect_uri: str,
    *,
    elsewhere: str,
    spends: bool,
    match: str | None = None,
    pkce: Pkce | None = None,
) -> list[AuthError]:
    """A code issued for `redirect_uri` and exchanged at `elsewhere` is refused (its message
    matching `match`); where the failed try `spends` the code, the right redirect URI is then
    too late as well. Returns the refusals, in that order."""
    answer = await flow.authorize(http, connector, redirect_uri, pkce=pkce)
    refusals = [
        await flow.refused_exchange(connector, answer["code"], elsewhere, match=match, pkce=pkce)
    ]
    if spends:
        refusals.append(
            await flow.refused_exchange(connector, answer["code"], redirect_uri, pkce=pkce)
        )
    return refusals


async def tokens_publish(
    sandbox_http: httpx.AsyncClient,
    connector: Connector | PasswordConnector,
    provider: Provider,
    content: PostContent,
    *candidates: Candidate,
    checked: bool = True,
) -> None:
    """Each candidate's token verifies for it, and `content` prepared (and `checked` ready)
    through `provider` is published with it: the sandbox then holds one post per candidate,
    each under the candidate's own account, and no other."""
    for candidate in candidates:
        await connector.verify(candidate.external_id, candidate.tokens)
        credentials = Credentials(candidate.external_id, candidate.tokens.access_token)
        prepared = await provider.prepare(credentials, content)
        if checked:
            assert (await provider.check(credentials, prepared)).state == "ready"
        await provider.publish(credentials, content, prepared)
    posts = await flow.sandbox_posts(sandbox_http, connector.platform)
    assert sorted(p["account"] for p in posts) == sorted(c.external_id for c in candidates)


async def spent_refresh_token(
    http: httpx.AsyncClient, connector: Connector, redirect_uri: str
) -> AuthError:
    """Connected with PKCE, a refresh brings a new refresh token (see `flow.refreshed`); the
    refusal of the spent one, refreshed again."""
    [account] = await flow.connect(http, connector, redirect_uri, pkce=Pkce.new())
    await flow.refreshed(connector, account.external_id, account.tokens, rotates=True)
    with pytest.raises(AuthError) as refused:
        await connector.refresh(account.tokens)
    return refused.value


def facebook_login_dialog(
    kind: type[C], http: httpx.AsyncClient, settings: Settings, redirect_uri: str
) -> httpx.URL:
    """`kind`'s live consent page, which is Facebook Login's (Facebook's and Instagram's):
    no PKCE, and tokens that neither refresh nor revoke. Returns it for the scopes asked."""
    connector, url = flow.live_dialog(kind, http, settings, redirect_uri)
    assert str(url.copy_with(query=None)) == "https://www.facebook.com/v23.0/dialog/oauth"
    assert not (connector.uses_pkce or connector.refreshable or connector.can_revoke)
    return url


async def lives_until_it_expires(connector: Connector, candidate: Candidate, secret: str) -> None:
    """A Page token (Facebook's, Instagram's): refreshing it asks for a reconnect, revoking it
    revokes nothing (it still verifies), and once expired it is refused with Graph's 190/467."""
    with pytest.raises(AuthError, match="reconnect"):
        await connector.refresh(candidate.tokens)
    await connector.revoke(candidate.tokens)
    await connector.verify(candidate.external_id, candidate.tokens)
    expired = issue_token(
        secret, connector.platform.value, candidate.external_id, expires_at=int(time.time()) - 1
    )
    with pytest.raises(AuthError) as refused:
        await connector.verify(candidate.external_id, TokenSet(access_token=expired))
    assert refused.value.code == "190/467"
