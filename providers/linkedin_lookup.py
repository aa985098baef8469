"""LinkedIn's post as `publish` sends it and as its Posts API lists it back, as pure functions:
the body (with its commentary in "little text"), a page of the author's posts, whether a listed
post is that body, and the post's public record; and the same for a first comment (Comments
API, `socialActions/{post}/comments`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import takewhile
from typing import Any
from urllib.parse import quote

from providers.base import Credentials, PostContent, Published
from providers.errors import AuthError, TransientError
from providers.kit.pages import Page
from providers.linkedin_mentions import MENTION, Mention, elements, mentions_in

# "little text": unescaped reserved characters make LinkedIn cut the commentary short, but a
# mention (providers/linkedin_mentions.py) must stay as it is (Postiz `fixText`).
LITTLE_TEXT_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
# Read back, a hashtag may come as little text's template {hashtag|\#|tag} (Little Text Format).
HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\?#\|([^}]*)\}")
# Lifecycle states of a post that is, or is about to be, public.
LIVE_STATES = frozenset({"PUBLISHED", "PUBLISH_REQUESTED"})


def little_text(text: str, mentions: Sequence[Mention] = ()) -> str:
    """The text as little text: reserved characters escaped, and each mention (one written in
    little text, or an `@name` of `mentions`) as its element."""
    pieces: list[str] = []
    last = 0
    for start, end, element, _ in elements(text, mentions):
        pieces.append(LITTLE_TEXT_RESERVED.sub(r"\\\1", text[last:start]))
        pieces.append(element)
        last = end
    pieces.append(LITTLE_TEXT_RESERVED.sub(r"\\\1", text[last:]))
    return "".join(pieces)


def reader_text(commentary: str) -> str:
    """What a reader sees of little text: escapes undone, hashtag templates as #tag, mentions
    as written. Commentary is compared in this form, so the escaped text `publish` sent and
    the form LinkedIn answers with (which may turn hashtags into templates) meet."""
    seen: list[str] = []
    index = 0
    while index < len(commentary):
        if mention := MENTION.match(commentary, index):
            seen.append(mention.group())
            index = mention.end()
        elif hashtag := HASHTAG_TEMPLATE.match(commentary, index):
            seen.append("#" + hashtag.group(1))
            index = hashtag.end()
        elif commentary[index] == "\\" and index + 1 < len(commentary):
            seen.append(commentary[index + 1])
            index += 2
        else:
            seen.append(commentary[index])
            index += 1
    return "".join(seen)


def post_body(author: str, content: PostContent, images: list[str] | None = None) -> dict[str, Any]:
    """The Posts API body `publish` sends; `find_published` matches against the same."""
    body: dict[str, Any] = {
        "author": author,
        "commentary": little_text(content.text, mentions_in(content.options)),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    # Each image's alt text rides on the image in the post (docs/platforms.md §4).
    shown = [
        {"id": image} | ({"altText": alt} if (alt := content.alt(i)) else {})
        for i, image in enumerate(images or [])
    ]
    if len(shown) == 1:
        body["content"] = {"media": shown[0]}
    elif shown:
        body["content"] = {"multiImage": {"images": shown}}
    elif content.link:
        article = {"source": content.link}
        if content.title:
            article["title"] = content.title
        body["content"] = {"article": article}
    return body


def content_key(content: dict[str, Any] | None) -> tuple[str, ...]:
    """What identifies a post's content: its image URNs, or its article's source. LinkedIn
    adds to an article when it reads the page (title, thumbnail), so only the source counts."""
    content = content or {}
    if "media" in content:
        return ("images", str((content["media"] or {}).get("id")))
    if "multiImage" in content:
        images = (content["multiImage"] or {}).get("images") or []
        return ("images", *(str(image.get("id")) for image in images))
    if "article" in content:
        return ("article", str((content["article"] or {}).get("source")))
    return ()


def is_the_post(element: dict[str, Any], body: dict[str, Any], *, images_known: bool) -> bool:
    """Whether a post LinkedIn lists is the one `body` would make: the same commentary as a
    reader sees it, and the same images or article. Without the image URNs (`publish` would
    have uploaded its own), any images match."""
    if element.get("lifecycleState", "PUBLISHED") not in LIVE_STATES:
        return False
    if reader_text(str(element.get("commentary") or "")) != reader_text(body["commentary"]):
        return False
    found, sent = content_key(element.get("content")), content_key(body.get("content"))
    return found == sent or (not images_known and found[:1] == sent[:1] == ("images",))


def created_at(element: dict[str, Any]) -> datetime:
    # createdAt is epoch milliseconds; a post without one cannot be ruled out by its age.
    created = element.get("createdAt")
    if not isinstance(created, int | float):
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromtimestamp(created / 1000, UTC)


def posts_page(
    answer: dict[str, Any], since: datetime, offset: int, page_size: int
) -> Page[dict[str, Any]]:
    """The posts on one page of the author finder created at or after `since`, and the next
    page's start unless this page is the last or reached back past `since`."""
    elements: list[dict[str, Any]] = answer.get("elements") or []
    # Sorted by creation: after the first older post, every one is older still.
    recent = list(takewhile(lambda element: created_at(element) >= since, elements))
    links = (answer.get("paging") or {}).get("links") or []
    more = any(link.get("rel") == "next" for link in links)
    more = more or len(elements) >= page_size
    last = len(recent) < len(elements) or not more
    return Page(recent, None if last else str(offset + page_size))


def published(urn: str) -> Published:
    return Published(external_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}")


def unreadable(account: Credentials, exc: AuthError) -> str:
    """Why the author's posts cannot be read back (a 403 to the finder)."""
    if account.external_id.startswith("urn:li:person:"):
        return (
            "LinkedIn lets only apps granted the private r_member_social permission read a "
            f"member's posts ({exc.message})"
        )
    return f"the token may not read {account.external_id}'s posts ({exc.message})"


# First comments ----------------------------------------------------------------------------


def comments_path(post: str) -> str:
    """The post's comments, under its URL-encoded URN (Comments API)."""
    return f"/socialActions/{quote(post, safe='')}/comments"


def comment_body(actor: str, post: str, text: str) -> dict[str, Any]:
    """A comment's message is plain attributed text, not little text: nothing is escaped."""
    return {"actor": actor, "object": post, "message": {"text": text}}


def is_own_comment(element: dict[str, Any], actor: str, text: str, since: datetime) -> bool:
    """Whether a listed comment is `actor`'s, with exactly `text`, made at or after `since`."""
    created = (element.get("created") or {}).get("time")
    made = created_at({"createdAt": created})
    message = (element.get("message") or {}).get("text")
    return element.get("actor") == actor and message == text and made >= since


def comments_page(answer: dict[str, Any], offset: int, page_size: int) -> Page[dict[str, Any]]:
    """One page of the post's comments, in whatever order LinkedIn lists them (not documented),
    and the next page's start unless this one is the last."""
    elements: list[dict[str, Any]] = answer.get("elements") or []
    links = (answer.get("paging") or {}).get("links") or []
    more = any(link.get("rel") == "next" for link in links) or len(elements) >= page_size
    return Page(elements, str(offset + page_size) if more and elements else None)


def comment_published(post: str, comment: dict[str, Any]) -> Published:
    """The comment's URN (`commentUrn`, or Rest.li's `$URN`) and its link under the post."""
    urn = comment.get("commentUrn") or comment.get("$URN")
    if not urn:
        raise TransientError("a comment answered without its URN", platform="linkedin")
    link = f"https://www.linkedin.com/feed/update/{post}?commentUrn={quote(str(urn), safe='')}"
    return Published(external_id=str(urn), url=link)
