"""A platform's error, as the workflow sees it: retried or not, and after how long."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import ApplicationError

from core.config import Settings
from core.db import Database
from core.models import Post, Target, Tenant
from core.retry_policy import RetryPolicyChoice, resolve
from providers.errors import ProviderError, RateLimitedError

TARGET = Target.__table__  # type: ignore[attr-defined]


def to_application_error(
    error: ProviderError,
    settings: Settings,
    *,
    final: bool = False,
    wait: timedelta | None = None,
) -> ApplicationError:
    """`final`: the last try the target gets (its platform errors reached the cap); `wait`:
    how long before the next, by the tenant's retry policy (None: Temporal's backoff)."""
    non_retryable = final or error.kind in ("content", "auth")
    next_delay = None if non_retryable else wait
    if isinstance(error, RateLimitedError) and not non_retryable:
        # The platform said when: its reset, whatever the tenant's policy.
        next_delay = error.retry_after or settings.rate_limit_default_wait
    return ApplicationError(
        error.summary(),
        {"platform": error.platform, "code": error.code, "http_status": error.http_status},
        type=type(error).__name__,
        non_retryable=non_retryable,
        next_retry_delay=next_delay,
    )


async def charge(
    db: Database, settings: Settings, target_id: str, error: ProviderError
) -> ApplicationError:
    """The platform's error, counted against its target: the one that brings the target's
    count to its tenant's tries (core/retry_policy.py; CRIER_PUBLISH_MAX_ATTEMPTS by default)
    is final (then the target ends `dead`, or `failed`), and the others wait as the policy
    says.

    The count lives in the database, not in Temporal's retry policy, because Temporal also
    counts a try that timed out, and a try times out when crier is slow or its worker dies:
    crier's failure, which must never use up a post's tries (issue 16). A manual retry
    starts the count again (api/routes/targets.py)."""
    async with db.session() as session:
        connection = await session.connection()
        count = (
            await connection.execute(
                update(TARGET)
                .where(TARGET.c.id == target_id)
                .values(platform_errors=TARGET.c.platform_errors + 1)
                .returning(TARGET.c.platform_errors)
            )
        ).scalar_one()
        await session.commit()
        # Read after the commit: nothing else holds SQLite's one write lock while it runs.
        choice = await _tenant_choice(session, target_id)
    retries = resolve(choice, settings)
    return to_application_error(
        error, settings, final=count >= retries.max_attempts, wait=retries.wait_after(count)
    )


async def _tenant_choice(session: AsyncSession, target_id: str) -> RetryPolicyChoice | None:
    """The retry policy the target's tenant chose for the target's mode, if any."""
    # By primary keys, one row each: a join the planner could start from the tenants scans
    # them all.
    target = await session.get(Target, target_id)
    assert target is not None
    post = await session.get(Post, target.post_id)
    tenant = await session.get(Tenant, target.tenant_id)
    assert post is not None and tenant is not None
    stored = tenant.sandbox_retry_policy if post.is_test else tenant.retry_policy
    return RetryPolicyChoice.model_validate(stored) if stored else None
