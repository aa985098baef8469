"""The metrics schedule's work: each live post's readings at +1 h, +24 h and +7 d, and each
account's daily insights, within each platform's metrics budget (providers/metrics).

A reading taken is a row (post_metric, account_insight), so the work is idempotent: a retried
run, a restarted worker or a skipped run only takes what is still due. A post reading that is
due late is taken late; one overtaken by the next offset is skipped (a +1 h reading made at
+30 h would only be a second +24 h one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.insights import AccountInsightReader, spent_calls
from core.config import Settings
from core.db import Database, utcnow
from core.engagement import engagement, low_engagement
from core.events import EventType, record_event, target_data
from core.messages.metrics import COLLECT_METRICS, MetricsReport
from core.models import Account, Notification, PostMetric, Target
from core.status import AccountStatus, TargetStatus
from core.vault import Vault
from providers.base import Credentials
from providers.errors import ProviderError
from providers.metrics.base import MetricsReader
from providers.metrics.registry import READERS, metrics_reader

log = logging.getLogger(__name__)

# After publishing: when each reading is due.
OFFSETS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
LAST = max(OFFSETS.values())
# How late a +7 d reading may still be taken (a worker down for a week loses it).
LATE_LIMIT = timedelta(days=7)


def due_label(published_at: datetime, taken: set[str], now: datetime) -> str | None:
    """The reading due now for a post published at `published_at`: the latest offset passed
    and not taken, unless a later one was already taken."""
    passed = [label for label, offset in OFFSETS.items() if published_at + offset <= now]
    if not passed or passed[-1] in taken:
        return None
    if published_at + OFFSETS[passed[-1]] + LATE_LIMIT < now:
        return None
    return passed[-1]


@dataclass
class Budgets:
    """Calls left per account this run, from what its readings cost in the budget's window."""

    left: dict[str, int]

    def take(self, account_id: str, calls: int) -> None:
        self.left[account_id] = self.left.get(account_id, 0) - calls


class MetricsActivities:
    def __init__(
        self, *, db: Database, http: httpx.AsyncClient, vault: Vault, settings: Settings
    ) -> None:
        self._db = db
        self._http = http
        self._vault = vault
        self._settings = settings
        self._insights = AccountInsightReader(db=db, settings=settings, reader=self._reader)

    def _reader(self, account: Account) -> MetricsReader | None:
        return metrics_reader(
            account.platform, self._http, self._settings, sandbox=account.is_sandbox
        )

    def credentials(self, account: Account) -> Credentials | None:
        if account.status != AccountStatus.ACTIVE or not account.access_token_enc:
            return None
        return Credentials(
            external_id=account.external_id,
            access_token=self._vault.decrypt(account.access_token_enc),
        )

    @activity.defn(name=COLLECT_METRICS)
    async def collect_metrics(self) -> MetricsReport:
        report = MetricsReport()
        now = utcnow()
        budgets = Budgets(left={})
        for target, taken in await self._published_since(now - LAST - LATE_LIMIT):
            label = due_label(target.published_at or now, taken, now)
            if label is not None:
                await self._read_post(target, label, budgets, report)
                activity.heartbeat(target.id)
        for account in await self._accounts():
            await self._insights.read(account, self.credentials(account), budgets, report, now)
            activity.heartbeat(account.id)
        return report

    async def _published_since(self, since: datetime) -> list[tuple[Target, set[str]]]:
        async with self._db.session() as session:
            targets = (
                await session.exec(
                    select(Target)
                    .where(
                        Target.status == TargetStatus.PUBLISHED,
                        col(Target.published_at) >= since,
                        col(Target.external_id).is_not(None),
                        col(Target.platform).in_(list(READERS)),
                    )
                    .order_by(col(Target.published_at))
                )
            ).all()
            taken: dict[str, set[str]] = {}
            if targets:
                rows = await session.exec(
                    select(PostMetric.target_id, PostMetric.offset_label).where(
                        col(PostMetric.target_id).in_([t.id for t in targets])
                    )
                )
                for target_id, label in rows.all():
                    taken.setdefault(target_id, set()).add(label)
        return [(t, taken.get(t.id, set())) for t in targets]

    async def _accounts(self) -> list[Account]:
        async with self._db.session() as session:
            rows = await session.exec(
                select(Account)
                .where(
                    Account.status == AccountStatus.ACTIVE,
                    col(Account.platform).in_(list(READERS)),
                )
                .order_by(col(Account.id))
            )
            return list(rows.all())

    async def _read_post(
        self, target: Target, label: str, budgets: Budgets, report: MetricsReport
    ) -> None:
        async with self._db.session() as session:
            account = await session.get(Account, target.account_id)
        reader = self._reader(account) if account is not None else None
        credentials = self.credentials(account) if account is not None else None
        if account is None or reader is None or credentials is None:
            return
        if account.id not in budgets.left:
            budgets.left[account.id] = reader.budget.calls - await spent_calls(
                self._db, account.id, utcnow() - reader.budget.window
            )
        if budgets.left[account.id] <= 0:
            report.over_budget += 1
            return
        assert target.external_id is not None
        try:
            reading = await reader.post(credentials, target.external_id)
        except ProviderError as error:
            log.warning("metrics of target %s not read: %s", target.id, type(error).__name__)
            report.unreachable += 1
            budgets.take(account.id, 1)
            return
        budgets.take(account.id, reading.calls)
        row = PostMetric(
            tenant_id=target.tenant_id,
            is_test=account.is_sandbox,
            project_id=account.project_id,
            post_id=target.post_id,
            target_id=target.id,
            account_id=account.id,
            platform=target.platform,
            offset_label=label,
            values=reading.values,
            calls=reading.calls,
        )
        async with self._db.session() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:  # a retried run that had taken it already
                return
            report.post_readings += 1
            if label == "24h" and await self._judge(session, target, account, row):
                report.anomalies += 1

    async def _judge(
        self, session: AsyncSession, target: Target, account: Account, row: PostMetric
    ) -> bool:
        """The low-engagement rule (core/engagement.py) on a fresh +24 h reading."""
        settings = self._settings
        earlier = (
            await session.exec(
                select(PostMetric.values)
                .where(
                    PostMetric.account_id == account.id,
                    PostMetric.offset_label == "24h",
                    PostMetric.id != row.id,
                )
                .order_by(col(PostMetric.collected_at).desc())
                .limit(settings.metrics_anomaly_posts)
            )
        ).all()
        current = engagement(row.values)
        typical = low_engagement(
            current,
            [engagement(values) for values in earlier],
            ratio=settings.metrics_anomaly_ratio,
            min_posts=settings.metrics_anomaly_min_posts,
        )
        if typical is None:
            return False
        message = (
            f"{account.platform} post on {account.display_name} has {current} engagements "
            f"after 24 h, below {settings.metrics_anomaly_ratio:g} x the account's median "
            f"of {typical:g}"
        )
        session.add(
            Notification(
                tenant_id=target.tenant_id,
                is_test=account.is_sandbox,
                kind="engagement_low",
                post_id=target.post_id,
                target_id=target.id,
                message=message,
            )
        )
        record_event(
            session,
            tenant_id=target.tenant_id,
            is_test=account.is_sandbox,
            type=EventType.ENGAGEMENT_LOW,
            data=target_data(
                target,
                project_id=account.project_id,
                engagement=current,
                median=typical,
                ratio=settings.metrics_anomaly_ratio,
            ),
        )
        await session.commit()
        return True
