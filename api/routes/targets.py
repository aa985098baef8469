"""One target: its attempt history, and a retry after it failed."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import col, select

from api.deps import PublisherDep, SessionDep, SettingsDep, TemporalDep, ViewerDep
from api.errors import ApiError
from api.post_queries import load_target
from api.scheduling import schedule_targets
from api.schemas import AttemptPublic, Envelope, ListEnvelope, ListMeta, TargetPublic
from api.views import attempt_view, target_view
from core.models import Attempt, Post
from core.status import (
    RETRYABLE_STATUSES,
    UNRESOLVED_OUTCOMES,
    AttemptOutcome,
    TargetStatus,
)

router = APIRouter(prefix="/v1/targets", tags=["targets"])


@router.get("/{target_id}/attempts", response_model=ListEnvelope[AttemptPublic])
async def list_attempts(
    target_id: str, caller: ViewerDep, session: SessionDep
) -> ListEnvelope[AttemptPublic]:
    target = await load_target(session, caller, target_id)
    attempts = (
        await session.exec(
            select(Attempt).where(Attempt.target_id == target.id).order_by(col(Attempt.number))
        )
    ).all()
    return ListEnvelope(
        data=[attempt_view(a) for a in attempts], meta=ListMeta(count=len(attempts))
    )


@router.post(
    "/{target_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[TargetPublic],
)
async def retry_target(
    target_id: str,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[TargetPublic]:
    """Send a failed, dead, missed, expired or unconfirmed target again, now: a new run of
    the same workflow id. A published target is never sent twice."""
    target = await load_target(session, caller, target_id)
    if target.status not in RETRYABLE_STATUSES:
        allowed = ", ".join(sorted(s.value for s in RETRYABLE_STATUSES))
        raise ApiError(
            409, "conflict", f"the target is {target.status}; only {allowed} targets are retried"
        )
    post = await session.get(Post, target.post_id)
    assert post is not None
    if target.status == TargetStatus.UNCONFIRMED:
        # The caller looked at the account and found no post: the lost attempt is let go, so
        # the new run posts instead of asking the platform again.
        open_attempts = await session.exec(
            select(Attempt).where(
                Attempt.target_id == target.id, col(Attempt.outcome).in_(UNRESOLVED_OUTCOMES)
            )
        )
        for attempt in open_attempts.all():
            attempt.outcome = AttemptOutcome.ABANDONED
            attempt.response_summary = f"retried by {caller.name} after checking the platform"
            session.add(attempt)
    # A new delivery: the platform's errors are counted from nought again (activities/errors).
    target.platform_errors = 0
    session.add(target)
    await schedule_targets(session, temporal, settings, post, [target], due=None, again=True)
    await session.refresh(target)
    return Envelope(data=target_view(target, settings))
