"""Review links: issue one (for one post, or deliberately for the review queue), list them, and
revoke one. The token is shown once, in the answer that issues it; only its hash is kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller, ReviewerDep, SessionDep, ViewerDep
from api.errors import ApiError, problem
from api.post_queries import load_post, within_projects
from api.schemas import Envelope, ListEnvelope, ListMeta, Strict
from api.services.projects import chosen_project
from api.ui.auth import LINK_MAX_AGE, ReviewLinks, end_link_sessions, hash_token
from core.db import utcnow
from core.models import ApiKey, ReviewLink

router = APIRouter(prefix="/v1/review-links", tags=["review"])

LinkScope = Literal["post", "queue"]
LinkStatus = Literal["active", "used", "expired", "revoked"]


class ReviewLinkCreate(Strict):
    reviewer: str = Field(
        min_length=1,
        max_length=100,
        description="Who will use the link: their decisions are recorded under this name.",
    )
    scope: LinkScope | None = Field(
        default=None,
        description="'post' (the default when post_id is given): the link opens that post and "
        "decides it, nothing else. 'queue': the link opens the whole review queue of this "
        "key's tenant and mode, and must be asked for by name.",
    )
    post_id: str | None = Field(
        default=None, max_length=36, description="The one post a post link opens."
    )
    project_id: str | None = Field(
        default=None,
        max_length=36,
        description="A queue link's project: it opens only that project's queue. Without it: "
        "the key's one project, or the default project. A post link takes its post's.",
    )
    single_use: bool = Field(
        default=False,
        description="The link signs in once; opening it again is refused (the session it "
        "started lasts its usual time).",
    )
    expires_in_minutes: int | None = Field(
        default=None,
        ge=5,
        le=int(LINK_MAX_AGE.total_seconds() // 60),
        description="The link's life; CRIER_REVIEW_LINK_TTL (24 h) if none, 72 h at most.",
    )


class ReviewLinkPublic(BaseModel):
    id: str
    reviewer: str
    scope: LinkScope
    post_id: str | None
    single_use: bool
    status: LinkStatus
    expires_at: datetime
    used_at: datetime | None = Field(description="When the link was first opened.")
    revoked_at: datetime | None
    created_at: datetime


class ReviewLinkCreated(ReviewLinkPublic):
    url: str = Field(description="Send this to the reviewer. Shown only in this answer.")


def _status(link: ReviewLink, key_revoked: bool, now: datetime) -> LinkStatus:
    if link.revoked_at is not None or key_revoked:
        return "revoked"
    if link.single_use and link.used_at is not None:
        return "used"
    if link.expires_at <= now:
        return "expired"
    return "active"


def _view(link: ReviewLink, *, key_revoked: bool = False) -> ReviewLinkPublic:
    return ReviewLinkPublic(
        id=link.id,
        reviewer=link.reviewer,
        scope="queue" if link.post_id is None else "post",
        post_id=link.post_id,
        single_use=link.single_use,
        status=_status(link, key_revoked, utcnow()),
        expires_at=link.expires_at,
        used_at=link.used_at,
        revoked_at=link.revoked_at,
        created_at=link.created_at,
    )


def _scope_problems(payload: ReviewLinkCreate) -> list[str]:
    if payload.scope == "queue" and payload.post_id is not None:
        return ["a queue link opens no one post: leave out post_id, or ask for scope 'post'"]
    if payload.scope != "queue" and payload.post_id is None:
        return [
            "name the post the link is for (post_id), or ask for the whole review queue "
            "with scope 'queue'"
        ]
    return []


async def _load(session: AsyncSession, caller: Caller, link_id: str) -> ReviewLink:
    link = await session.get(ReviewLink, link_id)
    if (
        link is None
        or link.tenant_id != caller.tenant_id
        or link.is_test != caller.is_test
        or not caller.reaches(link.project_id)
    ):
        raise ApiError(404, "not_found", f"no review link {link_id}")
    return link


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[ReviewLinkCreated])
async def create_review_link(
    payload: ReviewLinkCreate, caller: ReviewerDep, session: SessionDep, request: Request
) -> Envelope[ReviewLinkCreated]:
    """A post link lets its holder see that post and approve or reject it, nothing else; a
    queue link, every post waiting in this key's tenant and mode. Either stops working when it
    expires, is revoked (DELETE), is used up (single_use), or its issuing key is revoked."""
    problems = _scope_problems(payload)
    if problems:
        raise ApiError(
            422,
            "invalid_request",
            "say what the link is for",
            [problem(["body", "post_id"], message) for message in problems],
        )
    if payload.post_id is not None:
        # 404 unless the caller's own, in the caller's mode.
        project_id = (await load_post(session, caller, payload.post_id)).project_id
    else:
        project_id = (
            await chosen_project(session=session, caller=caller, project_id=payload.project_id)
        ).id
    links: ReviewLinks = request.app.state.review_links
    life = (
        timedelta(minutes=payload.expires_in_minutes)
        if payload.expires_in_minutes is not None
        else links.default_life
    )
    token = links.new_token()
    link = ReviewLink(
        tenant_id=caller.tenant_id,
        is_test=caller.is_test,
        api_key_id=caller.api_key_id,
        reviewer=payload.reviewer,
        post_id=payload.post_id,
        project_id=project_id,
        token_hash=hash_token(token),
        single_use=payload.single_use,
        expires_at=(utcnow() + life).replace(microsecond=0),
    )
    session.add(link)
    await session.commit()
    await session.refresh(link)
    return Envelope(data=ReviewLinkCreated(**_view(link).model_dump(), url=links.url(token)))


@router.get("", response_model=ListEnvelope[ReviewLinkPublic])
async def list_review_links(
    caller: ViewerDep,
    session: SessionDep,
    post_id: Annotated[str | None, Query(max_length=36, description="links for this post")] = None,
    project_id: Annotated[
        str | None, Query(max_length=36, description="links of this project")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> ListEnvelope[ReviewLinkPublic]:
    """This key's tenant and mode, newest first; never a token (it was shown once)."""
    query = select(ReviewLink, ApiKey).join(ApiKey, col(ApiKey.id) == col(ReviewLink.api_key_id))
    query = query.where(
        ReviewLink.tenant_id == caller.tenant_id, ReviewLink.is_test == caller.is_test
    )
    if post_id is not None:
        query = query.where(ReviewLink.post_id == post_id)
    query = within_projects(query, col(ReviewLink.project_id), caller, project_id)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = (
        await session.exec(
            query.order_by(col(ReviewLink.created_at).desc(), col(ReviewLink.id))
            .limit(limit)
            .offset(offset)
        )
    ).all()
    views = [_view(link, key_revoked=key.revoked_at is not None) for link, key in rows]
    return ListEnvelope(
        data=views, meta=ListMeta(count=len(views), total=total, limit=limit, offset=offset)
    )


@router.delete("/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_review_link(link_id: str, caller: ReviewerDep, session: SessionDep) -> Response:
    """The link stops working at once, and so does every page session it started. Revoking a
    revoked link changes nothing (it stays listed as revoked)."""
    link = await _load(session, caller, link_id)
    now = utcnow()
    if link.revoked_at is None:
        link.revoked_at = now
        session.add(link)
    await end_link_sessions(session, link.id, now)
    await session.commit()
    return Response(status_code=204)
