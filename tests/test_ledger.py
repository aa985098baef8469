"""The ledger's last line: when publishing gives up, the workflow looks once more before it
calls the target dead, so a post that went out on a try whose answer was lost is recorded, not
abandoned (and never posted twice). And a person's retry of an `unconfirmed` target posts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import col, select
from temporalio.exceptions import ApplicationError

from activities.ledger import Ledger
from activities.publishing import ERROR_EARLIER_TRY, PublishActivities
from core.config import Settings
from core.db import Database
from core.models import Attempt
from core.status import AttemptOutcome, Platform, TargetMode
from core.status import TargetStatus as S
from core.vault import Vault
from providers.base import Credentials, PostContent, Preparation
from providers.facebook import FacebookProvider
from providers.registry import base_url
from tests.support.api import api_client, bearer
from tests.support.events import events_of
from tests.support.factories import make_facebook_page, make_post, make_tenant
from tests.support.harness import Harness
from tests.support.media import loopback_fetcher


async def test_a_post_made_before_retries_ran_out_is_found_not_called_dead(
    harness: Harness,
) -> None:
    # The first try posts and loses its answer; every later try fails while looking for it
    # (the Page's post list answers 503) until the retries are spent.
    await harness.inject(method="POST", path="/feed$", accept_then_drop=True, times=1)
    await harness.inject(method="GET", path="/published_posts$", status=503, times=4)
    target, handle = await harness.schedule(after=None, body="Found at the very end")

    final = await handle.result()

    assert final.status == S.PUBLISHED
    assert S.DEAD not in final.transitions
    [post] = await harness.posts()
    assert (await harness.target(target.id)).external_id == post["id"]
    assert [a.outcome for a in await harness.attempts(target.id)] == [AttemptOutcome.FOUND]
    await harness.keep_history(handle, "found_after_retries_ran_out")


async def test_a_target_whose_retries_ran_out_and_that_never_landed_is_dead(
    harness: Harness,
) -> None:
    await harness.inject(method="POST", path="/feed$", status=503, times=5)
    target, handle = await harness.schedule(after=None, body="Never landed")

    final = await handle.result()

    assert final.status == S.DEAD
    assert await harness.posts() == []
    outcomes = [a.outcome for a in await harness.attempts(target.id)]
    # The last one too was looked for, and is not there.
    assert outcomes == [AttemptOutcome.NOT_FOUND] * 5
    await harness.keep_history(handle, "dead_after_lookup")


async def test_retrying_an_unconfirmed_target_posts_once(harness: Harness) -> None:
    tenant = await make_tenant(harness.db)
    page = await make_facebook_page(harness.db, harness.settings, tenant)
    post, target = await make_post(harness.db, tenant, page, body="Kept", mode=TargetMode.DRAFT)
    # A 503 on a draft: it may have been saved, and unpublished drafts cannot be looked up.
    await harness.inject(method="POST", path="/feed$", status=503, times=1)
    handle = await harness.start(post, target)
    assert (await handle.result()).status == S.UNCONFIRMED
    assert await harness.posts() == []
    # Told as unconfirmed, not as failed: a receiver that reposts failures must not repost.
    [told] = await events_of(harness.db, tenant.tenant_id)
    assert told.type == "social.post_unconfirmed" and told.data["status"] == "unconfirmed"

    # The person looked at the Page, found no draft, and retries: the lost attempt is let go
    # and the draft is made, once.
    async with api_client(harness.settings, harness.env.client) as api:
        retried = await api.post(f"/v1/targets/{target.id}/retry", headers=bearer(tenant.api_key))
    assert retried.status_code == 202, retried.text
    assert (await harness.result(f"target-{target.id}")).status == S.DRAFTED
    outcomes = [a.outcome for a in await harness.attempts(target.id)]
    assert outcomes == [AttemptOutcome.ABANDONED, AttemptOutcome.CONFIRMED]
    assert len(await harness.posts()) == 1


async def test_a_try_that_may_still_be_sending_is_waited_for_before_looking(
    settings: Settings, db: Database, sandbox_http: httpx.AsyncClient
) -> None:
    """Temporal starts a new try when one times out, even if that one is still running. The
    new try must not look (and, finding nothing, post) while the old one may still send."""
    quick = settings.model_copy(update={"publish_call_budget": timedelta(seconds=1)})
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, quick, tenant)
    _, target = await make_post(db, tenant, page, body="Sent late by a slow try")
    content = PostContent(text="Sent late by a slow try")
    # The old try: its attempt is written, its call has not left yet.
    await Ledger(db).open(target.id, content, budget=quick.publish_call_budget)

    async with httpx.AsyncClient(timeout=10) as http:
        vault = Vault.from_settings(quick)
        activities = PublishActivities(
            db=db, http=http, media=loopback_fetcher(), vault=vault, settings=quick
        )
        token = vault.decrypt(page.access_token_enc or "")
        provider = FacebookProvider(http, base_url(Platform.FACEBOOK, quick, sandbox=True))

        looked = asyncio.Event()

        async def old_try_sends_late() -> None:
            await looked.wait()  # after the new try looked, inside its own budget
            credentials = Credentials(page.external_id, token)
            await provider.publish(credentials, content, Preparation())

        late = asyncio.create_task(old_try_sends_late())
        # The new try does not sleep in its slot (cli/worker.py bounds them): it asks Temporal
        # to retry it once the old try can no longer send, and counts no platform error.
        with pytest.raises(ApplicationError) as waiting:
            await activities.publish_target(target.id)
        looked.set()
        assert waiting.value.type == ERROR_EARLIER_TRY
        delay = waiting.value.next_retry_delay
        assert delay is not None and delay > timedelta(seconds=1)
        await late
        await asyncio.sleep(delay.total_seconds())  # as Temporal's retry would
        outcome = await activities.publish_target(target.id)

    assert outcome.status == S.PUBLISHED
    posts = (await sandbox_http.get("/_control/posts")).json()["data"]
    assert [p["text"] for p in posts] == ["Sent late by a slow try"]  # once
    async with db.session() as session:
        outcomes = (await session.exec(select(Attempt.outcome))).all()
    assert outcomes == [AttemptOutcome.FOUND]


async def test_outcomes_are_stored_as_the_plain_words_and_read_back_as_members(
    settings: Settings, db: Database
) -> None:
    """The column stays a plain string (no migration made it a database enum): the stored
    words are the ones the API shows, and rows holding them read back as `AttemptOutcome`."""
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    _, target = await make_post(db, tenant, page, body="Every outcome")
    outcomes = list(AttemptOutcome)
    async with db.session() as session:
        for number, outcome in enumerate(outcomes, start=1):
            session.add(
                Attempt(target_id=target.id, number=number, outcome=outcome, fingerprint="")
            )
        await session.commit()

    async with db.session() as session:
        connection = await session.connection()
        words = await connection.execute(text("SELECT outcome FROM attempt ORDER BY number"))
        assert words.scalars().all() == [o.value for o in outcomes]
        read = (await session.exec(select(Attempt).order_by(col(Attempt.number)))).all()
    assert [type(a.outcome) for a in read] == [AttemptOutcome] * len(outcomes)
    assert [a.outcome for a in read] == outcomes
