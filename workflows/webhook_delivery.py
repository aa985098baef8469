"""Webhook deliveries: one workflow per (event, endpoint), and the relay that starts them.

Deterministic code only. The delivery is one activity whose RetryPolicy spaces the attempts
over hours; when the last one fails, a second activity records the failure (and may disable
the endpoint). The relay is a single long-running, heartbeating activity: if its worker dies,
the heartbeat timeout hands it to another worker.

A delivery runs on the webhook queue it was started on (activities/event_relay.py), and its
activities with it (an activity goes to its workflow's queue unless told otherwise), so the
slots a slow receiver holds are the webhook worker's alone (cli/worker.py).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from core.messages.webhooks import (
        DELIVER_WEBHOOK,
        FINISH_WEBHOOK_DELIVERY,
        RELAY_EVENTS,
        WEBHOOK_ABANDONED,
        WebhookDeliveryInput,
    )

RECORD_TIMEOUT = timedelta(seconds=30)
# The request ends at the fetcher's deadline (`retry.timeout`: the whole attempt, however
# slowly an answer trickles); this covers the database work before and after it.
DELIVERY_OVERHEAD = timedelta(seconds=20)
RELAY_HEARTBEAT = timedelta(seconds=20)


@workflow.defn
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, job: WebhookDeliveryInput) -> str:
        retry = job.retry
        try:
            await workflow.execute_activity(
                DELIVER_WEBHOOK,
                job.delivery_id,
                start_to_close_timeout=retry.timeout + DELIVERY_OVERHEAD,
                retry_policy=RetryPolicy(
                    initial_interval=retry.initial_interval,
                    backoff_coefficient=retry.backoff,
                    maximum_interval=retry.max_interval,
                    maximum_attempts=retry.max_attempts,
                    non_retryable_error_types=[WEBHOOK_ABANDONED],
                ),
            )
            return "delivered"
        except ActivityError:
            pass  # every attempt is in the database; the end is recorded below
        outcome: str = await workflow.execute_activity(
            FINISH_WEBHOOK_DELIVERY,
            job.delivery_id,
            result_type=str,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
        )
        return outcome


@workflow.defn
class EventRelayWorkflow:
    """Turns new events into webhook deliveries, for as long as the deployment runs."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            RELAY_EVENTS,
            start_to_close_timeout=timedelta(days=365),
            heartbeat_timeout=RELAY_HEARTBEAT,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
            ),
        )
