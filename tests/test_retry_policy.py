"""A tenant's retry policy: chosen per mode over the API, validated naming every problem, and
applied by the real activities on the time-skipping server (the waits between tries are read
off the server's clock, which moves only by the retry timers here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from activities.errors import charge
from api.main import create_app
from core.config import Settings
from core.models import Tenant
from core.retry_policy import RetryPolicyChoice, resolve
from core.status import TargetStatus
from providers.errors import RateLimitedError, TransientError
from tests.support.api import bearer
from tests.support.factories import add_key, make_tenant
from tests.support.harness import Harness

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(harness.settings, temporal=harness.env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


async def test_each_mode_chooses_its_own_policy_and_bad_ones_are_named(
    api: httpx.AsyncClient, harness: Harness
) -> None:
    tenant = await make_tenant(harness.db)
    live = await add_key(harness.db, tenant, test=False)
    default = (await api.get("/v1/retry-policy", headers=bearer(tenant.api_key))).json()["data"]
    assert default["choice"] is None and default["effective"]["max_attempts"] == 5

    chosen = await api.put(
        "/v1/retry-policy", headers=bearer(tenant.api_key), json={"preset": "leadmetrics"}
    )
    assert chosen.status_code == 200, chosen.text
    effective = chosen.json()["data"]["effective"]
    assert (effective["max_attempts"], effective["delays_seconds"]) == (4, [60, 300, 900])
    still = (await api.get("/v1/retry-policy", headers=bearer(live.api_key))).json()["data"]
    assert still["choice"] is None  # the live mode keeps its own

    bad = await api.put(
        "/v1/retry-policy",
        headers=bearer(tenant.api_key),
        json={"preset": "manual", "max_attempts": 3, "delays_seconds": [0]},
    )
    assert bad.status_code == 422
    text = bad.text
    assert "not both (delays_seconds, max_attempts)" in text and "from 1 to 86400" in text
    unknown = await api.put(
        "/v1/retry-policy", headers=bearer(tenant.api_key), json={"preset": "often"}
    )
    assert unknown.status_code == 422


async def _choose(harness: Harness, choice: dict[str, object]) -> None:
    """Every tenant made from now on in this test gets `choice` for its sandbox posts."""
    RetryPolicyChoice.model_validate(choice)
    async with harness.db.session() as session:
        for tenant in (await session.exec(select(Tenant))).all():
            tenant.sandbox_retry_policy = choice
            session.add(tenant)
        await session.commit()


async def test_the_seed_000_policy_tries_four_times_and_publishes(harness: Harness) -> None:
    await harness.inject(method="POST", path="/feed$", times=3, status=503, body={})
    target, handle = await harness.schedule(after=timedelta(hours=1))
    await _choose(harness, {"preset": "leadmetrics"})

    final = await handle.result()

    assert final.status == TargetStatus.PUBLISHED
    assert (await harness.target(target.id)).attempt_count == 4
    assert len(await harness.posts()) == 1


async def test_each_platform_error_is_charged_its_wait_and_the_last_is_final(
    harness: Harness,
) -> None:
    """The waits the activities hand Temporal (`next_retry_delay`) for seed 000's policy; the
    rate limit's own wait wins over the policy."""
    target, _ = await harness.schedule(after=timedelta(days=30))
    await _choose(harness, {"preset": "leadmetrics"})
    error = TransientError("HTTP 503", platform="facebook", maybe_sent=False)
    charged = [await charge(harness.db, harness.settings, target.id, error) for _ in range(4)]
    assert [c.next_retry_delay for c in charged[:3]] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
    ]
    assert [c.non_retryable for c in charged] == [False, False, False, True]

    await _choose(harness, {"max_attempts": 9})  # crier's backoff shape, more tries
    limited = RateLimitedError("slow down", platform="facebook", retry_after=timedelta(hours=2))
    waited = await charge(harness.db, harness.settings, target.id, limited)
    assert (waited.next_retry_delay, waited.non_retryable) == (timedelta(hours=2), False)


async def test_manual_tries_once_and_leaves_the_retry_to_a_person(harness: Harness) -> None:
    await harness.inject(method="POST", path="/feed$", times=1, status=503, body={})
    target, handle = await harness.schedule(after=timedelta(hours=1))
    await _choose(harness, {"preset": "manual"})

    final = await handle.result()

    assert final.status == TargetStatus.DEAD
    assert (await harness.target(target.id)).attempt_count == 1
    assert await harness.posts() == []


def test_crier_backoff_is_left_to_the_workflow_and_a_chosen_one_is_applied(
    settings: Settings,
) -> None:
    """crier's own backoff is the workflow's RetryPolicy (its input holds the intervals the
    delivery started with), so the activities add no wait; a tenant's own shape is applied."""
    for default in (None, RetryPolicyChoice(preset="crier"), RetryPolicyChoice(preset="softsolz")):
        assert resolve(default, settings).wait_after(1) is None
    shaped = resolve(
        RetryPolicyChoice(max_attempts=6, initial_interval_seconds=30, backoff=2), settings
    )
    assert [shaped.wait_after(n) for n in (1, 2, 3)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
    ]
    listed = resolve(RetryPolicyChoice(max_attempts=5, delays_seconds=[10, 20]), settings)
    assert [listed.wait_after(n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=10),
        timedelta(seconds=20),
        timedelta(seconds=20),
        timedelta(seconds=20),
    ]
