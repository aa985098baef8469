"""The relay: new events become webhook deliveries, each started as its own workflow.

Two steps, each safe to repeat after a crash: (1) in one transaction, write a delivery row
for every endpoint that wants the event and mark the event dispatched; (2) start each new
delivery's workflow under an id made from the delivery's, so a start repeated after a crash
finds the running workflow instead of sending twice. Deliveries run on a queue of their own
(`webhook_queue`); the relay itself stays on the task queue, as it talks only to the database
and Temporal, never to a receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from core.config import Settings
from core.db import Database, utcnow
from core.messages.webhooks import RELAY_EVENTS, WebhookDeliveryInput, WebhookRetry
from core.models import Account, Event, Post, WebhookDelivery, WebhookEndpoint
from core.temporal import SA_TENANT

log = logging.getLogger(__name__)

BATCH = 200
DELIVERY_WORKFLOW = "WebhookDeliveryWorkflow"


def delivery_workflow_id(delivery_id: str) -> str:
    return f"webhook-{delivery_id}"


def webhook_queue(task_queue: str) -> str:
    """The queue webhook deliveries run on (their workflows and activities; cli/worker.py):
    apart from the publishing work on `task_queue` and with slots of its own, so receivers
    that answer slowly, or never, hold only webhook slots and no post waits behind them."""
    return f"{task_queue}.webhooks"


def webhook_retry(settings: Settings) -> WebhookRetry:
    return WebhookRetry(
        max_attempts=settings.webhook_max_attempts,
        initial_interval=settings.webhook_initial_interval,
        backoff=settings.webhook_backoff,
        max_interval=settings.webhook_max_interval,
        timeout=settings.webhook_timeout,
    )


async def _projects_of(session: AsyncSession, events: Sequence[Event]) -> dict[str, str | None]:
    """Each event's project: the one its data names, else that of the post, account or
    endpoint it is about (target events, and events recorded before projects, name none);
    None for an event of no project, which only endpoints of every project hear."""
    named: dict[str, str | None] = {}
    wanted: dict[type[Post] | type[Account] | type[WebhookEndpoint], set[str]] = {
        Post: set(),
        Account: set(),
        WebhookEndpoint: set(),
    }
    for event in events:
        named[event.id] = event.data.get("project_id")
        for model, key in ABOUT:
            if isinstance(event.data.get(key), str):
                wanted[model].add(event.data[key])
    found: dict[tuple[str, str], str | None] = {}
    for model, ids in wanted.items():
        if ids:
            rows = await session.exec(
                select(model.id, model.project_id).where(col(model.id).in_(sorted(ids)))
            )
            found.update({(model.__name__, row_id): pid for row_id, pid in rows.all()})
    for event in events:
        for model, key in ABOUT:
            if named[event.id] is None and isinstance(event.data.get(key), str):
                named[event.id] = found.get((model.__name__, event.data[key]))
    return named


# Where an event's data points at the row whose project it is, in the order to look.
ABOUT: tuple[tuple[type[Post] | type[Account] | type[WebhookEndpoint], str], ...] = (
    (Post, "post_id"),
    (Account, "account_id"),
    (WebhookEndpoint, "webhook_id"),
)


class EventRelayActivities:
    def __init__(self, *, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    @activity.defn(name=RELAY_EVENTS)
    async def relay_events(self) -> None:
        """Runs until its worker stops; another worker then takes over."""
        interval = self._settings.event_poll_interval.total_seconds()
        while True:
            activity.heartbeat()
            try:
                busy = await self.relay_once()
            except Exception:
                # The database or Temporal is away for a moment: keep heartbeating and retry,
                # rather than fail the activity and wait out its backoff.
                log.exception("the event relay failed a pass; retrying")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(activity.wait_for_worker_shutdown(), interval)
            if activity.is_worker_shutdown():
                # Fail at once rather than hold the worker's shutdown for its grace period;
                # the retry runs on a worker that stays.
                raise ApplicationError("this worker is shutting down; another one takes over")

    async def relay_once(self) -> bool:
        """One pass; True when it found work (so the next pass comes at once)."""
        fanned = await self._fan_out()
        started = await self._start_deliveries()
        return fanned == BATCH or started == BATCH

    async def _fan_out(self) -> int:
        async with self._db.session() as session:
            events = (
                await session.exec(
                    select(Event)
                    .where(col(Event.dispatched_at).is_(None))
                    .order_by(col(Event.seq))
                    .limit(BATCH)
                )
            ).all()
            if not events:
                return 0
            endpoints = (
                await session.exec(
                    select(WebhookEndpoint).where(
                        col(WebhookEndpoint.tenant_id).in_({e.tenant_id for e in events}),
                        col(WebhookEndpoint.enabled).is_(True),
                        col(WebhookEndpoint.deleted_at).is_(None),
                    )
                )
            ).all()
            projects = await _projects_of(session, events)
            now = utcnow()
            for event in events:
                for endpoint in endpoints:
                    if (
                        endpoint.tenant_id == event.tenant_id
                        and endpoint.is_test == event.is_test
                        and event.type in endpoint.events
                        # An endpoint of one project hears that project's events only.
                        and endpoint.project_id in (None, projects[event.id])
                    ):
                        session.add(
                            WebhookDelivery(
                                endpoint_id=endpoint.id,
                                event_id=event.id,
                                tenant_id=event.tenant_id,
                            )
                        )
                event.dispatched_at = now
                session.add(event)
            await session.commit()
            return len(events)

    async def _start_deliveries(self) -> int:
        async with self._db.session() as session:
            waiting = (
                await session.exec(
                    select(WebhookDelivery)
                    .where(col(WebhookDelivery.workflow_started_at).is_(None))
                    .order_by(col(WebhookDelivery.created_at))
                    .limit(BATCH)
                )
            ).all()
            if not waiting:
                return 0
            results = await asyncio.gather(
                *(self._start(d) for d in waiting), return_exceptions=True
            )
            started = [
                d.id
                for d, result in zip(waiting, results, strict=True)
                if result is None or isinstance(result, WorkflowAlreadyStartedError)
            ]
            for d, result in zip(waiting, results, strict=True):
                if isinstance(result, BaseException) and d.id not in started:
                    log.warning("could not start webhook delivery %s: %r", d.id, result)
            if started:
                await session.exec(
                    update(WebhookDelivery)
                    .where(col(WebhookDelivery.id).in_(started))
                    .values(workflow_started_at=utcnow())
                )
                await session.commit()
            return len(waiting)

    async def _start(self, delivery: WebhookDelivery) -> None:
        # By name: activities do not import workflows (DESIGN.md's layout).
        await activity.client().start_workflow(
            DELIVERY_WORKFLOW,
            WebhookDeliveryInput(delivery_id=delivery.id, retry=webhook_retry(self._settings)),
            id=delivery_workflow_id(delivery.id),
            task_queue=webhook_queue(self._settings.task_queue),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(SA_TENANT, delivery.tenant_id)]
            ),
            static_summary=f"Webhook delivery {delivery.id} to endpoint {delivery.endpoint_id}",
        )
