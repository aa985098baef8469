"""X's OAuth 2.0 with PKCE (docs/platforms.md §5): authorize, token, revoke, users/me.

Access tokens last two hours and refresh tokens are single use: a spent one is refused with
X's own answer, so a client that refreshes twice at once loses the account here as it would
on X.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox import oauth
from sandbox.tokens import token_claims

router = APIRouter(prefix="/x", tags=["x login"])

ACCESS_TTL = 7200
SCOPE = "tweet.read tweet.write users.read offline.access media.write"
# The sandbox user's X id; anyone else logs in with `sandbox_user=<id>` and is that id.
DEFAULT_ID = "1600000000000000001"
INVALID_TOKEN = "Value passed for the token was invalid."


def user_id(user: str) -> str:
    return DEFAULT_ID if user == oauth.DEFAULT_USER else user


def _refused(description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "error_description": description}, 400)


def _client(request: Request, form: Any) -> str | None:
    """The client id, from HTTP Basic (confidential clients) or the form (public clients)."""
    client_id, secret = oauth.basic_credentials(request)
    if client_id is not None:
        return client_id if oauth.client_ok(request, client_id, secret) else None
    candidate = form.get("client_id")
    return candidate if oauth.client_ok(request, candidate) else None


def _pair(request: Request, subject: str) -> dict[str, Any]:
    return {
        "token_type": "bearer",
        "expires_in": ACCESS_TTL,
        "access_token": oauth.access_token(request, "x", subject, ACCESS_TTL),
        "scope": SCOPE,
        "refresh_token": oauth.refresh_token(request, "x", subject, rotates=True),
    }


@router.get("/i/oauth2/authorize", include_in_schema=False)
async def authorize(request: Request) -> Response:
    answer = oauth.consent(request, "x", pkce_required=True)
    if isinstance(answer, str):
        return JSONResponse({"error": "invalid_request", "error_description": answer}, 400)
    return answer


@router.post("/2/oauth2/token")
async def token(request: Request) -> JSONResponse:
    form = await request.form()
    client_id = _client(request, form)
    if client_id is None:
        return JSONResponse(
            {
                "error": "unauthorized_client",
                "error_description": "Missing valid authorization header",
            },
            401,
        )
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        grant = oauth.redeem(
            request,
            "x",
            code=str(form.get("code", "")),
            client_id=client_id,
            redirect_uri=str(form.get("redirect_uri", "")),
            verifier=str(form.get("code_verifier", "")),
        )
        if grant is None:
            return _refused(INVALID_TOKEN)
        return JSONResponse(_pair(request, user_id(grant.user)))
    if grant_type == "refresh_token":
        refresh = oauth.use_refresh_token(request, "x", str(form.get("refresh_token", "")))
        if refresh is None:
            return _refused(INVALID_TOKEN)
        return JSONResponse(_pair(request, refresh.subject))
    return _refused("Missing required parameter [grant_type].")


@router.post("/2/oauth2/revoke")
async def revoke(request: Request) -> JSONResponse:
    form = await request.form()
    if _client(request, form) is None:
        return JSONResponse({"error": "unauthorized_client"}, 401)
    oauth.revoke(request, str(form.get("token", "")))
    return JSONResponse({"revoked": True})


@router.get("/2/users/me")
async def me(request: Request) -> JSONResponse:
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    claims = token_claims(request, bearer) if scheme.lower() == "bearer" else None
    if claims is None or claims.platform != "x":
        return JSONResponse(
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
            401,
        )
    subject = claims.subject
    return JSONResponse(
        {
            "data": {
                "id": subject,
                "name": f"Sandbox {subject[-4:]}",
                "username": f"sandbox_{subject[-4:]}",
            }
        }
    )
