"""Each account's daily insights: the days missing from the last `metrics_account_days`, read
in one call, up to yesterday (UTC: today is not over). A day read again replaces its values,
as platforms revise recent days."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from core.config import Settings
from core.db import Database, utcnow
from core.messages.metrics import MetricsReport
from core.models import Account, AccountInsight, PostMetric
from providers.base import Credentials
from providers.errors import ProviderError
from providers.metrics.base import DayInsight, MetricsReader

log = logging.getLogger(__name__)

# Counts of people at a moment: a day without one is not short of it.
LEVELS = frozenset({"followers"})
# An account's days are read at most this often.
REREAD_AFTER = timedelta(hours=20)


class CallBudgets(Protocol):
    left: dict[str, int]

    def take(self, account_id: str, calls: int) -> None: ...


async def spent_calls(db: Database, account_id: str, since: datetime) -> int:
    """The metrics calls an account's readings have cost since `since`."""
    async with db.session() as session:
        posts = (
            await session.exec(
                select(func.coalesce(func.sum(PostMetric.calls), 0)).where(
                    PostMetric.account_id == account_id, col(PostMetric.collected_at) >= since
                )
            )
        ).one()
        days = (
            await session.exec(
                select(func.coalesce(func.sum(AccountInsight.calls), 0)).where(
                    AccountInsight.account_id == account_id,
                    col(AccountInsight.collected_at) >= since,
                )
            )
        ).one()
    return int(posts) + int(days)


class AccountInsightReader:
    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        reader: Callable[[Account], MetricsReader | None],
    ) -> None:
        self._db = db
        self._settings = settings
        self._reader = reader

    async def read(
        self,
        account: Account,
        credentials: Credentials | None,
        budgets: CallBudgets,
        report: MetricsReport,
        now: datetime,
    ) -> None:
        reader = self._reader(account)
        if reader is None or credentials is None:
            return
        last = now.date() - timedelta(days=1)
        first = last - timedelta(days=self._settings.metrics_account_days - 1)
        have = await self._rows(account.id, first)
        # A day is to read when it is missing, or lacks some of what the platform gives (a
        # platform still counting it: YouTube's analytics lag days, Pinterest's PROCESSING).
        wanted = reader.account_metrics - LEVELS
        short = [
            d for d in _days(first, last) if d not in have or not wanted <= set(have[d].values)
        ]
        if not short:
            return
        if any(row.collected_at > now - REREAD_AFTER for row in have.values()):
            return  # read today already: what is still being counted waits for tomorrow
        if account.id not in budgets.left:
            budgets.left[account.id] = reader.budget.calls - await spent_calls(
                self._db, account.id, now - reader.budget.window
            )
        if budgets.left[account.id] <= 0:
            report.over_budget += 1
            return
        since = min(short)
        try:
            insights = await reader.account(credentials, since, last)
        except ProviderError as error:
            log.warning("insights of account %s not read: %s", account.id, type(error).__name__)
            report.unreachable += 1
            budgets.take(account.id, 1)
            return
        budgets.take(account.id, insights.calls)
        await self._store(account, insights.days, insights.calls)
        report.account_days += len(insights.days)

    async def _rows(self, account_id: str, first: date) -> dict[date, AccountInsight]:
        async with self._db.session() as session:
            rows = await session.exec(
                select(AccountInsight).where(
                    AccountInsight.account_id == account_id, col(AccountInsight.day) >= first
                )
            )
            return {row.day: row for row in rows.all()}

    async def _store(self, account: Account, days: list[DayInsight], calls: int) -> None:
        async with self._db.session() as session:
            for index, day in enumerate(days):
                found = (
                    await session.exec(
                        select(AccountInsight).where(
                            AccountInsight.account_id == account.id,
                            AccountInsight.day == day.day,
                        )
                    )
                ).first()
                row = found or AccountInsight(
                    tenant_id=account.tenant_id,
                    is_test=account.is_sandbox,
                    project_id=account.project_id,
                    account_id=account.id,
                    platform=account.platform,
                    day=day.day,
                )
                # Merged: a day read again keeps what only an earlier read gave (a follower
                # count read on the day itself).
                row.values = {**row.values, **day.values}
                row.collected_at = utcnow()  # when the account was last read
                if index == 0:  # the call is counted once, on the first day it brought
                    row.calls = calls
                session.add(row)
            try:
                await session.commit()
            except IntegrityError:  # another run stored the same days first
                await session.rollback()


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
