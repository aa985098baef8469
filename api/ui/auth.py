"""Who is looking at the pages: a signed-in reviewer, from a review link or an API key.

The session is a signed cookie (Starlette's SessionMiddleware: HttpOnly, SameSite=Lax, Secure
outside development) holding only ids; every request looks the key up again, so revoking the
key that issued a link or signed in ends its sessions. Forms carry a per-session CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import Secret

from api.deps import Caller
from core.config import Settings
from core.db import utcnow
from core.models import ApiKey

APPROVE, VIEW, PUBLISH = "social.approve", "social.view", "social.publish"
# What a review link lets its holder do: read and decide, not publish or cancel.
LINK_SCOPES = frozenset({VIEW, APPROVE})
LINK_SALT = "crier.review-link"


def session_secret(settings: Settings) -> str:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    # Development: one generated secret beside the data, so sessions survive restarts.
    path: Path = settings.data_dir / "session.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


# The longest a link may be asked to last.
LINK_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class LinkClaims:
    api_key_id: str  # the key that issued it: revoking that key ends the link
    reviewer: str
    post_id: str | None
    expires_at: datetime


class SessionSecret(Secret):
    """Read when the middleware stack is built (the first request), not when the app is: an
    app made only for its OpenAPI schema writes no development secret."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __str__(self) -> str:
        return session_secret(self._settings)


class ReviewLinks:
    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(session_secret(settings), salt=LINK_SALT)

    def issue(self, claims: LinkClaims) -> str:
        return self._serializer.dumps(
            {
                "k": claims.api_key_id,
                "r": claims.reviewer,
                "p": claims.post_id,
                "e": int(claims.expires_at.timestamp()),
            }
        )

    def read(self, token: str) -> LinkClaims | str:
        """The claims, or why the link cannot be used."""
        expired = "this review link has expired: ask for a new one"
        try:
            data = self._serializer.loads(token, max_age=int(LINK_MAX_AGE.total_seconds()))
        except SignatureExpired:
            return expired
        except BadSignature:
            return "this review link is not valid"
        expires_at = datetime.fromtimestamp(data["e"], UTC)
        if expires_at <= utcnow():
            return expired
        return LinkClaims(
            api_key_id=data["k"], reviewer=data["r"], post_id=data["p"], expires_at=expires_at
        )


def start_session(
    request: Request, key: ApiKey, *, name: str, scopes: frozenset[str], expires_at: datetime
) -> None:
    request.session.clear()
    request.session.update(
        {
            "key": key.id,
            "name": name,
            "scopes": sorted(scopes & frozenset(key.scopes)),
            "until": expires_at.isoformat(),
            "csrf": secrets.token_urlsafe(24),
        }
    )


async def current_reviewer(request: Request, session: AsyncSession) -> Caller | None:
    """The signed-in caller, or None (not signed in, expired, or the key was revoked)."""
    data = request.session
    if "key" not in data:
        return None
    if datetime.fromisoformat(data["until"]) < utcnow():
        data.clear()
        return None
    key = await session.get(ApiKey, data["key"])
    if key is None or key.revoked_at is not None:
        data.clear()
        return None
    return Caller(
        tenant_id=key.tenant_id,
        api_key_id=key.id,
        is_test=key.is_test,
        scopes=frozenset(data["scopes"]) & frozenset(key.scopes),
        name=data["name"],
    )


def csrf_token(request: Request) -> str:
    token: str = request.session.get("csrf", "")
    return token


def csrf_ok(request: Request, given: str | None) -> bool:
    expected = csrf_token(request)
    return bool(expected) and given is not None and hmac.compare_digest(expected, given)
