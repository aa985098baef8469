"""A tenant's retry policy (core/retry_policy.py), per mode: a sandbox key reads and sets the
sandbox's, a live key the live one's, as with routing."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, SettingsDep, TenantManagerDep, ViewerDep
from api.schemas import Envelope
from core.config import Settings
from core.models import Tenant
from core.retry_policy import Retries, RetryPolicyChoice, resolve

router = APIRouter(prefix="/v1", tags=["settings"])


class RetryPolicyPublic(BaseModel):
    choice: RetryPolicyChoice | None = Field(description="What was set; null: crier's default.")
    effective: Retries = Field(description="What the deliveries apply, the defaults filled in.")


class RetryPolicyIn(RetryPolicyChoice):
    """`{"preset": "crier" | "leadmetrics" | "softsolz" | "manual"}`, or explicit values:
    `{"max_attempts": 4, "delays_seconds": [60, 300, 900]}` or `{"max_attempts": 6,
    "initial_interval_seconds": 30, "backoff": 2, "max_interval_seconds": 600}`."""

    model_config = ConfigDict(extra="forbid")


def _public(stored: dict[str, object] | None, settings: Settings) -> RetryPolicyPublic:
    choice = RetryPolicyChoice.model_validate(stored) if stored else None
    return RetryPolicyPublic(choice=choice, effective=resolve(choice, settings))


@router.get("/retry-policy", response_model=Envelope[RetryPolicyPublic])
async def get_retry_policy(
    caller: ViewerDep, session: SessionDep, settings: SettingsDep
) -> Envelope[RetryPolicyPublic]:
    tenant = await session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    stored = tenant.sandbox_retry_policy if caller.is_test else tenant.retry_policy
    return Envelope(data=_public(stored, settings))


@router.put("/retry-policy", response_model=Envelope[RetryPolicyPublic])
async def put_retry_policy(
    payload: RetryPolicyIn, caller: TenantManagerDep, session: SessionDep, settings: SettingsDep
) -> Envelope[RetryPolicyPublic]:
    """This mode's policy, for targets that fail from now on (a try already waiting keeps the
    wait it was given)."""
    tenant = await session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    stored = payload.model_dump(exclude_none=True)
    if caller.is_test:
        tenant.sandbox_retry_policy = stored
    else:
        tenant.retry_policy = stored
    session.add(tenant)
    await session.commit()
    return Envelope(data=_public(stored, settings))
