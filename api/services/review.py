"""A reviewer's decision on a post that requires approval: approve or reject, on the version
the reviewer read. The caller's `social.approve` scope is the caller's to check."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.deps import Caller
from api.errors import ApiError
from api.post_queries import load_post, targets_of
from api.services.scheduling import announce
from api.services.steering import raise_refusals, steer, update_with
from api.services.target_conflicts import conflict
from core.db import utcnow
from core.events import EventType
from core.messages.delivery import ReviewDecision
from core.models import Post, Tenant
from core.post_status import refresh_post_status
from core.status import ApprovalState, TargetStatus
from workflows.publish_target import PublishTargetWorkflow


async def decide_post(
    *,
    session: AsyncSession,
    temporal: Client,
    caller: Caller,
    post_id: str,
    expected_updated_at: datetime,
    comment: str | None,
    approved: bool,
) -> Post:
    """Approve (waiting targets go on to their schedule; a draft post stays approved for when
    it is published) or reject (every unapproved target ends `rejected` with the comment)."""
    reviewer = caller.name
    post = await load_post(session, caller, post_id)
    if not post.requires_approval:
        raise ApiError(409, "conflict", "this post does not require approval")
    if expected_updated_at != post.updated_at:
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
        raise conflict("no target is awaiting approval", targets)
    decision = ReviewDecision(reviewer=reviewer, comment=comment)
    decide = PublishTargetWorkflow.approve if approved else PublishTargetWorkflow.reject
    done, refused = await steer(
        temporal=temporal, targets=awaiting, send=update_with(decide, decision)
    )
    raise_refusals(refused, action="approve" if approved else "reject")
    approved_targets = [t for t in awaiting if t.id in done]
    if approved and approved_targets and post.scheduled_for and post.scheduled_for > utcnow():
        announce(session, post=post, targets=approved_targets, kind=EventType.POST_SCHEDULED)
    if not approved:
        for target in drafts:
            target.status = TargetStatus.REJECTED
            target.last_error = f"rejected by {reviewer}" + (f": {comment}" if comment else "")
            session.add(target)
    post.approval_state = ApprovalState.APPROVED if approved else ApprovalState.REJECTED
    post.reviewed_by = reviewer[:200]  # the column; a key name may run longer
    post.review_comment = comment
    post.reviewed_at = utcnow()
    session.add(post)
    await refresh_post_status(session, post.id)
    await session.commit()
    return post
