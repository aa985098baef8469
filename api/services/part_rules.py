"""Checking the parts after a post (thread replies, first comments) against each target's
platform: at create, in the dry run, and when a draft's parts are edited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError, problem
from api.media_facts import MediaFacts
from api.schemas import PartIn
from api.services.media_rules import alt_problems, media_problems
from core.models import Target, Tenant
from core.status import Platform, TargetMode, TargetStatus
from providers.registry import rules_for


def parts_problems(
    platform: Platform,
    mode: TargetMode,
    parts: Sequence[PartIn],
    *,
    loc: list[str | int],
    routed: bool = False,
    options: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The parts after the post, for one target's platform (PartRules in its provider) and
    options."""
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
    if platform == Platform.YOUTUBE and (options or {}).get("made_for_kids"):
        # YouTube disables comments on a video made for kids (docs/platforms.md, §15).
        found.append(
            problem(
                ["body", "parts"],
                "a youtube video made for kids takes no comments; drop the parts or made_for_kids",
            )
        )
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


async def parts_edit_problems(
    *, session: AsyncSession, caller: Caller, targets: Sequence[Target], parts: Sequence[PartIn]
) -> list[dict[str, Any]]:
    """New parts against every target, as create checks them. A target already scheduled or
    waiting for approval has its delivery running, which counted its parts when it started:
    its parts no longer change (409)."""
    started = [t for t in targets if t.status != TargetStatus.DRAFT]
    if started:
        raise ApiError(
            409,
            "conflict",
            "parts can change only before the post is published, scheduled or sent for "
            "approval: cancel it and create it again",
            [{"loc": ["targets", t.id], "msg": f"the target is {t.status}"} for t in started],
        )
    tenant = await session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    routed = tenant.routed_platforms(sandbox=caller.is_test)
    return [
        found
        for index, t in enumerate(targets)
        for found in parts_problems(
            t.platform,
            t.mode,
            parts,
            loc=["targets", index],
            routed=t.platform.value in routed,
            options=t.options,
        )
    ]


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
