"""The admin API (/admin/v1): plans, and the plan and approval settings of a tenant, for
operators, as `crier plans` and `crier tenants` are.

It is off unless CRIER_ADMIN_TOKEN is set: then every path under it answers 404, as a path
that does not exist would, so an unconfigured deployment shows no admin surface at all. When
set, only `Authorization: Bearer <CRIER_ADMIN_TOKEN>` is let in; tenants' API keys never are.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import SessionDep
from api.errors import ApiError, problem
from api.schemas import Envelope, ListEnvelope, ListMeta
from core.config import Settings
from core.db import utcnow
from core.models import DEFAULT_PLAN, Plan, Tenant
from core.status import Platform

PLAN_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


def operator(request: Request) -> None:
    """The admin token, compared in constant time; no token configured: the API is not here."""
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        raise StarletteHTTPException(404, "Not Found")
    expected = settings.admin_token.get_secret_value().encode()
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise ApiError(
            401,
            "unauthenticated",
            "the admin API is for operators: send CRIER_ADMIN_TOKEN as a Bearer token "
            "(API keys are not accepted)",
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(operator)])

PlanId = Annotated[str, Path(max_length=40)]
TenantId = Annotated[str, Path(max_length=36)]
Limit = Annotated[int | None, Field(ge=0, description="null: no limit")]
Platforms = Annotated[
    list[Platform] | None,
    Field(
        min_length=1,
        description="The platforms tenants on the plan may connect and post to; null: all.",
    ),
]


def _unique(platforms: list[Platform] | None) -> list[Platform] | None:
    return None if platforms is None else list(dict.fromkeys(platforms))


class PlanPublic(BaseModel):
    id: str
    name: str
    allow_social_publishing: bool
    max_accounts: int | None = Field(description="Connected accounts (both modes); null: any.")
    max_posts_per_month: int | None = Field(
        description="Posts created per calendar month (UTC), per mode; null: any."
    )
    platforms: list[str] | None = Field(description="null: every platform.")
    tenants: int = Field(description="How many tenants are on the plan.")
    created_at: datetime
    updated_at: datetime


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=PLAN_ID_PATTERN, description="A short lower-case name: agency.")
    name: str = Field(min_length=1, max_length=200)
    allow_social_publishing: bool = False
    max_accounts: Limit = None
    max_posts_per_month: Limit = None
    platforms: Platforms = None

    _platforms = field_validator("platforms")(_unique)


class PlanUpdate(BaseModel):
    """Only the fields sent change; `null` on a limit or `platforms` removes it (on the others
    it is refused: they always have a value)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", min_length=1, max_length=200)
    allow_social_publishing: bool = False
    max_accounts: Limit = None
    max_posts_per_month: Limit = None
    platforms: Platforms = None

    _platforms = field_validator("platforms")(_unique)


class TenantPublic(BaseModel):
    id: str
    name: str
    plan: PlanPublic
    requires_approval: bool
    allow_self_approval: bool
    created_at: datetime


class TenantUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(default="", max_length=40)
    requires_approval: bool = False
    allow_self_approval: bool = False


async def _tenants_on(session: AsyncSession, plan_id: str) -> int:
    return (await session.exec(select(func.count()).where(Tenant.plan_id == plan_id))).one()


async def _plan_view(session: AsyncSession, plan: Plan) -> PlanPublic:
    return PlanPublic(
        id=plan.id,
        name=plan.name,
        allow_social_publishing=plan.allow_social_publishing,
        max_accounts=plan.max_accounts,
        max_posts_per_month=plan.max_posts_per_month,
        platforms=plan.platforms,
        tenants=await _tenants_on(session, plan.id),
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


async def _plan_ids(session: AsyncSession) -> list[str]:
    return sorted((await session.exec(select(Plan.id))).all())


async def _plan(session: AsyncSession, plan_id: str) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise ApiError(404, "not_found", f"no plan {plan_id}")
    return plan


async def _tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise ApiError(404, "not_found", f"no tenant {tenant_id}")
    return tenant


def _platform_values(platforms: list[Platform] | None) -> list[str] | None:
    return None if platforms is None else [platform.value for platform in platforms]


async def _commit(session: AsyncSession, raced: str) -> None:
    """Commit; a tenant and its plan changed by another operator at the same moment (the plan
    table's foreign key refuses the pair) is a 409 saying so, not a 500."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ApiError(409, "conflict", f"{raced}: try again") from None


@router.get("/plans", response_model=ListEnvelope[PlanPublic])
async def list_plans(session: SessionDep) -> ListEnvelope[PlanPublic]:
    plans = (await session.exec(select(Plan).order_by(col(Plan.id)))).all()
    views = [await _plan_view(session, plan) for plan in plans]
    return ListEnvelope(data=views, meta=ListMeta(count=len(views), total=len(views)))


@router.post("/plans", status_code=status.HTTP_201_CREATED, response_model=Envelope[PlanPublic])
async def create_plan(payload: PlanCreate, session: SessionDep) -> Envelope[PlanPublic]:
    if await session.get(Plan, payload.id) is not None:
        raise ApiError(409, "conflict", f"a plan '{payload.id}' exists: PATCH it to change it")
    plan = Plan(
        id=payload.id,
        name=payload.name,
        allow_social_publishing=payload.allow_social_publishing,
        max_accounts=payload.max_accounts,
        max_posts_per_month=payload.max_posts_per_month,
        platforms=_platform_values(payload.platforms),
    )
    session.add(plan)
    await session.commit()
    return Envelope(data=await _plan_view(session, plan))


@router.get("/plans/{plan_id}", response_model=Envelope[PlanPublic])
async def get_plan(plan_id: PlanId, session: SessionDep) -> Envelope[PlanPublic]:
    return Envelope(data=await _plan_view(session, await _plan(session, plan_id)))


@router.patch("/plans/{plan_id}", response_model=Envelope[PlanPublic])
async def update_plan(
    plan_id: PlanId, payload: PlanUpdate, session: SessionDep
) -> Envelope[PlanPublic]:
    """Applies at once to every tenant on the plan (accounts and posts already made stay)."""
    plan = await _plan(session, plan_id)
    given = payload.model_fields_set
    if "name" in given:
        plan.name = payload.name
    if "allow_social_publishing" in given:
        plan.allow_social_publishing = payload.allow_social_publishing
    if "max_accounts" in given:
        plan.max_accounts = payload.max_accounts
    if "max_posts_per_month" in given:
        plan.max_posts_per_month = payload.max_posts_per_month
    if "platforms" in given:
        plan.platforms = _platform_values(payload.platforms)
    plan.updated_at = utcnow()
    session.add(plan)
    await session.commit()
    return Envelope(data=await _plan_view(session, plan))


@router.delete("/plans/{plan_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_plan(plan_id: PlanId, session: SessionDep) -> None:
    """Only a plan no tenant is on, and never the default plan new tenants get."""
    plan = await _plan(session, plan_id)
    if plan.id == DEFAULT_PLAN:
        raise ApiError(409, "conflict", f"'{DEFAULT_PLAN}' is the plan new tenants get")
    on_it = await _tenants_on(session, plan.id)
    if on_it:
        raise ApiError(
            409,
            "conflict",
            f"{on_it} tenant(s) are on the plan '{plan.id}': move them to another first "
            "(PATCH /admin/v1/tenants/{tenant_id} with a plan_id)",
        )
    await session.delete(plan)
    await _commit(session, f"a tenant was moved onto the plan '{plan.id}' meanwhile")


async def _tenant_view(session: AsyncSession, tenant: Tenant) -> TenantPublic:
    plan = await _plan(session, tenant.plan_id)
    return TenantPublic(
        id=tenant.id,
        name=tenant.name,
        plan=await _plan_view(session, plan),
        requires_approval=tenant.requires_approval,
        allow_self_approval=tenant.allow_self_approval,
        created_at=tenant.created_at,
    )


@router.get("/tenants/{tenant_id}", response_model=Envelope[TenantPublic])
async def get_tenant(tenant_id: TenantId, session: SessionDep) -> Envelope[TenantPublic]:
    return Envelope(data=await _tenant_view(session, await _tenant(session, tenant_id)))


@router.patch("/tenants/{tenant_id}", response_model=Envelope[TenantPublic])
async def update_tenant(
    tenant_id: TenantId, payload: TenantUpdate, session: SessionDep
) -> Envelope[TenantPublic]:
    """Move the tenant to a plan, or change its approval settings."""
    given = payload.model_fields_set
    if "plan_id" in given and await session.get(Plan, payload.plan_id) is None:
        plans = ", ".join(await _plan_ids(session))
        raise ApiError(
            422,
            "invalid_request",
            "1 problem(s) in the request",
            [problem(["body", "plan_id"], f"no plan '{payload.plan_id}'; the plans are: {plans}")],
        )
    tenant = await _tenant(session, tenant_id)
    if "plan_id" in given:
        tenant.plan_id = payload.plan_id
    if "requires_approval" in given:
        tenant.requires_approval = payload.requires_approval
    if "allow_self_approval" in given:
        tenant.allow_self_approval = payload.allow_self_approval
    session.add(tenant)
    await _commit(session, f"the plan '{payload.plan_id}' was deleted meanwhile")
    return Envelope(data=await _tenant_view(session, tenant))
