"""Thread parts on X, Bluesky and Threads: each part is a reply to the one before it.

Against the sandbox over real HTTP: a post, then a 2-part thread under it, read back from
`/_control/posts` as a chain of `reply_to` ids; `find_published_part` finding a part that was
sent (and not one never sent, nor one under another parent); a reply to a parent the platform
does not hold refused as a content error, with nothing made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pytest

from core.status import Platform
from providers.base import (
    Credentials,
    PartPosition,
    PlatformRules,
    PostContent,
    Preparation,
    Published,
    Readiness,
)
from providers.bluesky import BlueskyProvider
from providers.errors import ContentError
from providers.kit.media import MediaDownloads
from providers.threads import ThreadsProvider
from providers.x import XProvider
from tests.support import reconcile
from tests.support.reconcile import began
from tests.support.servers import RunningSandbox


class ThreadProvider(Protocol):
    """What these tests call: a provider that publishes parts."""

    rules: PlatformRules

    async def prepare(self, account: Credentials, content: PostContent) -> Preparation: ...

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness: ...

    async def publish(
        self, account: Credentials, content: PostContent, prepared: Preparation
    ) -> Published: ...

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, **kw: Any
    ) -> Published | None: ...

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published: ...

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, **kw: Any
    ) -> Published | None: ...


@dataclass(frozen=True)
class Platformed:
    """One platform's side of these tests."""

    platform: Platform
    make: Callable[[httpx.AsyncClient, str, MediaDownloads], Any]
    path: str  # the sandbox's prefix for the platform
    account_id: str
    unknown: Published  # a post the sandbox does not hold
    image: Callable[[str], str]  # the sandbox's url → an image url the platform takes


CASES = [
    Platformed(
        Platform.X,
        XProvider,
        "x",
        "4242",
        Published(external_id="999999999999"),
        lambda base: f"{base}/x/media/part.png",
    ),
    Platformed(
        Platform.BLUESKY,
        BlueskyProvider,
        "bluesky",
        "did:plc:sandboxparts",
        Published(
            external_id="at://did:plc:sandboxparts/app.bsky.feed.post/3kzzzzzzzzz22",
            cid="bafyreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        lambda base: f"{base}/bluesky/media/part.jpg",
    ),
    Platformed(
        Platform.THREADS,
        ThreadsProvider,
        "threads",
        "27000000000000002",
        Published(external_id="999999999999"),
        lambda _: "https://media.example/part.jpg",  # Threads fetches it itself
    ),
]


@dataclass
class Case:
    spec: Platformed
    provider: ThreadProvider
    account: Credentials
    sandbox_url: str


@pytest.fixture(params=CASES, ids=[case.platform.value for case in CASES])
async def case(
    request: pytest.FixtureRequest, sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[Case]:
    spec: Platformed = request.param
    account = reconcile.credentials(sandbox, spec.platform, spec.account_id)
    async with reconcile.on_sandbox(sandbox, spec.make, spec.path) as provider:
        yield Case(spec, provider, account, sandbox.url)


async def post(case: Case, text: str) -> Published:
    """The thread's root, published as a run publishes a post."""
    content = PostContent(text=text)
    prepared = await case.provider.prepare(case.account, content)
    assert (await case.provider.check(case.account, prepared)).state == "ready"
    return await case.provider.publish(case.account, content, prepared)


def under(root: Published, parent: Published, index: int) -> PartPosition:
    return PartPosition(root=root, parent=parent, index=index)


async def posts(sandbox_http: httpx.AsyncClient, platform: Platform) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, platform)


def test_each_platform_takes_replies_as_parts(case: Case) -> None:
    parts = case.provider.rules.parts
    assert parts is not None
    assert (parts.kind, parts.media_allowed) == ("reply", True)
    assert parts.max_text_length == case.provider.rules.max_text_length
    assert parts.max_parts >= 2


async def test_a_thread_chains_each_part_to_the_one_before(
    case: Case, sandbox_http: httpx.AsyncClient
) -> None:
    root = await post(case, "A thread, in three parts")
    first = PostContent(text="Part one answers the post")
    second = PostContent(
        text="Part two answers part one", media_urls=[case.spec.image(case.sandbox_url)]
    )
    one = await case.provider.publish_part(case.account, first, under(root, root, 1))
    two = await case.provider.publish_part(case.account, second, under(root, one, 2))

    held = {p["id"]: p for p in await posts(sandbox_http, case.spec.platform)}
    assert [(p["kind"], p["reply_to"], p["text"]) for p in held.values()] == [
        ("post", None, "A thread, in three parts"),
        ("reply", root.external_id, first.text),
        ("reply", one.external_id, second.text),
    ]
    assert list(held) == [root.external_id, one.external_id, two.external_id]
    assert held[two.external_id]["media"]  # a part carries media as a post does
    if case.spec.platform is Platform.BLUESKY:
        # A reply names its root and parent by uri and cid: publish hands the cid on.
        assert root.cid and one.cid and two.cid


async def test_a_sent_part_is_found_and_one_never_sent_is_not(case: Case) -> None:
    root = await post(case, "Lost answers are looked for")
    content = PostContent(text="This reply went out")
    position = under(root, root, 1)
    since = began()
    sent = await case.provider.publish_part(case.account, content, position)

    found = await case.provider.find_published_part(case.account, content, position, since=since)
    assert found is not None and found.external_id == sent.external_id
    assert found == sent  # url, and Bluesky's cid, too

    never = PostContent(text="This reply never went out")
    assert (
        await case.provider.find_published_part(case.account, never, position, since=since) is None
    )
    # The same words under another parent are another part.
    elsewhere = under(root, sent, 2)
    assert (
        await case.provider.find_published_part(case.account, content, elsewhere, since=since)
        is None
    )


async def test_a_post_lookup_does_not_take_a_reply_for_the_post(case: Case) -> None:
    root = await post(case, "The post")
    content = PostContent(text="Words a later post may use")
    reply = await case.provider.publish_part(case.account, content, under(root, root, 1))

    since = began()
    found = await case.provider.find_published(case.account, content, Preparation(), since=since)
    assert found is None, f"the reply {reply.external_id} was taken for a post"


async def test_a_reply_to_an_unknown_parent_is_refused(
    case: Case, sandbox_http: httpx.AsyncClient
) -> None:
    unknown = case.spec.unknown
    with pytest.raises(ContentError) as refused:
        await case.provider.publish_part(
            case.account, PostContent(text="Answering nothing"), under(unknown, unknown, 1)
        )

    assert refused.value.platform == case.spec.platform.value
    assert await posts(sandbox_http, case.spec.platform) == []
