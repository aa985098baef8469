"""The whole lifecycle of PublishTargetWorkflow on the time-skipping server. Each test asserts
the exact sequence of states the target went through."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from core.messages.delivery import RescheduleRequest, ReviewDecision
from core.status import TargetMode
from core.status import TargetStatus as S
from core.temporal import SA_SCHEDULED_FOR, SA_STATUS
from providers.facebook import FacebookProvider
from tests.support.harness import Harness
from tests.support.temporal_state import history, tasks_between, update_admitted
from tests.support.waiting import eventually
from workflows.publish_target import PublishTargetWorkflow as W

STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
UPDATE_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
REVIEWER = ReviewDecision(reviewer="Rita (reviewer)", comment="Looks good")


async def refused(coro: object) -> str:
    """The message of an Update the workflow's validator refused."""
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await coro  # type: ignore[misc]
    return str(caught.value.cause)


async def test_approval_then_publish_at_the_scheduled_time(harness: Harness) -> None:
    target, handle = await harness.schedule(after=timedelta(hours=2), requires_approval=True)
    assert (await harness.target(target.id)).status == S.AWAITING_APPROVAL

    approved = await handle.execute_update(W.approve, REVIEWER)
    assert approved.status == S.SCHEDULED
    assert (await harness.target(target.id)).status == S.SCHEDULED  # recorded before answering

    final = await handle.result()
    assert final.transitions == [S.AWAITING_APPROVAL, S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert len(await harness.posts()) == 1
    await harness.keep_history(handle, "approved_then_published")


async def test_a_rejection_ends_the_target_with_the_reason(harness: Harness) -> None:
    target, handle = await harness.schedule(after=timedelta(hours=2), requires_approval=True)

    await handle.execute_update(W.reject, ReviewDecision(reviewer="Rita", comment="Off-brand"))

    final = await handle.result()
    assert final.transitions == [S.AWAITING_APPROVAL, S.REJECTED]
    stored = await harness.target(target.id)
    assert stored.status == S.REJECTED
    assert stored.last_error == "rejected by Rita: Off-brand"
    assert await harness.posts() == []
    await harness.keep_history(handle, "rejected")


async def test_an_unapproved_target_expires_at_its_deadline(harness: Harness) -> None:
    deadline = await harness.now() + timedelta(hours=1)
    target, handle = await harness.schedule(
        after=timedelta(hours=3), requires_approval=True, approval_deadline=deadline
    )

    final = await handle.result()

    assert final.transitions == [S.AWAITING_APPROVAL, S.EXPIRED]
    assert await harness.now() >= deadline
    assert (await harness.target(target.id)).status == S.EXPIRED
    [notice] = await harness.notifications(target.id)
    assert notice.kind == "target_expired"
    assert await harness.posts() == []


async def test_an_approved_target_sent_back_for_approval_waits_again(harness: Harness) -> None:
    target, handle = await harness.schedule(after=timedelta(hours=2), requires_approval=True)
    await handle.execute_update(W.approve, REVIEWER)

    again = await handle.execute_update(W.request_approval)
    assert again.status == S.AWAITING_APPROVAL
    assert (await harness.target(target.id)).status == S.AWAITING_APPROVAL
    await harness.env.sleep(timedelta(hours=1, minutes=50))
    assert await harness.posts() == []
    await handle.execute_update(W.approve, REVIEWER)

    final = await handle.result()
    assert final.transitions == [
        S.AWAITING_APPROVAL,
        S.SCHEDULED,
        S.AWAITING_APPROVAL,
        S.SCHEDULED,
        S.PUBLISHING,
        S.PUBLISHED,
    ]
    assert len(await harness.posts()) == 1


async def test_reschedule_wakes_the_sleeping_workflow_and_sleeps_to_the_new_time(
    harness: Harness,
) -> None:
    target, handle = await harness.schedule(after=timedelta(hours=1))
    later = await harness.now() + timedelta(hours=5)

    moved = await handle.execute_update(W.reschedule, RescheduleRequest(scheduled_for=later))
    assert moved.scheduled_for == later
    assert (await harness.target(target.id)).scheduled_for == later
    described = await handle.describe()
    assert described.typed_search_attributes.get(SA_SCHEDULED_FOR) == later

    await harness.env.sleep(timedelta(hours=4))  # past the old time, before the new one
    assert await harness.posts() == []

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert final.publish_started_at is not None and final.publish_started_at >= later
    await harness.keep_history(handle, "rescheduled_then_published")


async def test_a_reschedule_into_the_past_is_refused_and_changes_nothing(
    harness: Harness,
) -> None:
    target, handle = await harness.schedule(after=timedelta(hours=1))
    before = await handle.query(W.status)
    past = await harness.now() - timedelta(minutes=5)

    message = await refused(
        handle.execute_update(W.reschedule, RescheduleRequest(scheduled_for=past))
    )

    assert "in the past" in message
    assert await handle.query(W.status) == before
    assert (await harness.target(target.id)).scheduled_for == before.scheduled_for


async def test_cancel_ends_it_and_nothing_publishes(harness: Harness) -> None:
    target, handle = await harness.schedule(after=timedelta(hours=1))

    cancelled = await handle.execute_update(W.cancel)
    assert cancelled.status == S.CANCELLED
    assert (await harness.target(target.id)).status == S.CANCELLED

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.CANCELLED]
    await harness.env.sleep(timedelta(hours=2))
    assert await harness.posts() == []
    with pytest.raises(RPCError, match="not found"):  # its workflow has ended
        await handle.execute_update(W.cancel)
    await harness.keep_history(handle, "cancelled")


async def test_publish_now_publishes_a_scheduled_target_at_once_and_once(
    harness: Harness,
) -> None:
    # The platform answers slowly, so the first publish now is still under way at the second.
    await harness.inject(method="POST", path="/feed$", times=1, accept_then_stall=True, delay=1.0)
    target, handle = await harness.schedule(after=timedelta(days=7))

    first = asyncio.create_task(handle.execute_update(W.publish_now))
    await harness.target_becomes(target.id, S.PUBLISHING)  # claimed: the call is under way
    assert "cannot publish now: the target is publishing" in await refused(
        handle.execute_update(W.publish_now)
    )
    assert (await first).status in (S.PUBLISHING, S.PUBLISHED)

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert final.publish_started_at is not None
    assert final.publish_started_at < target.scheduled_for  # type: ignore[operator]
    assert len(await harness.posts()) == 1
    await harness.keep_history(handle, "published_now_ahead_of_schedule")


async def test_a_target_already_publishing_refuses_reschedule_and_cancel(
    harness: Harness,
) -> None:
    # The platform answers slowly, so the publish call is in flight while we try to steer.
    await harness.inject(method="POST", path="/feed$", times=1, status=503, delay=1.0)
    target, handle = await harness.schedule(after=None)
    await harness.target_becomes(target.id, S.PUBLISHING)  # claimed: the call is under way

    later = await harness.now() + timedelta(hours=1)
    # Refused by the fire's claim while the call is in flight, or, on a loaded machine where
    # the slow 503 has already come back and the workflow retries, by the state itself.
    underway = ("the post is going out", "the target is publishing")
    reschedule = await refused(
        handle.execute_update(W.reschedule, RescheduleRequest(scheduled_for=later))
    )
    assert any(reason in reschedule for reason in underway), reschedule
    cancel = await refused(handle.execute_update(W.cancel))
    assert any(reason in cancel for reason in underway), cancel

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]


async def test_a_target_started_beyond_the_grace_period_is_missed(harness: Harness) -> None:
    target, handle = await harness.schedule(after=-timedelta(minutes=30))

    final = await handle.result()

    assert final.transitions == [S.SCHEDULED, S.MISSED]
    assert final.error is not None and "grace period" in final.error
    assert (await harness.target(target.id)).status == S.MISSED
    [notice] = await harness.notifications(target.id)
    assert notice.kind == "target_missed"
    assert await harness.posts() == []
    await harness.keep_history(handle, "missed")


async def test_an_approval_later_than_the_grace_period_is_missed(harness: Harness) -> None:
    _, handle = await harness.schedule(after=timedelta(hours=1), requires_approval=True)
    await harness.env.sleep(timedelta(hours=2))
    await handle.execute_update(W.approve, REVIEWER)
    final = await handle.result()
    assert final.transitions == [S.AWAITING_APPROVAL, S.SCHEDULED, S.MISSED]
    assert await harness.posts() == []


async def test_a_late_target_publishes_when_the_caller_asked_for_it(harness: Harness) -> None:
    _, handle = await harness.schedule(after=-timedelta(minutes=30), publish_if_late=True)
    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]


async def test_a_draft_target_becomes_an_unpublished_page_post(harness: Harness) -> None:
    target, handle = await harness.schedule(after=timedelta(hours=1), mode=TargetMode.DRAFT)

    final = await handle.result()

    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.DRAFTED]
    [post] = await harness.posts()
    assert post["published"] is False
    assert (await harness.target(target.id)).external_id == post["id"]


async def test_a_draft_for_a_platform_without_drafts_is_ready_for_manual(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands in for a platform with no drafts API (X, Threads, ... arrive with issue 4).
    no_drafts = replace(FacebookProvider.rules, supports_drafts=False)
    monkeypatch.setattr(FacebookProvider, "rules", no_drafts)
    target, handle = await harness.schedule(after=None, mode=TargetMode.DRAFT)

    final = await handle.result()

    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.READY_FOR_MANUAL]
    assert await harness.posts() == []  # nothing was sent
    assert (await harness.target(target.id)).status == S.READY_FOR_MANUAL


async def test_a_dead_target_leaves_a_notification(harness: Harness) -> None:
    await harness.inject(method="POST", path="/feed$", times=50, status=502, body={})
    target, handle = await harness.schedule(after=None)

    final = await handle.result()

    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.DEAD]
    [notice] = await harness.notifications(target.id)
    assert notice.kind == "target_dead"
    assert "HTTP 502" in notice.message


async def test_the_status_search_attribute_follows_every_change(harness: Harness) -> None:
    _, handle = await harness.schedule(after=timedelta(hours=1), requires_approval=True)
    assert (await handle.describe()).typed_search_attributes.get(SA_STATUS) == "awaiting_approval"
    await handle.execute_update(W.approve, REVIEWER)
    assert (await handle.describe()).typed_search_attributes.get(SA_STATUS) == "scheduled"
    await handle.result()
    assert (await handle.describe()).typed_search_attributes.get(SA_STATUS) == "published"


async def test_an_update_in_the_very_first_task_sees_the_real_state(harness: Harness) -> None:
    """A reject sent while no worker runs reaches the workflow together with its start: the
    validator then runs before run() has begun, and must still see awaiting_approval."""
    await harness.stop_worker()
    _, handle = await harness.schedule(after=timedelta(hours=2), requires_approval=True)
    update_id = f"reject-{uuid.uuid4()}"
    reject = asyncio.create_task(
        handle.execute_update(W.reject, ReviewDecision(reviewer="Rita", comment="No"), id=update_id)
    )
    await eventually(
        lambda: update_admitted(harness.env.client, handle.id, update_id),
        what="the reject to reach the server",
    )
    await harness.start_worker()

    assert (await reject).status == S.REJECTED
    assert (await handle.result()).transitions == [S.AWAITING_APPROVAL, S.REJECTED]
    # It did arrive with the start: accepted in the very first workflow task.
    events = await history(handle)
    assert tasks_between(events, STARTED, UPDATE_ACCEPTED) == 1
