"""The publish activity and the state recorder: every side effect of a delivery lives here."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.records import notify_if_needed
from activities.routing import aggregator_candidates
from core.config import Settings
from core.db import Database, utcnow
from core.messages import (
    CHECK_TARGET,
    PREPARE_TARGET,
    PUBLISH_TARGET,
    RECORD_TARGET_STATE,
    Preparation,
    PublishOutcome,
    Readiness,
    TargetStateUpdate,
)
from core.models import Account, Attempt, Post, Target, Tenant
from core.post_status import refresh_post_status
from core.status import AccountStatus, TargetMode, TargetStatus
from core.vault import Vault
from providers.aggregators.failover import AggregatorCandidate, publish_with_failover
from providers.base import AccountCredentials, PostContent, Provider, Published
from providers.errors import AuthError, ProviderError, RateLimitedError
from providers.registry import PROVIDERS, base_url

log = logging.getLogger(__name__)

# States the publish activity itself ends in; finding one means an earlier try already did it.
DELIVERED = (TargetStatus.PUBLISHED, TargetStatus.DRAFTED, TargetStatus.READY_FOR_MANUAL)


def content_fingerprint(content: PostContent) -> str:
    """Identifies what was sent, so a later attempt can recognise its own post on the platform."""
    digest = hashlib.sha256()
    for part in (content.text, *content.media_urls, content.link or ""):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def to_application_error(error: ProviderError, settings: Settings) -> ApplicationError:
    non_retryable = error.kind in ("content", "auth")
    next_delay = None
    if isinstance(error, RateLimitedError):
        next_delay = error.retry_after or settings.rate_limit_default_wait
    return ApplicationError(
        error.summary(),
        {"platform": error.platform, "code": error.code, "http_status": error.http_status},
        type=type(error).__name__,
        non_retryable=non_retryable,
        next_retry_delay=next_delay,
    )


@dataclass(frozen=True)
class Delivery:
    """Everything one delivery needs, loaded fresh by each activity."""

    target: Target
    content: PostContent
    provider: Provider
    credentials: AccountCredentials | AuthError
    draft: bool
    # Set when the tenant routes this platform through aggregators: who may deliver, in order.
    aggregators: list[AggregatorCandidate] | None = None

    def authorized(self) -> AccountCredentials:
        if isinstance(self.credentials, AuthError):
            raise self.credentials
        return self.credentials


class PublishActivities:
    def __init__(
        self, *, db: Database, http: httpx.AsyncClient, vault: Vault, settings: Settings
    ) -> None:
        self._db = db
        self._http = http
        self._vault = vault
        self._settings = settings

    async def _delivery(self, target_id: str) -> Delivery:
        async with self._db.session() as session:
            target = await session.get(Target, target_id)
            if target is None:
                raise ApplicationError(f"target {target_id} does not exist", non_retryable=True)
            post = await session.get(Post, target.post_id)
            account = await session.get(Account, target.account_id)
            tenant = await session.get(Tenant, target.tenant_id)
            assert post is not None and account is not None and tenant is not None
            routed = None
            if target.platform.value in tenant.aggregator_platforms:
                routed = await aggregator_candidates(
                    session, account, http=self._http, settings=self._settings, vault=self._vault
                )
        provider_class = PROVIDERS[target.platform]
        return Delivery(
            target=target,
            content=PostContent(
                text=target.override_body if target.override_body is not None else post.body,
                media_urls=list(
                    target.override_media_urls
                    if target.override_media_urls is not None
                    else post.media_urls
                ),
                link=post.link,
                title=target.options.get("title"),
                options=dict(target.options),
            ),
            provider=provider_class(
                self._http, base_url(target.platform, self._settings, sandbox=account.is_sandbox)
            ),
            credentials=self._credentials(account),
            draft=target.mode == TargetMode.DRAFT,
            aggregators=routed,
        )

    @activity.defn(name=PREPARE_TARGET)
    async def prepare_target(self, target_id: str) -> Preparation:
        """Upload media, create containers: nothing public yet."""
        delivery = await self._delivery(target_id)
        try:
            return await delivery.provider.prepare(
                delivery.authorized(), delivery.content, draft=delivery.draft
            )
        except ProviderError as error:
            await self._note_error(target_id, error)
            raise to_application_error(error, self._settings) from None

    @activity.defn(name=CHECK_TARGET)
    async def check_target(self, target_id: str, prepared: Preparation) -> Readiness:
        """Read-only: is what prepare made ready (encoded, processed)?"""
        delivery = await self._delivery(target_id)
        try:
            return await delivery.provider.check(delivery.authorized(), prepared)
        except ProviderError as error:
            raise to_application_error(error, self._settings) from None

    @activity.defn(name=PUBLISH_TARGET)
    async def publish_target(
        self, target_id: str, prepared: Preparation | None = None
    ) -> PublishOutcome:
        """The one call that makes the post public, recorded as an attempt."""
        delivery = await self._delivery(target_id)
        target = delivery.target
        if target.status in DELIVERED:
            return PublishOutcome(
                external_id=target.external_id, url=target.external_url, status=target.status
            )
        if delivery.draft and not delivery.provider.rules.supports_drafts:
            # Nothing to call: the platform keeps no drafts, so a person posts the text.
            await self._set_status(target_id, TargetStatus.READY_FOR_MANUAL)
            return PublishOutcome(status=TargetStatus.READY_FOR_MANUAL)
        attempt = await self._open_attempt(target_id, delivery.content)
        delivered_by = "direct"
        try:
            if delivery.aggregators is not None:
                # An aggregator uploads, waits and posts inside one call of its own API.
                published, delivered_by = await publish_with_failover(
                    delivery.aggregators, target.platform.value, delivery.content
                )
            else:
                published = await delivery.provider.publish(
                    delivery.authorized(),
                    delivery.content,
                    prepared or Preparation(),
                    draft=delivery.draft,
                )
        except ProviderError as error:
            await self._finish_attempt(target_id, attempt.id, error=error)
            raise to_application_error(error, self._settings) from None

        status = TargetStatus.DRAFTED if delivery.draft else TargetStatus.PUBLISHED
        await self._finish_attempt(
            target_id, attempt.id, published=published, status=status, delivered_by=delivered_by
        )
        return PublishOutcome(external_id=published.external_id, url=published.url, status=status)

    async def _open_attempt(self, target_id: str, content: PostContent) -> Attempt:
        """Write the attempt before the platform is called: the ledger of what may be live."""
        async with self._db.session() as session:
            target = await session.get(Target, target_id)
            assert target is not None
            target.status = TargetStatus.PUBLISHING
            target.attempt_count += 1
            target.updated_at = utcnow()
            attempt = Attempt(
                target_id=target.id,
                number=target.attempt_count,
                fingerprint=content_fingerprint(content),
            )
            session.add(target)
            session.add(attempt)
            await refresh_post_status(session, target.post_id)
            await session.commit()
            return attempt

    async def _set_status(self, target_id: str, status: TargetStatus) -> None:
        async with self._db.session() as session:
            target = await session.get(Target, target_id)
            assert target is not None
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

    def _credentials(self, account: Account) -> AccountCredentials | AuthError:
        if account.status != AccountStatus.ACTIVE or not account.access_token_enc:
            return AuthError(
                f"the account is {account.status}: reconnect it", platform=account.platform
            )
        return AccountCredentials(
            external_id=account.external_id,
            access_token=self._vault.decrypt(account.access_token_enc),
        )

    async def _finish_attempt(
        self,
        target_id: str,
        attempt_id: str,
        *,
        published: Published | None = None,
        status: TargetStatus = TargetStatus.PUBLISHED,
        error: ProviderError | None = None,
        delivered_by: str | None = None,
    ) -> None:
        now = utcnow()
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            target = await session.get(Target, target_id)
            assert attempt is not None and target is not None
            attempt.finished_at = now
            target.updated_at = now
            if error is not None:
                attempt.outcome = "failed"
                attempt.error_kind = error.kind
                attempt.error_code = error.code
                attempt.error = error.message
                target.last_error = error.summary()
            elif published is not None:
                attempt.outcome = "confirmed"
                attempt.response_summary = f"id={published.external_id}"
                target.status = status
                target.external_id = published.external_id
                target.external_url = published.url
                target.published_at = now
                target.delivered_by = delivered_by
                target.last_error = None
            session.add(attempt)
            session.add(target)
            await refresh_post_status(session, target.post_id)
            await session.commit()
        log.info(
            "target %s attempt %s %s", target_id, attempt_id, "failed" if error else "confirmed"
        )

    @activity.defn(name=RECORD_TARGET_STATE)
    async def record_target_state(self, update: TargetStateUpdate) -> None:
        async with self._db.session() as session:
            target = await session.get(Target, update.target_id)
            if target is None:
                raise ApplicationError(
                    f"target {update.target_id} does not exist", non_retryable=True
                )
            # A retried activity must not notify twice for the same transition.
            if target.status != update.status:
                notify_if_needed(session, target, update.status, update.error or target.last_error)
            target.status = update.status
            if update.scheduled_for is not None:
                target.scheduled_for = update.scheduled_for
            if update.error is not None:
                target.last_error = update.error
            target.updated_at = utcnow()
            session.add(target)
            await refresh_post_status(session, target.post_id)
            await session.commit()
