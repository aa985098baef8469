"""A tenant's aggregator keys and routing (seed 002): which platforms go through PostForMe or
LATE, and with whose key. Keys are shown once, never again.

Each mode has its own: a sandbox key sets and reads the sandbox's keys and routing only, and a
live key the live ones, so a key made for testing can never steer live delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field, SecretStr
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller, ManagerDep, SessionDep, TenantManagerDep, VaultDep, ViewerDep
from api.errors import ApiError
from api.post_queries import load_account
from api.schemas import Envelope, ListEnvelope, ListMeta, Strict
from core.db import utcnow
from core.models import AggregatorKey, Tenant
from core.status import Platform

router = APIRouter(prefix="/v1", tags=["aggregators"])

AggregatorName = Literal["postforme", "late"]
AggregatorRef = Annotated[str, Field(min_length=1, max_length=200)]


class KeyIn(Strict):
    api_key: SecretStr = Field(min_length=8, max_length=500)


class KeyPublic(BaseModel):
    aggregator: str
    created_at: datetime


class RoutingIn(Strict):
    aggregator_platforms: list[Platform] = Field(
        description="Platforms published through the aggregators instead of directly."
    )


class RoutingPublic(BaseModel):
    aggregator_platforms: list[Platform]


class AccountRefsIn(Strict):
    aggregator_refs: dict[AggregatorName, AggregatorRef] = Field(
        description="This account's id at each aggregator."
    )


@router.get("/aggregators", response_model=ListEnvelope[KeyPublic])
async def list_keys(caller: ViewerDep, session: SessionDep) -> ListEnvelope[KeyPublic]:
    rows = (
        await session.exec(
            select(AggregatorKey).where(
                AggregatorKey.tenant_id == caller.tenant_id, AggregatorKey.is_test == caller.is_test
            )
        )
    ).all()
    keys = [KeyPublic(aggregator=r.aggregator, created_at=r.created_at) for r in rows]
    return ListEnvelope(data=keys, meta=ListMeta(count=len(keys)))


async def _own_key(session: AsyncSession, caller: Caller, name: str) -> AggregatorKey | None:
    """The tenant's key for this aggregator in the caller's mode, if it has set one."""
    found = await session.exec(
        select(AggregatorKey).where(
            AggregatorKey.tenant_id == caller.tenant_id,
            AggregatorKey.is_test == caller.is_test,
            AggregatorKey.aggregator == name,
        )
    )
    return found.first()


@router.put("/aggregators/{name}", response_model=Envelope[KeyPublic])
async def put_key(
    name: AggregatorName,
    payload: KeyIn,
    caller: TenantManagerDep,
    session: SessionDep,
    vault: VaultDep,
) -> Envelope[KeyPublic]:
    found = await _own_key(session, caller, name)
    secret = vault.encrypt(payload.api_key.get_secret_value())
    row = found or AggregatorKey(
        tenant_id=caller.tenant_id, is_test=caller.is_test, aggregator=name, api_key_enc=secret
    )
    row.api_key_enc = secret
    row.created_at = utcnow()
    session.add(row)
    await session.commit()
    return Envelope(data=KeyPublic(aggregator=row.aggregator, created_at=row.created_at))


@router.delete("/aggregators/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_key(
    name: AggregatorName, caller: TenantManagerDep, session: SessionDep
) -> Response:
    found = await _own_key(session, caller, name)
    if found is None:
        raise ApiError(404, "not_found", f"no {name} key")
    await session.delete(found)
    await session.commit()
    return Response(status_code=204)


@router.get("/routing", response_model=Envelope[RoutingPublic])
async def get_routing(caller: ViewerDep, session: SessionDep) -> Envelope[RoutingPublic]:
    tenant = await session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    routed = sorted(tenant.routed_platforms(sandbox=caller.is_test))
    return Envelope(data=RoutingPublic(aggregator_platforms=[Platform(p) for p in routed]))


@router.put("/routing", response_model=Envelope[RoutingPublic])
async def put_routing(
    payload: RoutingIn, caller: TenantManagerDep, session: SessionDep
) -> Envelope[RoutingPublic]:
    """This mode's routing: a sandbox key's reaches sandbox posts only."""
    tenant = await session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    routed = sorted({p.value for p in payload.aggregator_platforms})
    if caller.is_test:
        tenant.sandbox_aggregator_platforms = routed
    else:
        tenant.aggregator_platforms = routed
    session.add(tenant)
    await session.commit()
    return Envelope(data=RoutingPublic(aggregator_platforms=[Platform(p) for p in routed]))


@router.put("/accounts/{account_id}/aggregator-refs", response_model=Envelope[AccountRefsIn])
async def put_account_refs(
    account_id: str, payload: AccountRefsIn, caller: ManagerDep, session: SessionDep
) -> Envelope[AccountRefsIn]:
    """The account's ids at the aggregators, used with the tenant's own aggregator keys only:
    the deployment's keys use the ids the operator assigned (`crier aggregator-refs`)."""
    account = await load_account(session, caller, account_id)
    account.aggregator_refs = {str(name): ref for name, ref in payload.aggregator_refs.items()}
    account.updated_at = utcnow()
    session.add(account)
    await session.commit()
    return Envelope(data=payload)
