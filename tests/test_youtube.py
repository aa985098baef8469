"""The YouTube provider against the sandbox over real HTTP: the resumable upload, its resumption
after a dropped connection (still one video), drafts as private videos, and the error mapping.

One test stubs the transport, to check exactly how the upload session is opened.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, PostContent
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from providers.youtube import YouTubeProvider
from providers.youtube_errors import youtube_error
from providers.youtube_quota import QUOTA_TIMEZONE
from sandbox import youtube as sandbox_youtube
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.media import loopback_media, media_host
from tests.support.servers import RunningSandbox

CHANNEL = "UCsandbox0000000000000001"
UPLOAD = "^/youtube/upload/youtube/v3/videos$"


account = reconcile.account_fixture(Platform.YOUTUBE, CHANNEL)
provider = reconcile.provider_fixture(YouTubeProvider, "youtube")


@pytest.fixture
def video(sandbox: RunningSandbox) -> PostContent:
    return PostContent(
        text="Launch day\nEverything we shipped this week.",
        media_urls=[f"{sandbox.url}/youtube/media/launch.mp4"],
        options={"tags": ["launch", "crier"]},
    )


async def posted(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.YOUTUBE)


async def listed(
    sandbox_http: httpx.AsyncClient, account: Credentials, video_id: str
) -> dict[str, Any]:
    answer = await sandbox_http.get(
        "/youtube/youtube/v3/videos",
        params={"part": "processingDetails,status", "id": video_id},
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    [item] = answer.json()["items"]
    found: dict[str, Any] = item
    return found


async def test_a_public_upload_makes_one_video_at_its_watch_url(
    provider: YouTubeProvider,
    account: Credentials,
    video: PostContent,
    sandbox_http: httpx.AsyncClient,
) -> None:
    prepared = await provider.prepare(account, video)
    assert set(prepared.ids) == {"session", "bytes", "type"}
    assert account.access_token not in json.dumps(prepared.ids)  # history holds no token
    assert (await provider.check(account, prepared)).state == "ready"
    assert await posted(sandbox_http) == []  # an open session is not a video

    published = await provider.publish(account, video, prepared)

    assert len(published.external_id) == 11
    assert published.url == f"https://www.youtube.com/watch?v={published.external_id}"
    [post] = await posted(sandbox_http)
    assert (post["id"], post["account"], post["text"], post["url"]) == (
        published.external_id,
        CHANNEL,
        video.text,
        published.url,
    )
    assert post["media"] == video.media_urls and post["published"] is True
    item = await listed(sandbox_http, account, published.external_id)
    assert item["status"] == {
        "uploadStatus": "processed",
        "privacyStatus": "public",
        "license": "youtube",
        "embeddable": True,
        "publicStatsViewable": True,
        "selfDeclaredMadeForKids": False,
    }


async def test_a_draft_is_a_private_video(
    provider: YouTubeProvider,
    account: Credentials,
    video: PostContent,
    sandbox_http: httpx.AsyncClient,
) -> None:
    prepared = await provider.prepare(account, video, draft=True)
    published = await provider.publish(account, video, prepared, draft=True)

    [post] = await posted(sandbox_http)
    assert post["id"] == published.external_id and post["published"] is False
    item = await listed(sandbox_http, account, published.external_id)
    assert item["status"]["privacyStatus"] == "private"


class DroppingTransport(httpx.AsyncBaseTransport):
    """Lets the first byte-carrying PUT reach the sandbox (whole, or only its first half), then
    drops the connection before the answer arrives."""

    def __init__(self, *, half: bool) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._half = half
        self.dropped = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content if request.method == "PUT" else b""
        if self.dropped or not body:
            return await self._inner.handle_async_request(request)
        self.dropped = True
        sent = body[: len(body) // 2] if self._half else body
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        cut = httpx.Request(request.method, request.url, headers=headers, content=sent)
        await self._inner.handle_async_request(cut)
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("half", [True, False], ids=["half-sent", "answer-lost"])
async def test_a_publish_retried_after_a_dropped_upload_makes_one_video(
    sandbox: RunningSandbox,
    account: Credentials,
    video: PostContent,
    sandbox_http: httpx.AsyncClient,
    half: bool,
) -> None:
    transport = DroppingTransport(half=half)
    async with httpx.AsyncClient(transport=transport, timeout=10) as http:
        provider = YouTubeProvider(http, f"{sandbox.url}/youtube", loopback_media())
        prepared = await provider.prepare(account, video)
        with pytest.raises(TransientError, match="connection failed"):
            await provider.publish(account, video, prepared)
        assert transport.dropped
        published = await provider.publish(account, video, prepared)

    [post] = await posted(sandbox_http)
    assert post["id"] == published.external_id


async def test_an_injected_fault_on_the_put_then_a_retry_makes_one_video(
    provider: YouTubeProvider,
    account: Credentials,
    video: PostContent,
    sandbox_http: httpx.AsyncClient,
) -> None:
    prepared = await provider.prepare(account, video)
    await sandbox_http.post(
        "/_control/faults", json={"method": "PUT", "path": UPLOAD, "times": 2, "status": 503}
    )
    for _ in range(2):
        with pytest.raises(TransientError):
            await provider.publish(account, video, prepared)
    await provider.publish(account, video, prepared)
    await provider.publish(account, video, prepared)  # a session that is done answers its video
    assert len(await posted(sandbox_http)) == 1


async def test_an_injected_503_is_transient(
    provider: YouTubeProvider,
    account: Credentials,
    video: PostContent,
    sandbox_http: httpx.AsyncClient,
) -> None:
    body = {"error": {"code": 503, "message": "Backend Error", "errors": [
        {"domain": "global", "reason": "backendError", "message": "Backend Error"}
    ]}}  # fmt: skip
    fault = {"method": "POST", "path": UPLOAD, "status": 503, "body": body}
    await sandbox_http.post("/_control/faults", json=fault)

    with pytest.raises(TransientError) as caught:
        await provider.prepare(account, video)
    assert (caught.value.http_status, caught.value.code) == (503, "backendError")


async def test_the_daily_insert_quota_waits_until_midnight_pacific(
    provider: YouTubeProvider,
    account: Credentials,
    video: PostContent,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox_youtube, "VIDEOS_INSERT_PER_DAY", 1)
    await provider.prepare(account, video)

    with pytest.raises(RateLimitedError) as caught:
        await provider.prepare(account, video)
    error = caught.value
    assert (error.http_status, error.code) == (403, "quotaExceeded")
    assert error.retry_after is not None and error.retry_after <= timedelta(hours=25)
    reset = datetime.now(QUOTA_TIMEZONE) + error.retry_after
    assert reset.astimezone(QUOTA_TIMEZONE).strftime("%H:%M") in ("00:00", "23:59")


async def test_a_bad_title_is_a_content_error(
    provider: YouTubeProvider,
    account: Credentials,
    video: PostContent,
    sandbox_http: httpx.AsyncClient,
) -> None:
    with pytest.raises(ContentError) as caught:
        await provider.prepare(account, video.model_copy(update={"title": "<b>loud</b>"}))
    assert (caught.value.http_status, caught.value.code) == (400, "invalidTitle")


@pytest.mark.parametrize(
    "token",
    [issue_token("not-the-sandbox-secret", "youtube", CHANNEL), "sbx_garbage.0000"],
)
async def test_a_forged_token_is_an_auth_error(
    provider: YouTubeProvider, video: PostContent, sandbox_http: httpx.AsyncClient, token: str
) -> None:
    with pytest.raises(AuthError) as caught:
        await provider.prepare(Credentials(CHANNEL, token), video)
    assert (caught.value.http_status, caught.value.code) == (401, "authError")
    assert await posted(sandbox_http) == []


async def test_the_exact_session_opening_request() -> None:
    seen: list[httpx.Request] = []
    session = "https://www.googleapis.com/upload/youtube/v3/videos?upload_id=xa298sd_f"

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"Location": session})

    account = Credentials(CHANNEL, "user-token")
    # The video comes from a real host through the guarded fetcher, never the platform client.
    async with (
        media_host({"/v.mp4": (b"0123456789", "video/mp4")}) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
    ):
        content = PostContent(text="x" * 120 + "\nsecond line", media_urls=[f"{host}/v.mp4"])
        prepared = await YouTubeProvider(
            http, "https://www.googleapis.com/", loopback_media()
        ).prepare(account, content)

    assert prepared.ids == {"session": session, "bytes": 10, "type": "video/mp4"}
    [opening] = seen
    assert (opening.method, str(opening.url)) == (
        "POST",
        "https://www.googleapis.com/upload/youtube/v3/videos"
        "?uploadType=resumable&part=snippet%2Cstatus",
    )
    assert opening.headers["authorization"] == "Bearer user-token"
    assert opening.headers["x-upload-content-length"] == "10"
    assert opening.headers["x-upload-content-type"] == "video/mp4"
    assert json.loads(opening.content) == {
        "snippet": {"title": "x" * 100, "description": content.text, "tags": []},
        "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
    }


async def test_a_session_uri_carrying_the_token_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Location": "https://up.example/?access_token=t"})

    async with (
        media_host({"/v.mp4": (b"v", "video/mp4")}) as host,
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
    ):
        with pytest.raises(AuthError, match="credential"):
            await YouTubeProvider(http, "https://www.googleapis.com", loopback_media()).prepare(
                Credentials(CHANNEL, "t"),
                PostContent(text="hi", media_urls=[f"{host}/v.mp4"]),
            )


def google(status: int, reason: str) -> httpx.Response:
    item = {"domain": "youtube.video", "reason": reason, "message": reason}
    return httpx.Response(
        status, json={"error": {"code": status, "message": reason, "errors": [item]}}
    )


@pytest.mark.parametrize(
    ("response", "kind", "wait"),
    [
        (google(401, "authError"), AuthError, None),
        (google(403, "forbidden"), AuthError, None),
        (google(403, "insufficientPermissions"), AuthError, None),
        (google(400, "uploadLimitExceeded"), RateLimitedError, timedelta(hours=24)),
        (google(403, "rateLimitExceeded"), RateLimitedError, None),
        (google(400, "invalidTitle"), ContentError, None),
        (google(400, "invalidPublishAt"), ContentError, None),
        (google(500, "backendError"), TransientError, None),
        (httpx.Response(502, text="<html>Bad gateway</html>"), TransientError, None),
    ],
)
def test_youtube_errors_map_into_the_taxonomy(
    response: httpx.Response, kind: type, wait: timedelta | None
) -> None:
    error = youtube_error(response)
    assert type(error) is kind and error.platform == "youtube"
    if isinstance(error, RateLimitedError):
        assert error.retry_after == wait


def test_the_description_limit_counts_utf8_bytes() -> None:
    rules = YouTubeProvider.rules
    assert rules.text_length("é" * 2500) == 5000 <= rules.max_text_length
    assert rules.text_length("é" * 2501) > rules.max_text_length
