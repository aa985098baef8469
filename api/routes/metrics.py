"""A post's metrics and an account's insights, as the metrics schedule collected them
(api/services/metrics_reads.py): `GET /v1/posts/{id}/metrics`, `GET /v1/accounts/{id}/insights`
with seed 003's parameters (metrics, since, until, period)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import SessionDep, ViewerDep
from api.schemas import Envelope
from api.services import metrics_reads
from core.db import utcnow

router = APIRouter(tags=["metrics"])


class Reading(BaseModel):
    offset: str = Field(description="how long after publishing it was due: 1h, 24h or 7d")
    collected_at: datetime
    values: dict[str, int] = Field(description="only the metrics the platform gives")


class TargetMetrics(BaseModel):
    target_id: str
    platform: str
    account_id: str
    offered: list[str] = Field(description="the metrics this platform gives; none: no reader")
    latest: dict[str, int]
    readings: list[Reading]


class PostMetricsPublic(BaseModel):
    post_id: str
    targets: list[TargetMetrics]


class InsightValue(BaseModel):
    value: int
    end_time: str


class InsightRow(BaseModel):
    name: str
    period: str
    values: list[InsightValue]


class AccountInsightsPublic(BaseModel):
    account_id: str
    since: date
    until: date
    data: list[InsightRow]


@router.get("/v1/posts/{post_id}/metrics", response_model=Envelope[PostMetricsPublic])
async def post_metrics(
    post_id: str, caller: ViewerDep, session: SessionDep
) -> Envelope[PostMetricsPublic]:
    """Each target's readings at +1 h, +24 h and +7 d after it went live, oldest first."""
    found = await metrics_reads.post_readings(session=session, caller=caller, post_id=post_id)
    return Envelope(
        data=PostMetricsPublic(
            post_id=post_id,
            targets=[
                TargetMetrics(
                    target_id=target_id,
                    platform=platform,
                    account_id=account_id,
                    offered=offered,
                    latest=readings[-1].values if readings else {},
                    readings=[
                        Reading(offset=r.offset_label, collected_at=r.collected_at, values=r.values)
                        for r in readings
                    ],
                )
                for target_id, platform, account_id, offered, readings in found
            ],
        )
    )


@router.get("/v1/accounts/{account_id}/insights", response_model=Envelope[AccountInsightsPublic])
async def account_insights(
    account_id: str,
    caller: ViewerDep,
    session: SessionDep,
    metrics: Annotated[
        str | None,
        Query(
            max_length=500,
            description="comma-separated: followers, impressions, reach, profile_views, "
            "engagements (or seed 003's Graph names, page_impressions, ...); all if none",
        ),
    ] = None,
    since: Annotated[date | None, Query(description="first day (UTC), YYYY-MM-DD")] = None,
    until: Annotated[
        date | None, Query(description="last day, included; yesterday if none")
    ] = None,
    period: Annotated[metrics_reads.Period, Query()] = "day",
) -> Envelope[AccountInsightsPublic]:
    """Seed 003's getPageInsights rows: one per metric, each value a day, ISO week or month.
    Counts are summed over a period; followers is the period's last day."""
    rows, first, last = await metrics_reads.account_insights(
        session=session,
        caller=caller,
        account_id=account_id,
        metrics=metrics,
        since=since,
        until=until,
        period=period,
        today=utcnow().date(),
    )
    data: list[Any] = rows
    return Envelope(
        data=AccountInsightsPublic(
            account_id=account_id,
            since=first,
            until=last,
            data=[InsightRow.model_validate(row) for row in data],
        )
    )
