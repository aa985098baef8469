"""PublishTargetWorkflow on the time-skipping server, with real activities, a real SQLite file
and real HTTP to the sandbox."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.scheduling import schedule_targets
from cli.worker import worker_for
from core.config import Settings
from core.db import Database
from core.messages import TargetState
from core.models import Attempt, Target
from core.status import TargetStatus
from tests.support.factories import make_facebook_page, make_post, make_tenant, reload_target
from workflows.publish_target import PublishTargetWorkflow

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def worker(
    time_skipping_env: WorkflowEnvironment, settings: Settings, db: Database
) -> AsyncIterator[Worker]:
    async with worker_for(time_skipping_env.client, settings) as built, built:
        yield built


async def schedule(
    env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    *,
    after: timedelta | None,
    body: str = "Hello from a test",
    token: str | None = None,
) -> tuple[Target, WorkflowHandle[PublishTargetWorkflow, TargetState]]:
    tenant = await make_tenant(db)
    account = await make_facebook_page(db, settings, tenant, token=token)
    post, target = await make_post(db, tenant, account, body=body)
    due = None if after is None else await env.get_current_time() + after
    async with db.session() as session:
        session.add(post)
        session.add(target)
        # The handle start_workflow returns is the one whose result() lets time skip.
        [handle] = await schedule_targets(session, env.client, settings, post, [target], due=due)
    return target, handle


HISTORIES = Path(__file__).parent / "histories"


async def keep_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With CRIER_RECORD_HISTORIES=1, save this run's history for the replay tests.

    Re-record only on purpose: a saved history is the promise that workflows already running
    in production still replay after a change.
    """
    if os.environ.get("CRIER_RECORD_HISTORIES") == "1":
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())


async def sandbox_posts(sandbox_http: httpx.AsyncClient) -> list[dict[str, object]]:
    response = await sandbox_http.get("/_control/posts", params={"platform": "facebook"})
    posts: list[dict[str, object]] = response.json()["data"]
    return posts


async def attempts_of(db: Database, target_id: str) -> list[Attempt]:
    async with db.session() as session:
        rows = await session.exec(
            select(Attempt).where(Attempt.target_id == target_id).order_by(col(Attempt.number))
        )
        return list(rows.all())


async def inject(sandbox_http: httpx.AsyncClient, **fault: object) -> None:
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()


async def test_scheduled_30_days_ahead_publishes_at_its_time_and_not_before(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    worker: Worker,
    sandbox_http: httpx.AsyncClient,
) -> None:
    target, handle = await schedule(time_skipping_env, settings, db, after=timedelta(days=30))

    await time_skipping_env.sleep(timedelta(days=30) - timedelta(minutes=1))
    state = await handle.query(PublishTargetWorkflow.status)
    assert state.status == TargetStatus.SCHEDULED
    assert await sandbox_posts(sandbox_http) == []
    assert (await reload_target(db, target.id)).status == TargetStatus.SCHEDULED

    final = await handle.result()
    assert final.status == TargetStatus.PUBLISHED
    assert final.scheduled_for is not None and final.publish_started_at is not None
    assert final.publish_started_at >= final.scheduled_for
    assert final.publish_started_at - final.scheduled_for < timedelta(seconds=5)

    posts = await sandbox_posts(sandbox_http)
    assert [p["text"] for p in posts] == ["Hello from a test"]
    stored = await reload_target(db, target.id)
    assert stored.status == TargetStatus.PUBLISHED
    assert stored.external_id == posts[0]["id"]
    assert stored.external_url == posts[0]["url"]
    assert stored.published_at is not None
    assert [a.outcome for a in await attempts_of(db, target.id)] == ["confirmed"]
    await keep_history(handle, "published_after_30_days")


async def test_publish_now_goes_out_at_once(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    worker: Worker,
    sandbox_http: httpx.AsyncClient,
) -> None:
    target, handle = await schedule(time_skipping_env, settings, db, after=None)
    final = await handle.result()
    assert final.status == TargetStatus.PUBLISHED
    assert len(await sandbox_posts(sandbox_http)) == 1
    assert (await reload_target(db, target.id)).status == TargetStatus.PUBLISHED


async def test_a_5xx_is_retried_until_it_succeeds(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    worker: Worker,
    sandbox_http: httpx.AsyncClient,
) -> None:
    await inject(sandbox_http, method="POST", path="/feed$", times=2, status=503, body={})
    target, handle = await schedule(time_skipping_env, settings, db, after=None)

    final = await handle.result()

    assert final.status == TargetStatus.PUBLISHED
    assert len(await sandbox_posts(sandbox_http)) == 1
    attempts = await attempts_of(db, target.id)
    assert [a.outcome for a in attempts] == ["failed", "failed", "confirmed"]
    assert attempts[0].error_kind == "transient"
    assert (await reload_target(db, target.id)).attempt_count == 3
    await keep_history(handle, "published_after_two_5xx")


async def test_a_content_error_is_not_retried_and_keeps_the_platform_message(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    worker: Worker,
    sandbox_http: httpx.AsyncClient,
) -> None:
    refusal = {
        "error": {
            "message": "(#100) The link could not be scraped",
            "type": "OAuthException",
            "code": 100,
            "error_subcode": 1609005,
            "fbtrace_id": "Atest",
        }
    }
    await inject(sandbox_http, method="POST", path="/feed$", times=5, status=400, body=refusal)
    target, handle = await schedule(time_skipping_env, settings, db, after=None)

    final = await handle.result()

    assert final.status == TargetStatus.FAILED
    assert final.error is not None and "The link could not be scraped" in final.error
    assert await sandbox_posts(sandbox_http) == []
    stored = await reload_target(db, target.id)
    assert stored.status == TargetStatus.FAILED
    assert stored.attempt_count == 1
    assert stored.last_error is not None and "The link could not be scraped" in stored.last_error
    assert "100/1609005" in stored.last_error
    await keep_history(handle, "failed_on_content_error")


async def test_an_invalid_token_fails_at_once_without_retry(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    worker: Worker,
    sandbox_http: httpx.AsyncClient,
) -> None:
    target, handle = await schedule(
        time_skipping_env, settings, db, after=None, token="sbx_forged.token"
    )

    final = await handle.result()

    assert final.status == TargetStatus.FAILED
    assert final.error is not None and "Error validating access token" in final.error
    assert (await reload_target(db, target.id)).attempt_count == 1
    assert await sandbox_posts(sandbox_http) == []


async def test_transient_errors_that_outlast_every_retry_end_dead(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    worker: Worker,
    sandbox_http: httpx.AsyncClient,
) -> None:
    await inject(sandbox_http, method="POST", path="/feed$", times=50, status=500, body={})
    target, handle = await schedule(time_skipping_env, settings, db, after=None)

    final = await handle.result()

    assert final.status == TargetStatus.DEAD
    stored = await reload_target(db, target.id)
    assert stored.status == TargetStatus.DEAD
    assert stored.attempt_count == settings.publish_max_attempts
    assert await sandbox_posts(sandbox_http) == []
    await keep_history(handle, "dead_after_retries")


async def test_a_rate_limit_waits_for_the_reset_the_platform_announced(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    worker: Worker,
    sandbox_http: httpx.AsyncClient,
) -> None:
    usage = (
        '{"200000000000001":[{"type":"pages","call_count":100,'
        '"estimated_time_to_regain_access":42}]}'
    )
    throttled = {"error": {"message": "(#32) Page request limit reached", "code": 32}}
    await inject(
        sandbox_http,
        method="POST",
        path="/feed$",
        times=1,
        status=400,
        body=throttled,
        headers={"X-Business-Use-Case-Usage": usage},
    )
    started = await time_skipping_env.get_current_time()
    target, handle = await schedule(time_skipping_env, settings, db, after=None)

    final = await handle.result()

    assert final.status == TargetStatus.PUBLISHED
    assert final.publish_started_at is not None
    attempts = await attempts_of(db, target.id)
    assert [a.error_kind for a in attempts] == ["rate_limited", None]
    # The retry came after Graph's announced 42 minutes, not the 1-minute transient backoff.
    finished = await time_skipping_env.get_current_time()
    assert finished - started >= timedelta(minutes=42)
