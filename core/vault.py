"""Token vault: platform tokens encrypted at rest with MultiFernet.

The first key encrypts; every key decrypts, so a key can be rotated by putting a new one first.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet

from core.config import Settings, get_settings


def _development_key(settings: Settings) -> str:
    # A development stack keeps one generated key beside its data, so tokens it stored stay
    # readable across restarts without anyone configuring anything.
    path = settings.data_dir / "token.keys"
    if path.exists():
        return path.read_text().strip().splitlines()[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


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
