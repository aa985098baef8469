"""The parts after a post (thread replies, a first comment), as the delivery workflow runs them:
in order, each after its own durable wait, only once the post itself is live; a part that
cannot be published leaves the target `partially_published`, and a retry's run publishes only
what is missing.

The workflow runs on the time-skipping server with stand-in activities under the real names;
the real activities, ledger and sandbox take these paths in tests/test_parts_delivery.py."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.worker import WORKFLOW_RUNNER
from core.messages.delivery import (
    ERROR_CONTENT,
    ERROR_TRANSIENT,
    PUBLISH_PART,
    PUBLISH_TARGET,
    RECORD_TARGET_STATE,
    PartRequest,
    PublishOutcome,
    PublishTargetInput,
    RetrySettings,
    TargetState,
    TargetStateUpdate,
)
from core.status import Platform, TargetStatus
from workflows.publish_target import PublishTargetWorkflow as W

S = TargetStatus
pytestmark = pytest.mark.timeout(120)


class Platform_:
    """What reached the platform, and when (the test server's clock)."""

    def __init__(self, env: WorkflowEnvironment, script: dict[int, list[str]]) -> None:
        self.env = env
        # Per part, what each try meets in turn: "ok", "refused" or "503".
        self.script = script
        self.posts: list[datetime] = []
        self.parts: list[tuple[int, datetime]] = []
        self.tries: dict[int, int] = {}
        self.recorded: list[TargetStateUpdate] = []
        self.landed: set[int] = set()  # parts live though their last try's answer was lost
        self.looked: list[int] = []  # parts looked for after their tries gave up

    @activity.defn(name=PUBLISH_TARGET)
    async def publish_target(self, target_id: str) -> PublishOutcome:
        self.posts.append(await self.env.get_current_time())
        return PublishOutcome(external_id="post-1", url="https://example.test/post-1")

    @activity.defn(name=PUBLISH_PART)
    async def publish_part(self, request: PartRequest) -> bool:
        if request.look_only:
            self.looked.append(request.index)
            return request.index in self.landed
        tries = self.tries[request.index] = self.tries.get(request.index, 0) + 1
        answers = self.script.get(request.index, ["ok"])
        answer = answers[min(tries, len(answers)) - 1]
        if answer == "refused":
            raise ApplicationError("(#100) refused", type=ERROR_CONTENT, non_retryable=True)
        if answer == "503":
            raise ApplicationError("HTTP 503", type=ERROR_TRANSIENT)
        if answer == "lost, last try":  # its answer lost, and the platform's count reached
            self.landed.add(request.index)
            raise ApplicationError("timed out", type=ERROR_TRANSIENT, non_retryable=True)
        self.parts.append((request.index, await self.env.get_current_time()))
        return True

    @activity.defn(name=RECORD_TARGET_STATE)
    async def record_target_state(self, update: TargetStateUpdate) -> None:
        self.recorded.append(update)


Start = Callable[..., Awaitable[tuple[Platform_, WorkflowHandle[W, TargetState]]]]


@pytest.fixture
async def deliver(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Start]:
    env = time_skipping_env
    running: list[tuple[Worker, asyncio.Task[None]]] = []

    async def start(
        delays: list[int], script: dict[int, list[str]] | None = None, *, parts_only: bool = False
    ) -> tuple[Platform_, WorkflowHandle[W, TargetState]]:
        platform = Platform_(env, script or {})
        queue = f"parts-{uuid.uuid4()}"
        worker = Worker(
            env.client,
            task_queue=queue,
            workflows=[W],
            workflow_runner=WORKFLOW_RUNNER,
            activities=[
                platform.publish_target,
                platform.publish_part,
                platform.record_target_state,
            ],
        )
        running.append((worker, asyncio.create_task(worker.run())))
        job = PublishTargetInput(
            target_id=str(uuid.uuid4()),
            post_id="post",
            tenant_id="tenant",
            account_id="account",
            platform=Platform.X,
            retry=RetrySettings(initial_interval=timedelta(seconds=5)),
            parts=[timedelta(seconds=d) for d in delays],
            parts_only=parts_only,
        )
        handle = await env.client.start_workflow(
            W.run, job, id=f"target-{job.target_id}", task_queue=queue
        )
        return platform, handle

    yield start
    for worker, task in running:
        await worker.shutdown()
        await task


async def test_parts_follow_the_post_in_order_each_after_its_wait(deliver: Start) -> None:
    platform, handle = await deliver([0, 90, 3600])
    final = await handle.result()
    assert final.status == S.PUBLISHED and final.transitions[-1] == S.PUBLISHED
    assert [index for index, _ in platform.parts] == [1, 2, 3]
    [posted] = platform.posts
    times = [posted] + [at for _, at in platform.parts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Durable timers: each part waited at least its delay after the one before it.
    assert gaps[1] >= timedelta(seconds=90) and gaps[2] >= timedelta(hours=1)
    assert gaps[2] < timedelta(hours=1, minutes=1)


async def test_a_refused_part_leaves_the_target_partially_published(deliver: Start) -> None:
    platform, handle = await deliver([0, 0, 0], {2: ["refused"]})
    final = await handle.result()
    assert final.status == S.PARTIALLY_PUBLISHED
    assert final.error is not None and final.error.startswith("part 2 of 3 was not published")
    assert [index for index, _ in platform.parts] == [1]  # part 3 never tried
    assert platform.recorded[-1].status == S.PARTIALLY_PUBLISHED


async def test_a_part_whose_last_answer_was_lost_is_looked_for_before_giving_up(
    deliver: Start,
) -> None:
    platform, handle = await deliver([0, 0], {1: ["lost, last try"], 2: ["503", "refused"]})
    final = await handle.result()
    # Part 1 landed though its answer was lost: found, and the thread goes on to part 2.
    # Part 2 was refused: nothing to look for, the target is partially published.
    assert platform.looked == [1]
    assert final.status == S.PARTIALLY_PUBLISHED and final.error is not None
    assert final.error.startswith("part 2 of 2 was not published")


async def test_a_part_that_fails_for_a_while_is_tried_again(deliver: Start) -> None:
    platform, handle = await deliver([0], {1: ["503", "503", "ok"]})
    final = await handle.result()
    assert final.status == S.PUBLISHED
    assert platform.tries == {1: 3} and [index for index, _ in platform.parts] == [1]


async def test_a_retry_publishes_only_the_parts_and_never_the_post_again(
    deliver: Start,
) -> None:
    platform, handle = await deliver([0, 0], parts_only=True)
    final = await handle.result()
    assert final.status == S.PUBLISHED
    assert platform.posts == []  # the post is live: only its parts run
    # The activity skips a part already live (activities/publishing.py publish_part).
    assert [index for index, _ in platform.parts] == [1, 2]


async def test_a_post_without_parts_runs_as_before(deliver: Start) -> None:
    platform, handle = await deliver([])
    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert platform.parts == [] and len(platform.posts) == 1
