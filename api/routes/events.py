"""`GET /v1/events`: the key's tenant's events as Server-Sent Events, resumable.

Each message's `id` is the event's sequence number; a client that reconnects with
`Last-Event-ID` (browsers' EventSource do) gets everything after it that is still kept. The
stream reads the same `event` table webhooks are fed from, by polling it: the API and the
worker are separate processes, and the table is the one place both see.

A stream is bounded (S13): it looks at its key again every `stream_recheck_seconds` and ends
when the key is revoked or lost `social.view`; one key holds at most `streams_per_key` open at
once (in this process); and after `stream_max_life_seconds` it ends with a `stream_end`
message whose `id` is where to resume, so a client that reconnects with `Last-Event-ID` (as
EventSource does by itself) misses nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlmodel import col, func, select

from api.deps import SessionDep, ViewerDep
from api.errors import ApiError, ErrorEnvelope, problem
from core.config import Settings
from core.db import Database
from core.events import EventType, envelope
from core.models import ApiKey, Event

router = APIRouter(prefix="/v1/events", tags=["events"])

# On PostgreSQL a transaction can commit an event after a later-numbered one is already
# visible. Each poll therefore looks again at the numbers of the last few seconds, and the
# stream remembers what it sent in that window so nothing goes out twice.
SETTLE_SECONDS = 5.0
BATCH = 500
RECONNECT_MS = 2000


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


async def stream_start(
    request: Request,
    caller: ViewerDep,
    session: SessionDep,
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
    if resume is None:  # from now on: start after the newest event
        newest = await session.exec(
            select(func.max(Event.seq)).where(
                Event.tenant_id == caller.tenant_id, Event.is_test == caller.is_test
            )
        )
        resume = newest.one() or 0
    # The stream may last hours: give the connection back now, not when it ends.
    await session.close()
    slots = stream_slots(request.app)
    if not slots.take(caller.api_key_id):
        raise ApiError(
            429,
            "too_many_streams",
            f"this API key already has {slots.per_key} event streams open, the most it may: "
            "close one, or read the events from one stream and share them",
        )
    try:
        yield StreamStart(
            tenant_id=caller.tenant_id,
            is_test=caller.is_test,
            api_key_id=caller.api_key_id,
            after=resume,
            types=frozenset(t.value for t in types or ()),
        )
    finally:
        slots.give_back(caller.api_key_id)


async def key_may_listen(db: Database, api_key_id: str) -> bool:
    """The stream's key is still unrevoked and still has the scope the stream needs."""
    async with db.session() as session:
        key = await session.get(ApiKey, api_key_id)
    return key is not None and key.revoked_at is None and "social.view" in key.scopes


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
    set to its `id`; `key_revoked`: the key may no longer listen)."""
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    interval: timedelta = settings.event_poll_interval
    began = time.monotonic()
    ends_at = began + settings.stream_max_life_seconds
    checked_at = began
    yield ServerSentEvent(retry=RECONNECT_MS, comment="crier events")
    cursor = start.after
    resume_after = start.after  # the last event this stream sent (or where it began)
    recent: deque[tuple[float, int]] = deque()  # (when, cursor then): the settle window
    sent: dict[int, float] = {}
    while True:
        now = time.monotonic()
        if now >= ends_at:
            yield stream_end(
                resume_after,
                MAX_LIFE,
                f"this stream reached its maximum life ({settings.stream_max_life_seconds:g} s): "
                "reconnect with Last-Event-ID to go on where it ended",
            )
            return
        if now - checked_at >= settings.stream_recheck_seconds:
            checked_at = now
            if not await key_may_listen(db, start.api_key_id):
                yield stream_end(
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
        for event in rows:
            assert event.seq is not None
            cursor = max(cursor, event.seq)
            if event.seq in sent:
                continue
            sent[event.seq] = now
            if start.types and event.type not in start.types:
                continue
            yield ServerSentEvent(
                id=str(event.seq), event=event.type, raw_data=json.dumps(envelope(event))
            )
            resume_after = max(resume_after, event.seq)
        recent.append((now, cursor))
        for seq in [s for s, at in sent.items() if now - at > 2 * SETTLE_SECONDS]:
            del sent[seq]
        if len(rows) < BATCH:
            await asyncio.sleep(min(interval.total_seconds(), max(0.0, ends_at - now)))
