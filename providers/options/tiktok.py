"""TikTok's options: a direct post's privacy level and switches (docs/platforms.md §9)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from providers.options.base import STRICT, PostType

Switch = Annotated[bool, Field(description="Sent in post_info as given.")]


@with_config(STRICT)
class TikTokOptions(TypedDict, total=False):
    """A direct post's `post_info` choices; a draft (inbox) post leaves them to the app."""

    privacy_level: Annotated[
        Literal["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"],
        Field(
            description="Who sees the post; when the creator does not allow this level (or it "
            "is left out), the most private level creator_info allows."
        ),
    ]
    disable_duet: Switch
    disable_comment: Switch
    disable_stitch: Switch
    brand_content_toggle: Switch
    brand_organic_toggle: Switch
    is_aigc: Switch


POST_TYPES = (
    PostType("video", "one video, pulled by TikTok from its URL; a draft goes to the inbox"),
)
