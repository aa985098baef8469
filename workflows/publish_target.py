"""PublishTargetWorkflow: one delivery of one post to one account, from approval to outcome.

Deterministic code only: no I/O, no wall clock, no randomness. Every side effect is an
activity, called by name so this module never imports their bodies.

The run follows DESIGN.md's diagram (docs/delivery.md), one state at a time:
- awaiting_approval: until approve (→ scheduled), reject (→ rejected) or the deadline (expired);
- scheduled: asleep until `lead` before its time (cancel → cancelled; unschedule → draft, and
  the run ends; woken past the grace period → missed), then the fire (workflows/fire.py) or,
  with no lead, the publish itself;
- publishing: from the claim to the platform's answer: published, drafted,
  ready_for_manual, failed or dead.

Steering arrives as Updates. `ALLOWED_IN` says in which states each is allowed; a validator
refuses (and changes nothing) outside them. All state lives in one `Delivery`
(workflows/delivery.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.messages.delivery import (
        REFUSED_CONFLICT,
        REFUSED_INVALID,
        RESERVE_PUBLISH_SLOT,
        CancelRequest,
        PublishTargetInput,
        RescheduleRequest,
        ReviewDecision,
        SlotDecision,
        SlotRequest,
        TargetState,
    )
    from core.status import WAITING, TargetStatus
    from core.temporal import SA_SCHEDULED_FOR

from workflows.delivery import RECORD_TIMEOUT, Delivery
from workflows.fire import FireResult, fire
from workflows.parts import publish_parts
from workflows.wake import wait

NO_REASON = CancelRequest()
# Patches (docs/operations.md, "Changing the workflow"): new runs take the new path.
PUBLISH_NOW_WHEN_APPROVED = "publish-now-when-approved"
AWAITING = (TargetStatus.AWAITING_APPROVAL,)
SCHEDULED = (TargetStatus.SCHEDULED,)
# Which update is allowed in which state, and the words its refusal uses.
ALLOWED_IN: dict[str, tuple[tuple[TargetStatus, ...], str]] = {
    "approve": (AWAITING, "approve"),
    "reject": (AWAITING, "reject"),
    "request_approval": (SCHEDULED, "send back for approval"),
    "reschedule": (WAITING, "reschedule"),
    "cancel": (WAITING, "cancel"),
    "unschedule": (WAITING, "unschedule"),
    "publish_now": (SCHEDULED, "publish now"),
}


def _refuse(message: str, *, kind: str = REFUSED_CONFLICT) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn
class PublishTargetWorkflow:
    @workflow.init
    def __init__(self, job: PublishTargetInput) -> None:
        # State comes from the input here, not in run(): an update can arrive in the very
        # first task, and its validator runs before run() does; it must see the real state.
        self._d = Delivery(job)

    @workflow.run
    async def run(self, job: PublishTargetInput) -> TargetState:
        d = self._d
        lateness_checked = False
        # Unscheduled: back to a draft, not an end: the post may be scheduled again, by a new
        # run under the same id.
        while not d.state.status.is_terminal and not d.unscheduled:
            if d.state.status == TargetStatus.AWAITING_APPROVAL:
                await self._await_review()
                continue
            if not (d.publish_now or d.is_due(job.lead)):
                await d.wake.sleep_until(d.due - job.lead if d.due and job.lead else d.due)
                continue
            if not lateness_checked:
                lateness_checked = True
                if (late_by := d.late_by()) is not None:
                    await d.missed("woke", late_by)
                    break
            if job.budgets and not await self._take_slot():
                continue  # woken by an update, or the budget's window moved: look again
            if job.lead is None:
                await d.publish_at_the_time()
                break
            if await fire(d) is FireResult.DONE:
                break
        if job.parts and d.state.status == TargetStatus.PUBLISHED:
            await publish_parts(d)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return d.state

    # Query and updates ------------------------------------------------------------------------

    @workflow.query
    def status(self) -> TargetState:
        return self._d.state

    @workflow.update
    async def approve(self, decision: ReviewDecision) -> TargetState:
        self._allow("approve")
        d = self._d
        if d.job.scheduled_for is None and workflow.patched(PUBLISH_NOW_WHEN_APPROVED):
            # "Publish now" on a post awaiting approval means as soon as it is approved,
            # however late that is: its time is the approval's, so the grace period cannot
            # make it `missed`. A scheduled time keeps its grace rule.
            d.due = d.state.scheduled_for = workflow.now()
        await d.transition(TargetStatus.SCHEDULED)
        return d.state

    @workflow.update
    async def reject(self, decision: ReviewDecision) -> TargetState:
        self._allow("reject")
        reason = f"rejected by {decision.reviewer}"
        if decision.comment:
            reason += f": {decision.comment}"
        await self._d.transition(TargetStatus.REJECTED, error=reason)
        return self._d.state

    @workflow.update
    async def request_approval(self) -> TargetState:
        """The post was edited after approval: it must be approved again."""
        self._allow("request_approval")
        self._d.wake.poke()
        await self._d.transition(TargetStatus.AWAITING_APPROVAL)
        return self._d.state

    @workflow.update
    async def reschedule(self, request: RescheduleRequest) -> TargetState:
        self._check_reschedule(request)
        d = self._d
        async with self._steer("reschedule"):
            d.due = d.state.scheduled_for = request.scheduled_for
            workflow.upsert_search_attributes([SA_SCHEDULED_FOR.value_set(request.scheduled_for)])
            d.wake.poke()
            await d.record(d.state.status)
        return d.state

    @workflow.update
    async def cancel(self, request: CancelRequest = NO_REASON) -> TargetState:
        """Cancel before publishing; refused once the platform may have been called."""
        self._allow("cancel")
        async with self._steer("cancel"):
            self._d.wake.poke()
            await self._d.transition(TargetStatus.CANCELLED, error=request.reason or "cancelled")
        return self._d.state

    @workflow.update
    async def unschedule(self) -> TargetState:
        """Back to a draft with no time (seed 000's cancel-schedule): this run ends, and the
        target can be scheduled again. Refused once the platform may have been called."""
        self._allow("unschedule")
        d = self._d
        async with self._steer("unschedule"):
            d.unscheduled = True
            d.due = d.state.scheduled_for = None
            d.wake.poke()
            await d.transition(TargetStatus.DRAFT)
        return d.state

    @workflow.update
    async def publish_now(self) -> TargetState:
        """Publish a scheduled target at once; answers once publishing has begun."""
        self._allow("publish_now")
        async with self._steer("publish now"):
            self._d.publish_now = True
            self._d.wake.poke()
        await workflow.wait_condition(lambda: self._d.state.status != TargetStatus.SCHEDULED)
        return self._d.state

    # The validators refuse from ALLOWED_IN before anything changes.
    @approve.validator
    def _approve_allowed(self, decision: ReviewDecision) -> None:
        self._allow("approve")

    @reject.validator
    def _reject_allowed(self, decision: ReviewDecision) -> None:
        self._allow("reject")

    @request_approval.validator
    def _request_approval_allowed(self) -> None:
        self._allow("request_approval")

    @reschedule.validator
    def _reschedule_allowed(self, request: RescheduleRequest) -> None:
        self._check_reschedule(request)

    @cancel.validator
    def _cancel_allowed(self, request: CancelRequest = NO_REASON) -> None:
        self._allow("cancel")

    @unschedule.validator
    def _unschedule_allowed(self) -> None:
        self._allow("unschedule")

    @publish_now.validator
    def _publish_now_allowed(self) -> None:
        self._allow("publish_now")

    def _allow(self, update: str) -> None:
        allowed, action = ALLOWED_IN[update]
        if self._d.state.status not in allowed or self._d.publish_now:
            current = "publishing" if self._d.publish_now else self._d.state.status.value
            raise _refuse(f"cannot {action}: the target is {current}")

    def _check_reschedule(self, request: RescheduleRequest) -> None:
        self._allow("reschedule")
        when = request.scheduled_for
        if when.tzinfo is None:
            raise _refuse("scheduled_for needs an offset", kind=REFUSED_INVALID)
        if when <= workflow.now():
            raise _refuse(f"scheduled_for {when.isoformat()} is in the past", kind=REFUSED_INVALID)

    @contextlib.asynccontextmanager
    async def _steer(self, action: str) -> AsyncIterator[None]:
        """Around an update that changes course: a publish already handed to a worker is
        stopped first, and the update is refused if it could not be (the post is going out)."""
        d = self._d
        d.steering += 1
        try:
            if d.firing is not None and not await d.firing.stop_and_free():
                raise _refuse(f"cannot {action}: the post is going out")
            yield
        finally:
            d.steering -= 1

    # Waits ------------------------------------------------------------------------------------

    async def _await_review(self) -> None:
        d = self._d
        deadline = d.job.approval_deadline
        await wait(lambda: d.state.status != TargetStatus.AWAITING_APPROVAL, until=deadline)
        # Re-read the state rather than trusting the wait: a decision and the deadline can
        # arrive in the same instant, and a decision that made it in wins.
        if d.state.status == TargetStatus.AWAITING_APPROVAL:
            await d.transition(TargetStatus.EXPIRED, error=f"not approved by {deadline}")

    async def _take_slot(self) -> bool:
        """A slot in the account's publishing budgets, or a durable wait for one. While it
        waits the target stays `scheduled`, so it can still be cancelled or rescheduled."""
        d = self._d
        decision: SlotDecision = await workflow.execute_activity(
            RESERVE_PUBLISH_SLOT,
            SlotRequest(target_id=d.job.target_id, budgets=d.job.budgets, at=workflow.now()),
            result_type=SlotDecision,
            start_to_close_timeout=RECORD_TIMEOUT,
        )
        if decision.wait is None:
            d.state.waiting_for_budget_until = None
            return True
        d.state.waiting_for_budget_until = workflow.now() + decision.wait
        await d.wake.sleep_until(d.state.waiting_for_budget_until)
        return False
