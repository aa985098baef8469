"""Keeping account tokens alive: refresh before publishing, and a periodic health check.

A refresh happens under a lock on the account row, and the expiry is looked at again once the
lock is held: two targets of one account due together cause one refresh, not two. That matters
because X and TikTok rotate refresh tokens; the loser of a race would present a spent one and
the platform would refuse it, losing the account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import charge
from core.config import Settings
from core.db import Database, utcnow
from core.events import EventType, record_account_event
from core.locks import lock_account
from core.messages.delivery import ENSURE_FRESH_TOKEN, ERROR_TOKEN_REFRESH, TOKEN_REFRESH_FAILED
from core.messages.token_health import CHECK_ACCOUNT_TOKENS, TokenHealthReport
from core.models import Account, Notification, Target
from core.status import AccountStatus
from core.vault import Vault
from providers.connect.registry import connector_for
from providers.connect.stored import forget_tokens, store_tokens, tokens_of
from providers.errors import AuthError, ProviderError

log = logging.getLogger(__name__)

Outcome = Literal["fresh", "refreshed", "expired"]


@dataclass(frozen=True)
class RefreshResult:
    outcome: Outcome
    reason: str | None = None


@dataclass(frozen=True)
class TokenCheck:
    """What checking one account found; "fresh": the token works and needed no refresh,
    "unreachable": the platform did not answer (nothing was changed)."""

    outcome: Outcome | Literal["unreachable"]
    reason: str | None = None


def _expires_within(account: Account, margin: timedelta) -> bool:
    expires = account.token_expires_at
    return expires is not None and expires - utcnow() < margin


def expire_account(session: AsyncSession, account: Account, reason: str) -> None:
    """Mark the account expired (its tokens are useless now) and say so to the tenant."""
    forget_tokens(account, AccountStatus.EXPIRED, reason)
    session.add(account)
    session.add(
        Notification(
            tenant_id=account.tenant_id,
            is_test=account.is_sandbox,
            kind="token_expired",
            message=f"{account.platform} account {account.display_name} needs to be "
            f"reconnected: {reason}",
        )
    )
    record_account_event(session, account, EventType.TOKEN_EXPIRED, reason=reason)


class TokenActivities:
    def __init__(
        self, *, db: Database, http: httpx.AsyncClient, vault: Vault, settings: Settings
    ) -> None:
        self._db = db
        self._http = http
        self._vault = vault
        self._settings = settings

    async def refresh_if_needed(self, account_id: str, margin: timedelta) -> RefreshResult:
        """Refresh the account's token if it expires within `margin`. Raises ProviderError
        when the platform could not be reached (worth retrying); a refusal expires the
        account and is returned, not raised."""
        async with self._db.session() as session:
            account = await session.get(Account, account_id)
            if account is None or not _expires_within(account, margin):
                return RefreshResult("fresh")  # the common case takes no lock
        async with self._db.session() as session:
            account = await lock_account(session, account_id)
            assert account is not None
            if account.status != AccountStatus.ACTIVE:
                await session.commit()
                return RefreshResult("expired", account.status_reason)
            if not _expires_within(account, margin):
                await session.commit()  # another worker refreshed while this one waited
                return RefreshResult("fresh")
            tokens = tokens_of(account, self._vault)
            connector = connector_for(
                account.platform, self._http, self._settings, sandbox=account.is_sandbox
            )
            try:
                if tokens is None or not connector.refreshable:
                    raise AuthError(
                        "the token has expired and this platform has no refresh",
                        platform=account.platform.value,
                    )
                fresh = await connector.refresh(tokens)
            except AuthError as refused:
                reason = f"the platform refused to refresh the token ({refused.summary()})"
                expire_account(session, account, reason)
                await session.commit()
                log.warning("account %s expired: refresh refused", account.id)
                return RefreshResult("expired", reason)
            # Written before the lock is released: the old refresh token may be spent already.
            store_tokens(account, fresh.merged_into(tokens), self._vault)
            account.token_refreshed_at = utcnow()
            session.add(account)
            await session.commit()
            log.info("account %s token refreshed", account.id)
            return RefreshResult("refreshed")

    @activity.defn(name=ENSURE_FRESH_TOKEN)
    async def ensure_fresh_token(self, target_id: str) -> None:
        async with self._db.session() as session:
            target = await session.get(Target, target_id)
            if target is None:
                raise ApplicationError(f"target {target_id} does not exist", non_retryable=True)
            account_id = target.account_id
        try:
            result = await self.refresh_if_needed(account_id, self._settings.token_refresh_margin)
        except ProviderError as error:
            raise await charge(self._db, self._settings, target_id, error) from None
        if result.outcome == "expired":
            raise ApplicationError(
                TOKEN_REFRESH_FAILED,
                {"reason": result.reason},
                type=ERROR_TOKEN_REFRESH,
                non_retryable=True,
            )

    @activity.defn(name=CHECK_ACCOUNT_TOKENS)
    async def check_account_tokens(self) -> TokenHealthReport:
        """Every active account: refresh a token that expires soon, otherwise make one cheap
        authenticated call; an account whose token no longer works is marked expired and its
        tenant notified. Heartbeats the last account done, so a retry resumes after it."""
        report = TokenHealthReport()
        details = activity.info().heartbeat_details
        after = str(details[0]) if details else ""
        while True:
            async with self._db.session() as session:
                batch = (
                    await session.exec(
                        select(Account.id)
                        .where(
                            Account.status == AccountStatus.ACTIVE,
                            col(Account.access_token_enc).is_not(None),
                            col(Account.id) > after,
                        )
                        .order_by(col(Account.id))
                        .limit(100)
                    )
                ).all()
            if not batch:
                return report
            for account_id in batch:
                await self._check_one(account_id, report)
                after = account_id
                activity.heartbeat(after)

    async def _check_one(self, account_id: str, report: TokenHealthReport) -> None:
        report.checked += 1
        check = await self.check_account(account_id)
        if check.outcome == "fresh":
            report.healthy += 1
        elif check.outcome == "refreshed":
            report.refreshed += 1
        elif check.outcome == "expired":
            report.expired += 1
        else:
            report.unreachable += 1

    async def check_account(self, account_id: str) -> TokenCheck:
        """One account as a health run checks it: refresh a token that expires within the
        health window, otherwise one cheap authenticated call; a refusal expires the account.
        The API's POST /v1/accounts/{id}/verify asks the same, through this one method."""
        window = self._settings.token_health_refresh_window
        try:
            result = await self.refresh_if_needed(account_id, window)
            if result.outcome != "fresh":
                return TokenCheck(result.outcome, result.reason)
            await self._verify(account_id)
            return TokenCheck("fresh")
        except AuthError as refused:
            reason = f"the token no longer works ({refused.summary()})"
            async with self._db.session() as session:
                account = await lock_account(session, account_id)
                assert account is not None
                if account.status == AccountStatus.ACTIVE:
                    expire_account(session, account, reason)
                await session.commit()
            return TokenCheck("expired", reason)
        except ProviderError as error:
            return TokenCheck("unreachable", error.summary())

    async def _verify(self, account_id: str) -> None:
        async with self._db.session() as session:
            account = await session.get(Account, account_id)
            assert account is not None
        tokens = tokens_of(account, self._vault)
        if tokens is None:
            return
        connector = connector_for(
            account.platform, self._http, self._settings, sandbox=account.is_sandbox
        )
        await connector.verify(account.external_id, tokens)
