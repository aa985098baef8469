"""The sandbox's control API: tests inject faults, issue tokens and count what was posted."""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from sandbox.state import Fault, SandboxState
from sandbox.tokens import issue_token

router = APIRouter(prefix="/_control", tags=["control"])


class FaultIn(BaseModel):
    method: str = "*"
    path: str = Field(description="regular expression searched in the request path")
    times: int = Field(default=1, ge=1)
    status: int = Field(default=500, ge=100, le=599)
    body: dict[str, Any] | None = None
    delay: float = Field(default=0.0, ge=0, le=600)
    headers: dict[str, str] = {}
    accept_then_drop: bool = Field(
        default=False,
        description="handle the call for real, then break the connection mid-answer",
    )
    accept_then_stall: bool = Field(
        default=False,
        description="handle the call for real, then hold the answer back `delay` seconds",
    )
    probability: float = Field(
        default=1.0, gt=0, le=1, description="strike this share of matching calls, at random"
    )


class TokenIn(BaseModel):
    platform: str
    subject: str
    expires_at: int = 0


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


@router.post("/faults")
async def add_fault(fault: FaultIn, request: Request) -> dict[str, Any]:
    _state(request).faults.append(Fault(**fault.model_dump()))
    return {"data": fault.model_dump()}


@router.post("/tokens")
async def make_token(claims: TokenIn, request: Request) -> dict[str, Any]:
    token = issue_token(
        request.app.state.secret, claims.platform, claims.subject, expires_at=claims.expires_at
    )
    return {"data": {"access_token": token}}


@router.get("/posts")
async def list_posts(
    request: Request, platform: str | None = None, account: str | None = None
) -> dict[str, Any]:
    posts = _state(request).posts_for(platform, account)
    return {"data": [post.public() for post in posts], "meta": {"count": len(posts)}}


class AgeIn(BaseModel):
    seconds: float = Field(ge=0, le=400 * 86400)


@router.post("/posts/{post_id}/age")
async def age_post(post_id: str, body: AgeIn, request: Request) -> dict[str, Any]:
    """Make a post `seconds` old, as if time had passed: its metrics grow with its age
    (sandbox/metrics_numbers.py), and a test cannot wait a day for them."""
    post = next((p for p in _state(request).posts if p.id == post_id), None)
    if post is None:
        raise HTTPException(404, f"no post {post_id}")
    post.received_at = time.time() - body.seconds
    return {"data": post.public()}


@router.get("/calls")
async def list_calls(request: Request, method: str = "*", path: str = "") -> dict[str, Any]:
    """The platform calls received, filtered by method and a regular expression on the path."""
    calls = [
        {"method": m, "path": p, "at": at}
        for m, p, at in _state(request).calls
        if method in ("*", m) and re.search(path, p)
    ]
    return {"data": calls, "meta": {"count": len(calls)}}


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    _state(request).reset()
    return {"data": {"reset": True}}
