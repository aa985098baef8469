"""Checking a post against its accounts and each platform's rules, naming every problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError, problem
from api.media_facts import MediaFacts
from api.schemas import PartIn, PostCreate, TargetCreate
from api.services.media_rules import (
    alt_problems,
    distinct_media_problems,
    media_problems,
)
from api.services.part_rules import part_media_problems, parts_problems
from core.models import Account, Tenant
from core.status import AccountStatus, Platform
from providers.linkedin_mentions import mention_problems
from providers.options import options_problems as platform_options_problems
from providers.options.instagram import InstagramOptions
from providers.options.instagram import media_problems as instagram_media_problems
from providers.registry import PROVIDERS, rules_for


def content_problems(
    platform: Platform,
    *,
    text: str,
    media_count: int,
    has_link: bool,
    loc: list[str | int],
    media_loc: list[str | int] | None = None,
) -> list[dict[str, Any]]:
    rules = rules_for(platform)
    found = []
    length = rules.text_length(text)
    if length > rules.max_text_length:
        found.append(
            problem(
                loc,
                f"{length} {rules.unit}; {platform} allows at most {rules.max_text_length}",
            )
        )
    if media_count > rules.max_media:
        found.append(
            problem(
                media_loc or ["body", "media_urls"],
                f"{media_count} media; {platform} allows at most {rules.max_media}",
            )
        )
    if rules.requires_media and not media_count:
        found.append(
            problem(["body", "media_urls"], f"{platform} needs at least one image or video")
        )
    if rules.requires_text_or_media and not (text or media_count or has_link):
        found.append(problem(loc, "a post needs text, media or a link"))
    return found


def mentions_problems(
    platform: Platform,
    *,
    text: str,
    options: Mapping[str, Any],
    loc: list[str | int],
    options_loc: list[str | int] | None = None,
) -> list[dict[str, Any]]:
    """LinkedIn's mentions (providers/linkedin_mentions.py): each problem at the text (`loc`)
    or at its place in the options (`options_loc`, else the text too)."""
    if platform != Platform.LINKEDIN:
        return []
    return [
        problem(
            loc if where == ("text",) or options_loc is None else [*options_loc, *where],
            f"{platform}: {what}",
        )
        for where, what in mention_problems(text, options)
    ]


def refuse_if_any(problems: Sequence[dict[str, Any]]) -> None:
    if problems:
        raise ApiError(
            422, "invalid_request", f"{len(problems)} problem(s) in the request", list(problems)
        )


@dataclass
class NewTarget:
    """One target of a create body, checked: its account if one may be posted to (its
    platform then known), and every problem found with it."""

    account: Account | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


def options_problems(
    platform: Platform, options: Mapping[str, Any], *, loc: list[str | int]
) -> list[dict[str, Any]]:
    """A target's options against its platform's model, each problem at its key."""
    return [
        problem([*loc, *where], message)
        for where, message in platform_options_problems(platform, options)
    ]


async def new_target_checks(
    *,
    session: AsyncSession,
    caller: Caller,
    targets: Sequence[TargetCreate],
    body: str,
    media_urls: Sequence[str],
    has_link: bool,
    media_alt: Sequence[str | None] | None = None,
    parts: Sequence[PartIn] = (),
) -> list[NewTarget]:
    """Each target's account, content and options, in the order given, without their media
    (which needs fetching: new_target_media_problems)."""
    ids = [t.account_id for t in targets]
    found = await session.exec(
        select(Account).where(Account.tenant_id == caller.tenant_id, col(Account.id).in_(ids))
    )
    accounts = {a.id: a for a in found.all()}
    routed: frozenset[str] = frozenset()
    if parts:
        tenant = await session.get(Tenant, caller.tenant_id)
        assert tenant is not None
        routed = frozenset(tenant.routed_platforms(sandbox=caller.is_test))
    checks: list[NewTarget] = []
    seen: set[str] = set()
    for index, target in enumerate(targets):
        check = NewTarget()
        checks.append(check)
        loc: list[str | int] = ["body", "targets", index]
        account = accounts.get(target.account_id)
        if target.account_id in seen:
            check.problems.append(problem([*loc, "account_id"], "this account is already a target"))
            continue
        seen.add(target.account_id)
        if account is None or not caller.reaches(account.project_id):
            check.problems.append(problem([*loc, "account_id"], "no such account"))
            continue
        if account.is_sandbox != caller.is_test:
            kind = "a sandbox key" if caller.is_test else "a live key"
            check.problems.append(
                problem([*loc, "account_id"], f"{kind} cannot post to this account")
            )
            continue
        if account.status != AccountStatus.ACTIVE:
            check.problems.append(problem([*loc, "account_id"], f"the account is {account.status}"))
        if account.platform not in PROVIDERS:
            check.problems.append(
                problem([*loc, "account_id"], f"{account.platform} is not supported yet")
            )
            continue
        check.account = account
        overridden = target.override_body is not None
        media, media_loc = _target_media(index, target, media_urls)
        check.problems += content_problems(
            account.platform,
            text=target.override_body if target.override_body is not None else body,
            media_count=len(media),
            has_link=has_link,
            loc=[*loc, "override_body" if overridden else "body"],
            media_loc=media_loc if target.override_media_urls is not None else None,
        )
        if target.override_media_urls is None:  # the post's media, with its alt text
            check.problems += alt_problems(account.platform, media_alt, loc=["body", "media"])
        else:
            own = [*loc, "override_media"]
            check.problems += alt_problems(account.platform, target.override_alt(), loc=own)
        check.problems += options_problems(account.platform, target.options, loc=[*loc, "options"])
        if account.platform == Platform.INSTAGRAM:  # the post type the media can make
            check.problems += [
                problem([*loc, "options", *key], message)
                for key, message in instagram_media_problems(
                    cast(InstagramOptions, target.options), list(media)
                )
            ]
        check.problems += parts_problems(
            account.platform,
            target.mode,
            parts,
            loc=loc,
            routed=account.platform.value in routed,
            options=target.options,
        )
        mentions = mentions_problems(
            account.platform,
            text=target.override_body if target.override_body is not None else body,
            options=target.options,
            loc=[*loc, "override_body" if overridden else "body"],
            options_loc=[*loc, "options"],
        )
        # Where the options model objects too, the mention check's words name the value.
        named = {tuple(p["loc"]) for p in mentions if p["loc"][: len(loc) + 1] == [*loc, "options"]}
        check.problems = [p for p in check.problems if tuple(p["loc"]) not in named] + mentions
    return checks


async def new_post_checks(
    *, session: AsyncSession, caller: Caller, payload: PostCreate, media_urls: Sequence[str]
) -> list[NewTarget]:
    """new_target_checks for a create body: create and its dry run check it alike."""
    return await new_target_checks(
        session=session,
        caller=caller,
        targets=payload.targets,
        body=payload.body,
        media_urls=media_urls,
        has_link=payload.link is not None,
        media_alt=payload.media_alt(),
        parts=payload.parts,
    )


async def check_new_targets(
    *,
    session: AsyncSession,
    caller: Caller,
    payload: PostCreate,
    media_urls: Sequence[str],
    media_cap: int,
) -> dict[str, Account]:
    """Every target's account, content and options, and the count of distinct media URLs
    (each is one fetch), checked at once before any media is fetched: a request that could
    not be accepted anyway costs no fetch. The accounts by id."""
    checks = await new_post_checks(
        session=session, caller=caller, payload=payload, media_urls=media_urls
    )
    problems = distinct_media_problems(
        every_media_url(payload.targets, media_urls, payload.parts), cap=media_cap, loc=["body"]
    )
    refuse_if_any(problems + [found for check in checks for found in check.problems])
    return {check.account.id: check.account for check in checks if check.account is not None}


def every_media_url(
    targets: Sequence[TargetCreate], media_urls: Sequence[str], parts: Sequence[PartIn] = ()
) -> list[str]:
    """The post's media, each target's own and each part's, as named (each distinct URL is
    one fetch)."""
    return [
        *media_urls,
        *(str(u) for t in targets for u in t.override_media_urls or []),
        *(str(u) for part in parts for u in part.media_urls),
    ]


def approval_floor_problems(
    *, tenant_requires: bool, requested: bool | None
) -> list[dict[str, Any]]:
    """The tenant's policy is a floor: a post may ask for approval, never skip the tenant's."""
    if tenant_requires and requested is False:
        return [
            problem(
                ["body", "requires_approval"],
                "the tenant requires approval; leave it out or send true",
            )
        ]
    return []


def _target_media(
    index: int, target: TargetCreate, media_urls: Sequence[str]
) -> tuple[list[str], list[str | int]]:
    """A new target's media (its own, or the post's) and where the request named them."""
    own_media = target.override_media_urls
    if own_media is None:
        return list(media_urls), ["body", "media_urls"]
    return [str(u) for u in own_media], ["body", "targets", index, "override_media_urls"]


def new_target_media_problems(
    *,
    index: int,
    target: TargetCreate,
    platform: Platform,
    media_urls: Sequence[str],
    facts: Mapping[str, MediaFacts | str],
) -> list[dict[str, Any]]:
    """One new target's media (its own, or the post's) against its platform's media rules."""
    media, media_loc = _target_media(index, target, media_urls)
    return media_problems(platform, urls=media, facts=facts, loc=media_loc)


def check_new_targets_media(
    *,
    accounts: Mapping[str, Account],
    targets: Sequence[TargetCreate],
    media_urls: Sequence[str],
    facts: Mapping[str, MediaFacts | str],
    parts: Sequence[PartIn] = (),
) -> None:
    """Every new target's media and its parts' against its platform's media rules, once
    fetched; the targets themselves were checked by check_new_targets."""
    platforms = [accounts[target.account_id].platform for target in targets]
    refuse_if_any(
        [
            found
            for index, (target, platform) in enumerate(zip(targets, platforms, strict=True))
            for found in new_target_media_problems(
                index=index, target=target, platform=platform, media_urls=media_urls, facts=facts
            )
        ]
        + part_media_problems(platforms, parts, facts)
    )
