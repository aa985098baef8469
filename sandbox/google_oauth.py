"""Google's OAuth 2.0 web-server flow for the sandbox (docs/platforms.md §6, §10).

Business Profile and YouTube sign in through the same Google endpoints; here each mounts them
under its own root (`/google_business/...`, `/youtube/...`) with `mount`, so a token names the
platform it was issued for, as every sandbox token does. What Google does and this keeps:
- a refresh token only with `access_type=offline`; a refresh answers without a new one;
- an unknown, expired or revoked refresh token: 400 `invalid_grant`
  "Token has been expired or revoked.";
- a code redeemed with another redirect_uri: 400 `redirect_uri_mismatch` (the code is spent);
- revoking either token of a consent revokes the consent: refresh token and access tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox import oauth
from sandbox.tokens import token_claims

if TYPE_CHECKING:
    from sandbox.state import SandboxState

ACCESS_TTL = 3599  # Google's own expires_in
EXPIRED_OR_REVOKED = "Token has been expired or revoked."


@dataclass
class Consent:
    """One press of "Allow": the scope granted and every token minted under it."""

    scope: str
    tokens: set[str] = field(default_factory=set)


@dataclass
class GoogleOAuthState:
    asked: dict[str, tuple[str, bool]] = field(default_factory=dict)  # code → (scope, offline)
    consents: dict[str, Consent] = field(default_factory=dict)  # any issued token → its consent


def _google(request: Request) -> GoogleOAuthState:
    state: SandboxState = request.app.state.sandbox
    found = state.extras.setdefault("google_oauth", GoogleOAuthState())
    assert isinstance(found, GoogleOAuthState)
    return found


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def mount(router: APIRouter, platform: str, subject: Callable[[str], str]) -> None:
    """Add Google's authorize, token and revoke endpoints to a platform's login router;
    `subject` names what a sandbox user's token acts for on that platform."""

    @router.get("/o/oauth2/v2/auth", include_in_schema=False)
    async def authorize(request: Request) -> Response:
        query = request.query_params
        # Google shows an error page for these, it never redirects to an unverified client.
        if not oauth.client_ok(request, query.get("client_id")):
            return _error(401, "invalid_client", "The OAuth client was not found.")
        if not query.get("scope"):
            return _error(400, "invalid_request", "Missing required parameter: scope")
        answer = oauth.consent(request, platform)
        if isinstance(answer, str):
            return _error(400, "invalid_request", answer)
        code = parse_qs(urlsplit(answer.headers["location"]).query).get("code")
        if code:
            offline = query.get("access_type") == "offline"
            _google(request).asked[code[0]] = (query["scope"], offline)
        return answer

    @router.post("/token")
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        client_id, secret = oauth.basic_credentials(request)
        if client_id is None:  # client_secret_post, what most clients send
            client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if not secret or not oauth.client_ok(request, client_id, secret):
            return _error(401, "invalid_client", "Unauthorized")
        grant_type = str(form.get("grant_type", ""))
        if grant_type == "authorization_code":
            return _redeem(request, platform, subject, client_id, form)
        if grant_type == "refresh_token":
            return _refresh(request, platform, str(form.get("refresh_token", "")))
        return _error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    @router.post("/revoke")
    async def revoke(request: Request) -> Response:
        # Google takes the token in the query or the form, and no client credentials.
        token = request.query_params.get("token") or str((await request.form()).get("token", ""))
        if not _live(request, platform, token):
            return _error(400, "invalid_token", "Token expired or revoked")
        consent = _google(request).consents.get(token)
        for each in consent.tokens if consent is not None else {token}:
            oauth.revoke(request, each)
        return Response(status_code=200)


def _redeem(
    request: Request, platform: str, subject: Callable[[str], str], client_id: str, form: Any
) -> JSONResponse:
    code, redirect_uri = str(form.get("code", "")), str(form.get("redirect_uri", ""))
    pending = oauth.store(request).codes.get(code)
    mismatch = pending is not None and not pending.used and pending.redirect_uri != redirect_uri
    grant = oauth.redeem(
        request, platform, code=code, client_id=client_id, redirect_uri=redirect_uri
    )
    if grant is None:
        if mismatch:
            return _error(400, "redirect_uri_mismatch", "Bad Request")
        return _error(400, "invalid_grant", "Bad Request")
    scope, offline = _google(request).asked.pop(code, ("", False))
    consent = Consent(scope=scope)
    owner = subject(grant.user)
    answer: dict[str, Any] = _access(request, platform, owner, consent)
    if offline:
        refresh = oauth.refresh_token(request, platform, owner, rotates=False)
        _remember(request, consent, refresh)
        answer["refresh_token"] = refresh
    return JSONResponse(answer)


def _refresh(request: Request, platform: str, refresh_token: str) -> JSONResponse:
    grant = oauth.use_refresh_token(request, platform, refresh_token)
    consent = _google(request).consents.get(refresh_token)
    if grant is None or consent is None:
        return _error(400, "invalid_grant", EXPIRED_OR_REVOKED)
    # No refresh_token in the answer: Google's do not rotate.
    return JSONResponse(_access(request, platform, grant.subject, consent))


def _access(request: Request, platform: str, owner: str, consent: Consent) -> dict[str, Any]:
    access = oauth.access_token(request, platform, owner, ACCESS_TTL)
    _remember(request, consent, access)
    return {
        "access_token": access,
        "expires_in": ACCESS_TTL,
        "scope": consent.scope,
        "token_type": "Bearer",
    }


def _remember(request: Request, consent: Consent, token: str) -> None:
    consent.tokens.add(token)
    _google(request).consents[token] = consent


def _live(request: Request, platform: str, token: str) -> bool:
    refresh = oauth.store(request).refresh_tokens.get(token)
    if refresh is not None:
        return refresh.platform == platform and not refresh.spent
    claims = token_claims(request, token)
    return claims is not None and claims.platform == platform
