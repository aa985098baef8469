"""What the Temporal server holds for a workflow, for tests that must know something reached
it (a timer fired, an update arrived) while no worker was there to act on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    EventType,
    PendingActivityState,
    UpdateWorkflowExecutionLifecycleStage,
)
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

ADMITTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED


async def history(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


async def count(handle: WorkflowHandle[Any, Any], kind: EventType.ValueType) -> int:
    """How many events of `kind` the workflow's history holds."""
    return sum(1 for event in await history(handle) if event.event_type == kind)


async def waiting_for_a_worker(handle: WorkflowHandle[Any, Any]) -> bool:
    """The workflow has work that only a worker can take up: a workflow task (a timer fired,
    an activity ended) or an activity to run."""
    described = (await handle.describe()).raw_description
    return described.HasField("pending_workflow_task") or any(
        activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
        for activity in described.pending_activities
    )


def tasks_between(
    events: list[HistoryEvent], first: EventType.ValueType, then: EventType.ValueType
) -> int:
    """How many workflow tasks started after the first `first` event and up to the first
    `then` event after it: 1 when a worker saw both in the same task."""
    kinds = [event.event_type for event in events]
    start = kinds.index(first)
    end = kinds.index(then, start)
    return kinds[start:end].count(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)


async def update_admitted(client: Client, workflow_id: str, update_id: str) -> bool:
    """The server holds this update for the workflow: it will reach the next workflow task.

    An update enters the history only once a worker accepts it; before that, only the
    server knows of it (and says "not found" until it has it)."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id
        ),
        identity=client.identity,
        wait_policy=WaitPolicy(lifecycle_stage=ADMITTED),
    )
    try:
        await client.workflow_service.poll_workflow_execution_update(
            request, timeout=timedelta(seconds=5)
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
