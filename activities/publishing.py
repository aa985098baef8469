"""The publish activity and the state recorder: every side effect of a delivery lives here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import charge, to_application_error
from activities.fire_stops import FireStops
from activities.ledger import SETTLED, Ledger, Opened
from activities.part_ledger import PartLedger
from activities.reviewed_media import ReviewedMedia
from activities.routing import aggregator_candidates
from activities.tenant_notices import tell_tenant
from activities.tokens import TokenActivities
from core import metrics
from core.clock import Clock, WallClock
from core.config import Settings
from core.db import Database, utcnow
from core.guarded_fetch import GuardedFetcher
from core.logs import bind_log_context
from core.media_alt import aligned, target_media_alt
from core.messages.delivery import (
    CHECK_TARGET,
    ERROR_CONTENT,
    ERROR_MISSED,
    ERROR_STOPPED,
    ERROR_WORKER_STOPPING,
    PREPARE_TARGET,
    PUBLISH_ON_TIME,
    PUBLISH_PART,
    PUBLISH_TARGET,
    RECONCILE_TARGET,
    RECORD_TARGET_STATE,
    TAKE_OVER_FIRE,
    OnTimeRequest,
    PartRequest,
    Preparation,
    PublishOutcome,
    Readiness,
    ReconcileRequest,
    StopFireRequest,
    TakeOverRequest,
    TargetStateUpdate,
)
from core.models import Account, Attempt, Post, Target, Tenant
from core.post_status import refresh_post_status
from core.status import (
    FAILED_ENDS,
    UNRESOLVED_OUTCOMES,
    AccountStatus,
    ApprovalState,
    AttemptOutcome,
    TargetMode,
    TargetStatus,
)
from core.vault import Vault
from providers.aggregators.failover import AggregatorCandidate, publish_with_failover
from providers.base import (
    CLOCK_SKEW,
    Credentials,
    NotCheckable,
    PartPosition,
    PartPublishing,
    PostContent,
    Provider,
    Published,
)
from providers.errors import AuthError, ContentError, ProviderError, TransientError
from providers.kit.media import publish_downloads
from providers.registry import PROVIDERS, base_url
from providers.transport import watch_departures

log = logging.getLogger(__name__)

# A platform acts on a request within moments of receiving it: this long after a try's last
# moment to send, a lookup sees whatever that try made.
SETTLE_MARGIN = timedelta(seconds=5)
# The wait wakes only for the time itself (or the worker's shutdown); this bounds one sleep.
LONGEST_QUIET_WAIT = 3600.0
# The type of the retry that waits for an earlier try: not a platform error, never counted.
ERROR_EARLIER_TRY = "EarlierTryStillSending"

T = TypeVar("T")


class OutOfBudget(TransientError):
    """A try that its own call budget (`send_by`) cut off before the platform had a whole
    HTTP timeout to answer: crier was slow (a starved worker, a queue for the database or for
    a connection). Retried, and never counted against the post's tries
    (activities/errors.charge). `maybe_sent` as the transport saw it (watch_departures)."""


@dataclass(frozen=True)
class Delivery:
    """Everything one delivery needs, loaded fresh by each activity."""

    target: Target
    content: PostContent
    provider: Provider
    credentials: Credentials | AuthError
    draft: bool
    # Set when the tenant routes this platform through aggregators: who may deliver, in order.
    aggregators: list[AggregatorCandidate] | None = None
    # An approved post's media as its reviewer saw them ({url: fingerprint}): compared before
    # anything is uploaded or sent (activities/reviewed_media.py).
    reviewed_media: dict[str, str] = field(default_factory=dict)

    def authorized(self) -> Credentials:
        if isinstance(self.credentials, AuthError):
            raise self.credentials
        return self.credentials


@dataclass(frozen=True)
class Ready:
    """A delivery loaded and checked, with nothing left to do but the call."""

    delivery: Delivery
    prepared: Preparation
    status: TargetStatus  # what it becomes once sent: published, or drafted


class PublishActivities:
    def __init__(
        self,
        *,
        db: Database,
        http: httpx.AsyncClient,
        media: GuardedFetcher,
        vault: Vault,
        settings: Settings,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._http = http
        self._clock = clock or WallClock()
        # Every provider and aggregator downloads the media it uploads through this one
        # fetcher (issue 18 item 1), under the publish-time deadline and ceiling.
        self._media = publish_downloads(media, settings)
        self._vault = vault
        self._settings = settings
        self._ledger = Ledger(db)
        self._parts = PartLedger(db)
        self._tokens = TokenActivities(db=db, http=http, vault=vault, settings=settings)
        self._stops = FireStops(db)
        self._reviewed_media = ReviewedMedia(settings, media)
        # Waiting publishes get ready as many at a time as the worker runs work
        # (CRIER_WORKER_MAX_ACTIVITIES), first come first served: a burst's thousand arrive
        # together, and all at once each would only slow the others (and the takeovers on
        # the task queue) until the earliest were late too.
        self._getting_ready = asyncio.Semaphore(settings.worker_max_activities)

    async def _delivery(self, target_id: str) -> Delivery:
        async with self._db.session() as session:
            target = await session.get(Target, target_id)
            if target is None:
                raise ApplicationError(f"target {target_id} does not exist", non_retryable=True)
            bind_log_context(
                tenant_id=target.tenant_id, post_id=target.post_id, target_id=target.id
            )
            post = await session.get(Post, target.post_id)
            account = await session.get(Account, target.account_id)
            tenant = await session.get(Tenant, target.tenant_id)
            assert post is not None and account is not None and tenant is not None
            routed = None
            if target.platform.value in tenant.routed_platforms(sandbox=account.is_sandbox):
                routed = await aggregator_candidates(
                    session,
                    account,
                    http=self._http,
                    media=self._media,
                    settings=self._settings,
                    vault=self._vault,
                )
        provider_class = PROVIDERS[target.platform]
        media_urls = list(
            target.override_media_urls
            if target.override_media_urls is not None
            else post.media_urls
        )
        approved = post.approval_state == ApprovalState.APPROVED
        return Delivery(
            target=target,
            content=PostContent(
                text=target.override_body if target.override_body is not None else post.body,
                media_urls=media_urls,
                media_alt=target_media_alt(post, target),
                link=post.link,
                title=target.options.get("title"),
                options=dict(target.options),
            ),
            provider=provider_class(
                self._http,
                base_url(target.platform, self._settings, sandbox=account.is_sandbox),
                self._media,
            ),
            credentials=self._credentials(account),
            draft=target.mode == TargetMode.DRAFT,
            aggregators=routed,
            reviewed_media={
                url: post.media_fingerprints[url]
                for url in media_urls
                if approved and url in post.media_fingerprints
            },
        )

    async def _ensure_reviewed_media(
        self, delivery: Delivery, reviewed: dict[str, str] | None = None
    ) -> None:
        """The delivery's media (or a part's: `reviewed`) are the bytes its reviewer saw."""
        try:
            await self._reviewed_media.ensure_unchanged(
                delivery.reviewed_media if reviewed is None else reviewed
            )
        except ContentError as error:
            await self._note_error(delivery.target.id, error)
            # Not the platform's error, and final at once: nothing to count.
            raise to_application_error(error, self._settings) from None
        except ProviderError as error:
            await self._note_error(delivery.target.id, error)
            raise await self._charge(delivery.target.id, error) from None

    @activity.defn(name=PREPARE_TARGET)
    async def prepare_target(self, target_id: str) -> Preparation:
        """Upload media, create containers: nothing public yet, except on a platform whose
        `prepare` posts (TikTok), where it runs under the attempt ledger."""
        delivery = await self._delivery(target_id)
        guarded = delivery.provider.rules.publishes_at_prepare
        if delivery.target.status in SETTLED:
            return Preparation()  # an earlier try settled it; check and publish will see
        await self._ensure_reviewed_media(delivery)
        attempt = None
        if guarded:
            if await self._resolve_unknown(delivery, Preparation()) is not None:
                return Preparation()
            attempt = await self._ledger.open(
                target_id,
                delivery.content,
                budget=self._budget,
                after=delivery.target.attempt_count,
            )
            if attempt is None:
                raise _another_try_opened()
        try:
            prepare = delivery.provider.prepare
            credentials = delivery.authorized()
            prepared = await self._within_budget(
                attempt,
                delivery,
                lambda: prepare(credentials, delivery.content, draft=delivery.draft),
            )
        except ProviderError as error:
            if attempt is not None:
                await self._ledger.failed(target_id, attempt.id, error)
            else:
                await self._note_error(target_id, error)
            raise await self._charge(target_id, error) from None
        if attempt is not None:
            await self._ledger.accepted(attempt.id)
        return prepared

    @activity.defn(name=CHECK_TARGET)
    async def check_target(self, target_id: str, prepared: Preparation) -> Readiness:
        """Read-only: is what prepare made ready (encoded, processed)?"""
        delivery = await self._delivery(target_id)
        if delivery.target.status in SETTLED:
            return Readiness(state="ready")
        try:
            return await delivery.provider.check(delivery.authorized(), prepared)
        except ProviderError as error:
            raise await self._charge(target_id, error) from None

    @activity.defn(name=PUBLISH_ON_TIME)
    async def publish_on_time(self, request: OnTimeRequest) -> PublishOutcome:
        """Get everything ready, wait here in the worker until the target's exact time, then
        send. Temporal's server is off the path at the instant itself, and so is everything
        that can be done before it.

        At the time it claims the target in the database together with its attempt
        (activities/fire_stops.py); once claimed the send is never cut short, and an update
        arriving then is refused."""
        async with self._getting_ready:
            if request.ensure_token:
                await self._tokens.ensure_fresh_token(request.target_id)
            ready = await self._ready(request.target_id, request.prepared)
        if isinstance(ready, PublishOutcome):
            return ready
        if request.not_before is not None:
            # No heartbeats: a fire that has not answered soon after its time is taken over by
            # its workflow (workflows/fire.py), so a burst's thousand waits cost the server
            # nothing.
            while (left := (request.not_before - await self._clock.now()).total_seconds()) > 0:
                if activity.is_worker_shutdown():
                    # Say so at once rather than be cut off: the workflow hands it on.
                    raise ApplicationError(
                        "its worker is shutting down before its time",
                        type=ERROR_WORKER_STOPPING,
                        non_retryable=True,
                    )
                await self._sleep_unless_shutdown(min(left, LONGEST_QUIET_WAIT))
        late = None if request.not_after is None else await self._clock.now() - request.not_after
        if late is not None and late > timedelta(0):
            raise ApplicationError(
                f"taken up {late} past the grace period after its time; not published",
                type=ERROR_MISSED,
                non_retryable=True,
            )
        # Claimed and sent out of reach of cancellation: a claim, once written, is a promise to
        # send (the update that would stop it has been refused).
        firing = asyncio.ensure_future(self._claim_and_send(ready, request.fire_id))
        try:
            return await asyncio.shield(firing)
        except asyncio.CancelledError:
            return await firing

    async def _sleep_unless_shutdown(self, seconds: float) -> None:
        sleeping = asyncio.ensure_future(self._clock.sleep(seconds))
        shutdown = asyncio.ensure_future(activity.wait_for_worker_shutdown())
        try:
            await asyncio.wait({sleeping, shutdown}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            shutdown.cancel()

    async def _claim_and_send(self, ready: Ready, fire_id: str) -> PublishOutcome:
        target_id = ready.delivery.target.id
        attempt = await self._ledger.open(
            target_id, ready.delivery.content, budget=self._budget, fire_id=fire_id
        )
        if attempt is None:
            raise ApplicationError(
                "stopped before its time by a cancel or a reschedule",
                type=ERROR_STOPPED,
                non_retryable=True,
            )
        return await self._send(ready, attempt)

    @activity.defn(name=PUBLISH_TARGET)
    async def publish_target(
        self, target_id: str, prepared: Preparation | None = None
    ) -> PublishOutcome:
        """The one call that makes the post public, recorded as an attempt. An earlier attempt
        whose answer was lost is resolved first, so a post that went out is never sent twice."""
        ready = await self._ready(target_id, prepared)
        if isinstance(ready, PublishOutcome):
            return ready
        attempt = await self._ledger.open(
            target_id,
            ready.delivery.content,
            budget=self._budget,
            after=ready.delivery.target.attempt_count,
        )
        if attempt is None:
            raise _another_try_opened()
        return await self._send(ready, attempt)

    @activity.defn(name=TAKE_OVER_FIRE)
    async def take_over_fire(self, request: TakeOverRequest) -> PublishOutcome:
        """Publish in place of a fire that did not answer (activities/fire_stops.py decides who
        wins). `publishing` back means the fire claimed the target and is sending it."""
        stopped = await self._stops.stop(
            StopFireRequest(target_id=request.target_id, fire_id=request.fire_id)
        )
        if not stopped and request.while_live:
            return PublishOutcome(status=TargetStatus.PUBLISHING)
        if request.ensure_token:
            await self._tokens.ensure_fresh_token(request.target_id)
        return await self.publish_target(request.target_id, request.prepared)

    @activity.defn(name=PUBLISH_PART)
    async def publish_part(self, request: PartRequest) -> bool:
        """Publish one part after a live post (a thread reply, a first comment), through the
        part's own attempts: a part whose answer was lost is looked up before it is sent
        again, so no part is ever posted twice. True once the part is live; False only for
        `look_only`, when no lost try of it landed."""
        delivery = await self._delivery(request.target_id)
        target, index = delivery.target, request.index
        if any(p["index"] == index for p in target.parts_published or []):
            return True  # an earlier try published it
        position, content, reviewed = await self._part_of(delivery, index)
        provider = delivery.provider
        assert isinstance(provider, PartPublishing), f"{target.platform} takes no parts"
        latest = await self._parts.latest(target.id, index)
        if latest is not None and latest.outcome in UNRESOLVED_OUTCOMES:
            self._refuse_while_sending(latest)
            try:
                found = await provider.find_published_part(
                    delivery.authorized(), content, position, since=latest.started_at - CLOCK_SKEW
                )
            except NotCheckable as why:
                reason = f"part {index} may have been published, but its answer was lost and "
                reason += f"{target.platform} offers no way to check ({why})"
                await self._parts.settle(latest.id, AttemptOutcome.UNKNOWN, reason)
                raise ApplicationError(reason, type=ERROR_CONTENT, non_retryable=True) from None
            except ProviderError as error:
                raise await self._charge(target.id, error) from None
            if found is not None:
                await self._parts.succeeded(target.id, latest.id, index, found, found=True)
                return True
            await self._parts.settle(
                latest.id, AttemptOutcome.NOT_FOUND, "not on the platform: the call never landed"
            )
        if request.look_only:
            return False
        await self._ensure_reviewed_media(delivery, reviewed)
        attempt = await self._parts.open(
            target.id,
            index,
            content,
            seen=latest.number if latest is not None else 0,
            send_by=utcnow() + self._budget,
        )
        if attempt is None:
            raise _another_try_opened()
        opened = Opened(
            id=attempt.id, number=attempt.number, started_at=attempt.started_at,
            send_by=attempt.send_by or utcnow() + self._budget,
        )  # fmt: skip
        credentials = delivery.authorized()
        try:
            published = await self._within_budget(
                opened, delivery, lambda: provider.publish_part(credentials, content, position)
            )
        except ProviderError as error:
            await self._parts.failed(attempt.id, error)
            raise await self._charge(target.id, error) from None
        await self._parts.succeeded(target.id, attempt.id, index, published, found=False)
        return True

    async def _part_of(
        self, delivery: Delivery, index: int
    ) -> tuple[PartPosition, PostContent, dict[str, str]]:
        """Where part `index` goes (under the post and the part before it), what it says, and
        its media as the reviewer saw them ({url: fingerprint}; empty unless approved)."""
        target = delivery.target
        async with self._db.session() as session:
            post = await session.get(Post, target.post_id)
        assert post is not None and post.parts and target.external_id is not None
        root = Published(
            external_id=target.external_id, url=target.external_url, cid=target.external_cid
        )
        live = {int(p["index"]): p for p in target.parts_published or []}
        before = live.get(index - 1)
        parent = root if index == 1 or before is None else Published.model_validate(before)
        if index > 1 and before is None:
            raise ApplicationError(
                f"part {index - 1} is not live, so part {index} has nothing to answer",
                type=ERROR_CONTENT,
                non_retryable=True,
            )
        part = post.parts[index - 1]
        media_urls = [str(u) for u in part.get("media_urls") or []]
        content = PostContent(
            text=str(part["body"]),
            media_urls=media_urls,
            media_alt=aligned(media_urls, part.get("media_alt")),
        )
        reviewed = {
            url: post.media_fingerprints[url]
            for url in media_urls
            if post.approval_state == ApprovalState.APPROVED and url in post.media_fingerprints
        }
        return PartPosition(root=root, parent=parent, index=index), content, reviewed

    async def _ready(self, target_id: str, prepared: Preparation | None) -> Ready | PublishOutcome:
        """Everything before the call: the target, token and content loaded, any earlier lost
        attempt resolved. An outcome instead when there is nothing left to send."""
        delivery = await self._delivery(target_id)
        target = delivery.target
        if target.status in SETTLED:
            return _outcome_of(target)
        if delivery.draft and not delivery.provider.rules.supports_drafts:
            # Nothing to call: the platform keeps no drafts, so a person posts the text.
            await self._set_status(
                target_id,
                TargetStatus.READY_FOR_MANUAL,
                f"{target.platform} keeps no drafts: the text is ready to be posted by hand",
            )
            return PublishOutcome(status=TargetStatus.READY_FOR_MANUAL)
        prepared = prepared or Preparation()
        status = TargetStatus.DRAFTED if delivery.draft else TargetStatus.PUBLISHED
        metrics.count_retry(target.platform.value, target.attempt_count)
        settled = await self._resolve_unknown(delivery, prepared)
        if settled is not None:
            return settled
        await self._ensure_reviewed_media(delivery)
        return Ready(delivery=delivery, prepared=prepared, status=status)

    async def _send(self, ready: Ready, attempt: Opened) -> PublishOutcome:
        delivery, prepared, status = ready.delivery, ready.prepared, ready.status
        target = delivery.target
        target_id = target.id
        delivered_by = "direct"
        try:
            if delivery.aggregators is not None:
                # An aggregator uploads, waits and posts inside one call of its own API.
                aggregators = delivery.aggregators
                published, delivered_by = await self._within_budget(
                    attempt,
                    delivery,
                    lambda: publish_with_failover(
                        aggregators, target.platform.value, delivery.content
                    ),
                )
            else:
                publish = delivery.provider.publish
                credentials = delivery.authorized()
                published = await self._within_budget(
                    attempt,
                    delivery,
                    lambda: publish(credentials, delivery.content, prepared, draft=delivery.draft),
                )
        except ProviderError as error:
            await self._ledger.failed(target_id, attempt.id, error)
            raise await self._charge(target_id, error) from None
        await self._ledger.succeeded(
            target_id, attempt.id, published, status=status, delivered_by=delivered_by
        )
        now = utcnow()
        metrics.published(
            target.platform.value,
            latency=now - attempt.started_at,
            lateness=now - target.scheduled_for if target.scheduled_for else None,
        )
        return PublishOutcome(external_id=published.external_id, url=published.url, status=status)

    @activity.defn(name=RECONCILE_TARGET)
    async def reconcile_target(self, request: ReconcileRequest) -> PublishOutcome:
        """After publishing gave up: is a lost attempt's post live after all? `dead` if not."""
        delivery = await self._delivery(request.target_id)
        if delivery.target.status in SETTLED:
            return _outcome_of(delivery.target)
        settled = await self._resolve_unknown(delivery, request.prepared or Preparation())
        return settled or PublishOutcome(status=TargetStatus.DEAD)

    async def _charge(self, target_id: str, error: ProviderError) -> ApplicationError:
        if isinstance(error, OutOfBudget):
            return ApplicationError(error.summary(), type=type(error).__name__)
        return await charge(self._db, self._settings, target_id, error)

    @property
    def _budget(self) -> timedelta:
        return self._settings.publish_call_budget

    @staticmethod
    def _refuse_while_sending(attempt: Attempt) -> None:
        """Temporal retries an activity that timed out even while it still runs (a starved
        worker, say). An attempt still `sent` may belong to such a try: look only once its calls
        can no longer leave (its `send_by`) and the platform has acted, so a lookup is the
        truth. Until then this try ends, and Temporal starts the next one then: a try never
        sleeps in one of the worker's bounded slots (cli/worker.py)."""
        if attempt.outcome != AttemptOutcome.SENT or attempt.send_by is None:
            return
        remaining = attempt.send_by + SETTLE_MARGIN - utcnow()
        if remaining > timedelta(0):
            raise ApplicationError(
                "an earlier try may still be sending; looking once it cannot",
                type=ERROR_EARLIER_TRY,
                next_retry_delay=remaining,
            )

    async def _within_budget(
        self, attempt: Opened | None, delivery: Delivery, call: Callable[[], Awaitable[T]]
    ) -> T:
        """Make the platform calls only while the attempt may still send, and stop them at its
        `send_by`: after that a later try may be asking the platform what happened."""
        if attempt is None or attempt.send_by is None:
            return await call()
        platform = delivery.target.platform.value
        remaining = (attempt.send_by - utcnow()).total_seconds()
        if remaining <= 0:
            raise OutOfBudget(
                "this try ran out of time before sending", platform=platform, maybe_sent=False
            )
        with watch_departures() as departures:
            try:
                async with asyncio.timeout(remaining):
                    return await call()
            except TimeoutError:
                waited = departures.waited_on_platform()
                if departures.none_left or (
                    waited is not None and waited < self._settings.http_timeout_seconds
                ):
                    # Crier queued the call (for a slot, the database, a connection) until
                    # the budget was spent or nearly: crier's slowness. Nothing left if no
                    # request did.
                    raise OutOfBudget(
                        "cut off by its call budget, queued in crier",
                        platform=platform,
                        maybe_sent=not departures.none_left,
                    ) from None
                # The platform had a whole HTTP timeout (a call of several requests) and had
                # not finished, or the client does not tell: the platform's slowness.
                raise TransientError(
                    "no answer within the call budget", platform=platform
                ) from None

    async def _resolve_unknown(
        self, delivery: Delivery, prepared: Preparation
    ) -> PublishOutcome | None:
        """If the last attempt's answer was lost, ask the platform whether its post exists.

        Returns the outcome when that settles the target (found live, or no way to tell);
        None when there was nothing to resolve or the post never landed, so posting is safe.
        """
        target = delivery.target
        unresolved = await self._ledger.unresolved(target.id)
        if unresolved is None:
            return None
        self._refuse_while_sending(unresolved)
        status = TargetStatus.DRAFTED if delivery.draft else TargetStatus.PUBLISHED
        try:
            if delivery.aggregators is not None:
                raise NotCheckable("the aggregators offer no lookup of a post by its content")
            if delivery.draft:
                raise NotCheckable("platforms do not list unpublished drafts")
            found = await delivery.provider.find_published(
                delivery.authorized(),
                delivery.content,
                prepared,
                since=unresolved.started_at - CLOCK_SKEW,
            )
        except NotCheckable as why:
            reason = (
                f"attempt {unresolved.number} may have published, but its answer was lost and "
                f"{target.platform} offers no way to check ({why}); look at the account, then "
                "retry the target only if the post is not there"
            )
            await self._ledger.unconfirmed(target.id, unresolved.id, reason)
            metrics.reconciled(target.platform.value, "unconfirmed")
            metrics.ended(target.platform.value, TargetStatus.UNCONFIRMED.value)
            return PublishOutcome(status=TargetStatus.UNCONFIRMED)
        except ProviderError as error:
            # The lookup itself failed: the attempt stays open and the next try looks again.
            raise await self._charge(target.id, error) from None
        if found is None:
            await self._ledger.not_found(unresolved.id)
            metrics.reconciled(target.platform.value, "not_found")
            return None
        metrics.reconciled(target.platform.value, "found")
        await self._ledger.succeeded(
            target.id, unresolved.id, found, status=status, delivered_by="direct", found=True
        )
        return PublishOutcome(external_id=found.external_id, url=found.url, status=status)

    async def _set_status(self, target_id: str, status: TargetStatus, detail: str) -> None:
        async with self._db.session() as session:
            target = await session.get(Target, target_id)
            assert target is not None
            # A retried activity must not notify twice for the same transition.
            if target.status != status:
                await tell_tenant(session, target, status, detail)
            target.status = status
            target.updated_at = utcnow()
            session.add(target)
            await refresh_post_status(session, target.post_id)
            await session.commit()

    async def _note_error(self, target_id: str, error: ProviderError) -> None:
        async with self._db.session() as session:
            target = await session.get(Target, target_id)
            assert target is not None
            target.last_error = error.summary()
            session.add(target)
            await session.commit()

    def _credentials(self, account: Account) -> Credentials | AuthError:
        if account.status != AccountStatus.ACTIVE or not account.access_token_enc:
            return AuthError(
                f"the account is {account.status}: reconnect it", platform=account.platform
            )
        return Credentials(
            external_id=account.external_id,
            access_token=self._vault.decrypt(account.access_token_enc),
        )

    @activity.defn(name=RECORD_TARGET_STATE)
    async def record_target_state(self, update: TargetStateUpdate) -> None:
        async with self._db.session() as session:
            target = await session.get(Target, update.target_id)
            if target is None:
                raise ApplicationError(
                    f"target {update.target_id} does not exist", non_retryable=True
                )
            # A retried activity must not notify (or count) twice for the same transition.
            if target.status != update.status:
                await tell_tenant(session, target, update.status, update.error or target.last_error)
                if update.status in FAILED_ENDS:
                    metrics.ended(target.platform.value, update.status.value)
            target.status = update.status
            if update.scheduled_for is not None:
                target.scheduled_for = update.scheduled_for
            if update.status == TargetStatus.DRAFT:
                target.scheduled_for = None  # unscheduled: a draft has no time
            if update.error is not None:
                target.last_error = update.error
            target.updated_at = utcnow()
            session.add(target)
            await refresh_post_status(session, target.post_id)
            await session.commit()


def _another_try_opened() -> ApplicationError:
    # The next try waits until that one can no longer send, then looks (_ready).
    return ApplicationError(
        "another try of this target opened an attempt first; looking once it cannot send",
        type=ERROR_EARLIER_TRY,
        next_retry_delay=timedelta(seconds=1),
    )


def _outcome_of(target: Target) -> PublishOutcome:
    return PublishOutcome(
        external_id=target.external_id, url=target.external_url, status=target.status
    )
