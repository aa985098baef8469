"""Checking media against each platform's rules: the fetched facts of each file, alt text,
and how many distinct files a request may name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.errors import problem
from api.media_facts import MediaFacts
from core.status import Platform
from providers.base import MediaRules
from providers.registry import rules_for


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


def distinct_media_problems(
    urls: Sequence[str], *, cap: int, loc: list[str | int]
) -> list[dict[str, Any]]:
    """Each distinct URL is one fetch: a request names at most `cap` of them."""
    count = len(set(urls))
    if count <= cap:
        return []
    return [problem(loc, f"{count} distinct media URLs; at most {cap} per request")]
