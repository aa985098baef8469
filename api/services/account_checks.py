"""Checking a connected account with its platform now: its token (verify), and the Pages,
locations or channels its login reaches (for re-choosing one).

Both spend the platform's budget for the account's token: a verify is one cheap authenticated
call (two when the token is refreshed first), a page list one call per page of results.

The token check is the token-health run's own (TokenActivities.check_account): the same
refresh window, the same call, and a refusal expires the account with the same notification
and event. The platform is called with no pooled connection held (S5): the check opens its
own short sessions, and the request's session is committed before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, Field
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.tokens import TokenActivities
from api.deps import Caller
from api.errors import ApiError
from api.post_queries import load_account
from api.schemas import AccountPublic
from api.views import account_view
from core.config import Settings
from core.db import Database, utcnow
from core.models import Account
from core.status import AccountStatus, Platform
from core.vault import Vault
from providers.connect.base import Candidate, TokenSet
from providers.connect.registry import AnyConnector, NotConfigured, connector_for
from providers.connect.stored import tokens_of
from providers.errors import AuthError, ProviderError

# Facebook and Instagram candidates come from the person's user token, which the connect flow
# drops once a Page is chosen (publishing uses the Page token only, seed 003); a Page token
# cannot list the person's other Pages. Such logins are re-chosen by connecting again.
USER_TOKEN_DROPPED = frozenset({Platform.FACEBOOK, Platform.INSTAGRAM})


class AccountCheck(BaseModel):
    account: AccountPublic
    ok: bool = Field(description="the platform accepted the account's token just now")
    checked_at: datetime
    refreshed: bool = Field(description="the token was refreshed first (it was close to expiry)")
    reason: str | None = Field(description="why the token does not work (ok is false)")


class PageChoice(BaseModel):
    """One Page, location or channel the account's login reaches now."""

    id: str = Field(description="the platform's id, as an account's external_id")
    name: str
    connected: bool = Field(description="this account publishes to it")
    account_id: str | None = Field(
        description="the crier account of this project that publishes to it, if any"
    )


@runtime_checkable
class ListsCandidates(Protocol):
    """A connector that lists a login's accounts from a stored token (Google's do)."""

    async def candidates(self, tokens: TokenSet) -> list[Candidate]: ...


async def verify_account(
    *,
    session: AsyncSession,
    db: Database,
    caller: Caller,
    settings: Settings,
    vault: Vault,
    http: httpx.AsyncClient,
    account_id: str,
) -> AccountCheck:
    """The account's token checked with its platform now; a dead one expires the account."""
    account = await load_account(session, caller, account_id)
    await session.commit()  # no pooled connection held while the platform answers (S5)
    if account.status != AccountStatus.ACTIVE or not account.access_token_enc:
        # No token to check: say why without spending a call.
        return AccountCheck(
            account=account_view(account),
            ok=False,
            checked_at=utcnow(),
            refreshed=False,
            reason=account.status_reason or f"the account is {account.status.value}",
        )
    _connector(account, http=http, settings=settings)  # 409 before anything when unconfigured
    tokens = TokenActivities(db=db, http=http, vault=vault, settings=settings)
    check = await tokens.check_account(account.id)
    if check.outcome == "unreachable":
        raise _unavailable(account.platform, check.reason)
    await session.refresh(account)
    return AccountCheck(
        account=account_view(account),
        ok=check.outcome != "expired",
        checked_at=utcnow(),
        refreshed=check.outcome == "refreshed",
        reason=check.reason if check.outcome == "expired" else None,
    )


async def list_pages(
    *,
    session: AsyncSession,
    db: Database,
    caller: Caller,
    settings: Settings,
    vault: Vault,
    http: httpx.AsyncClient,
    account_id: str,
) -> list[PageChoice]:
    """What the account's login reaches now, for a connector that can list it from the stored
    token; otherwise a 409 naming the connect call that re-chooses."""
    account = await load_account(session, caller, account_id)
    await session.commit()  # no pooled connection held while the platform answers (S5)
    lister = _connector(account, http=http, settings=settings)
    if not isinstance(lister, ListsCandidates):
        raise _reconnect_to_choose(account.platform)
    if account.status != AccountStatus.ACTIVE:
        raise _not_active(account)
    # A lapsed access token would be refused: refresh it first, as publishing does.
    keeper = TokenActivities(db=db, http=http, vault=vault, settings=settings)
    try:
        refreshed = await keeper.refresh_if_needed(account.id, settings.token_refresh_margin)
    except ProviderError as error:
        raise _unavailable(account.platform, error.summary()) from None
    await session.refresh(account)
    tokens = tokens_of(account, vault)
    if refreshed.outcome == "expired" or tokens is None:
        raise _not_active(account)
    try:
        found = await lister.candidates(tokens)
    except AuthError as refused:
        # A read does not expire the account; POST .../verify checks it and does.
        raise ApiError(
            409,
            "token_refused",
            f"{account.platform.value} refused the account's token ({refused.summary()}): "
            f"check it with POST /v1/accounts/{account.id}/verify, or connect again with "
            f"POST /v1/accounts/{account.platform.value}/connect",
        ) from None
    except ProviderError as error:
        raise _unavailable(account.platform, error.summary()) from None
    siblings = await _accounts_by_external_id(session, account)
    return [
        PageChoice(
            id=c.external_id,
            name=c.display_name,
            connected=c.external_id == account.external_id,
            account_id=siblings.get(c.external_id),
        )
        for c in found
    ]


async def _accounts_by_external_id(session: AsyncSession, account: Account) -> dict[str, str]:
    """The active accounts of the same project, platform and mode, by the platform's id."""
    rows = await session.exec(
        select(Account).where(
            Account.project_id == account.project_id,
            Account.platform == account.platform,
            Account.is_sandbox == account.is_sandbox,
            Account.status == AccountStatus.ACTIVE,
        )
    )
    return {row.external_id: row.id for row in rows.all()}


def _connector(account: Account, *, http: httpx.AsyncClient, settings: Settings) -> AnyConnector:
    try:
        return connector_for(account.platform, http, settings, sandbox=account.is_sandbox)
    except NotConfigured as missing:
        raise ApiError(409, "platform_not_configured", str(missing)) from None


def _unavailable(platform: Platform, detail: str | None) -> ApiError:
    said = f" ({detail})" if detail else ""
    return ApiError(
        502,
        "platform_unavailable",
        f"{platform.value} did not answer as expected{said}; nothing was changed: try again",
    )


def _reconnect_to_choose(platform: Platform) -> ApiError:
    why = (
        "crier keeps only the chosen Page's token, which cannot list the login's other Pages"
        if platform in USER_TOKEN_DROPPED
        else f"crier cannot list what a {platform.value} login reaches from the stored token"
    )
    return ApiError(
        409,
        "reconnect_to_choose",
        f"{why}: reconnect to choose another with POST /v1/accounts/{platform.value}/connect "
        "(its login lists every Page or account it grants)",
    )


def _not_active(account: Account) -> ApiError:
    return ApiError(
        409,
        "account_not_active",
        f"the account is {account.status.value}"
        + (f" ({account.status_reason})" if account.status_reason else "")
        + f": connect it again with POST /v1/accounts/{account.platform.value}/connect",
    )
