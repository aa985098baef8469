"""PublishTargetWorkflow: one delivery of one post to one account, from approval to outcome.

Deterministic code only: no I/O, no wall clock, no randomness. Every side effect is an
activity, called by name so this module never imports their bodies.

States (DESIGN.md): awaiting_approval → scheduled → publishing → published (or drafted,
ready_for_manual, failed, dead); from the waiting states also rejected, expired, cancelled and
missed. Steering arrives as Updates, whose validators refuse (and change nothing) when the
target is no longer in a state the request makes sense for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType, ActivityHandle

with workflow.unsafe.imports_passed_through():
    from core.messages.delivery import (
        CHECK_TARGET,
        ENSURE_FRESH_TOKEN,
        ERROR_AUTH,
        ERROR_CONTENT,
        ERROR_MISSED,
        ERROR_STOPPED,
        ERROR_TOKEN_REFRESH,
        ERROR_WORKER_STOPPING,
        NON_RETRYABLE_ERRORS,
        PREPARE_TARGET,
        PUBLISH_ON_TIME,
        PUBLISH_TARGET,
        RECONCILE_TARGET,
        RECORD_TARGET_STATE,
        REFUSED_CONFLICT,
        REFUSED_INVALID,
        RESERVE_PUBLISH_SLOT,
        STOP_FIRE,
        TAKE_OVER_FIRE,
        CancelRequest,
        OnTimeRequest,
        Preparation,
        PublishOutcome,
        PublishTargetInput,
        Readiness,
        ReconcileRequest,
        RescheduleRequest,
        RetrySettings,
        ReviewDecision,
        SlotDecision,
        SlotRequest,
        StopFireRequest,
        TakeOverRequest,
        TargetState,
        TargetStateUpdate,
    )
    from core.status import WAITING, TargetStatus
    from core.temporal import SA_SCHEDULED_FOR, SA_STATUS, fire_queue

# Database writes are retried until they succeed: a delivery's outcome must not be lost to a
# passing database hiccup.
RECORD_TIMEOUT = timedelta(seconds=30)
NO_REASON = CancelRequest()
# A publish waiting in a worker for its time heartbeats; a worker that dies is noticed within
# this, and its retry (a fresh workflow task) fires at once if the time has passed.
FIRE_HEARTBEAT = timedelta(seconds=10)
# workflow.patched id of the on-time path's second version (see _publish_on_time).
ON_TIME_V2 = "on-time-v2"
# How long after its time a fire that has not answered is taken over, unless it has claimed
# the target (then it is alive and sending, however slow the platform). A live worker claims
# within milliseconds of the time, so a fire with no claim by then has lost its worker.
TAKEOVER_AFTER = timedelta(seconds=2)
REFUSED_KINDS = (ERROR_CONTENT, ERROR_AUTH, ERROR_TOKEN_REFRESH)


def _token_in_fire(job: PublishTargetInput) -> bool:
    """The second version checks the token in the publish itself, unless prepare (which
    needs the token first, for the media) runs before it."""
    return job.refreshes_token and not job.prepares


def publish_retry_policy(retry: RetrySettings) -> RetryPolicy:
    """Every activity that calls the platform. No cap on tries here: Temporal counts a try
    that timed out (a starved or killed worker: crier's failure, not the post's) like any
    other, so a cap here let crier's own slowness end targets `dead` (issue 16). The
    activities count the platform's errors instead (activities/errors.py) and make the one
    that reaches CRIER_PUBLISH_MAX_ATTEMPTS final."""
    return RetryPolicy(
        initial_interval=retry.initial_interval,
        backoff_coefficient=retry.backoff,
        maximum_interval=retry.max_interval,
        maximum_attempts=0,
        non_retryable_error_types=list(NON_RETRYABLE_ERRORS),
    )


def _refuse(message: str, *, kind: str = REFUSED_CONFLICT) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn
class PublishTargetWorkflow:
    @workflow.init
    def __init__(self, job: PublishTargetInput) -> None:
        # State comes from the input here, not in run(): an update can arrive in the very
        # first task, and its validator runs before run() does; it must see the real state.
        self._job: PublishTargetInput | None = job
        # "Now" is the server's clock at the start, not the API host's: a skewed API clock
        # must not make a publish-now target look late.
        self._due: datetime | None = job.scheduled_for or workflow.info().start_time
        first = TargetStatus.AWAITING_APPROVAL if job.requires_approval else TargetStatus.SCHEDULED
        # The API wrote `first` to the database, and set the search attribute, at start.
        self._state = TargetState(status=first, scheduled_for=self._due, transitions=[first])
        self._publish_now = False
        self._woken = False
        # Serialises database writes, so they land in the order the workflow decided them.
        self._db = asyncio.Lock()
        self._prepared = Preparation()  # what prepare made (none yet), for a reconciliation
        # The publish handed to a worker ahead of its time (job.lead), while it waits there.
        self._firing: ActivityHandle[PublishOutcome] | None = None
        self._fire_id = ""
        # An update changing course (cancel, reschedule, publish now) is under way: the run
        # must not hand a publish to a worker until it has finished.
        self._steering = 0

    @workflow.run
    async def run(self, job: PublishTargetInput) -> TargetState:

        on_time_checked = False
        while True:
            while not self._state.status.is_terminal:
                if self._state.status == TargetStatus.AWAITING_APPROVAL:
                    await self._await_review(job)
                    continue
                if not (self._publish_now or self._is_due(job.lead)):
                    self._woken = False
                    wake = self._due - job.lead if self._due and job.lead else self._due
                    await self._wait(lambda: self._woken, until=wake)
                    continue
                if not on_time_checked:
                    on_time_checked = True
                    late_by = self._late_by(job)
                    if late_by is not None:
                        await self._transition(
                            TargetStatus.MISSED,
                            error=f"woke {late_by} after its time, beyond the {job.grace_period} "
                            "grace period; not published",
                        )
                        break
                if job.budgets and not await self._take_slot(job):
                    continue  # woken by an update, or the budget's window moved: look again
                break
            if self._state.status.is_terminal:
                break
            if job.lead is None:
                await self._publish(job)
                break
            if await self._publish_on_time(job):
                break
            # Rescheduled, or told to publish now, while waiting: round again.

        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    # Queries and updates ---------------------------------------------------------------------

    @workflow.query
    def status(self) -> TargetState:
        return self._state

    @workflow.update
    async def approve(self, decision: ReviewDecision) -> TargetState:
        self._check_status(TargetStatus.AWAITING_APPROVAL, "approve")
        await self._transition(TargetStatus.SCHEDULED)
        return self._state

    @approve.validator
    def _validate_approve(self, decision: ReviewDecision) -> None:
        self._check_status(TargetStatus.AWAITING_APPROVAL, "approve")

    @workflow.update
    async def reject(self, decision: ReviewDecision) -> TargetState:
        self._check_status(TargetStatus.AWAITING_APPROVAL, "reject")
        reason = f"rejected by {decision.reviewer}"
        if decision.comment:
            reason += f": {decision.comment}"
        await self._transition(TargetStatus.REJECTED, error=reason)
        return self._state

    @reject.validator
    def _validate_reject(self, decision: ReviewDecision) -> None:
        self._check_status(TargetStatus.AWAITING_APPROVAL, "reject")

    @workflow.update
    async def request_approval(self) -> TargetState:
        """The post was edited after approval: it must be approved again."""
        self._check_status(TargetStatus.SCHEDULED, "send back for approval")
        self._woken = True
        await self._transition(TargetStatus.AWAITING_APPROVAL)
        return self._state

    @request_approval.validator
    def _validate_request_approval(self) -> None:
        self._check_status(TargetStatus.SCHEDULED, "send back for approval")

    @workflow.update
    async def reschedule(self, request: RescheduleRequest) -> TargetState:
        self._check_reschedule(request)
        async with self._steer("reschedule"):
            self._due = request.scheduled_for
            self._state.scheduled_for = request.scheduled_for
            workflow.upsert_search_attributes([SA_SCHEDULED_FOR.value_set(request.scheduled_for)])
            self._woken = True
            await self._record(self._state.status)
        return self._state

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleRequest) -> None:
        self._check_reschedule(request)

    @workflow.update
    async def cancel(self, request: CancelRequest = NO_REASON) -> TargetState:
        """Cancel before publishing; refused once the platform may have been called."""
        self._check_status(WAITING, "cancel")
        async with self._steer("cancel"):
            self._woken = True
            reason = request.reason or "cancelled"
            await self._transition(TargetStatus.CANCELLED, error=reason)
        return self._state

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest = NO_REASON) -> None:
        self._check_status(WAITING, "cancel")

    @workflow.update
    async def publish_now(self) -> TargetState:
        """Publish a scheduled target at once; answers once publishing has begun."""
        self._check_status(TargetStatus.SCHEDULED, "publish now")
        async with self._steer("publish now"):
            self._publish_now = True
            self._woken = True
        await workflow.wait_condition(lambda: self._state.status != TargetStatus.SCHEDULED)
        return self._state

    @publish_now.validator
    def _validate_publish_now(self) -> None:
        self._check_status(TargetStatus.SCHEDULED, "publish now")

    # Steps ------------------------------------------------------------------------------------

    async def _await_review(self, job: PublishTargetInput) -> None:
        await self._wait(
            lambda: self._state.status != TargetStatus.AWAITING_APPROVAL,
            until=job.approval_deadline,
        )
        # Re-read the state rather than trusting the wait: a decision and the deadline can
        # arrive in the same instant, and a decision that made it in wins.
        if self._state.status == TargetStatus.AWAITING_APPROVAL:
            await self._transition(
                TargetStatus.EXPIRED, error=f"not approved by {job.approval_deadline}"
            )

    async def _publish(self, job: PublishTargetInput) -> None:
        self._state.publish_started_at = workflow.now()
        await self._transition(TargetStatus.PUBLISHING, persist=False)
        try:
            # Under the write lock: an update's record still in flight must land first.
            async with self._db:
                await self._ensure_token(job)
                if job.prepares:
                    prepared = await self._prepare(job)
                    if prepared is None:
                        return
                    outcome: PublishOutcome = await workflow.execute_activity(
                        PUBLISH_TARGET,
                        args=[job.target_id, prepared],
                        result_type=PublishOutcome,
                        start_to_close_timeout=job.retry.start_to_close,
                        retry_policy=publish_retry_policy(job.retry),
                    )
                else:
                    outcome = await workflow.execute_activity(
                        PUBLISH_TARGET,
                        job.target_id,
                        result_type=PublishOutcome,
                        start_to_close_timeout=job.retry.start_to_close,
                        retry_policy=publish_retry_policy(job.retry),
                    )
        except ActivityError as error:
            await self._gave_up(job, error)
            return
        await self._published(outcome)

    async def _ensure_token(self, job: PublishTargetInput) -> None:
        if job.refreshes_token:
            # Before anything touches the platform: media uploads need the token too.
            await workflow.execute_activity(
                ENSURE_FRESH_TOKEN,
                job.target_id,
                start_to_close_timeout=job.retry.start_to_close,
                retry_policy=publish_retry_policy(job.retry),
            )

    async def _gave_up(self, job: PublishTargetInput, error: ActivityError) -> None:
        cause = error.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        # A refusal (content, auth, a refused refresh) is final; anything else exhausted
        # its retries.
        refused = kind in REFUSED_KINDS
        if not refused and job.reconciles:
            # The last try's answer may have been lost (or its worker killed): the post
            # may be live. Look before calling the target dead.
            settled = await self._reconcile(job)
            if settled is not None:
                self._state.external_id = settled.external_id
                self._state.url = settled.url
                await self._transition(settled.status, persist=False)
                return
        verdict = TargetStatus.FAILED if refused else TargetStatus.DEAD
        await self._transition(verdict, error=message)

    async def _published(self, outcome: PublishOutcome) -> None:
        # The publish activity wrote the outcome to the database together with its attempt.
        self._state.external_id = outcome.external_id
        self._state.url = outcome.url
        await self._transition(outcome.status, persist=False)

    async def _publish_on_time(self, job: PublishTargetInput) -> bool:
        """Woken `job.lead` ahead: get the token and the media ready, then hand a worker the
        publish, which waits there until the exact time. The target stays `scheduled` (so it
        can still be cancelled or moved) until that time. True when the delivery is over;
        False when an update sent it back to wait (rescheduled, or to publish now)."""
        prepared: Preparation | None = None
        # The second version (this tuning) checks the token inside the waiting publish,
        # waits without heartbeats, and takes over from a fire that has not answered a moment
        # after its time (TAKEOVER_AFTER) instead of waiting out a heartbeat timeout.
        v2 = workflow.patched(ON_TIME_V2)
        token_in_fire = v2 and _token_in_fire(job)
        try:
            async with self._db:
                if not token_in_fire:
                    await self._ensure_token(job)
                if job.prepares:
                    prepared = await self._prepare(job)
                    if prepared is None:
                        return True
        except ActivityError as error:
            # Refused ahead of its time (media the host will not give, a token the platform
            # refuses to refresh) or out of tries: it ends now, as it would have at the time,
            # rather than failing the run and leaving the target `scheduled` for ever. Replay-
            # safe unpatched: a run that met this before ended failed, so none is open here.
            if isinstance(error.cause, CancelledError):
                raise  # the run itself was cancelled: nothing to record here
            if self._state.status.is_terminal:
                return True
            self._state.publish_started_at = workflow.now()
            await self._transition(TargetStatus.PUBLISHING, persist=False)
            await self._gave_up(job, error)
            return True
        await workflow.wait_condition(lambda: self._steering == 0)
        if self._state.status.is_terminal:
            return True
        if not (self._publish_now or self._is_due(job.lead)):
            return False  # moved later while the media was being made
        due = None if self._publish_now else self._due
        self._fire_id = str(workflow.uuid4())
        fire = workflow.start_activity(
            PUBLISH_ON_TIME,
            OnTimeRequest(
                target_id=job.target_id,
                fire_id=self._fire_id,
                prepared=prepared,
                not_before=due,
                not_after=None if due is None or job.publish_if_late else due + job.grace_period,
                ensure_token=token_in_fire,
            ),
            result_type=PublishOutcome,
            # Its own queue (cli/worker.py): a burst of waiting publishes never takes the slots
            # of the work that serves them, and work queued behind a burst times nothing out.
            task_queue=fire_queue(workflow.info().task_queue),
            start_to_close_timeout=(job.lead or timedelta(0)) + job.retry.start_to_close,
            heartbeat_timeout=None if v2 else FIRE_HEARTBEAT,
            retry_policy=RetryPolicy(maximum_attempts=1),
            # Stopping is decided in the database (STOP_FIRE), so there is nothing to wait for.
            cancellation_type=ActivityCancellationType.TRY_CANCEL,
        )
        self._firing = fire
        if not v2:
            # The first version woke at the time itself to mark the target publishing.
            if due is not None:
                await self._wait(fire.done, until=due)
            if not fire.done() and self._steering == 0:
                self._state.publish_started_at = workflow.now()
                await self._transition(TargetStatus.PUBLISHING, persist=False)
        elif due is not None:
            # No timer at the time itself: a burst's thousand workflow tasks would land on the
            # server and the worker at the very instant the publishes go out (the database
            # says `publishing` from the claim on, and STOP_FIRE refuses an update then). This
            # one fires only if the publish has not answered TAKEOVER_AFTER past its time;
            # otherwise its answer cancels it, at no cost.
            await self._wait(fire.done, until=due + TAKEOVER_AFTER)
            await workflow.wait_condition(lambda: self._steering == 0)
            if not fire.done() and not self._state.status.is_terminal:
                # Its worker may be gone. From here updates are refused (the target is
                # publishing), and the takeover publishes unless the fire claimed it.
                self._state.publish_started_at = workflow.now()
                await self._transition(TargetStatus.PUBLISHING, persist=False)
                done = await self._publish_after_fire(
                    job, prepared, due, takes_over=True, while_live=True
                )
                if done is not None:
                    fire.cancel()
                    self._firing = None
                    return done
        try:
            outcome = await fire
        except ActivityError as error:
            return await self._fire_failed(job, prepared, due, error)
        finally:
            self._firing = None
        if self._state.status != TargetStatus.PUBLISHING:
            self._state.publish_started_at = due or workflow.now()
            await self._transition(TargetStatus.PUBLISHING, persist=False)
        await self._published(outcome)
        return True

    async def _fire_failed(
        self,
        job: PublishTargetInput,
        prepared: Preparation | None,
        due: datetime | None,
        error: ActivityError,
    ) -> bool:
        # An update stopping it finishes first; the run carries on from where it left things.
        await workflow.wait_condition(lambda: self._steering == 0)
        cause = error.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        if isinstance(cause, CancelledError) or kind == ERROR_STOPPED:
            return self._state.status.is_terminal  # stopped before it sent anything
        if self._state.status.is_terminal:
            return True
        if isinstance(cause, ApplicationError) and kind == ERROR_MISSED:
            await self._transition(TargetStatus.MISSED, error=cause.message)
            return True
        if self._state.status != TargetStatus.PUBLISHING:
            self._state.publish_started_at = workflow.now()
            await self._transition(TargetStatus.PUBLISHING, persist=False)
        if kind in REFUSED_KINDS:
            await self._gave_up(job, error)
            return True
        takes_over = False
        if isinstance(cause, ApplicationError) and kind != ERROR_WORKER_STOPPING:
            # The platform answered with an error: the ordinary retries go on, after the
            # ordinary pause (or the one the platform asked for).
            await workflow.sleep(cause.next_retry_delay or job.retry.initial_interval)
        else:
            # Its worker went away (or timed out). That fire must never claim the target now;
            # if it already did, the ledger finds what it sent. The second version's publish
            # below stops it first; the first stopped it with an activity of its own here.
            takes_over = workflow.patched(ON_TIME_V2)
            if not takes_over:
                await self._stop_fire(job.target_id)
            if due is not None and workflow.now() < due:
                await workflow.sleep(due - workflow.now())  # the rest waits for the time
        done = await self._publish_after_fire(job, prepared, due, takes_over=takes_over)
        assert done is not None  # only a takeover while the fire may live answers None
        return done

    async def _publish_after_fire(
        self,
        job: PublishTargetInput,
        prepared: Preparation | None,
        due: datetime | None,
        *,
        takes_over: bool,
        while_live: bool = False,
    ) -> bool | None:
        """The ordinary publish, with the retries the fire left, after the fire did not.
        `takes_over`: the second version, where the publish stops the fire itself. None when
        `while_live` and the fire turned out to have claimed the target: it is sending."""
        late_by = self._late_by(job)
        if late_by is not None:
            if not takes_over or await self._stop_fire(job.target_id):
                # Down (or stopped) across the time and past the grace period, as in run().
                await self._transition(
                    TargetStatus.MISSED,
                    error=f"taken up {late_by} after its time, beyond the {job.grace_period} "
                    "grace period; not published",
                )
                return True
            if while_live:
                return None
        # The fire's own platform error, if it had one, is already counted (activities/errors).
        remaining = publish_retry_policy(job.retry)
        try:
            async with self._db:
                if takes_over:
                    outcome: PublishOutcome = await workflow.execute_activity(
                        TAKE_OVER_FIRE,
                        TakeOverRequest(
                            target_id=job.target_id,
                            fire_id=self._fire_id,
                            prepared=prepared,
                            ensure_token=_token_in_fire(job),
                            while_live=while_live,
                        ),
                        result_type=PublishOutcome,
                        start_to_close_timeout=job.retry.start_to_close,
                        retry_policy=remaining,
                    )
                else:
                    outcome = await workflow.execute_activity(
                        PUBLISH_TARGET,
                        args=[job.target_id, prepared] if prepared else [job.target_id],
                        result_type=PublishOutcome,
                        start_to_close_timeout=job.retry.start_to_close,
                        retry_policy=remaining,
                    )
        except ActivityError as failed:
            await self._gave_up(job, failed)
            return True
        if outcome.status == TargetStatus.PUBLISHING:
            return None  # the fire claimed it after all (only when while_live)
        await self._published(outcome)
        return True

    async def _reconcile(self, job: PublishTargetInput) -> PublishOutcome | None:
        """The outcome if the platform shows the post live (or cannot tell); None if not."""
        try:
            outcome: PublishOutcome = await workflow.execute_activity(
                RECONCILE_TARGET,
                ReconcileRequest(target_id=job.target_id, prepared=self._prepared),
                result_type=PublishOutcome,
                start_to_close_timeout=job.retry.start_to_close,
                retry_policy=publish_retry_policy(job.retry),
            )
        except ActivityError:
            return None  # the platform could not even be asked: dead, with its last error
        return None if outcome.status == TargetStatus.DEAD else outcome

    async def _take_slot(self, job: PublishTargetInput) -> bool:
        """A slot in the account's publishing budgets, or a durable wait for one. While it
        waits the target stays `scheduled`, so it can still be cancelled or rescheduled."""
        decision: SlotDecision = await workflow.execute_activity(
            RESERVE_PUBLISH_SLOT,
            SlotRequest(target_id=job.target_id, budgets=job.budgets, at=workflow.now()),
            result_type=SlotDecision,
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        if decision.wait is None:
            self._state.waiting_for_budget_until = None
            return True
        until = workflow.now() + decision.wait
        self._state.waiting_for_budget_until = until
        self._woken = False
        await self._wait(lambda: self._woken, until=until)
        return False

    async def _prepare(self, job: PublishTargetInput) -> Preparation | None:
        """Prepare (upload, create containers), then look until ready, sleeping durably in
        between: a worker restart during encoding resumes the wait, it never prepares again.
        None when the platform gave up on the media (the target is then failed)."""
        prepared: Preparation = await workflow.execute_activity(
            PREPARE_TARGET,
            job.target_id,
            result_type=Preparation,
            start_to_close_timeout=job.retry.start_to_close,
            retry_policy=publish_retry_policy(job.retry),
        )
        self._prepared = prepared
        deadline = workflow.now() + job.media_deadline
        while True:
            readiness: Readiness = await workflow.execute_activity(
                CHECK_TARGET,
                args=[job.target_id, prepared],
                result_type=Readiness,
                start_to_close_timeout=job.retry.start_to_close,
                retry_policy=publish_retry_policy(job.retry),
            )
            if readiness.state == "ready":
                return prepared
            if readiness.state == "failed":
                reason = readiness.reason or "the platform could not process the media"
                await self._transition(TargetStatus.FAILED, error=reason, locked=True)
                return None
            if workflow.now() >= deadline:
                await self._transition(
                    TargetStatus.FAILED,
                    error=f"the media was still processing after {job.media_deadline}",
                    locked=True,
                )
                return None
            wait = min(readiness.check_after or job.media_poll, deadline - workflow.now())
            await workflow.sleep(max(wait, timedelta(seconds=1)))

    # Helpers ----------------------------------------------------------------------------------

    def _is_due(self, lead: timedelta | None = None) -> bool:
        """Time to act: the time itself, or `lead` before it."""
        return self._due is None or workflow.now() >= self._due - (lead or timedelta(0))

    @contextlib.asynccontextmanager
    async def _steer(self, action: str) -> AsyncIterator[None]:
        """Around an update that changes course: a publish already handed to a worker is
        stopped first, and the update is refused if it could not be (the post is going out)."""
        self._steering += 1
        try:
            if self._firing is not None and not await self._stop_firing():
                raise _refuse(f"cannot {action}: the post is going out")
            yield
        finally:
            self._steering -= 1

    async def _stop_firing(self) -> bool:
        """Stop the publish waiting in a worker; True if it can no longer send."""
        fire = self._firing
        if fire is None:
            return True
        assert self._job is not None
        stopped = await self._stop_fire(self._job.target_id)
        if stopped:
            fire.cancel()  # frees the worker's slot; it could not have sent anyway
        return stopped

    async def _stop_fire(self, target_id: str) -> bool:
        stopped: bool = await workflow.execute_activity(
            STOP_FIRE,
            StopFireRequest(target_id=target_id, fire_id=self._fire_id),
            result_type=bool,
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        return stopped

    def _late_by(self, job: PublishTargetInput) -> timedelta | None:
        if self._due is None or self._publish_now or job.publish_if_late:
            return None
        late = workflow.now() - self._due
        return late if late > job.grace_period else None

    async def _wait(self, condition: Callable[[], bool], *, until: datetime | None) -> None:
        """Until `condition` holds or the clock reaches `until` (None: no deadline)."""
        if until is None:
            await workflow.wait_condition(condition)
            return
        remaining = until - workflow.now()
        if remaining <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(condition, timeout=remaining)

    async def _transition(
        self,
        status: TargetStatus,
        *,
        error: str | None = None,
        persist: bool = True,
        locked: bool = False,
    ) -> None:
        self._state.status = status
        self._state.transitions.append(status)
        if error is not None:
            self._state.error = error
        workflow.upsert_search_attributes([SA_STATUS.value_set(status.value)])
        if persist:
            await self._record(status, error, locked=locked)

    async def _record(
        self, status: TargetStatus, error: str | None = None, *, locked: bool = False
    ) -> None:
        """Write a transition; `locked` when the caller already holds the write lock."""
        assert self._job is not None
        update = TargetStateUpdate(
            target_id=self._job.target_id, status=status, scheduled_for=self._due, error=error
        )
        if locked:
            await workflow.execute_activity(
                RECORD_TARGET_STATE, update, start_to_close_timeout=RECORD_TIMEOUT
            )
            return
        async with self._db:
            await workflow.execute_activity(
                RECORD_TARGET_STATE, update, start_to_close_timeout=RECORD_TIMEOUT
            )

    def _check_status(self, allowed: TargetStatus | tuple[TargetStatus, ...], action: str) -> None:
        allowed = allowed if isinstance(allowed, tuple) else (allowed,)
        if self._state.status not in allowed or self._publish_now:
            current = "publishing" if self._publish_now else self._state.status.value
            raise _refuse(f"cannot {action}: the target is {current}")

    def _check_reschedule(self, request: RescheduleRequest) -> None:
        self._check_status(WAITING, "reschedule")
        when = request.scheduled_for
        if when.tzinfo is None:
            raise _refuse("scheduled_for needs an offset", kind=REFUSED_INVALID)
        if when <= workflow.now():
            raise _refuse(f"scheduled_for {when.isoformat()} is in the past", kind=REFUSED_INVALID)
