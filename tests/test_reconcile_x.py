"""X: a tweet whose answer was lost is found on the user's timeline, never posted twice.

Workflow tests lose the answer to the tweet's POST or refuse it (see tests.support.reconcile).
Provider tests call `find_published` and `publish` against the sandbox, which gives text back
as X does (t.co links, HTML entities, a media link appended).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.status import Platform
from providers import x
from providers.base import Credentials, NotCheckable, PostContent, Preparation
from providers.errors import ContentError
from providers.x import XProvider
from providers.x_lookup import same_text
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import began
from tests.support.servers import RunningSandbox

USER = "4242"
TWEETS = "/x/2/tweets$"
TIMELINE = f"/x/2/users/{USER}/tweets$"
PUBLISHING = reconcile.Publishing(Platform.X, USER, TWEETS)
# An ampersand, angle brackets and a link: all three come back altered.
TEXT = "Fish & chips <today> at https://example.com/menu?a=1&b=2."
FORBIDDEN = {
    "client_id": "1",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
    "and tokens from a Twitter developer App that is attached to a Project.",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}


# Through the workflow -----------------------------------------------------------------------


@pytest.mark.parametrize("with_image", [False, True], ids=["text", "image"])
async def test_a_tweet_whose_answer_was_lost_is_found_and_not_posted_again(
    harness: Harness, with_image: bool
) -> None:
    media = [f"{harness.settings.sandbox_url}/x/media/photo.png"] if with_image else []
    # The lost attempt itself is settled: found on the timeline, none made again.
    await reconcile.lost_answer_is_found(harness, PUBLISHING, body=TEXT, media_urls=media)


async def test_a_5xx_that_made_nothing_is_looked_for_then_posted_once(harness: Harness) -> None:
    await reconcile.refusal_is_looked_for_then_posted_once(harness, PUBLISHING, body="Refused once")


async def test_an_app_that_may_not_read_timelines_ends_unconfirmed(harness: Harness) -> None:
    await harness.inject(method="GET", path=TIMELINE, status=403, body=FORBIDDEN, times=50)
    await reconcile.lost_answer_ends_unconfirmed(
        harness, PUBLISHING, because="Twitter developer App", body="Lost, and no way to look"
    )


# The provider against the sandbox -----------------------------------------------------------


account = reconcile.account_fixture(Platform.X, USER)
provider = reconcile.provider_fixture(XProvider, "x")


async def lookups(sandbox_http: httpx.AsyncClient) -> int:
    return await reconcile.calls(sandbox_http, TIMELINE, method="GET")


async def tweeted(sandbox_http: httpx.AsyncClient) -> int:
    return len(await reconcile.sandbox_posts(sandbox_http, Platform.X))


async def prepared_image(
    provider: XProvider, account: Credentials, sandbox: RunningSandbox, text: str = TEXT
) -> tuple[PostContent, Preparation]:
    content = PostContent(text=text, media_urls=[f"{sandbox.url}/x/media/photo.png"])
    return content, await provider.prepare(account, content)


async def test_a_tweet_a_page_back_is_found_though_x_altered_its_text(
    provider: XProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(x, "LOOKUP_PAGE_SIZE", 5)  # the endpoint's least
    since = began()
    content = PostContent(text=TEXT, link="https://example.org/more")
    mine = await provider.publish(account, content, Preparation())
    for n in range(6):
        await provider.publish(account, PostContent(text=f"Later tweet {n}"), Preparation())

    found = await provider.find_published(account, content, Preparation(), since=since)

    assert found == mine
    assert await lookups(sandbox_http) == 2


async def test_nothing_with_other_words_is_found(provider: XProvider, account: Credentials) -> None:
    await provider.publish(account, PostContent(text=TEXT), Preparation())
    other = PostContent(text=TEXT.replace("chips", "crisps"))
    assert await provider.find_published(account, other, Preparation(), since=began()) is None


async def test_a_tweet_older_than_the_attempt_is_not_it(
    provider: XProvider, account: Credentials
) -> None:
    content = PostContent(text="Tweeted before the attempt")
    await provider.publish(account, content, Preparation())
    since = datetime.now(UTC) + timedelta(seconds=1)
    assert await provider.find_published(account, content, Preparation(), since=since) is None


async def test_the_same_words_with_other_media_are_not_it(
    provider: XProvider, account: Credentials, sandbox: RunningSandbox
) -> None:
    content, prepared = await prepared_image(provider, account, sandbox)
    published = await provider.publish(account, content, prepared)
    _, other = await prepared_image(provider, account, sandbox)

    assert await provider.find_published(account, content, prepared, since=began()) == published
    assert await provider.find_published(account, content, other, since=began()) is None
    text_only = PostContent(text=TEXT)
    assert await provider.find_published(account, text_only, Preparation(), since=began()) is None


async def test_more_tweets_than_the_walk_reads_cannot_be_checked(
    provider: XProvider, account: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(x, "LOOKUP_PAGE_SIZE", 5)
    monkeypatch.setattr(x, "LOOKUP_MAX_PAGES", 1)
    for n in range(6):
        await provider.publish(account, PostContent(text=f"Busy day {n}"), Preparation())
    missing = PostContent(text="Not among them")
    with pytest.raises(NotCheckable, match="more than 5 tweets"):
        await provider.find_published(account, missing, Preparation(), since=began())


async def test_the_lookup_asks_for_the_attempts_time_and_the_fields_it_compares() -> None:
    since = datetime(2026, 3, 1, 12, 30, 15, 900_000, tzinfo=UTC)
    found, [request] = await reconcile.stub_lookup(
        XProvider,
        lambda _: httpx.Response(200, json={"meta": {"result_count": 0}}),
        Credentials(USER, "tok"),
        PostContent(text="x"),
        since=since,
    )

    assert found is None
    assert request.url.path == f"/2/users/{USER}/tweets"
    assert dict(request.url.params) == {
        "max_results": "100",
        "start_time": "2026-03-01T12:30:15Z",
        "tweet.fields": "created_at,text,attachments,referenced_tweets",
    }


@pytest.mark.parametrize(
    ("sent", "returned", "has_media", "same"),
    [
        ("a & b <c>", "a &amp; b &lt;c&gt;", False, True),
        ("see https://example.com/x.", "see https://t.co/abc123.", False, True),
        ("see example.com today", "see https://t.co/abc123 today", False, True),
        ("photo", "photo https://t.co/media1", True, True),
        ("", "https://t.co/media1", True, True),
        ("photo", "photo https://t.co/link1", False, False),
        ("a &amp; b", "a &amp;amp; b", False, True),
        ("a & b", "a &amp;amp; b", False, False),
        ("see https://a.example", "look https://t.co/abc123", False, False),
    ],
)
def test_text_is_compared_as_x_gives_it_back(
    sent: str, returned: str, has_media: bool, same: bool
) -> None:
    assert same_text(sent, returned, has_media=has_media) is same


# A retried duplicate ------------------------------------------------------------------------


async def test_a_duplicate_carrying_this_targets_own_media_is_its_tweet(
    provider: XProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content, prepared = await prepared_image(provider, account, sandbox)
    first = await provider.publish(account, content, prepared)

    again = await provider.publish(account, content, prepared)  # a retry the lookup missed

    assert again == first
    assert await tweeted(sandbox_http) == 1


async def test_a_duplicate_of_another_tweets_words_stays_a_refusal(
    provider: XProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content, prepared = await prepared_image(provider, account, sandbox)
    await provider.publish(account, content, prepared)
    _, other = await prepared_image(provider, account, sandbox)

    with pytest.raises(ContentError, match="duplicate content"):
        await provider.publish(account, content, other)  # new media: not the same tweet

    assert await tweeted(sandbox_http) == 1


async def test_a_duplicate_stays_a_refusal_when_the_timeline_cannot_be_read(
    provider: XProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content, prepared = await prepared_image(provider, account, sandbox)
    await provider.publish(account, content, prepared)
    await reconcile.inject(sandbox_http, method="GET", path=TIMELINE, status=403, body=FORBIDDEN)

    with pytest.raises(ContentError, match="duplicate content"):
        await provider.publish(account, content, prepared)

    assert await tweeted(sandbox_http) == 1


async def test_the_sandbox_timeline_pages_and_refuses_as_x_does(
    provider: XProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    for n in range(6):
        await provider.publish(account, PostContent(text=f"Tweet {n} & more"), Preparation())
    headers = {"Authorization": f"Bearer {account.access_token}"}
    path = f"/x/2/users/{USER}/tweets"

    first = (await sandbox_http.get(path, params={"max_results": 5}, headers=headers)).json()
    token = first["meta"]["next_token"]
    rest = await sandbox_http.get(
        path, params={"max_results": 5, "pagination_token": token}, headers=headers
    )

    assert first["data"][0]["text"] == "Tweet 5 &amp; more"  # newest first, & escaped
    assert first["meta"]["result_count"] == 5 and "created_at" not in first["data"][0]
    assert [t["text"] for t in rest.json()["data"]] == ["Tweet 0 &amp; more"]
    assert "next_token" not in rest.json()["meta"]
    for params in ({"max_results": 4}, {"start_time": "yesterday"}, {"query": "from:me"}):
        refused = await sandbox_http.get(path, params=params, headers=headers)
        assert refused.status_code == 400 and refused.json()["title"] == "Invalid Request"
