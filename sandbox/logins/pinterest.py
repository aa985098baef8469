"""Pinterest's OAuth 2.0 (docs/platforms.md §8): the consent page and `POST /v5/oauth/token`.

The app authenticates with HTTP Basic. Access tokens last 30 days and refresh tokens a year; a
refresh answers with a new access token and, here, no new refresh token (Pinterest sometimes
sends one), so the refresh token is not single use. Pinterest documents no revocation for user
tokens (its revoke endpoint serves system users only), so none is served. The account and
board reads the connect flow makes live with the pins in sandbox/pinterest.py, which accepts
the access tokens issued here for the user's own boards.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox import oauth
from sandbox.pinterest import DEFAULT_USERNAME, error, user_subject

router = APIRouter(prefix="/pinterest", tags=["pinterest login"])

ACCESS_TTL = 2_592_000
REFRESH_TTL = 31_536_000
SCOPE = "boards:read,pins:read,pins:write,user_accounts:read"


def username(user: str) -> str:
    return DEFAULT_USERNAME if user == oauth.DEFAULT_USER else user


def _access(request: Request, subject: str, response_type: str) -> dict[str, Any]:
    return {
        "access_token": oauth.access_token(request, "pinterest", subject, ACCESS_TTL),
        "response_type": response_type,
        "token_type": "bearer",
        "expires_in": ACCESS_TTL,
        "scope": SCOPE,
    }


@router.get("/oauth/", include_in_schema=False)
async def authorize(request: Request) -> Response:
    answer = oauth.consent(request, "pinterest")
    if isinstance(answer, str):
        # Pinterest shows an error page here; the sandbox says what was wrong.
        return error(400, 1, f"Invalid parameters: {answer}.")
    return answer


@router.post("/v5/oauth/token")
async def token(request: Request) -> JSONResponse:
    client_id, secret = oauth.basic_credentials(request)
    if client_id is None or not oauth.client_ok(request, client_id, secret):
        return error(401, 2, "Authentication failed.")
    form = await request.form()
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        grant = oauth.redeem(
            request,
            "pinterest",
            code=str(form.get("code", "")),
            client_id=client_id,
            redirect_uri=str(form.get("redirect_uri", "")),
            verifier=str(form.get("code_verifier", "")),
        )
        if grant is None:
            return error(400, 1, "Invalid parameters: the authorization code is not valid.")
        subject = user_subject(username(grant.user))
        answer = _access(request, subject, "authorization_code")
        answer["refresh_token"] = oauth.refresh_token(
            request, "pinterest", subject, rotates=False, ttl=REFRESH_TTL
        )
        answer["refresh_token_expires_in"] = REFRESH_TTL
        return JSONResponse(answer)
    if grant_type == "refresh_token":
        refresh = oauth.use_refresh_token(request, "pinterest", str(form.get("refresh_token", "")))
        if refresh is None:
            return error(400, 1, "Invalid parameters: the refresh token is not valid.")
        return JSONResponse(_access(request, refresh.subject, "refresh_token"))
    return error(400, 1, "Invalid parameters: grant_type is not supported.")
