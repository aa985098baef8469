"""Connecting accounts: start (the platform's consent link), callback, choose, look."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import RedirectResponse
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api import return_origins
from api.deps import Caller, ManagerDep, SessionDep, SettingsDep, VaultDep, ViewerDep
from api.errors import ApiError, problem
from api.schemas import CandidatePublic, ChooseAccounts, ConnectBody, ConnectionPublic, Envelope
from api.services import connecting, plan_rules
from api.services.projects import chosen_project
from api.views import account_view
from core.config import Settings
from core.models import Account, Connection
from core.status import Platform
from core.vault import Vault
from providers.connect.base import PasswordConnector
from providers.connect.registry import is_password_login

router = APIRouter(tags=["accounts"])


def get_platform_http(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.platform_http
    return client


PlatformHttpDep = Annotated[httpx.AsyncClient, Depends(get_platform_http)]


async def connection_view(
    session: AsyncSession, connection: Connection, *, authorization_url: str | None = None
) -> ConnectionPublic:
    accounts: list[Account] = []
    if connection.account_ids:
        found = await session.exec(
            select(Account).where(col(Account.id).in_(connection.account_ids))
        )
        accounts = list(found.all())
    waiting = connection.status in (connecting.PENDING, connecting.AWAITING_SELECTION)
    return ConnectionPublic(
        id=connection.id,
        platform=connection.platform,
        status=connection.status,
        error=connection.error,
        authorization_url=authorization_url,
        candidates=[CandidatePublic(**c) for c in connection.candidates],
        accounts=[account_view(a) for a in accounts],
        expires_at=connection.expires_at if waiting else None,
        created_at=connection.created_at,
    )


@router.post(
    "/v1/accounts/{platform}/connect",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[ConnectionPublic],
)
async def connect(
    platform: Platform,
    body: ConnectBody,
    caller: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    vault: VaultDep,
    http: PlatformHttpDep,
) -> Envelope[ConnectionPublic]:
    """OAuth platforms: a connection whose `authorization_url` the person opens. Bluesky:
    the account, connected now with its handle and an app password."""
    linker = connecting.connector(platform, http=http, settings=settings, sandbox=caller.is_test)
    project = await chosen_project(session=session, caller=caller, project_id=body.project_id)
    await plan_rules.check_new_account(
        session=session, tenant_id=caller.tenant_id, platform=platform.value
    )
    if is_password_login(linker):
        return await _password_connect(session, caller, settings, vault, linker, body, project.id)
    extra = [name for name in ("identifier", "app_password") if getattr(body, name) is not None]
    if extra:
        raise ApiError(
            422,
            "invalid_request",
            f"{platform.value} connects through its consent screen, not a password",
            [problem(["body", name], "not accepted for this platform") for name in extra],
        )
    return_to = await return_origins.checked_return_to(session, caller, settings, body.return_to)
    connection, url = await connecting.start_oauth(
        session=session,
        caller=caller,
        settings=settings,
        vault=vault,
        oauth=linker,
        return_to=return_to,
        project_id=project.id,
    )
    return Envelope(data=await connection_view(session, connection, authorization_url=url))


async def _password_connect(
    session: AsyncSession,
    caller: Caller,
    settings: Settings,
    vault: Vault,
    login: PasswordConnector,
    body: ConnectBody,
    project_id: str,
) -> Envelope[ConnectionPublic]:
    missing = [name for name in ("identifier", "app_password") if getattr(body, name) is None]
    if missing:
        raise ApiError(
            422,
            "invalid_request",
            f"{login.platform.value} connects with the account's handle and an app password",
            [problem(["body", name], "required for this platform") for name in missing],
        )
    assert body.identifier is not None and body.app_password is not None
    connection = await connecting.connect_with_password(
        session=session,
        caller=caller,
        settings=settings,
        vault=vault,
        login=login,
        identifier=body.identifier,
        password=body.app_password.get_secret_value(),
        project_id=project_id,
    )
    return Envelope(data=await connection_view(session, connection))


@router.get(
    "/v1/oauth/{platform}/callback",
    response_model=Envelope[ConnectionPublic],
    responses={
        303: {"description": "Sent on to the connection's `return_to` (its origin registered)"}
    },
)
async def oauth_callback(
    platform: Platform,
    session: SessionDep,
    settings: SettingsDep,
    vault: VaultDep,
    http: PlatformHttpDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response | Envelope[ConnectionPublic]:
    """Where the platform sends the person's browser back. No API key: the single-use
    `state` is the credential. With `return_to`, the browser is sent on there if its origin is
    still registered; otherwise it gets this answer."""
    connection = await connecting.claim(session=session, platform=platform, state=state)
    if error is not None or not code:
        reason = error_description or error or "no code came back"
        await connecting.fail(
            session=session,
            connection=connection,
            reason=f"not connected at {platform.value}: {reason}",
        )
    else:
        oauth = connecting.connector(
            platform, http=http, settings=settings, sandbox=connection.is_sandbox
        )
        assert not is_password_login(oauth)
        try:
            candidates = await connecting.exchange(
                session=session,
                settings=settings,
                vault=vault,
                oauth=oauth,
                connection=connection,
                code=code,
            )
        except ApiError:
            if await return_origins.may_return_to(session, connection, settings):
                return _back(connection)
            raise
        connection = await connecting.settle(
            session=session,
            settings=settings,
            vault=vault,
            connection=connection,
            candidates=candidates,
        )
    if await return_origins.may_return_to(session, connection, settings):
        return _back(connection)
    return Envelope(data=await connection_view(session, connection))


def _back(connection: Connection) -> RedirectResponse:
    assert connection.return_to is not None
    query = urlencode({"connection_id": connection.id, "status": connection.status})
    separator = "&" if "?" in connection.return_to else "?"
    return RedirectResponse(f"{connection.return_to}{separator}{query}", status_code=303)


@router.get("/v1/connections/{connection_id}", response_model=Envelope[ConnectionPublic])
async def get_connection(
    connection_id: str, caller: ViewerDep, session: SessionDep
) -> Envelope[ConnectionPublic]:
    connection = await connecting.load_connection(
        session=session, caller=caller, connection_id=connection_id
    )
    return Envelope(data=await connection_view(session, connection))


@router.post(
    "/v1/connections/{connection_id}/accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[ConnectionPublic],
)
async def choose_accounts(
    connection_id: str,
    body: ChooseAccounts,
    caller: ManagerDep,
    session: SessionDep,
    vault: VaultDep,
) -> Envelope[ConnectionPublic]:
    """Which of the Pages, locations or boards the login granted become accounts."""
    connection = await connecting.load_connection(
        session=session, caller=caller, connection_id=connection_id
    )
    if connection.status != connecting.AWAITING_SELECTION:
        raise ApiError(
            409, "conflict", f"the connection is {connection.status}: there is nothing to choose"
        )
    offered = {c.external_id: c for c in connecting.granted(connection, vault=vault)}
    unknown = [i for i in body.external_ids if i not in offered]
    if unknown:
        raise ApiError(
            422,
            "invalid_request",
            "some ids were not granted by this login",
            [problem(["body", "external_ids", i], "not among the candidates") for i in unknown],
        )
    chosen = [offered[i] for i in dict.fromkeys(body.external_ids)]
    await connecting.save_accounts(
        session=session, vault=vault, connection=connection, chosen=chosen
    )
    return Envelope(data=await connection_view(session, connection))
