"""TikTok: init posts (directly or to the inbox), the status is polled, publish only reports.

The provider against the sandbox over real HTTP, plus one transport stub pinning the exact
init request the live API receives."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from providers.base import Credentials, PostContent, Preparation
from providers.errors import AuthError, ContentError, RateLimitedError, TransientError
from providers.tiktok import TikTokProvider
from sandbox.tokens import issue_token
from tests.support.servers import RunningSandbox

OPEN_ID = "-000sbxOpenIdTikTok01"
VIDEO = "https://cdn.example.org/clip.mp4"
CAPTION = "Behind the scenes #crier"


async def control(sandbox: httpx.AsyncClient, method: str, path: str, body: Any) -> None:
    response = await sandbox.request(method, f"/_control/tiktok{path}", json=body)
    # A 404 here means sandbox/app.py does not mount sandbox.tiktok.control yet.
    response.raise_for_status()


async def script_next_publish(
    sandbox: httpx.AsyncClient, *statuses: str, fail_reason: str = "internal"
) -> None:
    await control(
        sandbox, "POST", "/next-publish", {"statuses": list(statuses), "fail_reason": fail_reason}
    )


async def publishes(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await sandbox.get("/_control/tiktok/publishes")
    response.raise_for_status()  # 404: sandbox.tiktok.control is not mounted
    found: list[dict[str, Any]] = response.json()["data"]
    return found


async def posts(sandbox: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await sandbox.get("/_control/posts", params={"platform": "tiktok"})
    found: list[dict[str, Any]] = answer.json()["data"]
    return found


@pytest.fixture
def tiktok(sandbox: RunningSandbox) -> tuple[TikTokProvider, Credentials]:
    http = httpx.AsyncClient(timeout=5)
    token = issue_token(sandbox.secret, "tiktok", OPEN_ID)
    return TikTokProvider(http, f"{sandbox.url}/tiktok"), Credentials(OPEN_ID, token)


async def test_a_direct_post_is_pending_then_ready_then_reported(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    await control(sandbox_http, "PUT", f"/creators/{OPEN_ID}", {"username": "crier.test"})
    await script_next_publish(sandbox_http, "PROCESSING_DOWNLOAD", "PUBLISH_COMPLETE")
    content = PostContent(
        text=CAPTION,
        media_urls=[VIDEO],
        options={"privacy_level": "PUBLIC_TO_EVERYONE", "disable_duet": True},
    )

    prepared = await provider.prepare(account, content)
    assert (await provider.check(account, prepared)).state == "pending"
    assert (await provider.check(account, prepared)).state == "ready"
    published = await provider.publish(account, content, prepared)

    [post] = await posts(sandbox_http)
    assert (post["account"], post["text"], post["media"]) == (OPEN_ID, CAPTION, [VIDEO])
    assert published.external_id == post["id"] != prepared.ids["publish_id"]
    assert published.url == f"https://www.tiktok.com/@crier.test/video/{post['id']}"
    assert published.url == post["url"]
    [made] = await publishes(sandbox_http)
    assert (made["id"], made["inbox"]) == (prepared.ids["publish_id"], False)
    assert made["privacy_level"] == "PUBLIC_TO_EVERYONE"


async def test_a_privacy_level_the_creator_lacks_falls_back_to_the_most_private(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    allowed = ["FOLLOWER_OF_CREATOR", "SELF_ONLY", "MUTUAL_FOLLOW_FRIENDS"]
    await control(sandbox_http, "PUT", f"/creators/{OPEN_ID}", {"privacy_level_options": allowed})
    content = PostContent(
        text=CAPTION, media_urls=[VIDEO], options={"privacy_level": "PUBLIC_TO_EVERYONE"}
    )
    await provider.prepare(account, content)
    [made] = await publishes(sandbox_http)
    assert made["privacy_level"] == "SELF_ONLY"


async def test_a_draft_goes_to_the_inbox_with_no_public_url(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    await script_next_publish(sandbox_http, "PROCESSING_DOWNLOAD", "SEND_TO_USER_INBOX")
    content = PostContent(text=CAPTION, media_urls=[VIDEO])

    prepared = await provider.prepare(account, content, draft=True)
    assert (await provider.check(account, prepared)).state == "pending"
    assert (await provider.check(account, prepared)).state == "ready"
    published = await provider.publish(account, content, prepared, draft=True)

    assert (published.external_id, published.url) == (prepared.ids["publish_id"], None)
    [post] = await posts(sandbox_http)
    assert (post["id"], post["url"], post["published"]) == (published.external_id, None, False)
    [made] = await publishes(sandbox_http)
    assert (made["inbox"], made["privacy_level"]) == (True, None)


async def test_a_failed_publish_reports_the_platforms_fail_reason(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    await script_next_publish(
        sandbox_http, "PROCESSING_DOWNLOAD", "FAILED", fail_reason="file_format_check_failed"
    )
    content = PostContent(text=CAPTION, media_urls=[VIDEO])
    prepared = await provider.prepare(account, content)
    assert (await provider.check(account, prepared)).state == "pending"
    failed = await provider.check(account, prepared)
    assert failed.state == "failed"
    assert failed.reason is not None and "file_format_check_failed" in failed.reason
    with pytest.raises(ContentError, match="file_format_check_failed"):
        await provider.publish(account, content, prepared)
    assert await posts(sandbox_http) == []


async def test_a_503_is_transient(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    fault = {"method": "POST", "path": "/video/init/$", "status": 503, "body": {}}
    await sandbox_http.post("/_control/faults", json=fault)
    with pytest.raises(TransientError) as raised:
        await provider.prepare(account, PostContent(text=CAPTION, media_urls=[VIDEO]))
    assert raised.value.http_status == 503
    assert await publishes(sandbox_http) == []


async def test_internal_error_in_tiktoks_envelope_is_transient(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    body = {"error": {"code": "internal_error", "message": "Something broke", "log_id": "1"}}
    fault = {"method": "POST", "path": "/creator_info/query/$", "status": 500, "body": body}
    await sandbox_http.post("/_control/faults", json=fault)
    with pytest.raises(TransientError, match="Something broke") as raised:
        await provider.prepare(account, PostContent(text=CAPTION, media_urls=[VIDEO]))
    assert raised.value.code == "internal_error"


async def test_the_31st_status_read_in_a_minute_is_rate_limited(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    await script_next_publish(sandbox_http, *["PROCESSING_DOWNLOAD"] * 40)
    prepared = await provider.prepare(account, PostContent(text=CAPTION, media_urls=[VIDEO]))
    for _ in range(30):
        assert (await provider.check(account, prepared)).state == "pending"
    with pytest.raises(RateLimitedError) as limited:
        await provider.check(account, prepared)
    assert limited.value.code == "rate_limit_exceeded"
    assert limited.value.retry_after == timedelta(minutes=1)


async def test_the_daily_post_cap_is_rate_limited_for_a_day(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    await control(sandbox_http, "PUT", "/daily-cap", {"posts": 1})
    content = PostContent(text=CAPTION, media_urls=[VIDEO])
    await provider.prepare(account, content)
    with pytest.raises(RateLimitedError) as limited:
        await provider.prepare(account, content, draft=True)
    assert limited.value.code == "spam_risk_too_many_posts"
    assert limited.value.retry_after == timedelta(hours=24)


async def test_invalid_params_is_a_content_error(
    tiktok: tuple[TikTokProvider, Credentials], sandbox_http: httpx.AsyncClient
) -> None:
    provider, account = tiktok
    # 1,100 emoji are 2,200 UTF-16 runes (allowed); one more rune is refused.
    with pytest.raises(ContentError) as refused:
        await provider.prepare(account, PostContent(text="🎬" * 1100 + "!", media_urls=[VIDEO]))
    assert (refused.value.code, refused.value.http_status) == ("invalid_params", 400)
    await provider.prepare(account, PostContent(text="🎬" * 1100, media_urls=[VIDEO]))
    assert TikTokProvider.rules.text_length("🎬" * 1100 + "!") == 2_201
    with pytest.raises(ContentError) as bad_file:
        await provider.prepare(account, PostContent(text=CAPTION, media_urls=["clip.mp4"]))
    assert bad_file.value.code == "invalid_file_upload"


async def test_a_forged_or_foreign_token_is_an_auth_error(
    tiktok: tuple[TikTokProvider, Credentials],
    sandbox_http: httpx.AsyncClient,
    sandbox: RunningSandbox,
) -> None:
    provider, _ = tiktok
    content = PostContent(text=CAPTION, media_urls=[VIDEO])
    forged = Credentials(OPEN_ID, "sbx_forged.sig")
    with pytest.raises(AuthError) as refused:
        await provider.prepare(forged, content)
    assert (refused.value.code, refused.value.http_status) == ("access_token_invalid", 401)
    foreign = Credentials(OPEN_ID, issue_token(sandbox.secret, "youtube", OPEN_ID))
    with pytest.raises(AuthError):
        await provider.check(foreign, Preparation(ids={"publish_id": "v_pub_url~v2.1"}))
    assert await publishes(sandbox_http) == []


async def test_the_exact_init_request_the_live_api_receives() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        envelope = {"error": {"code": "ok", "message": "", "log_id": "20250101"}}
        if request.url.path.endswith("/creator_info/query/"):
            options = ["PUBLIC_TO_EVERYONE", "SELF_ONLY"]
            data = {"creator_username": "someone", "privacy_level_options": options}
            return httpx.Response(200, json={"data": data, **envelope})
        return httpx.Response(200, json={"data": {"publish_id": "v_pub_url~v2.7"}, **envelope})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        provider = TikTokProvider(http, "https://open.tiktokapis.com")
        account = Credentials(OPEN_ID, "act.secret-token")
        content = PostContent(
            text=CAPTION,
            media_urls=[VIDEO],
            options={"privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": True},
        )
        prepared = await provider.prepare(account, content)

    assert prepared.ids == {"publish_id": "v_pub_url~v2.7", "username": "someone"}
    query, init = seen
    assert (query.method, str(query.url)) == (
        "POST",
        "https://open.tiktokapis.com/v2/post/publish/creator_info/query/",
    )
    assert (init.method, str(init.url)) == (
        "POST",
        "https://open.tiktokapis.com/v2/post/publish/video/init/",
    )
    assert init.headers["authorization"] == "Bearer act.secret-token"
    assert init.headers["content-type"] == "application/json; charset=UTF-8"
    assert json.loads(init.content) == {
        "post_info": {
            "title": CAPTION,
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "disable_comment": True,
        },
        "source_info": {"source": "PULL_FROM_URL", "video_url": VIDEO},
    }
    assert all("secret-token" not in str(request.url) for request in seen)
