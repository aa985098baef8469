"""Graph API stand-in for Page publishing (docs/platforms.md §1): the same paths, bodies, errors.

A Page's comments on its own posts (`/{page-post-id}/comments`) are kept as posts of kind
"comment" that answer the post (`reply_to`), so the control API lists them; the Page's own post
lists (published_posts, the duplicate check) leave them out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from sandbox import facebook_video
from sandbox.metrics_numbers import post_numbers
from sandbox.oauth import DEFAULT_USER
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/facebook", tags=["facebook"])

MAX_MESSAGE = 63_206
MAX_COMMENT = 8_000  # (U): Facebook's comment box limit, as reported; Graph's docs state none
# "They all have an upper boundary for the limit parameter of 100 posts. Specifying any higher
# limit will throw an error" (Page Feed reference, v2.9; the exact error is not documented).
MAX_POSTS_LIMIT = 100
DEFAULT_LIMIT = 25
# "200 calls/hour per access token" (seed 000, OQ-SP-4); tests lower it.
CALLS_PER_HOUR = 200


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    status: int = 400,
    type_: str = "OAuthException",
) -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": type_, "code": code, "fbtrace_id": "Asbx"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, status_code=status)


async def read_params(request: Request) -> dict[str, Any]:
    """Graph reads parameters from the query string, a form body or a JSON body alike."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if "application/json" in content_type:
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif "form" in content_type:
        params.update(dict(await request.form()))
    return params


def request_token(request: Request, params: dict[str, Any]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("oauth", "bearer") and value:
        return value
    return str(params.get("access_token", ""))


def graph_time(moment: float) -> str:
    """How Graph writes a time: "2019-05-17T16:24:04+0000"."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(moment))


def _unix(value: object) -> float | None:
    """A `since`/`until` value: unix seconds or an ISO date (Graph takes any strtotime)."""
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    # A date without a zone is read as UTC, as Graph reads it.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def edge_page(
    request: Request,
    params: dict[str, Any],
    posts: list[SandboxPost],
    render: Callable[[SandboxPost, list[str]], dict[str, Any]],
    *,
    max_limit: int | None = None,
) -> JSONResponse:
    """One page of an edge listing `posts`, newest first, as Graph pages them: `since` and
    `until` (unix seconds, inclusive) bound the creation time, `limit` sizes the page, and an
    opaque `after` cursor (the last id read) continues it. `paging.next` is there only while
    more remain. Without `max_limit` a larger `limit` is served in pages of at most 100."""
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
    except ValueError:
        return graph_error(100, "(#100) Param limit must be an integer")
    if limit < 1 or (max_limit is not None and limit > max_limit):
        return graph_error(100, f"(#100) Param limit must be between 1 and {max_limit or 100}")
    limit = min(limit, MAX_POSTS_LIMIT)
    since, until = _unix(params.get("since", 0)), _unix(params.get("until", "inf"))
    if since is None or until is None:
        return graph_error(100, "(#100) Params since and until must be unix times or dates")
    # The state keeps posts in the order they were made: newest first is that, reversed.
    ordered = [p for p in reversed(posts) if since <= int(p.received_at) <= until]
    start = 0
    if after := params.get("after"):
        try:
            last = base64.urlsafe_b64decode(str(after).encode()).decode()
        except ValueError:
            return graph_error(100, "(#100) The after cursor is invalid")
        ids = [p.id for p in ordered]
        start = ids.index(last) + 1 if last in ids else len(ids)
    chunk = ordered[start : start + limit]
    fields = str(params.get("fields", "id")).split(",")
    answer: dict[str, Any] = {"data": [render(post, fields) for post in chunk]}
    if chunk:
        cursors = {
            "before": base64.urlsafe_b64encode(chunk[0].id.encode()).decode(),
            "after": base64.urlsafe_b64encode(chunk[-1].id.encode()).decode(),
        }
        answer["paging"] = {"cursors": cursors}
        if start + limit < len(ordered):
            # Graph's own next link repeats the request with the cursor; a client may follow
            # it or pass `after` itself.
            answer["paging"]["next"] = str(request.url.include_query_params(after=cursors["after"]))
    return JSONResponse(answer)


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def page_posts(request: Request, page_id: str) -> list[SandboxPost]:
    """The Page's own posts: its comments are not among them."""
    return [p for p in _state(request).posts_for("facebook", page_id) if p.kind == "post"]


def no_such_object(object_id: str, method: str) -> JSONResponse:
    """Graph's answer to an edge of an object it does not have (or may not show)."""
    return graph_error(
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        subcode=33,
        type_="GraphMethodException",
    )


def _authorize(request: Request, params: dict[str, Any], page_id: str) -> JSONResponse | None:
    token = request_token(request, params)
    if not token:
        return graph_error(104, "An access token is required to request this resource.")
    claims = token_claims(request, token)
    if claims is None or claims.platform != "facebook":
        return graph_error(
            190, "Error validating access token: the session is invalid.", subcode=467
        )
    if claims.subject != page_id:
        return graph_error(200, "(#200) The page token does not grant access to this Page.")
    return _spend_call(request, page_id)


def _spend_call(request: Request, page_id: str) -> JSONResponse | None:
    """Count the call against the Page's hourly budget; refuse it the way Graph does."""
    state: SandboxState = request.app.state.sandbox
    calls: dict[str, list[float]] = state.extras.setdefault("facebook_calls", {})
    now = time.time()
    recent = [t for t in calls.get(page_id, []) if t > now - 3600]
    if len(recent) >= CALLS_PER_HOUR:
        regain = max(1, int((recent[0] + 3600 - now) / 60) + 1)
        usage = {
            page_id: [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 0,
                    "total_time": 0,
                    "estimated_time_to_regain_access": regain,
                }
            ]
        }
        refused = graph_error(32, "(#32) Page request limit reached")
        refused.headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        return refused
    calls[page_id] = [*recent, now]
    return None


def _falsy(value: Any) -> bool:
    return str(value).lower() in ("false", "0")


@router.post("/{version}/{page_id}/photos")
async def upload_photo(version: str, page_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, page_id)) is not None:
        return refused
    url = str(params.get("url", ""))
    if not url.startswith(("http://", "https://")):
        return graph_error(
            100, "(#100) Invalid parameter: url must be a public http(s) URL", subcode=2061006
        )
    state = _state(request)
    photo_id = state.next_id()
    # The photo's alt text (docs/platforms.md §1), carried to the post that attaches it.
    alt = params.get("alt_text_custom")
    alt = str(alt) if alt is not None else None
    state.media[photo_id] = {"page": page_id, "url": url, "attached": False, "alt": alt}
    if _falsy(params.get("published", True)):
        return JSONResponse({"id": photo_id})
    post = _store_post(request, page_id, str(params.get("caption", "")), media=[url], link=None)
    post.alt = [alt]
    return JSONResponse({"id": photo_id, "post_id": post.id})


@router.post("/{version}/{page_id}/feed")
async def create_post(version: str, page_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, page_id)) is not None:
        return refused
    state = _state(request)
    message = str(params.get("message", ""))
    link = params.get("link")
    attached = params.get("attached_media") or []
    if not isinstance(attached, list):
        return graph_error(100, "(#100) param attached_media must be an array.")
    if not (message or link or attached):
        return graph_error(100, "(#100) Missing message or attachment.")
    if len(message) > MAX_MESSAGE:
        return graph_error(100, "(#100) The message is too long.")
    media_urls: list[str] = []
    for item in attached:
        media_id = str(item.get("media_fbid", "")) if isinstance(item, dict) else ""
        photo = state.media.get(media_id)
        if photo is None or photo["page"] != page_id or photo["attached"]:
            return graph_error(100, f"(#100) Invalid media_fbid: {media_id}")
        media_urls.append(photo["url"])
    # Graph refuses a Page repeating its own recent status text (code 506).
    if message and any(post.text == message for post in page_posts(request, page_id)):
        return graph_error(506, "Duplicate status message", type_="FacebookApiException")
    for item in attached:
        state.media[str(item["media_fbid"])]["attached"] = True
    post = _store_post(
        request, page_id, message, media=media_urls, link=str(link) if link else None
    )
    post.published = not _falsy(params.get("published", True))
    post.alt = [state.media[str(item["media_fbid"])].get("alt") for item in attached]
    return JSONResponse({"id": post.id})


@router.post("/{version}/{page_id}/videos")
async def upload_video(version: str, page_id: str, request: Request) -> JSONResponse:
    """A Page video Facebook fetches from `file_url`; `published=false` keeps it unpublished."""
    params = await read_params(request)
    if (refused := _authorize(request, params, page_id)) is not None:
        return refused
    url = str(params.get("file_url", ""))
    if not url.startswith(("http://", "https://")):
        return graph_error(100, "(#100) Invalid parameter: file_url must be a public URL")
    title = params.get("title")
    video = facebook_video.add(
        _state(request),
        page_id,
        "video",
        url=url,
        description=str(params.get("description", "")),
        title=str(title) if title is not None else None,
    )
    if not _falsy(params.get("published", True)):
        _publish_video(request, video)
    return JSONResponse({"id": video.id})


@router.post("/{version}/{page_id}/video_reels")
async def reel_phase(version: str, page_id: str, request: Request) -> JSONResponse:
    """A reel's `upload_phase`: start opens a session, finish publishes (or drafts) it."""
    params = await read_params(request)
    if (refused := _authorize(request, params, page_id)) is not None:
        return refused
    state = _state(request)
    phase = params.get("upload_phase")
    if phase == "start":
        video = facebook_video.add(state, page_id, "reel")
        upload_url = f"{request.app.state.public_url}/facebook/video-upload/{version}/{video.id}"
        return JSONResponse({"video_id": video.id, "upload_url": upload_url})
    if phase != "finish":
        return graph_error(100, "(#100) upload_phase must be one of start, transfer, finish")
    reel = facebook_video.videos(state).get(str(params.get("video_id", "")))
    if reel is None or reel.page != page_id or reel.kind != "reel":
        return graph_error(100, f"(#100) Invalid video_id: {params.get('video_id')}")
    if not facebook_video.ready(reel):
        return graph_error(6000, "There was a problem uploading your video file.", subcode=1363130)
    reel.description = str(params.get("description", ""))
    if params.get("video_state", "PUBLISHED") == "PUBLISHED":
        _publish_video(request, reel)
    return JSONResponse({"success": True})


@router.post("/video-upload/{version}/{video_id}")
async def upload_reel(version: str, video_id: str, request: Request) -> JSONResponse:
    """rupload's hosted-file upload: the `file_url` header names the file to fetch."""
    params = await read_params(request)
    reel = facebook_video.videos(_state(request)).get(video_id)
    owner = None if reel is None else reel.page
    if (refused := _refusal(request, params, owner, video_id, "post")) is not None:
        return refused
    assert reel is not None
    url = request.headers.get("file_url", "")
    if not url.startswith(("http://", "https://")):
        return graph_error(100, "(#100) The file_url header must be a public URL")
    reel.url, reel.reads = url, 0
    return JSONResponse({"success": True})


@router.post("/{version}/{video_id}")
async def update_video(version: str, video_id: str, request: Request) -> JSONResponse:
    """`POST /{video-id}` with `published=true` publishes an unpublished Page video."""
    params = await read_params(request)
    video = facebook_video.videos(_state(request)).get(video_id)
    owner = None if video is None else video.page
    if (refused := _refusal(request, params, owner, video_id, "post")) is not None:
        return refused
    assert video is not None
    if str(params.get("published", "")).lower() in ("true", "1"):
        if not facebook_video.ready(video):
            return graph_error(100, "(#100) The video is not ready to be published.")
        _publish_video(request, video)
    return JSONResponse({"success": True})


def _publish_video(request: Request, video: facebook_video.Video) -> None:
    if video.published:
        return
    post = _store_post(request, video.page, video.description, media=[video.url or ""], link=None)
    video.published, video.post_id = True, post.id


@router.get("/p/{post_id}", response_class=HTMLResponse, include_in_schema=False)
async def permalink(post_id: str, request: Request) -> HTMLResponse:
    """A human-readable page behind each sandbox permalink, so `make dev` links lead somewhere."""
    post = next((p for p in _state(request).posts_for("facebook") if p.id == post_id), None)
    if post is None:
        return HTMLResponse("<h1>No such sandbox post</h1>", status_code=404)
    images = "".join(f'<li><a href="{escape(u)}">{escape(u)}</a></li>' for u in post.media)
    return HTMLResponse(
        f"<!doctype html><title>Sandbox post {escape(post.id)}</title>"
        f"<h1>Facebook Page {escape(post.account)} (sandbox)</h1>"
        f"<p style='white-space:pre-wrap'>{escape(post.text)}</p><ul>{images}</ul>"
    )


@router.get("/{version}/{page_id}/published_posts")
async def published_posts(version: str, page_id: str, request: Request) -> JSONResponse:
    """The Page's own published posts, newest first (`GET /{page-id}/published_posts`).
    Unpublished (draft) posts are not among them, as on Graph."""
    params = await read_params(request)
    if (refused := _authorize(request, params, page_id)) is not None:
        return refused
    posts = [p for p in page_posts(request, page_id) if p.published]
    return edge_page(request, params, posts, _render_post, max_limit=MAX_POSTS_LIMIT)


def _render_post(post: SandboxPost, fields: list[str]) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": post.id}
    if "message" in fields and post.text:  # Graph leaves out a message the post has not
        answer["message"] = post.text
    if "created_time" in fields:
        answer["created_time"] = graph_time(post.received_at)
    if "permalink_url" in fields:
        answer["permalink_url"] = post.url
    return answer


@router.post("/{version}/{post_id}/comments")
async def create_comment(version: str, post_id: str, request: Request) -> JSONResponse:
    """A comment on a Page post (`POST /{page-post-id}/comments`, `message`), by the Page whose
    token writes it. `fields` asks for the new comment's fields back (read-after-write)."""
    params = await read_params(request)
    post = _post(request, post_id)
    owner = None if post is None else post.account
    if (refused := _refusal(request, params, owner, post_id, "post")) is not None:
        return refused
    assert post is not None
    message = str(params.get("message", ""))
    if not message:
        return graph_error(100, "(#100) Missing message or attachment.")
    if len(message) > MAX_COMMENT:
        return graph_error(100, "(#100) The comment is too long.")
    state = _state(request)
    comment_id = f"{post.id.split('_')[-1]}_{state.next_id()}"
    comment = SandboxPost(
        platform="facebook",
        account=post.account,
        id=comment_id,
        text=message,
        received_at=time.time(),
        url=f"{post.url}?comment_id={comment_id}",
        kind="comment",
        reply_to=post.id,
    )
    state.posts.append(comment)
    return JSONResponse(_render_comment(comment, str(params.get("fields", "id")).split(",")))


@router.get("/{version}/{post_id}/comments")
async def list_comments(version: str, post_id: str, request: Request) -> JSONResponse:
    """A post's comments (`GET /{page-post-id}/comments`), oldest first unless
    `order=reverse_chronological`, paged as any edge."""
    params = await read_params(request)
    post = _post(request, post_id)
    owner = None if post is None else post.account
    if (refused := _refusal(request, params, owner, post_id, "get")) is not None:
        return refused
    assert post is not None
    comments = [
        p
        for p in _state(request).posts_for("facebook", post.account)
        if p.kind == "comment" and p.reply_to == post.id
    ]
    # edge_page serves what it is given newest first: reversed, that is oldest first.
    newest_first = params.get("order") == "reverse_chronological"
    return edge_page(request, params, comments if newest_first else comments[::-1], _render_comment)


def _post(request: Request, post_id: str) -> SandboxPost | None:
    found = (p for p in _state(request).posts_for("facebook") if p.id == post_id)
    return next((p for p in found if p.kind == "post"), None)


def _bad_token(request: Request, params: dict[str, Any]) -> JSONResponse | None:
    """Graph checks the token before it looks for the object."""
    claims = token_claims(request, request_token(request, params))
    if claims is None or claims.platform != "facebook":
        return graph_error(
            190, "Error validating access token: the session is invalid.", subcode=467
        )
    return None


def _render_comment(comment: SandboxPost, fields: list[str]) -> dict[str, Any]:
    listed: dict[str, Any] = {
        "message": comment.text,
        "created_time": graph_time(comment.received_at),
        "from": {"id": comment.account, "name": page_name(comment.account)},
        "permalink_url": comment.url,
    }
    return {"id": comment.id} | {k: v for k, v in listed.items() if k in fields}


# Declared after /p/{post_id}, which it would otherwise swallow.
@router.get("/{version}/{object_id}")
async def read_object(version: str, object_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    state = _state(request)
    if (video := facebook_video.videos(state).get(object_id)) is not None:
        if (refused := _authorize(request, params, video.page)) is not None:
            return refused
        fields = str(params.get("fields", "id")).split(",")
        return JSONResponse(facebook_video.render(video, fields))
    post = next((p for p in state.posts_for("facebook") if p.id == object_id), None)
    if post is None:
        return _read_page(request, params, object_id)
    if (refused := _authorize(request, params, post.account)) is not None:
        return refused
    fields = str(params.get("fields", "id")).split(",")
    answer: dict[str, Any] = {"id": post.id}
    if "permalink_url" in fields:
        answer["permalink_url"] = post.url
    if "message" in fields:
        answer["message"] = post.text
    if "created_time" in fields:
        answer["created_time"] = graph_time(post.received_at)
    return JSONResponse(answer | _counts(post, fields))


def _counts(post: SandboxPost, fields: list[str]) -> dict[str, Any]:
    """The totals a post's own fields carry (`reactions.summary(total_count)`, ...)."""
    counts = post_numbers(post.id, time.time() - post.received_at)
    answer: dict[str, Any] = {}
    for edge, name in (("reactions", "likes"), ("comments", "comments")):
        if any(f.split(".")[0] == edge for f in fields):
            answer[edge] = {"data": [], "summary": {"total_count": counts[name]}}
    if "shares" in fields:
        answer["shares"] = {"count": counts["shares"]}
    return answer


def _store_post(
    request: Request, page_id: str, message: str, *, media: list[str], link: str | None
) -> SandboxPost:
    state = _state(request)
    post_id = f"{page_id}_{state.next_id()}"
    post = SandboxPost(
        platform="facebook",
        account=page_id,
        id=post_id,
        text=message,
        media=media,
        link=link,
        received_at=time.time(),
        url=f"{request.app.state.public_url}/facebook/p/{post_id}",
    )
    state.posts.append(post)
    return post


def _read_page(request: Request, params: dict[str, Any], page_id: str) -> JSONResponse:
    """A Page read with its own Page token (`GET /{page-id}?fields=id,name`, a connection's
    health check). Graph checks the token before it looks for the object."""
    token = request_token(request, params)
    claims = token_claims(request, token) if token else None
    if token and (claims is None or claims.platform != "facebook"):
        return graph_error(
            190, "Error validating access token: the session is invalid.", subcode=467
        )
    if claims is None or claims.subject != page_id:
        return graph_error(
            100,
            f"Unsupported get request. Object with ID '{page_id}' does not exist.",
            subcode=33,
            type_="GraphMethodException",
        )
    if (refused := _spend_call(request, page_id)) is not None:
        return refused
    fields = str(params.get("fields", "id,name")).split(",")
    return JSONResponse(
        {"id": page_id} | ({"name": page_name(page_id)} if "name" in fields else {})
    )


# The Pages each sandbox person manages, as /me/accounts lists them ---------------------------


@dataclass(frozen=True)
class InstagramAccount:
    id: str
    username: str


@dataclass(frozen=True)
class Page:
    id: str
    name: str
    instagram: InstagramAccount | None = None  # the Page's instagram_business_account


# Two Pages, one of them without an Instagram business account, as many Pages have none.
DEFAULT_PAGES = (
    Page(
        "100000000000011",
        "Sandbox Bakery",
        InstagramAccount("17841400000000011", "sandbox_bakery"),
    ),
    Page("100000000000012", "Sandbox Bistro"),
)
_PAGE_NAMES = {page.id: page.name for page in DEFAULT_PAGES}
_USERNAMES = {
    page.instagram.id: page.instagram.username for page in DEFAULT_PAGES if page.instagram
}


def managed_pages(user: str) -> tuple[Page, ...]:
    """The default person's two Pages; anyone else (`sandbox_user=<id>`) manages one Page, with
    an Instagram account, whose ids derive from theirs: the same person always has the same."""
    if user == DEFAULT_USER:
        return DEFAULT_PAGES
    digits = int(hashlib.sha256(user.encode()).hexdigest(), 16) % 10**12
    page_id = f"109{digits:012d}"
    instagram_id = f"1784140{page_id[-10:]}"
    instagram = InstagramAccount(instagram_id, instagram_username(instagram_id))
    return (Page(page_id, page_name(page_id), instagram),)


def page_name(page_id: str) -> str:
    return _PAGE_NAMES.get(page_id) or f"Sandbox Page {page_id[-4:]}"


def instagram_username(instagram_id: str) -> str:
    return _USERNAMES.get(instagram_id) or f"sandbox_{instagram_id[-4:]}"


Check = Callable[[Request, dict[str, Any]], JSONResponse | None]
Authorize = Callable[[Request, dict[str, Any], str], JSONResponse | None]
Refusal = Callable[[Request, dict[str, Any], str | None, str, str], JSONResponse | None]


def graph_refusal(bad_token: Check, authorize: Authorize) -> Refusal:
    """A Graph stand-in's refusal of a call on an object (Facebook's, Instagram's), from its
    own token checks."""

    def refusal(
        request: Request, params: dict[str, Any], owner: str | None, object_id: str, verb: str
    ) -> JSONResponse | None:
        """Graph's answer for an object that does not exist (a bad token is named first) or
        is not the token's own; None when the call may go on."""
        if owner is None:
            return bad_token(request, params) or no_such_object(object_id, verb)
        return authorize(request, params, owner)

    return refusal


_refusal = graph_refusal(_bad_token, _authorize)
