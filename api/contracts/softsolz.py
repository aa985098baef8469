"""Seed 004, the SoftSolz Social Publishing API, served as its page shows it
(docs/coming-from/softsolz.md): the same calls under `/api/v1/services/social`, a thin layer over
crier's own routes.

Each call here hands its request to the service function crier's own route calls
(api/services/) and only reshapes the answer: accounts under `data.accounts` (active ones),
and each target's status in the seed's five words (`pending`, `publishing`, `published`,
`failed`, `dead`) with crier's own word beside it in `crier_status`. Nothing is decided here
that crier's API decides otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from api.deps import (
    IdempotencyKey,
    ManagerDep,
    MediaCheckerDep,
    PublisherDep,
    SessionDep,
    SettingsDep,
    TemporalDep,
    ViewerDep,
)
from api.post_queries import accounts_of, load_post, page_of_posts, targets_of
from api.schemas import ListMeta, PostCreate, PostUpdate, PublishRequest
from api.services import deliveries, post_writes
from api.views import account_view, post_now, post_view, target_view
from core.status import AccountStatus, TargetStatus

PREFIX = "/api/v1/services/social"
router = APIRouter(prefix=PREFIX, tags=["seed 004: SoftSolz"])

# crier's target (and post) words in the seed's five. A post or target that needs no more
# work from crier and did not go out is `failed`; `dead` is the seed's dead letter (retries
# ran out). `unconfirmed` (the answer was lost) stays `publishing`: a caller that treated it
# as failed and posted again could post twice.
SEED_STATUS: dict[str, str] = {
    TargetStatus.DRAFT: "pending",
    TargetStatus.AWAITING_APPROVAL: "pending",
    TargetStatus.SCHEDULED: "pending",
    TargetStatus.READY_FOR_MANUAL: "pending",
    TargetStatus.PUBLISHING: "publishing",
    TargetStatus.UNCONFIRMED: "publishing",
    TargetStatus.PUBLISHED: "published",
    TargetStatus.DRAFTED: "published",
    TargetStatus.PARTIALLY_PUBLISHED: "published",
    TargetStatus.FAILED: "failed",
    TargetStatus.REJECTED: "failed",
    TargetStatus.EXPIRED: "failed",
    TargetStatus.MISSED: "failed",
    TargetStatus.CANCELLED: "failed",
    TargetStatus.DEAD: "dead",
    "mixed": "failed",  # a post's word: every target ended, none went out the same way
}
SEED_STATUSES = ("pending", "publishing", "published", "failed", "dead")


def seed_status(crier_status: str) -> str:
    return SEED_STATUS[crier_status]


def _worded(row: dict[str, Any]) -> dict[str, Any]:
    """A post or target with its status in the seed's words, crier's beside it."""
    return {**row, "status": seed_status(row["status"]), "crier_status": row["status"]}


def _post(post: dict[str, Any]) -> dict[str, Any]:
    return {**_worded(post), "targets": [_worded(t) for t in post["targets"]]}


def _answer(body: dict[str, Any], *, code: int = 200) -> JSONResponse:
    """crier's answer with its post reshaped."""
    if isinstance(body.get("data"), dict) and "targets" in body["data"]:
        body = {**body, "data": _post(body["data"])}
    return JSONResponse(body, status_code=code)


@router.get("/accounts")
async def list_accounts(caller: ViewerDep, session: SessionDep) -> JSONResponse:
    """The active accounts a post may target (`data.accounts`)."""
    active = [
        account_view(a).model_dump(mode="json")
        for a in await accounts_of(session, caller)
        if a.status == AccountStatus.ACTIVE
    ]
    return JSONResponse({"data": {"accounts": active}})


@router.post("/posts", status_code=status.HTTP_201_CREATED)
async def create_post(
    payload: PostCreate,
    caller: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    media: MediaCheckerDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A draft post, one target per account; an `Idempotency-Key` makes retries safe."""
    code, body = await post_writes.create_post(
        session=session,
        caller=caller,
        settings=settings,
        media=media,
        payload=payload,
        idempotency_key=idempotency_key,
    )
    return _answer(body, code=code)


@router.get("/posts")
async def list_posts(
    caller: ViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    status_filter: Annotated[
        str | None, Query(alias="status", pattern=f"^({'|'.join(SEED_STATUSES)})$")
    ] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> JSONResponse:
    """The seed's status filter matches every crier word that maps onto it."""
    words = [w for w, seed in SEED_STATUS.items() if seed == status_filter]
    page, total = await page_of_posts(
        session,
        caller,
        statuses=words if status_filter else None,
        search=search,
        limit=limit,
        offset=offset,
    )
    views = [post_view(p, await targets_of(session, p.id), settings) for p in page]
    meta = ListMeta(count=len(views), total=total, limit=limit, offset=offset)
    return JSONResponse(
        {"data": [_post(v.model_dump(mode="json")) for v in views], "meta": meta.model_dump()}
    )


@router.get("/posts/{post_id}")
async def get_post(
    post_id: str, caller: ViewerDep, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    post = await load_post(session, caller, post_id)
    view = post_view(post, await targets_of(session, post.id), settings)
    return _answer({"data": view.model_dump(mode="json")})


@router.get("/posts/{post_id}/targets")
async def list_targets(
    post_id: str, caller: ViewerDep, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    """One row per account: its status in the seed's words, the external post id once
    published, and the last error if any."""
    post = await load_post(session, caller, post_id)
    targets = await targets_of(session, post.id)
    rows = [_worded(target_view(t, settings).model_dump(mode="json")) for t in targets]
    return JSONResponse({"data": rows, "meta": {"count": len(rows)}})


class SeedPostUpdate(PostUpdate):
    """The seed's PATCH: crier's, with `expected_updated_at` optional. Without it the edit
    applies to the post as it is now, as the seed allows."""

    # Optional here only: crier's own PATCH requires it (a subclass may widen what it takes).
    expected_updated_at: AwareDatetime | None = None  # type: ignore[assignment]


@router.patch("/posts/{post_id}")
async def edit_post(
    post_id: str,
    payload: SeedPostUpdate,
    caller: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    media_checker: MediaCheckerDep,
) -> JSONResponse:
    """Draft and scheduled posts, their targets too (`targets: [{account_id,
    override_body}]`); 409 when `expected_updated_at` is stale or the post is publishing or
    sent."""
    if payload.expected_updated_at is None:
        current = await load_post(session, caller, post_id)
        payload.expected_updated_at = current.updated_at
    post, targets = await post_writes.edit_post(
        session=session,
        caller=caller,
        settings=settings,
        temporal=temporal,
        media_checker=media_checker,
        post_id=post_id,
        payload=payload,
    )
    return _answer({"data": post_view(post, targets, settings).model_dump(mode="json")})


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_post(
    post_id: str, caller: ManagerDep, session: SessionDep, temporal: TemporalDep
) -> Response:
    """204; what is live on a platform stays live."""
    await post_writes.delete_post(
        session=session, caller=caller, temporal=temporal, post_id=post_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/posts/{post_id}/publish", status_code=status.HTTP_202_ACCEPTED)
async def publish_post(
    post_id: str,
    payload: PublishRequest,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> JSONResponse:
    """`{}` publishes now; `{"scheduled_for": "<RFC 3339>"}` schedules."""
    steered = await deliveries.publish_post(
        session=session,
        temporal=temporal,
        settings=settings,
        caller=caller,
        post_id=post_id,
        when=payload.scheduled_for,
        publish_if_late=payload.publish_if_late,
        if_late=payload.if_late,
    )
    view = await post_now(session, settings, steered.post, steered.live)
    return _answer({"data": view.model_dump(mode="json")}, code=status.HTTP_202_ACCEPTED)
