"""YouTube's own upload fields over real HTTP against the sandbox: category, tags, made for
kids and the rest arrive in the video's snippet and status, an unknown category is refused as
YouTube refuses it, and a Short is checked against its header before anything is uploaded.

A video's frame and length are not known at create (the API reads a video's headers, never its
bytes), so the Short check runs at prepare; the options themselves are checked at create."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, PostContent
from providers.errors import ContentError
from providers.options import options_problems
from providers.youtube import YouTubeProvider
from providers.youtube_upload import mp4_facts
from sandbox.youtube import sample_bytes
from tests.support import reconcile
from tests.support.servers import RunningSandbox

CHANNEL = "UCsandbox0000000000000001"

account = reconcile.account_fixture(Platform.YOUTUBE, CHANNEL)
provider = reconcile.provider_fixture(YouTubeProvider, "youtube")

# The `title` option reaches the provider as PostContent.title (the worker hands it over).
EVERY_FIELD: dict[str, Any] = {
    "tags": ["launch", "crier"],
    "category_id": "28",
    "made_for_kids": True,
    "contains_synthetic_media": True,
    "embeddable": False,
    "public_stats_viewable": False,
    "license": "creativeCommon",
    "default_language": "en-GB",
    "notify_subscribers": False,
}


def a_video(sandbox: RunningSandbox, name: str, **options: Any) -> PostContent:
    url = f"{sandbox.url}/youtube/media/{name}.mp4"
    return PostContent(text="Everything we shipped.", media_urls=[url], options=options)


async def stored(sandbox_http: httpx.AsyncClient, video_id: str) -> dict[str, Any]:
    answer = await sandbox_http.get(f"/youtube/_control/videos/{video_id}")
    answer.raise_for_status()
    video: dict[str, Any] = answer.json()
    return video


async def test_every_field_arrives_on_the_video(
    provider: YouTubeProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = a_video(sandbox, "launch", **EVERY_FIELD)
    content = content.model_copy(update={"title": "Launch day"})
    _, published = await reconcile.prepare_and_publish(provider, account, content)

    video = await stored(sandbox_http, published.external_id)
    snippet, status = video["snippet"], video["status"]
    assert (snippet["title"], snippet["tags"]) == ("Launch day", ["launch", "crier"])
    assert (snippet["categoryId"], snippet["defaultLanguage"]) == ("28", "en-GB")
    assert status | {"uploadStatus": "-"} == {
        "uploadStatus": "-",
        "privacyStatus": "public",
        "license": "creativeCommon",
        "embeddable": False,
        "publicStatsViewable": False,
        "selfDeclaredMadeForKids": True,
        "containsSyntheticMedia": True,
    }
    assert video["sandbox"] == {"notifySubscribers": False}


async def test_left_out_fields_keep_youtubes_defaults_and_declare_not_for_kids(
    provider: YouTubeProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    _, published = await reconcile.prepare_and_publish(provider, account, a_video(sandbox, "plain"))

    video = await stored(sandbox_http, published.external_id)
    assert video["snippet"]["categoryId"] == "22" and "defaultLanguage" not in video["snippet"]
    assert video["status"]["selfDeclaredMadeForKids"] is False  # declared, as COPPA needs
    assert "containsSyntheticMedia" not in video["status"]
    assert video["sandbox"] == {"notifySubscribers": True}


async def test_a_video_made_for_kids_refuses_its_first_comment(
    provider: YouTubeProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    _, published = await reconcile.prepare_and_publish(
        provider, account, a_video(sandbox, "kids", made_for_kids=True)
    )
    thread = {"snippet": {"videoId": published.external_id, "topLevelComment": {}}}
    thread["snippet"]["topLevelComment"] = {"snippet": {"textOriginal": "First!"}}
    answer = await sandbox_http.post(
        "/youtube/youtube/v3/commentThreads",
        params={"part": "snippet"},
        json=thread,
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["errors"][0]["reason"] == "commentsDisabled"


async def test_an_unknown_category_is_refused_with_youtubes_error(
    provider: YouTubeProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    with pytest.raises(ContentError) as refused:
        await provider.prepare(account, a_video(sandbox, "odd", category_id="9999"))

    assert refused.value.http_status == 400
    assert "invalid category ID" in str(refused.value)
    assert await reconcile.sandbox_posts(sandbox_http, Platform.YOUTUBE) == []


async def test_a_vertical_short_uploads_as_it_is(
    provider: YouTubeProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    content = a_video(sandbox, "tall-1080x1920-45s", post_type="short")
    _, published = await reconcile.prepare_and_publish(provider, account, content)

    video = await stored(sandbox_http, published.external_id)
    # No #Shorts added: YouTube files it by its frame and length, and the text is the caller's.
    assert video["snippet"]["title"] == "Everything we shipped."
    assert video["snippet"]["description"] == content.text


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("wide-1920x1080-30s", "a Short is square or vertical; this video is 1920\u00d71080"),
        ("long-1080x1920-240s", "a Short runs at most 180 seconds; this video runs 240"),
    ],
)
async def test_a_wide_or_long_short_is_refused_before_any_upload(
    provider: YouTubeProvider,
    account: Credentials,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
    name: str,
    problem: str,
) -> None:
    with pytest.raises(ContentError, match=problem):
        await provider.prepare(account, a_video(sandbox, name, post_type="short"))

    assert await reconcile.calls(sandbox_http, "^/youtube/upload/") == 0


async def test_the_same_wide_video_uploads_as_a_plain_video(
    provider: YouTubeProvider, account: Credentials, sandbox: RunningSandbox
) -> None:
    content = a_video(sandbox, "wide-1920x1080-30s")
    _, published = await reconcile.prepare_and_publish(provider, account, content)
    assert published.external_id


def test_the_header_reader_reads_length_and_frame_or_nothing() -> None:
    assert mp4_facts(sample_bytes("a-720x720-12s.mp4")) == (12.0, 720, 720)
    assert mp4_facts(sample_bytes("launch.mp4")) == (None, 0, 0)
    assert mp4_facts(b"\x00\x00\x00\x01moov") == (None, 0, 0)  # a 64-bit size cut short


def test_the_options_are_checked_at_create_naming_each_problem() -> None:
    chosen = EVERY_FIELD | {"post_type": "short", "title": "Launch day"}
    assert options_problems(Platform.YOUTUBE, chosen) == []
    problems = dict(
        options_problems(
            Platform.YOUTUBE,
            {
                "category_id": "Science",
                "made_for_kids": "no",
                "post_type": "reel",
                "default_language": "English!",
            },
        )
    )
    assert set(problems) == {
        ("category_id",),
        ("made_for_kids",),
        ("post_type",),
        ("default_language",),
    }
    assert "pattern" in problems[("category_id",)]
