"""The guarded fetcher's promises (core/guarded_fetch.py, issue 18), each against a hostile server
on loopback (tests/support/hostile_servers.py).

Production mode is `allow_private=False`. Since every server here is on loopback, a first hop
that must count as public resolves, through a fake DNS, to an address the fetcher's test seam
(`public_for_tests`) treats as public; the refusals under test never rely on the seam.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image

from core.destinations import denied
from core.guarded_fetch import (
    BadStatus,
    Blocked,
    Encoded,
    FetchError,
    GuardedFetcher,
    TimedOut,
    TooLarge,
    Unreachable,
)
from tests.support.hostile_servers import (
    MB,
    SECRET_BODY,
    HostileServer,
    good_png,
    gzip_bomb_size,
    hostile_server,
    png_bomb,
)
from tests.support.servers import free_port

pytestmark = pytest.mark.timeout(30)

PUBLIC_STAND_IN = "127.0.0.1"  # the hostile server's address, public for the seam only
DEADLINE = 5.0


@dataclass
class FakeDNS:
    """Names a test chose, answered in turn (the last answer repeats); any other name goes to
    the real resolver. `calls` counts lookups per name."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    def lookup(self, name: str) -> list[str] | None:
        if name not in self.answers:
            return None
        turn = self.calls.get(name, 0)
        self.calls[name] = turn + 1
        answers = self.answers[name]
        return answers[min(turn, len(answers) - 1)]


@pytest.fixture
async def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        found = fake.lookup(str(host))
        if found is None:
            return await real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in found
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return fake


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    async with hostile_server() as running:
        yield running


@pytest.fixture
async def production(dns: FakeDNS) -> AsyncIterator[GuardedFetcher]:
    """Production mode, with `media.example` a public name for the hostile server."""
    dns.add("media.example", [PUBLIC_STAND_IN])
    fetcher = GuardedFetcher(allow_private=False, public_for_tests=frozenset({PUBLIC_STAND_IN}))
    yield fetcher
    await fetcher.aclose()


@pytest.fixture
async def development() -> AsyncIterator[GuardedFetcher]:
    fetcher = GuardedFetcher(allow_private=True)
    yield fetcher
    await fetcher.aclose()


def public(server: HostileServer, path: str) -> str:
    return f"http://media.example:{server.port}{path}"


# -- which addresses are refused -----------------------------------------------------------------

REFUSED = [
    "127.0.0.1",  # loopback
    "::1",
    "10.0.0.1",  # private
    "172.16.0.1",
    "192.168.1.1",
    "fc00::1",
    "169.254.169.254",  # link-local: the metadata service
    "fe80::1",
    "100.64.0.1",  # CGNAT
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, "global" to Python 3.11
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::",  # 6to4 of 127.0.0.1, "global" to Python 3.11
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::7f00:1",  # IPv4-compatible 127.0.0.1, "global" to Python 3.11
    "::ffff:169.254.169.254",  # IPv4-mapped
    "0.0.0.0",
    "::",
    "224.0.0.1",  # multicast, "global" to Python 3.11
    "ff02::1",
    "255.255.255.255",
    "198.18.0.1",  # benchmarking
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_inner_addresses_are_denied(address: str) -> None:
    assert denied(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_not_denied(address: str) -> None:
    assert not denied(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme"),
        ("ftp://media.example/a.png", "scheme"),
        ("http://localhost:{port}/png/good.png", "local name"),
        ("http://media.internal/a.png", "local name"),
        ("http://user:pass@media.example:{port}/png/good.png", "credentials"),
        ("http://127.0.0.1:{port}/png/good.png", "private"),
        ("http://10.0.0.1/a.png", "private"),
        ("http://169.254.169.254/latest/meta-data/", "private"),
        ("http://[::1]:{port}/png/good.png", "private"),
    ],
)
async def test_urls_refused_before_any_connection_in_production(
    production: GuardedFetcher, server: HostileServer, url: str, reason: str
) -> None:
    with pytest.raises(Blocked, match=reason):
        await production.get(url.format(port=server.port), max_bytes=MB, deadline=DEADLINE)
    assert not server.hits


@pytest.mark.parametrize(
    "answer",
    [
        ["64:ff9b::a9fe:a9fe"],  # NAT64
        ["2002:7f00:1::"],  # 6to4
        ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],  # Teredo
        ["100.64.0.1"],  # CGNAT
        ["169.254.169.254"],
        [PUBLIC_STAND_IN, "10.0.0.1"],  # one inner address among public ones is enough
    ],
)
async def test_names_resolving_inside_are_refused_in_production(
    production: GuardedFetcher, server: HostileServer, dns: FakeDNS, answer: list[str]
) -> None:
    dns.add("inside.example", answer)
    with pytest.raises(Blocked, match=r"private, loopback or link-local") as refused:
        await production.get(
            f"http://inside.example:{server.port}/png/good.png", max_bytes=MB, deadline=DEADLINE
        )
    assert not server.hits
    assert refused.value.host == "inside.example"
    for address in answer:  # the error names the host, never what it resolved to
        assert address not in str(refused.value)


async def test_development_reaches_loopback(
    development: GuardedFetcher, server: HostileServer
) -> None:
    fetched = await development.get(f"{server.url}/png/good.png", max_bytes=MB, deadline=DEADLINE)
    assert fetched.content == good_png()
    assert fetched.content_type == "image/png"


# -- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["metadata", "loopback", "private10", "nat64"])
async def test_a_redirect_to_an_inner_address_is_refused_in_production(
    production: GuardedFetcher, server: HostileServer, where: str
) -> None:
    # The first hop is public (the seam) and is fetched; the hop it redirects to is not.
    with pytest.raises(Blocked) as refused:
        await production.get(public(server, f"/redirect/{where}"), max_bytes=MB, deadline=DEADLINE)
    assert server.hits == {f"/redirect/{where}": 1}
    assert "good.png" not in str(refused.value)


async def test_a_redirect_to_a_name_resolving_inside_is_refused(
    production: GuardedFetcher, server: HostileServer, dns: FakeDNS
) -> None:
    dns.add("cache.example", ["10.0.0.1"])
    inside = f"http://cache.example:{server.port}/png/good.png"
    with pytest.raises(Blocked, match=r"cache.example: resolves to a private") as refused:
        await production.get(
            public(server, f"/redirect?to={quote(inside)}"), max_bytes=MB, deadline=DEADLINE
        )
    assert "10.0.0.1" not in str(refused.value)
    assert server.hits == {"/redirect": 1}


async def test_redirects_are_followed_up_to_the_cap_each_hop_checked(
    production: GuardedFetcher, server: HostileServer, dns: FakeDNS
) -> None:
    url = "/png/good.png"
    for _ in range(3):
        url = f"/redirect?to={quote(url, safe='')}"
    fetched = await production.get(public(server, url), max_bytes=MB, deadline=DEADLINE)
    assert fetched.content == good_png()
    assert server.hits == {"/redirect": 3, "/png/good.png": 1}
    assert dns.calls["media.example"] == 4  # every hop resolved and checked on its own


async def test_a_redirect_loop_stops_at_the_cap(
    production: GuardedFetcher, server: HostileServer
) -> None:
    with pytest.raises(Blocked, match=r"media.example: more than 3 redirects"):
        await production.get(public(server, "/loop"), max_bytes=MB, deadline=DEADLINE)
    assert server.hits == {"/loop": 4}


async def test_a_post_follows_no_redirect(
    production: GuardedFetcher, server: HostileServer
) -> None:
    status, _ = await production.post(
        public(server, "/redirect?to=/cookie/echo"), content=b"{}", headers={}, deadline=DEADLINE
    )
    assert status == 302
    assert server.hits == {"/redirect": 1}


# -- DNS rebinding -------------------------------------------------------------------------------


async def test_the_request_goes_to_the_address_that_was_checked(dns: FakeDNS) -> None:
    """`rebind.example` answers a public address (for the seam), then 127.0.0.2 to every later
    lookup. The fetcher looks up once per hop and connects to that answer: the inner server on
    127.0.0.2 (same port) never sees the request, and the next fetch, which is told 127.0.0.2,
    is refused before connecting."""
    port = free_port()
    async with (
        hostile_server(PUBLIC_STAND_IN, port) as checked,
        hostile_server("127.0.0.2", port) as inner,
    ):
        dns.add("rebind.example", [PUBLIC_STAND_IN], ["127.0.0.2"])
        fetcher = GuardedFetcher(allow_private=False, public_for_tests=frozenset({PUBLIC_STAND_IN}))
        url = f"http://rebind.example:{checked.port}/png/good.png"
        try:
            fetched = await fetcher.get(url, max_bytes=MB, deadline=DEADLINE)
            with pytest.raises(Blocked):
                await fetcher.get(url, max_bytes=MB, deadline=DEADLINE)
        finally:
            await fetcher.aclose()
    assert fetched.content == good_png()
    assert dns.calls["rebind.example"] == 2  # one lookup per fetch, none behind the check
    assert checked.hits == {"/png/good.png": 1}
    assert [s.local_address for s in checked.seen] == [PUBLIC_STAND_IN]
    assert checked.seen[0].host == f"rebind.example:{checked.port}"  # the name, kept
    assert not inner.hits


# -- bytes, encodings, deadlines -----------------------------------------------------------------


async def test_a_declared_length_over_the_cap_is_refused_unread(
    production: GuardedFetcher, server: HostileServer
) -> None:
    with pytest.raises(TooLarge, match=r"media.example: larger than 1,048,576 bytes"):
        await production.get(public(server, "/declared-large"), max_bytes=MB, deadline=DEADLINE)
    await server.wait_hung_up("/declared-large")
    assert server.sent["/declared-large"] < 100 * MB


async def test_an_endless_body_stops_at_the_cap(
    production: GuardedFetcher, server: HostileServer
) -> None:
    with pytest.raises(TooLarge, match=r"larger than 1,048,576 bytes"):
        await production.get(public(server, "/endless"), max_bytes=MB, deadline=DEADLINE)
    await server.wait_hung_up("/endless")


async def test_a_body_past_its_declared_length_is_not_read(
    production: GuardedFetcher, server: HostileServer
) -> None:
    fetched = await production.get(
        public(server, "/declared-small"), max_bytes=MB, deadline=DEADLINE
    )
    assert len(fetched.content) == 1000
    await server.wait_hung_up("/declared-small")


async def test_a_gzip_bomb_is_refused_unread_in_small_memory(
    production: GuardedFetcher, server: HostileServer
) -> None:
    gigabytes = 8
    tracemalloc.start()
    try:
        with pytest.raises(Encoded, match=r"media.example: sent a gzip body"):
            await production.get(
                public(server, f"/gzip-bomb?gb={gigabytes}"), max_bytes=50 * MB, deadline=DEADLINE
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await server.wait_hung_up("/gzip-bomb")
    assert server.sent["/gzip-bomb"] < gzip_bomb_size(gigabytes)  # the connection was closed
    assert peak < 16 * MB  # 8 GB inflated would not fit; the wire size (8 MB) is not read
    assert server.seen[0].accept_encoding == "identity"


async def test_a_gzip_bomb_served_after_the_check_is_refused(
    production: GuardedFetcher, server: HostileServer
) -> None:
    url = public(server, "/after-check/gzip-bomb/a.png")
    checked = await production.get(url, max_bytes=MB, deadline=DEADLINE)
    assert checked.content == good_png()
    with pytest.raises(Encoded):
        await production.get(url, max_bytes=50 * MB, deadline=DEADLINE)
    assert server.hits == {"/after-check/gzip-bomb/a.png": 2}


async def test_a_trickle_meets_the_total_deadline(
    production: GuardedFetcher, server: HostileServer
) -> None:
    # httpx's own timeout (30 s a read) would never trip at a byte every 50 ms.
    # Deadlines of seconds, not fractions: three test processes beside the PostgreSQL run can
    # keep a request from even reaching the server within half a second.
    with pytest.raises(TimedOut, match=r"media.example: no whole answer within 2 s"):
        await production.get(public(server, "/trickle?every=0.05"), max_bytes=MB, deadline=2)
    await server.wait_hung_up("/trickle")
    assert server.sent["/trickle"] > 8  # it did trickle: the deadline, not a read, cut it


async def test_open_lets_a_video_be_checked_by_its_headers(
    production: GuardedFetcher, server: HostileServer
) -> None:
    async with production.open(
        public(server, "/declared-large"), max_bytes=200 * MB, deadline=DEADLINE
    ) as opened:
        assert opened.declared_length == 100 * MB
    await server.wait_hung_up("/declared-large")


# -- webhook receivers ---------------------------------------------------------------------------


async def test_a_tarpit_receiver_meets_the_deadline(
    production: GuardedFetcher, server: HostileServer
) -> None:
    with pytest.raises(TimedOut, match=r"media.example"):
        await production.post(public(server, "/tarpit"), content=b"{}", headers={}, deadline=2)
    assert server.hits == {"/tarpit": 1}


async def test_a_trickling_receiver_meets_the_deadline(
    production: GuardedFetcher, server: HostileServer
) -> None:
    with pytest.raises(TimedOut):
        await production.post(
            public(server, "/tarpit-trickle"), content=b"{}", headers={}, deadline=1.5
        )
    await server.wait_hung_up("/tarpit-trickle")


async def test_a_flooding_receiver_is_read_a_little_then_closed(
    production: GuardedFetcher, server: HostileServer
) -> None:
    status, head = await production.post(
        public(server, "/flood"), content=b"{}", headers={}, deadline=DEADLINE
    )
    assert (status, len(head)) == (200, 2048)
    await server.wait_hung_up("/flood")


# -- cookies and errors --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["production", "development"])
async def test_no_cookie_is_kept_between_fetches(
    production: GuardedFetcher, development: GuardedFetcher, server: HostileServer, mode: str
) -> None:
    fetcher = production if mode == "production" else development
    base = public(server, "") if mode == "production" else server.url
    await fetcher.get(f"{base}/cookie/set", max_bytes=MB, deadline=DEADLINE)
    echoed = await fetcher.get(f"{base}/cookie/echo", max_bytes=MB, deadline=DEADLINE)
    assert echoed.content == b""
    assert [s.cookie for s in server.seen] == [None, None]


async def test_a_bad_status_names_the_host_not_the_address_or_body(
    production: GuardedFetcher, server: HostileServer
) -> None:
    with pytest.raises(BadStatus) as failed:
        await production.get(public(server, "/status/500"), max_bytes=MB, deadline=DEADLINE)
    assert str(failed.value) == "media.example: HTTP 500"
    assert failed.value.status == 500


async def test_a_refused_connection_names_the_host_not_the_address(
    production: GuardedFetcher,
) -> None:
    with pytest.raises(Unreachable) as failed:
        await production.get(
            f"http://media.example:{free_port()}/a.png", max_bytes=MB, deadline=DEADLINE
        )
    assert str(failed.value).startswith("media.example: the connection failed")
    assert PUBLIC_STAND_IN not in str(failed.value)


@pytest.mark.parametrize(
    "path",
    ["/status/404", "/endless", "/trickle?every=0.05", "/gzip-bomb", "/redirect/metadata"],
)
async def test_no_error_carries_an_address_or_a_body(
    production: GuardedFetcher, server: HostileServer, path: str
) -> None:
    with pytest.raises(FetchError) as failed:
        await production.get(public(server, path), max_bytes=MB, deadline=0.5)
    message = str(failed.value)
    assert PUBLIC_STAND_IN not in message
    assert SECRET_BODY not in message
    assert "\x00" not in message


# -- the hostile server's own bodies -------------------------------------------------------------


def test_the_png_bomb_is_small_on_the_wire_and_huge_in_its_header() -> None:
    bomb = png_bomb()
    width, height = struct.unpack(">II", bomb[16:24])
    assert (width, height) == (13_000, 13_000)
    assert len(bomb) < MB
    with Image.open(BytesIO(png_bomb(100, 100))) as small:  # the same recipe, decodable
        small.load()
        assert small.size == (100, 100)
