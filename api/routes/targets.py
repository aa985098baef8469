"""One target: its attempt history, and a retry after it failed."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import col, select

from api.deps import PublisherDep, SessionDep, SettingsDep, TemporalDep, ViewerDep
from api.post_queries import load_target
from api.schemas import AttemptPublic, Envelope, ListEnvelope, ListMeta, TargetPublic
from api.services import deliveries
from api.views import attempt_view, target_view
from core.models import Attempt

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
    target = await deliveries.retry_target(
        session=session, temporal=temporal, settings=settings, caller=caller, target_id=target_id
    )
    return Envelope(data=target_view(target, settings))
