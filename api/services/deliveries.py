"""Steering a post's deliveries: publish (now or at a time), reschedule, unschedule, cancel,
and send a failed target again. Scopes are the caller's to check (a route's dependency, a
page's form)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.deps import Caller
from api.errors import ApiError, problem
from api.post_queries import load_post, load_target, targets_of
from api.services.scheduling import announce, schedule_targets, start_target_workflow
from api.services.steering import (
    cancel_unsent,
    raise_refusals,
    steer,
    update,
    update_with,
    wait_for_runs_to_end,
)
from api.services.target_conflicts import conflict
from core.config import Settings
from core.db import utcnow
from core.events import EventType
from core.messages.delivery import RescheduleRequest, TargetState
from core.models import Account, Attempt, Post, Target, Tenant
from core.post_status import refresh_post_status
from core.status import (
    RETRYABLE_STATUSES,
    UNRESOLVED_OUTCOMES,
    WAITING,
    AttemptOutcome,
    TargetStatus,
)
from workflows.publish_target import PublishTargetWorkflow

# A "now" sent by a caller whose clock runs a little behind is still now.
PAST_TOLERANCE = timedelta(seconds=5)


@dataclass(frozen=True)
class Steered:
    """The post after an action, and the states its targets' workflows answered: a publish
    that has just begun is in the workflow's state before the database's."""

    post: Post
    live: dict[str, TargetState] = field(default_factory=dict)


IfLate = Literal["refuse", "missed"]


def within_grace(when: datetime, grace: timedelta) -> bool:
    """A time no further past than the grace period: still to be published, at once."""
    return utcnow() - when <= grace


def _check_late(when: datetime, grace: timedelta, if_late: IfLate, publish_if_late: bool) -> None:
    """A past time: within the grace period it publishes at once (as seed 000's job created
    late would); beyond it the caller chose a refusal or a `missed` record."""
    if within_grace(when, grace) or publish_if_late or if_late == "missed":
        return
    raise ApiError(
        422,
        "invalid_request",
        "scheduled_for is in the past",
        [
            problem(
                ["body", "scheduled_for"],
                f"{when.isoformat()} is more than the grace period ({grace}) in the past; send "
                'a later time, or "if_late": "missed" to record it missed',
            )
        ],
    )


def _refuse_past(when: datetime) -> None:
    raise ApiError(
        422,
        "invalid_request",
        "scheduled_for is in the past",
        [problem(["body", "scheduled_for"], f"{when.isoformat()} is in the past")],
    )


async def publish_post(
    *,
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    caller: Caller,
    post_id: str,
    when: datetime | None,
    publish_if_late: bool = False,
    if_late: IfLate = "refuse",
) -> Steered:
    """`when=None` publishes now (a scheduled post too, at once and once); a time schedules a
    draft post. A past time within the grace period publishes at once; one beyond it is
    refused, or recorded `missed` when `if_late` asks for that (or published anyway with
    `publish_if_late`)."""
    post = await load_post(session, caller, post_id)
    if when is not None and when < utcnow() - PAST_TOLERANCE:
        _check_late(when, settings.missed_grace_period, if_late, publish_if_late)
    targets = await targets_of(session, post.id)
    drafts = [t for t in targets if t.status == TargetStatus.DRAFT]
    scheduled = [t for t in targets if t.status == TargetStatus.SCHEDULED]
    if when is not None and scheduled:
        raise conflict("already scheduled: use /reschedule to move it", scheduled)
    if not drafts and not scheduled:
        raise conflict("no target is waiting to be published", targets)
    live: dict[str, TargetState] = {}
    if when is None and scheduled:
        live, refused = await steer(
            temporal=temporal, targets=scheduled, send=update(PublishTargetWorkflow.publish_now)
        )
        raise_refusals(refused, action="publish now")
    if drafts:
        post.publish_if_late = publish_if_late
        # A draft that was unscheduled had a run under its id; it ended, and a new one starts.
        # Grouped before any start: starting one sets its workflow id.
        groups = {
            again: [t for t in drafts if (t.workflow_id is not None) == again]
            for again in (False, True)
        }
        for again, group in groups.items():
            if group:
                await schedule_targets(
                    session=session,
                    temporal=temporal,
                    settings=settings,
                    post=post,
                    targets=group,
                    due=when,
                    again=again,
                )
    return Steered(post, live)


async def unschedule_post(
    *, session: AsyncSession, temporal: Client, caller: Caller, post_id: str
) -> Post:
    """Every waiting target back to a draft with no time (seed 000's cancel-schedule): not an
    end, unlike cancel; the post can be scheduled or published again. Returns once each run
    has ended, so a publish right after starts a new one."""
    post = await load_post(session, caller, post_id)
    targets = await targets_of(session, post.id)
    waiting = [t for t in targets if t.status in WAITING]
    if not waiting:
        raise conflict("nothing is scheduled", targets)
    done, refused = await steer(
        temporal=temporal, targets=waiting, send=update(PublishTargetWorkflow.unschedule)
    )
    await wait_for_runs_to_end(temporal=temporal, targets=[t for t in waiting if t.id in done])
    if done:
        post.scheduled_for = None
        session.add(post)
        await refresh_post_status(session, post.id)
        await session.commit()
    raise_refusals(refused, action="unschedule")
    return post


async def reschedule_post(
    *, session: AsyncSession, temporal: Client, caller: Caller, post_id: str, when: datetime
) -> Post:
    """Move every waiting target to `when`; those that moved are recorded even if others
    refused (the refusals are then raised)."""
    post = await load_post(session, caller, post_id)
    if when <= utcnow():
        _refuse_past(when)
    targets = await targets_of(session, post.id)
    waiting = [t for t in targets if t.status in WAITING]
    if not waiting:
        raise conflict("nothing is waiting to publish", targets)
    done, refused = await steer(
        temporal=temporal,
        targets=waiting,
        send=update_with(PublishTargetWorkflow.reschedule, RescheduleRequest(scheduled_for=when)),
    )
    if done:
        post.scheduled_for = when
        session.add(post)
        moved = [t for t in waiting if t.id in done]
        if any(done[t.id].status == TargetStatus.SCHEDULED for t in moved):
            announce(session, post=post, targets=moved, kind=EventType.POST_SCHEDULED)
        await session.commit()
    raise_refusals(refused, action="reschedule")
    return post


async def cancel_post(
    *, session: AsyncSession, temporal: Client, caller: Caller, post_id: str
) -> Post:
    """Cancel every target that has not started publishing; returns once each workflow has
    confirmed that nothing will be sent."""
    post = await load_post(session, caller, post_id)
    targets = await targets_of(session, post.id)
    cancelled, refused = await cancel_unsent(
        session=session, temporal=temporal, post_id=post.id, targets=targets
    )
    if not cancelled and not refused:
        raise conflict("nothing left to cancel", targets)
    raise_refusals(refused, action="cancel")
    return post


async def retry_target(
    *,
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    caller: Caller,
    target_id: str,
) -> Target:
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
    if target.status == TargetStatus.PARTIALLY_PUBLISHED:
        return await _retry_missing_parts(
            session=session, temporal=temporal, settings=settings, post=post, target=target
        )
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
    await schedule_targets(
        session=session,
        temporal=temporal,
        settings=settings,
        post=post,
        targets=[target],
        due=None,
        again=True,
    )
    await session.refresh(target)
    return target


async def _retry_missing_parts(
    *, session: AsyncSession, temporal: Client, settings: Settings, post: Post, target: Target
) -> Target:
    """The post is live: a new run publishes only its parts still missing, from the first."""
    account = await session.get(Account, target.account_id)
    tenant = await session.get(Tenant, target.tenant_id)
    assert account is not None and tenant is not None
    before = (target.status, target.last_error)
    target.status = TargetStatus.PUBLISHED
    target.last_error = None
    target.platform_errors = 0
    target.updated_at = utcnow()
    session.add(target)
    await refresh_post_status(session, post.id)
    await session.commit()
    try:
        await start_target_workflow(
            temporal=temporal,
            settings=settings,
            post=post,
            target=target,
            account=account,
            again=True,
            routed_platforms=frozenset(tenant.routed_platforms(sandbox=post.is_test)),
            parts_only=True,
        )
    except Exception:
        target.status, target.last_error = before
        session.add(target)
        await refresh_post_status(session, post.id)
        await session.commit()
        raise ApiError(503, "unavailable", "could not start the retry; try again") from None
    await session.refresh(target)
    return target
