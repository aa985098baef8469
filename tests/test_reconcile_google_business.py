"""Google Business Profile: a local post whose answer was lost is found, never posted twice.

Workflow tests lose the answer to the local post's creation or refuse it (see
tests.support.reconcile); provider tests call `find_published` against the sandbox's
localPosts list.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers import google_business
from providers.base import Credentials, NotCheckable, PostContent, Preparation
from providers.google_business import GoogleBusinessProvider, created_at
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import began

LOCATION = "accounts/111/locations/222"
CREATE = f"/google_business/v4/{LOCATION}/localPosts$"
PUBLISHING = reconcile.Publishing(Platform.GOOGLE_BUSINESS, LOCATION, CREATE)
LEARN_MORE = {"actionType": "LEARN_MORE", "url": "https://example.com/menu"}
DAY = {"year": 2026, "month": 7, "day": 4}
SALE = {"title": "Sale", "schedule": {"startDate": DAY, "endDate": DAY}}
BREAD = PostContent(text="Fresh bread", link=LEARN_MORE["url"])
EVENT = PostContent(text="Fresh bread", options={"topic_type": "EVENT", "event": SALE})


# Through the workflow -----------------------------------------------------------------------


async def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(
    harness: Harness,
) -> None:
    # The lost attempt itself is settled: found among the location's posts, none made again.
    await reconcile.lost_answer_is_found(harness, PUBLISHING, body="Open late")


async def test_a_5xx_that_made_nothing_is_looked_for_then_posted_once(harness: Harness) -> None:
    await reconcile.refusal_is_looked_for_then_posted_once(harness, PUBLISHING, body="Refused once")


# The provider against the sandbox -----------------------------------------------------------


account = reconcile.account_fixture(Platform.GOOGLE_BUSINESS, LOCATION)
provider = reconcile.provider_fixture(GoogleBusinessProvider, "google_business")


async def lookups(sandbox_http: httpx.AsyncClient) -> int:
    return await reconcile.calls(sandbox_http, f"{LOCATION}/localPosts$", method="GET")


async def test_a_post_on_a_later_page_is_found_by_its_content(
    account: Credentials,
    provider: GoogleBusinessProvider,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(google_business, "LOOKUP_PAGE_SIZE", 2)
    since = began()
    content = PostContent(text="Fresh bread", link=LEARN_MORE["url"])
    mine = await provider.publish(account, content, Preparation())
    for n in range(4):
        await provider.publish(account, PostContent(text=f"Later post {n}"), Preparation())

    found = await provider.find_published(account, content, Preparation(), since=since)

    assert found == mine and found.url is not None
    assert await lookups(sandbox_http) == 3  # no documented order: every page is read


@pytest.mark.parametrize(
    ("mine", "other"),
    [
        (BREAD, PostContent(text="Fresh bread!", link=LEARN_MORE["url"])),
        (BREAD, PostContent(text="Fresh bread", link="https://example.com/other")),
        (BREAD, PostContent(text="Fresh bread")),
        (BREAD, BREAD.model_copy(update={"options": {"topic_type": "STANDARD"}})),
        (EVENT, EVENT.model_copy(update={"options": {"topic_type": "OFFER", "event": SALE}})),
        (
            EVENT,
            EVENT.model_copy(
                update={
                    "title": "Big sale",
                    "options": {"topic_type": "EVENT", "event": {"schedule": SALE["schedule"]}},
                }
            ),
        ),
        (BREAD, BREAD.model_copy(update={"media_urls": ["https://cdn.example.org/1.jpg"]})),
    ],
    ids=["summary", "button-url", "no-button", "same", "topic", "event-title", "photos"],
)
async def test_only_the_same_content_is_it(
    account: Credentials,
    provider: GoogleBusinessProvider,
    mine: PostContent,
    other: PostContent,
) -> None:
    await provider.publish(account, mine, Preparation())
    found = await provider.find_published(account, other, Preparation(), since=began())
    # STANDARD is the default topic: only that case makes the same LocalPost.
    assert (found is not None) is (other.options.get("topic_type") == "STANDARD")


async def test_a_post_older_than_the_attempt_is_not_it(
    account: Credentials, provider: GoogleBusinessProvider
) -> None:
    content = PostContent(text="Posted before the attempt")
    await provider.publish(account, content, Preparation())
    since = datetime.now(UTC) + timedelta(seconds=1)
    assert await provider.find_published(account, content, Preparation(), since=since) is None


async def test_more_posts_than_the_walk_reads_cannot_be_checked(
    account: Credentials, provider: GoogleBusinessProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(google_business, "LOOKUP_PAGE_SIZE", 1)
    monkeypatch.setattr(google_business, "LOOKUP_MAX_PAGES", 2)
    for n in range(3):
        await provider.publish(account, PostContent(text=f"Busy day {n}"), Preparation())
    missing = PostContent(text="Not among them")
    with pytest.raises(NotCheckable, match="more than 2 local posts"):
        await provider.find_published(account, missing, Preparation(), since=began())


async def test_the_lookup_pages_with_googles_parameters_and_reads_nanosecond_times() -> None:
    post: dict[str, Any] = {
        "name": f"{LOCATION}/localPosts/9",
        "summary": "Hello",
        "topicType": "STANDARD",
        "createTime": "2026-03-01T12:30:15.123456789Z",
        "searchUrl": "https://local.google.com/place?id=222&use=posts&lpsid=9",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if "pageToken" in request.url.params:
            return httpx.Response(200, json={"localPosts": [post]})
        return httpx.Response(200, json={"nextPageToken": "page-2"})

    since = datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)
    found, (first, second) = await reconcile.stub_lookup(
        GoogleBusinessProvider,
        answer,
        Credentials(LOCATION, "tok"),
        PostContent(text="Hello"),
        since=since,
    )

    assert found is not None and found.external_id == post["name"]
    assert found.url == post["searchUrl"]
    assert first.url.path == f"/v4/{LOCATION}/localPosts"
    assert dict(first.url.params) == {"pageSize": "100"}
    assert dict(second.url.params) == {"pageSize": "100", "pageToken": "page-2"}
    assert created_at(post) == datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


async def test_the_sandbox_list_pages_and_refuses_as_google_does(
    account: Credentials, provider: GoogleBusinessProvider, sandbox_http: httpx.AsyncClient
) -> None:
    for n in range(3):
        await provider.publish(account, PostContent(text=f"Post {n}"), Preparation())
    headers = {"Authorization": f"Bearer {account.access_token}"}
    path = f"/google_business/v4/{LOCATION}/localPosts"

    first = (await sandbox_http.get(path, params={"pageSize": 2}, headers=headers)).json()
    rest = await sandbox_http.get(
        path, params={"pageSize": 2, "pageToken": first["nextPageToken"]}, headers=headers
    )

    assert [p["summary"] for p in first["localPosts"]] == ["Post 2", "Post 1"]
    [last] = rest.json()["localPosts"]
    assert last["summary"] == "Post 0" and "nextPageToken" not in rest.json()
    for params in ({"pageSize": 101}, {"pageToken": "not-a-token"}):
        refused = await sandbox_http.get(path, params=params, headers=headers)
        assert refused.status_code == 400
        assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
