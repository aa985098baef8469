"""Fixtures that several API test modules define alike, made for each module as
tests.support.reconcile's are: `api = api_fixture()` at module level."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import Database
from tests.support.api import api_client
from tests.support.factories import TenantFixture, make_tenant

if TYPE_CHECKING:
    from _pytest.fixtures import FixtureFunctionDefinition


def api_fixture() -> FixtureFunctionDefinition:
    """An `api` fixture: the API over ASGI on the test's database, with the time-skipping
    Temporal server as its client."""

    @pytest.fixture
    async def api(
        settings: Settings, db: Database, time_skipping_env: WorkflowEnvironment
    ) -> AsyncIterator[httpx.AsyncClient]:
        async with api_client(settings, time_skipping_env.client) as client:
            yield client

    return api


def tenant_fixture() -> FixtureFunctionDefinition:
    """A `tenant` fixture: a new tenant in the test's database, with its API key."""

    @pytest.fixture
    async def tenant(db: Database) -> TenantFixture:
        return await make_tenant(db)

    return tenant
