"""Connected accounts: the list, and disconnecting one (api/services/disconnecting.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ManagerDep, SessionDep, SettingsDep, TemporalDep, VaultDep, ViewerDep
from api.post_queries import accounts_of
from api.routes.connections import PlatformHttpDep
from api.schemas import AccountDisconnected, AccountPublic, Envelope, ListEnvelope, ListMeta
from api.services import disconnecting
from api.views import account_view

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


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
