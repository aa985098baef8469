"""The API's Prometheus endpoint: every request counted and timed by method, route template
and status; no raw path, id or key in the scrape; no key needed to scrape; a registry per app;
a stream counted at its start and passed through unbuffered."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message, Scope

from api.main import create_app
from api.metrics import install_metrics
from core.config import Settings
from core.db import Database
from core.status import Platform
from tests.support.api import api_client, bearer
from tests.support.factories import make_account, make_post, make_tenant

REQUESTS = "crier_api_requests_total"
DURATION_COUNT = "crier_api_request_duration_seconds_count"
IN_PROGRESS = "crier_api_requests_in_progress"


def sample(scrape: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly these labels; None when there is none."""
    for family in text_string_to_metric_families(scrape):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


def requests(scrape: str, method: str, route: str, status: int) -> float | None:
    return sample(scrape, REQUESTS, method=method, route=route, status=str(status))


async def scrape(api: httpx.AsyncClient) -> str:
    response = await api.get("/metrics")  # no Authorization header: Prometheus sends none
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return response.text


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    # No Temporal: these routes answer without it (/readyz by saying it is unreachable).
    async with api_client(settings, None) as client:
        yield client


async def test_requests_are_counted_by_route_template_and_status(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.X, "1600000000000000001")
    post, _ = await make_post(db, tenant, account)
    stranger_id = str(uuid.uuid4())
    key = bearer(tenant.api_key)

    assert (await api.get(f"/v1/posts/{post.id}", headers=key)).status_code == 200
    assert (await api.get(f"/v1/posts/{post.id}", headers=key)).status_code == 200
    assert (await api.get(f"/v1/posts/{stranger_id}", headers=key)).status_code == 404
    assert (await api.get("/v1/posts")).status_code == 401
    assert (await api.get(f"/no/such/{stranger_id}", headers=key)).status_code == 404
    assert (await api.put("/healthz")).status_code == 405
    assert (await api.request("BREW", "/healthz")).status_code == 405
    # No CRIER_CODEC_TOKEN in these settings: the codec is off (503), never open.
    assert (await api.post("/codec/decode", json={"payloads": []})).status_code == 503
    assert (await api.get(f"/codec/{stranger_id}")).status_code == 404
    assert (await api.get("/docs")).status_code == 200

    text = await scrape(api)
    assert requests(text, "GET", "/v1/posts/{post_id}", 200) == 2
    assert requests(text, "GET", "/v1/posts/{post_id}", 404) == 1
    assert requests(text, "GET", "/v1/posts", 401) == 1
    assert requests(text, "GET", "unmatched", 404) == 1
    # A path that matched with the wrong method keeps its template; an unknown method is folded.
    assert requests(text, "PUT", "/healthz", 405) == 1
    assert requests(text, "other", "/healthz", 405) == 1
    # Inside the mounted codec app, the route under its mount; the mount where none matched.
    assert requests(text, "POST", "/codec/decode", 503) == 1
    assert requests(text, "GET", "/codec/{path}", 404) == 1
    # A plain Starlette route, which names no route in the scope.
    assert requests(text, "GET", "/docs", 200) == 1
    # Every answer was timed with the same labels.
    labels = {"method": "GET", "route": "/v1/posts/{post_id}", "status": "200"}
    assert sample(text, DURATION_COUNT, **labels) == 2
    # The scrape is itself in progress while it is collected; nothing else is.
    assert sample(text, IN_PROGRESS, method="GET") == 1
    assert sample(text, IN_PROGRESS, method="PUT") == 0
    # The process and interpreter, from this app's registry.
    assert "process_cpu_seconds_total" in text
    assert "python_info" in text

    # Neither the raw paths, nor their ids, nor the caller's key.
    for secret in (post.id, stranger_id, account.id, tenant.tenant_id, tenant.api_key, "/no/"):
        assert secret not in text, secret
    assert "BREW" not in text

    # Counted once the scrape is done, under its own route.
    again = await scrape(api)
    assert requests(again, "GET", "/metrics", 200) == 1


async def test_every_route_is_labelled_with_its_own_template(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    """Whatever the answer (most are 401 here: no key is sent), each route of the schema is
    counted under its path in the schema, and none of the values put into the paths leaks."""
    paths = create_app(settings).openapi()["paths"]
    sent: list[tuple[str, str, int]] = []
    values: list[str] = []
    for template, operations in paths.items():
        values.append(uuid.uuid4().hex)
        url = re.sub(r"\{[^}]+\}", values[-1], template)
        for method in operations:
            answer = await api.request(method.upper(), url)
            sent.append((method.upper(), template, answer.status_code))
    text = await scrape(api)
    for method, template, status in sent:
        assert requests(text, method, template, status) == 1, (method, template, status)
    for value in values:
        assert value not in text
    routes = {
        found.labels["route"]
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if found.name == REQUESTS
    }
    assert routes == set(paths)  # the scrape itself is counted once it has been answered


async def test_apps_count_only_their_own_requests(settings: Settings, db: Database) -> None:
    async with api_client(settings, None) as first, api_client(settings, None) as second:
        assert (await first.get("/healthz")).status_code == 200
        assert requests(await scrape(first), "GET", "/healthz", 200) == 1
        assert requests(await scrape(second), "GET", "/healthz", 200) is None


async def test_metrics_can_be_turned_off(settings: Settings, db: Database) -> None:
    quiet = settings.model_copy(update={"api_metrics": False})
    async with api_client(quiet, None) as api:
        assert (await api.get("/healthz")).status_code == 200
        assert (await api.get("/metrics")).status_code == 404


async def test_the_route_is_not_in_the_openapi_schema(settings: Settings) -> None:
    assert "/metrics" not in create_app(settings).openapi()["paths"]


async def test_a_stream_is_counted_at_its_start_and_not_held_back() -> None:
    app = FastAPI()
    install_metrics(app)
    release = asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        yield b"data: first\n\n"
        await release.wait()
        yield b"data: last\n\n"

    @app.get("/stream/{stream_id}")
    async def stream(stream_id: str) -> StreamingResponse:
        return StreamingResponse(events(), media_type="text/event-stream")

    # Straight at the ASGI level: httpx's ASGITransport would buffer the whole body itself.
    sent: asyncio.Queue[Message] = asyncio.Queue()

    async def receive() -> Message:
        await asyncio.Event().wait()  # the client never disconnects during the test
        raise AssertionError("unreachable")

    def request(path: str) -> Scope:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"crier.test")],
            "client": ("127.0.0.1", 1),
            "server": ("crier.test", 80),
        }

    serving = asyncio.create_task(app(request("/stream/42"), receive, sent.put))
    try:
        start = await asyncio.wait_for(sent.get(), 5)
        first = await asyncio.wait_for(sent.get(), 5)
        assert start["type"] == "http.response.start" and start["status"] == 200
        assert first["body"] == b"data: first\n\n" and first.get("more_body")

        # The stream is still open, yet already counted, and it is in progress.
        assert not serving.done()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://crier.test"
        ) as client:
            text = (await client.get("/metrics")).text
        assert requests(text, "GET", "/stream/{stream_id}", 200) == 1
        assert sample(text, IN_PROGRESS, method="GET") == 2  # the stream, and this scrape
        assert "/stream/42" not in text
    finally:
        release.set()
        await asyncio.wait_for(serving, 5)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crier.test"
    ) as client:
        text = (await client.get("/metrics")).text
    assert sample(text, IN_PROGRESS, method="GET") == 1  # only this scrape
    assert requests(text, "GET", "/stream/{stream_id}", 200) == 1
