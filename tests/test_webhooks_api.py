"""The webhook endpoints' API: the secret shown once, every problem with a URL named, private
destinations refused outside development (when created and again when delivering), rolling
the secret, and the signature check a receiver runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from cryptography.fernet import Fernet

from activities.webhooks import WebhookActivities, webhook_fetcher
from core.config import Settings
from core.db import Database, utcnow
from core.events import EventType
from core.models import WebhookEndpoint
from core.vault import Vault
from core.webhook_signing import SignatureError, sign, verify
from tests.support.api import api_client, bearer
from tests.support.factories import add_key, make_tenant
from tests.support.servers import WebhookReceiver, serving


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, None) as client:
        yield client


@pytest.fixture
def production_like(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_private_destinations": False})


async def test_create_shows_the_secret_once_and_lists_delete_and_enable(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    key = bearer(tenant.api_key)
    created = await api.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/crier", "description": "ops"},
        headers=key,
    )
    assert created.status_code == 201, created.text
    hook = created.json()["data"]
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 40
    assert hook["enabled"] is True
    assert "social.post_published" in hook["events"] and len(hook["events"]) == len(EventType)

    shown = await api.get(f"/v1/webhooks/{hook['id']}", headers=key)
    assert shown.status_code == 200 and "secret" not in shown.json()["data"]
    listed = await api.get("/v1/webhooks", headers=key)
    assert [h["id"] for h in listed.json()["data"]] == [hook["id"]]
    assert hook["secret"] not in listed.text

    # Another tenant, or the same tenant's live key, sees none of it.
    stranger = await make_tenant(db)
    assert (
        await api.get(f"/v1/webhooks/{hook['id']}", headers=bearer(stranger.api_key))
    ).status_code == 404
    assert (await api.get("/v1/webhooks", headers=bearer(stranger.api_key))).json()["data"] == []

    enabled = await api.post(f"/v1/webhooks/{hook['id']}/enable", headers=key)
    assert enabled.status_code == 200 and enabled.json()["data"]["consecutive_failures"] == 0
    assert (await api.delete(f"/v1/webhooks/{hook['id']}", headers=key)).status_code == 204
    assert (await api.get(f"/v1/webhooks/{hook['id']}", headers=key)).status_code == 404
    assert (await api.get("/v1/webhooks", headers=key)).json()["data"] == []


async def test_bad_webhooks_are_refused_with_every_problem_named(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    refused = await api.post(
        "/v1/webhooks",
        json={"url": "ftp://user:pw@hooks.example.com/x", "events": []},
        headers=bearer(tenant.api_key),
    )
    assert refused.status_code == 422
    unknown = await api.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/x", "events": ["social.post_exploded"]},
        headers=bearer(tenant.api_key),
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["loc"][:2] == ["body", "events"]
    scheme = await api.post(
        "/v1/webhooks",
        json={"url": "ftp://user:pw@hooks.example.com/x"},
        headers=bearer(tenant.api_key),
    )
    messages = [d["msg"] for d in scheme.json()["error"]["details"]]
    assert scheme.status_code == 422
    assert any("scheme" in m for m in messages) and any("credentials" in m for m in messages)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_destinations_are_refused_outside_development(
    production_like: Settings, db: Database, url: str
) -> None:
    tenant = await make_tenant(db)
    async with api_client(production_like, None) as api:
        refused = await api.post("/v1/webhooks", json={"url": url}, headers=bearer(tenant.api_key))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["loc"] == ["body", "url"]


async def test_development_allows_a_local_receiver(api: httpx.AsyncClient, db: Database) -> None:
    tenant = await make_tenant(db)
    created = await api.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=bearer(tenant.api_key)
    )
    assert created.status_code == 201, created.text


async def test_delivery_checks_the_address_again_and_signs_what_it_sends(
    settings: Settings, production_like: Settings, db: Database
) -> None:
    """An endpoint saved while private addresses were allowed (or a name that later resolves
    inside the network) is refused at delivery time, before any byte is sent."""
    receiver = WebhookReceiver()
    vault = Vault.from_settings(settings)
    body = json.dumps({"id": "evt_1"}).encode()
    async with serving(receiver, lifespan="off") as base:
        for allowed, current in ((False, production_like), (True, settings)):
            fetcher = webhook_fetcher(current)
            hooks = WebhookActivities(db=db, fetcher=fetcher, vault=vault, settings=current)
            try:
                status, error = await hooks._send(f"{base}/hook", body, "whsec_x", {})
            finally:
                await fetcher.aclose()
            if allowed:
                assert (status, error) == (200, None)
            else:
                assert status is None
                assert error == (
                    "refused: 127.0.0.1: 127.0.0.1 is a private, loopback or link-local address"
                )
    assert len(receiver.requests) == 1  # only the allowed one reached it
    sent = receiver.requests[0]
    verify(sent.headers["crier-signature"], sent.body, "whsec_x")
    assert sent.headers["host"] == base.removeprefix("http://")
    assert sent.headers["accept-encoding"] == "identity"  # a compressed answer is refused
    assert sent.headers["user-agent"] == "crier-webhooks/1"


async def test_endpoints_per_tenant_and_mode_are_capped_even_when_created_at_once(
    settings: Settings, db: Database
) -> None:
    """CRIER_WEBHOOK_MAX_ENDPOINTS per tenant and mode (review S6: each event fans out to every
    endpoint). Creates racing each other cannot pass it; a deleted endpoint frees its place,
    a disabled one does not; the other mode and other tenants have their own."""
    capped = settings.model_copy(update={"webhook_max_endpoints": 3})
    tenant = await make_tenant(db)
    key = bearer(tenant.api_key)
    async with api_client(capped, None) as api:

        async def create(headers: dict[str, str]) -> httpx.Response:
            return await api.post(
                "/v1/webhooks", json={"url": "https://hooks.example.com/crier"}, headers=headers
            )

        answers = await asyncio.gather(*(create(key) for _ in range(8)))
        assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 5
        refused = next(a for a in answers if a.status_code == 409).json()["error"]
        assert refused["code"] == "too_many_webhooks"
        assert "3 webhook endpoints in sandbox mode" in refused["message"]
        assert "CRIER_WEBHOOK_MAX_ENDPOINTS=3" in refused["message"]
        listed = (await api.get("/v1/webhooks", headers=key)).json()["data"]
        assert len(listed) == 3

        # Disabled still counts (enabling it needs no room); deleted does not.
        async with db.session() as session:
            row = await session.get(WebhookEndpoint, listed[0]["id"])
            assert row is not None
            row.enabled = False
            session.add(row)
            await session.commit()
        assert (await create(key)).status_code == 409
        assert (await api.delete(f"/v1/webhooks/{listed[1]['id']}", headers=key)).status_code == 204
        assert (await create(key)).status_code == 201
        assert (await create(key)).status_code == 409

        # The same tenant's live key, and another tenant, count their own.
        live = await add_key(db, tenant, name="live", test=False)
        assert (await create(bearer(live.api_key))).status_code == 201
        stranger = await make_tenant(db)
        assert (await create(bearer(stranger.api_key))).status_code == 201


def test_a_signature_verifies_and_each_kind_of_forgery_fails() -> None:
    body = b'{"id":"evt_1","type":"social.post_published"}'
    header = sign("whsec_a", body, timestamp=1_800_000_000)
    assert header.startswith("t=1800000000,v1=")
    assert verify(header, body, "whsec_a", now=1_800_000_100) == 1_800_000_000
    # Rotation: any of several v1 values may match.
    rotated = header + ",v1=" + "0" * 64
    assert verify(rotated, body, "whsec_a", now=1_800_000_000) == 1_800_000_000
    cases = {
        "does not match": (header, body + b" ", "whsec_a", 1_800_000_000),
        "does not match ": (header, body, "whsec_b", 1_800_000_000),
        "replay": (header, body, "whsec_a", 1_800_000_301),
        "replay ": (header, body, "whsec_a", 1_799_999_699),  # from the future, too
        "no timestamp": ("v1=abc", body, "whsec_a", 1_800_000_000),
    }
    for expected, (given, payload, secret, now) in cases.items():
        with pytest.raises(SignatureError, match=expected.strip()):
            verify(given, payload, secret, now=now)
    # A timestamp changed to look fresh breaks the signature.
    forged = header.replace("t=1800000000", "t=1800000300")
    with pytest.raises(SignatureError, match="does not match"):
        verify(forged, body, "whsec_a", now=1_800_000_300)


def test_a_header_with_two_signatures_verifies_with_either_secret() -> None:
    body = b'{"id":"evt_1"}'
    header = sign("whsec_new", body, timestamp=1_800_000_000, previous="whsec_old")
    assert header.count(",v1=") == 2
    for secret in ("whsec_new", "whsec_old"):
        assert verify(header, body, secret, now=1_800_000_000) == 1_800_000_000
    with pytest.raises(SignatureError, match="does not match"):
        verify(header, body, "whsec_other", now=1_800_000_000)


@pytest.mark.parametrize("given", ["\u00e9" * 64, "caf\u00e9", "\udc80", "\u0661\u0662"])
def test_a_non_ascii_signature_is_refused_not_a_crash(given: str) -> None:
    """compare_digest raises TypeError on non-ASCII str: a receiver would answer 500."""
    body = b'{"id":"evt_1"}'
    header = f"t=1800000000,v1={given}"
    with pytest.raises(SignatureError, match="does not match"):
        verify(header, body, "whsec_a", now=1_800_000_000)
    # A matching signature beside it still verifies.
    valid = sign("whsec_a", body, timestamp=1_800_000_000)
    assert verify(f"{valid},v1={given}", body, "whsec_a", now=1_800_000_000) == 1_800_000_000


async def _stored(db: Database, webhook_id: str) -> WebhookEndpoint:
    async with db.session() as session:
        row = await session.get(WebhookEndpoint, webhook_id)
    assert row is not None
    return row


async def test_rolling_answers_the_new_secret_once_and_keeps_the_old_one_for_the_overlap(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    key = bearer(tenant.api_key)
    vault = Vault.from_settings(settings)
    created = await api.post("/v1/webhooks", json={"url": "https://h.example.com/"}, headers=key)
    hook = created.json()["data"]
    first = hook["secret"]
    assert hook["signs_with_previous_secret"] is False
    assert hook["previous_secret_expires_at"] is None

    before = utcnow()
    rolled = await api.post(f"/v1/webhooks/{hook['id']}/roll-secret", headers=key)
    assert rolled.status_code == 200, rolled.text
    data = rolled.json()["data"]
    second = data["secret"]
    assert second.startswith("whsec_") and len(second) > 40 and second != first
    assert data["signs_with_previous_secret"] is True
    until = datetime.fromisoformat(data["previous_secret_expires_at"])
    assert before + timedelta(hours=24) <= until <= utcnow() + timedelta(hours=24)
    row = await _stored(db, hook["id"])
    assert vault.decrypt(row.secret_enc) == second
    assert row.previous_secret_enc is not None and vault.decrypt(row.previous_secret_enc) == first
    assert row.previous_secret_expires_at == until

    # Shown: whether and until when the old secret signs; never either secret.
    one = await api.get(f"/v1/webhooks/{hook['id']}", headers=key)
    listed = await api.get("/v1/webhooks", headers=key)
    for answer in (one, listed):
        assert answer.status_code == 200
        assert first not in answer.text and second not in answer.text
    shown = one.json()["data"]
    assert listed.json()["data"] == [shown] and "secret" not in shown
    assert shown["signs_with_previous_secret"] is True
    assert datetime.fromisoformat(shown["previous_secret_expires_at"]) == until

    # Rolled again within the overlap: the secret just replaced is the previous one, the first
    # is dropped, and the overlap starts again with the length asked for.
    again = await api.post(
        f"/v1/webhooks/{hook['id']}/roll-secret", json={"overlap_hours": 2}, headers=key
    )
    assert again.status_code == 200, again.text
    third = again.json()["data"]["secret"]
    row = await _stored(db, hook["id"])
    assert vault.decrypt(row.secret_enc) == third
    assert row.previous_secret_enc is not None and vault.decrypt(row.previous_secret_enc) == second
    assert row.previous_secret_expires_at is not None
    assert row.previous_secret_expires_at <= utcnow() + timedelta(hours=2)
    assert first not in {vault.decrypt(row.secret_enc), vault.decrypt(row.previous_secret_enc)}

    # No overlap: the replaced secret stops signing at once.
    now = await api.post(
        f"/v1/webhooks/{hook['id']}/roll-secret", json={"overlap_hours": 0}, headers=key
    )
    assert now.status_code == 200, now.text
    assert now.json()["data"]["signs_with_previous_secret"] is False
    row = await _stored(db, hook["id"])
    assert row.previous_secret_enc is None and row.previous_secret_expires_at is None
    assert vault.decrypt(row.secret_enc) == now.json()["data"]["secret"]


async def test_a_roll_is_refused_with_every_problem_named(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    key = bearer(tenant.api_key)
    created = await api.post("/v1/webhooks", json={"url": "https://h.example.com/"}, headers=key)
    hook = created.json()["data"]
    url = f"/v1/webhooks/{hook['id']}/roll-secret"
    for body, field in (
        ({"overlap_hours": -1}, "overlap_hours"),
        ({"overlap_hours": 169}, "overlap_hours"),
        ({"overlap_hours": "a day"}, "overlap_hours"),
        ({"overlap": 24}, "overlap"),
    ):
        refused = await api.post(url, json=body, headers=key)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["details"][0]["loc"] == ["body", field], body
    assert (await api.post(url, json={"overlap_hours": 168}, headers=key)).status_code == 200

    # Another tenant, the same tenant's live key, a deleted endpoint: no such webhook.
    stranger = await make_tenant(db)
    live = (await add_key(db, tenant, test=False)).api_key
    untouched = (await _stored(db, hook["id"])).secret_enc
    for other in (stranger.api_key, live):
        missing = await api.post(url, headers=bearer(other))
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "not_found"
    assert (await _stored(db, hook["id"])).secret_enc == untouched
    assert (await api.delete(f"/v1/webhooks/{hook['id']}", headers=key)).status_code == 204
    assert (await api.post(url, headers=key)).status_code == 404


async def test_rolling_a_secret_no_key_can_read_replaces_it_without_an_overlap(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    """The way out after a key was dropped too early: the unreadable secret cannot sign, so it
    is not kept as the previous one (each delivery would fail on it)."""
    tenant = await make_tenant(db)
    lost = Vault([Fernet.generate_key().decode()]).encrypt("whsec_lost")
    async with db.session() as session:
        endpoint = WebhookEndpoint(
            tenant_id=tenant.tenant_id,
            is_test=True,
            url="https://h.example.com/",
            events=["social.account_connected"],
            secret_enc=lost,
            created_by=tenant.api_key_id,
        )
        session.add(endpoint)
        await session.commit()
    rolled = await api.post(
        f"/v1/webhooks/{endpoint.id}/roll-secret", headers=bearer(tenant.api_key)
    )
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["data"]["signs_with_previous_secret"] is False
    row = await _stored(db, endpoint.id)
    assert row.previous_secret_enc is None and row.previous_secret_expires_at is None
    assert Vault.from_settings(settings).decrypt(row.secret_enc) == rolled.json()["data"]["secret"]
