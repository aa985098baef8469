"""Threads' own OAuth (docs/platforms.md §3): authorize, the code exchange, the long-lived token
exchange and its refresh. The profile read (`/v1.0/me`) lives with the API in sandbox/threads.py.

A code becomes a short-lived token (1 h), exchanged for a long-lived one (5,183,944 s, about 60
days) that refreshes itself into a new one; there is no refresh token. Both name the Threads
user, so sandbox/threads.py publishes with them until they expire; a dead one is refused with
Graph's code 190. Threads only refreshes a token at least a day old: the sandbox does not wait
that day, or no test could refresh.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox import oauth
from sandbox.facebook import graph_error, read_params
from sandbox.logins.facebook import INVALID_TOKEN, client_refusal, dialog_refusal, redeem_code
from sandbox.tokens import token_claims

router = APIRouter(prefix="/threads", tags=["threads login"])

SHORT_TTL = 3600
LONG_TTL = 5_183_944
# The sandbox user's Threads id; anyone else logs in with `sandbox_user=<id>` and is that id.
DEFAULT_ID = "27000000000000001"


def user_id(user: str) -> str:
    return DEFAULT_ID if user == oauth.DEFAULT_USER else user


def _long_lived(request: Request, user: str) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": oauth.access_token(request, "threads", user, LONG_TTL),
            "token_type": "bearer",
            "expires_in": LONG_TTL,
        }
    )


def _holder(request: Request, params: dict[str, Any]) -> str | JSONResponse:
    """The Threads user an unexpired, unrevoked token names, or Graph's refusal."""
    token = str(params.get("access_token", ""))
    claims = token_claims(request, token) if token else None
    if claims is None or claims.platform != "threads":
        return graph_error(190, INVALID_TOKEN, subcode=467)
    return claims.subject


@router.get("/oauth/authorize", include_in_schema=False)
async def authorize(request: Request) -> Response:
    answer = oauth.consent(request, "threads")
    return dialog_refusal(answer) if isinstance(answer, str) else answer


@router.post("/oauth/access_token")
async def access_token(request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := client_refusal(request, params)) is not None:
        return refused
    if params.get("grant_type") != "authorization_code":
        return graph_error(100, "Unsupported grant_type: use authorization_code")
    grant = redeem_code(request, "threads", params)
    if isinstance(grant, JSONResponse):
        return grant
    user = user_id(grant.user)
    token = oauth.access_token(request, "threads", user, SHORT_TTL)
    # Threads answers the id as a JSON number.
    return JSONResponse({"access_token": token, "user_id": int(user) if user.isdigit() else user})


@router.get("/access_token")
async def long_lived(request: Request) -> JSONResponse:
    params = await read_params(request)
    # No client_id here: the short-lived token names the app, the secret proves it.
    client_id, _ = request.app.state.oauth_client
    if not oauth.client_ok(request, client_id, str(params.get("client_secret", ""))):
        return graph_error(1, "Error validating client secret.")
    if params.get("grant_type") != "th_exchange_token":
        return graph_error(100, "Unsupported grant_type: use th_exchange_token")
    user = _holder(request, params)
    return user if isinstance(user, JSONResponse) else _long_lived(request, user)


@router.get("/refresh_access_token")
async def refresh(request: Request) -> JSONResponse:
    params = await read_params(request)
    if params.get("grant_type") != "th_refresh_token":
        return graph_error(100, "Unsupported grant_type: use th_refresh_token")
    user = _holder(request, params)
    return user if isinstance(user, JSONResponse) else _long_lived(request, user)
