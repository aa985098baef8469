"""Starting one PublishTargetWorkflow per target."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.config import Settings
from core.messages import PublishTargetInput, RetrySettings
from core.models import Account, Target
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
) -> None:
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
    await client.start_workflow(
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
) -> dict[str, BaseException | None]:
    """Start every target's workflow concurrently; map target id → the error, if any."""
    results = await asyncio.gather(
        *(start_target_workflow(client, settings, t, a, due, now=now) for t, a in pairs),
        return_exceptions=True,
    )
    outcome: dict[str, BaseException | None] = {}
    for (target, _), result in zip(pairs, results, strict=True):
        if isinstance(result, WorkflowAlreadyStartedError):
            outcome[target.id] = None  # already running: nothing lost, nothing doubled
        elif isinstance(result, BaseException):
            log.warning("could not start the workflow of target %s: %r", target.id, result)
            outcome[target.id] = result
        else:
            outcome[target.id] = None
    return outcome
