"""A Bluesky PDS's sessions (docs/platforms.md §7): createSession with an app password,
refreshSession, getSession and deleteSession.

Accounts: the sandbox user is `sandbox.bsky.social` (DEFAULT_DID). Any other handle logs in
too, with the same app password, and is given a DID derived from the handle (`did_for`); a DID
is accepted as the identifier only for an account the sandbox knows. Access tokens last two
hours and refresh tokens 90 days, as on bsky.social; they are sandbox tokens, not JWTs, so a
client cannot read their `exp`. Refresh tokens rotate: once used, the old one is refused with
the PDS's own `ExpiredToken` "Token has been revoked" (the live PDS allows a short grace period
for a retried refresh; the sandbox does not). deleteSession ends the refresh token only: the
access token lives on until it expires, as it does on the PDS. sandbox/bluesky.py accepts the
access tokens issued here for the account's DID.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox import oauth
from sandbox.bluesky import XrpcRefusal, _authorize
from sandbox.state import SandboxState

router = APIRouter(prefix="/bluesky", tags=["bluesky login"])

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DEFAULT_HANDLE = "sandbox.bsky.social"
ACCESS_TTL = 7_200
REFRESH_TTL = 90 * 86_400
INVALID_HANDLE = "handle.invalid"  # what a PDS answers for an account whose handle it lost


def did_for(handle: str) -> str:
    """A did:plc for a handle: 24 base32 characters, the shape of real ones."""
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


DEFAULT_DID = did_for(DEFAULT_HANDLE)


def _handles(request: Request) -> dict[str, str]:
    """DID → handle of every account that logged in since the last reset."""
    state: SandboxState = request.app.state.sandbox
    found = state.extras.setdefault("bluesky:handles", {DEFAULT_DID: DEFAULT_HANDLE})
    assert isinstance(found, dict)
    return found


def _xrpc_error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def _session(request: Request, did: str) -> JSONResponse:
    return JSONResponse(
        {
            "did": did,
            "handle": _handles(request).get(did, INVALID_HANDLE),
            "accessJwt": oauth.access_token(request, "bluesky", did, ACCESS_TTL),
            "refreshJwt": oauth.refresh_token(
                request, "bluesky", did, rotates=True, ttl=REFRESH_TTL
            ),
            "active": True,
        }
    )


@router.post("/xrpc/com.atproto.server.createSession")
async def create_session(request: Request) -> JSONResponse:
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    identifier = body.get("identifier") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(identifier, str) or not isinstance(password, str):
        message = 'Input must have the properties "identifier" and "password"'
        return _xrpc_error(400, "InvalidRequest", message)
    handles = _handles(request)
    name = identifier.strip().lower().removeprefix("@")
    if name.startswith("did:"):
        did, handle = name, handles.get(name)
    else:
        did, handle = did_for(name), name
    if handle is None or not secrets.compare_digest(password.encode(), APP_PASSWORD.encode()):
        return _xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
    handles[did] = handle
    return _session(request, did)


@router.post("/xrpc/com.atproto.server.refreshSession")
async def refresh_session(request: Request) -> JSONResponse:
    token = _bearer(request)
    issued = oauth.store(request).refresh_tokens.get(token)
    grant = oauth.use_refresh_token(request, "bluesky", token)
    if grant is None:
        if issued is not None and issued.platform == "bluesky":
            return _xrpc_error(400, "ExpiredToken", "Token has been revoked")
        return _xrpc_error(401, "InvalidToken", "Token could not be verified")
    return _session(request, grant.subject)


@router.get("/xrpc/com.atproto.server.getSession")
async def get_session(request: Request) -> JSONResponse:
    try:
        did = _authorize(request)  # the very check createRecord makes
    except XrpcRefusal as refusal:
        return _xrpc_error(refusal.status, refusal.error, refusal.message)
    return JSONResponse(
        {"did": did, "handle": _handles(request).get(did, INVALID_HANDLE), "active": True}
    )


@router.post("/xrpc/com.atproto.server.deleteSession")
async def delete_session(request: Request) -> Response:
    # The PDS takes the refresh token here even when it has expired or was already ended.
    grant = oauth.store(request).refresh_tokens.get(_bearer(request))
    if grant is None or grant.platform != "bluesky":
        return _xrpc_error(401, "InvalidToken", "Token could not be verified")
    grant.spent = True
    return Response(status_code=200)
