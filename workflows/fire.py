"""The on-time path: woken `lead` ahead of the time, the delivery gets everything ready, then
hands a worker the publish (the fire), which waits there until the exact instant and sends.

Who sends is settled in the database (activities/fire_stops.py): at its time the fire claims
the target unless its fire id was stopped; a stop succeeds only while the target is unclaimed.
So an update that stops a fire can trust that nothing goes out, and a takeover (the workflow
publishing in place of a fire that did not answer) never sends beside a fire that did claim.

Each way the fire can end is a branch of `fire()` or `_fire_failed()`; glossary in
docs/glossary.md (fire, claim, takeover, lead, steering).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType, ActivityHandle

with workflow.unsafe.imports_passed_through():
    from core.messages.delivery import (
        ERROR_MISSED,
        ERROR_RATE_LIMITED,
        ERROR_STOPPED,
        ERROR_TRANSIENT,
        ERROR_WORKER_STOPPING,
        PUBLISH_ON_TIME,
        STOP_FIRE,
        TAKE_OVER_FIRE,
        OnTimeRequest,
        Preparation,
        PublishOutcome,
        StopFireRequest,
        TakeOverRequest,
    )
    from core.status import TargetStatus
    from core.temporal import fire_queue

from workflows.delivery import RECORD_TIMEOUT, REFUSED_KINDS, Delivery, publish_retry_policy
from workflows.wake import wait

# The patch that made this path what it is (the token checked in the fire, no heartbeats, the
# takeover). Deprecated: every open run has it (docs/operations.md, "Upgrading").
ON_TIME_V2 = "on-time-v2"
FIRE_ERROR_MAY_BE_FINAL = "fire-error-may-be-final"
# The platform's own errors that are retried: one made final used up the target's tries.
PLATFORM_ERRORS = (ERROR_TRANSIENT, ERROR_RATE_LIMITED)
# How long after its time a fire that has not answered is taken over, unless it has claimed
# the target (then it is alive and sending, however slow the platform). A live worker claims
# within milliseconds of the time, so a fire with no claim by then has lost its worker.
TAKEOVER_AFTER = timedelta(seconds=2)


class FireResult(enum.Enum):
    DONE = "done"  # the delivery reached its end
    WAIT_AGAIN = "wait again"  # rescheduled (or stopped) while the fire waited: back to sleep


class _Takeover(enum.Enum):
    DONE = "done"
    FIRE_IS_SENDING = "fire is sending"  # the fire claimed the target after all


@dataclass
class Fire:
    """The publish waiting in a worker, and the id under which it may claim the target."""

    handle: ActivityHandle[PublishOutcome]
    fire_id: str
    target_id: str

    async def stop(self) -> bool:
        """True if it can no longer send (stopped now, or by an earlier stop)."""
        stopped: bool = await workflow.execute_activity(
            STOP_FIRE,
            StopFireRequest(target_id=self.target_id, fire_id=self.fire_id),
            result_type=bool,
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        return stopped

    async def stop_and_free(self) -> bool:
        """Stop it, and free its worker's slot if it is stopped (it could not send anyway)."""
        stopped = await self.stop()
        if stopped:
            self.handle.cancel()
        return stopped


async def fire(d: Delivery) -> FireResult:
    """The delivery from `lead` before its time to its end (or back to sleep)."""
    job = d.job
    workflow.deprecate_patch(ON_TIME_V2)
    # The fire checks the token itself, one activity fewer per target in a burst's lead window,
    # unless prepare (which needs the token for the media) runs first.
    token_in_fire = job.refreshes_token and not job.prepares
    prepared: Preparation | None = None
    try:
        async with d.db:
            if not token_in_fire:
                await d.ensure_token()
            if job.prepares:
                prepared = await d.prepare()
                if prepared is None:
                    return FireResult.DONE
    except ActivityError as error:
        # Refused ahead of its time (media the host will not give, a token the platform
        # refuses to refresh) or out of tries: it ends now, as it would have at the time.
        if isinstance(error.cause, CancelledError):
            raise  # the run itself was cancelled: nothing to record here
        if not d.state.status.is_terminal:
            await d.start_publishing()
            await d.gave_up(error)
        return FireResult.DONE
    await d.not_steering()
    if d.state.status.is_terminal:
        return FireResult.DONE
    if not (d.publish_now or d.is_due(job.lead)):
        return FireResult.WAIT_AGAIN  # moved later while the media was being made
    due = None if d.publish_now else d.due
    current = _start(d, prepared, due)
    d.firing = current
    if due is not None:
        # No timer at the time itself: a burst's thousand workflow tasks would land on the
        # server and the worker at the very instant the publishes go out. This one fires only
        # if the publish has not answered TAKEOVER_AFTER past its time; otherwise its answer
        # cancels it, at no cost.
        await wait(current.handle.done, until=due + TAKEOVER_AFTER)
        await d.not_steering()
        if not current.handle.done() and not d.state.status.is_terminal:
            # Its worker may be gone. From here updates are refused (the target is
            # publishing), and the takeover publishes unless the fire claimed it.
            await d.start_publishing()
            if await _take_over(d, current, prepared, due, while_live=True) is _Takeover.DONE:
                current.handle.cancel()
                d.firing = None
                return FireResult.DONE
    try:
        outcome = await current.handle
    except ActivityError as error:
        return await _fire_failed(d, current, prepared, due, error)
    finally:
        d.firing = None
    if d.state.status != TargetStatus.PUBLISHING:
        await d.start_publishing(at=due)
    await d.published(outcome)
    return FireResult.DONE


def _start(d: Delivery, prepared: Preparation | None, due: datetime | None) -> Fire:
    job = d.job
    fire_id = str(workflow.uuid4())
    handle = workflow.start_activity(
        PUBLISH_ON_TIME,
        OnTimeRequest(
            target_id=job.target_id,
            fire_id=fire_id,
            prepared=prepared,
            not_before=due,
            not_after=None if due is None or job.publish_if_late else due + job.grace_period,
            ensure_token=job.refreshes_token and not job.prepares,
        ),
        result_type=PublishOutcome,
        # Its own queue (cli/worker.py): a burst of waiting publishes never takes the slots
        # of the work that serves them, and work queued behind a burst times nothing out.
        task_queue=fire_queue(workflow.info().task_queue),
        start_to_close_timeout=(job.lead or timedelta(0)) + job.retry.start_to_close,
        retry_policy=RetryPolicy(maximum_attempts=1),
        # Stopping is decided in the database (STOP_FIRE), so there is nothing to wait for.
        cancellation_type=ActivityCancellationType.TRY_CANCEL,
    )
    return Fire(handle=handle, fire_id=fire_id, target_id=job.target_id)


async def _fire_failed(
    d: Delivery,
    current: Fire,
    prepared: Preparation | None,
    due: datetime | None,
    error: ActivityError,
) -> FireResult:
    # An update stopping it finishes first; the run carries on from where it left things.
    await d.not_steering()
    cause = error.cause
    kind = cause.type if isinstance(cause, ApplicationError) else None
    if isinstance(cause, CancelledError) or kind == ERROR_STOPPED:
        # Stopped before it sent anything: cancelled, or moved and back to sleep.
        return FireResult.DONE if d.state.status.is_terminal else FireResult.WAIT_AGAIN
    if d.state.status.is_terminal:
        return FireResult.DONE
    if isinstance(cause, ApplicationError) and kind == ERROR_MISSED:
        await d.transition(TargetStatus.MISSED, error=cause.message)
        return FireResult.DONE
    if d.state.status != TargetStatus.PUBLISHING:
        await d.start_publishing()
    if kind in REFUSED_KINDS:
        await d.gave_up(error)
        return FireResult.DONE
    if (
        kind in PLATFORM_ERRORS
        and isinstance(cause, ApplicationError)
        and cause.non_retryable
        and workflow.patched(FIRE_ERROR_MAY_BE_FINAL)
    ):
        # The platform's error used up the target's tries (its tenant's retry policy; one
        # try under `manual`): no takeover publishes again. Looked up first, as any give-up.
        await d.gave_up(error)
        return FireResult.DONE
    if isinstance(cause, ApplicationError) and kind != ERROR_WORKER_STOPPING:
        # The platform answered with an error: the ordinary retries go on, after the
        # ordinary pause (or the one the platform asked for).
        await workflow.sleep(cause.next_retry_delay or d.job.retry.initial_interval)
    elif due is not None and workflow.now() < due:
        # Its worker went away (or timed out) before the time: the takeover waits for it.
        await workflow.sleep(due - workflow.now())
    await _take_over(d, current, prepared, due, while_live=False)
    return FireResult.DONE


async def _take_over(
    d: Delivery,
    current: Fire,
    prepared: Preparation | None,
    due: datetime | None,
    *,
    while_live: bool,
) -> _Takeover:
    """Publish in place of the fire, with the retries it left; the activity stops the fire
    first, so it can never claim the target afterwards. `while_live`: the fire has not
    answered and may be sending; if it claimed the target, leave the delivery to it."""
    late_by = d.late_by()
    if late_by is not None:
        if await current.stop():
            # Down (or stopped) across the time and past the grace period, as in the run.
            await d.missed("taken up", late_by)
            return _Takeover.DONE
        if while_live:
            return _Takeover.FIRE_IS_SENDING
    # The fire's own platform error, if it had one, is already counted (activities/errors).
    job = d.job
    try:
        async with d.db:
            outcome: PublishOutcome = await workflow.execute_activity(
                TAKE_OVER_FIRE,
                TakeOverRequest(
                    target_id=job.target_id,
                    fire_id=current.fire_id,
                    prepared=prepared,
                    ensure_token=job.refreshes_token and not job.prepares,
                    while_live=while_live,
                ),
                result_type=PublishOutcome,
                start_to_close_timeout=job.retry.start_to_close,
                retry_policy=publish_retry_policy(job.retry),
            )
    except ActivityError as failed:
        await d.gave_up(failed)
        return _Takeover.DONE
    if outcome.status == TargetStatus.PUBLISHING:
        return _Takeover.FIRE_IS_SENDING
    await d.published(outcome)
    return _Takeover.DONE
