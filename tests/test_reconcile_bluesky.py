"""Bluesky after a lost answer: the post's fixed record key says whether it went out.

Through the workflow (a createRecord whose answer is lost, a 5xx that made nothing), then
`find_published` and the duplicate-key recovery of `publish` against the sandbox's PDS.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.status import Platform
from providers import bluesky, bluesky_lookup
from providers.base import (
    Credentials,
    NotCheckable,
    PostContent,
    Preparation,
    Published,
)
from providers.bluesky import BlueskyProvider
from providers.bluesky_lookup import new_tid, tid_time
from providers.errors import ContentError
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import a_minute_ago, a_minute_from_now
from tests.support.servers import RunningSandbox

DID = "did:plc:sandboxreconcile"
CREATE = r"/bluesky/xrpc/com\.atproto\.repo\.createRecord$"
TEXT = "Doors open at nine"
PUBLISHING = reconcile.Publishing(Platform.BLUESKY, DID, CREATE)


account = reconcile.account_fixture(Platform.BLUESKY, DID)
provider = reconcile.provider_fixture(BlueskyProvider, "bluesky")


async def listings(sandbox_http: httpx.AsyncClient) -> int:
    return await reconcile.calls(sandbox_http, "listRecords")


# --- through the workflow ---------------------------------------------------------------------


async def test_a_post_whose_answer_was_lost_is_found_at_its_key_not_sent_twice(
    harness: Harness,
) -> None:
    await reconcile.lost_answer_is_found(harness, PUBLISHING, body=TEXT)


async def test_a_5xx_that_made_nothing_is_looked_up_then_posted_once(harness: Harness) -> None:
    await reconcile.refusal_is_looked_for_then_posted_once(harness, PUBLISHING, body=TEXT)


# --- the record key ---------------------------------------------------------------------------


def test_a_minted_key_is_a_tid_of_now() -> None:
    key = new_tid()
    minted = tid_time(key)
    assert len(key) == 13 and minted is not None
    assert abs(minted - datetime.now(UTC)) < timedelta(seconds=5)
    assert tid_time("self") is None and tid_time("3lcrier0000a!") is None


async def test_prepare_fixes_the_key_that_publish_writes_and_the_lookup_reads(
    provider: BlueskyProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text=TEXT)
    since = a_minute_ago()
    prepared = await provider.prepare(account, content)
    assert await provider.find_published(account, content, prepared, since=since) is None

    published = await provider.publish(account, content, prepared)

    assert published.external_id == f"at://{DID}/app.bsky.feed.post/{prepared.ids['rkey']}"
    assert await provider.find_published(account, content, prepared, since=since) == published
    assert await listings(sandbox_http) == 1  # only the first lookup, which found no record


async def test_a_record_at_the_key_with_other_text_is_not_the_post(
    provider: BlueskyProvider, account: Credentials
) -> None:
    prepared = await provider.prepare(account, PostContent(text=TEXT))
    await provider.publish(account, PostContent(text="something else"), prepared)

    found = await provider.find_published(
        account, PostContent(text=TEXT), prepared, since=a_minute_ago()
    )

    assert found is None


async def test_a_post_made_under_another_key_is_found_among_recent_records(
    provider: BlueskyProvider, account: Credentials
) -> None:
    # An earlier run of the target prepared its own key; this run's key holds nothing.
    content = PostContent(text=TEXT, link="https://crier.example/doors")
    _, earlier = await reconcile.prepare_and_publish(provider, account, content)
    await provider.publish(account, PostContent(text="a later, unrelated post"), Preparation())

    found = await provider.find_published(
        account, content, await provider.prepare(account, content), since=a_minute_ago()
    )

    assert found == earlier


async def test_recent_records_must_match_text_embed_and_time(
    provider: BlueskyProvider, account: Credentials
) -> None:
    content = PostContent(text=TEXT, link="https://crier.example/doors")
    await provider.publish(account, content, Preparation())

    async def lookup(wanted: PostContent, since: datetime) -> Published | None:
        return await provider.find_published(account, wanted, Preparation(), since=since)

    assert await lookup(content, a_minute_ago()) is not None
    assert await lookup(PostContent(text=TEXT), a_minute_ago()) is None  # no link card
    assert await lookup(content.model_copy(update={"text": "Doors"}), a_minute_ago()) is None
    later = a_minute_from_now()
    assert await lookup(content, later) is None  # made before the attempt began


async def test_images_match_on_their_blobs(
    sandbox: RunningSandbox, provider: BlueskyProvider, account: Credentials
) -> None:
    content = PostContent(text=TEXT, media_urls=[f"{sandbox.url}/bluesky/media/doors.jpg"])
    prepared, published = await reconcile.prepare_and_publish(provider, account, content)
    other = PostContent(text=TEXT, media_urls=[f"{sandbox.url}/bluesky/media/other.jpg"])
    other_blobs = await provider.prepare(account, other)

    keyless = Preparation(ids={"blobs": prepared.ids["blobs"]})
    assert await provider.find_published(account, content, keyless, since=a_minute_ago()) == (
        published
    )
    assert await provider.find_published(account, other, other_blobs, since=a_minute_ago()) is (
        None
    )


async def test_listing_pages_back_until_it_passes_the_attempt(
    provider: BlueskyProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bluesky, "LOOKUP_PAGE_SIZE", 2)
    content = PostContent(text=TEXT)
    wanted = await provider.publish(account, content, Preparation())
    for n in range(4):
        await provider.publish(account, PostContent(text=f"newer {n}"), Preparation())

    found = await provider.find_published(account, content, Preparation(), since=a_minute_ago())

    assert found == wanted
    assert await listings(sandbox_http) == 3  # five records, two a page


async def test_more_recent_records_than_it_reads_is_not_checkable(
    provider: BlueskyProvider, account: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bluesky, "LOOKUP_PAGE_SIZE", 1)
    monkeypatch.setattr(bluesky, "LOOKUP_MAX_PAGES", 2)
    for n in range(3):
        await provider.publish(account, PostContent(text=f"newer {n}"), Preparation())

    with pytest.raises(NotCheckable, match="over 2 posts"):
        await provider.find_published(
            account, PostContent(text=TEXT), Preparation(), since=a_minute_ago()
        )


async def test_listing_stops_at_records_older_than_the_attempt(
    provider: BlueskyProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bluesky, "LOOKUP_PAGE_SIZE", 1)
    for n in range(3):
        await provider.publish(account, PostContent(text=f"older {n}"), Preparation())

    later = datetime.now(UTC) + bluesky_lookup.KEY_AGE_LIMIT + timedelta(minutes=1)
    assert (
        await provider.find_published(account, PostContent(text=TEXT), Preparation(), since=later)
        is None
    )
    assert await listings(sandbox_http) == 1


# --- publish meets its own key ----------------------------------------------------------------


async def test_publish_into_its_own_key_already_holding_the_post_reports_that_post(
    provider: BlueskyProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text=TEXT)
    prepared, first = await reconcile.prepare_and_publish(provider, account, content)

    again = await provider.publish(account, content, prepared)

    assert again == first
    assert len(await reconcile.sandbox_posts(sandbox_http, Platform.BLUESKY)) == 1


async def test_publish_into_its_own_key_holding_another_post_is_refused(
    provider: BlueskyProvider, account: Credentials
) -> None:
    prepared = await provider.prepare(account, PostContent(text=TEXT))
    await provider.publish(account, PostContent(text="something else"), prepared)

    with pytest.raises(ContentError, match="already exists"):
        await provider.publish(account, PostContent(text=TEXT), prepared)
