"""Tickets that let a browser dashboard listen to the live events without the API key.

A browser cannot send `Authorization` with a WebSocket handshake nor from EventSource, and the
key must never be in a page (api/browser_guard.py). So the tenant's server, which holds the key,
asks `POST /v1/events/tickets` for a ticket and hands it to its page, which opens
`/v1/events/ws?ticket=…` (or `/v1/events?ticket=…`) with it.

A ticket lives TICKET_TTL, opens one stream, and is bound to the key that asked for it: that
key's tenant and mode, and the key itself, so a key revoked (or stripped of social.view) before
the ticket is used makes it worthless. Only its sha256 is stored, as with API keys and review
links: a copy of the database opens no stream.

The browser guard redeems every ticket sent to TICKET_PATHS, before routing (`admit`). A request
a browser made gets through only with a ticket that redeems and an `Origin` its tenant
registered for its mode (`POST /v1/oauth/return-origins`): the list that says where crier may
send a person's browser also says which pages may listen. The admitted listener rides in the
request's scope (`admitted`) to the route.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import QueryParams
from starlette.types import Scope

from api.deps import Caller
from api.errors import problem
from api.refusals import Refusal
from api.return_origins import REGISTER, origin_of
from core.db import Database, utcnow
from core.models import ApiKey, EventTicket, ReturnOrigin
from core.security import canonical_scope

# A module constant, not a setting: a ticket is asked for by a server the moment its page
# wants to connect, so a minute is plenty and no deployment has a reason to lengthen it.
TICKET_TTL = timedelta(seconds=60)
TICKET_PREFIX = "evtk_"
# The two ways to listen, each over the one protocol it speaks.
TICKET_PATHS = {"/v1/events": "http", "/v1/events/ws": "websocket"}
LISTEN_SCOPE = "social.view"
ISSUE = "POST /v1/events/tickets"
_ADMITTED = "crier.event_listener"  # the scope key the guard leaves the listener under
_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


@dataclass(frozen=True)
class Listener:
    """Whose events a stream carries: a key's tenant and mode, by key or by ticket."""

    tenant_id: str
    is_test: bool
    api_key_id: str
    # The page's origin, checked against the tenant's list: the SSE answer names it in
    # Access-Control-Allow-Origin so that page may read the stream. None: not a browser.
    origin: str | None = None

    @classmethod
    def of(cls, caller: Caller) -> Listener:
        return cls(tenant_id=caller.tenant_id, is_test=caller.is_test, api_key_id=caller.api_key_id)


def hash_ticket(ticket: str) -> str:
    # 256 random bits, as an API key: a fast hash is enough, there is nothing to brute-force.
    return hashlib.sha256(ticket.encode()).hexdigest()


async def issue_ticket(*, session: AsyncSession, caller: Caller) -> tuple[str, datetime]:
    """A new ticket for the caller's key, and when it expires. The key's spent tickets go:
    the table holds about a minute's worth per key."""
    now = utcnow()
    await session.exec(
        delete(EventTicket).where(
            col(EventTicket.api_key_id) == caller.api_key_id, col(EventTicket.expires_at) <= now
        )
    )
    ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + TICKET_TTL
    session.add(
        EventTicket(
            token_hash=hash_ticket(ticket),
            tenant_id=caller.tenant_id,
            is_test=caller.is_test,
            api_key_id=caller.api_key_id,
            expires_at=expires_at,
        )
    )
    await session.commit()
    return ticket, expires_at


def ticket_in(scope: Scope, path: str) -> str | None:
    """The ticket a request to the live events carries (None: it carries none, or this is not
    such a request). A ticket in any other request is no ticket at all."""
    if TICKET_PATHS.get(path) != scope["type"]:
        return None
    if scope["type"] == "http" and scope["method"] != "GET":
        return None
    sent = QueryParams(scope["query_string"]).getlist("ticket")
    if not sent:
        return None
    return sent[0] if len(sent) == 1 else ""


def admitted(scope: Scope) -> Listener | None:
    """The listener the guard admitted this request for, by its ticket."""
    found = scope.get(_ADMITTED)
    return found if isinstance(found, Listener) else None


async def admit(
    scope: Scope, db: Database, ticket: str, *, browser: bool, origin: str | None
) -> None:
    """Redeem `ticket` and, for a browser, check its `origin`; on success the listener is left
    in `scope` for the route. Raises a Refusal otherwise (the ticket is spent either way)."""
    if browser and not origin:
        raise _foreign_page("no Origin", "a browser may listen only from a page it names")
    listener = await redeem(db, ticket)
    if browser:
        assert origin is not None
        allowed = await _registered_origin(db, listener, origin)
        if allowed is None:
            raise _foreign_page(
                origin,
                f"the page's origin {origin} is not registered for this ticket's tenant and "
                f"mode: register it with {REGISTER}",
            )
        listener = Listener(
            tenant_id=listener.tenant_id,
            is_test=listener.is_test,
            api_key_id=listener.api_key_id,
            origin=allowed,
        )
    scope[_ADMITTED] = listener


async def redeem(db: Database, ticket: str) -> Listener:
    """Spend the ticket (once: a conditional UPDATE, so two racing redemptions cannot both
    win) and answer for whom, if its key may still listen."""
    refused = Refusal(
        401,
        "unauthenticated",
        f"the ticket is unknown, used or expired: ask for a new one with {ISSUE}",
        [problem(["query", "ticket"], "a ticket opens one stream, within a minute")],
    )
    if not ticket.startswith(TICKET_PREFIX):
        raise refused
    token_hash = hash_ticket(ticket)
    now = utcnow()
    async with db.session() as session:
        spent = await session.exec(
            update(EventTicket)
            .where(
                col(EventTicket.token_hash) == token_hash,
                col(EventTicket.used_at).is_(None),
                col(EventTicket.expires_at) > now,
            )
            .values(used_at=now)
        )
        await session.commit()
        if spent.rowcount != 1:
            raise refused
        row = (
            await session.exec(select(EventTicket).where(EventTicket.token_hash == token_hash))
        ).one()
        key = await session.get(ApiKey, row.api_key_id)
    if key is None or key.revoked_at is not None:
        raise Refusal(401, "unauthenticated", "the API key that asked for this ticket is revoked")
    if LISTEN_SCOPE not in {canonical_scope(s) for s in key.scopes}:
        raise Refusal(
            403, "forbidden", f"the API key that asked for this ticket lacks '{LISTEN_SCOPE}'"
        )
    return Listener(tenant_id=row.tenant_id, is_test=row.is_test, api_key_id=row.api_key_id)


async def _registered_origin(db: Database, listener: Listener, origin: str) -> str | None:
    """`origin` as registered for the listener's tenant and mode, or None. Compared after the
    same normalising as registration (api/return_origins.py), so `https://App.example:443`
    is `https://app.example`; `null` (a sandboxed frame, a file) is no origin."""
    try:
        normalised = origin_of(_URL.validate_python(origin))
    except ValidationError:
        return None
    async with db.session() as session:
        found = await session.exec(
            select(ReturnOrigin.origin).where(
                ReturnOrigin.tenant_id == listener.tenant_id,
                ReturnOrigin.is_test == listener.is_test,
                ReturnOrigin.origin == normalised,
            )
        )
        return found.first()


def _foreign_page(origin: str, message: str) -> Refusal:
    return Refusal(
        403,
        "browser_origin_refused",
        message,
        [problem(["header", "Origin"], f"{origin}: not a page this tenant registered")],
    )
