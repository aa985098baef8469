"""Bluesky: the provider against the sandbox's XRPC stand-in over real HTTP, plus its helpers.

One test stubs the transport, to pin exactly what createRecord sends on the wire.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.bluesky import BlueskyProvider, grapheme_length
from providers.bluesky_errors import xrpc_error
from providers.bluesky_mentions import link_facets
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.media import loopback_media
from tests.support.servers import RunningSandbox

DID = "did:plc:sandboxalice"
CREATE = r"/bluesky/xrpc/com\.atproto\.repo\.createRecord"


account = reconcile.account_fixture(Platform.BLUESKY, DID)
provider = reconcile.provider_fixture(BlueskyProvider, "bluesky")


async def posts(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.BLUESKY)


inject = reconcile.inject


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("", 0),
        ("hello", 5),
        ("e\u0301", 1),  # e + combining acute
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", 1),  # family, ZWJ
        ("\U0001f44d\U0001f3fd", 1),  # thumbs up, skin tone
        ("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 2),  # two flags
        ("\U0001f1eb\U0001f1f7\U0001f1e9", 2),  # a flag and a lone indicator
        ("\u2764\ufe0f", 1),  # heart + variation selector
        ("\u1100\u1161\u11a8", 1),  # Hangul jamo L V T
        ("\r\n", 1),
        ("a\u200db", 2),  # ZWJ joins emoji, not letters
    ],
)
def test_grapheme_length_counts_what_people_see(text: str, length: int) -> None:
    assert grapheme_length(text) == length


def test_link_facets_count_utf8_bytes_and_drop_trailing_punctuation() -> None:
    text = "Café 🎉 read https://example.com/a?b=1. or (https://en.wikipedia.org/wiki/X_(y))"
    facets = link_facets(text)
    encoded = text.encode()
    assert [f["features"][0]["uri"] for f in facets] == [
        "https://example.com/a?b=1",
        "https://en.wikipedia.org/wiki/X_(y)",
    ]
    # "Café " is 6 bytes and the emoji 4, so the byte offset is well past the char offset.
    assert facets[0]["index"] == {"byteStart": 16, "byteEnd": 41}
    assert text.index("https") == 12
    for facet in facets:
        index = facet["index"]
        span = encoded[index["byteStart"] : index["byteEnd"]].decode()
        assert span == facet["features"][0]["uri"]
        assert facet["features"][0]["$type"] == "app.bsky.richtext.facet#link"
    assert link_facets("no links, just ftp://x.y") == []


# --- the exact request ------------------------------------------------------------------------


async def test_create_record_request_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"uri": f"at://{DID}/app.bsky.feed.post/3kabc", "cid": "x"})

    account = Credentials(external_id=DID, access_token="jwt-access")
    content = PostContent(
        text="Voilà https://crier.example",
        link="https://crier.example",
        title="Crier",
        options={"rkey": "3kabc", "langs": ["fr"]},
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        published = await BlueskyProvider(http, "https://pds.example/", loopback_media()).publish(
            account, content, Preparation()
        )

    assert published.external_id == f"at://{DID}/app.bsky.feed.post/3kabc"
    assert published.url == f"https://bsky.app/profile/{DID}/post/3kabc"
    [request] = seen
    assert (request.method, str(request.url)) == (
        "POST",
        "https://pds.example/xrpc/com.atproto.repo.createRecord",
    )
    assert request.headers["authorization"] == "Bearer jwt-access"
    assert "jwt-access" not in str(request.url)
    body = json.loads(request.content)
    created_at = body["record"].pop("createdAt")
    assert created_at.endswith("Z") and len(created_at) == len("2026-01-01T00:00:00.000Z")
    assert body == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": "3kabc",
        "record": {
            "$type": "app.bsky.feed.post",
            "text": "Voilà https://crier.example",
            "langs": ["fr"],
            "facets": [
                {
                    "index": {"byteStart": 7, "byteEnd": 28},
                    "features": [
                        {"$type": "app.bsky.richtext.facet#link", "uri": "https://crier.example"}
                    ],
                }
            ],
            "embed": {
                "$type": "app.bsky.embed.external",
                "external": {"uri": "https://crier.example", "title": "Crier", "description": ""},
            },
        },
    }


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (httpx.Response(400, json={"error": "ExpiredToken", "message": "x"}), AuthError),
        (httpx.Response(401, json={"error": "InvalidToken", "message": "x"}), AuthError),
        (httpx.Response(400, json={"error": "InvalidRequest", "message": "x"}), ContentError),
        (httpx.Response(404, text="not found"), ContentError),
        (httpx.Response(429, json={"error": "RateLimitExceeded"}), RateLimitedError),
        (httpx.Response(502, text="<html>Bad gateway</html>"), TransientError),
        (httpx.Response(500, json={"error": "InternalServerError"}), TransientError),
    ],
)
def test_xrpc_errors_map_into_the_taxonomy(response: httpx.Response, kind: type) -> None:
    error = xrpc_error(response)
    assert type(error) is kind
    assert error.platform == "bluesky"


# --- against the sandbox ----------------------------------------------------------------------


async def test_a_link_post_has_byte_offset_facets(
    provider: BlueskyProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    text = "Été 🎉 au café: https://crier.example/notes?id=1 à bientôt"
    published = await provider.publish(account, PostContent(text=text), Preparation())

    assert published.external_id.startswith(f"at://{DID}/app.bsky.feed.post/")
    rkey = published.external_id.rsplit("/", 1)[1]
    assert published.url == f"https://bsky.app/profile/{DID}/post/{rkey}"
    [post] = await posts(sandbox_http)
    assert (post["id"], post["text"], post["url"]) == (published.external_id, text, published.url)
    record = await sandbox_http.get(
        "/bluesky/xrpc/com.atproto.repo.getRecord",
        params={"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey},
    )
    [facet] = record.json()["value"]["facets"]
    # The sandbox also checks the range covers the URL; these pin the numbers themselves.
    assert facet["index"] == {"byteStart": 21, "byteEnd": 53}
    assert text.index("https") == 15


async def test_two_images_go_up_as_blobs_then_one_post(
    sandbox: RunningSandbox,
    provider: BlueskyProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = PostContent(
        text="two pictures",
        media_urls=[f"{sandbox.url}/bluesky/media/a.jpg", f"{sandbox.url}/bluesky/media/b.png"],
        options={"alt_texts": ["first"]},
    )
    prepared = await provider.prepare(account, content)
    blobs = prepared.ids["blobs"]
    assert [b["mimeType"] for b in blobs] == ["image/jpeg", "image/png"]
    assert all(b["$type"] == "blob" and b["ref"]["$link"].startswith("bafkrei") for b in blobs)
    assert (await provider.check(account, prepared)).state == "ready"

    published = await provider.publish(account, content, prepared)

    [post] = await posts(sandbox_http)
    assert post["media"] == [b["ref"]["$link"] for b in blobs]
    rkey = published.external_id.rsplit("/", 1)[1]
    record = await sandbox_http.get(
        "/bluesky/xrpc/com.atproto.repo.getRecord",
        params={"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey},
    )
    embed = record.json()["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [(i["image"], i["alt"]) for i in embed["images"]] == [
        (blobs[0], "first"),
        (blobs[1], ""),
    ]


async def test_an_explicit_rkey_is_found_and_cannot_be_created_twice(
    provider: BlueskyProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="once", options={"rkey": "3lcrier0000a"})
    published = await provider.publish(account, content, Preparation())
    assert published.external_id == f"at://{DID}/app.bsky.feed.post/3lcrier0000a"

    found = await sandbox_http.get(
        "/bluesky/xrpc/com.atproto.repo.getRecord",
        params={"repo": DID, "collection": "app.bsky.feed.post", "rkey": "3lcrier0000a"},
    )
    assert found.status_code == 200
    assert found.json()["uri"] == published.external_id
    assert found.json()["value"]["text"] == "once"
    missing = await sandbox_http.get(
        "/bluesky/xrpc/com.atproto.repo.getRecord",
        params={"repo": DID, "collection": "app.bsky.feed.post", "rkey": "3lcrier0000b"},
    )
    assert (missing.status_code, missing.json()["error"]) == (400, "RecordNotFound")

    with pytest.raises(ContentError, match="already exists") as refused:
        await provider.publish(account, content, Preparation())
    assert refused.value.code == "InvalidRequest"
    assert len(await posts(sandbox_http)) == 1


async def test_every_answer_carries_rate_limit_headers(
    account: Credentials, sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    answers = [
        await sandbox_http.post(
            "/bluesky/xrpc/com.atproto.repo.createRecord",
            headers={"Authorization": f"Bearer {account.access_token}"},
            json={
                "repo": DID,
                "collection": "app.bsky.feed.post",
                "record": {"$type": "app.bsky.feed.post", "text": t, "createdAt": "2026-01-01"},
            },
        )
        for t in ("a", "b" * 301)
    ]
    assert [a.status_code for a in answers] == [200, 400]
    assert answers[0].headers["ratelimit-policy"] == "5000;w=3600"
    assert answers[0].headers["ratelimit-remaining"] == "4997"  # a create costs 3 points
    assert answers[1].headers["ratelimit-remaining"] == "4997"
    assert int(answers[0].headers["ratelimit-reset"]) > time.time()


async def test_a_503_is_transient(
    provider: BlueskyProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    await inject(sandbox_http, method="POST", path=CREATE, status=503)
    with pytest.raises(TransientError) as raised:
        await provider.publish(account, PostContent(text="hi"), Preparation())
    assert raised.value.http_status == 503
    assert await posts(sandbox_http) == []


async def test_a_429_waits_for_ratelimit_reset(
    provider: BlueskyProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    reset = int(time.time()) + 120
    await inject(
        sandbox_http,
        method="POST",
        path=CREATE,
        status=429,
        body={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        headers={"ratelimit-reset": str(reset), "ratelimit-remaining": "0"},
    )
    with pytest.raises(RateLimitedError) as raised:
        await provider.publish(account, PostContent(text="hi"), Preparation())
    assert raised.value.code == "RateLimitExceeded"
    wait = raised.value.retry_after
    assert wait is not None and timedelta(seconds=115) <= wait <= timedelta(seconds=120)


async def test_over_300_graphemes_is_refused_by_the_sandbox(
    provider: BlueskyProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    # 300 family emoji are 300 graphemes (fine) but 301 are not, whatever their 7-char length.
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    await provider.publish(account, PostContent(text=family * 100), Preparation())
    with pytest.raises(ContentError, match="300 graphemes") as raised:
        await provider.publish(account, PostContent(text="x" * 301), Preparation())
    assert (raised.value.code, raised.value.http_status) == ("InvalidRequest", 400)
    assert len(await posts(sandbox_http)) == 1


async def test_a_forged_token_is_an_auth_error(
    provider: BlueskyProvider, sandbox_http: httpx.AsyncClient
) -> None:
    forged = Credentials(
        external_id=DID, access_token=issue_token("not-the-secret", "bluesky", DID)
    )
    with pytest.raises(AuthError) as raised:
        await provider.publish(forged, PostContent(text="hi"), Preparation())
    assert (raised.value.code, raised.value.http_status) == ("InvalidToken", 401)


async def test_an_expired_token_answers_400_and_is_still_an_auth_error(
    sandbox: RunningSandbox, provider: BlueskyProvider, sandbox_http: httpx.AsyncClient
) -> None:
    expired = issue_token(sandbox.secret, "bluesky", DID, expires_at=int(time.time()) - 1)
    with pytest.raises(AuthError) as raised:
        await provider.publish(
            Credentials(external_id=DID, access_token=expired),
            PostContent(text="hi"),
            Preparation(),
        )
    assert (raised.value.code, raised.value.http_status) == ("ExpiredToken", 400)


async def test_the_sandbox_refuses_facets_and_blobs_that_do_not_fit(
    sandbox: RunningSandbox, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    async def create(record: dict[str, object], token: str = account.access_token) -> str:
        record = {"$type": "app.bsky.feed.post", "createdAt": "2026-01-01T00:00:00Z", **record}
        answer = await sandbox_http.post(
            "/bluesky/xrpc/com.atproto.repo.createRecord",
            headers={"Authorization": f"Bearer {token}"},
            json={"repo": DID, "collection": "app.bsky.feed.post", "record": record},
        )
        assert answer.status_code == 400
        assert answer.json()["error"] == "InvalidRequest"
        return str(answer.json()["message"])

    link = {"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example"}
    text = "é https://a.example"
    # Character offsets, the classic mistake, are one byte short because of the é.
    by_chars = [{"index": {"byteStart": 2, "byteEnd": 19}, "features": [link]}]
    assert "covers" in await create({"text": text, "facets": by_chars})
    past_end = [{"index": {"byteStart": 3, "byteEnd": 40}, "features": [link]}]
    assert "past the text" in await create({"text": text, "facets": past_end})

    other = issue_token(sandbox.secret, "bluesky", "did:plc:sandboxbob")
    upload = await sandbox_http.post(
        "/bluesky/xrpc/com.atproto.repo.uploadBlob",
        headers={"Authorization": f"Bearer {other}", "Content-Type": "image/jpeg"},
        content=b"\xff\xd8\xff\xe0bob",
    )
    blob = upload.json()["blob"]
    embed = {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": ""}]}
    assert "Could not find blob" in await create({"text": "x", "embed": embed})
    assert await posts(sandbox_http) == []


async def test_each_images_alt_text_is_its_alt_in_the_embed(
    sandbox: RunningSandbox,
    provider: BlueskyProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
) -> None:
    # The media's own alt text wins over the older option; an image without one gets "" (the
    # lexicon requires alt), or the option's where it names one.
    content = PostContent(
        text="three pictures",
        media_urls=[f"{sandbox.url}/bluesky/media/{name}" for name in ("a.jpg", "b.png", "c.jpg")],
        media_alt=["A harbour at dawn", None, None],
        options={"alt_texts": ["ignored", "from the option"]},
    )
    prepared = await provider.prepare(account, content)
    await provider.publish(account, content, prepared)

    [post] = await posts(sandbox_http)
    assert post["alt"] == ["A harbour at dawn", "from the option", ""]
