"""The key's tenant's events, live and resumable: `GET /v1/events` as Server-Sent Events, and
`/v1/events/ws` as a WebSocket for a browser dashboard, which opens either with a ticket from
`POST /v1/events/tickets` instead of the key (api/event_tickets.py). Both read one feed
(`event_feed`), so they send the same events in the same order and end for the same reasons.

Each message's `id` is the event's sequence number; a client that reconnects with
`Last-Event-ID` (browsers' EventSource do) gets everything after it that is still kept. The
stream reads the same `event` table webhooks are fed from, by polling it: the API and the
worker are separate processes, and the table is the one place both see.

A stream is bounded (S13): it looks at its key again every `stream_recheck_seconds` and ends
when the key is revoked or lost `social.view`; one key holds at most `streams_per_key` open at
once (in this process); and after `stream_max_life_seconds` it ends with a `stream_end`
message whose `id` is where to resume, so a client that reconnects with `Last-Event-ID` (as
EventSource does by itself) misses nothing. A WebSocket obeys the same bounds and shares the
key's slots; it resumes with `?after=`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import col, func, select
from starlette.websockets import WebSocket, WebSocketDisconnect

from api import dashboard_events
from api.deps import SessionDep, ViewerDep, authenticate, require
from api.errors import ApiError, ErrorEnvelope, problem
from api.event_tickets import LISTEN_SCOPE, Listener, admitted, issue_ticket
from api.refusals import Refusal, refuse
from api.schemas import Envelope
from core.config import Settings
from core.db import Database
from core.events import EventType, envelope
from core.models import ApiKey, Event
from core.security import canonical_scope

router = APIRouter(prefix="/v1/events", tags=["events"])

# On PostgreSQL a transaction can commit an event after a later-numbered one is already
# visible. Each poll therefore looks again at the numbers of the last few seconds, and the
# stream remembers what it sent in that window so nothing goes out twice.
SETTLE_SECONDS = 5.0
BATCH = 500
RECONNECT_MS = 2000
# A WebSocket says something at least this often: a browser's socket shows no pings, so a
# dashboard that hears nothing for two of these knows its connection is gone.
HEARTBEAT_SECONDS = 15.0


# The last message of a stream that ends by itself: `reason` is one of these.
STREAM_END = "stream_end"
MAX_LIFE = "max_life"
KEY_REVOKED = "key_revoked"


@dataclass(frozen=True)
class StreamStart:
    tenant_id: str
    is_test: bool
    api_key_id: str
    after: int  # send events numbered above this
    types: frozenset[str]


class StreamSlots:
    """How many streams each key holds open in this process.

    Counted in memory: a slot is taken before the stream's 200 and given back when its
    request ends, however it ends. An API run as several processes allows this many per key
    in each of them."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._open: Counter[str] = Counter()

    def take(self, api_key_id: str) -> bool:
        if self._open[api_key_id] >= self.per_key:
            return False
        self._open[api_key_id] += 1
        return True

    def give_back(self, api_key_id: str) -> None:
        self._open[api_key_id] -= 1
        if self._open[api_key_id] <= 0:
            del self._open[api_key_id]

    def open_for(self, api_key_id: str) -> int:
        return self._open[api_key_id]


def stream_slots(app: FastAPI) -> StreamSlots:
    # One per app (tests build many apps in one process), made on first use.
    slots: StreamSlots | None = getattr(app.state, "stream_slots", None)
    if slots is None:
        settings: Settings = app.state.settings
        slots = app.state.stream_slots = StreamSlots(settings.streams_per_key)
    return slots


TICKET_QUERY = Query(
    description="A ticket from POST /v1/events/tickets, in place of the API key (for browsers, "
    "which cannot send one): single use, valid 60 s.",
)


async def event_listener(
    request: Request, response: Response, ticket: Annotated[str | None, TICKET_QUERY] = None
) -> Listener:
    """Who listens: the ticket's key, as the browser guard admitted it, or else the API key."""
    listener = admitted(request.scope)
    if listener is not None:
        if listener.origin is not None:  # a browser page on a registered origin may read it
            response.headers["Access-Control-Allow-Origin"] = listener.origin
            response.headers["Vary"] = "Origin"
        return listener
    if ticket is not None:  # every ticket is redeemed by the guard: this one was not let in
        raise ApiError(401, "unauthenticated", "the ticket was not accepted")
    caller = await require(LISTEN_SCOPE)(await authenticate(request))
    return Listener.of(caller)


async def resume_point(db: Database, listener: Listener, after: int | None) -> int:
    """Send events numbered above this: `after`, or (None) from now on, after the newest."""
    if after is not None:
        return after
    async with db.session() as session:
        newest = await session.exec(
            select(func.max(Event.seq)).where(
                Event.tenant_id == listener.tenant_id, Event.is_test == listener.is_test
            )
        )
        return newest.one() or 0


def too_many_streams(slots: StreamSlots) -> Refusal:
    return Refusal(
        429,
        "too_many_streams",
        f"this API key already has {slots.per_key} event streams open, the most it may: "
        "close one, or read the events from one stream and share them",
    )


async def stream_start(
    request: Request,
    listener: Annotated[Listener, Depends(event_listener)],
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="Resume after this event (its `id`); sent by EventSource on reconnect.",
        ),
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=2**62, description="Resume after this event id (when no header)."),
    ] = None,
    types: Annotated[
        list[EventType] | None, Query(description="Only these event types; every type if none.")
    ] = None,
) -> AsyncIterator[StreamStart]:
    """Everything that can be refused is checked here, before the stream's 200 goes out; the
    key's stream slot is held until the request ends."""
    resume = after
    if last_event_id is not None and last_event_id.strip():
        try:
            resume = int(last_event_id)
        except ValueError:
            resume = -1
        if not 0 <= resume <= 2**62:
            raise ApiError(
                422,
                "invalid_request",
                "Last-Event-ID is not an event id",
                [problem(["header", "Last-Event-ID"], "must be an id this stream sent")],
            )
    # In a session of its own, closed at once: the stream may last hours and holds none.
    resume = await resume_point(request.app.state.db, listener, resume)
    slots = stream_slots(request.app)
    if not slots.take(listener.api_key_id):
        refusal = too_many_streams(slots)
        raise ApiError(refusal.status, refusal.code, refusal.message)
    try:
        yield StreamStart(
            tenant_id=listener.tenant_id,
            is_test=listener.is_test,
            api_key_id=listener.api_key_id,
            after=resume,
            types=frozenset(t.value for t in types or ()),
        )
    finally:
        slots.give_back(listener.api_key_id)


async def _listening_key(db: Database, api_key_id: str) -> ApiKey | None:
    """The stream's key, while it is unrevoked and still has the scope the stream needs."""
    async with db.session() as session:
        key = await session.get(ApiKey, api_key_id)
    if (
        key is None
        or key.revoked_at is not None
        or LISTEN_SCOPE not in {canonical_scope(s) for s in key.scopes}
    ):
        return None
    return key


def _projects_of(key: ApiKey | None) -> frozenset[str] | None:
    """The projects a key is limited to (None: all): its stream carries only their events."""
    return frozenset(key.project_ids) if key is not None and key.project_ids else None


def _hidden(event: Event, projects: frozenset[str] | None) -> bool:
    # An event about no project (none are written without one today) is the whole tenant's.
    return projects is not None and event.data.get("project_id") not in projects


@dataclass(frozen=True)
class Sent:
    """An event to send."""

    event: Event


@dataclass(frozen=True)
class Quiet:
    """A look at the table found nothing new; `resume_after` is where a client would resume."""

    resume_after: int


@dataclass(frozen=True)
class Ended:
    """The stream ends by itself, for `reason`; the last thing it sends."""

    resume_after: int
    reason: str
    message: str


FeedItem = Sent | Quiet | Ended


async def event_feed(
    db: Database, settings: Settings, start: StreamStart
) -> AsyncGenerator[FeedItem, None]:
    """The listener's events after `start.after`, in order and each once, until the stream's
    maximum life or its key may no longer listen. Both the SSE stream and the WebSocket are
    this feed in another wire format."""
    interval: timedelta = settings.event_poll_interval
    began = time.monotonic()
    ends_at = began + settings.stream_max_life_seconds
    checked_at = began
    cursor = start.after
    resume_after = start.after  # the last event this stream sent (or where it began)
    recent: deque[tuple[float, int]] = deque()  # (when, cursor then): the settle window
    sent: dict[int, float] = {}
    projects = _projects_of(await _listening_key(db, start.api_key_id))
    while True:
        now = time.monotonic()
        if now >= ends_at:
            yield Ended(
                resume_after,
                MAX_LIFE,
                f"this stream reached its maximum life ({settings.stream_max_life_seconds:g} s): "
                "reconnect from its id (Last-Event-ID, or ?after=) to go on where it ended",
            )
            return
        if now - checked_at >= settings.stream_recheck_seconds:
            checked_at = now
            key = await _listening_key(db, start.api_key_id)
            projects = _projects_of(key)
            if key is None:
                yield Ended(
                    resume_after, KEY_REVOKED, "the API key was revoked or lost social.view"
                )
                return
        while recent and now - recent[0][0] > SETTLE_SECONDS:
            recent.popleft()
        floor = max(start.after, recent[0][1] if recent else cursor)
        async with db.session() as session:
            rows = (
                await session.exec(
                    select(Event)
                    .where(
                        Event.tenant_id == start.tenant_id,
                        Event.is_test == start.is_test,
                        col(Event.seq) > floor,
                    )
                    .order_by(col(Event.seq))
                    .limit(BATCH)
                )
            ).all()
        fresh = False
        for event in rows:
            assert event.seq is not None
            cursor = max(cursor, event.seq)
            if event.seq in sent:
                continue
            sent[event.seq] = now
            if (start.types and event.type not in start.types) or _hidden(event, projects):
                continue
            yield Sent(event)
            fresh = True
            resume_after = max(resume_after, event.seq)
        recent.append((now, cursor))
        for seq in [s for s, at in sent.items() if now - at > 2 * SETTLE_SECONDS]:
            del sent[seq]
        if not fresh:
            yield Quiet(resume_after)
        if len(rows) < BATCH:
            await asyncio.sleep(min(interval.total_seconds(), max(0.0, ends_at - now)))


def stream_end(resume_after: int, reason: str, message: str) -> ServerSentEvent:
    # `id` is where to resume: the last event sent, or where the stream began. EventSource
    # sends it back as Last-Event-ID by itself; other clients should too.
    return ServerSentEvent(
        id=str(resume_after),
        event=STREAM_END,
        retry=RECONNECT_MS,
        comment=message,
        raw_data=json.dumps({"reason": reason, "message": message}),
    )


@router.get(
    "",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "`text/event-stream`: one message per event"},
        429: {"model": ErrorEnvelope, "description": "The key has its most streams open"},
    },
)
async def stream_events(
    request: Request, start: Annotated[StreamStart, Depends(stream_start)]
) -> AsyncIterator[ServerSentEvent]:
    """Messages are `id: <n>`, `event: <type>`, `data: {id, type, created_at, data}`, the
    same body a webhook gets. A stream that ends by itself says why last: `event:
    stream_end`, `data: {reason, message}` (reason `max_life`: reconnect with Last-Event-ID
    set to its `id`; `key_revoked`: the key may no longer listen). A browser's EventSource
    opens it with `?ticket=` (POST /v1/events/tickets) from a registered origin."""
    yield ServerSentEvent(retry=RECONNECT_MS, comment="crier events")
    feed = event_feed(request.app.state.db, request.app.state.settings, start)
    async with aclosing(feed):
        async for item in feed:
            if isinstance(item, Sent):
                event = item.event
                yield ServerSentEvent(
                    id=str(event.seq), event=event.type, raw_data=json.dumps(envelope(event))
                )
            elif isinstance(item, Ended):
                yield stream_end(item.resume_after, item.reason, item.message)


class EventTicketPublic(BaseModel):
    ticket: str
    expires_at: datetime


@router.post("/tickets", status_code=201, response_model=Envelope[EventTicketPublic])
async def create_event_ticket(
    caller: ViewerDep, session: SessionDep
) -> Envelope[EventTicketPublic]:
    """A ticket for a browser to open the live events without the key: `/v1/events/ws?ticket=`
    or `/v1/events?ticket=`. Ask for it from your server and hand it to your page. It opens one
    stream of this key's tenant and mode, within 60 s, from a page whose origin is registered
    (POST /v1/oauth/return-origins); revoking the key makes it worthless. Shown only here."""
    ticket, expires_at = await issue_ticket(session=session, caller=caller)
    return Envelope(data=EventTicketPublic(ticket=ticket, expires_at=expires_at))


class SocketQuery(BaseModel):
    """`/v1/events/ws`'s query, besides its ticket."""

    model_config = ConfigDict(extra="ignore")
    after: int | None = Field(default=None, ge=0, le=2**62)  # resume after this event id
    types: list[EventType] = Field(default_factory=list)  # only these; every type if none


def socket_query(websocket: WebSocket) -> SocketQuery:
    query = websocket.query_params
    try:
        return SocketQuery.model_validate(
            {"after": query.get("after"), "types": query.getlist("types")}
        )
    except ValidationError as invalid:
        raise Refusal(
            422,
            "invalid_request",
            f"{invalid.error_count()} problem(s) in the request",
            [problem(["query", *e["loc"]], e["msg"]) for e in invalid.errors()],
        ) from None


async def events_socket(websocket: WebSocket) -> None:
    """`/v1/events/ws?ticket=…[&after=<id>][&types=…]`: the live events as JSON text frames for
    a browser dashboard (api/dashboard_events.py). Anything refused is refused before the
    socket is accepted (401, 403, 422, 429; close 4401, 4403, 4422, 4429 where the server
    cannot answer a handshake).

    A plain Starlette route, not FastAPI's: the app-wide dependencies (api/nul_guard.py) take
    an HTTP request, which a WebSocket is not. Its query is checked here instead, and nothing
    from it reaches the database but an integer and event types (the ticket only as a hash)."""
    app: FastAPI = websocket.app
    db: Database = app.state.db
    settings: Settings = app.state.settings
    slots = stream_slots(app)
    listener = admitted(websocket.scope)
    try:
        if listener is None:  # the guard admits every ticket that redeems: none was sent
            raise Refusal(
                401,
                "unauthenticated",
                "open the socket with ?ticket=, from POST /v1/events/tickets",
                [problem(["query", "ticket"], "required")],
            )
        query = socket_query(websocket)
        if not slots.take(listener.api_key_id):
            raise too_many_streams(slots)
    except Refusal as refusal:
        await refuse(websocket.scope, websocket.receive, websocket.send, refusal)
        return
    try:
        start = StreamStart(
            tenant_id=listener.tenant_id,
            is_test=listener.is_test,
            api_key_id=listener.api_key_id,
            after=await resume_point(db, listener, query.after),
            types=frozenset(t.value for t in query.types),
        )
        await websocket.accept()
        await _serve_socket(websocket, db, settings, start)
    finally:
        slots.give_back(listener.api_key_id)


# A plain route is not given the router's prefix as FastAPI's own are.
router.add_websocket_route(f"{router.prefix}/ws", events_socket, name="events_socket")


async def _serve_socket(
    websocket: WebSocket, db: Database, settings: Settings, start: StreamStart
) -> None:
    """Send the feed until it ends or the client leaves, whichever is first. The client's side
    is read all along, only to hear it leave: what it sends is ignored."""
    sending = asyncio.create_task(_send_feed(websocket, db, settings, start))
    listening = asyncio.create_task(_until_client_leaves(websocket))
    try:
        done, _ = await asyncio.wait({sending, listening}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sending, listening):
            task.cancel()
        await asyncio.gather(sending, listening, return_exceptions=True)
    if sending not in done or isinstance(sending.exception(), WebSocketDisconnect):
        return  # the client left: nothing to close
    close_code = sending.result()
    await websocket.close(close_code)


async def _until_client_leaves(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _send_feed(
    websocket: WebSocket, db: Database, settings: Settings, start: StreamStart
) -> int:
    """Frames until the feed ends; the close code to end with (1000 at the stream's maximum
    life, 4401 when its key may no longer listen)."""
    frames = dashboard_events
    await websocket.send_json(frames.heartbeat_frame(start.after))
    quiet_since = time.monotonic()
    feed = event_feed(db, settings, start)
    async with aclosing(feed):
        async for item in feed:
            if isinstance(item, Sent):
                await websocket.send_json(frames.event_frame(item.event))
                quiet_since = time.monotonic()
            elif isinstance(item, Quiet):
                if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
                    await websocket.send_json(frames.heartbeat_frame(item.resume_after))
                    quiet_since = time.monotonic()
            else:
                await websocket.send_json(
                    frames.end_frame(item.resume_after, item.reason, item.message)
                )
                return 4401 if item.reason == KEY_REVOKED else 1000
    return 1000
