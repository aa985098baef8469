"""Seed 000, Leadmetrics' social publisher, served as its page names it
(docs/coming-from/leadmetrics.md): `POST /tenant/v1/social/{id}/publish`, `/schedule`,
`/cancel-schedule` and `GET /publish-status`, a thin layer over crier's own deliveries.

`{id}` is a crier post (the seed's SocialPost). Every call answers the post's publish status in
the seed's fields (`platformPostId`, `platformPostUrl`, `publishedAt`, `publishError`,
`publishAttempts`), for the post and for each of its targets (the seed's SocialPost has one
channel; a crier post may have several).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import AwareDatetime, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller, PublisherDep, SessionDep, SettingsDep, TemporalDep, ViewerDep
from api.post_queries import load_post, targets_of
from api.schemas import Strict
from api.services import deliveries
from core.db import utcnow
from core.models import Post, Target
from core.status import WAITING

router = APIRouter(prefix="/tenant/v1/social", tags=["seed 000: Leadmetrics"])


class ScheduleBody(Strict):
    scheduledAt: AwareDatetime
    ifLate: Literal["refuse", "missed"] = Field(
        default="refuse",
        description="A scheduledAt more than the grace period (10 min) in the past: `refuse` "
        "answers 422, `missed` records it missed. Within the grace period it publishes at once.",
    )


def _target_status(target: Target) -> dict[str, Any]:
    return {
        "targetId": target.id,
        "platform": target.platform.value,
        "status": target.status.value,
        "platformPostId": target.external_id,
        "platformPostUrl": target.external_url,
        "publishedAt": target.published_at.isoformat() if target.published_at else None,
        "publishError": target.last_error,
        "publishAttempts": target.attempt_count,
    }


def _publish_status(post: Post, targets: list[Target]) -> dict[str, Any]:
    """The seed's fields for the post: its one target's, or with several, the first live
    one's post and link, the first error, and every target's attempts added up."""
    rows = [_target_status(t) for t in targets]
    live = next((r for r in rows if r["platformPostId"]), None)
    return {
        "data": {
            "socialPostId": post.id,
            "status": post.status,
            "scheduledAt": post.scheduled_for.isoformat() if post.scheduled_for else None,
            "platformPostId": live["platformPostId"] if live else None,
            "platformPostUrl": live["platformPostUrl"] if live else None,
            "publishedAt": live["publishedAt"] if live else None,
            "publishError": next((r["publishError"] for r in rows if r["publishError"]), None),
            "publishAttempts": sum(r["publishAttempts"] for r in rows),
            "targets": rows,
        }
    }


async def _answer(session: AsyncSession, caller: Caller, post_id: str) -> dict[str, Any]:
    session.expire_all()  # the workflows' activities wrote the targets from other sessions
    post = await load_post(session, caller, post_id)
    return _publish_status(post, await targets_of(session, post.id))


@router.post("/{post_id}/publish", status_code=status.HTTP_202_ACCEPTED)
async def publish(
    post_id: str,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    """Publish now ("delay = 0"); a scheduled post goes at once, and once. A post awaiting
    approval publishes as soon as it is approved."""
    await deliveries.publish_post(
        session=session,
        temporal=temporal,
        settings=settings,
        caller=caller,
        post_id=post_id,
        when=None,
    )
    return await _answer(session, caller, post_id)


@router.post("/{post_id}/schedule", status_code=status.HTTP_202_ACCEPTED)
async def schedule(
    post_id: str,
    payload: ScheduleBody,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    """Set or move the post's time. A draft (or an unscheduled post) is scheduled; a
    scheduled one is rescheduled. A time up to the grace period in the past publishes now."""
    when = payload.scheduledAt
    post = await load_post(session, caller, post_id)
    waiting = [t for t in await targets_of(session, post.id) if t.status in WAITING]
    if waiting and when > utcnow():
        await deliveries.reschedule_post(
            session=session, temporal=temporal, caller=caller, post_id=post_id, when=when
        )
    else:
        timely = deliveries.within_grace(when, settings.missed_grace_period)
        await deliveries.publish_post(
            session=session,
            temporal=temporal,
            settings=settings,
            caller=caller,
            post_id=post_id,
            # Waiting targets and a time already come: they go now, within the grace period.
            when=None if waiting and timely else when,
            if_late=payload.ifLate,
        )
    return await _answer(session, caller, post_id)


@router.post("/{post_id}/cancel-schedule")
async def cancel_schedule(
    post_id: str, caller: PublisherDep, session: SessionDep, temporal: TemporalDep
) -> dict[str, Any]:
    """Back to a draft with `scheduledAt` null; it can be scheduled again."""
    await deliveries.unschedule_post(
        session=session, temporal=temporal, caller=caller, post_id=post_id
    )
    return await _answer(session, caller, post_id)


@router.get("/{post_id}/publish-status")
async def publish_status(post_id: str, caller: ViewerDep, session: SessionDep) -> dict[str, Any]:
    return await _answer(session, caller, post_id)
