"""PublishTargetWorkflow on the time-skipping server, with real activities, a real SQLite file
and real HTTP to the sandbox."""

from __future__ import annotations

from datetime import timedelta

from core.status import AttemptOutcome, TargetStatus
from tests.support.harness import Harness
from workflows.publish_target import PublishTargetWorkflow


async def test_scheduled_30_days_ahead_publishes_at_its_time_and_not_before(
    harness: Harness,
) -> None:
    target, handle = await harness.schedule(after=timedelta(days=30))

    await harness.env.sleep(timedelta(days=30) - timedelta(minutes=1))
    state = await handle.query(PublishTargetWorkflow.status)
    assert state.status == TargetStatus.SCHEDULED
    assert await harness.posts() == []
    assert (await harness.target(target.id)).status == TargetStatus.SCHEDULED

    final = await handle.result()
    assert final.status == TargetStatus.PUBLISHED
    assert final.scheduled_for is not None and final.publish_started_at is not None
    assert final.publish_started_at >= final.scheduled_for
    assert final.publish_started_at - final.scheduled_for < timedelta(seconds=5)

    posts = await harness.posts()
    assert [p["text"] for p in posts] == ["Hello from a test"]
    stored = await harness.target(target.id)
    assert stored.status == TargetStatus.PUBLISHED
    assert stored.external_id == posts[0]["id"]
    assert stored.external_url == posts[0]["url"]
    assert stored.published_at is not None
    assert [a.outcome for a in await harness.attempts(target.id)] == [AttemptOutcome.CONFIRMED]
    await harness.keep_history(handle, "published_after_30_days")


async def test_publish_now_goes_out_at_once(harness: Harness) -> None:
    target, handle = await harness.schedule(after=None)
    final = await handle.result()
    assert final.status == TargetStatus.PUBLISHED
    assert len(await harness.posts()) == 1
    assert (await harness.target(target.id)).status == TargetStatus.PUBLISHED


async def test_a_5xx_is_retried_until_it_succeeds(harness: Harness) -> None:
    await harness.inject(method="POST", path="/feed$", times=2, status=503, body={})
    target, handle = await harness.schedule(after=None)

    final = await handle.result()

    assert final.status == TargetStatus.PUBLISHED
    assert len(await harness.posts()) == 1
    attempts = await harness.attempts(target.id)
    # A 5xx may come from a gateway after the platform acted: each was looked up before the
    # next try, and found missing.
    assert [a.outcome for a in attempts] == [
        AttemptOutcome.NOT_FOUND,
        AttemptOutcome.NOT_FOUND,
        AttemptOutcome.CONFIRMED,
    ]
    assert attempts[0].error_kind == "transient"
    assert (await harness.target(target.id)).attempt_count == 3
    await harness.keep_history(handle, "published_after_two_5xx")


async def test_a_content_error_is_not_retried_and_keeps_the_platform_message(
    harness: Harness,
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
    await harness.inject(method="POST", path="/feed$", times=5, status=400, body=refusal)
    target, handle = await harness.schedule(after=None)

    final = await handle.result()

    assert final.status == TargetStatus.FAILED
    assert final.error is not None and "The link could not be scraped" in final.error
    assert await harness.posts() == []
    stored = await harness.target(target.id)
    assert stored.status == TargetStatus.FAILED
    assert stored.attempt_count == 1
    assert stored.last_error is not None and "The link could not be scraped" in stored.last_error
    assert "100/1609005" in stored.last_error
    await harness.keep_history(handle, "failed_on_content_error")


async def test_an_invalid_token_fails_at_once_without_retry(harness: Harness) -> None:
    target, handle = await harness.schedule(after=None, token="sbx_forged.token")

    final = await handle.result()

    assert final.status == TargetStatus.FAILED
    assert final.error is not None and "Error validating access token" in final.error
    assert (await harness.target(target.id)).attempt_count == 1
    assert await harness.posts() == []


async def test_transient_errors_that_outlast_every_retry_end_dead(harness: Harness) -> None:
    await harness.inject(method="POST", path="/feed$", times=50, status=500, body={})
    target, handle = await harness.schedule(after=None)

    final = await handle.result()

    assert final.status == TargetStatus.DEAD
    stored = await harness.target(target.id)
    assert stored.status == TargetStatus.DEAD
    assert stored.attempt_count == harness.settings.publish_max_attempts
    assert await harness.posts() == []
    await harness.keep_history(handle, "dead_after_retries")


async def test_a_rate_limit_waits_for_the_reset_the_platform_announced(harness: Harness) -> None:
    usage = (
        '{"200000000000001":[{"type":"pages","call_count":100,'
        '"estimated_time_to_regain_access":42}]}'
    )
    throttled = {"error": {"message": "(#32) Page request limit reached", "code": 32}}
    await harness.inject(
        method="POST",
        path="/feed$",
        times=1,
        status=400,
        body=throttled,
        headers={"X-Business-Use-Case-Usage": usage},
    )
    started = await harness.env.get_current_time()
    target, handle = await harness.schedule(after=None)

    final = await handle.result()

    assert final.status == TargetStatus.PUBLISHED
    attempts = await harness.attempts(target.id)
    assert [a.error_kind for a in attempts] == ["rate_limited", None]
    # The retry came after Graph's announced 42 minutes, not the 1-minute transient backoff.
    assert await harness.env.get_current_time() - started >= timedelta(minutes=42)
