"""PublishTargetWorkflow: one delivery of one post to one account, from schedule to outcome.

Deterministic code only: no I/O, no wall clock, no randomness. Every side effect is an
activity, called by name so this module never imports their bodies.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.messages import (
        ERROR_AUTH,
        ERROR_CONTENT,
        NON_RETRYABLE_ERRORS,
        PUBLISH_TARGET,
        RECORD_TARGET_STATE,
        PublishOutcome,
        PublishTargetInput,
        RetrySettings,
        TargetState,
        TargetStateUpdate,
    )
    from core.status import TargetStatus
    from core.temporal import SA_STATUS

# Database writes are retried until they succeed: a delivery's outcome must not be lost to a
# passing database hiccup.
RECORD_TIMEOUT = timedelta(seconds=30)


def publish_retry_policy(retry: RetrySettings) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=retry.initial_interval,
        backoff_coefficient=retry.backoff,
        maximum_interval=retry.max_interval,
        maximum_attempts=retry.max_attempts,
        non_retryable_error_types=list(NON_RETRYABLE_ERRORS),
    )


@workflow.defn
class PublishTargetWorkflow:
    def __init__(self) -> None:
        self._state = TargetState(status=TargetStatus.SCHEDULED)

    @workflow.run
    async def run(self, job: PublishTargetInput) -> TargetState:
        self._state.scheduled_for = job.scheduled_for
        await self._sleep_until_due(job)

        self._state.publish_started_at = workflow.now()
        self._set_status(TargetStatus.PUBLISHING)
        try:
            outcome: PublishOutcome = await workflow.execute_activity(
                PUBLISH_TARGET,
                job.target_id,
                result_type=PublishOutcome,
                start_to_close_timeout=job.retry.start_to_close,
                retry_policy=publish_retry_policy(job.retry),
            )
        except ActivityError as error:
            await self._record_failure(job, error)
            return self._state

        # The publish activity already wrote the outcome to the database with the attempt.
        self._state.external_id = outcome.external_id
        self._state.url = outcome.url
        self._set_status(TargetStatus.PUBLISHED)
        return self._state

    @workflow.query
    def status(self) -> TargetState:
        return self._state

    async def _sleep_until_due(self, job: PublishTargetInput) -> None:
        if job.scheduled_for is None:
            return
        remaining = job.scheduled_for - workflow.now()
        if remaining > timedelta(0):
            # A condition wait rather than a bare sleep: signals (reschedule, cancel, publish
            # now) wake it early without changing the timer it records.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: False, timeout=remaining)

    async def _record_failure(self, job: PublishTargetInput, error: ActivityError) -> None:
        cause = error.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        # A refusal (content or auth) is final; anything else got here by exhausting its retries.
        status = TargetStatus.FAILED if kind in (ERROR_CONTENT, ERROR_AUTH) else TargetStatus.DEAD
        self._state.error = message
        self._set_status(status)
        await workflow.execute_activity(
            RECORD_TARGET_STATE,
            TargetStateUpdate(target_id=job.target_id, status=status, error=message),
            start_to_close_timeout=RECORD_TIMEOUT,
        )

    def _set_status(self, status: TargetStatus) -> None:
        self._state.status = status
        workflow.upsert_search_attributes([SA_STATUS.value_set(status.value)])
