"""`/readyz` is 200 only when the database answers, Temporal answers and a worker polls the
task queue; otherwise 503 naming what failed. `/healthz` is the process alone."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.worker import worker_for
from core.config import Settings
from core.db import Database
from tests.support.api import api_client
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


async def test_ready_when_database_temporal_and_a_worker_answer(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database
) -> None:
    async with (
        worker_for(dev_env.client, settings) as worker,
        worker,
        api_client(settings, dev_env.client) as api,
    ):
        # A new worker's first polls reach the server a moment after it starts.
        for _ in range(100):
            ready = await api.get("/readyz")
            if ready.status_code == 200:
                break
            await asyncio.sleep(0.1)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        "database": "ok",
        "temporal": "ok",
        "workflow_worker": "ok",
        "activity_worker": "ok",
        "fire_worker": "ok",
    }


async def test_not_ready_when_no_worker_polls(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database
) -> None:
    async with api_client(settings, dev_env.client) as api:
        answer = await api.get("/readyz")
        health = await api.get("/healthz")
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"] == "ok" and checks["temporal"] == "ok"
    assert checks["workflow_worker"] == f"no worker polls task queue {settings.task_queue}"
    assert health.status_code == 200  # the process itself is fine


async def test_not_ready_when_temporal_is_unreachable(settings: Settings, db: Database) -> None:
    nowhere = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    async with api_client(nowhere, None) as api:
        answer = await api.get("/readyz")
        health = await api.get("/healthz")
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["temporal"] == f"unreachable at {nowhere.temporal_address}"
    assert health.status_code == 200


async def test_not_ready_when_the_database_is_unreachable(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    gone = settings.model_copy(
        update={"database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/crier"}
    )
    async with api_client(gone, dev_env.client) as api:
        answer = await api.get("/readyz")
        health = await api.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"].startswith("unreachable")
    assert health.status_code == 200
