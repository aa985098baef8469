"""Webhooks end to end: a real post published through the real worker reaches a real HTTP
receiver, signed, after the receiver failed twice; an endpoint that keeps failing is disabled;
a rolled secret signs alongside the new one for its overlap; a secret no key decrypts fails the
delivery at once, saying why.

On the Temporal dev server, with retry intervals shortened to fractions of a second."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.webhooks import SECRET_UNREADABLE
from cli.schedules import ensure_event_relay
from cli.worker import worker_for
from core.config import Settings
from core.db import Database, utcnow
from core.events import EventType, record_event
from core.models import Event, Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.status import Platform
from core.vault import Vault
from core.webhook_signing import SIGNATURE_HEADER, SignatureError, verify
from tests.support.api import api_client, bearer
from tests.support.factories import TenantFixture, make_account, make_tenant
from tests.support.harness import keep_history
from tests.support.servers import Received, WebhookReceiver, serving

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    settings: Settings
    db: Database
    api: httpx.AsyncClient
    tenant: TenantFixture
    relay: WorkflowHandle[Any, Any]
    client: Client


def quick(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(
        update={
            "webhook_initial_interval": timedelta(milliseconds=300),
            "webhook_backoff": 1.0,
            "webhook_max_attempts": 5,
            "event_poll_interval": timedelta(milliseconds=100),
            **changes,
        }
    )


@pytest.fixture
async def stack(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    async with open_stack(dev_env, settings, db, **getattr(request, "param", {})) as opened:
        yield opened


@asynccontextmanager
async def open_stack(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database, **changes: Any
) -> AsyncIterator[Stack]:
    """The worker (all its queues), the relay and the API, with `quick` retry timings."""
    fast = quick(settings, **changes)
    async with AsyncExitStack() as stack:
        worker = await stack.enter_async_context(worker_for(dev_env.client, fast))
        await stack.enter_async_context(worker)
        relay = await ensure_event_relay(dev_env.client, fast)
        api = await stack.enter_async_context(api_client(fast, dev_env.client))
        tenant = await make_tenant(db)
        yield Stack(
            settings=fast, db=db, api=api, tenant=tenant, relay=relay, client=dev_env.client
        )
        await relay.terminate("the test is over")


async def eventually(check: Callable[[], Any], what: str, within: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def create_endpoint(stack: Stack, url: str, events: list[str]) -> dict[str, Any]:
    created = await stack.api.post(
        "/v1/webhooks", json={"url": url, "events": events}, headers=bearer(stack.tenant.api_key)
    )
    assert created.status_code == 201, created.text
    data: dict[str, Any] = created.json()["data"]
    return data


async def test_a_published_post_reaches_a_signed_webhook_after_two_failures(
    stack: Stack,
) -> None:
    receiver = WebhookReceiver(failures=2)
    account = await make_account(
        stack.db, stack.settings, stack.tenant, Platform.X, "1600000000000000001"
    )
    async with serving(receiver, lifespan="off") as base:
        endpoint = await create_endpoint(stack, f"{base}/hooks/crier", ["social.post_published"])
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")

        key = bearer(stack.tenant.api_key)
        post = await stack.api.post(
            "/v1/posts",
            json={"body": "Webhooks, signed", "targets": [{"account_id": account.id}]},
            headers=key,
        )
        assert post.status_code == 201, post.text
        post_id = post.json()["data"]["id"]
        published = await stack.api.post(f"/v1/posts/{post_id}/publish", json={}, headers=key)
        assert published.status_code == 202, published.text

        await eventually(lambda: any(r.answered == 200 for r in receiver.requests), "a 200")

    # Three tries of one delivery: the same event, the same bytes, each freshly signed.
    assert [r.answered for r in receiver.requests] == [503, 503, 200]
    assert len({r.body for r in receiver.requests}) == 1
    assert {r.headers["crier-event-id"] for r in receiver.requests} == {
        json.loads(receiver.requests[0].body)["id"]
    }
    assert [r.headers["crier-delivery-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    last = receiver.requests[-1]
    timestamp = verify(last.headers[SIGNATURE_HEADER.lower()], last.body, secret)

    body = json.loads(last.body)
    assert set(body) == {"id", "type", "created_at", "data"}
    assert body["type"] == "social.post_published"
    target = (await stack.api.get(f"/v1/posts/{post_id}", headers=key)).json()["data"]["targets"][0]
    assert body["data"]["post_id"] == post_id
    assert body["data"]["target_id"] == target["id"]
    assert body["data"]["platform"] == "x"
    assert body["data"]["url"] == target["url"] and target["url"]
    assert "Webhooks, signed" not in last.body.decode()  # ids and links, never the text

    # What a receiver's check refuses: another secret, a changed body, a replay.
    header = last.headers[SIGNATURE_HEADER.lower()]
    with pytest.raises(SignatureError, match="does not match"):
        verify(header, last.body, "whsec_someone_else")
    with pytest.raises(SignatureError, match="does not match"):
        verify(header, last.body.replace(b"published", b"failed"), secret)
    with pytest.raises(SignatureError, match="replay"):
        verify(header, last.body, secret, now=timestamp + 301)

    deliveries = await stack.api.get(f"/v1/webhooks/{endpoint['id']}/deliveries", headers=key)
    assert deliveries.status_code == 200, deliveries.text
    [delivery] = deliveries.json()["data"]
    assert delivery["status"] == "delivered"
    assert delivery["event_type"] == "social.post_published"
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 200]
    # The host and the status; never the receiver's answer ("nope"), nor an address.
    assert delivery["attempts"][0]["error"] == "127.0.0.1: HTTP 503"
    assert delivery["attempts"][2]["error"] is None
    await keep_history(
        stack.client.get_workflow_handle(f"webhook-{delivery['id']}"),
        "webhook_delivered_on_third_try",
    )
    # The secret is shown once: never in a later answer.
    listed = await stack.api.get("/v1/webhooks", headers=key)
    assert secret not in listed.text and "secret" not in listed.json()["data"][0]


async def add_event(
    stack: Stack, kind: EventType, *, tenant_id: str | None = None, test: bool = True
) -> None:
    async with stack.db.session() as session:
        record_event(
            session,
            tenant_id=tenant_id or stack.tenant.tenant_id,
            is_test=test,
            type=kind,
            data={},
        )
        await session.commit()


async def deliveries_of(stack: Stack) -> list[WebhookDelivery]:
    async with stack.db.session() as session:
        return list((await session.exec(select(WebhookDelivery))).all())


@pytest.mark.parametrize(
    "stack", [{"webhook_max_attempts": 2, "webhook_disable_after": 2}], indirect=True
)
async def test_an_endpoint_that_keeps_failing_is_disabled_and_the_tenant_told(
    stack: Stack,
) -> None:
    receiver = WebhookReceiver(failures=1000, status_when_failing=500)
    key = bearer(stack.tenant.api_key)
    async with serving(receiver, lifespan="off") as base:
        endpoint = await create_endpoint(
            stack, f"{base}/down", ["social.account_connected", "social.account_disconnected"]
        )
        other = await make_tenant(stack.db)
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        # Not for this endpoint: another tenant's, a live one, a type it did not ask for.
        await add_event(stack, EventType.ACCOUNT_CONNECTED, tenant_id=other.tenant_id)
        await add_event(stack, EventType.ACCOUNT_CONNECTED, test=False)
        await add_event(stack, EventType.TOKEN_EXPIRED)

        async def disabled() -> bool:
            async with stack.db.session() as session:
                row = await session.get(WebhookEndpoint, endpoint["id"])
                return row is not None and not row.enabled

        await eventually(disabled, "the endpoint to be disabled")

        assert len(receiver.requests) == 4  # two events, two attempts each
        deliveries = await deliveries_of(stack)
        assert sorted(d.status for d in deliveries) == ["failed", "failed"]
        await keep_history(
            stack.client.get_workflow_handle(f"webhook-{deliveries[0].id}"),
            "webhook_failed_every_try",
        )
        async with stack.db.session() as session:
            told = (
                await session.exec(
                    select(Notification).where(Notification.tenant_id == stack.tenant.tenant_id)
                )
            ).all()
            assert [n.kind for n in told] == ["webhook_disabled"]
            kind = EventType.WEBHOOK_DISABLED.value
            events = (await session.exec(select(Event).where(Event.type == kind))).all()
            assert [e.data["webhook_id"] for e in events] == [endpoint["id"]]
        shown = (await stack.api.get(f"/v1/webhooks/{endpoint['id']}", headers=key)).json()
        assert shown["data"]["enabled"] is False
        assert "2 deliveries in a row" in shown["data"]["disabled_reason"]

        # Disabled, it gets nothing new.
        await add_event(stack, EventType.ACCOUNT_DISCONNECTED)

        async def dispatched() -> bool:
            async with stack.db.session() as session:
                waiting = await session.exec(
                    select(Event).where(col(Event.dispatched_at).is_(None))
                )
                return not waiting.all()

        await eventually(dispatched, "the relay to pass the new event")
        assert len(await deliveries_of(stack)) == 2

        # Enabled again (and the receiver mended), new events reach it.
        receiver.failures = len(receiver.requests)
        enabled = await stack.api.post(f"/v1/webhooks/{endpoint['id']}/enable", headers=key)
        assert enabled.status_code == 200, enabled.text
        await add_event(stack, EventType.ACCOUNT_DISCONNECTED)
        await eventually(lambda: receiver.requests[-1].answered == 200, "a delivery after enable")
    assert len(receiver.requests) == 5
    assert json.loads(receiver.requests[-1].body)["type"] == "social.account_disconnected"


@dataclass
class VerifyingReceiver(WebhookReceiver):
    """A receiver that checks the signature with the one secret it holds, as docs/api.md's example
    does: 200 when a v1 matches, 400 otherwise."""

    secret: str = ""

    def status_for(self, headers: dict[str, str], body: bytes) -> int:
        try:
            verify(headers[SIGNATURE_HEADER.lower()], body, self.secret)
        except SignatureError:
            return 400
        return 200


def signatures(received: Received) -> list[str]:
    header = received.headers[SIGNATURE_HEADER.lower()]
    return [part.removeprefix("v1=") for part in header.split(",") if part.startswith("v1=")]


async def endpoint_row(stack: Stack, webhook_id: str) -> WebhookEndpoint:
    async with stack.db.session() as session:
        row = await session.get(WebhookEndpoint, webhook_id)
    assert row is not None
    return row


async def test_a_rolled_secret_signs_beside_the_new_one_until_its_overlap_ends(
    stack: Stack,
) -> None:
    key = bearer(stack.tenant.api_key)
    receiver = VerifyingReceiver(secret="")
    async with serving(receiver, lifespan="off") as base:
        endpoint = await create_endpoint(stack, f"{base}/hook", ["social.account_connected"])
        old = receiver.secret = endpoint["secret"]
        rolled = await stack.api.post(f"/v1/webhooks/{endpoint['id']}/roll-secret", headers=key)
        assert rolled.status_code == 200, rolled.text
        new = rolled.json()["data"]["secret"]

        def answered(count: int) -> bool:
            return len(receiver.requests) >= count and receiver.requests[-1].answered == 200

        # During the overlap: a receiver still on the old secret is served, and so is one
        # already on the new secret.
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        await eventually(lambda: answered(1), "the old secret's receiver to accept")
        receiver.secret = new
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        await eventually(lambda: answered(2), "the new secret's receiver to accept")
        assert [r.answered for r in receiver.requests] == [200, 200]
        for sent in receiver.requests:
            assert len(signatures(sent)) == 2
            for secret in (old, new):
                verify(sent.headers[SIGNATURE_HEADER.lower()], sent.body, secret)

        # The overlap ends (moved into the past rather than waited for): only the new secret
        # signs. The old secret's receiver refuses; given the new one, the retry gets through.
        async with stack.db.session() as session:
            row = await session.get(WebhookEndpoint, endpoint["id"])
            assert row is not None
            row.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
            session.add(row)
            await session.commit()
        shown = (await stack.api.get(f"/v1/webhooks/{endpoint['id']}", headers=key)).json()
        assert shown["data"]["signs_with_previous_secret"] is False
        assert shown["data"]["previous_secret_expires_at"] is None
        receiver.secret = old
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        await eventually(lambda: len(receiver.requests) >= 3, "a delivery after the overlap")
        receiver.secret = new
        await eventually(lambda: receiver.requests[-1].answered == 200, "the retry to pass")
    after = receiver.requests[2:]
    assert after[0].answered == 400 and after[-1].answered == 200
    for sent in after:
        assert len(signatures(sent)) == 1
        verify(sent.headers[SIGNATURE_HEADER.lower()], sent.body, new)
        with pytest.raises(SignatureError):
            verify(sent.headers[SIGNATURE_HEADER.lower()], sent.body, old)
    # The expired secret was erased by the delivery that found it expired.
    row = await endpoint_row(stack, endpoint["id"])
    assert row.previous_secret_enc is None and row.previous_secret_expires_at is None
    assert sorted(d.status for d in await deliveries_of(stack)) == ["delivered"] * 3


async def test_a_secret_no_key_decrypts_fails_the_delivery_at_once_with_the_reason(
    stack: Stack,
) -> None:
    """A Fernet key dropped before its secrets were re-encrypted (review S11): nothing is sent,
    one attempt records why, no retry follows; rolling the secret mends the endpoint."""
    receiver = VerifyingReceiver(secret="")
    key = bearer(stack.tenant.api_key)
    dropped = Vault([Fernet.generate_key().decode()])
    async with serving(receiver, lifespan="off") as base:
        async with stack.db.session() as session:
            endpoint = WebhookEndpoint(
                tenant_id=stack.tenant.tenant_id,
                is_test=True,
                url=f"{base}/hook",
                events=["social.account_connected"],
                secret_enc=dropped.encrypt("whsec_under_a_dropped_key"),
                created_by=stack.tenant.api_key_id,
            )
            session.add(endpoint)
            await session.commit()
        await add_event(stack, EventType.ACCOUNT_CONNECTED)

        async def finished() -> list[WebhookDelivery]:
            return [d for d in await deliveries_of(stack) if d.status != "pending"]

        [delivery] = await eventually(finished, "the delivery to fail")
        assert delivery.status == "failed"
        assert delivery.attempt_count == 1 and delivery.last_error == SECRET_UNREADABLE
        async with stack.db.session() as session:
            attempts = (
                await session.exec(
                    select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
                )
            ).all()
        assert [(a.number, a.status_code, a.error) for a in attempts] == [
            (1, None, SECRET_UNREADABLE)
        ]
        assert "cannot be decrypted" in SECRET_UNREADABLE
        assert receiver.requests == []
        assert (await endpoint_row(stack, endpoint.id)).consecutive_failures == 1
        listed = await stack.api.get(f"/v1/webhooks/{endpoint.id}/deliveries", headers=key)
        assert listed.json()["data"][0]["attempts"][0]["error"] == SECRET_UNREADABLE

        # Rolled, it delivers again, signed with the new secret alone.
        rolled = await stack.api.post(f"/v1/webhooks/{endpoint.id}/roll-secret", headers=key)
        assert rolled.status_code == 200, rolled.text
        receiver.secret = rolled.json()["data"]["secret"]
        await add_event(stack, EventType.ACCOUNT_CONNECTED)
        await eventually(lambda: receiver.requests, "a delivery after the roll")
    assert [r.answered for r in receiver.requests] == [200]
    assert len(signatures(receiver.requests[0])) == 1
