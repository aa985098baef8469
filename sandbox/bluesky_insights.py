"""The AppView's views that carry Bluesky's public counts (docs/platforms.md §16.7), as a PDS
proxies them: `app.bsky.feed.getPosts?uris=…` (up to 25) answers each post the sandbox holds
with its likes, reposts, replies, quotes and bookmarks, and leaves out one it does not, as the
AppView does; `app.bsky.actor.getProfile?actor=…` answers the account's followers now. Numbers
from sandbox/metrics_numbers.py. Both need the account's access token, as sandbox/bluesky.py's
calls do.

A post's id here is its at:// URI, which `/_control/posts/{id}/age` cannot carry in its path,
so `POST /_control/bluesky/posts/age` makes a post older by its URI in the body."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox import bluesky
from sandbox.logins.bluesky import INVALID_HANDLE, _handles
from sandbox.metrics_numbers import day_numbers, post_numbers
from sandbox.state import SandboxPost

router = APIRouter(prefix="/bluesky", tags=["bluesky"])
control = APIRouter(prefix="/_control/bluesky", tags=["control"])

MAX_URIS = 25  # getPosts: uris, at most 25


@router.get("/xrpc/app.bsky.feed.getPosts")
async def get_posts(request: Request) -> JSONResponse:
    state = bluesky._state(request)
    did = "anonymous"
    try:
        did = bluesky._authorize(request)
        uris = request.query_params.getlist("uris")
        if not uris or len(uris) > MAX_URIS:
            raise bluesky.XrpcRefusal(
                400, "InvalidRequest", f"uris must hold 1 to {MAX_URIS} at-uris"
            )
        if bad := [u for u in uris if not u.startswith("at://")]:
            raise bluesky.XrpcRefusal(400, "InvalidRequest", f"uris must be at-uris: {bad}")
    except bluesky.XrpcRefusal as refusal:
        return bluesky._refused(state, did, refusal)
    held = {p.id: p for p in state.posts_for("bluesky")}
    views = [_view(request, held[uri]) for uri in uris if uri in held]
    return bluesky._answer(state, did, {"posts": views})


def _view(request: Request, post: SandboxPost) -> dict[str, Any]:
    """app.bsky.feed.defs#postView, with the counts the AppView adds to the record."""
    counts = post_numbers(post.id, time.time() - post.received_at)
    stored = bluesky._state(request).media.get(f"bluesky:record:{post.id}") or {}
    indexed = datetime.fromtimestamp(post.received_at, UTC).isoformat(timespec="milliseconds")
    quotes = counts["shares"] // 4
    return {
        "uri": post.id,
        "cid": stored.get("cid"),
        "author": {"did": post.account, "handle": _handle(request, post.account)},
        "record": stored.get("value") or {"$type": bluesky.POST, "text": post.text},
        "indexedAt": indexed.replace("+00:00", "Z"),
        "likeCount": counts["likes"],
        "repostCount": counts["shares"] - quotes,
        "replyCount": counts["comments"],
        "quoteCount": quotes,
        "bookmarkCount": counts["saves"],
    }


@router.get("/xrpc/app.bsky.actor.getProfile")
async def get_profile(request: Request, actor: str = "") -> JSONResponse:
    state = bluesky._state(request)
    did = "anonymous"
    try:
        did = bluesky._authorize(request)
        if not (bluesky.DID.match(actor) or bluesky.HANDLE.match(actor)):
            raise bluesky.XrpcRefusal(400, "InvalidRequest", "actor must be a did or a handle")
    except bluesky.XrpcRefusal as refusal:
        return bluesky._refused(state, did, refusal)
    subject = actor if actor.startswith("did:") else _did_of(request, actor)
    if subject is None:
        body = {"error": "InvalidRequest", "message": "Profile not found"}
        return bluesky._answer(state, did, body, 400)
    counts = day_numbers(subject, datetime.now(UTC).date())
    profile = {
        "did": subject,
        "handle": _handle(request, subject),
        "followersCount": counts["followers"],
        "followsCount": counts["followers"] // 20,
        "postsCount": len(state.posts_for("bluesky", subject)),
    }
    return bluesky._answer(state, did, profile)


def _handle(request: Request, did: str) -> str:
    """The account's handle, from the sessions' accounts (sandbox/logins/bluesky.py)."""
    return _handles(request).get(did, INVALID_HANDLE)


def _did_of(request: Request, handle: str) -> str | None:
    wanted = handle.lower()
    return next((did for did, known in _handles(request).items() if known == wanted), None)


class AgeIn(BaseModel):
    uri: str
    seconds: float = Field(ge=0, le=400 * 86400)


@control.post("/posts/age")
async def age_post(body: AgeIn, request: Request) -> dict[str, Any]:
    """As `/_control/posts/{id}/age`, for a post named by its at:// URI."""
    post = next((p for p in bluesky._state(request).posts_for("bluesky") if p.id == body.uri), None)
    if post is None:
        raise HTTPException(404, f"no post {body.uri}")
    post.received_at = time.time() - body.seconds
    return {"data": post.public()}
