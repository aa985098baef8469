"""Hostile media at create and edit time (issue 18, items 2-4): served by a real HTTP server on
loopback, each ends in a 422 naming the URL, with the API's memory and database connections
bounded. The API runs in this process (ASGI), so its peak memory is this process's."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI
from PIL import Image
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.config import Settings
from core.db import Database
from core.status import Platform
from tests.support.api import bearer
from tests.support.factories import TenantFixture, make_account, make_tenant

pytestmark = pytest.mark.asyncio

MB = 1_000_000


def zero_png(width: int, height: int, *, bit_depth: int = 8) -> bytes:
    """A greyscale PNG of zeros, written by hand: a 20000x20000 one is ~50 kB on the wire and
    would be gigabytes decoded (Pillow would need the whole image in memory to write it)."""
    row = bytes(1 + (width * bit_depth + 7) // 8)  # filter byte 0, then the row
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@cache
def image_bytes(width: int, height: int) -> bytes:
    return zero_png(width, height, bit_depth=1 if width * height > 100_000_000 else 8)


@cache
def bitmap() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 400)).save(out, "BMP")
    return out.getvalue()


@dataclass
class MediaHost:
    """A loopback HTTP server with good, hostile and slow media, counting what it is asked."""

    url: str = ""
    hits: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)  # slow requests, by group
    most_in_flight: Counter[str] = field(default_factory=Counter)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    endless_sent: list[int] = field(default_factory=list)  # bytes, once each endless answer ends
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(10), self.changed:
            await self.changed.wait_for(check)

    async def _changed(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def image(self, request: web.Request) -> web.Response:
        width, height = int(request.match_info["w"]), int(request.match_info["h"])
        return web.Response(body=image_bytes(width, height), content_type="image/png")

    async def bmp(self, request: web.Request) -> web.Response:
        return web.Response(body=bitmap(), content_type="image/bmp")

    async def damaged(self, request: web.Request) -> web.Response:
        whole = image_bytes(400, 400)
        return web.Response(body=whole[: len(whole) - 40], content_type="image/png")

    async def gzipped(self, request: web.Request) -> web.Response:
        body = zlib.compress(bytes(10 * MB))
        return web.Response(
            body=body, headers={"Content-Type": "image/png", "Content-Encoding": "gzip"}
        )

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        sent = 0
        try:
            while True:
                await response.write(bytes(64 * 1024))
                sent += 64 * 1024
        except (ConnectionError, asyncio.CancelledError):
            self.endless_sent.append(sent)
            await self._changed()
            raise
        return response  # pragma: no cover - the loop ends only by the client leaving

    async def trickle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        await response.write(image_bytes(400, 400)[:16])
        while True:  # a byte at a time: no single read ever times out
            await asyncio.sleep(0.05)
            await response.write(b"\0")

    async def loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop.png")

    async def slow(self, request: web.Request) -> web.Response:
        """Held until `release` is set; groups count their requests in flight."""
        group = request.match_info["group"]
        self.in_flight[group] += 1
        self.most_in_flight[group] = max(self.most_in_flight[group], self.in_flight[group])
        await self._changed()
        try:
            await self.release.wait()
        finally:
            self.in_flight[group] -= 1
            await self._changed()
        return web.Response(body=image_bytes(400, 400), content_type="image/png")

    @web.middleware
    async def count(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.hits[request.path] += 1
        return await handler(request)


@pytest.fixture
async def media_host() -> AsyncIterator[MediaHost]:
    host = MediaHost()
    app = web.Application(middlewares=[host.count])
    app.add_routes(
        [
            web.get("/image/{w:\\d+}x{h:\\d+}.png", host.image),
            web.get("/bitmap.bmp", host.bmp),
            web.get("/gzipped.png", host.gzipped),
            web.get("/damaged.png", host.damaged),
            web.get("/endless.png", host.endless),
            web.get("/trickle.png", host.trickle),
            web.get("/loop.png", host.loop),
            web.get("/slow/{group}/{name}.png", host.slow),
        ]
    )
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    host.url = f"http://127.0.0.1:{port}"
    yield host
    host.release.set()
    await runner.cleanup()


ApiFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def start_api(
    settings: Settings, db: Database, time_skipping_env: WorkflowEnvironment
) -> ApiFactory:
    """The API with some settings changed, over ASGI in this process."""

    @asynccontextmanager
    async def started(**changes: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        app = create_app(settings.model_copy(update=changes), temporal=time_skipping_env.client)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://crier.test", timeout=30
            ) as client,
        ):
            yield app, client

    return started


@dataclass
class Poster:
    tenant: TenantFixture
    account_id: str

    def headers(self) -> dict[str, str]:
        return bearer(self.tenant.api_key)

    async def create(self, api: httpx.AsyncClient, media: list[str], **body: Any) -> httpx.Response:
        payload = {"body": "Media day", "media_urls": media, **body}
        payload.setdefault("targets", [{"account_id": self.account_id}])
        return await api.post("/v1/posts", headers=self.headers(), json=payload)


async def new_poster(db: Database, settings: Settings, external_id: str) -> Poster:
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.X, external_id)
    return Poster(tenant, account.id)


@pytest.fixture
async def poster(db: Database, settings: Settings) -> Poster:
    return await new_poster(db, settings, "1500000000000000101")


def messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [d["msg"] for d in response.json()["error"]["details"]]


def _status_kib(name: str) -> int:
    with open("/proc/self/status") as lines:
        status = dict(line.split(":", 1) for line in lines)
    return int(status[name].split()[0])


def peak_memory_reset() -> int:
    """Resets this process's peak resident set size (VmHWM, Linux) to its current size, and
    returns that size in bytes."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _status_kib("VmRSS") * 1024


def peak_since(start: int) -> int:
    """Bytes the peak resident set size rose above `start`."""
    return _status_kib("VmHWM") * 1024 - start


async def test_a_decompression_bomb_is_refused_from_its_header_naming_the_image(
    start_api: ApiFactory, media_host: MediaHost, poster: Poster
) -> None:
    # Under Pillow's own guard (89 M pixels), over crier's 40 M: only crier's check stands
    # between it and 81 MB of pixels.
    bomb = f"{media_host.url}/image/9000x9000.png"
    huge = f"{media_host.url}/image/20000x20000.png"  # 400 M pixels: Pillow's guard too
    image_bytes(9000, 9000), image_bytes(20000, 20000)  # made before the peak is measured
    async with start_api() as (_, api):
        start = peak_memory_reset()
        response = await poster.create(api, [bomb, huge])
        growth = peak_since(start)
    assert messages(response) == [
        f"x: {bomb}: 9000\u00d79000 is 81,000,000 pixels, more than 40,000,000; not decoded",
        f"x: {huge}: more than 40,000,000 pixels; not decoded",
    ]
    assert growth < 40 * MB, f"the peak grew {growth:,} bytes: was the bomb decoded?"


async def test_concurrent_large_images_are_decoded_a_few_at_a_time(
    start_api: ApiFactory, media_host: MediaHost, poster: Poster
) -> None:
    # Eight images of 25 M pixels (25 MB each decoded) in two requests (X takes four media),
    # all fetched at once; two decoders: the peak is about two images, not eight.
    urls = [f"{media_host.url}/image/5000x5000.png?copy={i}" for i in range(8)]
    image_bytes(5000, 5000)
    async with start_api(media_fetches_per_tenant=8, media_decode_workers=2) as (_, api):
        start = peak_memory_reset()
        created = await asyncio.gather(poster.create(api, urls[:4]), poster.create(api, urls[4:]))
        growth = peak_since(start)
    assert [r.status_code for r in created] == [201, 201], created[0].text
    # Measured: ~52 MB with two decoders, ~119 MB with eight.
    assert growth < 80 * MB, f"the peak grew {growth:,} bytes for 8 images of 25 MB"


async def problems_with(
    start_api: ApiFactory, poster: Poster, url: str, **changes: Any
) -> list[str]:
    """What a post of `url` to X is refused for, by the API with `changes` to its settings."""
    async with start_api(**changes) as (_, api):
        return messages(await poster.create(api, [url]))


@pytest.mark.parametrize(
    ("path", "changes", "problem"),
    [
        pytest.param(
            "/bitmap.bmp",
            {},
            "not a JPEG, PNG, GIF or WebP image",
            id="a-format-no-platform-takes-is-not-decoded",
        ),
        pytest.param(
            "/damaged.png",  # its header is whole, its pixels cut short
            {},
            "a damaged PNG image: it cannot be decoded",
            id="a-damaged-image-is-refused-once-decoding-fails",
        ),
        pytest.param(
            "/trickle.png",
            {"media_fetch_timeout_seconds": 1.0},
            "timed out after 1 s",
            id="a-trickling-host-is-cut-at-the-deadline",
        ),
        pytest.param(
            "/gzipped.png",
            {},
            "could not be fetched: sent a gzip body; crier asks for identity",
            id="a-compressed-body-is-refused-unread",
        ),
    ],
)
async def test_hostile_media_is_refused_naming_the_url(
    start_api: ApiFactory,
    media_host: MediaHost,
    poster: Poster,
    path: str,
    changes: dict[str, Any],
    problem: str,
) -> None:
    url = f"{media_host.url}{path}"
    assert await problems_with(start_api, poster, url, **changes) == [f"x: {url}: {problem}"]


async def test_an_endless_body_is_cut_at_the_byte_cap(
    start_api: ApiFactory, media_host: MediaHost, poster: Poster
) -> None:
    url = f"{media_host.url}/endless.png"
    problems = await problems_with(start_api, poster, url, media_fetch_max_bytes=MB)
    assert problems == [f"x: {url}: larger than 1 MB"]
    await media_host.wait_for(lambda: bool(media_host.endless_sent))  # the server saw it go
    # What was sent is the cap plus what the sockets' buffers took, not an endless stream.
    assert media_host.endless_sent[0] < 32 * MB


async def test_a_redirect_loop_is_refused_at_the_cap_for_what_it_is(
    start_api: ApiFactory, media_host: MediaHost, poster: Poster
) -> None:
    url = f"{media_host.url}/loop.png"
    # Not "media must be on a public address": the host is public enough, it only loops.
    assert await problems_with(start_api, poster, url) == [
        f"x: {url}: refused: more than 3 redirects"
    ]
    assert media_host.hits["/loop.png"] == 4  # the first request and 3 redirects followed


async def test_a_request_refused_for_its_targets_or_text_fetches_nothing(
    start_api: ApiFactory, media_host: MediaHost, poster: Poster
) -> None:
    url = f"{media_host.url}/image/400x400.png"
    async with start_api() as (_, api):
        unknown = await poster.create(api, [url], targets=[{"account_id": "no-such-account"}])
        too_long = await poster.create(api, [url], body="x" * 300)
        assert media_host.hits == Counter()
        created = await poster.create(api, [url])
        assert created.status_code == 201, created.text
        post = created.json()["data"]
        edit = {"expected_updated_at": post["updated_at"], "body": "y" * 300}
        too_long_edit = await api.patch(
            f"/v1/posts/{post['id']}",
            headers=poster.headers(),
            json={**edit, "media_urls": [f"{url}?new=1"]},
        )
    assert messages(unknown) == ["no such account"]
    assert messages(too_long) == ["300 weighted characters; x allows at most 280"]
    assert messages(too_long_edit) == ["300 weighted characters; x allows at most 280"]
    assert media_host.hits == Counter({"/image/400x400.png": 1})  # the good create's only


async def test_distinct_media_urls_per_request_are_capped_before_any_fetch(
    start_api: ApiFactory, media_host: MediaHost, poster: Poster
) -> None:
    urls = [f"{media_host.url}/image/400x400.png?n={i}" for i in range(3)]
    async with start_api(media_urls_per_request=2) as (_, api):
        response = await poster.create(
            api,
            [urls[0], urls[1], urls[0]],  # a URL named twice is fetched once: two so far
            targets=[{"account_id": poster.account_id, "override_media_urls": [urls[2]]}],
        )
        allowed = await poster.create(api, [urls[0], urls[1], urls[0]])
    assert messages(response) == ["3 distinct media URLs; at most 2 per request"]
    assert allowed.status_code == 201, allowed.text
    assert media_host.hits == Counter({"/image/400x400.png": 2})


async def test_one_tenants_slow_media_neither_takes_every_fetch_nor_holds_a_connection(
    start_api: ApiFactory,
    media_host: MediaHost,
    poster: Poster,
    db: Database,
    settings: Settings,
) -> None:
    other = await new_poster(db, settings, "1500000000000000102")
    greedy = [f"{media_host.url}/slow/greedy/{i}.png" for i in range(4)]
    async with start_api(media_fetches_per_tenant=2) as (app, api):
        pool = app.state.db.engine.pool
        first = asyncio.create_task(poster.create(api, greedy))
        await media_host.wait_for(lambda: media_host.in_flight["greedy"] == 2)
        # The other tenant's fetch starts at once, beside the first tenant's two.
        second = asyncio.create_task(other.create(api, [f"{media_host.url}/slow/other/0.png"]))
        await media_host.wait_for(lambda: media_host.in_flight["other"] == 1)
        assert media_host.in_flight["greedy"] == 2
        # Both requests are waiting on media hosts, and neither holds a database connection.
        assert pool.checkedout() == 0
        media_host.release.set()
        created = await asyncio.gather(first, second)
    assert [r.status_code for r in created] == [201, 201], created[0].text
    assert media_host.most_in_flight == Counter({"greedy": 2, "other": 1})


async def test_an_edit_fetching_media_holds_no_connection_and_rechecks_the_post_after(
    start_api: ApiFactory, media_host: MediaHost, poster: Poster
) -> None:
    async with start_api() as (app, api):
        created = await poster.create(api, [])
        assert created.status_code == 201, created.text
        post = created.json()["data"]
        url = f"/v1/posts/{post['id']}"
        version = {"expected_updated_at": post["updated_at"]}
        slow_edit = asyncio.create_task(
            api.patch(
                url,
                headers=poster.headers(),
                json={**version, "media_urls": [f"{media_host.url}/slow/edit/0.png"]},
            )
        )
        await media_host.wait_for(lambda: media_host.in_flight["edit"] == 1)
        assert app.state.db.engine.pool.checkedout() == 0
        # Another edit lands while the first waits on its media host.
        quick = await api.patch(url, headers=poster.headers(), json={**version, "body": "New"})
        assert quick.status_code == 200, quick.text
        media_host.release.set()
        stale = await slow_edit
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "stale"
