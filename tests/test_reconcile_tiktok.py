"""TikTok after a lost init answer: init is the post, so the ledger guards `prepare`.

With the publish_id, its status says what became of the post. Without it (the init's answer
was lost) only the list of the creator's public videos can show it, and a video not listed
may still be processing: that is `NotCheckable`, and the target ends `unconfirmed`.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.status import AttemptOutcome, Platform
from providers import tiktok
from providers.base import Credentials, NotCheckable, PostContent, Preparation
from providers.tiktok import TikTokProvider
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import a_minute_ago, a_minute_from_now

OPEN_ID = "-000sbxOpenIdReconcile1"
INIT = r"^/tiktok/v2/post/publish/video/init/$"
LIST = r"^/tiktok/v2/video/list/$"
VIDEO = "https://cdn.example.org/clip.mp4"
CAPTION = "Behind the scenes #crier"
PUBLIC = {"privacy_level": "PUBLIC_TO_EVERYONE"}
PUBLISHING = reconcile.Publishing(Platform.TIKTOK, OPEN_ID, INIT)
CLIP: dict[str, Any] = {"body": CAPTION, "media_urls": [VIDEO]}  # what the workflow tests post


account = reconcile.account_fixture(Platform.TIKTOK, OPEN_ID)
provider = reconcile.provider_fixture(TikTokProvider, "tiktok")


async def control(sandbox_http: httpx.AsyncClient, method: str, path: str, body: Any) -> None:
    (await sandbox_http.request(method, f"/_control/tiktok{path}", json=body)).raise_for_status()


async def public_only(sandbox_http: httpx.AsyncClient) -> None:
    """A creator whose only privacy level is public, so crier's default picks it."""
    body = {"username": "crier.test", "privacy_level_options": ["PUBLIC_TO_EVERYONE"]}
    await control(sandbox_http, "PUT", f"/creators/{OPEN_ID}", body)


async def publishes(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await sandbox_http.get("/_control/tiktok/publishes")).json()[
        "data"
    ]
    return found


async def list_reads(sandbox_http: httpx.AsyncClient) -> int:
    return await reconcile.calls(sandbox_http, LIST)


async def posted(
    provider: TikTokProvider, account: Credentials, text: str = CAPTION
) -> tuple[PostContent, Preparation]:
    """A public video, all the way through (the first status read completes it)."""
    content = PostContent(text=text, media_urls=[VIDEO], options=PUBLIC)
    return content, await reconcile.ready(provider, account, content)


# --- through the workflow ---------------------------------------------------------------------


async def test_an_init_whose_answer_was_lost_is_found_among_public_videos_not_sent_twice(
    harness: Harness,
) -> None:
    await public_only(harness.sandbox)
    await reconcile.lost_answer_is_found(harness, PUBLISHING, **CLIP)

    assert len(await publishes(harness.sandbox)) == 1  # one init reached TikTok


async def test_a_5xx_on_init_cannot_be_told_from_a_video_still_processing(
    harness: Harness,
) -> None:
    await public_only(harness.sandbox)
    settled = await reconcile.ends_unconfirmed(
        harness,
        PUBLISHING,
        refused=True,
        because="not among the account's public videos",
        **CLIP,
    )

    assert settled.posts == []
    assert await publishes(harness.sandbox) == []  # no second init either
    [attempt] = settled.attempts
    assert (attempt.outcome, attempt.error_kind) == (AttemptOutcome.UNKNOWN, "transient")


async def test_a_lost_init_still_processing_is_left_unconfirmed(harness: Harness) -> None:
    await public_only(harness.sandbox)
    statuses = ["PROCESSING_DOWNLOAD", "PROCESSING_UPLOAD", "PROCESSING_UPLOAD"]
    await control(harness.sandbox, "POST", "/next-publish", {"statuses": statuses})
    settled = await reconcile.ends_unconfirmed(harness, PUBLISHING, **CLIP)

    [made] = await publishes(harness.sandbox)
    assert made["status"] == "PROCESSING_DOWNLOAD"  # on its way; posting again would double it
    assert settled.target.external_id is None


async def test_a_lost_init_of_a_private_video_is_left_unconfirmed(harness: Harness) -> None:
    # Every level allowed: crier's default is the most private, which video.list never shows.
    await reconcile.ends_unconfirmed(harness, PUBLISHING, because="SELF_ONLY", **CLIP)

    assert len(await publishes(harness.sandbox)) == 1
    assert await list_reads(harness.sandbox) == 0  # no point asking


# --- with the publish_id ----------------------------------------------------------------------


async def test_with_the_publish_id_its_status_answers(
    provider: TikTokProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    await control(sandbox_http, "PUT", f"/creators/{OPEN_ID}", {"username": "crier.test"})
    statuses = {"statuses": ["PROCESSING_DOWNLOAD", "PUBLISH_COMPLETE"]}
    await control(sandbox_http, "POST", "/next-publish", statuses)
    content = PostContent(text=CAPTION, media_urls=[VIDEO], options=PUBLIC)
    prepared = await provider.prepare(account, content)

    # Still processing: not live, and `publish` (which only reads) may safely run.
    assert await provider.find_published(account, content, prepared, since=a_minute_ago()) is None
    found = await provider.find_published(account, content, prepared, since=a_minute_ago())

    assert found is not None
    assert found == await provider.publish(account, content, prepared)
    [post] = await reconcile.sandbox_posts(sandbox_http, Platform.TIKTOK)
    assert (found.external_id, found.url) == (post["id"], post["url"])
    assert await list_reads(sandbox_http) == 0


async def test_with_the_publish_id_a_failed_post_is_not_there(
    provider: TikTokProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    await control(sandbox_http, "POST", "/next-publish", {"statuses": ["FAILED"]})
    content = PostContent(text=CAPTION, media_urls=[VIDEO], options=PUBLIC)
    prepared = await provider.prepare(account, content)

    assert await provider.find_published(account, content, prepared, since=a_minute_ago()) is None


# --- without it: the public videos ------------------------------------------------------------


async def test_the_video_is_found_by_caption_and_time_with_its_public_url(
    provider: TikTokProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    await control(sandbox_http, "PUT", f"/creators/{OPEN_ID}", {"username": "crier.test"})
    content, prepared = await posted(provider, account)
    published = await provider.publish(account, content, prepared)
    await posted(provider, account, "a later video")

    found = await provider.find_published(account, content, Preparation(), since=a_minute_ago())

    assert found == published
    assert (
        found is not None
        and found.url == f"https://www.tiktok.com/@crier.test/video/{found.external_id}"
    )


async def test_other_words_or_an_older_video_are_not_it(
    provider: TikTokProvider, account: Credentials
) -> None:
    content, _ = await posted(provider, account)

    with pytest.raises(NotCheckable, match="not among the account's public videos"):
        await provider.find_published(
            account,
            content.model_copy(update={"text": "Behind"}),
            Preparation(),
            since=a_minute_ago(),
        )
    later = a_minute_from_now()
    with pytest.raises(NotCheckable, match="not among the account's public videos"):
        await provider.find_published(account, content, Preparation(), since=later)


async def test_the_list_is_paged_back_until_it_passes_the_attempt(
    provider: TikTokProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tiktok, "LOOKUP_PAGE_SIZE", 1)
    content, prepared = await posted(provider, account)
    wanted = await provider.publish(account, content, prepared)
    for n in range(2):
        await posted(provider, account, f"newer {n}")

    found = await provider.find_published(account, content, Preparation(), since=a_minute_ago())

    assert found == wanted
    assert await list_reads(sandbox_http) == 3


async def test_more_new_videos_than_it_reads_is_not_checkable(
    provider: TikTokProvider, account: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tiktok, "LOOKUP_PAGE_SIZE", 1)
    monkeypatch.setattr(tiktok, "LOOKUP_MAX_PAGES", 2)
    for n in range(3):
        await posted(provider, account, f"newer {n}")
    content = PostContent(text=CAPTION, media_urls=[VIDEO], options=PUBLIC)

    with pytest.raises(NotCheckable, match="over 2 videos"):
        await provider.find_published(account, content, Preparation(), since=a_minute_ago())


async def test_a_token_without_video_list_cannot_look(
    provider: TikTokProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    unauthorized = {
        "error": {
            "code": "scope_not_authorized",
            "message": "The user did not authorize the scope required for completing this request.",
            "log_id": "20260101000000ABCDEF",
        }
    }
    await reconcile.inject(sandbox_http, method="POST", path=LIST, status=401, body=unauthorized)
    content = PostContent(text=CAPTION, media_urls=[VIDEO], options=PUBLIC)

    with pytest.raises(NotCheckable, match=r"video\.list"):
        await provider.find_published(account, content, Preparation(), since=a_minute_ago())


async def test_the_sandbox_lists_public_finished_videos_newest_first(
    provider: TikTokProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    await posted(provider, account, "first")
    await posted(provider, account, "second")
    private = PostContent(
        text="private", media_urls=[VIDEO], options={"privacy_level": "SELF_ONLY"}
    )
    await provider.prepare(account, private)
    await provider.prepare(account, PostContent(text="draft", media_urls=[VIDEO]), draft=True)
    headers = {"Authorization": f"Bearer {account.access_token}"}

    listed = await sandbox_http.post(
        "/tiktok/v2/video/list/",
        params={"fields": "id,title,create_time"},
        headers=headers,
        json={"max_count": 20},
    )

    data = listed.json()["data"]
    assert [v["title"] for v in data["videos"]] == ["second", "first"]
    assert set(data["videos"][0]) == {"id", "title", "create_time"}
    assert data["has_more"] is False
    too_many = await sandbox_http.post(
        "/tiktok/v2/video/list/", params={"fields": "id"}, headers=headers, json={"max_count": 21}
    )
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (400, "invalid_params")
