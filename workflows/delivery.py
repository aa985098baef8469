"""The delivery workflow's state, in one structure, and the steps every path through it takes.

Deterministic code only (see workflows/publish_target.py): every side effect is an activity,
called by name so this module never imports their bodies.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.messages.delivery import (
        CHECK_TARGET,
        ENSURE_FRESH_TOKEN,
        ERROR_AUTH,
        ERROR_CONTENT,
        ERROR_TOKEN_REFRESH,
        NON_RETRYABLE_ERRORS,
        PREPARE_TARGET,
        PUBLISH_TARGET,
        RECONCILE_TARGET,
        RECORD_TARGET_STATE,
        Preparation,
        PublishOutcome,
        PublishTargetInput,
        Readiness,
        ReconcileRequest,
        RetrySettings,
        TargetState,
        TargetStateUpdate,
    )
    from core.status import TargetStatus
    from core.temporal import SA_STATUS

from workflows.wake import Wake

if TYPE_CHECKING:
    from workflows.fire import Fire

# Database writes are retried until they succeed: a delivery's outcome must not be lost to a
# passing database hiccup.
RECORD_TIMEOUT = timedelta(seconds=30)
# Final refusals: the content, the account's authorisation, a refused token refresh.
REFUSED_KINDS = (ERROR_CONTENT, ERROR_AUTH, ERROR_TOKEN_REFRESH)


def publish_retry_policy(retry: RetrySettings) -> RetryPolicy:
    """Every activity that calls the platform. No cap on tries here: Temporal counts a try
    that timed out (a starved or killed worker: crier's failure, not the post's) like any
    other, so a cap here would let crier's own slowness end targets `dead`. The activities
    count the platform's errors instead (activities/errors.py) and make the one that reaches
    CRIER_PUBLISH_MAX_ATTEMPTS final."""
    return RetryPolicy(
        initial_interval=retry.initial_interval,
        backoff_coefficient=retry.backoff,
        maximum_interval=retry.max_interval,
        maximum_attempts=0,
        non_retryable_error_types=list(NON_RETRYABLE_ERRORS),
    )


class Delivery:
    """Everything the run and its updates share. The query answers `state`; the rest steers."""

    def __init__(self, job: PublishTargetInput) -> None:
        self.job = job
        # "Now" is the server's clock at the start, not the API host's: a skewed API clock
        # must not make a publish-now target look late.
        self.due: datetime | None = job.scheduled_for or workflow.info().start_time
        first = TargetStatus.AWAITING_APPROVAL if job.requires_approval else TargetStatus.SCHEDULED
        if job.parts_only:
            first = TargetStatus.PUBLISHED  # the post is live; only its missing parts follow
        # The API wrote `first` to the database, and set the search attribute, at start.
        self.state = TargetState(status=first, scheduled_for=self.due, transitions=[first])
        self.publish_now = False
        self.unscheduled = False  # sent back to a draft: the run ends without an outcome
        self.wake = Wake()
        # Serialises database writes, so they land in the order the workflow decided them.
        self.db = asyncio.Lock()
        self.prepared = Preparation()  # what prepare made (none yet), for a reconciliation
        # The publish handed to a worker ahead of its time, while it waits there.
        self.firing: Fire | None = None
        # Updates changing course (cancel, reschedule, publish now) under way: the run must
        # not hand a publish to a worker until they have finished.
        self.steering = 0

    # What time it is, for this target ----------------------------------------------------------

    def is_due(self, lead: timedelta | None = None) -> bool:
        """Time to act: the time itself, or `lead` before it."""
        return self.due is None or workflow.now() >= self.due - (lead or timedelta(0))

    def late_by(self) -> timedelta | None:
        """How late past the grace period, if it is (and lateness matters)."""
        if self.due is None or self.publish_now or self.job.publish_if_late:
            return None
        late = workflow.now() - self.due
        return late if late > self.job.grace_period else None

    async def not_steering(self) -> None:
        await workflow.wait_condition(lambda: self.steering == 0)

    # Transitions --------------------------------------------------------------------------------

    async def transition(
        self,
        status: TargetStatus,
        *,
        error: str | None = None,
        persist: bool = True,
        locked: bool = False,
    ) -> None:
        self.state.status = status
        self.state.transitions.append(status)
        if error is not None:
            self.state.error = error
        workflow.upsert_search_attributes([SA_STATUS.value_set(status.value)])
        if persist:
            await self.record(status, error, locked=locked)

    async def start_publishing(self, at: datetime | None = None) -> None:
        """Into `publishing`. Not written here: the activity that claims the target writes it
        together with its attempt."""
        self.state.publish_started_at = at or workflow.now()
        await self.transition(TargetStatus.PUBLISHING, persist=False)

    async def record(
        self, status: TargetStatus, error: str | None = None, *, locked: bool = False
    ) -> None:
        """Write a transition; `locked` when the caller already holds the write lock."""
        update = TargetStateUpdate(
            target_id=self.job.target_id, status=status, scheduled_for=self.due, error=error
        )
        if locked:
            await workflow.execute_activity(
                RECORD_TARGET_STATE, update, start_to_close_timeout=RECORD_TIMEOUT
            )
            return
        async with self.db:
            await workflow.execute_activity(
                RECORD_TARGET_STATE, update, start_to_close_timeout=RECORD_TIMEOUT
            )

    async def missed(self, verb: str, late_by: timedelta) -> None:
        await self.transition(
            TargetStatus.MISSED,
            error=f"{verb} {late_by} after its time, beyond the {self.job.grace_period} "
            "grace period; not published",
        )

    # Outcomes -----------------------------------------------------------------------------------

    async def published(self, outcome: PublishOutcome) -> None:
        # The publish activity wrote the outcome to the database together with its attempt.
        self.state.external_id = outcome.external_id
        self.state.url = outcome.url
        await self.transition(outcome.status, persist=False)

    async def gave_up(self, error: ActivityError) -> None:
        """A refusal (content, auth, a refused refresh) is final. Anything else exhausted its
        retries, and the last try's answer may have been lost (or its worker killed): the post
        may be live, so look before calling the target dead."""
        cause = error.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        refused = kind in REFUSED_KINDS
        if not refused:
            settled = await self._reconcile()
            if settled is not None:
                await self.published(settled)
                return
        await self.transition(TargetStatus.FAILED if refused else TargetStatus.DEAD, error=message)

    async def _reconcile(self) -> PublishOutcome | None:
        """The outcome if the platform shows the post live (or cannot tell); None if not."""
        try:
            outcome: PublishOutcome = await workflow.execute_activity(
                RECONCILE_TARGET,
                ReconcileRequest(target_id=self.job.target_id, prepared=self.prepared),
                result_type=PublishOutcome,
                start_to_close_timeout=self.job.retry.start_to_close,
                retry_policy=publish_retry_policy(self.job.retry),
            )
        except ActivityError:
            return None  # the platform could not even be asked: dead, with its last error
        return None if outcome.status == TargetStatus.DEAD else outcome

    # Work before the publish --------------------------------------------------------------------

    async def ensure_token(self) -> None:
        if self.job.refreshes_token:
            # Before anything touches the platform: media uploads need the token too.
            await workflow.execute_activity(
                ENSURE_FRESH_TOKEN,
                self.job.target_id,
                start_to_close_timeout=self.job.retry.start_to_close,
                retry_policy=publish_retry_policy(self.job.retry),
            )

    async def prepare(self) -> Preparation | None:
        """Prepare (upload, create containers), then look until ready, sleeping durably in
        between: a worker restart during encoding resumes the wait, it never prepares again.
        None when the platform gave up on the media (the target is then failed). The caller
        holds the write lock."""
        job = self.job
        retry = publish_retry_policy(job.retry)
        prepared: Preparation = await workflow.execute_activity(
            PREPARE_TARGET,
            job.target_id,
            result_type=Preparation,
            start_to_close_timeout=job.retry.start_to_close,
            retry_policy=retry,
        )
        self.prepared = prepared
        deadline = workflow.now() + job.media_deadline
        while True:
            readiness: Readiness = await workflow.execute_activity(
                CHECK_TARGET,
                args=[job.target_id, prepared],
                result_type=Readiness,
                start_to_close_timeout=job.retry.start_to_close,
                retry_policy=retry,
            )
            if readiness.state == "ready":
                return prepared
            failure = readiness.reason or "the platform could not process the media"
            if readiness.state == "pending" and workflow.now() >= deadline:
                failure = f"the media was still processing after {job.media_deadline}"
            elif readiness.state == "pending":
                wait = min(readiness.check_after or job.media_poll, deadline - workflow.now())
                await workflow.sleep(max(wait, timedelta(seconds=1)))
                continue
            await self.transition(TargetStatus.FAILED, error=failure, locked=True)
            return None

    async def publish_at_the_time(self) -> None:
        """The publish for a target with no lead (where preparing is publishing, TikTok): woken
        at the time itself, then token, media and the call, one after the other."""
        job = self.job
        await self.start_publishing()
        try:
            # Under the write lock: an update's record still in flight must land first.
            async with self.db:
                await self.ensure_token()
                prepared = await self.prepare() if job.prepares else None
                if job.prepares and prepared is None:
                    return
                outcome: PublishOutcome = await workflow.execute_activity(
                    PUBLISH_TARGET,
                    args=[job.target_id, prepared] if prepared else [job.target_id],
                    result_type=PublishOutcome,
                    start_to_close_timeout=job.retry.start_to_close,
                    retry_policy=publish_retry_policy(job.retry),
                )
        except ActivityError as error:
            await self.gave_up(error)
            return
        await self.published(outcome)
