"""Hostile webhook receivers on loopback (review S6), through the real worker, relay and
Temporal dev server: a receiver that never answers or trickles its answer ends each attempt at
the deadline with the reason recorded, and holds only the webhook worker's slots while a post
publishes; a gzip bomb is refused unread; an endless or huge answer is read only up to its
first bytes, and the delivery counts by its status.

The receivers are aiohttp.web servers, each counting what it sent and whether crier hung up."""

from __future__ import annotations

import asyncio
import resource
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiohttp import web
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import Database
from core.events import EventType
from core.models import WebhookAttempt, WebhookDelivery
from core.status import Platform
from tests.support.api import bearer
from tests.support.factories import make_account
from tests.support.servers import free_port
from tests.test_webhooks import Stack, add_event, create_endpoint, eventually, open_stack

pytestmark = pytest.mark.e2e

MB = 1_000_000


def gzip_bomb_parts(inflated_mib: int) -> tuple[bytes, bytes, int, bytes]:
    """One gzip stream inflating to `inflated_mib` MiB of zeros, as (head, piece, count, tail):
    head + piece * count + tail. Each piece is 1 MiB of zeros deflated and fully flushed (so
    every piece is the same ~1 KB), which makes a bomb of any size cost nothing to build. The
    trailer's checksum is left zero: a decoder has inflated everything before it checks it."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = deflate.compress(bytes(1 << 20)) + deflate.flush(zlib.Z_FULL_FLUSH)
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, no time
    tail = deflate.flush() + struct.pack("<II", 0, (inflated_mib << 20) & 0xFFFFFFFF)
    return head, piece, inflated_mib, tail


BOMB_HEAD, BOMB_PIECE, BOMB_PIECES, BOMB_TAIL = gzip_bomb_parts(64 * 1024)  # 64 GiB inflated
BOMB_BYTES = len(BOMB_HEAD) + len(BOMB_PIECE) * BOMB_PIECES + len(BOMB_TAIL)  # ~68 MB


@dataclass
class HostileReceiver:
    """Counts requests, requests still open, answers crier hung up on, and body bytes sent."""

    behaviour: Callable[[HostileReceiver, web.Request], Awaitable[web.StreamResponse]]
    release: asyncio.Event = field(default_factory=asyncio.Event)
    requests: int = 0
    open: int = 0
    dropped: int = 0
    sent: int = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.requests += 1
        self.open += 1
        try:
            return await self.behaviour(self, request)
        except ConnectionError:
            self.dropped += 1  # crier closed the connection before the answer was whole
            return web.Response()  # to nobody: said so that aiohttp logs no error
        finally:
            self.open -= 1

    async def hung_up(self, request: web.Request) -> bool:
        """True once crier closed the connection; False once the test released the receiver."""
        while not self.release.is_set():
            if request.transport is None or request.transport.is_closing():
                return True
            await _released_within(self, 0.05)
        return False


async def never_answers(receiver: HostileReceiver, request: web.Request) -> web.StreamResponse:
    """Silent until the test releases it (then a 200), or until crier hangs up."""
    if await receiver.hung_up(request):
        receiver.dropped += 1
    return web.Response(status=200, text="ok")


async def trickles(receiver: HostileReceiver, request: web.Request) -> web.StreamResponse:
    """A 200 at once, then one byte every 0.2 s: httpx's timeouts are per read, so only a
    deadline on the whole attempt ends it."""
    answer = web.StreamResponse(status=200)
    await answer.prepare(request)
    while not receiver.release.is_set():
        await answer.write(b".")
        receiver.sent += 1
        if await _released_within(receiver, 0.2):
            break
    return answer


async def gzip_bomb(receiver: HostileReceiver, request: web.Request) -> web.StreamResponse:
    answer = web.StreamResponse(status=200, headers={"Content-Encoding": "gzip"})
    answer.content_type = "application/json"
    await answer.prepare(request)
    await answer.write(BOMB_HEAD)
    for _ in range(BOMB_PIECES // 64):
        await answer.write(BOMB_PIECE * 64)
        receiver.sent += len(BOMB_PIECE) * 64
    await answer.write(BOMB_TAIL)
    return answer


def endless(status: int) -> Callable[[HostileReceiver, web.Request], Awaitable[web.StreamResponse]]:
    async def answer_forever(receiver: HostileReceiver, request: web.Request) -> web.StreamResponse:
        answer = web.StreamResponse(status=status)
        await answer.prepare(request)
        chunk = b"x" * 65536
        while True:  # ends only when crier hangs up
            await answer.write(chunk)
            receiver.sent += len(chunk)

    return answer_forever


async def huge_declared(receiver: HostileReceiver, request: web.Request) -> web.StreamResponse:
    """A gigabyte, its length declared up front."""
    answer = web.StreamResponse(status=200)
    answer.content_length = 1000 * MB
    await answer.prepare(request)
    chunk = b"y" * MB
    for _ in range(1000):
        await answer.write(chunk)
        receiver.sent += len(chunk)
    return answer


async def _released_within(receiver: HostileReceiver, seconds: float) -> bool:
    try:
        await asyncio.wait_for(receiver.release.wait(), seconds)
    except TimeoutError:
        return False
    return True


@asynccontextmanager
async def receiving(receiver: HostileReceiver) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=1, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        receiver.release.set()
        await runner.cleanup()


async def attempts_of(stack: Stack, delivery_id: str) -> list[WebhookAttempt]:
    async with stack.db.session() as session:
        found = await session.exec(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
        )
        return sorted(found.all(), key=lambda a: a.number)


async def deliveries(stack: Stack) -> list[WebhookDelivery]:
    async with stack.db.session() as session:
        return list((await session.exec(select(WebhookDelivery))).all())


async def one_finished_delivery(stack: Stack) -> WebhookDelivery:
    async def finished() -> list[WebhookDelivery]:
        return [d for d in await deliveries(stack) if d.status != "pending"]

    ended: list[WebhookDelivery] = await eventually(finished, "the delivery to end")
    [delivery] = ended
    return delivery


@pytest.mark.parametrize("behaviour", [never_answers, trickles], ids=["silent", "trickling"])
async def test_a_tarpit_receiver_ends_each_attempt_at_the_deadline_with_the_reason(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    behaviour: Callable[[HostileReceiver, web.Request], Awaitable[web.StreamResponse]],
) -> None:
    receiver = HostileReceiver(behaviour)
    async with (
        open_stack(
            dev_env,
            settings,
            db,
            # Seconds to spare: under a loaded CI each request must still reach the receiver
            # well inside the deadline, or the receiver's count would be short.
            webhook_timeout=timedelta(seconds=3),
            webhook_max_attempts=2,
        ) as stack,
        receiving(receiver) as base,
    ):
        await create_endpoint(stack, f"{base}/tarpit", ["social.account_connected"])
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        delivery = await one_finished_delivery(stack)
        # crier hung up on both attempts; the receiver did not end them.
        await eventually(lambda: receiver.dropped == 2, "crier to hang up on both attempts")
    assert delivery.status == "failed" and delivery.attempt_count == 2
    attempts = await attempts_of(stack, delivery.id)
    assert [(a.status_code, a.error) for a in attempts] == [
        (None, "127.0.0.1: no whole answer within 3 s")
    ] * 2
    assert receiver.requests == 2


async def test_tarpit_receivers_hold_only_the_webhook_slots_and_a_post_publishes_meanwhile(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database
) -> None:
    """Two webhook slots, both held by a receiver that does not answer, a third delivery
    waiting for one; three slots for the work, one of them the relay's. Were deliveries on the
    work's slots, the tarpit would hold them all and the post would wait behind it."""
    receiver = HostileReceiver(never_answers)
    async with (
        open_stack(
            dev_env,
            settings,
            db,
            webhook_timeout=timedelta(minutes=5),
            worker_max_webhooks=2,
            worker_max_activities=3,
        ) as stack,
        receiving(receiver) as base,
    ):
        for n in range(3):
            await create_endpoint(stack, f"{base}/tarpit/{n}", ["social.account_connected"])
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        await eventually(lambda: receiver.open == 2, "the tarpit to hold both webhook slots")

        key = bearer(stack.tenant.api_key)
        account = await make_account(
            stack.db, stack.settings, stack.tenant, Platform.X, "1600000000000000002"
        )
        created = await stack.api.post(
            "/v1/posts",
            json={"body": "On time, tarpit or not", "targets": [{"account_id": account.id}]},
            headers=key,
        )
        assert created.status_code == 201, created.text
        post_id = created.json()["data"]["id"]
        published = await stack.api.post(f"/v1/posts/{post_id}/publish", json={}, headers=key)
        assert published.status_code == 202, published.text

        async def target_status() -> str | None:
            answer = await stack.api.get(f"/v1/posts/{post_id}", headers=key)
            status: str = answer.json()["data"]["targets"][0]["status"]
            return status if status in ("published", "failed", "dead") else None

        assert await eventually(target_status, "the post to publish") == "published"
        # Meanwhile the webhook slots stayed full: two requests open, the third not sent, no
        # attempt ended.
        assert (receiver.requests, receiver.open) == (2, 2)
        waiting = await deliveries(stack)
        assert [(d.status, d.attempt_count) for d in waiting] == [("pending", 0)] * 3

        # The receiver answers at last: the two held deliveries end, the third goes out.
        receiver.release.set()

        async def all_delivered() -> bool:
            return [d.status for d in await deliveries(stack)] == ["delivered"] * 3

        await eventually(all_delivered, "every delivery to go through")
    assert receiver.requests == 3


async def test_a_gzip_bomb_answer_is_refused_unread(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database
) -> None:
    receiver = HostileReceiver(gzip_bomb)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    async with (
        open_stack(dev_env, settings, db, webhook_max_attempts=1) as stack,
        receiving(receiver) as base,
    ):
        await create_endpoint(stack, f"{base}/bomb", ["social.account_connected"])
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        delivery = await one_finished_delivery(stack)
        await eventually(lambda: receiver.dropped == 1, "crier to hang up on the bomb")
    [attempt] = await attempts_of(stack, delivery.id)
    assert delivery.status == "failed"
    assert (attempt.status_code, attempt.error) == (
        None,
        "127.0.0.1: sent a gzip body; crier asks for identity",
    )
    # Hung up long before the ~68 MB on the wire (64 GiB inflated) were through.
    assert receiver.sent < BOMB_BYTES
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mb < 100, f"the test process's peak memory grew by {grown_mb:.0f} MB"


@pytest.mark.parametrize(
    ("behaviour", "status", "error"),
    [
        (endless(200), "delivered", None),
        (huge_declared, "delivered", None),
        (endless(500), "failed", "127.0.0.1: HTTP 500"),
    ],
    ids=["endless-200", "a-gigabyte-declared", "endless-500"],
)
async def test_a_huge_or_endless_answer_is_read_only_up_to_its_first_bytes(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    behaviour: Callable[[HostileReceiver, web.Request], Awaitable[web.StreamResponse]],
    status: str,
    error: str | None,
) -> None:
    """Were the answer read whole, the endless one would end only at the deadline, failed."""
    receiver = HostileReceiver(behaviour)
    async with (
        open_stack(
            dev_env,
            settings,
            db,
            webhook_max_attempts=1,
            webhook_timeout=timedelta(seconds=30),
        ) as stack,
        receiving(receiver) as base,
    ):
        await create_endpoint(stack, f"{base}/firehose", ["social.account_connected"])
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        delivery = await one_finished_delivery(stack)
        await eventually(lambda: receiver.dropped == 1, "crier to hang up on the answer")
    [attempt] = await attempts_of(stack, delivery.id)
    assert (delivery.status, attempt.error) == (status, error)
    assert attempt.status_code == (500 if status == "failed" else 200)
    assert receiver.sent < 1000 * MB
