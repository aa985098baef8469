"""A media host and webhook receiver that mean harm, on loopback: for the tests and for
`make bench-hostile` (issue 18; security review S1, S4, S6, S12). One aiohttp server, routes:

- `/png/good.png`: a small valid PNG.
- `/png/bomb.png?w=&h=`: a PNG decompression bomb, ~0.5 MB on the wire, 13,000 x 13,000 RGB
  (~500 MB decoded) by default.
- `/endless`: a PNG signature, then zeros forever (no Content-Length).
- `/declared-large`: declares 100 MB, sends zeros slowly.
- `/declared-small`: declares 1,000 bytes, then writes zeros past them forever.
- `/gzip-bomb?gb=`: `Content-Encoding: gzip` whatever was asked, 1 GB of zeros in ~1 MB.
- `/after-check/<then>/<key>`: a good PNG the first time (the create-time check), then
  `<then>` every time after (publish): `gzip-bomb`, `endless`, `trickle`, or a redirect to
  `metadata` (169.254.169.254), `private10` or `nat64`.
- `/redirect?to=<url>` (any method): 302 to that URL. `/redirect/<where>`: 302 to `metadata`,
  `loopback` (127.0.0.1), `private10` (10.0.0.1) or `nat64` (`[64:ff9b::a9fe:a9fe]`).
- `/loop`: 302 to itself.
- `/trickle?every=`: a PNG signature, then one byte every `every` seconds (0.5), forever.
- `/status/<code>`: that status, with a body no error may repeat (`SECRET_BODY`).
- POST `/tarpit`: reads the request, never answers. POST `/tarpit-trickle`: 200, then a byte a
  second, forever. POST `/flood`: 200, then zeros as fast as the peer reads.
- `/cookie/set` sets a cookie; `/cookie/echo` answers with the Cookie header it was sent.

Every request is counted per path (`hits`) and noted (`seen`: Host, Cookie, Accept-Encoding,
the local address it arrived on); a streaming route notes whether the peer hung up mid-body
(`hung_up`) and how many bytes got out (`sent`), so a test asserts what was fetched and what
was left unread. The generated bodies are built once per process (`functools.cache`).
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from io import BytesIO

from aiohttp import web
from aiohttp.typedefs import Handler
from PIL import Image

MB = 1 << 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOMB_SIDE = 13_000  # 169 MP: under Pillow's default error threshold (179 MP), ~500 MB decoded
METADATA = "http://169.254.169.254/latest/meta-data/"
PRIVATE_TARGETS = {
    "metadata": METADATA,
    "private10": "http://10.0.0.1/",
    "nat64": "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
}
SECRET_BODY = "internal-secret-body"  # what /status/<code> answers: no error may repeat it


@cache
def good_png(side: int = 16) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (side, side), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_bomb(width: int = BOMB_SIDE, height: int = BOMB_SIDE) -> bytes:
    """A valid RGB PNG of `width` x `height` black pixels: the raw scanlines (a filter byte and
    three bytes a pixel, all zero) deflate about 1,000 to 1, so 13,000² is ~0.5 MB on the wire
    and ~500 MB once decoded."""
    compressor = zlib.compressobj(9)
    zeros = bytes(16 * MB)
    left = height * (1 + 3 * width)
    parts = []
    while left > 0:
        parts.append(compressor.compress(zeros[: min(left, len(zeros))]))
        left -= len(zeros)
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


@cache
def _deflated_megabyte() -> bytes:
    """1 MB of zeros as a raw deflate block that stands alone (after a full flush nothing
    refers back), so a gzip stream of any size is this block repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressor.compress(bytes(MB))
    compressor.flush(zlib.Z_FULL_FLUSH)
    return compressor.compress(bytes(MB)) + compressor.flush(zlib.Z_FULL_FLUSH)


@cache
def _gzip_trailer(megabytes: int) -> bytes:
    crc = 0
    zeros = bytes(MB)
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    # The last (empty, final) deflate block, then the CRC and the size modulo 2**32.
    return b"\x03\x00" + struct.pack("<II", crc, (megabytes * MB) & 0xFFFFFFFF)


GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def gzip_bomb_size(gigabytes: float) -> int:
    """Bytes on the wire of `/gzip-bomb?gb=gigabytes`."""
    megabytes = int(gigabytes * 1024)
    return len(GZIP_HEADER) + megabytes * len(_deflated_megabyte()) + 10


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    host: str | None
    cookie: str | None
    accept_encoding: str | None
    user_agent: str | None
    local_address: str  # the address the connection arrived on


@dataclass
class HostileServer:
    """The running server: its base URL and what it saw."""

    host: str
    port: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)  # body bytes written, per path
    hung_up: Counter[str] = field(default_factory=Counter)  # the peer left mid-body, per path
    seen: list[Seen] = field(default_factory=list)
    # Set when a request arrives at a path, and when a peer hangs up on one: waited on.
    arrived: dict[str, asyncio.Event] = field(default_factory=dict)
    left: dict[str, asyncio.Event] = field(default_factory=dict)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def arrival(self, path: str) -> asyncio.Event:
        return self.arrived.setdefault(path, asyncio.Event())

    async def wait_hung_up(self, path: str, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Until the peer has left `path` mid-body (a streaming route notices on its next write)."""
        async with asyncio.timeout(timeout):
            await self.left.setdefault(path, asyncio.Event()).wait()

    def _hang_up(self, path: str) -> None:
        self.hung_up[path] += 1
        self.left.setdefault(path, asyncio.Event()).set()

    # -- the routes ------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._note])
        app.router.add_get("/png/good.png", self._good)
        app.router.add_get("/png/bomb.png", self._bomb)
        app.router.add_get("/endless", self._endless)
        app.router.add_get("/declared-large", self._declared_large)
        app.router.add_get("/declared-small", self._declared_small)
        app.router.add_get("/gzip-bomb", self._gzip_bomb)
        app.router.add_get("/after-check/{then}/{key}", self._after_check)
        app.router.add_route("*", "/redirect", self._redirect_to)
        app.router.add_get("/redirect/{where}", self._redirect_private)
        app.router.add_get("/loop", self._loop)
        app.router.add_get("/trickle", self._trickle)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_post("/tarpit", self._tarpit)
        app.router.add_post("/tarpit-trickle", self._tarpit_trickle)
        app.router.add_post("/flood", self._flood)
        app.router.add_get("/cookie/set", self._cookie_set)
        app.router.add_get("/cookie/echo", self._cookie_echo)
        return app

    @web.middleware
    async def _note(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        self.hits[request.path] += 1
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                host=request.headers.get("Host"),
                cookie=request.headers.get("Cookie"),
                accept_encoding=request.headers.get("Accept-Encoding"),
                user_agent=request.headers.get("User-Agent"),
                local_address=str(sockname[0]) if sockname else "",
            )
        )
        self.arrival(request.path).set()
        return await handler(request)

    async def _good(self, request: web.Request) -> web.Response:
        return web.Response(body=good_png(), content_type="image/png")

    async def _bomb(self, request: web.Request) -> web.Response:
        width = int(request.query.get("w", BOMB_SIDE))
        height = int(request.query.get("h", BOMB_SIDE))
        body = await asyncio.to_thread(png_bomb, width, height)  # ~1.4 s the first time
        return web.Response(body=body, content_type="image/png")

    async def _stream(
        self,
        request: web.Request,
        response: web.StreamResponse,
        chunks: AsyncIterator[bytes],
    ) -> web.StreamResponse:
        """Write `chunks` until they end or the peer hangs up (noted in `hung_up`)."""
        path = request.path
        try:
            await response.prepare(request)
            async for chunk in chunks:
                await response.write(chunk)
                self.sent[path] += len(chunk)
            await response.write_eof()
        except ConnectionError:
            self._hang_up(path)
        except asyncio.CancelledError:  # aiohttp cancels a handler whose peer went away
            self._hang_up(path)
            raise
        return response

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        async def forever() -> AsyncIterator[bytes]:
            yield PNG_SIGNATURE
            zeros = bytes(64 * 1024)
            while True:
                yield zeros

        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        return await self._stream(request, response, forever())

    async def _declared_large(self, request: web.Request) -> web.StreamResponse:
        async def slowly() -> AsyncIterator[bytes]:
            zeros = bytes(64 * 1024)
            for _ in range(100 * MB // len(zeros)):
                yield zeros
                await asyncio.sleep(0.01)

        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.content_length = 100 * MB
        return await self._stream(request, response, slowly())

    async def _declared_small(self, request: web.Request) -> web.StreamResponse:
        """Says 1,000 bytes, then writes past them on the raw socket (aiohttp's own writer
        would cut the body at the declared length, as a well-behaved server does)."""
        path = request.path
        transport = request.transport
        assert transport is not None
        transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n"
        )
        zeros = bytes(64 * 1024)
        while not transport.is_closing():
            transport.write(zeros)
            self.sent[path] += len(zeros)
            if transport.get_write_buffer_size() > 4 * MB:
                await asyncio.sleep(0.01)  # the peer is not reading: wait for it, or its hang-up
            else:
                await asyncio.sleep(0)
        self._hang_up(path)
        raise asyncio.CancelledError  # the connection is gone; nothing more to answer

    async def _gzip_bomb(self, request: web.Request) -> web.StreamResponse:
        megabytes = int(float(request.query.get("gb", "1")) * 1024)
        block = _deflated_megabyte()

        async def bomb() -> AsyncIterator[bytes]:
            yield GZIP_HEADER
            for start in range(0, megabytes, 64):
                yield block * min(64, megabytes - start)
            # The CRC of the whole costs ~0.2 s a GB: only for a peer that read that far.
            yield await asyncio.to_thread(_gzip_trailer, megabytes)

        response = web.StreamResponse(
            headers={"Content-Type": "image/png", "Content-Encoding": "gzip"}
        )
        response.content_length = gzip_bomb_size(megabytes / 1024)
        return await self._stream(request, response, bomb())

    async def _after_check(self, request: web.Request) -> web.StreamResponse:
        """Good the first time (the create-time check), hostile every time after (publish)."""
        if self.hits[request.path] == 1:
            return await self._good(request)
        then = request.match_info["then"]
        if then == "gzip-bomb":
            return await self._gzip_bomb(request)
        if then == "endless":
            return await self._endless(request)
        if then == "trickle":
            return await self._trickle(request)
        if then in PRIVATE_TARGETS:
            raise web.HTTPFound(PRIVATE_TARGETS[then])
        raise web.HTTPNotFound(text=f"no such behaviour: {then}")

    async def _redirect_to(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def _redirect_private(self, request: web.Request) -> web.Response:
        where = request.match_info["where"]
        if where == "loopback":
            raise web.HTTPFound(f"http://127.0.0.1:{self.port}/png/good.png")
        if where in PRIVATE_TARGETS:
            raise web.HTTPFound(PRIVATE_TARGETS[where])
        raise web.HTTPNotFound(text=f"no such destination: {where}")

    async def _loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        every = float(request.query.get("every", "0.5"))

        async def trickle() -> AsyncIterator[bytes]:
            yield PNG_SIGNATURE
            while True:
                await asyncio.sleep(every)
                yield b"\x00"

        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.content_length = 1_000_000  # looks like an ordinary image
        return await self._stream(request, response, trickle())

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text=SECRET_BODY)

    async def _tarpit(self, request: web.Request) -> web.Response:
        await request.read()
        await asyncio.Event().wait()  # never: the connection is held until the peer leaves
        raise AssertionError("unreachable")

    async def _tarpit_trickle(self, request: web.Request) -> web.StreamResponse:
        await request.read()

        async def trickle() -> AsyncIterator[bytes]:
            while True:
                yield b"."
                await asyncio.sleep(1)

        return await self._stream(request, web.StreamResponse(), trickle())

    async def _flood(self, request: web.Request) -> web.StreamResponse:
        await request.read()

        async def flood() -> AsyncIterator[bytes]:
            zeros = bytes(64 * 1024)
            while True:
                yield zeros

        return await self._stream(request, web.StreamResponse(), flood())

    async def _cookie_set(self, request: web.Request) -> web.Response:
        response = web.Response(text="set")
        response.set_cookie("tenant_session", "tenant-a-secret", path="/")
        return response

    async def _cookie_echo(self, request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("Cookie", ""))


@asynccontextmanager
async def hostile_server(host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[HostileServer]:
    """Serve every hostile route on `host` (a free port unless `port`), in this event loop."""
    server = HostileServer(host=host)
    runner = web.AppRunner(
        server.app(), handle_signals=False, access_log=None, shutdown_timeout=0.1
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server.port = runner.addresses[0][1]
    try:
        yield server
    finally:
        with suppress(Exception):
            await runner.cleanup()
