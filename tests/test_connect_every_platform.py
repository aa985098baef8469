"""Every platform connected through the API against the sandbox, then one post to all ten.

Afterwards, no token is anywhere it must not be: not in the database (the raw SQLite file; on
PostgreSQL runs, every stored row), not in an API answer, not in a log line, not in Temporal
history."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from core.models import Account
from core.status import Platform, TargetStatus
from core.vault import Vault
from tests.support.api import api_client, bearer, connect_oauth
from tests.support.databases import stored_bytes
from tests.support.factories import make_tenant
from tests.support.harness import Harness

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
BODY = "Everywhere at once"


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def test_connect_every_platform_publish_everywhere_and_leak_no_token(
    harness: Harness, browser: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    tenant = await make_tenant(harness.db)
    key = tenant.api_key
    answers: list[str] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        answers.append(response.text)

    async with api_client(harness.settings, harness.env.client) as api:
        api.event_hooks["response"].append(keep)
        chosen: dict[str, dict[str, str]] = {}
        offered: dict[str, int] = {}
        for platform in Platform:
            if platform == Platform.BLUESKY:
                made = await api.post(
                    "/v1/accounts/bluesky/connect",
                    json={"identifier": "sandbox.bsky.social", "app_password": APP_PASSWORD},
                    headers=bearer(key),
                )
                assert made.status_code == 201, made.text
                connection = made.json()["data"]
            else:
                connection = await connect_oauth(api, browser, key, platform.value)
            assert connection["status"] == "completed", (platform, connection)
            assert connection["accounts"], platform
            chosen[platform.value] = connection["accounts"][0]
            offered[platform.value] = len(connection["candidates"])

        listed = (await api.get("/v1/accounts", headers=bearer(key))).json()["data"]
        assert {a["platform"] for a in listed} == {p.value for p in Platform}
        assert all(a["status"] == "active" for a in listed)

        image = f"{harness.settings.sandbox_url}/samples/image/1080x1080.jpg"
        video = f"{harness.settings.sandbox_url}/samples/video/launch.mp4"
        targets = [
            {"account_id": a["id"], "override_media_urls": [video]}
            if platform in ("tiktok", "youtube")
            else {"account_id": a["id"]}
            for platform, a in chosen.items()
        ]
        created = await api.post(
            "/v1/posts",
            json={"body": BODY, "media_urls": [image], "targets": targets},
            headers=bearer(key),
        )
        assert created.status_code == 201, created.text
        post_id = created.json()["data"]["id"]
        started = await api.post(f"/v1/posts/{post_id}/publish", json={}, headers=bearer(key))
        assert started.status_code == 202, started.text
        workflow_ids = [f"target-{t['id']}" for t in started.json()["data"]["targets"]]
        finals = {wid: await harness.result(wid) for wid in workflow_ids}
        assert {s.status for s in finals.values()} == {TargetStatus.PUBLISHED}, finals
        published = (await api.get(f"/v1/posts/{post_id}/targets", headers=bearer(key))).json()
    received = (await harness.sandbox.get("/_control/posts")).json()["data"]
    for target in published["data"]:
        [match] = [p for p in received if p["id"] == target["external_id"]]
        assert match["platform"] == target["platform"]
        assert match["account"] == chosen[target["platform"]]["external_id"]

    # Logins that granted several accounts asked the caller to choose among them.
    several = {platform for platform, count in offered.items() if count > 1}
    assert {"facebook", "google_business", "linkedin", "pinterest"} <= several

    secrets = await _stored_secrets(harness) + [APP_PASSWORD]
    assert len(secrets) >= 10

    raw = stored_bytes(harness.settings)
    assert BODY.encode() in raw  # the scan reads the live database (SQLite's WAL included)
    for secret in secrets:
        assert secret.encode() not in raw
    for answer in answers:
        for secret in secrets:
            assert secret not in answer
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged  # the scan saw the run's log
    for secret in secrets:
        assert secret not in logged
    for workflow_id in workflow_ids:
        history = await harness.env.client.get_workflow_handle(workflow_id).fetch_history()
        text = history.to_json()
        for secret in secrets:
            assert secret not in text


async def _stored_secrets(harness: Harness) -> list[str]:
    vault = Vault.from_settings(harness.settings)
    found = []
    async with harness.db.session() as session:
        for account in (await session.exec(select(Account))).all():
            for sealed in (account.access_token_enc, account.refresh_token_enc):
                if sealed:
                    found.append(vault.decrypt(sealed))
    return found
