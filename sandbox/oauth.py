"""The sandbox's OAuth 2.0 authorization server, shared by every platform's module.

Each platform module mounts its own real paths (X's /i/oauth2/authorize and /2/oauth2/token,
Google's /o/oauth2/v2/auth and /token, ...) and calls these helpers, so every flow a real
platform has (consent, single-use codes, PKCE, expiring and rotating tokens, revocation) runs
here with the platform's own answers.

The consent page is skipped: the authorize endpoint answers at once with a redirect, as if the
sandbox user had pressed "Allow". A test that wants another answer says so in the query:
`sandbox_user=<id>` logs in as someone else, `sandbox_decision=deny` presses "Cancel".
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse

# The grants are data and live with the rest of the sandbox's state, below this behaviour;
# CodeGrant is named here too because the login modules spell it oauth.CodeGrant.
from sandbox.state import CodeGrant as CodeGrant
from sandbox.state import OAuthState, RefreshGrant, SandboxState
from sandbox.tokens import issue_token

CODE_TTL_SECONDS = 600  # authorization codes live ten minutes, as most platforms'
DEFAULT_USER = "sandbox-user"


def store(request: Request) -> OAuthState:
    state: SandboxState = request.app.state.sandbox
    return state.oauth


def client_ok(request: Request, client_id: str | None, client_secret: str | None = None) -> bool:
    """The sandbox knows one app: the one `crier` is configured with for sandbox accounts."""
    expected_id, expected_secret = request.app.state.oauth_client
    if client_id != expected_id:
        return False
    return client_secret is None or secrets.compare_digest(client_secret, expected_secret)


def basic_credentials(request: Request) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None, None
    return client_id, secret


def consent(
    request: Request,
    platform: str,
    *,
    pkce_required: bool = False,
    client_param: str = "client_id",
) -> RedirectResponse | str:
    """The authorize endpoint: a redirect carrying a code, or a message naming what is wrong
    with the request (a real platform shows an error page then, it never redirects)."""
    query = request.query_params
    redirect_uri = query.get("redirect_uri", "")
    problems = []
    if not client_ok(request, query.get(client_param)):
        problems.append(f"unknown {client_param}")
    if not redirect_uri.startswith(("http://", "https://")):
        problems.append("redirect_uri must be an http(s) URL")
    if query.get("response_type") != "code":
        problems.append("response_type must be code")
    if not query.get("state"):
        problems.append("state is required")
    challenge = query.get("code_challenge")
    if pkce_required and not challenge:
        problems.append("code_challenge is required")
    if challenge and query.get("code_challenge_method", "plain") != "S256":
        problems.append("code_challenge_method must be S256")
    if problems:
        return "; ".join(problems)
    answer: dict[str, str] = {"state": query["state"]}
    if query.get("sandbox_decision") == "deny":
        answer |= {"error": "access_denied", "error_description": "The user denied the request"}
    else:
        code = secrets.token_urlsafe(24)
        store(request).codes[code] = CodeGrant(
            platform=platform,
            client_id=query[client_param],
            redirect_uri=redirect_uri,
            user=query.get("sandbox_user") or DEFAULT_USER,
            challenge=challenge,
            expires_at=time.time() + CODE_TTL_SECONDS,
        )
        answer["code"] = code
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(answer)}", status_code=302)


def redeem(
    request: Request,
    platform: str,
    *,
    code: str | None,
    client_id: str | None,
    redirect_uri: str | None,
    verifier: str | None = None,
) -> CodeGrant | None:
    """The grant behind a code, spent now; None when the code is unknown, used, expired, for
    another app or redirect, or the PKCE verifier does not match."""
    grant = store(request).codes.get(code or "")
    if grant is None or grant.used or grant.platform != platform:
        return None
    grant.used = True  # single use, even when the rest of the request is wrong
    if grant.expires_at < time.time() or grant.client_id != client_id:
        return None
    if grant.redirect_uri != redirect_uri:
        return None
    if grant.challenge is not None:
        if not verifier:
            return None
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return None
    return grant


def access_token(request: Request, platform: str, subject: str, ttl: int | None) -> str:
    """A signed access token the platform modules accept; `ttl` None never expires."""
    expires_at = int(time.time()) + ttl if ttl else 0
    # The nonce makes each issued token distinct, so revoking one leaves the others alone.
    return issue_token(
        request.app.state.secret,
        platform,
        subject,
        expires_at=expires_at,
        nonce=secrets.token_hex(4),
    )


def refresh_token(
    request: Request, platform: str, subject: str, *, rotates: bool, ttl: int | None = None
) -> str:
    token = f"sbr_{platform}_{secrets.token_urlsafe(24)}"
    store(request).refresh_tokens[token] = RefreshGrant(
        platform=platform,
        subject=subject,
        rotates=rotates,
        expires_at=time.time() + ttl if ttl else 0,
    )
    return token


def use_refresh_token(request: Request, platform: str, token: str | None) -> RefreshGrant | None:
    """The grant behind a refresh token, spent now if the platform rotates them; None when
    it is unknown, expired, revoked or already spent."""
    grant = store(request).refresh_tokens.get(token or "")
    if grant is None or grant.spent or grant.platform != platform:
        return None
    if grant.expires_at and grant.expires_at < time.time():
        return None
    if grant.rotates:
        grant.spent = True
    return grant


def revoke(request: Request, token: str | None) -> bool:
    """Revoke an access or refresh token; True if it was one the sandbox knows the shape of."""
    if not token:
        return False
    oauth = store(request)
    grant = oauth.refresh_tokens.get(token)
    if grant is not None:
        grant.spent = True
        return True
    if token.startswith("sbx_"):
        oauth.revoked.add(token)
        return True
    return False
