from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from api.deps import SessionDep, ViewerDep
from api.schemas import AccountPublic, ListEnvelope, ListMeta
from api.views import account_view
from core.models import Account

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


@router.get("", response_model=ListEnvelope[AccountPublic])
async def list_accounts(caller: ViewerDep, session: SessionDep) -> ListEnvelope[AccountPublic]:
    # A sandbox key sees the sandbox accounts, a live key the live ones: they never mix.
    accounts = (
        await session.exec(
            select(Account)
            .where(Account.tenant_id == caller.tenant_id, Account.is_sandbox == caller.is_test)
            .order_by(col(Account.created_at))
        )
    ).all()
    return ListEnvelope(
        data=[account_view(a) for a in accounts], meta=ListMeta(count=len(accounts))
    )
