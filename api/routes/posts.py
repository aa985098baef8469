from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import (
    Caller,
    ManagerDep,
    PublisherDep,
    SessionDep,
    SettingsDep,
    TemporalDep,
    ViewerDep,
)
from api.errors import ApiError, problem
from api.scheduling import schedule_targets
from api.schemas import (
    Envelope,
    ListEnvelope,
    ListMeta,
    PostCreate,
    PostPublic,
    PublishRequest,
    TargetPublic,
)
from api.views import post_view, target_view
from core.db import utcnow
from core.models import Account, Post, Target
from core.status import AccountStatus, TargetStatus
from providers.registry import PROVIDERS, rules_for

router = APIRouter(prefix="/v1/posts", tags=["posts"])

# A "now" sent by a caller whose clock runs a little behind is still now.
PAST_TOLERANCE = timedelta(seconds=5)


async def _load_post(session: AsyncSession, caller: Caller, post_id: str) -> Post:
    post = await session.get(Post, post_id)
    if post is None or post.tenant_id != caller.tenant_id:
        raise ApiError(404, "not_found", f"no post {post_id}")
    return post


async def _targets_of(session: AsyncSession, post_id: str) -> list[Target]:
    rows = await session.exec(
        select(Target).where(Target.post_id == post_id).order_by(col(Target.created_at))
    )
    return list(rows.all())


async def _validate_targets(
    session: AsyncSession, caller: Caller, payload: PostCreate
) -> dict[str, Account]:
    """Check every target against its account and its platform's rules; list every problem."""
    ids = [t.account_id for t in payload.targets]
    found = await session.exec(
        select(Account).where(Account.tenant_id == caller.tenant_id, col(Account.id).in_(ids))
    )
    accounts = {a.id: a for a in found.all()}
    problems = []
    seen: set[str] = set()
    for index, target in enumerate(payload.targets):
        loc: list[str | int] = ["body", "targets", index]
        account = accounts.get(target.account_id)
        if target.account_id in seen:
            problems.append(problem([*loc, "account_id"], "this account is already a target"))
            continue
        seen.add(target.account_id)
        if account is None:
            problems.append(problem([*loc, "account_id"], "no such account"))
            continue
        if account.is_sandbox != caller.is_test:
            kind = "a sandbox key" if caller.is_test else "a live key"
            problems.append(problem([*loc, "account_id"], f"{kind} cannot post to this account"))
            continue
        if account.status != AccountStatus.ACTIVE:
            problems.append(problem([*loc, "account_id"], f"the account is {account.status}"))
        if account.platform not in PROVIDERS:
            problems.append(
                problem([*loc, "account_id"], f"{account.platform} is not supported yet")
            )
            continue
        rules = rules_for(account.platform)
        text = target.override_body if target.override_body is not None else payload.body
        field = "override_body" if target.override_body is not None else "body"
        if len(text) > rules.max_text_length:
            problems.append(
                problem(
                    [*loc, field],
                    f"{len(text)} characters; {account.platform} allows at most "
                    f"{rules.max_text_length}",
                )
            )
        if len(payload.media_urls) > rules.max_media:
            problems.append(
                problem(
                    ["body", "media_urls"],
                    f"{len(payload.media_urls)} media; {account.platform} allows at most "
                    f"{rules.max_media}",
                )
            )
        if rules.requires_text_or_media and not (text or payload.media_urls or payload.link):
            problems.append(problem([*loc, field], "a post needs text, media or a link"))
    if problems:
        raise ApiError(
            422, "invalid_request", f"{len(problems)} problem(s) in the request", problems
        )
    return accounts


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[PostPublic])
async def create_post(
    payload: PostCreate, caller: ManagerDep, session: SessionDep, settings: SettingsDep
) -> Envelope[PostPublic]:
    accounts = await _validate_targets(session, caller, payload)
    post = Post(
        tenant_id=caller.tenant_id,
        body=payload.body,
        media_urls=[str(u) for u in payload.media_urls],
        link=str(payload.link) if payload.link else None,
        is_test=caller.is_test,
        created_by=caller.api_key_id,
    )
    targets = [
        Target(
            post_id=post.id,
            tenant_id=caller.tenant_id,
            account_id=t.account_id,
            platform=accounts[t.account_id].platform,
            override_body=t.override_body,
        )
        for t in payload.targets
    ]
    session.add(post)
    await session.flush()  # no ORM relationships, so the post is written before its targets
    session.add_all(targets)
    await session.commit()
    return Envelope(data=post_view(post, targets, settings))


@router.get("/{post_id}", response_model=Envelope[PostPublic])
async def get_post(
    post_id: str, caller: ViewerDep, session: SessionDep, settings: SettingsDep
) -> Envelope[PostPublic]:
    post = await _load_post(session, caller, post_id)
    return Envelope(data=post_view(post, await _targets_of(session, post.id), settings))


@router.get("/{post_id}/targets", response_model=ListEnvelope[TargetPublic])
async def list_targets(
    post_id: str, caller: ViewerDep, session: SessionDep, settings: SettingsDep
) -> ListEnvelope[TargetPublic]:
    post = await _load_post(session, caller, post_id)
    targets = await _targets_of(session, post.id)
    return ListEnvelope(
        data=[target_view(t, settings) for t in targets], meta=ListMeta(count=len(targets))
    )


@router.post(
    "/{post_id}/publish", status_code=status.HTTP_202_ACCEPTED, response_model=Envelope[PostPublic]
)
async def publish_post(
    post_id: str,
    payload: PublishRequest,
    caller: PublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Envelope[PostPublic]:
    """`{}` publishes now; `{"scheduled_for": "<RFC 3339 with offset>"}` schedules."""
    post = await _load_post(session, caller, post_id)
    now = utcnow()
    due = payload.scheduled_for or now
    if payload.scheduled_for is not None and due < now - PAST_TOLERANCE:
        raise ApiError(
            422,
            "invalid_request",
            "scheduled_for is in the past",
            [problem(["body", "scheduled_for"], "is in the past; omit it to publish now")],
        )
    targets = await _targets_of(session, post.id)
    drafts = [t for t in targets if t.status == TargetStatus.DRAFT]
    if not drafts:
        states = ", ".join(sorted({t.status for t in targets}))
        raise ApiError(409, "conflict", f"no target is waiting to be published (targets: {states})")

    await schedule_targets(session, temporal, settings, post, drafts, due=payload.scheduled_for)
    return Envelope(data=post_view(post, targets, settings))
