"""Every way the on-time fire can end, each on its own and deterministically.

The delivery workflow runs on the time-skipping server with stand-in activities registered
under the real names (as the Temporal samples' tests do): each test scripts exactly what the
publish waiting in the worker does, and the stand-ins keep the one rule the real ones rely on
(activities/fire_stops.py): a fire claims the target at its time unless its fire id was
stopped, and a stop succeeds only while the target is unclaimed. The real activities, the
database and the sandbox take these paths in tests/test_on_time.py and the chaos run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.worker import WORKFLOW_RUNNER
from core.messages.delivery import (
    ENSURE_FRESH_TOKEN,
    ERROR_CONTENT,
    ERROR_MISSED,
    ERROR_STOPPED,
    ERROR_TRANSIENT,
    ERROR_WORKER_STOPPING,
    PUBLISH_ON_TIME,
    RECONCILE_TARGET,
    RECORD_TARGET_STATE,
    STOP_FIRE,
    TAKE_OVER_FIRE,
    CancelRequest,
    OnTimeRequest,
    PublishOutcome,
    PublishTargetInput,
    ReconcileRequest,
    RescheduleRequest,
    RetrySettings,
    StopFireRequest,
    TakeOverRequest,
    TargetState,
    TargetStateUpdate,
)
from core.status import Platform, TargetStatus
from core.temporal import fire_queue
from workflows.fire import TAKEOVER_AFTER
from workflows.publish_target import PublishTargetWorkflow as W

S = TargetStatus
LEAD = timedelta(seconds=30)  # production's (core/config.py)
SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
COMPLETED = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
UPDATE_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED


@dataclass
class Stage:
    """Where the fire is, for the test to act at exactly that point."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    go_on: asyncio.Event = field(default_factory=asyncio.Event)

    async def pause(self) -> None:
        self.reached.set()
        await self.go_on.wait()


class World:
    """The stand-ins' shared world: the target's row as the claim rule sees it, and what
    reached the platform."""

    def __init__(self, env: WorkflowEnvironment, fire: str) -> None:
        self.env = env
        self.fire = fire  # what the publish waiting in the worker does (see publish_on_time)
        self.status = S.SCHEDULED
        self.claimed_by: str | None = None
        self.stopped: set[str] = set()
        self.sent: list[str] = []  # who sent: a fire id, or "takeover"
        self.fire_ids: list[str] = []
        self.waiting = Stage()  # the fire waits for its time
        self.claimed = Stage()  # the fire has claimed, and not yet sent

    def claim(self, fire_id: str) -> bool:
        if self.status != S.SCHEDULED or fire_id in self.stopped:
            return False
        self.status, self.claimed_by = S.PUBLISHING, fire_id
        return True

    def stop(self, fire_id: str) -> bool:
        if self.status == S.SCHEDULED:
            self.stopped.add(fire_id)
        return fire_id in self.stopped

    def send(self, who: str) -> PublishOutcome:
        self.sent.append(who)
        self.status = S.PUBLISHED
        return PublishOutcome(external_id=f"post-{len(self.sent)}", url="https://example.test/p")

    async def until(self, moment: Any) -> None:
        while (now := await self.env.get_current_time()) < moment:
            await self.env.sleep(moment - now)

    # The stand-ins, under the real activities' names -------------------------------------------

    @activity.defn(name=PUBLISH_ON_TIME)
    async def publish_on_time(self, request: OnTimeRequest) -> PublishOutcome:
        self.fire_ids.append(request.fire_id)
        if self.fire == "worker stops before its time":
            raise ApplicationError("shutting down", type=ERROR_WORKER_STOPPING, non_retryable=True)
        if self.fire == "waits to be steered" and len(self.fire_ids) == 1:
            await self.waiting.pause()
        await self.until(request.not_before)
        if self.fire == "worker lost before the claim":
            await asyncio.Event().wait()  # its worker is gone: it never answers
        if self.fire == "taken up past the grace period":
            raise ApplicationError("taken up late", type=ERROR_MISSED, non_retryable=True)
        if not self.claim(request.fire_id):
            raise ApplicationError("stopped", type=ERROR_STOPPED, non_retryable=True)
        if self.fire == "claims then waits":
            await self.claimed.pause()
        if self.fire == "refused":
            raise ApplicationError("(#100) bad content", type=ERROR_CONTENT, non_retryable=True)
        if self.fire == "platform error":
            raise ApplicationError("HTTP 503", type=ERROR_TRANSIENT)
        outcome = self.send(request.fire_id)
        if self.fire == "worker lost after the claim":
            await asyncio.Event().wait()  # sent, and its worker died before answering
        return outcome

    @activity.defn(name=TAKE_OVER_FIRE)
    async def take_over_fire(self, request: TakeOverRequest) -> PublishOutcome:
        if not self.stop(request.fire_id) and request.while_live:
            return PublishOutcome(status=S.PUBLISHING)
        if self.sent:  # the ledger finds the lost attempt's post: never sent again
            return PublishOutcome(external_id=f"post-{len(self.sent)}")
        return self.send("takeover")

    @activity.defn(name=STOP_FIRE)
    async def stop_fire(self, request: StopFireRequest) -> bool:
        return self.stop(request.fire_id)

    @activity.defn(name=RECORD_TARGET_STATE)
    async def record_target_state(self, update: TargetStateUpdate) -> None:
        if update.status.is_terminal:
            self.status = update.status

    @activity.defn(name=ENSURE_FRESH_TOKEN)
    async def ensure_fresh_token(self, target_id: str) -> None:
        pass  # the fire checks the token itself: the tests see it is never called here

    @activity.defn(name=RECONCILE_TARGET)
    async def reconcile_target(self, request: ReconcileRequest) -> PublishOutcome:
        return PublishOutcome(status=S.DEAD)


@dataclass
class Delivery:
    world: World
    handle: WorkflowHandle[W, TargetState]
    job: PublishTargetInput

    async def history(self) -> list[HistoryEvent]:
        return list((await self.handle.fetch_history()).events)

    async def at(self, stage: Stage) -> None:
        """Skip to the lead before the time (the server skips only while a result is awaited),
        then until the fire reaches `stage`."""
        assert self.job.scheduled_for is not None
        await self.world.env.sleep(
            self.job.scheduled_for - LEAD - await self.world.env.get_current_time()
        )
        await asyncio.wait_for(stage.reached.wait(), 30)

    async def activities(self) -> list[str]:
        return [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in await self.history()
            if e.event_type == SCHEDULED
        ]


@pytest.fixture
async def deliver(
    time_skipping_env: WorkflowEnvironment,
) -> AsyncIterator[Any]:
    env = time_skipping_env
    queue = f"fire-paths-{uuid.uuid4()}"
    running: list[tuple[Worker, asyncio.Task[None]]] = []

    async def start(
        fire: str,
        *,
        after: timedelta = timedelta(hours=1),
        start_to_close: timedelta = timedelta(minutes=2),
    ) -> Delivery:
        world = World(env, fire)
        work = Worker(
            env.client,
            task_queue=queue,
            workflows=[W],
            workflow_runner=WORKFLOW_RUNNER,
            activities=[
                world.take_over_fire,
                world.stop_fire,
                world.record_target_state,
                world.ensure_fresh_token,
                world.reconcile_target,
            ],
        )
        fires = Worker(env.client, task_queue=fire_queue(queue), activities=[world.publish_on_time])
        running.extend((worker, asyncio.create_task(worker.run())) for worker in (work, fires))
        job = PublishTargetInput(
            target_id=str(uuid.uuid4()),
            post_id="post",
            tenant_id="tenant",
            account_id="account",
            platform=Platform.FACEBOOK,
            scheduled_for=await env.get_current_time() + after,
            retry=RetrySettings(
                initial_interval=timedelta(seconds=5), start_to_close=start_to_close
            ),
            grace_period=timedelta(minutes=10),
            refreshes_token=True,
            lead=LEAD,
        )
        handle = await env.client.start_workflow(
            W.run, job, id=f"target-{job.target_id}", task_queue=queue
        )
        return Delivery(world=world, handle=handle, job=job)

    yield start
    for worker, task in running:
        await worker.shutdown()
        await task


async def refused(coro: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await coro
    return str(caught.value.cause)


async def test_the_fire_sends_at_its_time_and_nothing_else_does(deliver: Any) -> None:
    d = await deliver("sends")
    final = await d.handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert final.publish_started_at == d.job.scheduled_for
    assert d.world.sent == d.world.fire_ids  # one fire, and it sent
    assert TAKE_OVER_FIRE not in await d.activities()


async def test_a_worker_lost_before_the_claim_is_taken_over_once(deliver: Any) -> None:
    d = await deliver("worker lost before the claim")
    final = await d.handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert d.world.sent == ["takeover"]
    # Taken over TAKEOVER_AFTER past its time, stopping the silent fire first.
    assert final.publish_started_at >= d.job.scheduled_for + TAKEOVER_AFTER
    assert await d.activities() == [PUBLISH_ON_TIME, TAKE_OVER_FIRE]
    assert d.world.fire_ids[0] in d.world.stopped


async def test_a_worker_lost_after_the_claim_is_never_sent_twice(deliver: Any) -> None:
    # The fire's try runs out `start_to_close` after its time: real seconds, since the
    # time-skipping server does not skip while an activity runs.
    d = await deliver("worker lost after the claim", start_to_close=timedelta(seconds=3))
    final = await d.handle.result()
    assert final.status == S.PUBLISHED
    assert d.world.sent == d.world.fire_ids  # the fire's send only
    # The first takeover found the fire claimed and left it alone; the second came only
    # once the fire had timed out, and found the post instead of sending it again.
    assert await d.activities() == [PUBLISH_ON_TIME, TAKE_OVER_FIRE, TAKE_OVER_FIRE]
    assert d.world.stopped == set()


async def test_a_refused_fire_fails_without_a_takeover_or_a_lookup(deliver: Any) -> None:
    d = await deliver("refused")
    final = await d.handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.FAILED]
    assert final.error == "(#100) bad content"
    assert await d.activities() == [PUBLISH_ON_TIME, RECORD_TARGET_STATE]
    assert d.world.sent == []


async def test_a_platform_error_in_the_fire_is_retried_by_the_takeover(deliver: Any) -> None:
    d = await deliver("platform error")
    final = await d.handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert d.world.sent == ["takeover"]
    assert await d.activities() == [PUBLISH_ON_TIME, TAKE_OVER_FIRE]


async def test_a_fire_taken_up_past_the_grace_period_is_missed(deliver: Any) -> None:
    d = await deliver("taken up past the grace period")
    final = await d.handle.result()
    assert final.transitions == [S.SCHEDULED, S.MISSED]
    assert final.error == "taken up late"
    assert d.world.sent == []
    assert TAKE_OVER_FIRE not in await d.activities()


async def test_a_worker_stopping_before_the_time_hands_the_publish_on_at_the_time(
    deliver: Any,
) -> None:
    d = await deliver("worker stops before its time")
    final = await d.handle.result()
    assert final.status == S.PUBLISHED
    assert d.world.sent == ["takeover"]
    # Not early: the takeover waited for the time the fire would have kept.
    events = await d.history()
    [takeover] = [
        e for e in events if e.event_type == SCHEDULED and _activity_of(e, events) == TAKE_OVER_FIRE
    ]
    assert takeover.event_time.ToDatetime(tzinfo=UTC) >= d.job.scheduled_for
    assert await d.activities() == [PUBLISH_ON_TIME, TAKE_OVER_FIRE]


async def test_a_cancel_while_the_fire_waits_stops_it_and_nothing_goes_out(
    deliver: Any,
) -> None:
    d = await deliver("waits to be steered")
    await d.at(d.world.waiting)

    cancelled = await d.handle.execute_update(W.cancel, CancelRequest(reason="not today"))
    assert cancelled.status == S.CANCELLED
    d.world.waiting.go_on.set()  # its time comes: the stopped fire may not claim

    final = await d.handle.result()
    assert final.transitions == [S.SCHEDULED, S.CANCELLED]
    assert d.world.sent == []
    assert d.world.fire_ids[0] in d.world.stopped


async def test_a_reschedule_while_the_fire_waits_fires_again_at_the_new_time(
    deliver: Any,
) -> None:
    d = await deliver("waits to be steered")
    await d.at(d.world.waiting)

    later = d.job.scheduled_for + timedelta(days=1)
    await d.handle.execute_update(W.reschedule, RescheduleRequest(scheduled_for=later))
    d.world.waiting.go_on.set()

    final = await d.handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    first, second = d.world.fire_ids
    assert first != second and first in d.world.stopped
    assert d.world.sent == [second]
    assert final.publish_started_at == later


async def test_a_cancel_racing_the_claim_is_refused_and_the_post_goes_out_once(
    deliver: Any,
) -> None:
    d = await deliver("claims then waits")
    # Awaiting the result lets the server skip time, up to the claim.
    result = asyncio.ensure_future(d.handle.result())
    await asyncio.wait_for(d.world.claimed.reached.wait(), 30)

    cancel = await d.handle.start_update(
        W.cancel, CancelRequest(), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    assert "the post is going out" in await refused(cancel.result())
    d.world.claimed.go_on.set()
    final = await result

    # The race happened: the cancel was accepted while the fire was out, and its stop came
    # back before the fire's answer did.
    events = await d.history()
    kinds = [(e.event_type, _activity_of(e, events)) for e in events]
    fire_out = kinds.index((SCHEDULED, PUBLISH_ON_TIME))
    fire_back = kinds.index((COMPLETED, PUBLISH_ON_TIME))
    accepted = kinds.index((UPDATE_ACCEPTED, None))
    stop_back = kinds.index((COMPLETED, STOP_FIRE))
    assert fire_out < accepted < stop_back < fire_back
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert d.world.sent == d.world.fire_ids


def _activity_of(event: HistoryEvent, events: list[HistoryEvent]) -> str | None:
    """The activity type an activity event is about (None for other events)."""
    if event.event_type == SCHEDULED:
        return event.activity_task_scheduled_event_attributes.activity_type.name
    if event.event_type == COMPLETED:
        scheduled_id = event.activity_task_completed_event_attributes.scheduled_event_id
        [scheduled] = [e for e in events if e.event_id == scheduled_id]
        return scheduled.activity_task_scheduled_event_attributes.activity_type.name
    return None
