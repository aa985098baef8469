"""Steering a post's deliveries: publish, reschedule, cancel, approve, reject."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.deps import Caller, PublisherDep, ReviewerDep, SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError, problem
from api.post_queries import load_post, targets_of
from api.scheduling import announce, schedule_targets
from api.schemas import Envelope, PostPublic, PublishRequest, RescheduleBody, ReviewBody
from api.steering import cancel_unsent, raise_refusals, steer, update
from api.views import post_view
from core.config import Settings
from core.db import utcnow
from core.events import EventType
from core.messages import RescheduleRequest, ReviewDecision, TargetState
from core.models import Post, Target, Tenant
from core.post_status import refresh_post_status
from core.status import ApprovalState, TargetStatus, aggregate_status

router = APIRouter(prefix="/v1/posts", tags=["lifecycle"])

# A "now" sent by a caller whose clock runs a little behind is still now.
PAST_TOLERANCE = timedelta(seconds=5)
WAITING = (TargetStatus.AWAITING_APPROVAL, TargetStatus.SCHEDULED)


def _refuse_past(when: object) -> None:
    raise ApiError(
        422,
        "invalid_request",
        "scheduled_for is in the past",
        [problem(["body", "scheduled_for"], f"{when} is in the past")],
    )


def _conflict(message: str, targets: list[Target]) -> ApiError:
    return ApiError(
        409,
        "conflict",
        message,
        [problem(["targets", t.id], f"the target is {t.status}") for t in targets],
    )


async def _answer(
    session: AsyncSession,
    settings: Settings,
    post: Post,
    live: dict[str, TargetState] | None = None,
) -> Envelope[PostPublic]:
    """The post as it is now. Workflows record their changes before answering an update, but
    a publish that has just begun is in the workflow's state before the database's, so the
    states the workflows answered (`live`) win."""
    await session.refresh(post)
    view = post_view(post, await targets_of(session, post.id), settings)
    if live:
        targets = [
            t.model_copy(update={"status": live[t.id].status}) if t.id in live else t
            for t in view.targets
        ]
        view = view.model_copy(
            update={"targets": targets, "status": aggregate_status(t.status for t in targets)}
        )
    return Envelope(data=view)


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
    post = await load_post(session, caller, post_id)
    if payload.scheduled_for is not None and payload.scheduled_for < utcnow() - PAST_TOLERANCE:
        _refuse_past(payload.scheduled_for.isoformat())
    targets = await targets_of(session, post.id)
    drafts = [t for t in targets if t.status == TargetStatus.DRAFT]
    scheduled = [t for t in targets if t.status == TargetStatus.SCHEDULED]
    if payload.scheduled_for is not None and scheduled:
        raise _conflict("already scheduled: use /reschedule to move it", scheduled)
    if not drafts and not scheduled:
        raise _conflict("no target is waiting to be published", targets)
    live: dict[str, TargetState] = {}
    if payload.scheduled_for is None and scheduled:
        live, refused = await steer(temporal, scheduled, update("publish_now"))
        raise_refusals(refused, "publish now")
    if drafts:
        post.publish_if_late = payload.publish_if_late
        await schedule_targets(session, temporal, settings, post, drafts, due=payload.scheduled_for)
    return await _answer(session, settings, post, live)


@router.post("/{post_id}/reschedule", response_model=Envelope[PostPublic])
async def reschedule_post(
    post_id: str,
    payload: RescheduleBody,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[PostPublic]:
    post = await load_post(session, caller, post_id)
    if payload.scheduled_for <= utcnow():
        _refuse_past(payload.scheduled_for.isoformat())
    targets = await targets_of(session, post.id)
    waiting = [t for t in targets if t.status in WAITING]
    if not waiting:
        raise _conflict("nothing is waiting to publish", targets)
    done, refused = await steer(
        temporal,
        waiting,
        update("reschedule", RescheduleRequest(scheduled_for=payload.scheduled_for)),
    )
    if done:
        post.scheduled_for = payload.scheduled_for
        session.add(post)
        moved = [t for t in waiting if t.id in done]
        if any(done[t.id].status == TargetStatus.SCHEDULED for t in moved):
            announce(session, post, moved, EventType.POST_SCHEDULED)
        await session.commit()
    raise_refusals(refused, "reschedule")
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
    post = await load_post(session, caller, post_id)
    targets = await targets_of(session, post.id)
    cancelled, refused = await cancel_unsent(session, temporal, post.id, targets)
    if not cancelled and not refused:
        raise _conflict("nothing left to cancel", targets)
    raise_refusals(refused, "cancel")
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
    return await _review(post_id, payload, caller, session, settings, temporal, approved=True)


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
    return await _review(post_id, payload, caller, session, settings, temporal, approved=False)


async def _review(
    post_id: str,
    payload: ReviewBody,
    caller: Caller,
    session: AsyncSession,
    settings: Settings,
    temporal: Client,
    *,
    approved: bool,
) -> Envelope[PostPublic]:
    reviewer = caller.name
    post = await load_post(session, caller, post_id)
    if not post.requires_approval:
        raise ApiError(409, "conflict", "this post does not require approval")
    if payload.expected_updated_at != post.updated_at:
        # The reviewer judged another version: deciding now would approve what nobody read.
        raise ApiError(
            409,
            "stale",
            "the post changed since you read it: read it again, then decide",
            [{"loc": ["body", "expected_updated_at"], "msg": f"now {post.updated_at.isoformat()}"}],
        )
    if approved and caller.via_link is None and post.created_by == caller.api_key_id:
        tenant = await session.get(Tenant, post.tenant_id)
        if tenant is None or not tenant.allow_self_approval:
            raise ApiError(
                403,
                "self_approval",
                "a key cannot approve a post it created: another key or a review link must "
                "(or the operator allows self-approval for this tenant)",
            )
    if post.approval_state != ApprovalState.PENDING:
        raise ApiError(409, "conflict", f"this post is already {post.approval_state}")
    targets = await targets_of(session, post.id)
    awaiting = [t for t in targets if t.status == TargetStatus.AWAITING_APPROVAL]
    drafts = [t for t in targets if t.status == TargetStatus.DRAFT]
    if not awaiting and not drafts:
        raise _conflict("no target is awaiting approval", targets)
    decision = ReviewDecision(reviewer=reviewer, comment=payload.comment)
    done, refused = await steer(
        temporal, awaiting, update("approve" if approved else "reject", decision)
    )
    raise_refusals(refused, "approve" if approved else "reject")
    approved_targets = [t for t in awaiting if t.id in done]
    if approved and approved_targets and post.scheduled_for and post.scheduled_for > utcnow():
        announce(session, post, approved_targets, EventType.POST_SCHEDULED)
    if not approved:
        for target in drafts:
            target.status = TargetStatus.REJECTED
            target.last_error = f"rejected by {reviewer}" + (
                f": {payload.comment}" if payload.comment else ""
            )
            session.add(target)
    post.approval_state = ApprovalState.APPROVED if approved else ApprovalState.REJECTED
    post.reviewed_by = reviewer[:200]  # the column; a key name may run longer
    post.review_comment = payload.comment
    post.reviewed_at = utcnow()
    session.add(post)
    await refresh_post_status(session, post.id)
    await session.commit()
    return await _answer(session, settings, post)
