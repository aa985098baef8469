"""LinkedIn: a publish whose answer was lost is found among the author's posts, never posted twice.

Workflow tests lose the answer to the post's creation or refuse it (see tests.support.reconcile).
Provider tests call `find_published` and `publish` against the sandbox's Posts API; one stubs
the transport for the form LinkedIn may answer hashtags in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers import linkedin
from providers.base import Credentials, NotCheckable, PostContent, Preparation
from providers.errors import ContentError
from providers.linkedin import LinkedInProvider
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import began
from tests.support.servers import RunningSandbox

ORG = "urn:li:organization:123"
PERSON = "urn:li:person:abc"
POSTS = "/linkedin/rest/posts$"
PUBLISHING = reconcile.Publishing(Platform.LINKEDIN, ORG, POSTS)
TEXT = "Launch day (finally) #crier @team *bold*"


# Through the workflow -----------------------------------------------------------------------


@pytest.mark.parametrize("with_image", [False, True], ids=["text", "image"])
async def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(
    harness: Harness, with_image: bool
) -> None:
    media = [f"{harness.settings.sandbox_url}/linkedin/media/photo.jpg"] if with_image else []
    # The lost attempt itself is settled: found among the author's posts, none made again.
    await reconcile.lost_answer_is_found(harness, PUBLISHING, body=TEXT, media_urls=media)


async def test_a_5xx_that_made_nothing_is_looked_for_then_posted_once(harness: Harness) -> None:
    await reconcile.refusal_is_looked_for_then_posted_once(harness, PUBLISHING, body="Refused once")


async def test_a_members_lost_post_ends_unconfirmed_since_their_posts_cannot_be_read(
    harness: Harness,
) -> None:
    as_a_member = reconcile.Publishing(Platform.LINKEDIN, PERSON, POSTS)
    await reconcile.lost_answer_ends_unconfirmed(
        harness, as_a_member, because="r_member_social", body="A member's words"
    )


# The provider against the sandbox -----------------------------------------------------------


def account(sandbox: RunningSandbox, author: str = ORG) -> Credentials:
    return reconcile.credentials(sandbox, Platform.LINKEDIN, author)


provider = reconcile.provider_fixture(LinkedInProvider, "linkedin")


async def lookups(sandbox_http: httpx.AsyncClient) -> int:
    return await reconcile.calls(sandbox_http, POSTS, method="GET")


async def posted(sandbox_http: httpx.AsyncClient) -> int:
    return len(await reconcile.sandbox_posts(sandbox_http))


async def prepared_image(
    provider: LinkedInProvider, creds: Credentials, sandbox: RunningSandbox
) -> tuple[PostContent, Preparation]:
    content = PostContent(text="Photo day", media_urls=[f"{sandbox.url}/linkedin/media/photo.jpg"])
    return content, await provider.prepare(creds, content)


async def test_a_post_a_page_back_is_found_by_its_commentary(
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
    provider: LinkedInProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(linkedin, "LOOKUP_PAGE_SIZE", 2)
    creds = account(sandbox)
    since = began()
    content = PostContent(text="The first of five (escaped #text)")
    mine = await provider.publish(creds, content)
    for n in range(4):
        await provider.publish(creds, PostContent(text=f"Later post {n}"))

    found = await provider.find_published(creds, content, Preparation(), since=since)

    assert found == mine
    assert await lookups(sandbox_http) == 3  # newest first: the third page holds the first


async def test_nothing_with_other_words_is_found(
    sandbox: RunningSandbox, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    await provider.publish(creds, PostContent(text="Close, but not the same"))
    other = PostContent(text="Close, but not the same!")
    assert await provider.find_published(creds, other, Preparation(), since=began()) is None


async def test_a_post_older_than_the_attempt_is_not_it_and_ends_the_walk(
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
    provider: LinkedInProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(linkedin, "LOOKUP_PAGE_SIZE", 1)
    creds = account(sandbox)
    content = PostContent(text="Posted before the attempt")
    await provider.publish(creds, content)
    await provider.publish(creds, PostContent(text="Older still, on the next page"))
    since = datetime.now(UTC) + timedelta(seconds=1)

    assert await provider.find_published(creds, content, Preparation(), since=since) is None
    assert await lookups(sandbox_http) == 1


async def test_the_same_words_with_other_images_are_not_it(
    sandbox: RunningSandbox, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    content, prepared = await prepared_image(provider, creds, sandbox)
    published = await provider.publish(creds, content, prepared)
    _, other = await prepared_image(provider, creds, sandbox)

    assert await provider.find_published(creds, content, prepared, since=began()) == published
    assert await provider.find_published(creds, content, other, since=began()) is None
    text_only = PostContent(text=content.text)
    assert await provider.find_published(creds, text_only, Preparation(), since=began()) is None


async def test_more_posts_than_the_walk_reads_cannot_be_checked(
    sandbox: RunningSandbox, provider: LinkedInProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linkedin, "LOOKUP_PAGE_SIZE", 1)
    monkeypatch.setattr(linkedin, "LOOKUP_MAX_PAGES", 2)
    creds = account(sandbox)
    for n in range(3):
        await provider.publish(creds, PostContent(text=f"Busy page {n}"))
    missing = PostContent(text="Not among them")
    with pytest.raises(NotCheckable, match="more than 2 posts"):
        await provider.find_published(creds, missing, Preparation(), since=began())


async def test_a_members_posts_cannot_be_checked(
    sandbox: RunningSandbox, provider: LinkedInProvider
) -> None:
    creds = account(sandbox, PERSON)
    content = PostContent(text="A member's post")
    await provider.publish(creds, content)
    with pytest.raises(NotCheckable, match="r_member_social"):
        await provider.find_published(creds, content, Preparation(), since=began())


async def test_a_hashtag_read_back_as_a_template_still_matches() -> None:
    element: dict[str, Any] = {
        "id": "urn:li:share:9",
        "author": ORG,
        "commentary": r"Out now {hashtag|\#|crier} \(v2\)",
        "lifecycleState": "PUBLISHED",
        "createdAt": int(datetime.now(UTC).timestamp() * 1000),
    }

    page = {"paging": {"start": 0, "count": 50}, "elements": [element]}

    found, [request] = await reconcile.stub_lookup(
        LinkedInProvider,
        lambda _: httpx.Response(200, json=page),
        Credentials(ORG, "tok"),
        PostContent(text="Out now #crier (v2)"),
        since=began(),
    )

    assert found is not None and found.external_id == "urn:li:share:9"
    assert request.url.path == "/rest/posts"
    assert dict(request.url.params) == {
        "q": "author",
        "author": ORG,
        "sortBy": "CREATED",
        "count": "50",
        "start": "0",
    }
    assert request.headers["x-restli-method"] == "FINDER"
    assert request.headers["linkedin-version"] == linkedin.API_VERSION


# A retried duplicate ------------------------------------------------------------------------


async def test_a_duplicate_carrying_this_targets_own_images_is_its_post(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    content, prepared = await prepared_image(provider, creds, sandbox)
    first = await provider.publish(creds, content, prepared)

    again = await provider.publish(creds, content, prepared)  # a retry the lookup missed

    assert again == first
    assert await posted(sandbox_http) == 1


async def test_a_duplicate_of_another_posts_words_stays_a_refusal(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    content, prepared = await prepared_image(provider, creds, sandbox)
    await provider.publish(creds, content, prepared)
    _, other = await prepared_image(provider, creds, sandbox)

    with pytest.raises(ContentError) as refused:
        await provider.publish(creds, content, other)  # new images: not the same post

    assert refused.value.code == "DUPLICATE"
    assert await posted(sandbox_http) == 1


async def test_a_members_duplicate_stays_a_refusal_since_their_posts_cannot_be_read(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox, PERSON)
    content, prepared = await prepared_image(provider, creds, sandbox)
    await provider.publish(creds, content, prepared)

    with pytest.raises(ContentError) as refused:
        await provider.publish(creds, content, prepared)

    assert refused.value.code == "DUPLICATE"
    assert await posted(sandbox_http) == 1


async def test_the_sandbox_finder_pages_and_reads_one_post(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    creds = account(sandbox)
    made = [await provider.publish(creds, PostContent(text=f"Post {n} #tag")) for n in range(3)]
    headers = {
        "Authorization": f"Bearer {creds.access_token}",
        "LinkedIn-Version": linkedin.API_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }
    params: dict[str, str | int] = {"q": "author", "author": ORG, "count": 2, "sortBy": "CREATED"}

    page = (await sandbox_http.get("/linkedin/rest/posts", params=params, headers=headers)).json()
    one = await sandbox_http.get(f"/linkedin/rest/posts/{made[0].external_id}", headers=headers)

    assert [e["id"] for e in page["elements"]] == [made[2].external_id, made[1].external_id]
    assert page["elements"][0]["commentary"] == r"Post 2 \#tag"  # little text, as sent
    [link] = page["paging"]["links"]
    assert link["rel"] == "next" and "start=2" in link["href"]
    assert one.json()["id"] == made[0].external_id and one.json()["author"] == ORG
    refused = await sandbox_http.get(
        "/linkedin/rest/posts", params=params | {"q": "search"}, headers=headers
    )
    assert refused.status_code == 400
