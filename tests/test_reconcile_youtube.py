"""YouTube after a lost answer: the upload session says whether it made the video.

A session that holds every byte answers with its video; one that holds none cannot speak for
an upload through another session, so the channel's own videos are searched too. Through the
workflow, then `find_published` against the sandbox's sessions, search.list and videos.list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers import youtube
from providers.base import (
    Credentials,
    NotCheckable,
    PostContent,
    Preparation,
    Published,
)
from providers.youtube import YouTubeProvider
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import a_minute_ago, a_minute_from_now
from tests.support.servers import RunningSandbox

CHANNEL = "UCsandboxReconcile000001"
UPLOAD = r"^/youtube/upload/youtube/v3/videos$"
SEARCH = r"^/youtube/youtube/v3/search$"
TEXT = "Launch day\nEverything we shipped this week."
# The first PUT of every publish asks the session what it holds (`bytes */N`); the upload is
# the second. A fault answering the first as an empty session would (308, no Range) lets the
# next fault land on the upload itself.
EMPTY_SESSION = {"method": "PUT", "path": UPLOAD, "status": 308, "times": 1}
PUBLISHING = reconcile.Publishing(Platform.YOUTUBE, CHANNEL, UPLOAD, method="PUT")


account = reconcile.account_fixture(Platform.YOUTUBE, CHANNEL)
provider = reconcile.provider_fixture(YouTubeProvider, "youtube")


def video(sandbox_url: str, text: str = TEXT) -> PostContent:
    return PostContent(text=text, media_urls=[f"{sandbox_url}/youtube/media/launch.mp4"])


async def searches(sandbox_http: httpx.AsyncClient) -> int:
    return await reconcile.calls(sandbox_http, SEARCH)


def scheduled(sandbox_url: str) -> dict[str, Any]:
    """What the workflow tests upload: `video`, as `harness.schedule` takes it."""
    content = video(sandbox_url)
    return {"body": content.text, "media_urls": content.media_urls}


@dataclass
class Channel:
    """The sandbox channel, through the provider: videos posted to it and looked up."""

    provider: YouTubeProvider
    account: Credentials
    sandbox_url: str

    def video(self, text: str = TEXT) -> PostContent:
        return video(self.sandbox_url, text)

    async def publish(self, content: PostContent) -> tuple[Preparation, Published]:
        """`content` uploaded through this attempt's session, as a run uploads it."""
        return await reconcile.prepare_and_publish(self.provider, self.account, content)

    async def upload(self, text: str = TEXT) -> Published:
        """A video uploaded through a session of its own, not the attempt's."""
        return await self.provider.publish(self.account, self.video(text), Preparation())

    async def find(
        self,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        since: datetime | None = None,
    ) -> Published | None:
        """The lookup for `content`: by default with no session of the attempt's, for an attempt
        begun a minute ago."""
        return await self.provider.find_published(
            self.account,
            content,
            Preparation() if prepared is None else prepared,
            since=a_minute_ago() if since is None else since,
        )


@pytest.fixture
def channel(sandbox: RunningSandbox, provider: YouTubeProvider, account: Credentials) -> Channel:
    return Channel(provider, account, sandbox.url)


@pytest.fixture
def pages_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The channel's videos looked up one per page, so a few videos make several pages."""
    monkeypatch.setattr(youtube, "LOOKUP_PAGE_SIZE", 1)


# --- through the workflow ---------------------------------------------------------------------


async def test_an_upload_whose_answer_was_lost_is_found_in_its_session_not_sent_twice(
    harness: Harness,
) -> None:
    await harness.inject(**EMPTY_SESSION)
    await reconcile.lost_answer_is_found(
        harness, PUBLISHING, **scheduled(harness.settings.sandbox_url)
    )

    assert await searches(harness.sandbox) == 0  # the session itself answered


async def test_a_5xx_that_made_nothing_is_looked_up_then_uploaded_once(harness: Harness) -> None:
    await harness.inject(**EMPTY_SESSION)
    await reconcile.refusal_is_looked_for_then_posted_once(
        harness, PUBLISHING, **scheduled(harness.settings.sandbox_url)
    )


# --- the session ------------------------------------------------------------------------------


async def test_a_finished_session_answers_with_its_video(
    channel: Channel, sandbox_http: httpx.AsyncClient
) -> None:
    content = channel.video()
    prepared, published = await channel.publish(content)

    assert await channel.find(content, prepared) == published
    assert await searches(sandbox_http) == 0


async def test_a_session_holding_some_bytes_made_no_video_yet(
    channel: Channel, sandbox_http: httpx.AsyncClient
) -> None:
    content = channel.video()
    prepared = await channel.provider.prepare(channel.account, content)
    # Only the first bytes arrive, as when a connection drops mid-upload.
    half = (await sandbox_http.get("/youtube/media/launch.mp4")).content[:1000]
    auth = {"Authorization": f"Bearer {channel.account.access_token}", "Content-Type": "video/mp4"}
    cut = await sandbox_http.put(str(prepared.ids["session"]), headers=auth, content=half)
    assert cut.status_code == 308

    assert await channel.find(content, prepared) is None
    assert await searches(sandbox_http) == 0  # this run's own session: nothing else to ask


async def test_an_empty_session_does_not_speak_for_an_upload_through_another(
    channel: Channel,
) -> None:
    # An earlier run of the target uploaded through its own session; this run's is empty.
    content = channel.video()
    _, earlier = await channel.publish(content)
    await channel.upload("Another video")

    fresh = await channel.provider.prepare(channel.account, content)
    assert await channel.find(content, fresh) == earlier


async def test_an_expired_session_falls_back_to_the_channels_videos(channel: Channel) -> None:
    content = channel.video()
    prepared, published = await channel.publish(content)
    session = str(prepared.ids["session"]).replace("upload_id=", "upload_id=gone")
    expired = Preparation(ids={**prepared.ids, "session": session})

    assert await channel.find(content, expired) == published


async def test_a_video_with_other_words_or_made_before_the_attempt_is_not_it(
    channel: Channel,
) -> None:
    content = channel.video()
    await channel.upload()

    assert await channel.find(content) is not None
    assert await channel.find(channel.video(TEXT + " And more.")) is None
    assert await channel.find(content.model_copy(update={"title": "Other"})) is None
    assert await channel.find(content, since=a_minute_from_now()) is None


# --- the channel's videos ---------------------------------------------------------------------


@pytest.mark.usefixtures("pages_of_one")
async def test_the_search_is_paged_back_until_it_passes_the_attempt(
    channel: Channel, sandbox_http: httpx.AsyncClient
) -> None:
    wanted = await channel.upload()
    await channel.upload("newer")

    assert await channel.find(channel.video()) == wanted
    assert await searches(sandbox_http) == 2


@pytest.mark.usefixtures("pages_of_one")
async def test_a_search_reaching_back_past_the_attempt_ends_the_lookup(
    channel: Channel, sandbox_http: httpx.AsyncClient
) -> None:
    for n in range(2):
        await channel.upload(f"older {n}")

    assert await channel.find(channel.video(), since=a_minute_from_now()) is None
    assert await searches(sandbox_http) == 1


@pytest.mark.usefixtures("pages_of_one")
async def test_more_new_videos_than_it_reads_is_not_checkable(channel: Channel) -> None:
    for n in range(3):
        await channel.upload(f"newer {n}")

    with pytest.raises(NotCheckable, match="over 2 videos"):
        await channel.find(channel.video())


async def test_the_sandbox_search_is_the_channels_own_newest_first(
    sandbox: RunningSandbox,
    channel: Channel,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
) -> None:
    for title in ("Fish & chips", "Second"):
        await channel.upload(title)
    other = issue_token(sandbox.secret, "youtube", "UCsomeoneelse00000000001")
    params = {"part": "snippet", "forMine": "true", "type": "video", "maxResults": "50"}

    mine = await sandbox_http.get(
        "/youtube/youtube/v3/search",
        params=params,
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    theirs = await sandbox_http.get(
        "/youtube/youtube/v3/search", params=params, headers={"Authorization": f"Bearer {other}"}
    )
    dated = await sandbox_http.get(
        "/youtube/youtube/v3/search",
        params={**params, "publishedAfter": "2026-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {account.access_token}"},
    )

    titles = [item["snippet"]["title"] for item in mine.json()["items"]]
    assert titles == ["Second", "Fish &amp; chips"]  # search snippets are HTML-escaped
    assert theirs.json()["items"] == []
    assert dated.status_code == 400
    assert dated.json()["error"]["errors"][0]["reason"] == "invalidSearchFilter"
