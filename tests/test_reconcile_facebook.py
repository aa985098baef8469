"""Facebook: a publish whose answer was lost is found on the Page, never posted twice.

Workflow tests lose the answer to the feed POST or refuse it (see tests.support.reconcile);
provider tests call `find_published` against the sandbox.
"""

from __future__ import annotations

import httpx
import pytest

from core.status import Platform, TargetMode
from providers import graph
from providers.base import Credentials, NotCheckable, PostContent, Preparation
from providers.errors import AuthError
from providers.facebook import FacebookProvider
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import a_minute_from_now, began
from tests.support.servers import RunningSandbox

PAGE = "200000000000001"
PUBLISHING = reconcile.Publishing(Platform.FACEBOOK, PAGE, "/feed$")
PHOTO = "https://cdn.example.org/1.jpg"
PUBLISHED = Preparation(ids={"photos": [], "draft": False})


# Through the workflow -----------------------------------------------------------------------


async def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(
    harness: Harness,
) -> None:
    # The lost attempt itself is settled: found on the Page, no second attempt made.
    await reconcile.lost_answer_is_found(harness, PUBLISHING, body="The answer is lost")


async def test_a_5xx_that_made_nothing_is_looked_for_then_posted_once(harness: Harness) -> None:
    await reconcile.refusal_is_looked_for_then_posted_once(harness, PUBLISHING, body="Refused once")


async def test_a_draft_whose_answer_was_lost_ends_unconfirmed(harness: Harness) -> None:
    # Text only: nothing was prepared, so only the target's mode says it is a draft.
    settled = await reconcile.lost_answer_ends_unconfirmed(
        harness,
        PUBLISHING,
        because="unpublished drafts",
        body="A lost draft",
        mode=TargetMode.DRAFT,
    )

    assert settled.post["published"] is False  # the one draft, not a second


# find_published against the sandbox ---------------------------------------------------------


account = reconcile.account_fixture(Platform.FACEBOOK, PAGE)
provider = reconcile.provider_fixture(FacebookProvider, "facebook/v23.0")


async def test_finds_exactly_what_publish_returned_for_a_photo_post(
    provider: FacebookProvider, account: Credentials
) -> None:
    since = began()
    content = PostContent(text="A photo", media_urls=[PHOTO])
    prepared, published = await reconcile.prepare_and_publish(provider, account, content)

    assert await provider.find_published(account, content, prepared, since=since) == published


async def test_another_text_or_an_earlier_post_is_not_the_attempts(
    provider: FacebookProvider, account: Credentials
) -> None:
    before = began()
    await provider.publish(account, PostContent(text="Posted earlier"), PUBLISHED)
    later = a_minute_from_now()

    other = PostContent(text="Posted earlier, then edited")
    assert await provider.find_published(account, other, PUBLISHED, since=before) is None
    same = PostContent(text="Posted earlier")
    assert await provider.find_published(account, same, PUBLISHED, since=later) is None
    assert await provider.find_published(account, same, PUBLISHED, since=before) is not None


async def test_pages_back_to_the_oldest_match_and_gives_up_past_the_cap(
    provider: FacebookProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    since = began()
    ours = await provider.publish(account, PostContent(text="Ours"), PUBLISHED)
    for n in range(4):
        await provider.publish(account, PostContent(text=f"Newer {n}"), PUBLISHED)
    monkeypatch.setattr(graph, "LOOKUP_PAGE_SIZE", 2)

    found = await provider.find_published(account, PostContent(text="Ours"), PUBLISHED, since=since)

    assert found == ours
    # 2 + 2 + 1 posts, along the `after` cursors
    assert await reconcile.calls(sandbox_http, "/published_posts$") == 3

    monkeypatch.setattr(graph, "LOOKUP_MAX_PAGES", 2)
    with pytest.raises(NotCheckable, match="more than 4 Page posts"):
        await provider.find_published(account, PostContent(text="Ours"), PUBLISHED, since=since)
    newest = PostContent(text="Newer 3")
    assert await provider.find_published(account, newest, PUBLISHED, since=since) is not None


async def test_a_draft_is_not_listed_so_it_cannot_be_checked(
    provider: FacebookProvider, account: Credentials
) -> None:
    since = began()
    content = PostContent(text="Kept as a draft")
    prepared = await provider.prepare(account, content, draft=True)
    assert prepared.ids["draft"] is True
    await provider.publish(account, content, prepared, draft=True)

    with pytest.raises(NotCheckable, match="draft"):
        await provider.find_published(account, content, prepared, since=since)
    # Graph's published_posts leaves the draft out: read as a published post, it is not there.
    assert await provider.find_published(account, content, PUBLISHED, since=since) is None
    assert await provider.find_published(account, content, Preparation(), since=since) is None


async def test_a_post_without_a_message_cannot_be_checked(
    provider: FacebookProvider, account: Credentials
) -> None:
    content = PostContent(text="", link="https://example.org/")
    with pytest.raises(NotCheckable, match="without a message"):
        await provider.find_published(account, content, PUBLISHED, since=began())


async def test_published_posts_refuses_a_limit_over_100(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, account: Credentials
) -> None:
    answer = await sandbox_http.get(
        f"/facebook/v23.0/{PAGE}/published_posts",
        params={"limit": "101"},
        headers={"Authorization": f"OAuth {account.access_token}"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100


async def test_the_lookup_is_made_as_the_page(
    provider: FacebookProvider, sandbox: RunningSandbox
) -> None:
    other = "200000000000002"
    stranger = Credentials(PAGE, issue_token(sandbox.secret, "facebook", other))
    with pytest.raises(AuthError, match="does not grant access"):
        await provider.find_published(stranger, PostContent(text="x"), PUBLISHED, since=began())
