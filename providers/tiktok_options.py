"""What a direct TikTok post sets in `post_info`, as pure functions: the privacy level (from
what creator_info allows) and the interaction and disclosure switches `content.options` names."""

from __future__ import annotations

from typing import Any

from providers.base import PostContent
from providers.errors import ContentError

# Least to most public: when the asked-for level is not allowed we take the most private one,
# since a post can be opened up in the app later but one shown too widely cannot be unseen.
PRIVACY_MOST_PRIVATE_FIRST = (
    "SELF_ONLY",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "PUBLIC_TO_EVERYONE",
)
# Interaction and disclosure switches a post may set through `content.options`.
POST_INFO_OPTIONS = (
    "disable_duet",
    "disable_comment",
    "disable_stitch",
    "brand_content_toggle",
    "brand_organic_toggle",
    "is_aigc",
)


def choose_privacy(wanted: object, allowed: list[str]) -> str:
    """The level asked for if the creator allows it, else the most private one they allow."""
    if wanted in allowed:
        return str(wanted)
    for level in PRIVACY_MOST_PRIVATE_FIRST:
        if level in allowed:
            return level
    raise ContentError(
        f"the creator allows no known privacy level ({allowed})",
        platform="tiktok",
        code="privacy_level_option_mismatch",
    )


def privacy_for(content: PostContent, creator: dict[str, Any]) -> str:
    """The level this post gets, given creator_info's answer."""
    return choose_privacy(
        content.options.get("privacy_level"), creator.get("privacy_level_options", [])
    )


def post_info(content: PostContent, creator: dict[str, Any]) -> dict[str, Any]:
    """A direct post's `post_info`: its title, privacy level and any switches asked for."""
    info: dict[str, Any] = {"title": content.text, "privacy_level": privacy_for(content, creator)}
    info |= {k: bool(content.options[k]) for k in POST_INFO_OPTIONS if k in content.options}
    return info
