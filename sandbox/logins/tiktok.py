"""TikTok Login Kit v2 (docs/platforms.md §9): authorize, token, revoke.

The app names itself with `client_key`, not `client_id`, and authenticates with its secret in
the form. Access tokens last 24 hours and refresh tokens a year, as TikTok's token reference
states (newer docs say 2 h / 180 d: clients must use the returned values, so either is
honest). Refresh tokens rotate: a refresh answers with a new one and the old one is refused
from then on, as TikTok documents. docs/platforms.md names no HTTP status for OAuth errors; the
sandbox sends 400 (401 for a bad client), with TikTok's `{error, error_description, log_id}`.
The identity call (`GET /v2/user/info/`) lives beside the publishing endpoints in
sandbox/tiktok.py, which also accepts the access tokens issued here.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox import oauth
from sandbox.tokens import verify_token

router = APIRouter(prefix="/tiktok", tags=["tiktok login"])

ACCESS_TTL = 86_400
REFRESH_TTL = 31_536_000
SCOPE = "user.info.basic,video.list,video.publish,video.upload"
# The sandbox user's open_id; anyone else logs in with `sandbox_user=<id>` and is that id.
DEFAULT_OPEN_ID = "5f1b7c9e-2d4a-4e8b-9c3f-000000000001"


def open_id(user: str) -> str:
    return DEFAULT_OPEN_ID if user == oauth.DEFAULT_USER else user


def _log_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:18].upper()


def _error(error: str, description: str, status: int) -> JSONResponse:
    # TikTok's OAuth error struct (developers.tiktok.com/doc/oauth-error-handling).
    body = {"error": error, "error_description": description, "log_id": _log_id()}
    return JSONResponse(body, status_code=status)


def _client(request: Request, form: Any) -> str | None:
    """The client_key, if the form also carries the app's client_secret."""
    key, secret = form.get("client_key"), form.get("client_secret")
    if not isinstance(key, str) or not isinstance(secret, str):
        return None
    return key if oauth.client_ok(request, key, secret) else None


def _pair(request: Request, subject: str) -> dict[str, Any]:
    return {
        "open_id": subject,
        "scope": SCOPE,
        "access_token": oauth.access_token(request, "tiktok", subject, ACCESS_TTL),
        "expires_in": ACCESS_TTL,
        "refresh_token": oauth.refresh_token(
            request, "tiktok", subject, rotates=True, ttl=REFRESH_TTL
        ),
        "refresh_expires_in": REFRESH_TTL,
        "token_type": "Bearer",
    }


@router.get("/v2/auth/authorize/", include_in_schema=False)
async def authorize(request: Request) -> Response:
    # Web apps may send PKCE and TikTok then holds the code to it; it does not insist on it.
    answer = oauth.consent(request, "tiktok", client_param="client_key")
    if isinstance(answer, str):
        return _error("invalid_request", answer, 400)
    return answer


@router.post("/v2/oauth/token/")
async def token(request: Request) -> JSONResponse:
    form = await request.form()
    client_key = _client(request, form)
    if client_key is None:
        return _error("invalid_client", "Client key or secret is invalid.", 401)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        grant = oauth.redeem(
            request,
            "tiktok",
            code=str(form.get("code", "")),
            client_id=client_key,
            redirect_uri=str(form.get("redirect_uri", "")),
            verifier=str(form.get("code_verifier", "")),
        )
        if grant is None:
            return _error("invalid_grant", "Authorization code is expired or invalid.", 400)
        return JSONResponse(_pair(request, open_id(grant.user)))
    if grant_type == "refresh_token":
        refresh = oauth.use_refresh_token(request, "tiktok", str(form.get("refresh_token", "")))
        if refresh is None:
            return _error("invalid_grant", "Refresh token is invalid or expired.", 400)
        return JSONResponse(_pair(request, refresh.subject))
    return _error("unsupported_grant_type", "grant_type is not supported.", 400)


@router.post("/v2/oauth/revoke/")
async def revoke(request: Request) -> JSONResponse:
    """Revoking the access token disconnects the app from the user's account, so the user's
    refresh tokens for this app die with it (TikTok's revoke reference)."""
    form = await request.form()
    if _client(request, form) is None:
        return _error("invalid_client", "Client key or secret is invalid.", 401)
    access = str(form.get("token", ""))
    # Expired tokens may be revoked too: read the claims whatever their expiry.
    claims = verify_token(request.app.state.secret, access, now=0)
    if claims is not None and claims.platform == "tiktok":
        oauth.revoke(request, access)
        for grant in oauth.store(request).refresh_tokens.values():
            if grant.platform == "tiktok" and grant.subject == claims.subject:
                grant.spent = True
    return JSONResponse({})
