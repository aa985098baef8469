"""Connected accounts: the list, disconnecting one (api/services/disconnecting.py), and
checking one with its platform now (api/services/account_checks.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.deps import ManagerDep, SessionDep, SettingsDep, TemporalDep, VaultDep, ViewerDep
from api.post_queries import accounts_of
from api.routes.connections import PlatformHttpDep
from api.schemas import AccountDisconnected, AccountPublic, Envelope, ListEnvelope, ListMeta
from api.services import account_checks, disconnecting
from api.services.account_checks import AccountCheck, PageChoice
from api.views import account_view
from core.db import Database

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


def get_database(request: Request) -> Database:
    """The app's database: a check opens its own short sessions around the platform's call."""
    database: Database = request.app.state.db
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


@router.get("", response_model=ListEnvelope[AccountPublic])
async def list_accounts(
    caller: ViewerDep,
    session: SessionDep,
    project_id: Annotated[
        str | None,
        Query(
            max_length=36, description="this project's accounts; one the key does not reach: none"
        ),
    ] = None,
) -> ListEnvelope[AccountPublic]:
    """The key's mode's accounts in the projects it reaches, oldest first."""
    accounts = await accounts_of(session, caller, project_id)
    return ListEnvelope(
        data=[account_view(a) for a in accounts], meta=ListMeta(count=len(accounts))
    )


@router.delete("/{account_id}", response_model=Envelope[AccountDisconnected])
async def disconnect_account(
    account_id: str,
    caller: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    vault: VaultDep,
    temporal: TemporalDep,
    http: PlatformHttpDep,
) -> Envelope[AccountDisconnected]:
    """Revoke the token where the platform can, forget it, and cancel the account's waiting
    targets. The account stays listed as `disconnected`; connecting it again restores it."""
    return Envelope(
        data=await disconnecting.disconnect_account(
            session=session,
            caller=caller,
            settings=settings,
            vault=vault,
            temporal=temporal,
            http=http,
            account_id=account_id,
        )
    )


@router.post("/{account_id}/verify", response_model=Envelope[AccountCheck])
async def verify_account(
    account_id: str,
    caller: ManagerDep,
    session: SessionDep,
    db: DatabaseDep,
    settings: SettingsDep,
    vault: VaultDep,
    http: PlatformHttpDep,
) -> Envelope[AccountCheck]:
    """Check the account's token with its platform now, as the token-health run does: one
    cheap authenticated call (after a refresh when the token is close to expiry), spent from
    the platform's budget for that token. A refused token expires the account, with a
    `token_expired` notification and a `social.token_expired` event. A platform that does not
    answer is a 502 and changes nothing."""
    return Envelope(
        data=await account_checks.verify_account(
            session=session,
            db=db,
            caller=caller,
            settings=settings,
            vault=vault,
            http=http,
            account_id=account_id,
        )
    )


@router.get("/{account_id}/pages", response_model=ListEnvelope[PageChoice])
async def list_pages(
    account_id: str,
    caller: ManagerDep,
    session: SessionDep,
    db: DatabaseDep,
    settings: SettingsDep,
    vault: VaultDep,
    http: PlatformHttpDep,
) -> ListEnvelope[PageChoice]:
    """The Pages, locations or channels the account's login reaches now, and which one this
    account publishes to (Google Business Profile, YouTube). Facebook and Instagram keep no
    user token after a Page is chosen, and the other platforms list nothing from a stored
    token: those answer 409 `reconnect_to_choose`, naming the connect call whose login lists
    them (POST /v1/accounts/{platform}/connect)."""
    pages = await account_checks.list_pages(
        session=session,
        db=db,
        caller=caller,
        settings=settings,
        vault=vault,
        http=http,
        account_id=account_id,
    )
    return ListEnvelope(data=pages, meta=ListMeta(count=len(pages)))
