"""Sending one Update to the workflows of several targets, and reading their refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import async_object_session
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from api.errors import ApiError, problem
from api.services.scheduling import TargetHandle
from core.messages.delivery import REFUSED_INVALID, TargetState
from core.models import Target
from core.post_status import refresh_post_status
from core.status import PENDING_STATUSES, TargetStatus
from workflows.publish_target import PublishTargetWorkflow


@dataclass(frozen=True)
class Refusal:
    target_id: str
    invalid: bool  # 422 (the request is wrong) rather than 409 (the target has moved on)
    message: str


Send = Callable[[Client, str], Awaitable[TargetState]]
Arg = TypeVar("Arg")


def _handle(temporal: Client, workflow_id: str) -> TargetHandle:
    return temporal.get_workflow_handle_for(PublishTargetWorkflow.run, workflow_id)


def update(method: UpdateMethodMultiParam[[PublishTargetWorkflow], TargetState]) -> Send:
    """An Update of PublishTargetWorkflow that takes no argument (`PublishTargetWorkflow.cancel`),
    waiting for its result. A method, not its name: a renamed Update fails the type check
    rather than a request."""

    async def send(temporal: Client, workflow_id: str) -> TargetState:
        return await _handle(temporal, workflow_id).execute_update(method)

    return send


def update_with(
    method: UpdateMethodMultiParam[[PublishTargetWorkflow, Arg], TargetState], arg: Arg
) -> Send:
    """An Update of PublishTargetWorkflow with its argument, checked against the method's."""

    async def send(temporal: Client, workflow_id: str) -> TargetState:
        return await _handle(temporal, workflow_id).execute_update(method, arg)

    return send


def _refusal(target: Target, error: BaseException) -> Refusal:
    if isinstance(error, TimeoutError):
        raise ApiError(
            503,
            "workflow_unresponsive",
            f"the workflow of target {target.id} did not answer in time (is a worker running?); "
            "the request may still take effect when it does",
        )
    if isinstance(error, WorkflowUpdateFailedError) and isinstance(error.cause, ApplicationError):
        return Refusal(target.id, error.cause.type == REFUSED_INVALID, error.cause.message)
    if isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND:
        return Refusal(target.id, False, f"the target is {target.status}: its workflow has ended")
    raise error


# Long enough for a workflow to record its change; short enough that a caller is not left
# hanging when no worker is polling.
UPDATE_TIMEOUT_SECONDS = 30.0


async def _release_connection(targets: Sequence[Target]) -> None:
    """End the targets' session's transaction, so its pooled connection goes back to the pool
    for the Updates' wait (up to UPDATE_TIMEOUT_SECONDS) rather than being held through it
    (S5); the session takes one again when it next reads. Its objects stay loaded
    (expire_on_commit=False).

    A commit, not a rollback, which would drop what the request has changed so far: every
    caller steers before it writes, so nothing is pending here but a read."""
    sessions = {id(s): s for t in targets if (s := async_object_session(t)) is not None}
    for session in sessions.values():
        await session.commit()


async def steer(
    *, temporal: Client, targets: Sequence[Target], send: Send
) -> tuple[dict[str, TargetState], list[Refusal]]:
    """Send to every target's workflow at once: the states of those that took it (by target
    id), and the refusals. The targets' session holds no connection while they answer."""
    await _release_connection(targets)
    results = await asyncio.gather(
        *(
            asyncio.wait_for(send(temporal, t.workflow_id or ""), UPDATE_TIMEOUT_SECONDS)
            for t in targets
        ),
        return_exceptions=True,
    )
    done: dict[str, TargetState] = {}
    refused: list[Refusal] = []
    for target, result in zip(targets, results, strict=True):
        if isinstance(result, BaseException):
            refused.append(_refusal(target, result))
        else:
            done[target.id] = result
    return done, refused


async def wait_for_runs_to_end(*, temporal: Client, targets: Sequence[Target]) -> None:
    """Until each target's current run has ended (after an update that ends it), so a new run
    may start under the same id."""
    await asyncio.gather(
        *(
            asyncio.wait_for(
                _handle(temporal, t.workflow_id or "").result(), UPDATE_TIMEOUT_SECONDS
            )
            for t in targets
        )
    )


def raise_refusals(refused: Sequence[Refusal], *, action: str) -> None:
    """Every refusal becomes one detail of a 422 (if any request was wrong) or a 409."""
    if not refused:
        return
    status = 422 if any(r.invalid for r in refused) else 409
    details = [problem(["targets", r.target_id], r.message) for r in refused]
    raise ApiError(
        status,
        "invalid_request" if status == 422 else "conflict",
        f"could not {action} {len(refused)} target(s)",
        details,
    )


async def cancel_unsent(
    *, session: AsyncSession, temporal: Client, post_id: str, targets: Sequence[Target]
) -> tuple[int, list[Refusal]]:
    """Cancel every target of a post that has not gone out: waiting ones through their
    workflows (which confirm nothing will be sent), drafts directly. Commits; returns how many
    were cancelled and what was refused."""
    waiting = [t for t in targets if t.status in PENDING_STATUSES - {TargetStatus.DRAFT}]
    drafts = [t for t in targets if t.status == TargetStatus.DRAFT]
    done, refused = await steer(
        temporal=temporal, targets=waiting, send=update(PublishTargetWorkflow.cancel)
    )
    for target in drafts:
        target.status = TargetStatus.CANCELLED
        target.last_error = "cancelled"
        session.add(target)
    await refresh_post_status(session, post_id)
    await session.commit()
    return len(done) + len(drafts), refused
