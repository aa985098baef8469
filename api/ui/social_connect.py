"""The Social tab's cards: Connect (and Reconnect), choosing among the accounts a login granted,
and Disconnect, each through the functions the API's routes call.

Connect does not answer with a redirect to the platform: the page's CSP allows forms to
submit only to crier (`form-action 'self'`), and Chromium applies that to a form's redirects
too, so a 303 to a consent screen is blocked. It answers with a page that moves on by itself
(a meta refresh, no script) and has a link to follow.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep, VaultDep, get_temporal
from api.errors import ApiError
from api.post_queries import load_account
from api.routes.connections import PlatformHttpDep
from api.services import connecting, disconnecting, plan_rules
from api.ui.auth import MANAGE
from api.ui.pages import _back, _flash, _render
from api.ui.social_common import Opened, open_for_action, open_project, refused, social_url
from api.ui.social_views import platform_name
from core.models import Connection
from core.status import Platform
from providers.connect.registry import is_password_login

router = APIRouter()
Csrf = Annotated[str, Form(max_length=100)]
Secretish = Annotated[str, Form(max_length=300)]


def _platform(name: str) -> Platform | None:
    try:
        return Platform(name)
    except ValueError:
        return None


@router.post("/projects/{project_id}/connect/{name}", response_model=None)
async def connect(
    project_id: str,
    name: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    vault: VaultDep,
    http: PlatformHttpDep,
    csrf: Csrf = "",
    identifier: Secretish = "",
    app_password: Secretish = "",
) -> Response:
    here = social_url(project_id)
    opened = await open_for_action(request, session, project_id, csrf, (MANAGE,), here)
    if not isinstance(opened, Opened):
        return opened
    platform = _platform(name)
    if platform is None:
        return _render(request, "missing.html", opened.who, 404, what=f"platform {name}")
    caller = opened.who.caller
    try:
        linker = connecting.connector(
            platform, http=http, settings=settings, sandbox=caller.is_test
        )
        await plan_rules.check_new_account(
            session=session, tenant_id=caller.tenant_id, platform=platform.value
        )
        if is_password_login(linker):
            missing = [
                label
                for label, value in (("handle", identifier), ("app password", app_password))
                if not value.strip()
            ]
            if missing:
                _flash(request, "error", f"Give the account's {' and '.join(missing)}.")
                return _back(here)
            connection = await connecting.connect_with_password(
                session=session,
                caller=caller,
                settings=settings,
                vault=vault,
                login=linker,
                identifier=identifier.strip(),
                password=app_password,
                project_id=opened.project.id,
            )
            return _after_login(request, opened, connection)
        connection, url = await connecting.start_oauth(
            session=session,
            caller=caller,
            settings=settings,
            vault=vault,
            oauth=linker,
            # crier's own page: always a place the callback may send the browser back to.
            return_to=f"{settings.public_api_url.rstrip('/')}{here}",
            project_id=opened.project.id,
        )
    except ApiError as error:
        return refused(request, error, here)
    return _render(
        request,
        "consent.html",
        opened.who,
        project=opened.project,
        platform=platform_name(platform),
        consent_url=url,
    )


def _after_login(request: Request, opened: Opened, connection: Connection) -> Response:
    if connection.status == connecting.AWAITING_SELECTION:
        return _back(f"/ui/projects/{opened.project.id}/connections/{connection.id}")
    if connection.status == connecting.COMPLETED:
        _flash(request, "ok", f"{platform_name(connection.platform)} connected.")
    else:
        _flash(request, "error", f"Not connected: {connection.error or connection.status}.")
    return _back(social_url(opened.project.id))


@router.get("/projects/{project_id}/connections/{connection_id}", response_model=None)
async def choose_page(
    project_id: str, connection_id: str, request: Request, session: SessionDep
) -> Response:
    opened = await open_project(request, session, project_id)
    if not isinstance(opened, Opened):
        return opened
    connection = await _connection(session, opened, connection_id)
    if connection is None:
        return _render(request, "missing.html", opened.who, 404, what=f"connection {connection_id}")
    return _render(
        request,
        "choose_accounts.html",
        opened.who,
        project=opened.project,
        connection=connection,
        platform=platform_name(connection.platform),
        waiting=connection.status == connecting.AWAITING_SELECTION,
    )


async def _connection(session: SessionDep, opened: Opened, connection_id: str) -> Connection | None:
    """The connection, if it is this project's (the caller's tenant, mode and projects)."""
    try:
        connection = await connecting.load_connection(
            session=session, caller=opened.who.caller, connection_id=connection_id
        )
    except ApiError:
        return None
    return connection if connection.project_id == opened.project.id else None


@router.post("/projects/{project_id}/connections/{connection_id}", response_model=None)
async def choose(
    project_id: str,
    connection_id: str,
    request: Request,
    session: SessionDep,
    vault: VaultDep,
    csrf: Csrf = "",
    external_ids: Annotated[list[str] | None, Form(max_length=100)] = None,
) -> Response:
    page = f"/ui/projects/{project_id}/connections/{connection_id}"
    opened = await open_for_action(request, session, project_id, csrf, (MANAGE,), page)
    if not isinstance(opened, Opened):
        return opened
    connection = await _connection(session, opened, connection_id)
    if connection is None:
        return _render(request, "missing.html", opened.who, 404, what=f"connection {connection_id}")
    if connection.status != connecting.AWAITING_SELECTION:
        _flash(request, "error", f"The connection is {connection.status}: connect again.")
        return _back(social_url(project_id))
    offered = {c.external_id: c for c in connecting.granted(connection, vault=vault)}
    picked = list(dict.fromkeys(external_ids or []))
    if not picked or any(i not in offered for i in picked):
        _flash(request, "error", "Tick one or more of the accounts this login granted.")
        return _back(page)
    try:
        saved = await connecting.save_accounts(
            session=session,
            vault=vault,
            connection=connection,
            chosen=[offered[i] for i in picked],
        )
    except ApiError as error:
        return refused(request, error, page)
    _flash(request, "ok", f"{len(saved)} account{'' if len(saved) == 1 else 's'} added.")
    return _back(social_url(project_id))


@router.post("/projects/{project_id}/accounts/{account_id}/disconnect", response_model=None)
async def disconnect(
    project_id: str,
    account_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    vault: VaultDep,
    http: PlatformHttpDep,
    csrf: Csrf = "",
) -> Response:
    here = social_url(project_id)
    opened = await open_for_action(request, session, project_id, csrf, (MANAGE,), here)
    if not isinstance(opened, Opened):
        return opened
    try:
        account = await load_account(session, opened.who.caller, account_id)
        if account.project_id != opened.project.id:
            raise ApiError(404, "not_found", f"no account {account_id}")
        # The API's own disconnect (revoke, forget, cancel the waiting targets).
        gone = await disconnecting.disconnect_account(
            account_id=account_id,
            caller=opened.who.caller,
            session=session,
            settings=settings,
            vault=vault,
            temporal=await get_temporal(request),
            http=http,
        )
    except ApiError as error:
        return refused(request, error, here)
    _flash(
        request,
        "ok",
        f"{gone.account.display_name} disconnected"
        + (
            f"; {gone.cancelled_targets} waiting post(s) cancelled"
            if gone.cancelled_targets
            else ""
        )
        + ".",
    )
    return _back(here)
