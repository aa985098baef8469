"""Sending one webhook delivery, and recording how it ended.

A receiver is a stranger's server (review S6): it is reached only through the guarded fetcher
(core/guarded_fetch.py), which pins the checked address, follows no redirect, asks for an
uncompressed answer and refuses a compressed one unread, and ends the whole attempt at its
deadline however slowly the answer trickles. Of the answer only its first bytes are read; what
is recorded is the host and what went wrong, never the answer's body.
"""

from __future__ import annotations

import logging
import time

from cryptography.fernet import InvalidToken
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.config import Settings
from core.db import Database, utcnow
from core.events import EventType, envelope_bytes, record_event
from core.guarded_fetch import Blocked, FetchError, GuardedFetcher, url_host
from core.messages.webhooks import DELIVER_WEBHOOK, FINISH_WEBHOOK_DELIVERY, WEBHOOK_ABANDONED
from core.models import Event, Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.vault import Vault
from core.webhook_signing import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED, ABANDONED = "pending", "delivered", "failed", "abandoned"
# No retry can help: the key that encrypted the secret is gone from CRIER_TOKEN_KEYS.
WEBHOOK_SECRET_UNREADABLE = "WebhookSecretUnreadable"
SECRET_UNREADABLE = (
    "the signing secret cannot be decrypted with any key in CRIER_TOKEN_KEYS (was a key "
    "dropped before `crier rotate-keys` re-encrypted it?): nothing was sent; restore the key, "
    "or roll the endpoint's secret and give the receiver the new one"
)
# How much of a receiver's answer is read before the connection is closed: an attempt counts
# once its 2xx status and these first bytes (or the whole of a shorter answer) arrived within
# the deadline. Nothing of it is kept.
ANSWER_READ_BYTES = 1024
ERROR_CHARS = 1000  # WebhookAttempt.error


def webhook_fetcher(settings: Settings) -> GuardedFetcher:
    """One per worker. A 3xx is a failed attempt: the receiver must name its real URL, and a
    redirect could lead inside our network."""
    return GuardedFetcher(
        allow_private=settings.webhooks_may_reach_private, user_agent="crier-webhooks/1"
    )


class WebhookActivities:
    def __init__(
        self, *, db: Database, fetcher: GuardedFetcher, vault: Vault, settings: Settings
    ) -> None:
        self._db = db
        self._fetcher = fetcher
        self._vault = vault
        self._settings = settings

    @activity.defn(name=DELIVER_WEBHOOK)
    async def deliver_webhook(self, delivery_id: str) -> None:
        async with self._db.session() as session:
            delivery, endpoint, event = await _load(session, delivery_id)
            if delivery.status != PENDING:
                return  # a retried activity after the success was recorded
            if not endpoint.enabled or endpoint.deleted_at is not None:
                delivery.status = ABANDONED
                delivery.finished_at = utcnow()
                delivery.last_error = "the endpoint was disabled or deleted"
                session.add(delivery)
                await session.commit()
                raise ApplicationError(delivery.last_error, type=WEBHOOK_ABANDONED)
            url = endpoint.url
            secret: str | None
            try:
                secret, previous = await self._secrets(session, endpoint)
            except InvalidToken:
                secret, previous = None, None
            body = envelope_bytes(event)
            headers = {
                "Content-Type": "application/json",
                "Crier-Event-Id": event.id,
                "Crier-Event-Type": event.type,
                "Crier-Delivery-Id": delivery.id,
                "Crier-Delivery-Attempt": str(delivery.attempt_count + 1),
            }

        started = utcnow()
        clock = time.monotonic()
        status_code: int | None
        error: str | None
        if secret is None:
            # Recorded as an attempt like any other, so the deliveries list says why.
            status_code, error = None, SECRET_UNREADABLE
        else:
            status_code, error = await self._send(url, body, secret, headers, previous=previous)
        elapsed_ms = int((time.monotonic() - clock) * 1000)

        async with self._db.session() as session:
            delivery, endpoint, _ = await _load(session, delivery_id)
            delivery.attempt_count += 1
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    number=delivery.attempt_count,
                    started_at=started,
                    duration_ms=elapsed_ms,
                    status_code=status_code,
                    error=error,
                )
            )
            delivery.last_error = error
            if error is None:
                delivery.status = DELIVERED
                delivery.finished_at = utcnow()
                endpoint.consecutive_failures = 0
                session.add(endpoint)
            session.add(delivery)
            await session.commit()
        if secret is None:
            log.warning("webhook delivery %s: %s", delivery_id, SECRET_UNREADABLE)
            raise ApplicationError(
                SECRET_UNREADABLE, type=WEBHOOK_SECRET_UNREADABLE, non_retryable=True
            )
        if error is not None:
            log.info("webhook delivery %s attempt failed: %s", delivery_id, error)
            raise ApplicationError(error, type="WebhookFailed")

    async def _secrets(
        self, session: AsyncSession, endpoint: WebhookEndpoint
    ) -> tuple[str, str | None]:
        """The secret to sign with, and the one a roll replaced while its overlap lasts.

        Raises InvalidToken when either cannot be decrypted. The overlap is judged by the
        wall clock here, in the activity, so every attempt re-judges it (a retry after the
        overlap ended carries only the new signature). A previous secret found expired is
        erased; a roll since it was read set a later expiry, so the condition spares that one.
        """
        secret = self._vault.decrypt(endpoint.secret_enc)
        expires = endpoint.previous_secret_expires_at
        if endpoint.previous_secret_enc is None or expires is None:
            return secret, None
        now = utcnow()
        if expires > now:
            return secret, self._vault.decrypt(endpoint.previous_secret_enc)
        await session.exec(
            update(WebhookEndpoint)
            .where(
                col(WebhookEndpoint.id) == endpoint.id,
                col(WebhookEndpoint.previous_secret_expires_at) <= now,
            )
            .values(previous_secret_enc=None, previous_secret_expires_at=None)
        )
        await session.commit()
        return secret, None

    async def _send(
        self,
        url: str,
        body: bytes,
        secret: str,
        headers: dict[str, str],
        *,
        previous: str | None = None,
    ) -> tuple[int | None, str | None]:
        """The receiver's status code (None: no answer), and what went wrong (None: 2xx)."""
        signed = sign(secret, body, previous=previous)
        try:
            status, _ = await self._fetcher.post(
                url,
                content=body,
                headers={**headers, SIGNATURE_HEADER: signed},
                deadline=self._settings.webhook_timeout.total_seconds(),
                read_at_most=ANSWER_READ_BYTES,
            )
        except Blocked as blocked:
            return None, f"refused: {blocked}"[:ERROR_CHARS]
        except FetchError as failure:  # "host: reason", never an address it resolved to
            return None, str(failure)[:ERROR_CHARS]
        if 200 <= status < 300:
            return status, None
        error = f"{url_host(url)}: HTTP {status}"
        if 300 <= status < 400:
            error += ", a redirect (not followed: give the URL it names)"
        return status, error[:ERROR_CHARS]

    @activity.defn(name=FINISH_WEBHOOK_DELIVERY)
    async def finish_webhook_delivery(self, delivery_id: str) -> str:
        """Every attempt failed: say so, and disable an endpoint that keeps failing."""
        async with self._db.session() as session:
            delivery, endpoint, _ = await _load(session, delivery_id)
            if delivery.status != PENDING:
                return delivery.status
            delivery.status = FAILED
            delivery.finished_at = utcnow()
            session.add(delivery)
            # Counted in SQL: two deliveries failing at once must both count. The UPDATE also
            # locks the row, so only one of them can be the one that disables the endpoint.
            await session.exec(
                update(WebhookEndpoint)
                .where(col(WebhookEndpoint.id) == endpoint.id)
                .values(consecutive_failures=col(WebhookEndpoint.consecutive_failures) + 1)
            )
            await session.refresh(endpoint)
            limit = self._settings.webhook_disable_after
            if endpoint.enabled and endpoint.consecutive_failures >= limit:
                _disable(session, endpoint, f"{limit} deliveries in a row failed every retry")
                session.add(endpoint)
            await session.commit()
            return delivery.status


def _disable(session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.updated_at = utcnow()
    session.add(
        Notification(
            tenant_id=endpoint.tenant_id,
            is_test=endpoint.is_test,
            kind="webhook_disabled",
            message=f"webhook endpoint {endpoint.id} disabled: {reason}",
        )
    )
    record_event(
        session,
        tenant_id=endpoint.tenant_id,
        is_test=endpoint.is_test,
        type=EventType.WEBHOOK_DISABLED,
        data={"webhook_id": endpoint.id, "project_id": endpoint.project_id, "reason": reason},
    )


async def _load(
    session: AsyncSession, delivery_id: str
) -> tuple[WebhookDelivery, WebhookEndpoint, Event]:
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise ApplicationError(f"no webhook delivery {delivery_id}", non_retryable=True)
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    event = (await session.exec(select(Event).where(Event.id == delivery.event_id))).one()
    assert endpoint is not None
    return delivery, endpoint, event
