"""Who is looking at the pages: a signed-in reviewer, from a review link or an API key.

Two cookies, as GitHub keeps them. The session cookie holds only a random id whose hash names a
`PageSession` row, looked up on every request: signing out, revoking the link or revoking the
key ends the session for every copy of the cookie. The state cookie (Starlette's signed
SessionMiddleware) signs no one in: it carries the flash message and the CSRF token of the
sign-in forms, which are shown before there is a session to bind a token to.

Both are HttpOnly and SameSite=Lax. Outside development they are Secure and named `__Host-…`,
which a browser takes only from this very host, over HTTPS, with Path=/: a sibling subdomain
(same-site, so SameSite does not stop it) cannot plant its own session in a reviewer's browser
and sign them in to its tenant. Path=/ also sends them to /v1, which reads no cookie (the API
wants its key), so they grant nothing there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import Request, Response
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import Secret

from api.deps import Caller
from core.config import Settings
from core.db import utcnow
from core.models import ApiKey, PageSession, ReviewLink
from core.secret_files import read_or_create_secret
from core.security import canonical_scope

APPROVE, VIEW, PUBLISH = "social.approve", "social.view", "social.publish"
MANAGE = "social.manage"
# A key with any of these signs in to the pages: a reviewer's gets the queue, a manager's or a
# publisher's the Social tab; each page shows the buttons its scopes allow.
SIGN_IN_SCOPES = frozenset({APPROVE, MANAGE, PUBLISH})
# What a review link lets its holder do: read and decide, not publish or cancel.
LINK_SCOPES = frozenset({VIEW, APPROVE})


def key_scopes(key: ApiKey) -> frozenset[str]:
    """The key's scopes by crier's names (seed 004's `service.social.*` too), as the API reads
    them (api/deps.authenticate)."""
    return frozenset(canonical_scope(scope) for scope in key.scopes)


def session_secret(settings: Settings) -> str:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    # Development: one generated secret beside the data, so sessions survive restarts.
    path: Path = settings.data_dir / "session.key"
    return read_or_create_secret(path, lambda: secrets.token_urlsafe(32))


# The longest a link may be asked to last: a forwarded or logged link is worth little for long.
LINK_MAX_AGE = timedelta(hours=72)


def hash_token(token: str) -> str:
    """What is stored for a link's token or a session's id: 256 random bits need no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionSecret(Secret):
    """Read when the middleware stack is built (the first request), not when the app is: an
    app made only for its OpenAPI schema writes no development secret."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __str__(self) -> str:
        return session_secret(self._settings)


class ReviewLinks:
    """How links are minted: a random token (only its hash is kept), the URL it rides in, and
    how long it lasts."""

    def __init__(self, settings: Settings) -> None:
        self._base = settings.public_api_url.rstrip("/")
        self.default_life = min(settings.review_link_ttl, LINK_MAX_AGE)

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def url(self, token: str) -> str:
        # In the path: core.logs redacts /ui/links/… from access lines, and the page behind it
        # asks for a button press (a POST) before it signs anyone in.
        return f"{self._base}/ui/links/{token}"


def link_problem(link: ReviewLink | None, key: ApiKey | None, now: datetime) -> str | None:
    """Why the link cannot sign anyone in, in words for its holder; None when it can."""
    if link is None:
        return "This review link is not valid."
    if link.revoked_at is not None or key is None or key.revoked_at is not None:
        return "This review link was withdrawn: ask for a new one."
    if link.single_use and link.used_at is not None:
        return "This review link was already used: ask for a new one."
    if link.expires_at <= now:
        return "This review link has expired: ask for a new one."
    return None


async def find_link(session: AsyncSession, token: str) -> tuple[ReviewLink | None, ApiKey | None]:
    row = (
        await session.exec(
            select(ReviewLink, ApiKey)
            .join(ApiKey, col(ApiKey.id) == col(ReviewLink.api_key_id))
            .where(ReviewLink.token_hash == hash_token(token))
        )
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


async def claim_link(session: AsyncSession, link: ReviewLink, now: datetime) -> bool:
    """Mark the link opened. A single-use link is claimed by a conditional update, so of two
    browsers racing with it exactly one gets a session."""
    query = update(ReviewLink).where(col(ReviewLink.id) == link.id).values(used_at=now)
    if link.single_use:
        query = query.where(col(ReviewLink.used_at).is_(None))
    elif link.used_at is not None:
        return True  # keep the first time it was opened
    claimed = await session.exec(query)
    await session.commit()
    return bool(claimed.rowcount == 1)


async def end_link_sessions(session: AsyncSession, link_id: str, now: datetime) -> None:
    await session.exec(
        update(PageSession)
        .where(col(PageSession.review_link_id) == link_id, col(PageSession.ended_at).is_(None))
        .values(ended_at=now)
    )


# ---- the cookies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PageCookies:
    session: str
    state: str
    secure: bool
    path: str = "/"  # what the __Host- prefix requires


def page_cookies(settings: Settings) -> PageCookies:
    # A __Host- cookie must be Secure, which development over plain http cannot be.
    if settings.is_development:
        return PageCookies(session="crier_session", state="crier_state", secure=False)
    return PageCookies(session="__Host-crier_session", state="__Host-crier_state", secure=True)


def _cookies(request: Request) -> PageCookies:
    return page_cookies(request.app.state.settings)


# ---- page sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A page session as a request sees it: the caller the API's functions take, the forms'
    CSRF token, and the one post a post link may see (None: the tenant's queue in its mode)."""

    caller: Caller
    session_id: str
    csrf: str
    post_id: str | None

    def may_open(self, post_id: str | None) -> bool:
        return self.post_id is None or self.post_id == post_id


async def start_session(
    request: Request,
    response: Response,
    session: AsyncSession,
    key: ApiKey,
    *,
    name: str,
    scopes: frozenset[str],
    expires_at: datetime,
    link: ReviewLink | None = None,
) -> None:
    """A new session with a new id (never one the browser brought: no fixation); the one the
    browser had, if any, ends."""
    await _end_on_server(request, session)
    token = secrets.token_urlsafe(32)
    session.add(
        PageSession(
            token_hash=hash_token(token),
            tenant_id=key.tenant_id,
            is_test=key.is_test,
            api_key_id=key.id,
            review_link_id=link.id if link is not None else None,
            post_id=link.post_id if link is not None else None,
            name=name,
            scopes=sorted(scopes & key_scopes(key)),
            csrf=secrets.token_urlsafe(32),
            expires_at=expires_at,
        )
    )
    await session.commit()
    cookies = _cookies(request)
    response.set_cookie(
        cookies.session,
        token,
        max_age=max(int((expires_at - utcnow()).total_seconds()), 0),
        path=cookies.path,
        secure=cookies.secure,
        httponly=True,
        samesite="lax",
    )
    request.session.pop("csrf", None)  # the sign-in form's token has done its job


async def end_session(request: Request, response: Response, session: AsyncSession) -> None:
    """Sign out on the server, so a copy of the cookie signs no one in either."""
    await _end_on_server(request, session)
    cookies = _cookies(request)
    response.delete_cookie(
        cookies.session, path=cookies.path, secure=cookies.secure, httponly=True, samesite="lax"
    )


async def _end_on_server(request: Request, session: AsyncSession) -> None:
    token = request.cookies.get(_cookies(request).session)
    if token:
        await session.exec(
            update(PageSession)
            .where(
                col(PageSession.token_hash) == hash_token(token),
                col(PageSession.ended_at).is_(None),
            )
            .values(ended_at=utcnow())
        )
        await session.commit()


async def current_reviewer(request: Request, session: AsyncSession) -> SignedIn | None:
    """The signed-in reviewer, or None: no session, or it ended, expired, or its key or link
    was revoked. Looked up on every request, so none of these waits for the cookie to lapse."""
    token = request.cookies.get(_cookies(request).session)
    if not token:
        return None
    row = (
        await session.exec(
            select(PageSession, ApiKey, ReviewLink)
            .join(ApiKey, col(ApiKey.id) == col(PageSession.api_key_id))
            .outerjoin(ReviewLink, col(ReviewLink.id) == col(PageSession.review_link_id))
            .where(PageSession.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        return None
    page, key, link = row
    now = utcnow()
    if (
        page.ended_at is not None
        or page.expires_at <= now
        or key.revoked_at is not None
        or (page.review_link_id is not None and (link is None or link.revoked_at is not None))
    ):
        return None
    return SignedIn(
        caller=Caller(
            tenant_id=page.tenant_id,
            api_key_id=key.id,
            is_test=page.is_test,
            scopes=frozenset(page.scopes) & key_scopes(key),
            name=page.name,
            via_link=page.review_link_id,
            # A link opens its own project only; a key's session, the key's projects.
            project_ids=(
                frozenset({link.project_id})
                if link is not None
                else frozenset(key.project_ids)
                if key.project_ids
                else None
            ),
        ),
        session_id=page.id,
        csrf=page.csrf,
        post_id=page.post_id,
    )


# ---- CSRF ----------------------------------------------------------------------------------


def sign_in_csrf(request: Request) -> str:
    """The token of the sign-in forms (key and link), kept in the state cookie: a form posted
    from another site arrives without that cookie (SameSite=Lax), so it cannot sign a victim's
    browser in to the attacker's tenant."""
    token: str | None = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def sign_in_csrf_ok(request: Request, given: str) -> bool:
    expected: str = request.session.get("csrf", "")
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)


def csrf_ok(signed_in: SignedIn, given: str) -> bool:
    return bool(given) and hmac.compare_digest(signed_in.csrf, given)
