"""The token-health schedule: created once however many workers start, every 6 hours, and a
run that refreshes tokens about to expire, expires accounts whose token stopped working, and
leaves healthy ones alone."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from cli.schedules import TOKEN_HEALTH_SCHEDULE_ID, ensure_schedules
from core.config import Settings
from core.db import utcnow
from core.models import Account, Notification
from core.status import AccountStatus, Platform
from core.vault import Vault
from providers.connect.stored import tokens_of
from sandbox.tokens import issue_token
from tests.support.events import events_of
from tests.support.factories import make_account, make_tenant
from tests.support.harness import Harness
from tests.test_token_refresh import granted_x_account
from workflows.token_health import TokenHealthWorkflow


async def test_a_health_run_refreshes_expires_and_leaves_healthy_accounts_alone(
    harness: Harness,
) -> None:
    tenant = await make_tenant(harness.db)
    secret = harness.settings.sandbox_secret.get_secret_value()
    healthy = await make_account(harness.db, harness.settings, tenant, Platform.FACEBOOK, "501")
    dead_token = issue_token(secret, "facebook", "502", expires_at=int(time.time()) - 60)
    dead = await make_account(
        harness.db, harness.settings, tenant, Platform.FACEBOOK, "502", token=dead_token
    )
    async with httpx.AsyncClient(timeout=10) as http:
        granted = await granted_x_account(http, harness.settings)
    soon = await make_account(
        harness.db,
        harness.settings,
        tenant,
        Platform.X,
        granted.external_id,
        token=granted.tokens.access_token,
        refresh_token=granted.tokens.refresh_token,
        expires_at=utcnow() + timedelta(days=2),  # inside the 7-day refresh window
    )
    gone = await make_account(harness.db, harness.settings, tenant, Platform.FACEBOOK, "503")
    async with harness.db.session() as session:
        row = await session.get(Account, gone.id)
        assert row is not None
        row.status = AccountStatus.DISCONNECTED
        session.add(row)
        await session.commit()

    report = await harness.env.client.execute_workflow(
        TokenHealthWorkflow.run, id=f"health-{uuid.uuid4()}", task_queue=harness.settings.task_queue
    )

    assert (report.checked, report.healthy, report.refreshed, report.expired) == (3, 1, 1, 1)
    async with harness.db.session() as session:
        rows = {a.id: a for a in (await session.exec(select(Account))).all()}
        notes = (await session.exec(select(Notification))).all()
    assert rows[healthy.id].status == AccountStatus.ACTIVE
    assert rows[dead.id].status == AccountStatus.EXPIRED
    assert rows[dead.id].access_token_enc is None
    assert rows[gone.id].status == AccountStatus.DISCONNECTED
    fresh = tokens_of(rows[soon.id], Vault.from_settings(harness.settings))
    assert fresh is not None and fresh.refresh_token != granted.tokens.refresh_token
    assert rows[soon.id].token_expires_at is not None
    assert [n.kind for n in notes] == ["token_expired"]
    assert dead.display_name in notes[0].message
    [expired] = await events_of(harness.db, dead.tenant_id)
    assert expired.type == "social.token_expired"
    assert expired.data["account_id"] == dead.id and "no longer works" in expired.data["reason"]


@pytest.mark.e2e
async def test_the_schedule_is_created_once_runs_every_6_hours_and_follows_settings(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    # Several workers starting at once, then a restart: one schedule, no error.
    await ensure_schedules(client, settings)
    await ensure_schedules(client, settings)
    handle = client.get_schedule_handle(TOKEN_HEALTH_SCHEDULE_ID)
    described = await handle.describe()
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=6)]
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "TokenHealthWorkflow"
    assert action.task_queue == settings.task_queue

    hourly = settings.model_copy(update={"token_health_interval": timedelta(hours=1)})
    await ensure_schedules(client, hourly)
    described = await handle.describe()
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=1)]
    await handle.delete()
