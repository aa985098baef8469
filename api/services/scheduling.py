"""Scheduling targets: write the intent to the database, then start one workflow per target."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.errors import ApiError, problem
from api.services import plan_rules
from core.config import Settings
from core.db import utcnow
from core.events import EventType, post_data, record_event
from core.messages.delivery import PublishTargetInput, RetrySettings, TargetState
from core.models import Account, Post, Target, Tenant
from core.post_status import refresh_post_status
from core.status import AccountStatus, ApprovalState, TargetMode, TargetStatus
from core.temporal import (
    SA_PLATFORM,
    SA_POST_ID,
    SA_SCHEDULED_FOR,
    SA_STATUS,
    SA_TENANT,
    workflow_id_for_target,
)
from providers.registry import rules_for
from workflows.publish_target import PublishTargetWorkflow

log = logging.getLogger(__name__)

TargetHandle = WorkflowHandle[PublishTargetWorkflow, TargetState]


def retry_settings(settings: Settings) -> RetrySettings:
    return RetrySettings(
        max_attempts=settings.publish_max_attempts,
        initial_interval=settings.publish_initial_interval,
        backoff=settings.publish_backoff,
        max_interval=settings.publish_max_interval,
        start_to_close=settings.publish_start_to_close,
    )


def announce(session: AsyncSession, *, post: Post, targets: list[Target], kind: EventType) -> None:
    """Record a post-level event (scheduled, approval requested) for `targets` of `post`."""
    data = post_data(post, targets)
    if kind == EventType.APPROVAL_REQUESTED:
        data["approval_deadline"] = post.approval_deadline
    record_event(session, tenant_id=post.tenant_id, is_test=post.is_test, type=kind, data=data)


def needs_approval(post: Post) -> bool:
    return bool(post.requires_approval) and post.approval_state != ApprovalState.APPROVED


async def start_target_workflow(
    *,
    temporal: Client,
    settings: Settings,
    post: Post,
    target: Target,
    account: Account,
    now: bool = False,
    again: bool = False,
    routed_platforms: frozenset[str] = frozenset(),
    parts_only: bool = False,
) -> TargetHandle:
    """Start the target's workflow from its row (status and time already written); `now`
    lets the workflow take its own clock's now as the time.

    Raises WorkflowAlreadyStartedError while it has a running one. `again` starts a new run
    under the same id after a finished one (retry); a first start refuses any earlier run.
    """
    assert target.scheduled_for is not None
    routed = target.platform.value in routed_platforms
    job = PublishTargetInput(
        target_id=target.id,
        post_id=target.post_id,
        tenant_id=target.tenant_id,
        account_id=target.account_id,
        platform=target.platform,
        scheduled_for=None if now else target.scheduled_for,
        retry=retry_settings(settings),
        requires_approval=target.status == TargetStatus.AWAITING_APPROVAL,
        approval_deadline=post.approval_deadline,
        grace_period=settings.missed_grace_period,
        publish_if_late=post.publish_if_late,
        prepares=rules_for(target.platform).prepares
        and not routed
        and bool(
            target.override_media_urls
            if target.override_media_urls is not None
            else post.media_urls
        ),
        media_deadline=settings.media_ready_deadline,
        media_poll=settings.media_poll_interval,
        budgets=list(rules_for(target.platform).budgets),
        refreshes_token=not routed,
        # Not where preparing is publishing (TikTok): nothing may go out before its time.
        lead=settings.publish_lead
        if settings.publish_lead > timedelta(0)
        and not rules_for(target.platform).publishes_at_prepare
        else None,
        parts=part_delays(post, target, routed=routed),
        parts_only=parts_only,
    )
    return await temporal.start_workflow(
        PublishTargetWorkflow.run,
        job,
        id=workflow_id_for_target(target.id),
        task_queue=settings.task_queue,
        id_reuse_policy=(
            WorkflowIDReusePolicy.ALLOW_DUPLICATE
            if again
            else WorkflowIDReusePolicy.REJECT_DUPLICATE
        ),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SA_TENANT, target.tenant_id),
                SearchAttributePair(SA_PLATFORM, target.platform.value),
                SearchAttributePair(SA_STATUS, target.status.value),
                SearchAttributePair(SA_POST_ID, target.post_id),
                SearchAttributePair(SA_SCHEDULED_FOR, target.scheduled_for),
            ]
        ),
        static_summary=f"Post {target.post_id} to {target.platform} · {account.display_name}",
    )


def part_delays(post: Post, target: Target, *, routed: bool) -> list[timedelta]:
    """Each part's wait after the one before it, for a target whose platform takes parts.
    None through an aggregator, which offers no replies or comments (refused at create,
    api/services/post_rules.py)."""
    if not post.parts or routed or rules_for(target.platform).parts is None:
        return []
    if target.mode != TargetMode.PUBLISH:
        return []
    return [timedelta(seconds=int(part.get("delay_seconds", 0))) for part in post.parts]


async def _refuse_disconnected(session: AsyncSession, targets: list[Target]) -> None:
    """A disconnected account has no tokens left: scheduling to it could only fail later."""
    found = await session.exec(
        select(Account).where(
            col(Account.id).in_([t.account_id for t in targets]),
            Account.status == AccountStatus.DISCONNECTED,
        )
    )
    gone = {a.id: a for a in found.all()}
    if gone:
        raise ApiError(
            409,
            "account_disconnected",
            "some targets' accounts are disconnected: reconnect them, or remove those targets",
            [
                problem(["targets", t.id], f"account {t.account_id} is disconnected")
                for t in targets
                if t.account_id in gone
            ],
        )


async def schedule_targets(
    *,
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    post: Post,
    targets: list[Target],
    due: datetime | None,
    again: bool = False,
) -> list[TargetHandle]:
    """Schedule `targets` of `post` for `due` (None: now); return their workflows' handles.

    The intent is committed before any workflow starts, so a crash between the two leaves a row
    that says what was meant, never a workflow the database does not know about. Targets whose
    workflow could not be started go back to where they were, and the caller gets a 503 it may
    retry.
    """
    await plan_rules.require_publishing(session=session, tenant_id=post.tenant_id)
    tenant = await session.get(Tenant, post.tenant_id)
    assert tenant is not None  # plan_rules found it
    await _refuse_disconnected(session, targets)
    now = utcnow()
    when = due.astimezone(UTC) if due is not None else now
    first = TargetStatus.AWAITING_APPROVAL if needs_approval(post) else TargetStatus.SCHEDULED
    before = {t.id: (t.status, t.workflow_id, t.last_error) for t in targets}
    for target in targets:
        target.status = first
        target.scheduled_for = when
        target.workflow_id = workflow_id_for_target(target.id)
        target.last_error = None
        target.updated_at = now
        session.add(target)
    post.scheduled_for = when
    if first == TargetStatus.AWAITING_APPROVAL:
        post.approval_state = ApprovalState.PENDING
    session.add(post)
    await refresh_post_status(session, post.id)
    await session.commit()

    found = await session.exec(
        select(Account).where(col(Account.id).in_([t.account_id for t in targets]))
    )
    accounts = {a.id: a for a in found.all()}
    routed = tenant.routed_platforms(sandbox=post.is_test)
    results = await asyncio.gather(
        *(
            start_target_workflow(
                temporal=temporal,
                settings=settings,
                post=post,
                target=t,
                account=accounts[t.account_id],
                now=due is None,
                again=again,
                routed_platforms=routed,
            )
            for t in targets
        ),
        return_exceptions=True,
    )
    handles: list[TargetHandle] = []
    failures: dict[str, BaseException] = {}
    for target, result in zip(targets, results, strict=True):
        if isinstance(result, WorkflowAlreadyStartedError):
            # Already has its workflow: nothing lost, nothing doubled.
            handles.append(
                temporal.get_workflow_handle_for(PublishTargetWorkflow.run, result.workflow_id)
            )
        elif isinstance(result, BaseException):
            log.warning("could not start the workflow of target %s: %r", target.id, result)
            failures[target.id] = result
        else:
            handles.append(result)
    started = [t for t in targets if t.id not in failures]
    if started and (first == TargetStatus.AWAITING_APPROVAL or due is not None):
        kind = (
            EventType.APPROVAL_REQUESTED
            if first == TargetStatus.AWAITING_APPROVAL
            else EventType.POST_SCHEDULED
        )
        # After the starts, so no event announces a target whose workflow never began.
        announce(session, post=post, targets=started, kind=kind)
        await session.commit()
    if not failures:
        return handles

    for target in targets:
        if target.id in failures:
            target.status, target.workflow_id, target.last_error = before[target.id]
            session.add(target)
    await refresh_post_status(session, post.id)
    await session.commit()
    unexpected = [e for e in failures.values() if not isinstance(e, RPCError)]
    if unexpected:
        raise unexpected[0]  # a bug, not an outage: let it surface as one
    raise ApiError(
        503,
        "temporal_unavailable",
        f"{len(failures)} of {len(targets)} target(s) could not be scheduled; they are as they "
        "were, so retrying the request is safe",
    )
