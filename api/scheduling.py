"""Scheduling targets: write the intent to the database, then start one workflow per target."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.errors import ApiError
from core.config import Settings
from core.db import utcnow
from core.messages import PublishTargetInput, RetrySettings, TargetState
from core.models import Account, Post, Target
from core.status import TargetStatus
from core.temporal import (
    SA_PLATFORM,
    SA_POST_ID,
    SA_SCHEDULED_FOR,
    SA_STATUS,
    SA_TENANT,
    workflow_id_for_target,
)
from workflows.publish_target import PublishTargetWorkflow

log = logging.getLogger(__name__)

TargetHandle = WorkflowHandle[PublishTargetWorkflow, TargetState]


def retry_settings(settings: Settings) -> RetrySettings:
    return RetrySettings(
        max_attempts=settings.publish_max_attempts,
        initial_interval=settings.publish_initial_interval,
        backoff=settings.publish_backoff,
        max_interval=settings.publish_max_interval,
        start_to_close=settings.publish_start_to_close,
    )


async def start_target_workflow(
    client: Client,
    settings: Settings,
    target: Target,
    account: Account,
    due: datetime,
    *,
    now: bool,
) -> TargetHandle:
    """Start the target's workflow. Raises WorkflowAlreadyStartedError if it already has one."""
    job = PublishTargetInput(
        target_id=target.id,
        post_id=target.post_id,
        tenant_id=target.tenant_id,
        account_id=target.account_id,
        platform=target.platform,
        scheduled_for=None if now else due,
        retry=retry_settings(settings),
    )
    return await client.start_workflow(
        PublishTargetWorkflow.run,
        job,
        id=workflow_id_for_target(target.id),
        task_queue=settings.task_queue,
        # One workflow per target, ever: a target can never be published by two workflows.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SA_TENANT, target.tenant_id),
                SearchAttributePair(SA_PLATFORM, target.platform.value),
                SearchAttributePair(SA_STATUS, TargetStatus.SCHEDULED.value),
                SearchAttributePair(SA_POST_ID, target.post_id),
                SearchAttributePair(SA_SCHEDULED_FOR, due),
            ]
        ),
        static_summary=f"Post {target.post_id} to {target.platform} · {account.display_name}",
    )


async def start_all(
    client: Client,
    settings: Settings,
    pairs: list[tuple[Target, Account]],
    due: datetime,
    *,
    now: bool,
) -> tuple[list[TargetHandle], dict[str, BaseException]]:
    """Start every target's workflow concurrently: the handles, and the errors by target id."""
    results = await asyncio.gather(
        *(start_target_workflow(client, settings, t, a, due, now=now) for t, a in pairs),
        return_exceptions=True,
    )
    handles: list[TargetHandle] = []
    failures: dict[str, BaseException] = {}
    for (target, _), result in zip(pairs, results, strict=True):
        if isinstance(result, WorkflowAlreadyStartedError):
            # Already has its workflow: nothing lost, nothing doubled.
            handles.append(
                client.get_workflow_handle_for(PublishTargetWorkflow.run, result.workflow_id)
            )
        elif isinstance(result, BaseException):
            log.warning("could not start the workflow of target %s: %r", target.id, result)
            failures[target.id] = result
        else:
            handles.append(result)
    return handles, failures


async def schedule_targets(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    post: Post,
    targets: list[Target],
    *,
    due: datetime | None,
) -> list[TargetHandle]:
    """Schedule `targets` of `post` for `due` (None: now); return their workflows' handles.

    The intent is committed before any workflow starts, so a crash between the two leaves a row
    that says what was meant, never a workflow the database does not know about. Targets whose
    workflow could not be started go back to draft, and the caller gets a 503 it may retry.
    """
    now = utcnow()
    due = due.astimezone(UTC) if due is not None else None
    for target in targets:
        target.status = TargetStatus.SCHEDULED
        target.scheduled_for = due or now
        target.workflow_id = workflow_id_for_target(target.id)
        target.updated_at = now
        session.add(target)
    post.scheduled_for = due or now
    post.updated_at = now
    session.add(post)
    await session.commit()

    found = await session.exec(
        select(Account).where(col(Account.id).in_([t.account_id for t in targets]))
    )
    accounts = {a.id: a for a in found.all()}
    handles, failures = await start_all(
        client,
        settings,
        [(t, accounts[t.account_id]) for t in targets],
        due or now,
        now=due is None,
    )
    failed = [t for t in targets if t.id in failures]
    if not failed:
        return handles
    for target in failed:
        target.status = TargetStatus.DRAFT
        target.workflow_id = None
        session.add(target)
    await session.commit()
    unexpected = [e for e in failures.values() if not isinstance(e, RPCError)]
    if unexpected:
        raise unexpected[0]  # a bug, not an outage: let it surface as one
    raise ApiError(
        503,
        "temporal_unavailable",
        f"{len(failed)} of {len(targets)} target(s) could not be scheduled; they are drafts "
        "again, so retrying the request is safe",
    )
