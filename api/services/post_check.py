"""The dry run: a create body checked as create checks it, with each target's preview, and
nothing stored or started."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ErrorDetail
from api.media_facts import MediaChecker, MediaFacts
from api.preview import target_preview
from api.schemas import PostCheck, PostCreate, TargetCheck
from api.services.media_rules import distinct_media_problems
from api.services.part_rules import part_media_problems
from api.services.post_rules import (
    approval_floor_problems,
    every_media_url,
    new_post_checks,
    new_target_media_problems,
)
from core.models import Tenant


async def check_post(
    *,
    session: AsyncSession,
    caller: Caller,
    media: MediaChecker,
    payload: PostCreate,
    media_cap: int,
) -> PostCheck:
    """Every problem create would name, per target, and what each target would send."""
    media_urls = [str(u) for u in payload.media_urls]
    checks = await new_post_checks(
        session=session, caller=caller, payload=payload, media_urls=media_urls
    )
    tenant = await session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    every_url = every_media_url(payload.targets, media_urls, payload.parts)
    problems = distinct_media_problems(every_url, cap=media_cap, loc=["body"])
    problems += approval_floor_problems(
        tenant_requires=tenant.requires_approval, requested=payload.requires_approval
    )
    facts: dict[str, MediaFacts | str] = {}
    if every_url and not problems:  # past the cap, nothing is fetched, as in create
        # The fetches may take their whole deadline: the connection goes back to the pool
        # first (nothing was written; what was read stays loaded).
        await session.commit()
        facts = await media.read(caller.tenant_id, every_url)
    link = str(payload.link) if payload.link else None
    targets = []
    for index, (target, check) in enumerate(zip(payload.targets, checks, strict=True)):
        account = check.account
        found = list(check.problems)
        preview = None
        if account is not None:
            found += new_target_media_problems(
                index=index,
                target=target,
                platform=account.platform,
                media_urls=media_urls,
                facts=facts,
            )
            found += part_media_problems([account.platform], payload.parts, facts)
            own_media = target.override_media_urls
            preview = target_preview(
                account.platform,
                text=target.override_body if target.override_body is not None else payload.body,
                media_urls=media_urls if own_media is None else [str(u) for u in own_media],
                link=link,
                options=target.options,
                mode=target.mode,
                parts=[(part.body, [str(u) for u in part.media_urls]) for part in payload.parts],
            )
        targets.append(
            TargetCheck(
                account_id=target.account_id,
                platform=account.platform if account is not None else None,
                problems=[ErrorDetail.model_validate(p) for p in found],
                preview=preview,
            )
        )
    return PostCheck(
        valid=not problems and not any(t.problems for t in targets),
        problems=[ErrorDetail.model_validate(p) for p in problems],
        targets=targets,
    )
