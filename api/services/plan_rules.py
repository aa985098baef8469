"""What a tenant's plan allows, checked where it matters: publishing (scheduling a target),
connecting an account (platform, count), creating a post (platforms, posts this month).

A refusal is a 403 that names the plan, the limit it reached, and what would allow it (seed
001: "you'll see an upgrade prompt"); the pages show the same words as their prompt.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError
from core.db import utcnow
from core.models import Account, Plan, Post, Tenant
from core.status import AccountStatus

PLAN_REFUSED = "plan_limit"
PUBLISHING_REFUSED = "publishing_not_enabled"


async def plan_of(*, session: AsyncSession, tenant_id: str) -> Plan:
    tenant = await session.get(Tenant, tenant_id)
    plan = await session.get(Plan, tenant.plan_id) if tenant is not None else None
    if plan is None:  # only a tenant deleted under a request: nothing is allowed
        raise ApiError(404, "not_found", f"no tenant {tenant_id}")
    return plan


async def _plans_allowing(session: AsyncSession) -> list[str]:
    rows = await session.exec(
        select(Plan.id).where(Plan.allow_social_publishing == True)  # noqa: E712
    )
    return sorted(rows.all())


async def publishing_refusal(*, session: AsyncSession, plan: Plan) -> str | None:
    """Why this plan may not publish, in words a person can act on; None: it may."""
    if plan.allow_social_publishing:
        return None
    allowing = await _plans_allowing(session)
    upgrade = (
        f"move to a plan that allows it ({', '.join(allowing)})"
        if allowing
        else "ask an operator to enable it on a plan"
    )
    return (
        f"the plan '{plan.name}' ({plan.id}) does not allow social publishing: {upgrade} "
        f"(an operator runs `crier tenants update <tenant id> --plan <plan>`, or enables it on "
        f"this plan with `crier plans update {plan.id} --allow-social-publishing`)"
    )


async def require_publishing(*, session: AsyncSession, tenant_id: str) -> None:
    plan = await plan_of(session=session, tenant_id=tenant_id)
    refusal = await publishing_refusal(session=session, plan=plan)
    if refusal is not None:
        raise ApiError(403, PUBLISHING_REFUSED, refusal)


def _refuse(plan: Plan, what: str, allow: str) -> ApiError:
    return ApiError(
        403,
        PLAN_REFUSED,
        f"the plan '{plan.name}' ({plan.id}) {what}: {allow} (an operator changes the plan "
        f"with `crier plans update {plan.id}` or moves the tenant to another)",
    )


def _platform_refusal(plan: Plan, platforms: Collection[str]) -> ApiError | None:
    if plan.platforms is None:
        return None
    outside = sorted(set(platforms) - set(plan.platforms))
    if not outside:
        return None
    return _refuse(
        plan,
        f"does not include {', '.join(outside)}",
        f"it includes {', '.join(sorted(plan.platforms)) or 'no platform'}",
    )


async def check_new_account(*, session: AsyncSession, tenant_id: str, platform: str) -> None:
    """Before a connection starts and before it saves an account: the platform is in the plan
    and the tenant is under its accounts limit (connected accounts, both modes)."""
    plan = await plan_of(session=session, tenant_id=tenant_id)
    refused = _platform_refusal(plan, [platform])
    if refused is not None:
        raise refused
    if plan.max_accounts is None:
        return
    count = (
        await session.exec(
            select(func.count()).where(
                Account.tenant_id == tenant_id,
                col(Account.status) != AccountStatus.DISCONNECTED,
            )
        )
    ).one()
    if count >= plan.max_accounts:
        raise _refuse(
            plan,
            f"allows {plan.max_accounts} connected accounts and the tenant has {count}",
            "disconnect one, or move to a plan with more",
        )


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def check_new_post(
    *, session: AsyncSession, tenant_id: str, is_test: bool, platforms: Collection[str]
) -> None:
    """Before a post is created: its platforms are in the plan and the month's posts (in the
    post's mode, deleted ones included: they were made) are under the limit."""
    plan = await plan_of(session=session, tenant_id=tenant_id)
    refused = _platform_refusal(plan, platforms)
    if refused is not None:
        raise refused
    if plan.max_posts_per_month is None:
        return
    count = (
        await session.exec(
            select(func.count()).where(
                Post.tenant_id == tenant_id,
                Post.is_test == is_test,
                col(Post.created_at) >= month_start(utcnow()),
            )
        )
    ).one()
    if count >= plan.max_posts_per_month:
        raise _refuse(
            plan,
            f"allows {plan.max_posts_per_month} posts a month and this month has {count}",
            "wait for next month, or move to a plan with more",
        )
