"""Temporal payloads encrypted with AES-GCM: nothing readable in the server's history, and the
API's codec endpoint (what the Web UI calls) gives it back to those allowed to read it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.codec import ENCODING, EncryptionCodec, new_key
from core.config import Settings
from core.db import Database
from core.messages import PublishTargetInput
from core.status import Platform
from core.temporal import data_converter
from tests.support.api import api_client, bearer
from tests.support.factories import make_tenant
from workflows.publish_target import PublishTargetWorkflow

SECRET_ID = "tgt-a-secret-we-must-not-see"


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


async def test_history_holds_ciphertext_and_the_codec_endpoint_reads_it(
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
        tenant = await make_tenant(db, scopes=("social.view",))
        async with api_client(settings, dev_env.client) as api:
            refused = await api.post("/codec/decode", json=body)
            decoded = await api.post("/codec/decode", json=body, headers=bearer(tenant.api_key))
            encoded = await api.post(
                "/codec/encode", json=decoded.json(), headers=bearer(tenant.api_key)
            )
        assert refused.status_code == 401
        assert decoded.status_code == 200, decoded.text
        [plain] = json_format.ParseDict(decoded.json(), Payloads()).payloads
        assert SECRET_ID.encode() in plain.data
        [again] = json_format.ParseDict(encoded.json(), Payloads()).payloads
        assert again.metadata["encoding"] == ENCODING and SECRET_ID.encode() not in again.data
    finally:
        await handle.terminate("test over")


async def test_only_the_temporal_ui_origin_may_call_from_a_browser(
    settings: Settings, db: Database
) -> None:
    ui = settings.temporal_ui_url.rstrip("/")
    async with api_client(settings, None) as api:
        allowed = await api.options(
            "/codec/decode", headers={"Origin": ui, "Access-Control-Request-Method": "POST"}
        )
        other = await api.options(
            "/codec/decode",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        # In development the dev UI, which has no login, is let in by its origin alone.
        from_ui = await api.post("/codec/decode", json={"payloads": []}, headers={"Origin": ui})
    assert allowed.headers.get("access-control-allow-origin") == ui
    assert "access-control-allow-origin" not in other.headers
    assert from_ui.status_code == 200 and from_ui.json() == {"payloads": []}


def test_production_refuses_to_start_without_payload_keys() -> None:
    with pytest.raises(ValueError, match="CRIER_PAYLOAD_KEYS"):
        Settings(env="production", sandbox_secret="x" * 32, token_keys="k", database_url="x")
