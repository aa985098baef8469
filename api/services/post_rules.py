"""Checking a post against its accounts and each platform's rules, naming every problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError, problem
from api.media_facts import MediaFacts
from api.schemas import TargetCreate
from core.models import Account
from core.status import AccountStatus, Platform
from providers.base import MediaRules
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


def _bounds(low: float | None, high: float | None, shown: str = "{}", unit: str = "") -> str:
    if low is not None and high is not None:
        return f"{shown.format(low)} to {shown.format(high)}{unit}"
    if low is not None:
        return f"at least {shown.format(low)}{unit}"
    return f"at most {shown.format(high)}{unit}"


def _outside(value: float, low: float | None, high: float | None) -> bool:
    return (low is not None and value < low) or (high is not None and value > high)


def _rule_breaks(rules: MediaRules, facts: MediaFacts) -> list[str]:
    if facts.kind == "video":
        if rules.video_allowed:
            return []
        return [f"a video ({facts.content_type or 'unknown type'}); allowed images only"]
    if not rules.images_allowed:
        return [f"a {facts.format} image; allowed video only"]
    breaks = []
    if rules.image_formats is not None and facts.format not in rules.image_formats:
        breaks.append(f"{facts.format} image; allowed {', '.join(sorted(rules.image_formats))}")
    if _outside(facts.size or 0, rules.min_image_bytes, rules.max_image_bytes):
        allowed = _bounds(rules.min_image_bytes, rules.max_image_bytes, "{:,}", " bytes")
        breaks.append(f"image of {facts.size:,} bytes; allowed {allowed}")
    width, height = facts.width or 0, facts.height or 0
    if _outside(width, rules.min_width, rules.max_width):
        breaks.append(
            f"width {width} px; allowed {_bounds(rules.min_width, rules.max_width, unit=' px')}"
        )
    if height and _outside(width / height, rules.min_aspect, rules.max_aspect):
        allowed = _bounds(rules.min_aspect, rules.max_aspect, "{:.2f}")
        breaks.append(
            f"aspect ratio {width / height:.2f} ({width}\u00d7{height}); allowed {allowed}"
        )
    return breaks


def media_problems(
    platform: Platform,
    *,
    urls: Sequence[str],
    facts: Mapping[str, MediaFacts | str],
    loc: list[str | int],
) -> list[dict[str, Any]]:
    """One target's media against its platform's media rules, each problem at its URL."""
    rules = rules_for(platform).media
    found = []
    for index, url in enumerate(urls):
        fetched = facts.get(url)
        if fetched is None:  # not fetched: this request leaves that media as it was
            continue
        if isinstance(fetched, str):
            found.append(problem([*loc, index], f"{platform}: {fetched}"))
        elif rules is not None:
            found += [
                problem([*loc, index], f"{platform}: {b}") for b in _rule_breaks(rules, fetched)
            ]
    if rules is not None and rules.video_alone and len(urls) > 1:
        for index, url in enumerate(urls):
            fetched = facts.get(url)
            if isinstance(fetched, MediaFacts) and (
                fetched.kind == "video" or fetched.format == "GIF"
            ):
                found.append(
                    problem(
                        [*loc, index],
                        f"{platform}: a video or GIF must be the only media; this has {len(urls)}",
                    )
                )
    return found


def refuse_if_any(problems: Sequence[dict[str, Any]]) -> None:
    if problems:
        raise ApiError(
            422, "invalid_request", f"{len(problems)} problem(s) in the request", list(problems)
        )


async def check_new_targets(
    *,
    session: AsyncSession,
    caller: Caller,
    targets: Sequence[TargetCreate],
    body: str,
    media_urls: Sequence[str],
    has_link: bool,
    media_cap: int,
) -> dict[str, Account]:
    """Every target's account and content, and the count of distinct media URLs (each is one
    fetch), checked at once before any media is fetched: a request that could not be accepted
    anyway costs no fetch. The accounts by id."""
    ids = [t.account_id for t in targets]
    found = await session.exec(
        select(Account).where(Account.tenant_id == caller.tenant_id, col(Account.id).in_(ids))
    )
    accounts = {a.id: a for a in found.all()}
    every_url = [*media_urls, *(str(u) for t in targets for u in t.override_media_urls or [])]
    problems = distinct_media_problems(every_url, cap=media_cap, loc=["body"])
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
        media, media_loc = _target_media(index, target, media_urls)
        problems += content_problems(
            account.platform,
            text=target.override_body if target.override_body is not None else body,
            media_count=len(media),
            has_link=has_link,
            loc=[*loc, "override_body" if overridden else "body"],
            media_loc=media_loc if target.override_media_urls is not None else None,
        )
    refuse_if_any(problems)
    return accounts


def _target_media(
    index: int, target: TargetCreate, media_urls: Sequence[str]
) -> tuple[list[str], list[str | int]]:
    """A new target's media (its own, or the post's) and where the request named them."""
    own_media = target.override_media_urls
    if own_media is None:
        return list(media_urls), ["body", "media_urls"]
    return [str(u) for u in own_media], ["body", "targets", index, "override_media_urls"]


def check_new_targets_media(
    *,
    accounts: Mapping[str, Account],
    targets: Sequence[TargetCreate],
    media_urls: Sequence[str],
    facts: Mapping[str, MediaFacts | str],
) -> None:
    """Every new target's media against its platform's media rules, once fetched; the targets
    themselves were checked by check_new_targets."""
    problems: list[dict[str, Any]] = []
    for index, target in enumerate(targets):
        media, media_loc = _target_media(index, target, media_urls)
        platform = accounts[target.account_id].platform
        problems += media_problems(platform, urls=media, facts=facts, loc=media_loc)
    refuse_if_any(problems)


def distinct_media_problems(
    urls: Sequence[str], *, cap: int, loc: list[str | int]
) -> list[dict[str, Any]]:
    """Each distinct URL is one fetch: a request names at most `cap` of them."""
    count = len(set(urls))
    if count <= cap:
        return []
    return [problem(loc, f"{count} distinct media URLs; at most {cap} per request")]
