"""Checking a post against its accounts and each platform's rules, naming every problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError, problem
from api.schemas import TargetCreate
from core.models import Account
from core.status import AccountStatus, Platform
from providers.registry import PROVIDERS, rules_for


def content_problems(
    platform: Platform,
    text: str,
    *,
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


def refuse_if_any(problems: Sequence[dict[str, Any]]) -> None:
    if problems:
        raise ApiError(
            422, "invalid_request", f"{len(problems)} problem(s) in the request", list(problems)
        )


async def check_new_targets(
    session: AsyncSession,
    caller: Caller,
    targets: Sequence[TargetCreate],
    *,
    body: str,
    media_count: int,
    has_link: bool,
) -> dict[str, Account]:
    """Every target's account and content, checked at once; the accounts by id."""
    ids = [t.account_id for t in targets]
    found = await session.exec(
        select(Account).where(Account.tenant_id == caller.tenant_id, col(Account.id).in_(ids))
    )
    accounts = {a.id: a for a in found.all()}
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, target in enumerate(targets):
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
        overridden = target.override_body is not None
        own_media = target.override_media_urls
        problems += content_problems(
            account.platform,
            target.override_body if target.override_body is not None else body,
            media_count=len(own_media) if own_media is not None else media_count,
            has_link=has_link,
            loc=[*loc, "override_body" if overridden else "body"],
            media_loc=[*loc, "override_media_urls"] if own_media is not None else None,
        )
    refuse_if_any(problems)
    return accounts
