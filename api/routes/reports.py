"""Reports for a report writer (seed 000): what happened to a tenant's targets over a window.
The rules (which time places a target, what latency measures) are in docs/api.md, "Reports"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from api.deps import SessionDep, ViewerDep
from api.schemas import Envelope
from api.services.publishing_report import (
    DEFAULT_GROUP_BY,
    MAX_WINDOW,
    PublishingReport,
    parse_group_by,
    publishing_report,
    zone_named,
)

router = APIRouter(prefix="/v1/reports", tags=["reports"])


def _checked(check: Callable[[str], Any], kind: str) -> Callable[[str], str]:
    """A query check whose refusal reads as its own words (no "Value error, " before them),
    run with the others, so one 422 names every problem of the query."""

    def validate(value: str) -> str:
        try:
            check(value)
        except ValueError as error:
            raise PydanticCustomError(kind, str(error)) from None
        return value

    return validate


GroupBy = Annotated[
    str,
    Query(
        max_length=200,
        description="Comma list of platform, day, project, account: one row per combination.",
    ),
    AfterValidator(_checked(parse_group_by, "group_by")),
]
TimeZone = Annotated[
    str,
    Query(max_length=100, description="IANA zone whose calendar days `day` counts (UTC)."),
    AfterValidator(_checked(zone_named, "timezone")),
]


@router.get("/publishing", response_model=Envelope[PublishingReport])
async def get_publishing_report(
    caller: ViewerDep,
    session: SessionDep,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Included, with an offset; default: 30 days before `until`."),
    ] = None,
    until: Annotated[
        AwareDatetime | None,
        Query(
            description=f"Excluded, with an offset; default: now. At most {MAX_WINDOW.days} "
            "days after `since`."
        ),
    ] = None,
    group_by: GroupBy = ",".join(DEFAULT_GROUP_BY),
    timezone: TimeZone = "UTC",
    project_id: Annotated[
        str | None,
        Query(max_length=36, description="This project's targets only (404 if not the key's)."),
    ] = None,
) -> Envelope[PublishingReport]:
    """Per group, the targets of the key's tenant and mode that ended in each state within the
    window, and how late the published ones went out against their time."""
    report = await publishing_report(
        session=session,
        caller=caller,
        since=since,
        until=until,
        group_by=parse_group_by(group_by),
        zone=zone_named(timezone),
        project_id=project_id,
    )
    return Envelope(data=report)
