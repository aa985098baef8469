"""`POST /v1/review-links`: a signed, expiring link that signs a reviewer in to the pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from api.deps import ReviewerDep, SessionDep, SettingsDep
from api.post_queries import load_post
from api.schemas import Envelope, Strict
from api.ui.auth import LINK_MAX_AGE, LinkClaims
from core.db import utcnow

router = APIRouter(prefix="/v1/review-links", tags=["review"])


class ReviewLinkCreate(Strict):
    reviewer: str = Field(
        min_length=1,
        max_length=100,
        description="Who will use the link: their decisions are recorded under this name.",
    )
    post_id: str | None = Field(
        default=None, max_length=36, description="Open this post; the review queue if none."
    )
    expires_in_minutes: int | None = Field(
        default=None,
        ge=5,
        le=int(LINK_MAX_AGE.total_seconds() // 60),
        description="The link's life; CRIER_REVIEW_LINK_TTL (24 h) if none, 7 days at most.",
    )


class ReviewLink(BaseModel):
    url: str
    expires_at: datetime
    post_id: str | None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[ReviewLink])
async def create_review_link(
    payload: ReviewLinkCreate,
    caller: ReviewerDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> Envelope[ReviewLink]:
    """The link lets its holder see the key's posts and approve or reject them, nothing more;
    it stops working when it expires or when the issuing key is revoked."""
    if payload.post_id is not None:
        await load_post(session, caller, payload.post_id)  # 404 unless the caller's own
    life = (
        timedelta(minutes=payload.expires_in_minutes)
        if payload.expires_in_minutes is not None
        else settings.review_link_ttl
    )
    expires_at = (utcnow() + life).replace(microsecond=0)
    token = request.app.state.review_links.issue(
        LinkClaims(
            api_key_id=caller.api_key_id,
            reviewer=payload.reviewer,
            post_id=payload.post_id,
            expires_at=expires_at,
        )
    )
    url = f"{settings.public_api_url.rstrip('/')}/ui/links/{token}"
    return Envelope(data=ReviewLink(url=url, expires_at=expires_at, post_id=payload.post_id))
