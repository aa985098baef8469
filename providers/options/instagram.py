"""Instagram's options (docs/platforms.md §2): what the media becomes (a feed post, a story or
a reel), and a reel's cover, collaborators and feed sharing.

The types say what each value may be; `rule_problems` says which go together: a cover, a
thumbnail offset and `share_to_feed` are a reel's alone, and a story takes no collaborators
(Meta: collaborators go on feed images, carousels and reels, "Stories is not supported").
What depends on the media (a story or a reel is one media; a reel one video) is
`media_problems`, for the create checks that know the media.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, with_config
from typing_extensions import TypedDict

from providers.graph import is_video
from providers.options.base import STRICT, PostType

# Instagram usernames: letters, digits, periods and underscores, at most 30 (U: Instagram's
# help pages, not the Graph reference). A leading "@" is refused rather than stripped.
USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
MAX_COLLABORATORS = 3  # the IG User Media reference: "a list of up to 3 instagram usernames"


def _username(value: str) -> str:
    if not USERNAME.match(value):
        raise ValueError("must be an Instagram username: letters, digits, . and _, at most 30")
    return value


def _https_url(value: str) -> str:
    # Instagram fetches the cover itself, from a public URL.
    if not re.match(r"^https://[^\s/?#]+[^\s]*$", value, re.IGNORECASE):
        raise ValueError("must be an absolute https URL that Instagram can fetch")
    return value


@with_config(STRICT)
class InstagramOptions(TypedDict, total=False):
    """An Instagram post's choices."""

    post_type: Annotated[
        Literal["feed", "story", "reel"],
        Field(
            description=(
                "`feed`: one image, or a carousel of 2 to 10; `story`: one image or video, "
                "live for 24 hours; `reel`: one video. Left out, the media decides: one video "
                "is a reel, anything else a feed post."
            )
        ),
    ]
    cover_url: Annotated[
        str,
        AfterValidator(_https_url),
        Field(description="A reel's cover image, fetched by Instagram from this https URL."),
    ]
    thumb_offset: Annotated[
        int,
        Field(
            ge=0,
            description="A reel's cover as the frame this many milliseconds in (no cover_url).",
        ),
    ]
    collaborators: Annotated[
        list[Annotated[str, AfterValidator(_username)]],
        Field(
            max_length=MAX_COLLABORATORS,
            description="Up to 3 Instagram usernames invited as collaborators (not on stories).",
        ),
    ]
    share_to_feed: Annotated[
        bool,
        Field(description="A reel also shows in the profile's feed, not only the Reels tab."),
    ]


POST_TYPES = (
    PostType("image", "one image"),
    PostType("carousel", "two to ten images"),
    PostType("reel", "one video, or `post_type` `reel`"),
    PostType("story", "one image or video with `post_type` `story`"),
)

REEL_ONLY = ("cover_url", "thumb_offset", "share_to_feed")


def rule_problems(options: InstagramOptions) -> list[tuple[tuple[str, ...], str]]:
    """What the types cannot say: which options go with which post type."""
    chosen = options.get("post_type")
    problems: list[tuple[tuple[str, ...], str]] = []
    if chosen in ("feed", "story"):
        problems += [((key,), f"only a reel takes {key}") for key in REEL_ONLY if key in options]
    if chosen == "story" and "collaborators" in options:
        problems.append((("collaborators",), "a story takes no collaborators"))
    if "cover_url" in options and "thumb_offset" in options:
        # Meta: thumb_offset is ignored when cover_url is given; refuse the contradiction.
        problems.append((("thumb_offset",), "give cover_url or thumb_offset, not both"))
    return problems


def media_problems(
    options: InstagramOptions, media_urls: list[str]
) -> list[tuple[tuple[str, ...], str]]:
    """What the post type asks of the media: a story one image or video, a reel one video,
    a feed post images. Options that belong to a reel need the media to make one."""
    chosen = post_type(options.get("post_type"), media_urls)
    problems: list[tuple[tuple[str, ...], str]] = []
    if chosen == "story" and len(media_urls) != 1:
        problems.append((("post_type",), "a story is one image or video, not a carousel"))
    if chosen == "reel" and (len(media_urls) != 1 or not is_video(media_urls[0])):
        problems.append((("post_type",), "a reel is one video"))
    if chosen == "feed" and "post_type" not in options:
        problems += [
            ((key,), f"only a reel takes {key}; this media makes a feed post")
            for key in REEL_ONLY
            if key in options
        ]
    one_video = len(media_urls) == 1 and is_video(media_urls[0])
    if chosen == "feed" and options.get("post_type") == "feed" and one_video:
        problems.append((("post_type",), "one video is published as a reel, not a feed post"))
    return problems


def post_type(chosen: str | None, media_urls: list[str]) -> str:
    """The post the `post_type` chosen and the media make: left out, one video is a reel."""
    if chosen is not None:
        return chosen
    return "reel" if len(media_urls) == 1 and is_video(media_urls[0]) else "feed"
