"""Rate limits per API key and per tenant (S5): a key hammering the API gets 429s while other
tenants are served, the counts are shared between API processes through Redis, and a Redis
outage leaves each process counting on its own."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from pydantic import ValidationError

from core.config import Settings
from core.db import Database
from tests.support.api import api_client, bearer
from tests.support.factories import add_key, make_tenant
from tests.support.servers import free_port

# On this machine and in CI (the Makefile's test target starts none: it is a service there).
REDIS = "redis://127.0.0.1:6379/0"


def limited(settings: Settings, **limits: str) -> Settings:
    """These settings with their own rate limits, counted under a prefix of this test's own."""
    return settings.model_copy(
        update={"rate_limit_key_prefix": f"crier-test-{uuid.uuid4()}", **limits}
    )


async def accounts(api: httpx.AsyncClient, key: str) -> httpx.Response:
    return await api.get("/v1/accounts", headers=bearer(key))


async def test_a_key_hammering_gets_429s_while_another_tenant_is_served(
    settings: Settings, db: Database
) -> None:
    settings = limited(settings, rate_limit_per_key="5/minute", rate_limit_per_tenant="50/minute")
    hammer, other = await make_tenant(db), await make_tenant(db)
    async with api_client(settings, None) as api:
        served = [await accounts(api, hammer.api_key) for _ in range(5)]
        assert [r.status_code for r in served] == [200] * 5
        assert [r.headers["RateLimit-Remaining"] for r in served] == ["4", "3", "2", "1", "0"]
        assert {r.headers["RateLimit-Limit"] for r in served} == {"5"}

        refused = [await accounts(api, hammer.api_key) for _ in range(20)]
        assert {r.status_code for r in refused} == {429}
        error = refused[0].json()["error"]
        assert error["code"] == "rate_limited"
        assert "API key's rate limit (5 requests per minute)" in error["message"]
        assert 1 <= int(refused[0].headers["Retry-After"]) <= 60
        assert refused[0].headers["RateLimit-Remaining"] == "0"
        assert 1 <= int(refused[0].headers["RateLimit-Reset"]) <= 60

        # Another tenant's key is served as if nothing happened.
        for _ in range(5):
            fine = await accounts(api, other.api_key)
            assert fine.status_code == 200, fine.text


async def test_a_tenants_keys_share_the_tenants_limit(settings: Settings, db: Database) -> None:
    settings = limited(settings, rate_limit_per_key="50/minute", rate_limit_per_tenant="3/minute")
    first = await make_tenant(db)
    second = await add_key(db, first)
    other = await make_tenant(db)
    async with api_client(settings, None) as api:
        for key in (first, first, second):
            assert (await accounts(api, key.api_key)).status_code == 200
        refused = await accounts(api, second.api_key)
        assert refused.status_code == 429
        assert "tenant's rate limit (3 requests per minute)" in refused.json()["error"]["message"]
        assert "Retry-After" in refused.headers
        assert (await accounts(api, other.api_key)).status_code == 200


async def test_two_api_processes_count_together_in_redis(settings: Settings, db: Database) -> None:
    settings = limited(
        settings,
        rate_limit_per_key="4/minute",
        rate_limit_per_tenant="50/minute",
        rate_limit_storage=REDIS,
    )
    # About counting together, not about the store's speed: a loaded machine once took more
    # than the default 0.5 s to connect, and the process then counted on its own (fail-open,
    # tested apart).
    settings = settings.model_copy(update={"rate_limit_storage_timeout_seconds": 10.0})
    tenant = await make_tenant(db)
    async with api_client(settings, None) as one, api_client(settings, None) as two:
        answers = [await accounts(api, tenant.api_key) for api in (one, two, one, two)]
        assert [a.status_code for a in answers] == [200] * 4
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["3", "2", "1", "0"]
        # Each process alone has served two: only a shared count refuses the fifth.
        assert (await accounts(one, tenant.api_key)).status_code == 429
        assert (await accounts(two, tenant.api_key)).status_code == 429


async def test_with_redis_down_each_process_counts_alone_and_says_so(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    settings = limited(
        settings,
        rate_limit_per_key="2/minute",
        rate_limit_per_tenant="50/minute",
        rate_limit_storage=nobody,
    )
    tenant = await make_tenant(db)
    caplog.set_level(logging.WARNING, logger="api.rate_limits")
    async with api_client(settings, None) as api:
        answers = [await accounts(api, tenant.api_key) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    warnings = [r for r in caplog.records if "rate-limit store did not answer" in r.message]
    assert len(warnings) == 1, "said once, not on every request"


def test_a_rate_that_means_nothing_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="a rate is a count per period"):
        Settings(env="test", rate_limit_per_key="lots")
    assert Settings(env="test", rate_limit_per_tenant="20/second;600/minute")
