"""Temporal Schedules crier keeps: created when a worker starts, updated if they changed."""

from __future__ import annotations

import logging
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy

from core.config import Settings
from workflows.metrics import MetricsWorkflow
from workflows.token_health import TokenHealthWorkflow
from workflows.webhook_delivery import EventRelayWorkflow

log = logging.getLogger(__name__)

TOKEN_HEALTH_SCHEDULE_ID = "crier-token-health"
METRICS_SCHEDULE_ID = "crier-metrics"


def event_relay_id(settings: Settings) -> str:
    # One relay per task queue: the tests run several deployments on one Temporal server.
    return f"crier-event-relay-{settings.task_queue}"


def token_health_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            # By name: passing `TokenHealthWorkflow.run` (a run with no argument) here trips a
            # mypy inference bug that then mistypes every typed workflow handle in the project.
            TokenHealthWorkflow.__name__,
            id="crier-token-health-run",
            task_queue=settings.task_queue,
            static_summary="Check every active account's token; expire those that fail",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.token_health_interval)]),
    )


def metrics_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MetricsWorkflow.__name__,  # by name, for the reason given above
            id="crier-metrics-run",
            task_queue=settings.task_queue,
            static_summary="Read the posts' and accounts' metrics that are due",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.metrics_interval)]),
    )


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Idempotent: every worker calls it at start; the first creates, the others update."""
    for schedule_id, wanted in (
        (TOKEN_HEALTH_SCHEDULE_ID, token_health_schedule(settings)),
        (METRICS_SCHEDULE_ID, metrics_schedule(settings)),
    ):
        await _ensure(client, schedule_id, wanted)


async def _ensure(client: Client, schedule_id: str, wanted: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("created schedule %s", schedule_id)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(schedule_id).update(replace)


async def ensure_event_relay(client: Client, settings: Settings) -> WorkflowHandle[Any, Any]:
    """Start the webhook relay unless it runs: every worker calls it at start."""
    return await client.start_workflow(
        EventRelayWorkflow.__name__,  # by name, for the reason given above
        id=event_relay_id(settings),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="Turn new events into webhook deliveries",
    )
