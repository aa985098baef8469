"""First comments on Facebook Pages, Instagram, LinkedIn and YouTube, through the sandbox.

Each platform's provider publishes a post, then its one part after it, a first comment written
by the same account on that post, over real HTTP to the sandbox. The sandbox keeps the comment
as a post of kind "comment" answering the post; `find_published_part` finds a comment that was
sent and not one never sent; a comment on a post the platform does not have is refused the way
the platform refuses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers.base import (
    Credentials,
    NotCheckable,
    PartPosition,
    PostContent,
    Preparation,
    Published,
)
from providers.errors import ContentError
from providers.facebook import FacebookProvider
from providers.instagram import InstagramProvider
from providers.kit.media import MediaDownloads
from providers.linkedin import LinkedInProvider
from providers.youtube import YouTubeProvider
from tests.support import reconcile
from tests.support.media import loopback_media
from tests.support.reconcile import a_minute_from_now, began, sandbox_posts
from tests.support.servers import RunningSandbox

COMMENT = "More in the first comment: https://example.org/notes"


@dataclass(frozen=True)
class Case:
    """One platform: its provider on the sandbox, the account, what its post is made of, and
    how it refuses a comment on a post it does not have."""

    platform: Platform
    make: Callable[[httpx.AsyncClient, str, MediaDownloads], Any]
    path: str  # the provider's base URL under the sandbox
    account_id: str
    media: Callable[[str], list[str]]  # the post's media, given the sandbox's URL
    unknown_post: str
    refusal_code: str  # the ContentError's code for a comment on `unknown_post`


CASES = [
    Case(
        Platform.FACEBOOK,
        FacebookProvider,
        "facebook/v23.0",
        "200000000000001",
        lambda _: [],
        "200000000000001_999",
        "100/33",  # Graph's "Unsupported post request": code 100, subcode 33
    ),
    Case(
        Platform.INSTAGRAM,
        InstagramProvider,
        "instagram/v23.0",
        "17841400000000001",
        lambda _: ["https://cdn.example.org/1.jpg"],
        "999999999",
        "100/33",
    ),
    Case(
        Platform.LINKEDIN,
        LinkedInProvider,
        "linkedin",
        "urn:li:organization:123",
        lambda _: [],
        "urn:li:share:999",
        "NOT_FOUND",  # a 404
    ),
    Case(
        Platform.YOUTUBE,
        YouTubeProvider,
        "youtube",
        "UCsandboxComments0000001",
        lambda url: [f"{url}/youtube/media/launch.mp4"],
        "noSuchVideo",
        "videoNotFound",  # a 404
    ),
]


@dataclass
class Account:
    """A platform's provider, acting as its account on the sandbox."""

    case: Case
    provider: Any
    credentials: Credentials
    sandbox_url: str

    async def post(self, text: str = "The post itself") -> Published:
        content = PostContent(text=text, media_urls=self.case.media(self.sandbox_url))
        _, published = await reconcile.prepare_and_publish(
            self.provider, self.credentials, content, check=True
        )
        return published

    async def comment(self, on: Published, text: str = COMMENT) -> Published:
        published: Published = await self.provider.publish_part(
            self.credentials, PostContent(text=text), first_comment(on)
        )
        return published

    async def find(self, on: Published, text: str = COMMENT, **since: Any) -> Published | None:
        found: Published | None = await self.provider.find_published_part(
            self.credentials,
            PostContent(text=text),
            first_comment(on),
            since=since.get("since") or began(),
        )
        return found


def first_comment(post: Published) -> PartPosition:
    return PartPosition(root=post, parent=post, index=1)


@pytest.fixture(params=CASES, ids=[case.platform.value for case in CASES])
async def account(
    request: pytest.FixtureRequest, sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[Account]:
    case: Case = request.param
    credentials = reconcile.credentials(sandbox, case.platform, case.account_id)
    async with reconcile.on_sandbox(sandbox, case.make, case.path) as provider:
        yield Account(case, provider, credentials, sandbox.url)


async def test_a_first_comment_is_kept_under_its_post(
    account: Account, sandbox_http: httpx.AsyncClient
) -> None:
    post = await account.post()
    comment = await account.comment(post)

    held = await sandbox_posts(sandbox_http, account.case.platform)
    [kept] = [p for p in held if p["kind"] == "comment"]
    assert kept["reply_to"] == post.external_id
    assert (kept["id"], kept["text"]) == (comment.external_id, COMMENT)
    assert kept["account"] == account.credentials.external_id
    assert comment.url  # given by the platform, or built from the post's link
    assert [p["id"] for p in held if p["kind"] == "post"] == [post.external_id]


async def test_a_comment_that_was_sent_is_found_and_one_never_sent_is_not(
    account: Account,
) -> None:
    since = began()
    post = await account.post()
    comment = await account.comment(post)

    assert await account.find(post, since=since) == comment
    assert await account.find(post, "Never written", since=since) is None
    # An attempt begun after the comment was written did not write it.
    assert await account.find(post, since=a_minute_from_now()) is None


async def test_a_comment_on_a_post_the_platform_does_not_have_is_refused(
    account: Account, sandbox_http: httpx.AsyncClient
) -> None:
    unknown = Published(external_id=account.case.unknown_post)

    with pytest.raises(ContentError) as refused:
        await account.comment(unknown)

    assert refused.value.code == account.case.refusal_code
    assert await sandbox_posts(sandbox_http, account.case.platform) == []


async def test_facebook_comments_are_not_page_posts(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    """A comment repeating the post's words is neither a duplicate post (code 506) nor found
    as the post."""
    [case] = [c for c in CASES if c.platform is Platform.FACEBOOK]
    credentials = reconcile.credentials(sandbox, case.platform, case.account_id)
    async with httpx.AsyncClient(timeout=10) as http:
        provider = FacebookProvider(http, f"{sandbox.url}/{case.path}")
        page = Account(case, provider, credentials, sandbox.url)
        since = began()
        post = await page.post("Same words")
        await page.comment(post, "Same words")
        content = PostContent(text="Same words")
        prepared = Preparation(ids={"photos": [], "draft": False})

        assert await provider.find_published(credentials, content, prepared, since=since) == post
        await page.post("Other words")  # no 506: the comment is not among the Page's posts


async def test_a_members_post_comments_cannot_be_read_back(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    """LinkedIn shows a member's post's comments only to apps with r_member_social."""
    [case] = [c for c in CASES if c.platform is Platform.LINKEDIN]
    member = replace(case, account_id="urn:li:person:abc")
    credentials = reconcile.credentials(sandbox, case.platform, member.account_id)
    async with httpx.AsyncClient(timeout=10) as http:
        provider = LinkedInProvider(http, f"{sandbox.url}/{case.path}", loopback_media())
        person = Account(member, provider, credentials, sandbox.url)
        post = await person.post()
        await person.comment(post)

        with pytest.raises(NotCheckable, match="r_member_social"):
            await person.find(post)


async def test_a_video_made_for_kids_takes_no_comments(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    """YouTube disables comments on videos made for kids: commentsDisabled, a 403 that no new
    token cures, so a content refusal."""
    [case] = [c for c in CASES if c.platform is Platform.YOUTUBE]
    credentials = reconcile.credentials(sandbox, case.platform, case.account_id)
    video = await upload_made_for_kids(sandbox_http, credentials)
    async with httpx.AsyncClient(timeout=10) as http:
        provider = YouTubeProvider(http, f"{sandbox.url}/{case.path}", loopback_media())
        channel = Account(case, provider, credentials, sandbox.url)

        with pytest.raises(ContentError) as refused:
            await channel.comment(Published(external_id=video))

    assert (refused.value.code, refused.value.http_status) == ("commentsDisabled", 403)


async def upload_made_for_kids(sandbox_http: httpx.AsyncClient, credentials: Credentials) -> str:
    """A video uploaded straight to the sandbox, declared made for kids; its id."""
    data = b"made-for-kids video bytes"
    auth = {"Authorization": f"Bearer {credentials.access_token}"}
    opened = await sandbox_http.post(
        "/youtube/upload/youtube/v3/videos",
        params={"uploadType": "resumable", "part": "snippet,status"},
        headers=auth
        | {"X-Upload-Content-Length": str(len(data)), "X-Upload-Content-Type": "video/mp4"},
        json={
            "snippet": {"title": "For kids", "description": ""},
            "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": True},
        },
    )
    opened.raise_for_status()
    done = await sandbox_http.put(opened.headers["location"], headers=auth, content=data)
    done.raise_for_status()
    video_id: str = done.json()["id"]
    return video_id
