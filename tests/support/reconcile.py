"""What the reconcile tests (tests/test_reconcile_*.py) share.

Through the workflow, on the time-skipping server with real HTTP to the sandbox: a post
scheduled as a `Publishing` says, whose publish call loses its answer (`accept_then_drop`: the
post is made, the connection breaks) or is refused (a bare 503: nothing is made), and what must
become of it. Against the sandbox: the `account` and `provider` fixtures, the `since` an
attempt hands its lookup, lookups that recur across platforms, and what the sandbox saw.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from core.messages.delivery import TargetState
from core.models import Attempt, Target
from core.status import AttemptOutcome, Platform
from core.status import TargetStatus as S
from providers import graph
from providers.base import (
    CLOCK_SKEW,
    Credentials,
    NotCheckable,
    PostContent,
    Preparation,
    Provider,
    Published,
)
from providers.kit.media import MediaDownloads
from sandbox.tokens import issue_token
from tests.support.harness import Harness
from tests.support.media import loopback_media
from tests.support.servers import RunningSandbox

if TYPE_CHECKING:
    from _pytest.fixtures import FixtureFunctionDefinition

P = TypeVar("P")

# Through the workflow -----------------------------------------------------------------------


@dataclass(frozen=True)
class Publishing:
    """Where a workflow test posts: `account_id` on `platform`, through the publish call (its
    `method`, and a regex for its `path`) that the test's fault lands on."""

    platform: Platform
    account_id: str
    path: str
    method: str = "POST"

    def lost_answer(self) -> dict[str, object]:
        """A fault: the publish call is made, then the connection breaks before its answer."""
        return {"method": self.method, "path": self.path, "accept_then_drop": True, "times": 1}

    def refusal(self) -> dict[str, object]:
        """A fault: the publish call gets a bare 503, and nothing is made."""
        return {"method": self.method, "path": self.path, "status": 503, "times": 1}


@dataclass
class Settled:
    """How a target scheduled through the harness ended."""

    final: TargetState
    target: Target  # as stored once the workflow ended
    posts: list[dict[str, Any]]  # all the sandbox holds for the target's platform
    attempts: list[Attempt]  # the ledger's, in order

    @property
    def post(self) -> dict[str, Any]:
        """The one post the sandbox holds."""
        [post] = self.posts
        return post

    @property
    def error(self) -> str:
        """The target's last error, which it must have."""
        assert self.target.last_error is not None
        return self.target.last_error


async def settle(
    harness: Harness, publishing: Publishing, fault: Mapping[str, object], **schedule_options: Any
) -> Settled:
    """Inject `fault`, schedule a post at once as `publishing` says and wait until it ends.

    `schedule_options` go to `harness.schedule` (body, media_urls, mode, ...)."""
    await harness.inject(**fault)
    target, handle = await harness.schedule(
        after=None,
        platform=publishing.platform,
        account_id=publishing.account_id,
        **schedule_options,
    )
    final = await handle.result()
    return Settled(
        final=final,
        target=await harness.target(target.id),
        posts=await harness.posts(publishing.platform),
        attempts=await harness.attempts(target.id),
    )


async def lost_answer_is_found(
    harness: Harness, publishing: Publishing, **schedule_options: Any
) -> Settled:
    """A publish whose answer was lost is found by the lookup and not posted again."""
    settled = await settle(harness, publishing, publishing.lost_answer(), **schedule_options)
    assert settled.final.status == S.PUBLISHED
    post = settled.post  # exactly one: the lost one, not a second
    assert (settled.target.external_id, settled.target.external_url) == (post["id"], post["url"])
    if "body" in schedule_options:
        assert post["text"] == schedule_options["body"]
    if "media_urls" in schedule_options:
        assert len(post["media"]) == len(schedule_options["media_urls"])
    # One attempt: its answer was lost (transient), then the lookup found its post (found).
    outcomes = [(a.outcome, a.error_kind) for a in settled.attempts]
    assert outcomes == [(AttemptOutcome.FOUND, "transient")]
    return settled


async def refusal_is_looked_for_then_posted_once(
    harness: Harness, publishing: Publishing, **schedule_options: Any
) -> Settled:
    """A 5xx that made nothing is looked for (not there), then one new attempt posts it."""
    settled = await settle(harness, publishing, publishing.refusal(), **schedule_options)
    assert settled.final.status == S.PUBLISHED
    assert settled.target.external_id == settled.post["id"]
    outcomes = [(a.outcome, a.error_kind) for a in settled.attempts]
    assert outcomes == [
        (AttemptOutcome.NOT_FOUND, "transient"),
        (AttemptOutcome.CONFIRMED, None),
    ]
    return settled


async def ends_unconfirmed(
    harness: Harness,
    publishing: Publishing,
    *,
    refused: bool = False,
    because: str | None = None,
    **schedule_options: Any,
) -> Settled:
    """A publish whose answer was lost (or, `refused`, that got a 5xx) and whose fate the
    lookup cannot tell ends unconfirmed, its error saying `because`."""
    fault = publishing.refusal() if refused else publishing.lost_answer()
    settled = await settle(harness, publishing, fault, **schedule_options)
    assert settled.final.status == S.UNCONFIRMED
    assert settled.target.status == S.UNCONFIRMED
    if because is not None:
        assert because in settled.error
    return settled


async def lost_answer_ends_unconfirmed(
    harness: Harness, publishing: Publishing, *, because: str, **schedule_options: Any
) -> Settled:
    """A publish whose answer was lost, where the lookup cannot look: unconfirmed, not redone."""
    settled = await ends_unconfirmed(harness, publishing, because=because, **schedule_options)
    assert len(settled.posts) == 1  # the lost one, not a second
    assert [a.outcome for a in settled.attempts] == [AttemptOutcome.UNKNOWN]
    return settled


# The provider against the sandbox -----------------------------------------------------------


def credentials(sandbox: RunningSandbox, platform: Platform, account_id: str) -> Credentials:
    """`account_id`'s credentials, with a token the sandbox accepts for it on `platform`."""
    return Credentials(account_id, issue_token(sandbox.secret, platform, account_id))


def account_fixture(platform: Platform, account_id: str) -> FixtureFunctionDefinition:
    """An `account` fixture: `credentials` for `account_id` on `platform`."""

    @pytest.fixture
    def account(sandbox: RunningSandbox) -> Credentials:
        return credentials(sandbox, platform, account_id)

    return account


def provider_fixture(
    make: Callable[[httpx.AsyncClient, str, MediaDownloads], P], path: str
) -> FixtureFunctionDefinition:
    """A `provider` fixture: `make` with its own client, on the sandbox at `path`.

    It asks for `sandbox_http`, so the sandbox is reset before the test."""

    @pytest.fixture
    async def provider(
        sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
    ) -> AsyncIterator[P]:
        async with on_sandbox(sandbox, make, path) as made:
            yield made

    return provider


@asynccontextmanager
async def on_sandbox(
    sandbox: RunningSandbox, make: Callable[[httpx.AsyncClient, str, MediaDownloads], P], path: str
) -> AsyncIterator[P]:
    """A provider made by `make` with its own client, on the sandbox at `path`."""
    async with httpx.AsyncClient(timeout=10) as http:
        yield make(http, f"{sandbox.url}/{path}", loopback_media())


def began() -> datetime:
    """An attempt's `since`, as the ledger gives it: when it began, less the clock skew."""
    return datetime.now(UTC) - CLOCK_SKEW


def a_minute_ago() -> datetime:
    """A `since` a little before anything posted in the test."""
    return datetime.now(UTC) - timedelta(minutes=1)


def a_minute_from_now() -> datetime:
    """A `since` after everything posted so far: an attempt that began after it all."""
    return datetime.now(UTC) + timedelta(minutes=1)


async def ready(provider: Provider, account: Credentials, content: PostContent) -> Preparation:
    """`content` prepared and checked ready for publish (a container processed, say)."""
    prepared = await provider.prepare(account, content)
    assert (await provider.check(account, prepared)).state == "ready"
    return prepared


async def prepare_and_publish(
    provider: Provider, account: Credentials, content: PostContent, *, check: bool = False
) -> tuple[Preparation, Published]:
    """`content` posted as a run posts it: prepared (with `check`, then checked `ready`), then
    published with that preparation."""
    if check:
        prepared = await ready(provider, account, content)
    else:
        prepared = await provider.prepare(account, content)
    return prepared, await provider.publish(account, content, prepared)


async def stub_lookup(
    make: Callable[[httpx.AsyncClient, str, MediaDownloads], Provider],
    respond: Callable[[httpx.Request], httpx.Response],
    account: Credentials,
    content: PostContent,
    *,
    since: datetime,
) -> tuple[Published | None, list[httpx.Request]]:
    """`find_published` (nothing prepared) on a provider whose every request `respond`
    answers: what it found, and the requests it sent, in order."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        provider = make(http, "https://api.example", loopback_media())
        found = await provider.find_published(account, content, Preparation(), since=since)
    return found, seen


# Graph containers (Instagram, Threads) ------------------------------------------------------


async def found_among(
    provider: Provider,
    account: Credentials,
    wanted: PostContent,
    *,
    before: Iterable[PostContent] = (),
    after: Iterable[PostContent] = (),
) -> None:
    """`before`, `wanted` and `after` published in turn, each from its own ready container: the
    lookup for `wanted`'s container finds exactly what its publish returned."""
    since = began()
    for content in before:
        await prepare_and_publish(provider, account, content, check=True)
    prepared, published = await prepare_and_publish(provider, account, wanted, check=True)
    for content in after:
        await prepare_and_publish(provider, account, content, check=True)

    assert await provider.find_published(account, wanted, prepared, since=since) == published


async def unpublished_container_is_not_found(
    provider: Provider, account: Credentials, content: PostContent
) -> None:
    """`content` published just now from another container: this run's container, ready but
    never published, is not found for it."""
    since = began()
    await prepare_and_publish(provider, account, content, check=True)
    ours = await ready(provider, account, content)

    assert await provider.find_published(account, content, ours, since=since) is None


async def containers_page_back_to_the_oldest_match_then_give_up(
    provider: Provider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    *,
    ours: PostContent,
    newer: Callable[[int], PostContent],
    listing: str,
    noun: str,
) -> None:
    """`ours`, then four `newer` posts: two a page, the lookup reads back along the `after`
    cursors (GET calls on `listing`, a regex) to `ours`; two pages at most, it gives up
    (`NotCheckable`, "more than 4 `noun`")."""
    since = began()
    prepared, published = await prepare_and_publish(provider, account, ours, check=True)
    for n in range(4):
        await prepare_and_publish(provider, account, newer(n), check=True)
    monkeypatch.setattr(graph, "LOOKUP_PAGE_SIZE", 2)

    assert await provider.find_published(account, ours, prepared, since=since) == published
    assert await calls(sandbox_http, listing, method="GET") == 3  # 2 + 2 + 1

    monkeypatch.setattr(graph, "LOOKUP_MAX_PAGES", 2)
    with pytest.raises(NotCheckable, match=f"more than 4 {noun}"):
        await provider.find_published(account, ours, prepared, since=since)


# What the sandbox saw -----------------------------------------------------------------------


async def calls(sandbox_http: httpx.AsyncClient, path: str, method: str | None = None) -> int:
    """How many calls the sandbox received on paths matching `path` (a regex)."""
    params = {"path": path} if method is None else {"method": method, "path": path}
    answer = await sandbox_http.get("/_control/calls", params=params)
    count: int = answer.json()["meta"]["count"]
    return count


async def sandbox_posts(
    sandbox_http: httpx.AsyncClient, platform: Platform | None = None
) -> list[dict[str, Any]]:
    """What the sandbox holds for `platform` (None: for every platform)."""
    params = {} if platform is None else {"platform": platform.value}
    answer = await sandbox_http.get("/_control/posts", params=params)
    posts: list[dict[str, Any]] = answer.json()["data"]
    return posts


async def inject(sandbox_http: httpx.AsyncClient, **fault: object) -> None:
    """Add a fault to the sandbox (see sandbox.state.Fault)."""
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
