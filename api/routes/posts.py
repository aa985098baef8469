"""Posts: create (idempotently), list, read, edit, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from api.deps import (
    IdempotencyKey,
    ManagerDep,
    MediaCheckerDep,
    SessionDep,
    SettingsDep,
    TemporalDep,
    ViewerDep,
)
from api.post_queries import load_post, page_of_posts, targets_of
from api.schemas import (
    Envelope,
    ListEnvelope,
    ListMeta,
    PostCreate,
    PostPublic,
    PostUpdate,
    TargetPublic,
)
from api.services import post_writes
from api.views import post_view, target_view

router = APIRouter(prefix="/v1/posts", tags=["posts"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[PostPublic])
async def create_post(
    payload: PostCreate,
    caller: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    media: MediaCheckerDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    code, body = await post_writes.create_post(
        session=session,
        caller=caller,
        settings=settings,
        media=media,
        payload=payload,
        idempotency_key=idempotency_key,
    )
    return JSONResponse(body, status_code=code)


@router.get("", response_model=ListEnvelope[PostPublic])
async def list_posts(
    caller: ViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    status_filter: Annotated[
        str | None, Query(alias="status", description="the post's aggregate status")
    ] = None,
    search: Annotated[str | None, Query(max_length=200, description="text in the body")] = None,
    project_id: Annotated[
        str | None,
        Query(max_length=36, description="this project's posts; one the key does not reach: none"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    # Bounded: a database integer is 64-bit, and no tenant has 2^31 posts to skip.
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> ListEnvelope[PostPublic]:
    page, total = await page_of_posts(
        session,
        caller,
        statuses=[status_filter] if status_filter else None,
        search=search,
        limit=limit,
        offset=offset,
        project_id=project_id,
    )
    views = [post_view(p, await targets_of(session, p.id), settings) for p in page]
    return ListEnvelope(
        data=views, meta=ListMeta(count=len(views), total=total, limit=limit, offset=offset)
    )


@router.get("/{post_id}", response_model=Envelope[PostPublic])
async def get_post(
    post_id: str, caller: ViewerDep, session: SessionDep, settings: SettingsDep
) -> Envelope[PostPublic]:
    post = await load_post(session, caller, post_id)
    return Envelope(data=post_view(post, await targets_of(session, post.id), settings))


@router.get("/{post_id}/targets", response_model=ListEnvelope[TargetPublic])
async def list_targets(
    post_id: str, caller: ViewerDep, session: SessionDep, settings: SettingsDep
) -> ListEnvelope[TargetPublic]:
    post = await load_post(session, caller, post_id)
    targets = await targets_of(session, post.id)
    return ListEnvelope(
        data=[target_view(t, settings) for t in targets], meta=ListMeta(count=len(targets))
    )


@router.patch("/{post_id}", response_model=Envelope[PostPublic])
async def edit_post(
    post_id: str,
    payload: PostUpdate,
    caller: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    media_checker: MediaCheckerDep,
) -> Envelope[PostPublic]:
    """Edit while every target is draft, awaiting approval or scheduled. Editing an approved
    post sends it back for approval."""
    post, targets = await post_writes.edit_post(
        session=session,
        caller=caller,
        settings=settings,
        temporal=temporal,
        media_checker=media_checker,
        post_id=post_id,
        payload=payload,
    )
    return Envelope(data=post_view(post, targets, settings))


@router.delete("/{post_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_post(
    post_id: str, caller: ManagerDep, session: SessionDep, temporal: TemporalDep
) -> Response:
    """Cancel what has not gone out, then delete. Live posts on the platforms stay live."""
    await post_writes.delete_post(
        session=session, caller=caller, temporal=temporal, post_id=post_id
    )
    return Response(status_code=204)
