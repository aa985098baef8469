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
from core.models import Account, Tenant
from core.status import AccountStatus, Platform, TargetMode
from providers.base import MediaRules
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


def parts_problems(
    platform: Platform,
    mode: TargetMode,
    parts: Sequence[PartIn],
    *,
    loc: list[str | int],
    routed: bool = False,
) -> list[dict[str, Any]]:
    """The parts after the post, for one target's platform (PartRules in its provider)."""
    if not parts:
        return []
    rules = rules_for(platform).parts
    if rules is None:
        return [problem(["body", "parts"], f"{platform} takes no thread replies or comments")]
    if routed:
        return [
            problem(
                ["body", "parts"],
                f"this tenant sends {platform} through an aggregator, which publishes no "
                "thread replies or comments",
            )
        ]
    found = []
    if mode != TargetMode.PUBLISH:
        found.append(problem([*loc, "mode"], "parts follow a published post, not a draft"))
    if len(parts) > rules.max_parts:
        what = "replies" if rules.kind == "reply" else "comment"
        found.append(
            problem(
                ["body", "parts"],
                f"{len(parts)} parts; {platform} takes at most {rules.max_parts} {what} "
                "after the post",
            )
        )
    counts = rules_for(platform)
    for index, part in enumerate(parts):
        at: list[str | int] = ["body", "parts", index]
        length = counts.text_length(part.body)
        if length > rules.max_text_length:
            found.append(
                problem(
                    [*at, "body"],
                    f"{length} {counts.unit}; a {rules.kind} on {platform} allows at most "
                    f"{rules.max_text_length}",
                )
            )
        if not part.media_urls:
            continue
        if not rules.media_allowed:
            refused = f"a {rules.kind} on {platform} takes no media"
            found.append(problem([*at, "media_urls"], refused))
        elif len(part.media_urls) > counts.max_media:
            found.append(
                problem(
                    [*at, "media_urls"],
                    f"{len(part.media_urls)} media; {platform} allows at most {counts.max_media}",
                )
            )
        else:
            found += alt_problems(platform, part.media_alt(), loc=[*at, "media"])
    return found


def part_media_problems(
    platforms: Sequence[Platform], parts: Sequence[PartIn], facts: Mapping[str, MediaFacts | str]
) -> list[dict[str, Any]]:
    """Each part's fetched media against the rules of every platform it goes to that takes
    media in parts (the others were refused by parts_problems). Images only: a reply is sent
    within one activity, and a video's processing wait belongs on a durable timer, which only
    the post itself has."""
    found = []
    for platform in dict.fromkeys(platforms):  # each platform once, in order
        rules = rules_for(platform).parts
        if rules is None or not rules.media_allowed:
            continue
        for index, part in enumerate(parts):
            urls = [str(u) for u in part.media_urls]
            loc: list[str | int] = ["body", "parts", index, "media_urls"]
            found += media_problems(platform, urls=urls, facts=facts, loc=loc)
            found += [
                problem([*loc, at], f"{platform}: a reply takes images; post a video as the post")
                for at, url in enumerate(urls)
                if isinstance(fetched := facts.get(url), MediaFacts) and fetched.kind == "video"
            ]
    return found


def alt_problems(
    platform: Platform, alts: Sequence[str | None] | None, *, loc: list[str | int]
) -> list[dict[str, Any]]:
    """Each alt text longer than the platform takes, at its media (`loc` + index + "alt")."""
    rules = rules_for(platform).media
    most = rules.max_alt_chars if rules is not None else None
    if most is None:
        return []
    return [
        problem([*loc, index, "alt"], f"{platform} takes alt text of at most {most} characters")
        for index, alt in enumerate(alts or [])
        if alt is not None and len(alt) > most
    ]


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
                fetched.kind == "video" or (fetched.format == "GIF" and not rules.gif_is_image)
            ):
                what = "a video" if rules.gif_is_image else "a video or GIF"
                found.append(
                    problem(
                        [*loc, index],
                        f"{platform}: {what} must be the only media; this has {len(urls)}",
                    )
                )
    return found


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
        if account is None:
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
        )
        if parts and account.platform == Platform.YOUTUBE and target.options.get("made_for_kids"):
            # YouTube disables comments on a video made for kids (docs/platforms.md, §15).
            check.problems.append(
                problem(
                    ["body", "parts"],
                    "a youtube video made for kids takes no comments; drop the parts or "
                    "made_for_kids",
                )
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


def distinct_media_problems(
    urls: Sequence[str], *, cap: int, loc: list[str | int]
) -> list[dict[str, Any]]:
    """Each distinct URL is one fetch: a request names at most `cap` of them."""
    count = len(set(urls))
    if count <= cap:
        return []
    return [problem(loc, f"{count} distinct media URLs; at most {cap} per request")]
