"""Writing posts: create (idempotently), edit and delete, for crier's routes and the seeds'
contracts alike (api/contracts/): one implementation, whichever API the caller speaks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.deps import Caller
from api.errors import ApiError, problem
from api.idempotency import commit_with_record, replay, request_hash
from api.media_facts import MediaChecker, MediaFacts
from api.post_queries import load_post, targets_of
from api.schemas import Envelope, PostCreate, PostUpdate, TargetCreate
from api.services import plan_rules
from api.services.media_rules import alt_problems, distinct_media_problems, media_problems
from api.services.part_rules import part_media_problems, parts_edit_problems
from api.services.post_rules import (
    approval_floor_problems,
    check_new_targets,
    check_new_targets_media,
    content_problems,
    every_media_url,
    mentions_problems,
    refuse_if_any,
)
from api.services.projects import load_project, one_project_of
from api.services.scheduling import announce
from api.services.steering import cancel_unsent, raise_refusals, steer, update
from api.services.target_edits import TargetEdits
from api.views import post_view
from core.config import Settings
from core.db import utcnow
from core.events import EventType
from core.models import Account, Post, Project, Target, Tenant
from core.post_status import refresh_post_status
from core.status import PENDING_STATUSES, ApprovalState, Platform, TargetMode, TargetStatus
from workflows.publish_target import PublishTargetWorkflow


async def _facts(
    session: AsyncSession, media: MediaChecker, tenant_id: str, urls: Sequence[str]
) -> dict[str, MediaFacts | str]:
    if not urls:
        return {}
    # A fetch may take its whole deadline: the request's database connection goes back to the
    # pool first, so slow media hosts cannot hold every connection. Committing (nothing is
    # written yet) ends the transaction; what was read stays loaded (expire_on_commit=False).
    await session.commit()
    return await media.read(tenant_id, urls)


def fingerprints(facts: dict[str, MediaFacts | str]) -> dict[str, str]:
    """What each checked URL served, to publish only those bytes once approved."""
    return {
        url: found.fingerprint
        for url, found in facts.items()
        if isinstance(found, MediaFacts) and found.fingerprint is not None
    }


async def create_post(
    *,
    session: AsyncSession,
    caller: Caller,
    settings: Settings,
    media: MediaChecker,
    payload: PostCreate,
    idempotency_key: str | None,
) -> tuple[int, dict[str, Any]]:
    """A new post and its targets, every problem named first; the answer's status and body
    (the first answer again for a repeated Idempotency-Key)."""
    digest = request_hash(payload.model_dump_json())
    if idempotency_key is not None:
        earlier = await replay(session, caller.tenant_id, idempotency_key, digest)
        if earlier is not None:
            return earlier.status_code, earlier.response

    media_urls = [str(u) for u in payload.media_urls]
    # Everything that needs no bytes first: a request refused anyway fetches nothing.
    accounts = await check_new_targets(
        session=session,
        caller=caller,
        payload=payload,
        media_urls=media_urls,
        media_cap=settings.media_urls_per_request,
    )
    project = await _post_project(session, caller, payload, accounts)
    await plan_rules.check_new_post(
        session=session,
        tenant_id=caller.tenant_id,
        is_test=caller.is_test,
        platforms={a.platform.value for a in accounts.values()},
    )
    tenant = await session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    if floor := approval_floor_problems(
        tenant_requires=tenant.requires_approval, requested=payload.requires_approval
    ):
        raise ApiError(
            422, "validation_error", "this tenant requires approval for every post", floor
        )
    requires_approval = tenant.requires_approval or bool(payload.requires_approval)
    every_url = every_media_url(payload.targets, media_urls, payload.parts)
    facts = await _facts(session, media, caller.tenant_id, every_url)
    check_new_targets_media(
        accounts=accounts,
        targets=payload.targets,
        media_urls=media_urls,
        facts=facts,
        parts=payload.parts,
    )
    post = Post(
        tenant_id=caller.tenant_id,
        project_id=project.id,
        body=payload.body,
        media_urls=[str(u) for u in payload.media_urls],
        media_alt=payload.media_alt(),
        link=str(payload.link) if payload.link else None,
        parts=[part.stored() for part in payload.parts] or None,
        is_test=caller.is_test,
        created_by=caller.api_key_id,
        requires_approval=requires_approval,
        approval_state=ApprovalState.PENDING if requires_approval else ApprovalState.NOT_REQUIRED,
        approval_deadline=payload.approval_deadline,
        media_fingerprints=fingerprints(facts),
    )
    targets = [
        Target(
            post_id=post.id,
            tenant_id=caller.tenant_id,
            account_id=t.account_id,
            platform=accounts[t.account_id].platform,
            override_body=t.override_body,
            override_media_urls=(
                [str(u) for u in t.override_media_urls]
                if t.override_media_urls is not None
                else None
            ),
            override_media_alt=t.override_alt(),
            options=t.options,
            mode=target_mode(t, accounts[t.account_id].platform, project),
        )
        for t in payload.targets
    ]
    session.add(post)
    await session.flush()  # no ORM relationships, so the post is written before its targets
    session.add_all(targets)
    body = Envelope(data=post_view(post, targets, settings)).model_dump(mode="json")
    winner = await commit_with_record(
        session,
        tenant_id=caller.tenant_id,
        key=idempotency_key,
        digest=digest,
        status_code=201,
        response=body,
    )
    if winner is not None:
        return winner.status_code, winner.response
    return 201, body


def target_mode(target: TargetCreate, platform: Platform, project: Project) -> TargetMode:
    """The mode asked for; unasked, a Facebook target is a draft unless its project opted in
    to auto-publishing (seed 003: "false = create as draft (default)")."""
    if "mode" in target.model_fields_set or platform != Platform.FACEBOOK:
        return target.mode
    return TargetMode.PUBLISH if project.facebook_auto_publish else TargetMode.DRAFT


async def _post_project(
    session: AsyncSession, caller: Caller, payload: PostCreate, accounts: dict[str, Account]
) -> Project:
    """The project named, whose accounts every target must use; unnamed, the one project the
    targets' accounts share."""
    if payload.project_id is None:
        shared = one_project_of(a.project_id for a in accounts.values())
        if shared is None:
            raise ApiError(
                422,
                "validation_error",
                "the targets' accounts are in several projects: a post belongs to one",
                [problem(["body", "project_id"], "name the project, and use its accounts")],
            )
        return await load_project(session=session, caller=caller, project_id=shared)
    project = await load_project(session=session, caller=caller, project_id=payload.project_id)
    outside = [
        problem(["body", "targets", index, "account_id"], "the account is in another project")
        for index, target in enumerate(payload.targets)
        if accounts[target.account_id].project_id != project.id
    ]
    if outside:
        raise ApiError(422, "validation_error", "a post's accounts must be in its project", outside)
    return project


async def _editable(
    session: AsyncSession, caller: Caller, post_id: str, payload: PostUpdate
) -> tuple[Post, list[Target]]:
    """The post and its targets, if the edit still applies to them."""
    post = await load_post(session, caller, post_id)
    if payload.expected_updated_at != post.updated_at:
        raise ApiError(
            409,
            "stale",
            "the post changed since you read it: read it again and reapply your edit",
            [{"loc": ["body", "expected_updated_at"], "msg": f"now {post.updated_at.isoformat()}"}],
        )
    targets = await targets_of(session, post.id)
    moved_on = [t for t in targets if t.status not in PENDING_STATUSES]
    if moved_on:
        raise ApiError(
            409,
            "conflict",
            "a post can be edited only before it publishes",
            [{"loc": ["targets", t.id], "msg": f"the target is {t.status}"} for t in moved_on],
        )
    return post, targets


async def edit_post(
    *,
    session: AsyncSession,
    caller: Caller,
    settings: Settings,
    temporal: Client,
    media_checker: MediaChecker,
    post_id: str,
    payload: PostUpdate,
) -> tuple[Post, list[Target]]:
    """Edit while every target is draft, awaiting approval or scheduled. Editing an approved
    post sends it back for approval."""
    post, targets = await _editable(session, caller, post_id, payload)
    fields = payload.model_fields_set
    body = payload.body if "body" in fields and payload.body is not None else post.body
    media = (
        [str(u) for u in payload.media_urls or []] if "media_urls" in fields else post.media_urls
    )
    # New media bring their own alt text (none, in the plain media_urls form).
    media_alt = payload.media_alt() if "media_urls" in fields else post.media_alt
    link = (str(payload.link) if payload.link else None) if "link" in fields else post.link
    edits = TargetEdits(payload.targets or [], targets)
    problems = edits.problems()
    # Media already accepted is not fetched again: only new media can break the rules.
    new_media = media != post.media_urls
    if new_media:
        problems += distinct_media_problems(
            media, cap=settings.media_urls_per_request, loc=["body", "media_urls"]
        )
    for t in targets:
        own_text, own_media = edits.text(t), edits.media(t)
        loc = edits.loc(t)
        problems += content_problems(
            t.platform,
            text=own_text if own_text is not None else body,
            media_count=len(own_media if own_media is not None else media),
            has_link=link is not None,
            loc=[*loc, "override_body"] if own_text is not None else ["body", "body"],
            media_loc=[*loc, "override_media_urls"] if own_media is not None else None,
        )
        if own_media is None:
            problems += alt_problems(t.platform, media_alt, loc=["body", "media"])
        elif edits.changes_media(t):
            problems += alt_problems(t.platform, edits.alt(t), loc=[*loc, "override_media"])
        if (own_text is None and "body" in fields) or edits.changes_text(t):
            # A new text must still say each @name.
            text_loc: list[str | int] = (
                ["body", "body"] if own_text is None else [*loc, "override_body"]
            )
            problems += mentions_problems(
                t.platform, text=own_text or body, options=t.options, loc=text_loc
            )
    parts = payload.parts if "parts" in fields else None
    if parts is not None:
        problems += await parts_edit_problems(
            session=session, caller=caller, targets=targets, parts=parts
        )
    to_fetch = [
        *(media if new_media else []),
        *(url for t in targets if edits.changes_media(t) for url in edits.media(t) or []),
        *(str(u) for part in parts or [] for u in part.media_urls),
    ]
    # What needs no bytes first: an edit refused anyway fetches nothing.
    refuse_if_any(problems)
    facts: dict[str, MediaFacts | str] = {}
    if to_fetch:
        facts = await _facts(session, media_checker, caller.tenant_id, to_fetch)
        # The connection was let go for the fetch: another edit, or a publish, may have come
        # in meanwhile. Read again (the session kept the old values) and check again.
        session.expire_all()
        post, targets = await _editable(session, caller, post_id, payload)
        refuse_if_any(
            [
                found
                for t in targets
                if edits.media(t) is None and new_media
                for found in media_problems(
                    t.platform, urls=media, facts=facts, loc=["body", "media_urls"]
                )
            ]
            + [
                found
                for t in targets
                if edits.changes_media(t)
                for found in media_problems(
                    t.platform,
                    urls=edits.media(t) or [],
                    facts=facts,
                    loc=[*edits.loc(t), "override_media_urls"],
                )
            ]
            + part_media_problems([t.platform for t in targets], parts or [], facts)
        )

    if post.approval_state == ApprovalState.APPROVED:
        # What was approved is not what will go out any more.
        scheduled = [t for t in targets if t.status == TargetStatus.SCHEDULED]
        sent_back, refused = await steer(
            temporal=temporal,
            targets=scheduled,
            send=update(PublishTargetWorkflow.request_approval),
        )
        raise_refusals(refused, action="send back for approval")
        post.approval_state = ApprovalState.PENDING
        post.reviewed_by = post.review_comment = post.reviewed_at = None
        for target in scheduled:
            await session.refresh(target)
        waiting = [t for t in scheduled if t.id in sent_back]
        if waiting:
            announce(session, post=post, targets=waiting, kind=EventType.APPROVAL_REQUESTED)
    post.body, post.media_urls, post.link = body, media, link
    post.media_alt = media_alt
    if facts:
        post.media_fingerprints = {**post.media_fingerprints, **fingerprints(facts)}
    if "approval_deadline" in fields:
        post.approval_deadline = payload.approval_deadline
    if parts is not None:
        post.parts = [part.stored() for part in parts] or None
    for t in edits.apply(targets):
        session.add(t)
    post.updated_at = utcnow()
    session.add(post)
    await refresh_post_status(session, post.id)
    await session.commit()
    return post, targets


async def delete_post(
    *, session: AsyncSession, caller: Caller, temporal: Client, post_id: str
) -> None:
    """Cancel what has not gone out, then delete. Live posts on the platforms stay live."""
    post = await load_post(session, caller, post_id)
    targets = await targets_of(session, post.id)
    if any(t.status == TargetStatus.PUBLISHING for t in targets):
        raise ApiError(409, "conflict", "a target is publishing right now; try again shortly")
    _, refused = await cancel_unsent(
        session=session, temporal=temporal, post_id=post.id, targets=targets
    )
    raise_refusals(refused, action="cancel")
    post.deleted_at = utcnow()
    session.add(post)
    await refresh_post_status(session, post.id)
    await session.commit()
