"""Sandbox access tokens: signed, self-describing strings.

A token names its platform, the account it may act for and its expiry, signed with the sandbox
secret. The sandbox can then check any token without a database, and tokens stay valid across a
sandbox restart, as real platform tokens do. Tokens issued by the sandbox's OAuth flows carry a
nonce too, so each is distinct and can be revoked alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import Request


@dataclass(frozen=True)
class TokenClaims:
    platform: str
    subject: str
    expires_at: int  # unix seconds; 0 = never


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()[:40]


def issue_token(
    secret: str, platform: str, subject: str, *, expires_at: int = 0, nonce: str = ""
) -> str:
    payload = f"{platform}|{subject}|{expires_at}"
    if nonce:
        payload += f"|{nonce}"
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"sbx_{encoded}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str, *, now: float | None = None) -> TokenClaims | None:
    """The token's claims if it is genuine and unexpired, else None."""
    if not token.startswith("sbx_") or "." not in token:
        return None
    encoded, signature = token[4:].rsplit(".", 1)
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        platform, subject, expires = payload.split("|")[:3]
        expires_at = int(expires)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    if expires_at and expires_at <= (now if now is not None else time.time()):
        return None
    return TokenClaims(platform=platform, subject=subject, expires_at=expires_at)


def token_claims(request: Request, token: str, *, now: float | None = None) -> TokenClaims | None:
    """As `verify_token`, and also refused once the token was revoked (DELETE of an account,
    a password change the test simulates): what every platform module checks."""
    if token in request.app.state.sandbox.oauth.revoked:
        return None
    return verify_token(request.app.state.secret, token, now=now)
