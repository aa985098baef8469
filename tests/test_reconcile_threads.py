"""Threads: a publish whose answer was lost is settled by its container, never posted twice.

Workflow tests lose the answer to threads_publish or refuse it (see tests.support.reconcile);
provider tests call `find_published` against the sandbox.
"""

from __future__ import annotations

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, NotCheckable, PostContent, Preparation
from providers.threads import ThreadsProvider
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import a_minute_from_now, began

USER = "27000000000000002"
PUBLISHING = reconcile.Publishing(Platform.THREADS, USER, "/threads_publish$")
VIDEO = "https://cdn.example.org/clip.mp4"
IMAGES = [f"https://cdn.example.org/{n}.jpg" for n in range(3)]


# Through the workflow -----------------------------------------------------------------------


async def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(
    harness: Harness,
) -> None:
    # The lost attempt itself is settled: found on the account, no second attempt made.
    await reconcile.lost_answer_is_found(harness, PUBLISHING, body="Lost on the way back")


async def test_a_5xx_that_published_nothing_is_looked_for_then_posted_once(
    harness: Harness,
) -> None:
    # The lost attempt was looked for (its container unpublished), then one new attempt.
    await reconcile.refusal_is_looked_for_then_posted_once(harness, PUBLISHING, media_urls=[VIDEO])


# find_published against the sandbox ---------------------------------------------------------


account = reconcile.account_fixture(Platform.THREADS, USER)
provider = reconcile.provider_fixture(ThreadsProvider, "threads")


async def test_a_link_only_post_is_found_by_the_text_it_was_given(
    provider: ThreadsProvider, account: Credentials
) -> None:
    content = PostContent(text="", link="https://example.org/launch")
    await reconcile.found_among(provider, account, content)


async def test_an_unpublished_container_is_not_found_whatever_the_account_shows(
    provider: ThreadsProvider, account: Credentials
) -> None:
    await reconcile.unpublished_container_is_not_found(
        provider, account, PostContent(text="Said twice")
    )


async def test_the_media_type_tells_a_carousel_from_a_text_post_with_its_text(
    provider: ThreadsProvider, account: Credentials
) -> None:
    # Earlier in the window, so the better guess by time alone: a text post, same text.
    text = PostContent(text="Twice")
    carousel = PostContent(text="Twice", media_urls=IMAGES)
    await reconcile.found_among(provider, account, carousel, before=[text])


async def test_a_published_container_whose_thread_is_not_listed_cannot_be_named(
    provider: ThreadsProvider, account: Credentials
) -> None:
    content = PostContent(text="Out of reach")
    prepared, _ = await reconcile.prepare_and_publish(provider, account, content, check=True)
    later = a_minute_from_now()  # the thread predates the window

    with pytest.raises(NotCheckable, match="is PUBLISHED, but no recent thread"):
        await provider.find_published(account, content, prepared, since=later)


async def test_pages_back_to_the_oldest_match_and_gives_up_past_the_cap(
    provider: ThreadsProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await reconcile.containers_page_back_to_the_oldest_match_then_give_up(
        provider,
        account,
        sandbox_http,
        monkeypatch,
        ours=PostContent(text="Ours"),
        newer=lambda n: PostContent(text=f"Newer {n}"),
        listing=f"/{USER}/threads$",
        noun="threads",
    )


async def test_without_a_container_a_missing_post_is_not_there(
    provider: ThreadsProvider, account: Credentials
) -> None:
    content = PostContent(text="Never made")
    assert await provider.find_published(account, content, Preparation(), since=began()) is None
