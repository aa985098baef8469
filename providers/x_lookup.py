"""Is this tweet the one `publish` made? Pure functions for X's reconciliation (providers/x.py).

After a publish whose answer was lost, `find_published` reads the user's timeline for the
tweet with the text `publish` sends and the media it attached. X gives text back altered:
`&`, `<` and `>` as HTML entities, every link wrapped as a t.co link (a bare domain too), and
a t.co link to the media appended. So the text is compared with each t.co link standing for
any one link or domain written there, and the trailing media link dropped; the media keys
then tell tweets apart.

A thread's part is a reply: it is also matched by the tweet it answers (`referenced_tweets`
of type `replied_to`), and a post by answering none, so a reply of the same words is never
taken for the post.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from providers.base import PostContent

TCO_LINK = re.compile(r"https://t\.co/\w+")
ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # &amp; last: "&amp;lt;" is "&lt;"


def tweet_text(content: PostContent) -> str:
    """The text `publish` sends: v2 tweets have no link field, so a link rides in the text,
    where X cards it."""
    if content.link and content.link not in content.text:
        return f"{content.text}\n\n{content.link}"
    return content.text


def timeline_params(since: datetime, *, page_size: int) -> dict[str, Any]:
    """The first page of `GET /2/users/{id}/tweets` the lookup reads: tweets made since the
    attempt (`start_time`), with their text and media keys."""
    return {
        "max_results": page_size,
        # Whole seconds, rounded down, so the attempt's own second is in.
        "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tweet.fields": "created_at,text,attachments,referenced_tweets",
    }


def same_text(sent: str, returned: str, *, has_media: bool) -> bool:
    """Whether X's form of a tweet's text (`returned`) is the `sent` text: entities undone,
    each t.co link standing for any link written there, the appended media link dropped."""
    for entity, char in ENTITIES:
        returned = returned.replace(entity, char)
    returned = unicodedata.normalize("NFC", returned).strip()
    if has_media:
        returned = re.sub(r"\s*https://t\.co/\w+$", "", returned)
    pieces = [re.escape(piece) for piece in TCO_LINK.split(returned)]
    pattern = r"\S+".join(pieces)
    return re.fullmatch(pattern, unicodedata.normalize("NFC", sent).strip()) is not None


def media_ids_of(tweet: dict[str, Any]) -> list[str]:
    """The media ids a tweet carries: a media key is `{type}_{media id}`."""
    keys = (tweet.get("attachments") or {}).get("media_keys") or []
    return [str(key).split("_", 1)[-1] for key in keys]


def replied_to(tweet: dict[str, Any]) -> str | None:
    """The id of the tweet this one answers, None for a tweet that answers none."""
    for reference in tweet.get("referenced_tweets") or []:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            return str(reference.get("id"))
    return None


def is_the_tweet(
    tweet: dict[str, Any], text: str, media_ids: list[str] | None, reply_to: str | None = None
) -> bool:
    """The tweet `publish` would make of `text` and `media_ids` (None: unknown, any media),
    answering `reply_to` (None: a post, which answers nothing)."""
    if replied_to(tweet) != reply_to:
        return False
    carried = media_ids_of(tweet)
    if media_ids is not None and sorted(carried) != sorted(media_ids):
        return False
    return same_text(text, str(tweet.get("text") or ""), has_media=bool(carried))
