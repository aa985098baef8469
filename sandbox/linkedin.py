"""Posts API stand-in (docs/platforms.md §4): the same paths, headers, bodies and errors.

Images follow LinkedIn's states: WAITING_UPLOAD until the PUT, then PROCESSING for the seconds
a test asks for (header `X-Sandbox-Processing-Seconds` on initializeUpload, default 0), then
AVAILABLE, or PROCESSING_FAILED when the bytes are not a JPEG, PNG or GIF. Videos (the Videos
API, uploaded in parts) are sandbox/linkedin_video.py, joined to this router; a post carries
one AVAILABLE video alone, in `content.media`.

Posts read back as the Posts API gives them: one by its URN (`GET /rest/posts/{urn}`), or an
author's ("find posts by authors", `GET /rest/posts?q=author&author=`, start/count paging,
sortBy LAST_MODIFIED or CREATED, newest first). A member's posts answer 403, as they do for
apps without the private r_member_social permission, like their images.

Comments on a post (Comments API, `/rest/socialActions/{post urn}/comments`) are written by an
actor the token acts for, kept as LinkedIn answers them, and listed with start/count paging; a
member's post's comments answer 403 like its posts. Each is also a sandbox post of kind
"comment" answering the post, so the control API lists it.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import TokenClaims, token_claims, verify_token

router = APIRouter(prefix="/linkedin", tags=["linkedin"])

MAX_COMMENTARY = 3000
MAX_COMMENT = 1250  # (U): API clients' documented limit; the Comments API reference states none
AUTHOR = re.compile(r"urn:li:(organization|person):[\w-]+")
MAX_IMAGES = 20
# Versions live about a year; the sandbox accepts those released in 2025 and 2026.
SUPPORTED_VERSIONS = frozenset(f"{y}{m:02d}" for y in (2025, 2026) for m in range(1, 13))
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8")
# Sample media the sandbox serves for tests, so an upload needs no outside host.
SAMPLE_MEDIA = {
    "photo.jpg": (b"\xff\xd8\xff\xe0sandbox-jpeg\xff\xd9", "image/jpeg"),
    "photo.png": (b"\x89PNG\r\n\x1a\nsandbox-png", "image/png"),
    "notes.txt": (b"not an image", "text/plain"),
}
MENTION = re.compile(r"@\[[^\]\n]+\]\(urn:li:(?:person|organization):[^)\s]+\)")
# What a mention may name: an organization (numeric id) or a member (docs/platforms.md §4).
MENTIONABLE = re.compile(r"urn:li:organization:\d+|urn:li:person:[A-Za-z0-9_-]+")
RESERVED = set("|{}@[]()<>#*_~")
# A member's token acts for the organizations where they hold a role that may post
# (organizationalEntityAcls), as on LinkedIn. The sandbox user is DEFAULT_MEMBER (their OpenID
# `sub`); a token seeded for an organization URN acts for that organization alone.
DEFAULT_MEMBER = "sbxMember01"
ORGANIZATIONS: dict[str, tuple[str, str]] = {  # id → (localizedName, vanityName)
    "101": ("Sandbox Bakery", "sandbox-bakery"),
    "102": ("Sandbox Bakery Careers", "sandbox-bakery-careers"),
    "103": ("Sandbox Flour Mill", "sandbox-flour-mill"),
}
ROLES: dict[str, tuple[tuple[str, str], ...]] = {  # member URN → (organization URN, role)
    f"urn:li:person:{DEFAULT_MEMBER}": (
        ("urn:li:organization:101", "ADMINISTRATOR"),
        ("urn:li:organization:102", "CONTENT_ADMINISTRATOR"),
        ("urn:li:organization:103", "ANALYST"),  # reads the Page's analytics, may not post
    )
}
POSTING_ROLES = frozenset({"ADMINISTRATOR", "CONTENT_ADMINISTRATOR"})
# The finder's default page, and the most it serves in one (larger counts are cut to it) (U).
DEFAULT_COUNT = 10
MAX_COUNT = 100
SORT_ORDERS = frozenset({"LAST_MODIFIED", "CREATED"})


def li_error(
    status: int, message: str, *, code: str | None = None, service_code: int | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    if code is not None:
        body["code"] = code
    return JSONResponse(body, status_code=status)


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _versioned(request: Request) -> JSONResponse | None:
    version = request.headers.get("linkedin-version", "")
    if version not in SUPPORTED_VERSIONS:
        return li_error(
            426,
            f"Requested version {version or '(none)'} is not active",
            code="NONEXISTENT_VERSION",
        )
    if request.headers.get("x-restli-protocol-version") != "2.0.0":
        return li_error(400, "X-Restli-Protocol-Version 2.0.0 is required", code="BAD_REQUEST")
    return None


def bearer_claims(request: Request) -> TokenClaims | JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    secret = request.app.state.secret
    if token in request.app.state.sandbox.oauth.revoked:
        return li_error(
            401,
            "The token used in the request has been revoked by the user",
            code="REVOKED_ACCESS_TOKEN",
            service_code=65601,
        )
    claims = token_claims(request, token) if scheme.lower() == "bearer" else None
    if claims is not None and claims.platform == "linkedin":
        return claims
    # Checked again ignoring expiry, to tell an expired token from a forged one.
    if claims is None and verify_token(secret, token, now=0) is not None:
        return li_error(
            401,
            "The token used in the request has expired",
            code="EXPIRED_ACCESS_TOKEN",
            service_code=65602,
        )
    return li_error(401, "Invalid access token", service_code=65600)


def acts_for(subject: str, owner: str) -> bool:
    return subject == owner or any(
        target == owner and role in POSTING_ROLES for target, role in ROLES.get(subject, ())
    )


def _authorize(request: Request, owner: str, action: str) -> JSONResponse | None:
    claims = bearer_claims(request)
    if isinstance(claims, JSONResponse):
        return claims
    if not acts_for(claims.subject, owner):
        return li_error(403, f"Not enough permissions to access: {action}", code="ACCESS_DENIED")
    return None


def read_little_text(commentary: str) -> str:
    """What a reader sees: escapes undone, and the text cut at an unescaped reserved character,
    as LinkedIn silently does (the commonly reported symptom of missing escapes)."""
    seen: list[str] = []
    index = 0
    while index < len(commentary):
        if mention := MENTION.match(commentary, index):
            seen.append(mention.group())
            index = mention.end()
        elif commentary[index] == "\\" and index + 1 < len(commentary):
            seen.append(commentary[index + 1])
            index += 2
        elif commentary[index] in RESERVED:
            break
        else:
            seen.append(commentary[index])
            index += 1
    return "".join(seen)


def _image_status(image: dict[str, Any]) -> str:
    if image["uploaded_at"] is None:
        return "WAITING_UPLOAD"
    if time.time() < image["uploaded_at"] + image["processing_seconds"]:
        return "PROCESSING"
    return "PROCESSING_FAILED" if image["failure"] else "AVAILABLE"


@router.get("/media/{name}", include_in_schema=False)
async def sample_media(name: str) -> Response:
    if name not in SAMPLE_MEDIA:
        return Response(status_code=404)
    data, media_type = SAMPLE_MEDIA[name]
    return Response(data, media_type=media_type)


@router.post("/rest/images")
async def initialize_upload(request: Request, action: str = "") -> JSONResponse:
    if (refused := _versioned(request)) is not None:
        return refused
    if action != "initializeUpload":
        return li_error(400, f"Unsupported action: {action or '(none)'}", code="BAD_REQUEST")
    body = await _json(request)
    owner = str((body.get("initializeUploadRequest") or {}).get("owner", ""))
    if not owner:
        return li_error(422, "/initializeUploadRequest/owner :: field is required")
    if (refused := _authorize(request, owner, "POST /rest/images")) is not None:
        return refused
    try:
        processing = float(request.headers.get("x-sandbox-processing-seconds", "0"))
    except ValueError:
        processing = 0.0
    state = _state(request)
    key = state.next_id()
    urn = f"urn:li:image:C{key}"
    state.media[urn] = {
        "platform": "linkedin",
        "owner": owner,
        "uploaded_at": None,
        "processing_seconds": min(max(processing, 0.0), 600.0),
        "failure": None,
    }
    return JSONResponse(
        {
            "value": {
                "uploadUrlExpiresAt": int((time.time() + 3600) * 1000),
                "uploadUrl": f"{request.app.state.public_url}/linkedin/uploads/{urn}",
                "image": urn,
            }
        }
    )


@router.put("/uploads/{urn}")
async def upload(urn: str, request: Request) -> Response:
    image = _state(request).media.get(urn)
    if image is None or image.get("platform") != "linkedin":
        return li_error(404, f"No upload pending for {urn}")
    if (refused := _authorize(request, image["owner"], "PUT upload")) is not None:
        return refused
    data = await request.body()
    image["uploaded_at"] = time.time()
    if not data.startswith(IMAGE_MAGIC):
        image["failure"] = "The uploaded file is not a supported image (JPEG, PNG or GIF)"
    return Response(status_code=201)


@router.get("/rest/images/{urn}")
async def read_image(urn: str, request: Request) -> JSONResponse:
    if (refused := _versioned(request)) is not None:
        return refused
    image = _state(request).media.get(urn)
    if image is None or image.get("platform") != "linkedin":
        return li_error(404, f"Not found: {urn}", code="NOT_FOUND")
    if (refused := _authorize(request, image["owner"], f"GET /rest/images/{urn}")) is not None:
        return refused
    if image["owner"].startswith("urn:li:person:"):
        # w_member_social tokens cannot read images back (docs/platforms.md §4).
        return li_error(403, f"Not enough permissions to access: {urn}", code="ACCESS_DENIED")
    answer: dict[str, Any] = {"id": urn, "owner": image["owner"], "status": _image_status(image)}
    if answer["status"] == "PROCESSING_FAILED":
        answer["processingFailureReason"] = image["failure"]
    return JSONResponse(answer)


def _content_images(
    state: SandboxState, author: str, content: dict[str, Any]
) -> list[str] | JSONResponse:
    if "media" in content:
        ids = [str((content["media"] or {}).get("id", ""))]
    elif "multiImage" in content:
        ids = [str(i.get("id", "")) for i in (content["multiImage"] or {}).get("images", [])]
        if not 2 <= len(ids) <= MAX_IMAGES:
            return li_error(422, f"/content/multiImage/images :: takes 2 to {MAX_IMAGES} images")
    else:
        return []
    for urn in ids:
        media = state.media.get(urn)
        if media is None or media.get("platform") != "linkedin" or media["owner"] != author:
            return li_error(422, f"/content :: {urn} is not an image or video of {author}")
        video = media.get("kind") == "video"
        if video and "multiImage" in content:
            return li_error(422, f"/content/multiImage :: {urn} is a video; images only")
        status = linkedin_video.video_status(media) if video else _image_status(media)
        if status != "AVAILABLE":
            return li_error(422, f"/content :: {urn} is {status}, not AVAILABLE")
    return ids


def _image_alts(content: dict[str, Any]) -> list[str | None]:
    """Each image's `altText` as the post carries it (docs/platforms.md §4)."""
    if "media" in content:
        return [(content["media"] or {}).get("altText")]
    return [i.get("altText") for i in (content.get("multiImage") or {}).get("images", [])]


@router.post("/rest/posts")
async def create_post(request: Request) -> Response:
    if (refused := _versioned(request)) is not None:
        return refused
    body = await _json(request)
    author = str(body.get("author", ""))
    if not re.fullmatch(r"urn:li:(organization|person):[\w-]+", author):
        return li_error(422, "/author :: must be an organization or person URN")
    if (refused := _authorize(request, author, "POST /rest/posts")) is not None:
        return refused
    for field in ("commentary", "visibility", "distribution", "lifecycleState"):
        if field not in body:
            return li_error(422, f"/{field} :: field is required")
    if body["lifecycleState"] != "PUBLISHED":
        return li_error(422, "/lifecycleState :: only PUBLISHED is supported")
    text = read_little_text(str(body["commentary"]))
    for mention in MENTION.finditer(str(body["commentary"])):
        urn = mention.group().split("](", 1)[1][:-1]
        if not MENTIONABLE.fullmatch(urn):
            return li_error(422, f"/commentary :: mention of {urn}, not an organization or member")
    if len(text) > MAX_COMMENTARY:
        return li_error(422, f"/commentary :: length {len(text)} exceeds {MAX_COMMENTARY}")
    state = _state(request)
    content = body.get("content") or {}
    images = _content_images(state, author, content)
    if isinstance(images, JSONResponse):
        return images
    link = (content.get("article") or {}).get("source")
    if "article" in content and not str(link or "").startswith(("http://", "https://")):
        return li_error(422, "/content/article/source :: must be an http(s) URL")
    # Looked up, not scanned: a burst's thousandth post must not cost the sandbox a thousand
    # comparisons (bench/README.md); LinkedIn's own check costs the caller nothing either.
    earlier: dict[tuple[str, str], str] = state.extras.setdefault("linkedin_texts", {})
    if text and (same := earlier.get((author, text))):
        return li_error(422, f"Content is a duplicate of {same}")
    urn = f"urn:li:share:{state.next_id()}"
    if text:
        earlier[(author, text)] = urn
    now = time.time()
    # Kept as LinkedIn answers it on a read: the commentary as sent (little text), the content.
    created = int(now * 1000)
    _stored(state)[urn] = (
        {
            key: body[key]
            for key in ("author", "commentary", "visibility", "distribution", "lifecycleState")
        }
        | {
            "id": urn,
            "isReshareDisabledByAuthor": bool(body.get("isReshareDisabledByAuthor", False)),
            "createdAt": created,
            "lastModifiedAt": created,
            "publishedAt": created,
            "lifecycleStateInfo": {"isEditedByAuthor": False},
        }
        | ({"content": content} if content else {})
    )
    state.posts.append(
        SandboxPost(
            platform="linkedin",
            account=author,
            id=urn,
            text=text,
            media=images,
            link=str(link) if link else None,
            received_at=now,
            url=f"https://www.linkedin.com/feed/update/{urn}",
            alt=_image_alts(content),
        )
    )
    return Response(status_code=201, headers={"x-restli-id": urn})


def _stored(state: SandboxState) -> dict[str, dict[str, Any]]:
    posts: dict[str, dict[str, Any]] = state.extras.setdefault("linkedin_posts", {})
    return posts


def _readable(request: Request, author: str, action: str) -> JSONResponse | None:
    """Refuses a read LinkedIn would refuse: another's token, or a member's posts."""
    if (refused := _authorize(request, author, action)) is not None:
        return refused
    if author.startswith("urn:li:person:"):
        return li_error(403, f"Not enough permissions to access: {action}", code="ACCESS_DENIED")
    return None


@router.get("/rest/posts")
async def find_posts(
    request: Request,
    q: str = "",
    author: str = "",
    start: int = 0,
    count: int = DEFAULT_COUNT,
    sort_by: str = Query("LAST_MODIFIED", alias="sortBy"),
) -> JSONResponse:
    if (refused := _versioned(request)) is not None:
        return refused
    if q != "author":
        return li_error(400, f"Unsupported finder: {q or '(none)'}", code="BAD_REQUEST")
    if not re.fullmatch(r"urn:li:(organization|person):[\w-]+", author):
        return li_error(400, "author :: must be an organization or person URN", code="BAD_REQUEST")
    if sort_by not in SORT_ORDERS:
        return li_error(400, f"sortBy :: {sort_by} is not one of {sorted(SORT_ORDERS)}")
    if start < 0 or count < 1:
        return li_error(400, "start must not be negative, count must be positive")
    action = "partnerApiPostsExternal.FINDER-author"
    if (refused := _readable(request, author, action)) is not None:
        return refused
    stored = _stored(_state(request))
    key = "createdAt" if sort_by == "CREATED" else "lastModifiedAt"
    # Newest first; of two in the same millisecond, the later made comes first.
    posts = sorted(
        (post for post in reversed(stored.values()) if post["author"] == author),
        key=lambda post: post[key],
        reverse=True,
    )
    count = min(count, MAX_COUNT)
    page = posts[start : start + count]
    links: list[dict[str, str]] = []
    if start + count < len(posts):
        query = urlencode(
            {
                "author": author,
                "count": count,
                "q": "author",
                "sortBy": sort_by,
                "start": start + count,
            }
        )
        links.append({"type": "application/json", "rel": "next", "href": f"/rest/posts?{query}"})
    paging = {"start": start, "count": count, "links": links, "total": len(posts)}
    return JSONResponse({"paging": paging, "elements": page})


@router.get("/rest/posts/{urn}")
async def read_post(urn: str, request: Request) -> JSONResponse:
    if (refused := _versioned(request)) is not None:
        return refused
    post = _stored(_state(request)).get(urn)
    if post is None:
        return li_error(404, f"Not found: {urn}", code="NOT_FOUND")
    if (refused := _readable(request, post["author"], "partnerApiPostsExternal.GET")) is not None:
        return refused
    return JSONResponse(post)


def _comments(state: SandboxState) -> dict[str, list[dict[str, Any]]]:
    """Each post's comments, in the order they were made."""
    comments: dict[str, list[dict[str, Any]]] = state.extras.setdefault("linkedin_comments", {})
    return comments


@router.post("/rest/socialActions/{target}/comments")
async def create_comment(target: str, request: Request) -> Response:
    if (refused := _versioned(request)) is not None:
        return refused
    body = await _json(request)
    actor = str(body.get("actor", ""))
    if not AUTHOR.fullmatch(actor):
        return li_error(422, "/actor :: must be an organization or person URN")
    if (refused := _authorize(request, actor, "POST /rest/socialActions/comments")) is not None:
        return refused
    state = _state(request)
    if target not in _stored(state):
        return li_error(404, f"Not found: {target}", code="NOT_FOUND")
    if body.get("object") != target:
        return li_error(422, f"/object :: must be {target}, the entity commented on")
    text = str((body.get("message") or {}).get("text") or "")
    if not text.strip():
        return li_error(422, "/message/text :: field is required")
    if len(text) > MAX_COMMENT:
        return li_error(422, f"/message/text :: length {len(text)} exceeds {MAX_COMMENT}")
    comment_id = state.next_id()
    urn = f"urn:li:comment:({target},{comment_id})"
    now = time.time()
    stamp = {"actor": actor, "time": int(now * 1000)}
    comment = {
        "actor": actor,
        "id": comment_id,
        "commentUrn": urn,
        "$URN": urn,
        "object": target,
        "message": {"text": text},
        "created": stamp,
        "lastModified": stamp,
    }
    _comments(state).setdefault(target, []).append(comment)
    state.posts.append(
        SandboxPost(
            platform="linkedin",
            account=actor,
            id=urn,
            text=text,
            received_at=now,
            url=f"https://www.linkedin.com/feed/update/{target}?commentUrn={quote(urn, safe='')}",
            kind="comment",
            reply_to=target,
        )
    )
    return JSONResponse(comment, status_code=201, headers={"x-restli-id": comment_id})


@router.get("/rest/socialActions/{target}/comments")
async def list_comments(
    target: str, request: Request, start: int = 0, count: int = DEFAULT_COUNT
) -> JSONResponse:
    if (refused := _versioned(request)) is not None:
        return refused
    state = _state(request)
    post = _stored(state).get(target)
    if post is None:
        return li_error(404, f"Not found: {target}", code="NOT_FOUND")
    action = "partnerApiSocialActions.GET_ALL-comments"
    if (refused := _readable(request, post["author"], action)) is not None:
        return refused
    if start < 0 or count < 1:
        return li_error(400, "start must not be negative, count must be positive")
    comments = _comments(state).get(target, [])
    count = min(count, MAX_COUNT)
    links: list[dict[str, str]] = []
    if start + count < len(comments):
        query = urlencode({"count": count, "start": start + count})
        href = f"/rest/socialActions/{quote(target, safe='')}/comments?{query}"
        links.append({"type": "application/json", "rel": "next", "href": href})
    paging = {"start": start, "count": count, "links": links, "total": len(comments)}
    return JSONResponse({"paging": paging, "elements": comments[start : start + count]})


# The Videos API uses the checks above, so its module is imported once they exist.
from sandbox import linkedin_video  # noqa: E402

router.include_router(linkedin_video.router)
