"""Instagram: a publish whose answer was lost is settled by its container, never posted twice.

Workflow tests lose the answer to media_publish or refuse it (see tests.support.reconcile);
provider tests call `find_published` against the sandbox.
"""

from __future__ import annotations

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, NotCheckable, PostContent, Preparation
from providers.instagram import InstagramProvider
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import a_minute_from_now, began

IG_USER = "17841400000000001"
PUBLISHING = reconcile.Publishing(Platform.INSTAGRAM, IG_USER, "/media_publish$")
REEL = "https://cdn.example.org/reel.mp4"
IMAGES = [f"https://cdn.example.org/{n}.jpg" for n in range(3)]


# Through the workflow -----------------------------------------------------------------------


async def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(
    harness: Harness,
) -> None:
    # The lost attempt itself is settled: found on the account, no second attempt made.
    await reconcile.lost_answer_is_found(harness, PUBLISHING, media_urls=[IMAGES[0]])


async def test_a_5xx_that_published_nothing_is_looked_for_then_posted_once(
    harness: Harness,
) -> None:
    # The lost attempt was looked for (its container unpublished), then one new attempt.
    await reconcile.refusal_is_looked_for_then_posted_once(harness, PUBLISHING, media_urls=[REEL])


# find_published against the sandbox ---------------------------------------------------------


account = reconcile.account_fixture(Platform.INSTAGRAM, IG_USER)
provider = reconcile.provider_fixture(InstagramProvider, "instagram/v23.0")


async def test_finds_exactly_what_publish_returned(
    provider: InstagramProvider, account: Credentials
) -> None:
    await reconcile.found_among(provider, account, PostContent(text="A reel", media_urls=[REEL]))


async def test_an_unpublished_container_is_not_found_whatever_the_account_shows(
    provider: InstagramProvider, account: Credentials
) -> None:
    # The same caption, published just now from another container.
    content = PostContent(text="Same caption", media_urls=[IMAGES[0]])
    await reconcile.unpublished_container_is_not_found(provider, account, content)


async def test_the_media_type_tells_a_carousel_from_an_image_with_its_caption(
    provider: InstagramProvider, account: Credentials
) -> None:
    # Earlier in the window, so the better guess by time alone: an image, same caption.
    image = PostContent(text="Twice", media_urls=[IMAGES[0]])
    carousel = PostContent(text="Twice", media_urls=IMAGES)
    await reconcile.found_among(provider, account, carousel, before=[image])


async def test_of_two_identical_posts_in_the_window_the_earlier_is_the_attempts(
    provider: InstagramProvider, account: Credentials
) -> None:
    content = PostContent(text="Posted twice", media_urls=[IMAGES[0]])
    await reconcile.found_among(provider, account, content, after=[content])


async def test_a_published_container_whose_media_is_not_listed_cannot_be_named(
    provider: InstagramProvider, account: Credentials
) -> None:
    content = PostContent(text="Out of reach", media_urls=[IMAGES[0]])
    prepared, _ = await reconcile.prepare_and_publish(provider, account, content, check=True)
    later = a_minute_from_now()  # the media predates the window

    with pytest.raises(NotCheckable, match="is PUBLISHED, but no recent media"):
        await provider.find_published(account, content, prepared, since=later)
    other = PostContent(text="Another caption", media_urls=[IMAGES[0]])
    with pytest.raises(NotCheckable, match="is PUBLISHED"):
        await provider.find_published(account, other, prepared, since=began())


async def test_pages_back_to_the_oldest_match_and_gives_up_past_the_cap(
    provider: InstagramProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await reconcile.containers_page_back_to_the_oldest_match_then_give_up(
        provider,
        account,
        sandbox_http,
        monkeypatch,
        ours=PostContent(text="Ours", media_urls=[IMAGES[0]]),
        newer=lambda n: PostContent(text=f"Newer {n}", media_urls=[IMAGES[1]]),
        listing="/media$",
        noun="media",
    )


async def test_without_a_container_a_missing_post_is_not_there(
    provider: InstagramProvider, account: Credentials
) -> None:
    content = PostContent(text="Never made", media_urls=[IMAGES[0]])
    assert await provider.find_published(account, content, Preparation(), since=began()) is None
