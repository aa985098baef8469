"""Bluesky mentions: `@handle` in the text becomes a mention facet carrying the handle's DID,
at UTF-8 byte offsets, through the sandbox's resolveHandle and createRecord over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from providers.base import Credentials, PostContent, Preparation
from providers.bluesky import BlueskyProvider
from providers.bluesky_mentions import mention_spans
from providers.errors import TransientError
from sandbox.logins.bluesky import APP_PASSWORD, DEFAULT_DID, did_for
from sandbox.tokens import issue_token
from tests.support.media import loopback_media
from tests.support.servers import RunningSandbox

DID = "did:plc:sandboxalice"
MENTION = "app.bsky.richtext.facet#mention"
LINK = "app.bsky.richtext.facet#link"
RESOLVE = "/bluesky/xrpc/com.atproto.identity.resolveHandle"


@pytest.fixture
def account(sandbox: RunningSandbox) -> Credentials:
    return Credentials(external_id=DID, access_token=issue_token(sandbox.secret, "bluesky", DID))


@pytest.fixture
async def provider(sandbox: RunningSandbox) -> AsyncIterator[BlueskyProvider]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield BlueskyProvider(http, f"{sandbox.url}/bluesky", loopback_media())


async def record_of(sandbox_http: httpx.AsyncClient, uri: str) -> dict[str, Any]:
    repo, collection, rkey = uri.removeprefix("at://").split("/")
    answer = await sandbox_http.get(
        "/bluesky/xrpc/com.atproto.repo.getRecord",
        params={"repo": repo, "collection": collection, "rkey": rkey},
    )
    answer.raise_for_status()
    value: dict[str, Any] = answer.json()["value"]
    return value


def spans_of(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Each facet as (the text it covers, its feature type, its DID or URI)."""
    encoded = record["text"].encode()
    found = []
    for facet in record.get("facets") or []:
        index = facet["index"]
        [feature] = facet["features"]
        covered = encoded[index["byteStart"] : index["byteEnd"]].decode()
        found.append((covered, feature["$type"], feature.get("did") or feature.get("uri")))
    return found


def test_mentions_are_found_at_byte_offsets_and_not_in_links_or_addresses() -> None:
    text = "🎉 Café @Sandbox.bsky.social. mail me@bob.bsky.social, https://x.example/@a.bsky.social"
    link_start = len(text[: text.index("https")].encode())
    spans = mention_spans(text, [(link_start, len(text.encode()))])

    # The emoji is 4 bytes and "é" 2, so the mention starts at byte 11 though it is character 7.
    assert text.index("@Sandbox") == 7
    assert spans == [(11, 11 + len("@Sandbox.bsky.social"), "sandbox.bsky.social")]
    assert mention_spans("no @handle here, nor @x.1a") == []


async def test_a_mention_after_emoji_carries_the_did_at_its_byte_offsets(
    sandbox_http: httpx.AsyncClient, provider: BlueskyProvider, account: Credentials
) -> None:
    # A second account the sandbox knows: one that logged in.
    login = await sandbox_http.post(
        "/bluesky/xrpc/com.atproto.server.createSession",
        json={"identifier": "friend.bsky.social", "password": APP_PASSWORD},
    )
    login.raise_for_status()
    text = (
        "👩\u200d👩\u200d👧 thanks @sandbox.bsky.social and @Friend.bsky.social, "
        "see https://crier.example"
    )

    published = await provider.publish(account, PostContent(text=text), Preparation())

    record = await record_of(sandbox_http, published.external_id)
    assert spans_of(record) == [
        ("@sandbox.bsky.social", MENTION, DEFAULT_DID),
        ("@Friend.bsky.social", MENTION, did_for("friend.bsky.social")),
        ("https://crier.example", LINK, "https://crier.example"),
    ]
    first = record["facets"][0]["index"]
    # Characters and bytes differ: the family emoji is 18 bytes but 5 code points.
    assert first["byteStart"] == len("👩\u200d👩\u200d👧 thanks ".encode()) == 26
    assert text.index("@sandbox") == 13


async def test_a_handle_no_account_has_stays_plain_text(
    sandbox_http: httpx.AsyncClient, provider: BlueskyProvider, account: Credentials
) -> None:
    text = "hello @nobody.bsky.social and @sandbox.bsky.social"
    published = await provider.publish(account, PostContent(text=text), Preparation())

    record = await record_of(sandbox_http, published.external_id)
    assert record["text"] == text
    assert spans_of(record) == [("@sandbox.bsky.social", MENTION, DEFAULT_DID)]
    calls = await sandbox_http.get("/_control/calls", params={"method": "GET", "path": RESOLVE})
    assert calls.json()["meta"]["count"] == 2  # each handle asked once


async def test_a_failing_resolve_fails_the_publish_before_anything_is_posted(
    sandbox_http: httpx.AsyncClient, provider: BlueskyProvider, account: Credentials
) -> None:
    fault = {"method": "GET", "path": RESOLVE, "status": 503}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()

    with pytest.raises(TransientError):
        await provider.publish(account, PostContent(text="hi @sandbox.bsky.social"))
    posted = await sandbox_http.get("/_control/posts", params={"platform": "bluesky"})
    assert posted.json()["data"] == []


async def test_the_sandbox_resolves_its_accounts_handles_only(
    sandbox_http: httpx.AsyncClient,
) -> None:
    async def resolve(handle: str) -> tuple[int, dict[str, Any]]:
        answer = await sandbox_http.get(RESOLVE, params={"handle": handle})
        return answer.status_code, answer.json()

    assert await resolve("Sandbox.BSKY.social") == (200, {"did": DEFAULT_DID})
    status, body = await resolve("nobody.bsky.social")
    assert (status, body["error"]) == (400, "HandleNotFound")
    status, body = await resolve("not a handle")
    assert (status, body["error"]) == (400, "InvalidRequest")


async def test_the_sandbox_refuses_a_mention_facet_that_does_not_fit(
    sandbox_http: httpx.AsyncClient, account: Credentials
) -> None:
    async def create(facet: dict[str, Any]) -> httpx.Response:
        record = {
            "$type": "app.bsky.feed.post",
            "createdAt": "2026-01-01T00:00:00Z",
            "text": "é @sandbox.bsky.social",
            "facets": [facet],
        }
        return await sandbox_http.post(
            "/bluesky/xrpc/com.atproto.repo.createRecord",
            headers={"Authorization": f"Bearer {account.access_token}"},
            json={"repo": DID, "collection": "app.bsky.feed.post", "record": record},
        )

    def mention(start: int, end: int, did: object = DEFAULT_DID) -> dict[str, Any]:
        feature = {"$type": MENTION, "did": did}
        return {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}

    refusals = {
        "splits a character": mention(1, 23),  # inside "é"
        "not an @handle": mention(2, 23),  # counted in characters, not bytes: one short
        "ends past the text": mention(3, 40),
        "must be a valid did": mention(3, 23, did="sandbox.bsky.social"),
    }
    for reason, facet in refusals.items():
        answer = await create(facet)
        assert answer.status_code == 400
        assert answer.json()["error"] == "InvalidRequest"
        assert reason in answer.json()["message"]
    accepted = await create(mention(3, 23))
    assert accepted.status_code == 200, accepted.text
