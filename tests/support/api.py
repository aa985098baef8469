"""The API over ASGI, and connecting an account through it as a caller and a person would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from temporalio.client import Client

from api.main import create_app
from core.config import Settings
from tests.support.oauth import consent


@asynccontextmanager
async def api_client(
    settings: Settings, temporal: Client | None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, temporal=temporal)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://crier.test"
        ) as client,
    ):
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def start_connect(
    api: httpx.AsyncClient, key: str, platform: str, **body: object
) -> dict[str, Any]:
    response = await api.post(f"/v1/accounts/{platform}/connect", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    started: dict[str, Any] = response.json()["data"]
    return started


async def callback(api: httpx.AsyncClient, platform: str, query: dict[str, str]) -> httpx.Response:
    """The person's browser arriving back from the platform: no API key, only the query."""
    return await api.get(f"/v1/oauth/{platform}/callback", params=query)


async def connect_oauth(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    key: str,
    platform: str,
    *,
    choose: list[str] | None = None,
    **choices: str,
) -> dict[str, Any]:
    """Start, consent at the (sandbox) platform, come back; choose accounts when the login
    granted several (`choose` None: all of them). Returns the final connection."""
    started = await start_connect(api, key, platform)
    url = started["authorization_url"]
    assert urlsplit(url).path, url
    answer = await consent(browser, url, **choices)
    back = await callback(api, platform, answer)
    assert back.status_code == 200, back.text
    connection: dict[str, Any] = back.json()["data"]
    if connection["status"] == "awaiting_selection":
        ids = choose if choose is not None else [c["external_id"] for c in connection["candidates"]]
        chosen = await api.post(
            f"/v1/connections/{connection['id']}/accounts",
            json={"external_ids": ids},
            headers=bearer(key),
        )
        assert chosen.status_code == 201, chosen.text
        connection = chosen.json()["data"]
    return connection
