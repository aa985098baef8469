"""Issue 16: what the full chaos run found, each as a test of its own on the real dev server.

A takeover storm: every waiting publish of a burst is lost at once (its worker died), and all
their workflows take over together. The worker serves the takeovers through its bounded slots
(cli/worker.py); the rest wait in Temporal's queue, where no timeout runs. Each takeover
starts once and finishes inside its start-to-close, so none is retried, none ends `dead`,
and each post goes out once.

A slow claim: the waiting publish's claim batch takes longer than the workflow waits before
it takes over. The takeover stops the fire before its claim lands, and the post goes out once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.ledger import Ledger, Opened, Opening
from cli.worker import worker_for
from core.config import Settings
from core.db import Database
from core.messages.delivery import TAKE_OVER_FIRE
from core.status import AttemptOutcome, Platform
from core.status import TargetStatus as S
from tests.support.deliveries import start_delivery
from tests.support.factories import make_account, make_post, make_tenant
from tests.support.harness import Harness
from workflows.fire import TAKEOVER_AFTER

pytestmark = pytest.mark.e2e

LEAD = timedelta(seconds=2)
STORM = 16
SLOTS = 2
# Half a second each through one connection: 5 s, past the 4 s start-to-close.
STARVED = 10


@pytest.fixture
def tight(settings: Settings) -> Settings:
    """Two work slots, one connection to the platform (the resource the tries queue for
    inside the worker; in the chaos run it was the database pool), and a start-to-close the
    whole storm could never fit in at once."""
    return settings.model_copy(
        update={
            "publish_lead": LEAD,
            "worker_max_activities": SLOTS,
            "http_connections_per_host": 1,
            "publish_start_to_close": timedelta(seconds=4),
            "publish_call_budget": timedelta(seconds=3),
            "publish_initial_interval": timedelta(seconds=1),
            "publish_backoff": 2.0,
            "publish_max_interval": timedelta(seconds=4),
        }
    )


async def schedule_burst(
    harness: Harness, count: int, due: datetime
) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    tenant = await make_tenant(harness.db)
    started = []
    for n in range(count):
        page = await make_account(
            harness.db, harness.settings, tenant, Platform.FACEBOOK, f"3000000000{n:05d}"
        )
        post, target = await make_post(harness.db, tenant, page, body=f"storm post #{n}")
        handle = await start_delivery(
            harness.db, harness.env.client, harness.settings, post, target, due=due
        )
        started.append((target.id, handle))
    return started


async def takeover_tries(handle: WorkflowHandle[Any, Any]) -> list[int]:
    """The attempt number of every take_over_fire try that started, from the history."""
    scheduled: set[int] = set()
    tries = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduling = event.activity_task_scheduled_event_attributes
            if scheduling.activity_type.name == TAKE_OVER_FIRE:
                scheduled.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            start = event.activity_task_started_event_attributes
            if start.scheduled_event_id in scheduled:
                tries.append(start.attempt)
    return tries


async def takeover_storm(
    harness: Harness, count: int
) -> list[tuple[str, WorkflowHandle[Any, Any]]]:
    """`count` targets due together whose waiting publishes nobody serves (only the work's
    worker polls, as when the worker that held them was killed), so every workflow takes over
    at its time. Each publish takes the platform half a second. Waits for all to end, checks
    that each was published once, and gives back the targets."""
    await harness.inject(
        method="POST", path="/feed$", accept_then_stall=True, delay=0.5, times=count
    )
    due = datetime.now(UTC) + LEAD + timedelta(seconds=3)
    burst = await schedule_burst(harness, count, due)
    async with worker_for(harness.env.client, harness.settings) as workers, workers.work:
        finals = await asyncio.gather(*(handle.result() for _, handle in burst))
    assert [f.status for f in finals] == [S.PUBLISHED] * count
    texts = sorted(p["text"] for p in await harness.posts())
    assert texts == sorted(f"storm post #{n}" for n in range(count))  # each once
    return burst


@pytest.fixture
async def storm(
    dev_env: WorkflowEnvironment, tight: Settings, db: Database, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[Harness]:
    yield Harness(env=dev_env, settings=tight, db=db, sandbox=sandbox_http)


async def test_a_takeover_storm_is_queued_and_served_without_a_timeout(storm: Harness) -> None:
    # The storm needs several times the start-to-close to drain through two slots: in the
    # worker at once, all would time out.
    for target_id, handle in await takeover_storm(storm, STORM):
        assert await takeover_tries(handle) == [1]  # started once: never timed out
        assert [a.outcome for a in await storm.attempts(target_id)] == [AttemptOutcome.CONFIRMED]
        assert (await storm.target(target_id)).platform_errors == 0


async def test_a_fire_whose_claim_is_slower_than_the_takeover_goes_out_once(
    dev_env: WorkflowEnvironment,
    tight: Settings,
    db: Database,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(env=dev_env, settings=tight, db=db, sandbox=sandbox_http)
    write = Ledger._open_all
    slow_claims = 0

    async def slow_claim(self: Ledger, openings: list[Opening]) -> list[Opened | None]:
        nonlocal slow_claims
        if any(o.fire_id for o in openings):
            # The fire's claim batch is stuck (a slow database) past the takeover's moment.
            slow_claims += 1
            await asyncio.sleep((TAKEOVER_AFTER + timedelta(seconds=1)).total_seconds())
        return await write(self, openings)

    monkeypatch.setattr(Ledger, "_open_all", slow_claim)
    due = datetime.now(UTC) + LEAD + timedelta(seconds=2)
    [(target_id, handle)] = await schedule_burst(harness, 1, due)
    async with worker_for(harness.env.client, harness.settings) as workers, workers:
        final = await handle.result()

    assert slow_claims == 1  # the fire did try to claim, late
    assert final.status == S.PUBLISHED
    assert [p["text"] for p in await harness.posts()] == ["storm post #0"]
    assert await takeover_tries(handle) == [1]
    # Only the takeover's attempt: the fire found itself stopped and sent nothing.
    assert [a.outcome for a in await harness.attempts(target_id)] == [AttemptOutcome.CONFIRMED]


async def test_tries_that_time_out_in_a_starved_worker_are_retried_and_never_counted(
    storm: Harness,
) -> None:
    """The same storm with the worker's slots unbounded, as before issue 16: every takeover
    starts at once and queues inside the worker for the one connection, and most of them
    time out. With one try allowed for the platform's errors, a timeout that counted would
    end the target `dead`; none may, and none may go out twice."""
    storm.settings = storm.settings.model_copy(
        update={"worker_max_activities": STARVED, "publish_max_attempts": 1}
    )
    burst = await takeover_storm(storm, STARVED)
    retried = [max(await takeover_tries(handle)) for _, handle in burst]
    assert max(retried) > 1  # the starved worker did time tries out
    for target_id, _ in burst:
        assert (await storm.target(target_id)).platform_errors == 0
