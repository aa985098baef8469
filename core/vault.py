"""Token vault: platform tokens encrypted at rest with MultiFernet.

The first key encrypts; every key decrypts, so a key can be rotated by putting a new one first.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import Column, MetaData, Table

from core.config import Settings, get_settings
from core.secret_files import read_or_create_secret


def _development_key(settings: Settings) -> str:
    # A development stack keeps one generated key beside its data, so tokens it stored stay
    # readable across restarts without anyone configuring anything.
    return read_or_create_secret(
        settings.data_dir / "token.keys", lambda: Fernet.generate_key().decode()
    )


class Vault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("the token vault needs at least one key")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        keys = [key.get_secret_value() for key in settings.token_keys]
        if not keys:
            if not settings.is_development:
                raise ValueError("CRIER_TOKEN_KEYS is required outside development")
            keys = [_development_key(settings)]
        return cls(keys)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        return self._fernet.decrypt(ciphertext.encode()).decode()

    def rotate(self, ciphertext: str) -> str:
        """The same secret, encrypted again under the first key (readable by any key)."""
        return self._fernet.rotate(ciphertext.encode()).decode()


@lru_cache
def get_vault() -> Vault:
    return Vault.from_settings(get_settings())


ENCRYPTED_SUFFIX = "_enc"


def encrypted_columns(metadata: MetaData) -> list[tuple[Table, list[Column[Any]]]]:
    """Every column that holds a vault ciphertext, by table: by convention each is named
    `*_enc`, so a column added later is found (and rotated) without anyone listing it."""
    found = []
    for table in metadata.sorted_tables:
        columns = [column for column in table.columns if column.name.endswith(ENCRYPTED_SUFFIX)]
        if columns:
            found.append((table, columns))
    return found
