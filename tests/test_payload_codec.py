"""Temporal payloads encrypted with AES-GCM: nothing readable in the server's history, and the
API's codec endpoint (what the Web UI and the CLI call) gives it back to operators only: the
CRIER_CODEC_TOKEN, never a tenant's key; off without a token; 4xx for anything it cannot read."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from pydantic import SecretStr, ValidationError
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.codec import MAX_BODY_BYTES, origin_of
from api.main import create_app
from core.codec import ENCODING, EncryptionCodec, new_key
from core.config import Settings
from core.db import Database
from core.messages.delivery import PublishTargetInput
from core.status import Platform
from core.temporal import data_converter
from tests.support.api import api_client, bearer
from tests.support.factories import make_tenant
from workflows.publish_target import PublishTargetWorkflow

SECRET_ID = "tgt-a-secret-we-must-not-see"
CODEC_TOKEN = "codec-token-of-the-operator-0123456789"


def _key() -> bytes:
    return base64.urlsafe_b64decode(new_key())


async def test_encrypts_decrypts_and_rotates() -> None:
    old, new = _key(), _key()
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"body": "Launch day"}')
    [sealed] = await EncryptionCodec([old]).encode([plain])
    assert sealed.metadata["encoding"] == ENCODING and b"Launch" not in sealed.data
    # A new key first, the old one kept: old payloads still open, new ones use the new key.
    rotated = EncryptionCodec([new, old])
    assert await rotated.decode([sealed]) == [plain]
    [resealed] = await rotated.encode([plain])
    assert await EncryptionCodec([new]).decode([resealed]) == [plain]
    with pytest.raises(ValueError, match="unknown key"):
        await EncryptionCodec([new]).decode([sealed])
    # Payloads from before encryption (saved histories) pass through.
    assert await EncryptionCodec([new]).decode([plain]) == [plain]


@pytest.fixture
async def coded(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Client]:
    """A client like the API's and the worker's: payloads encrypted with the stack's key."""
    config = dev_env.client.service_client.config
    yield await Client.connect(config.target_host, data_converter=data_converter(settings))


def operator(settings: Settings) -> Settings:
    """The settings of a deployment whose operator set CRIER_CODEC_TOKEN."""
    return settings.model_copy(update={"codec_token": SecretStr(CODEC_TOKEN)})


async def test_history_holds_ciphertext_and_only_the_operator_token_reads_it(
    dev_env: WorkflowEnvironment, coded: Client, settings: Settings, db: Database
) -> None:
    job = PublishTargetInput(
        target_id=SECRET_ID, post_id="p", tenant_id="t", account_id="a", platform=Platform.X
    )
    handle = await coded.start_workflow(
        PublishTargetWorkflow.run, job, id=f"codec-{uuid.uuid4()}", task_queue="nobody-polls"
    )
    try:
        # Read as the server stores it: a client with no key.
        raw = await dev_env.client.get_workflow_handle(handle.id).fetch_history()
        assert SECRET_ID not in raw.to_json()
        started = raw.events[0].workflow_execution_started_event_attributes
        [payload] = started.input.payloads
        assert payload.metadata["encoding"] == ENCODING

        body = json_format.MessageToDict(Payloads(payloads=[payload]))
        # A tenant's key, with every scope, live or sandbox, is not an operator.
        live = await make_tenant(db, test=False)
        sandbox = await make_tenant(db, test=True)
        async with api_client(operator(settings), dev_env.client) as api:
            anonymous = await api.post("/codec/decode", json=body)
            tenants = [
                await api.post(f"/codec/{path}", json=body, headers=bearer(key.api_key))
                for key in (live, sandbox)
                for path in ("decode", "encode")
            ]
            wrong = await api.post("/codec/decode", json=body, headers=bearer(CODEC_TOKEN + "x"))
            decoded = await api.post("/codec/decode", json=body, headers=bearer(CODEC_TOKEN))
            encoded = await api.post(
                "/codec/encode", json=decoded.json(), headers=bearer(CODEC_TOKEN)
            )
        for refused in (anonymous, *tenants, wrong):
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"]["code"] == "unauthenticated"
            assert SECRET_ID not in refused.text
        assert decoded.status_code == 200, decoded.text
        [plain] = json_format.ParseDict(decoded.json(), Payloads()).payloads
        assert SECRET_ID.encode() in plain.data
        [again] = json_format.ParseDict(encoded.json(), Payloads()).payloads
        assert again.metadata["encoding"] == ENCODING and SECRET_ID.encode() not in again.data
    finally:
        await handle.terminate("test over")


async def test_without_a_codec_token_the_codec_is_off(settings: Settings) -> None:
    async with api_client(settings, None) as api:
        for path in ("decode", "encode"):
            off = await api.post(f"/codec/{path}", json={"payloads": []})
            assert off.status_code == 503, off.text
            assert off.json()["error"]["code"] == "codec_not_configured"
            # Not even a request that looks like it comes from the UI.
            ui = await api.post(
                f"/codec/{path}",
                json={"payloads": []},
                headers={"Origin": origin_of(settings.temporal_ui_url)},
            )
            assert ui.status_code == 503


async def sealed_payload(settings: Settings) -> dict[str, Any]:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"Launch day"')
    [sealed] = await EncryptionCodec.from_settings(settings).encode([plain])
    return json_format.MessageToDict(sealed)


async def test_a_payload_that_cannot_be_opened_is_a_422_naming_it(settings: Settings) -> None:
    good = await sealed_payload(settings)
    tampered = dict(good)
    data = bytearray(base64.b64decode(good["data"]))
    data[-1] ^= 1
    tampered["data"] = base64.b64encode(bytes(data)).decode()
    foreign = await sealed_payload(
        settings.model_copy(update={"payload_keys": [SecretStr(new_key())]})
    )
    async with api_client(operator(settings), None) as api:
        answer = await api.post(
            "/codec/decode",
            json={"payloads": [good, tampered, foreign]},
            headers=bearer(CODEC_TOKEN),
        )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_payloads"
    assert [d["loc"] for d in error["details"]] == [
        ["body", "payloads", 1],
        ["body", "payloads", 2],
    ]
    assert "tampered" in error["details"][0]["msg"]
    assert "key" in error["details"][1]["msg"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'"payloads"',
        b'{"payloads": "none"}',
        b'{"payloads": [{"data": "%%% not base64 %%%"}]}',
        b'{"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="}, "data": "AA=="}]}',
        b'{"unknown": 1}',
    ],
    ids=["not-json", "a-list", "a-string", "not-a-list", "bad-base64", "too-short", "unknown"],
)
async def test_a_body_that_is_not_payloads_is_a_422(settings: Settings, body: bytes) -> None:
    async with api_client(operator(settings), None) as api:
        answer = await api.post(
            "/codec/decode",
            content=body,
            headers={**bearer(CODEC_TOKEN), "Content-Type": "application/json"},
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] in ("invalid_request", "invalid_payloads")


async def test_a_plaintext_that_is_not_a_payload_is_a_422(settings: Settings) -> None:
    """Sealed with the right key, but what it seals is not a Temporal payload."""
    [key] = [base64.urlsafe_b64decode(k) for k in [new_key()]]
    codec = EncryptionCodec([key])
    [sealed] = await codec.encode([Payload(data=b"x")])
    sealed.data = sealed.data[:12] + AESGCM(key).encrypt(
        sealed.data[:12], b"\xff\xff\xff", sealed.metadata["encryption-key-id"]
    )
    keyed = operator(settings).model_copy(
        update={"payload_keys": [SecretStr(base64.urlsafe_b64encode(key).decode())]}
    )
    async with api_client(keyed, None) as api:
        answer = await api.post(
            "/codec/decode",
            json=json_format.MessageToDict(Payloads(payloads=[sealed])),
            headers=bearer(CODEC_TOKEN),
        )
    assert answer.status_code == 422, answer.text
    assert "not a Temporal payload" in answer.json()["error"]["details"][0]["msg"]


async def test_bodies_over_the_cap_are_refused(settings: Settings) -> None:
    big = {"payloads": [{"data": base64.b64encode(b"x" * MAX_BODY_BYTES).decode()}]}

    async def trickle() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    async with api_client(operator(settings), None) as api:
        declared = await api.post("/codec/decode", json=big, headers=bearer(CODEC_TOKEN))
        streamed = await api.post("/codec/encode", content=trickle(), headers=bearer(CODEC_TOKEN))
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"]["code"] == "body_too_large"


async def test_only_the_temporal_ui_origin_may_call_from_a_browser(settings: Settings) -> None:
    ui = origin_of(settings.temporal_ui_url)
    async with api_client(operator(settings), None) as api:
        allowed = await api.options(
            "/codec/decode", headers={"Origin": ui, "Access-Control-Request-Method": "POST"}
        )
        other = await api.options(
            "/codec/decode",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.headers.get("access-control-allow-origin") == ui
    assert "authorization" in allowed.headers.get("access-control-allow-headers", "").lower()
    assert "access-control-allow-origin" not in other.headers


async def post_from(settings: Settings, client: str, origin: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(settings), client=(client, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://crier.test") as http:
        return await http.post("/codec/decode", json={"payloads": []}, headers={"Origin": origin})


async def test_the_dev_ui_origin_is_let_in_only_when_asked_for_and_from_loopback(
    settings: Settings,
) -> None:
    """The dev server's UI sends only its Origin. That lets it in only with
    CRIER_CODEC_DEV_ORIGIN on (as `crier dev` sets it), only in development, and only from a
    loopback address; a header anyone can write opens nothing otherwise."""
    ui = origin_of(settings.temporal_ui_url)
    dev = operator(settings).model_copy(update={"codec_dev_origin": True})
    assert (await post_from(dev, "127.0.0.1", ui)).status_code == 200
    assert (await post_from(dev, "::1", ui)).status_code == 200
    assert (await post_from(dev, "203.0.113.7", ui)).status_code == 401
    assert (await post_from(dev, "127.0.0.1", "https://evil.example")).status_code == 401
    # Off (the default), the Origin alone is not enough, even from loopback.
    assert (await post_from(operator(settings), "127.0.0.1", ui)).status_code == 401


def test_production_refuses_the_dev_origin_and_a_short_codec_token() -> None:
    production = {
        "env": "production",
        "sandbox_secret": "x" * 32,
        "token_keys": "k",
        "payload_keys": new_key(),
        "session_secret": "s" * 32,
        "database_url": "postgresql://crier@db/crier",
        "rate_limit_storage": "redis://redis:6379/0",
    }
    Settings(**production, codec_token="t" * 32)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="CRIER_CODEC_DEV_ORIGIN"):
        Settings(**production, codec_dev_origin=True)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="CRIER_CODEC_TOKEN is shorter than 32"):
        Settings(env="test", codec_token="t" * 31)
    # An empty value (a blank line in .env) means no token: the codec is off, not open.
    assert Settings(env="test", codec_token="").codec_token is None


def test_production_refuses_to_start_without_payload_keys() -> None:
    with pytest.raises(ValueError, match="CRIER_PAYLOAD_KEYS"):
        Settings(env="production", sandbox_secret="x" * 32, token_keys="k", database_url="x")
