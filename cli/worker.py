"""Building and running the Temporal worker: every workflow and activity crier has."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.budgets import BudgetActivities
from activities.event_relay import EventRelayActivities, webhook_queue
from activities.fire_stops import FireStopActivities
from activities.metrics import MetricsActivities
from activities.publishing import PublishActivities
from activities.tokens import TokenActivities
from activities.webhooks import WebhookActivities, webhook_fetcher
from cli.schedules import ensure_event_relay, ensure_schedules
from core.clock import Clock
from core.config import Settings, get_settings, log_mode
from core.db import Database
from core.guarded_fetch import media_fetcher
from core.logs import silence_url_logging
from core.temporal import connect, fire_queue, metrics_runtime
from core.vault import Vault
from providers.transport import PlatformTransport
from workflows.metrics import MetricsWorkflow
from workflows.publish_target import PublishTargetWorkflow
from workflows.token_health import TokenHealthWorkflow
from workflows.webhook_delivery import EventRelayWorkflow, WebhookDeliveryWorkflow

log = logging.getLogger(__name__)

# The sandbox still refuses non-deterministic calls (the clock, I/O) at run time, but does not
# re-import every module for each workflow run: a worker back from a crash replays each of its
# deliveries' histories in ~40 % less CPU (bench/README.md), and each cached run no longer
# holds its own copy of the modules. Safe because workflows/ keeps no module-level state.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
)

WORKFLOWS = [
    PublishTargetWorkflow,
    TokenHealthWorkflow,
    WebhookDeliveryWorkflow,
    EventRelayWorkflow,
    MetricsWorkflow,
]


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    # One pooled client per worker process, shared by every provider, with a pool of its own
    # per platform host.
    return httpx.AsyncClient(
        timeout=settings.http_timeout_seconds,
        transport=PlatformTransport(
            total=settings.http_connections, per_host=settings.http_connections_per_host
        ),
        headers={"User-Agent": "crier/0.1"},
        # Shared by every tenant: no cookie one tenant's call was sent may ride on another's
        # (S17). The transport's aiohttp session keeps none either.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )


class Workers:
    """The worker on the task queue (every workflow, and the activities that do the work), the
    one on its fire queue (publishes waiting for their time) and the one on its webhook queue
    (deliveries to receivers), started and stopped as one.

    Separate queues because their slots mean different things. A waiting publish is a sleeping
    asyncio task and costs almost nothing, so thousands may wait; the work (claims, takeovers,
    lookups, records) shares the database pool and the CPU, and beyond a measured number at
    once each one only slows the others until all of them time out (issue 16). Bounding the
    work's slots leaves the excess in Temporal's queue, served in order as slots free. A
    delivery waits on a stranger's server for up to its deadline (review S6): on slots of its
    own, a tarpit receiver delays only webhooks, never anyone's post."""

    def __init__(self, work: Worker, fires: Worker, webhooks: Worker) -> None:
        self.work = work
        self.fires = fires
        self.webhooks = webhooks
        self._running: AsyncExitStack | None = None

    async def __aenter__(self) -> Workers:
        async with AsyncExitStack() as stack:
            for worker in (self.work, self.fires, self.webhooks):
                await stack.enter_async_context(worker)
            self._running = stack.pop_all()  # a failed start stops those already started
        return self

    async def __aexit__(self, *exc: object) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.aclose()  # the webhooks, the fires, then the work


@asynccontextmanager
async def worker_for(
    client: Client,
    settings: Settings,
    *,
    task_queue: str | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Workers]:
    """Configured workers and the resources their activities hold, closed on exit. `clock`:
    what a publish waiting for its time reads (core/clock.py; the wall clock by default)."""
    silence_url_logging()
    db = Database(settings)
    http = make_http_client(settings)
    # The one door for media the providers upload (and the reviewed-media check): every hop
    # checked and pinned, under each platform's byte limit (issue 18 item 1).
    media = media_fetcher(settings, user_agent="crier/0.1")
    vault = Vault.from_settings(settings)
    publishing = PublishActivities(
        db=db, http=http, media=media, vault=vault, settings=settings, clock=clock
    )
    tokens = TokenActivities(db=db, http=http, vault=vault, settings=settings)
    readings = MetricsActivities(db=db, http=http, vault=vault, settings=settings)
    budgets = BudgetActivities(db=db)
    hooks_fetcher = webhook_fetcher(settings)
    webhooks = WebhookActivities(db=db, fetcher=hooks_fetcher, vault=vault, settings=settings)
    relay = EventRelayActivities(db=db, settings=settings)
    fire_stops = FireStopActivities(db=db)
    queue = task_queue or settings.task_queue
    try:
        yield Workers(
            work=Worker(
                client,
                task_queue=queue,
                workflows=WORKFLOWS,
                workflow_runner=WORKFLOW_RUNNER,
                activities=[
                    publishing.prepare_target,
                    publishing.check_target,
                    publishing.publish_target,
                    publishing.publish_part,
                    publishing.take_over_fire,
                    fire_stops.stop_fire,
                    publishing.reconcile_target,
                    publishing.record_target_state,
                    budgets.reserve_publish_slot,
                    tokens.ensure_fresh_token,
                    tokens.check_account_tokens,
                    readings.collect_metrics,
                    # Deliveries started before they had a queue of their own (issue 18) end
                    # where they began; the relay starts every new one on the webhook queue.
                    webhooks.deliver_webhook,
                    webhooks.finish_webhook_delivery,
                    relay.relay_events,
                ],
                graceful_shutdown_timeout=timedelta(seconds=5),
                max_concurrent_activities=settings.worker_max_activities,
                sticky_queue_schedule_to_start_timeout=settings.worker_sticky_timeout,
            ),
            fires=Worker(
                client,
                task_queue=fire_queue(queue),
                activities=[publishing.publish_on_time],
                graceful_shutdown_timeout=timedelta(seconds=5),
                max_concurrent_activities=settings.worker_max_fires,
            ),
            webhooks=Worker(
                client,
                task_queue=webhook_queue(queue),
                workflows=[WebhookDeliveryWorkflow],
                workflow_runner=WORKFLOW_RUNNER,
                activities=[webhooks.deliver_webhook, webhooks.finish_webhook_delivery],
                graceful_shutdown_timeout=timedelta(seconds=5),
                max_concurrent_activities=settings.worker_max_webhooks,
                sticky_queue_schedule_to_start_timeout=settings.worker_sticky_timeout,
            ),
        )
    finally:
        await hooks_fetcher.aclose()
        await http.aclose()
        await media.aclose()
        await db.dispose()


async def connect_with_retry(settings: Settings, *, attempts: int = 60) -> Client:
    # One runtime for the process: its Prometheus endpoint binds once.
    runtime = metrics_runtime(settings.metrics_bind) if settings.metrics_bind else None
    for attempt in range(1, attempts + 1):
        try:
            return await connect(settings, runtime=runtime)
        except Exception as exc:  # Temporal still starting: wait and try again
            if attempt == attempts:
                raise
            log.info("waiting for Temporal at %s (%s)", settings.temporal_address, exc)
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def run_worker(client: Client | None = None, settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    log_mode("worker", settings)
    client = client or await connect_with_retry(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with worker_for(client, settings) as worker, worker:
        # Polling first: a worker back from a crash has deliveries waiting for it.
        log.info("worker polling task queue %s", settings.task_queue)
        ensuring = asyncio.create_task(_ensure_background_work(client, settings))
        await stop.wait()
        ensuring.cancel()
        log.info("worker stopping")


async def _ensure_background_work(client: Client, settings: Settings) -> None:
    """The token-health schedule and the webhook relay, tried until the server takes them.
    A worker that starts while Temporal restarts keeps polling instead of exiting over them
    (the polls themselves wait out the restart)."""
    delay = 1.0
    while True:
        try:
            await ensure_schedules(client, settings)
            await ensure_event_relay(client, settings)
            return
        except RPCError as error:
            log.warning("could not set up schedules yet (%s); again in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
