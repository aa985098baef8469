"""An account's tokens as stored: encrypted in the account row, a TokenSet in memory."""

from __future__ import annotations

from core.db import utcnow
from core.models import Account
from core.status import AccountStatus
from core.vault import Vault
from providers.connect.base import TokenSet


def tokens_of(account: Account, vault: Vault) -> TokenSet | None:
    if not account.access_token_enc:
        return None
    return TokenSet(
        access_token=vault.decrypt(account.access_token_enc),
        refresh_token=vault.decrypt(account.refresh_token_enc)
        if account.refresh_token_enc
        else None,
        expires_at=account.token_expires_at,
    )


def store_tokens(account: Account, tokens: TokenSet, vault: Vault) -> None:
    """Write new tokens in place. A missing refresh token never erases the stored one: some
    platforms send one only at the first consent (Google) or only sometimes (Pinterest)."""
    account.access_token_enc = vault.encrypt(tokens.access_token)
    if tokens.refresh_token:
        account.refresh_token_enc = vault.encrypt(tokens.refresh_token)
    account.token_expires_at = tokens.expires_at
    account.status = AccountStatus.ACTIVE
    account.status_reason = None
    account.updated_at = utcnow()


def forget_tokens(account: Account, status: AccountStatus, reason: str) -> None:
    account.access_token_enc = None
    account.refresh_token_enc = None
    account.token_expires_at = None
    account.status = status
    account.status_reason = reason
    account.updated_at = utcnow()
