"""A platform's error, as the workflow sees it: retried or not, and after how long."""

from __future__ import annotations

from sqlalchemy import update
from temporalio.exceptions import ApplicationError

from core.config import Settings
from core.db import Database
from core.models import Target
from providers.errors import ProviderError, RateLimitedError

TARGET = Target.__table__  # type: ignore[attr-defined]


def to_application_error(
    error: ProviderError, settings: Settings, *, final: bool = False
) -> ApplicationError:
    """`final`: the last try the target gets (its platform errors reached the cap)."""
    non_retryable = final or error.kind in ("content", "auth")
    next_delay = None
    if isinstance(error, RateLimitedError) and not non_retryable:
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
    count to CRIER_PUBLISH_MAX_ATTEMPTS is final (then the target ends `dead`, or `failed`).

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
    return to_application_error(error, settings, final=count >= settings.publish_max_attempts)
