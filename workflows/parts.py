"""The parts after a post (thread replies, a first comment), published in order once the post
itself is live, each after its own durable wait. Deterministic code only (see
workflows/publish_target.py).

Every part goes through the attempt ledger in its activity (activities/parts.py), keyed by
target and part, so a retried or taken-over try looks before it posts again. A part that
cannot be published leaves the target `partially_published` with the live parts kept; a retry
of the target starts a run that publishes only the parts still missing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.messages.delivery import PUBLISH_PART, PartRequest
    from core.status import TargetStatus

from workflows.delivery import REFUSED_KINDS, Delivery, publish_retry_policy


async def publish_parts(d: Delivery) -> None:
    job = d.job
    for index, delay in enumerate(job.parts, start=1):
        if delay > timedelta(0):
            await workflow.sleep(delay)
        try:
            await workflow.execute_activity(
                PUBLISH_PART,
                PartRequest(target_id=job.target_id, index=index),
                start_to_close_timeout=job.retry.start_to_close,
                retry_policy=publish_retry_policy(job.retry),
            )
        except ActivityError as error:
            cause = error.cause
            refused = isinstance(cause, ApplicationError) and cause.type in REFUSED_KINDS
            # As for the post itself (Delivery.gave_up): the last try's answer may have been
            # lost with the part live, so look before calling it missing.
            if not refused and await _landed_after_all(d, index):
                continue
            why = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
            await d.transition(
                TargetStatus.PARTIALLY_PUBLISHED,
                error=f"part {index} of {len(job.parts)} was not published: {why}",
            )
            return


async def _landed_after_all(d: Delivery, index: int) -> bool:
    try:
        found: bool = await workflow.execute_activity(
            PUBLISH_PART,
            PartRequest(target_id=d.job.target_id, index=index, look_only=True),
            result_type=bool,
            start_to_close_timeout=d.job.retry.start_to_close,
            retry_policy=publish_retry_policy(d.job.retry),
        )
    except ActivityError:
        return False  # the platform could not even be asked: missing, with its last error
    return found
