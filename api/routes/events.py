"""`GET /v1/events`: the key's tenant's events as Server-Sent Events, resumable.

Each message's `id` is the event's sequence number; a client that reconnects with
`Last-Event-ID` (browsers' EventSource do) gets everything after it that is still kept. The
stream reads the same `event` table webhooks are fed from, by polling it: the API and the
worker are separate processes, and the table is the one place both see.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlmodel import col, func, select

from api.deps import SessionDep, ViewerDep
from api.errors import ApiError, problem
from core.db import Database
from core.events import EventType, envelope
from core.models import Event

router = APIRouter(prefix="/v1/events", tags=["events"])

# On PostgreSQL a transaction can commit an event after a later-numbered one is already
# visible. Each poll therefore looks again at the numbers of the last few seconds, and the
# stream remembers what it sent in that window so nothing goes out twice.
SETTLE_SECONDS = 5.0
BATCH = 500
RECONNECT_MS = 2000


@dataclass(frozen=True)
class StreamStart:
    tenant_id: str
    is_test: bool
    after: int  # send events numbered above this
    types: frozenset[str]


async def stream_start(
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
) -> StreamStart:
    """Everything that can be refused is checked here, before the stream's 200 goes out."""
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
    return StreamStart(
        tenant_id=caller.tenant_id,
        is_test=caller.is_test,
        after=resume,
        types=frozenset(t.value for t in types or ()),
    )


@router.get(
    "",
    response_class=EventSourceResponse,
    responses={200: {"description": "`text/event-stream`: one message per event"}},
)
async def stream_events(
    request: Request, start: Annotated[StreamStart, Depends(stream_start)]
) -> AsyncIterator[ServerSentEvent]:
    """Messages are `id: <n>`, `event: <type>`, `data: {id, type, created_at, data}`, the
    same body a webhook gets."""
    db: Database = request.app.state.db
    interval: timedelta = request.app.state.settings.event_poll_interval
    yield ServerSentEvent(retry=RECONNECT_MS, comment="crier events")
    cursor = start.after
    recent: deque[tuple[float, int]] = deque()  # (when, cursor then): the settle window
    sent: dict[int, float] = {}
    while True:
        now = time.monotonic()
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
        recent.append((now, cursor))
        for seq in [s for s, at in sent.items() if now - at > 2 * SETTLE_SECONDS]:
            del sent[seq]
        if len(rows) < BATCH:
            await asyncio.sleep(interval.total_seconds())
