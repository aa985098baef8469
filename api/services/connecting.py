"""Connecting accounts: the connect link, the callback's exchange, choosing among the accounts
a login granted, and saving them (tokens in place on a reconnect).

The `state` sent to the platform is random, stored only as its hash, good once and for
`oauth_state_ttl`. Granted tokens that wait for the caller's choice are stored encrypted and
dropped once the choice is made or the wait expires.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime

import httpx
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError
from api.services import plan_rules
from core.config import Settings
from core.db import utcnow
from core.events import EventType, record_account_event
from core.models import Account, Connection, Notification
from core.status import Platform
from core.vault import Vault
from providers.connect.base import Candidate, Connector, PasswordConnector, Pkce, TokenSet
from providers.connect.registry import NotConfigured, connector_for
from providers.connect.stored import store_tokens
from providers.errors import AuthError, ProviderError

# Connection.status values
PENDING = "pending"
EXCHANGING = "exchanging"
AWAITING_SELECTION = "awaiting_selection"
COMPLETED = "completed"
FAILED = "failed"
EXPIRED = "expired"


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def callback_url(settings: Settings, *, platform: Platform) -> str:
    return f"{settings.public_api_url.rstrip('/')}/v1/oauth/{platform.value}/callback"


def connector(
    platform: Platform, *, http: httpx.AsyncClient, settings: Settings, sandbox: bool
) -> Connector | PasswordConnector:
    try:
        return connector_for(platform, http, settings, sandbox=sandbox)
    except NotConfigured as missing:
        raise ApiError(409, "platform_not_configured", str(missing)) from None


def platform_unavailable(error: ProviderError) -> ApiError:
    return ApiError(
        502, "platform_unavailable", f"{error.platform} did not answer as expected; try again"
    )


async def start_oauth(
    *,
    session: AsyncSession,
    caller: Caller,
    settings: Settings,
    vault: Vault,
    oauth: Connector,
    return_to: str | None,
    project_id: str,
) -> tuple[Connection, str]:
    """A pending connection and the platform's authorization URL for it."""
    state = secrets.token_urlsafe(32)
    pkce = Pkce.new() if oauth.uses_pkce else None
    connection = Connection(
        tenant_id=caller.tenant_id,
        api_key_id=caller.api_key_id,
        platform=oauth.platform,
        is_sandbox=caller.is_test,
        project_id=project_id,
        state_hash=state_hash(state),
        pkce_verifier_enc=vault.encrypt(pkce.verifier) if pkce else None,
        return_to=return_to,
        expires_at=utcnow() + settings.oauth_state_ttl,
    )
    session.add(connection)
    await session.commit()
    url = oauth.authorization_url(
        state=state, redirect_uri=callback_url(settings, platform=oauth.platform), pkce=pkce
    )
    return connection, url


async def connect_with_password(
    *,
    session: AsyncSession,
    caller: Caller,
    settings: Settings,
    vault: Vault,
    login: PasswordConnector,
    identifier: str,
    password: str,
    project_id: str,
) -> Connection:
    """A platform that logs in with a handle and an app password (Bluesky): the account,
    connected now, through a connection already past its callback."""
    try:
        candidates = await login.login(identifier=identifier, password=password)
    except AuthError as refused:
        raise ApiError(
            422, "login_refused", f"{login.platform.value} refused the login: {refused.message}"
        ) from None
    except ProviderError as error:
        raise platform_unavailable(error) from None
    connection = Connection(
        tenant_id=caller.tenant_id,
        api_key_id=caller.api_key_id,
        platform=login.platform,
        is_sandbox=caller.is_test,
        project_id=project_id,
        # No OAuth state here; a random one keeps the column unique and unguessable.
        state_hash=state_hash(secrets.token_urlsafe(32)),
        expires_at=utcnow(),
    )
    return await settle(
        session=session,
        settings=settings,
        vault=vault,
        connection=connection,
        candidates=candidates,
    )


async def claim(*, session: AsyncSession, platform: Platform, state: str | None) -> Connection:
    """The pending connection `state` names, claimed so no second callback can use it."""
    refused = ApiError(
        400,
        "invalid_state",
        "this connect link is unknown, already used or expired: start again with "
        f"POST /v1/accounts/{platform.value}/connect",
    )
    if not state:
        raise refused
    found = (
        await session.exec(select(Connection).where(Connection.state_hash == state_hash(state)))
    ).first()
    if found is None or found.platform != platform:
        raise refused
    # A conditional update is the claim: of two callbacks racing, exactly one changes the row.
    claimed = await session.exec(
        update(Connection)
        .where(
            col(Connection.id) == found.id,
            col(Connection.status) == PENDING,
            col(Connection.expires_at) > utcnow(),
        )
        .values(status=EXCHANGING)
    )
    await session.commit()
    if claimed.rowcount != 1:
        if found.status == PENDING:
            await fail(
                session=session,
                connection=found,
                reason="the connect link expired before it was used",
                status=EXPIRED,
            )
        raise refused
    await session.refresh(found)
    return found


async def fail(
    *, session: AsyncSession, connection: Connection, reason: str, status: str = FAILED
) -> None:
    connection.status = status
    connection.error = reason
    connection.pkce_verifier_enc = None
    connection.grants_enc = None
    connection.completed_at = utcnow()
    session.add(connection)
    await session.commit()


async def exchange(
    *,
    session: AsyncSession,
    settings: Settings,
    vault: Vault,
    oauth: Connector,
    connection: Connection,
    code: str,
) -> list[Candidate]:
    pkce = None
    if connection.pkce_verifier_enc:
        pkce = Pkce(verifier=vault.decrypt(connection.pkce_verifier_enc), challenge="")
    try:
        return await oauth.exchange(
            code=code, redirect_uri=callback_url(settings, platform=oauth.platform), pkce=pkce
        )
    except AuthError as refused:
        await fail(
            session=session,
            connection=connection,
            reason=f"{oauth.platform} refused the code: {refused.message}",
        )
        raise ApiError(400, "connect_refused", connection.error or "refused") from None
    except ProviderError as error:
        # The code may be spent or not: either way the person starts again.
        await fail(
            session=session,
            connection=connection,
            reason=f"{oauth.platform} did not answer; start again",
        )
        raise platform_unavailable(error) from None


async def settle(
    *,
    session: AsyncSession,
    settings: Settings,
    vault: Vault,
    connection: Connection,
    candidates: list[Candidate],
) -> Connection:
    """One account granted: saved at once. Several: kept (encrypted) for the caller to choose."""
    if not candidates:
        await fail(
            session=session,
            connection=connection,
            reason="the login granted no account crier can publish to",
        )
        return connection
    connection.candidates = [
        {"external_id": c.external_id, "display_name": c.display_name} for c in candidates
    ]
    connection.pkce_verifier_enc = None
    if len(candidates) == 1:
        await save_accounts(session=session, vault=vault, connection=connection, chosen=candidates)
        return connection
    connection.grants_enc = vault.encrypt(json.dumps([_grant_to_json(c) for c in candidates]))
    connection.status = AWAITING_SELECTION
    connection.expires_at = utcnow() + settings.connection_choice_ttl
    session.add(connection)
    await session.commit()
    return connection


def granted(connection: Connection, *, vault: Vault) -> list[Candidate]:
    if not connection.grants_enc:
        return []
    return [_grant_from_json(raw) for raw in json.loads(vault.decrypt(connection.grants_enc))]


async def save_accounts(
    *, session: AsyncSession, vault: Vault, connection: Connection, chosen: list[Candidate]
) -> list[Account]:
    """Create the chosen accounts, or on a reconnect replace their tokens in place."""
    saved = []
    for candidate in chosen:
        account = (
            await session.exec(
                select(Account).where(
                    Account.project_id == connection.project_id,
                    Account.platform == connection.platform,
                    Account.external_id == candidate.external_id,
                    Account.is_sandbox == connection.is_sandbox,
                )
            )
        ).first()
        if account is None:
            # A plan limit reached since the connection started ends it here, by name.
            await plan_rules.check_new_account(
                session=session, tenant_id=connection.tenant_id, platform=connection.platform.value
            )
            account = Account(
                tenant_id=connection.tenant_id,
                project_id=connection.project_id,
                platform=connection.platform,
                external_id=candidate.external_id,
                display_name=candidate.display_name,
                is_sandbox=connection.is_sandbox,
            )
        account.display_name = candidate.display_name
        store_tokens(account, candidate.tokens, vault)
        session.add(account)
        session.add(
            Notification(
                tenant_id=connection.tenant_id,
                is_test=connection.is_sandbox,
                kind="account_connected",
                message=f"{connection.platform} account {candidate.display_name} connected",
            )
        )
        record_account_event(session, account, EventType.ACCOUNT_CONNECTED)
        saved.append(account)
    await session.flush()
    connection.account_ids = [a.id for a in saved]
    connection.status = COMPLETED
    connection.grants_enc = None
    connection.completed_at = utcnow()
    session.add(connection)
    await session.commit()
    return saved


async def load_connection(
    *, session: AsyncSession, caller: Caller, connection_id: str
) -> Connection:
    connection = await session.get(Connection, connection_id)
    if (
        connection is None
        or connection.tenant_id != caller.tenant_id
        or connection.is_sandbox != caller.is_test
        or not caller.reaches(connection.project_id)
    ):
        raise ApiError(404, "not_found", f"no connection {connection_id}")
    if connection.expires_at <= utcnow():
        if connection.status == AWAITING_SELECTION:
            await fail(
                session=session,
                connection=connection,
                reason="no accounts were chosen in time",
                status=EXPIRED,
            )
        elif connection.status == PENDING:
            await fail(
                session=session,
                connection=connection,
                reason="the connect link expired before it was used",
                status=EXPIRED,
            )
    return connection


def _grant_to_json(candidate: Candidate) -> dict[str, str | None]:
    tokens = candidate.tokens
    return {
        "external_id": candidate.external_id,
        "display_name": candidate.display_name,
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
    }


def _grant_from_json(raw: dict[str, str | None]) -> Candidate:
    expires = raw.get("expires_at")
    return Candidate(
        external_id=str(raw["external_id"]),
        display_name=str(raw["display_name"]),
        tokens=TokenSet(
            access_token=str(raw["access_token"]),
            refresh_token=raw.get("refresh_token"),
            expires_at=datetime.fromisoformat(expires) if expires else None,
        ),
    )
