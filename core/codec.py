"""Encrypted Temporal payloads: AES-GCM, with the key's id in each payload's metadata.

Every client and worker encodes with the first of CRIER_PAYLOAD_KEYS and decodes with whichever
key a payload names, so a key is rotated by putting a new one first and dropping the old one
once no running workflow holds payloads made with it. Payloads that are not encrypted (saved
histories from before, search attributes, which Temporal must read) pass through untouched.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from core.config import Settings
from core.secret_files import read_or_create_secret

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


def key_id(key: bytes) -> str:
    """A short, stable name for a key, safe to store beside the ciphertext."""
    return hashlib.sha256(key).hexdigest()[:12]


def new_key() -> str:
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("the payload codec needs at least one key")
        self._encrypting = (key_id(keys[0]), AESGCM(keys[0]))
        self._by_id = {key_id(key): AESGCM(key) for key in keys}

    @classmethod
    def from_settings(cls, settings: Settings) -> EncryptionCodec:
        keys = [key.get_secret_value() for key in settings.payload_keys]
        if not keys:
            if not settings.is_development:
                raise ValueError("CRIER_PAYLOAD_KEYS is required outside development")
            keys = [_development_key(settings)]
        return cls([base64.urlsafe_b64decode(key) for key in keys])

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid, aead = self._encrypting
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = aead.encrypt(nonce, payload.SerializeToString(), kid.encode())
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: kid.encode()},
                    data=nonce + sealed,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(payload) for payload in payloads]

    def _open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID, b"").decode()
        aead = self._by_id.get(kid)
        if aead is None:
            raise ValueError(f"payload encrypted with unknown key {kid!r}")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        return Payload.FromString(aead.decrypt(nonce, sealed, kid.encode()))


def _development_key(settings: Settings) -> str:
    # As the token vault's: one generated key beside a development stack's data, so every
    # process of the stack (API, worker, tests reading it) shares it across restarts.
    return read_or_create_secret(settings.data_dir / "payload.keys", new_key)
