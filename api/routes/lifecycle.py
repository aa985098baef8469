"""Steering a post's deliveries over HTTP: publish, reschedule, cancel, approve, reject.
Each route parses the request, calls its function in api/services, and answers the post."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.deps import Caller, PublisherDep, ReviewerDep, SessionDep, SettingsDep, TemporalDep
from api.schemas import Envelope, PostPublic, PublishRequest, RescheduleBody, ReviewBody
from api.services import deliveries, review
from api.views import post_now
from core.config import Settings
from core.messages.delivery import TargetState
from core.models import Post

router = APIRouter(prefix="/v1/posts", tags=["lifecycle"])


async def _answer(
    session: AsyncSession,
    settings: Settings,
    post: Post,
    live: dict[str, TargetState] | None = None,
) -> Envelope[PostPublic]:
    return Envelope(data=await post_now(session, settings, post, live))


async def _decide(
    session: AsyncSession,
    settings: Settings,
    temporal: Client,
    caller: Caller,
    post_id: str,
    payload: ReviewBody,
    *,
    approved: bool,
) -> Envelope[PostPublic]:
    """Approve and reject differ only in the decision: one review function takes both."""
    post = await review.decide_post(
        session=session,
        temporal=temporal,
        caller=caller,
        post_id=post_id,
        expected_updated_at=payload.expected_updated_at,
        comment=payload.comment,
        approved=approved,
    )
    return await _answer(session, settings, post)


@router.post(
    "/{post_id}/publish", status_code=status.HTTP_202_ACCEPTED, response_model=Envelope[PostPublic]
)
async def publish_post(
    post_id: str,
    payload: PublishRequest,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[PostPublic]:
    """`{}` publishes now (a scheduled post too, at once and once); `{"scheduled_for": …}`
    schedules a draft post."""
    steered = await deliveries.publish_post(
        session=session,
        temporal=temporal,
        settings=settings,
        caller=caller,
        post_id=post_id,
        when=payload.scheduled_for,
        publish_if_late=payload.publish_if_late,
        if_late=payload.if_late,
    )
    return await _answer(session, settings, steered.post, steered.live)


@router.post("/{post_id}/reschedule", response_model=Envelope[PostPublic])
async def reschedule_post(
    post_id: str,
    payload: RescheduleBody,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[PostPublic]:
    post = await deliveries.reschedule_post(
        session=session,
        temporal=temporal,
        caller=caller,
        post_id=post_id,
        when=payload.scheduled_for,
    )
    return await _answer(session, settings, post)


@router.post("/{post_id}/unschedule", response_model=Envelope[PostPublic])
async def unschedule_post(
    post_id: str,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[PostPublic]:
    """Every waiting target back to a draft with no time; unlike cancel, the post can be
    scheduled or published again."""
    post = await deliveries.unschedule_post(
        session=session, temporal=temporal, caller=caller, post_id=post_id
    )
    return await _answer(session, settings, post)


@router.post("/{post_id}/cancel", response_model=Envelope[PostPublic])
async def cancel_post(
    post_id: str,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[PostPublic]:
    """Cancel every target that has not started publishing; answers once each workflow has
    confirmed that nothing will be sent."""
    post = await deliveries.cancel_post(
        session=session, temporal=temporal, caller=caller, post_id=post_id
    )
    return await _answer(session, settings, post)


@router.post("/{post_id}/approve", response_model=Envelope[PostPublic])
async def approve_post(
    post_id: str,
    payload: ReviewBody,
    caller: ReviewerDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[PostPublic]:
    """Approve: waiting targets go on to their schedule; a draft post stays approved for when
    it is published."""
    return await _decide(session, settings, temporal, caller, post_id, payload, approved=True)


@router.post("/{post_id}/reject", response_model=Envelope[PostPublic])
async def reject_post(
    post_id: str,
    payload: ReviewBody,
    caller: ReviewerDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[PostPublic]:
    """Reject: every unapproved target ends `rejected` with the reviewer's comment."""
    return await _decide(session, settings, temporal, caller, post_id, payload, approved=False)
