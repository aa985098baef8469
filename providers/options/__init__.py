"""Each platform's `options`: one small model per platform (a TypedDict pydantic validates), so
`GET /v1/platforms` publishes it as a JSON Schema and the API checks a target's options against
its platform's model once the account names the platform, naming every problem.

A key a provider reads must be in its platform's model, and a model's key must be read by its
provider (tests/test_platform_options.py reads the providers' source to hold both). A key no
model names is refused, with the keys the platform does take: a misspelt choice silently
dropped would publish something other than what was asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from core.status import Platform
from providers.options import (
    bluesky,
    facebook,
    google_business,
    instagram,
    linkedin,
    pinterest,
    plain,
    tiktok,
    youtube,
)
from providers.options.base import PostType

Loc = tuple[str | int, ...]
NO_RULES: Callable[[Any], list[tuple[tuple[str, ...], str]]] = lambda _options: []  # noqa: E731


@dataclass(frozen=True)
class PlatformOptions:
    """A platform's options model, the rules across its fields, and the post types it makes."""

    model: type[Any]
    post_types: tuple[PostType, ...]
    rules: Callable[[Any], list[tuple[tuple[str, ...], str]]] = NO_RULES

    @property
    def adapter(self) -> TypeAdapter[Any]:
        return _adapter(self.model)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.model.__required_keys__ | self.model.__optional_keys__)

    def json_schema(self) -> dict[str, Any]:
        return self.adapter.json_schema()


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(model: type[Any]) -> TypeAdapter[Any]:
    # Building an adapter compiles a validator: once per model, not per request.
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(model)
    return _ADAPTERS[model]


OPTIONS: dict[Platform, PlatformOptions] = {
    Platform.FACEBOOK: PlatformOptions(facebook.FacebookOptions, facebook.POST_TYPES),
    Platform.INSTAGRAM: PlatformOptions(
        instagram.InstagramOptions, instagram.POST_TYPES, instagram.rule_problems
    ),
    Platform.LINKEDIN: PlatformOptions(linkedin.LinkedInOptions, linkedin.POST_TYPES),
    Platform.X: PlatformOptions(plain.NoOptions, plain.X_POST_TYPES),
    Platform.BLUESKY: PlatformOptions(bluesky.BlueskyOptions, bluesky.POST_TYPES),
    Platform.THREADS: PlatformOptions(plain.NoOptions, plain.THREADS_POST_TYPES),
    Platform.GOOGLE_BUSINESS: PlatformOptions(
        google_business.GoogleBusinessOptions,
        google_business.POST_TYPES,
        google_business.rule_problems,
    ),
    Platform.PINTEREST: PlatformOptions(pinterest.PinterestOptions, pinterest.POST_TYPES),
    Platform.TIKTOK: PlatformOptions(tiktok.TikTokOptions, tiktok.POST_TYPES),
    Platform.YOUTUBE: PlatformOptions(youtube.YouTubeOptions, youtube.POST_TYPES),
}


def options_problems(platform: Platform, options: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Every problem with `options` on `platform`, each with where it is (empty: fine)."""
    chosen = OPTIONS[platform]
    try:
        parsed = chosen.adapter.validate_python(dict(options))
    except ValidationError as error:
        return [(tuple(e["loc"]), _message(platform, chosen, e)) for e in error.errors()]
    return [(loc, message) for loc, message in chosen.rules(parsed)]


def _message(platform: Platform, chosen: PlatformOptions, error: Any) -> str:
    if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
        if not chosen.keys:
            return f"not an option: {platform} takes no options"
        return f"not an option for {platform}; it takes {', '.join(sorted(chosen.keys))}"
    # pydantic prefixes a validator's own words; the API names the problem without it.
    return str(error["msg"]).removeprefix("Value error, ")
