"""YouTube's options: the upload's snippet and status (docs/platforms.md §10)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, with_config
from typing_extensions import TypedDict

from providers.options.base import STRICT, PostType, language_tag
from providers.youtube_lookup import MAX_TITLE

# videoCategories.list answers per region; these are the ids assignable in the US (U: the
# list is read from the API's answers as widely published, not from a reference page).
CATEGORIES = (
    "1 Film & Animation, 2 Autos & Vehicles, 10 Music, 15 Pets & Animals, 17 Sports, "
    "19 Travel & Events, 20 Gaming, 22 People & Blogs (YouTube's default), 23 Comedy, "
    "24 Entertainment, 25 News & Politics, 26 Howto & Style, 27 Education, "
    "28 Science & Technology, 29 Nonprofits & Activism"
)


@with_config(STRICT)
class YouTubeOptions(TypedDict, total=False):
    """A video upload's choices."""

    title: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_TITLE,
            description="The video's title; left out, the text's first line cut to fit.",
        ),
    ]
    privacy: Annotated[
        Literal["public", "unlisted", "private"],
        Field(description="status.privacyStatus: public when left out; a draft is private."),
    ]
    tags: Annotated[list[str], Field(description="snippet.tags.")]
    post_type: Annotated[
        Literal["video", "short"],
        Field(
            description=(
                "`video` (the default) or `short`. The API has no Shorts flag: YouTube files a "
                "square or vertical video of at most 3 minutes as a Short by itself. `short` "
                "has crier refuse, before uploading, an MP4 it can read that is wider than "
                "tall or longer than 3 minutes."
            )
        ),
    ]
    category_id: Annotated[
        str,
        Field(
            pattern=r"^[0-9]{1,4}$",
            description=f"snippet.categoryId; YouTube refuses an unknown one. {CATEGORIES}.",
        ),
    ]
    made_for_kids: Annotated[
        bool,
        Field(
            description=(
                "status.selfDeclaredMadeForKids (COPPA): false when left out, so every upload "
                "declares. A video made for kids takes no comments, so no first comment."
            )
        ),
    ]
    contains_synthetic_media: Annotated[
        bool,
        Field(description="status.containsSyntheticMedia: altered or synthetic content."),
    ]
    embeddable: Annotated[
        bool, Field(description="status.embeddable: other sites may embed it (YouTube: true).")
    ]
    public_stats_viewable: Annotated[
        bool,
        Field(description="status.publicStatsViewable: everyone sees its extended statistics."),
    ]
    license: Annotated[
        Literal["youtube", "creativeCommon"],
        Field(description="status.license: the standard YouTube licence or Creative Commons."),
    ]
    default_language: Annotated[
        str,
        AfterValidator(language_tag),
        Field(description="snippet.defaultLanguage: the language of the title and description."),
    ]
    notify_subscribers: Annotated[
        bool,
        Field(
            description=(
                "videos.insert's notifySubscribers: tell subscribers of the new video "
                "(YouTube: true)."
            )
        ),
    ]


POST_TYPES = (
    PostType("video", "one video, uploaded; the text is its description"),
    PostType("short", "one square or vertical video of at most 3 minutes, `post_type` `short`"),
)
