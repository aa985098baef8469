"""Facebook Login for Pages (docs/platforms.md §1): the OAuth dialog, /oauth/access_token (a code
for a short-lived user token, that for a long-lived one) and /me/accounts, the Pages a person
manages, each with its Page token.

These are Graph paths and carry a version (`/v23.0/dialog/oauth`); any version is served, as
Graph serves several at once. Instagram with Facebook Login is this same flow on the same Graph:
sandbox/logins/instagram.py mounts it under /instagram with tokens its stand-in accepts.

A user token names its person (`user:<id>`), never a Page, so the stand-ins refuse it for
publishing (seed 003: publish with the Page token, never the user token). A Page token names its
Page, and never expires when taken from a long-lived user token; from a short-lived one it dies
with it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from html import escape
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from sandbox import oauth
from sandbox.facebook import Page, graph_error, managed_pages, read_params, request_token
from sandbox.tokens import token_claims

SHORT_TTL = 3600  # a user token from the dialog lives about an hour
LONG_TTL = 5_183_944  # fb_exchange_token answers about 60 days (docs/platforms.md §1)
PERSON = "user:"
DEFAULT_LIMIT = 25  # Graph's page size when the request names none
MAX_LIMIT = 100
PAGE_FIELDS = "access_token,name,id,tasks"  # what /me/accounts answers without `fields`
TASKS = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]
INVALID_TOKEN = "Error validating access token: the session is invalid."


def dialog_refusal(problem: str) -> HTMLResponse:
    """Meta shows an error page and never redirects a request it cannot trust."""
    return HTMLResponse(f"<h1>Sorry, something went wrong.</h1><p>{escape(problem)}</p>", 400)


def redeem_code(
    request: Request, platform: str, params: dict[str, Any]
) -> oauth.CodeGrant | JSONResponse:
    """Spend a code at Meta's /oauth/access_token; a refusal in Graph's shape (code 100)."""
    code = str(params.get("code", ""))
    redirect_uri = str(params.get("redirect_uri", ""))
    known = oauth.store(request).codes.get(code)
    used_before = known is not None and known.used
    grant = oauth.redeem(
        request,
        platform,
        code=code,
        client_id=str(params.get("client_id", "")),
        redirect_uri=redirect_uri,
    )
    if grant is not None:
        return grant
    if known is None or known.platform != platform:
        message = "Invalid verification code format."
    elif used_before:
        message = "This authorization code has been used."
    elif known.expires_at < time.time():
        message = "This authorization code has expired."
    elif known.redirect_uri != redirect_uri:
        message = (
            "Error validating verification code. Please make sure your redirect_uri is "
            "identical to the one you used in the OAuth dialog request"
        )
    else:
        message = "Error validating verification code."
    return graph_error(100, message)


def client_refusal(request: Request, params: dict[str, Any]) -> JSONResponse | None:
    client_id = str(params.get("client_id", ""))
    if not oauth.client_ok(request, client_id):
        return graph_error(101, "Error validating application. Invalid application ID.")
    if not oauth.client_ok(request, client_id, str(params.get("client_secret", ""))):
        return graph_error(1, "Error validating client secret.")
    return None


def _fields(raw: str) -> dict[str, list[str]]:
    """Graph's field list with nested lists: `id,ig{id,username}` → {id: [], ig: [id, username]}."""
    fields: dict[str, list[str]] = {}
    depth, current = 0, ""
    for char in raw + ",":
        if char == "," and depth == 0:
            name, _, nested = current.partition("{")
            if name.strip():
                fields[name.strip()] = [f.strip() for f in nested.rstrip("}").split(",") if f]
            current = ""
            continue
        depth += (char == "{") - (char == "}")
        current += char
    return fields


def _cursor(page_id: str) -> str:
    return base64.urlsafe_b64encode(page_id.encode()).decode()


def graph_login(platform: str, page_token_subject: Callable[[Page], str]) -> APIRouter:
    """Facebook Login's routes under `/{platform}`; a Page's token names
    `page_token_subject(page)`, what that platform's stand-in publishes for."""
    router = APIRouter(prefix=f"/{platform}", tags=[f"{platform} login"])

    def person(request: Request, params: dict[str, Any]) -> tuple[str, int] | JSONResponse:
        """The person behind a user token and its expiry, or Graph's refusal."""
        token = request_token(request, params)
        claims = token_claims(request, token) if token else None
        if claims is None or claims.platform != platform:
            return graph_error(190, INVALID_TOKEN, subcode=467)
        if not claims.subject.startswith(PERSON):
            return graph_error(
                100, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)"
            )
        return claims.subject.removeprefix(PERSON), claims.expires_at

    def entry(
        request: Request, page: Page, fields: dict[str, list[str]], ttl: int | None
    ) -> dict[str, Any]:
        answer: dict[str, Any] = {"id": page.id}
        if "name" in fields:
            answer["name"] = page.name
        if "access_token" in fields:
            answer["access_token"] = oauth.access_token(
                request, platform, page_token_subject(page), ttl
            )
        if "tasks" in fields:
            answer["tasks"] = TASKS
        if "instagram_business_account" in fields and page.instagram is not None:
            account = {"id": page.instagram.id, "username": page.instagram.username}
            wanted = fields["instagram_business_account"] or ["id"]
            answer["instagram_business_account"] = {
                k: v for k, v in account.items() if k == "id" or k in wanted
            }
        return answer

    @router.get("/{version}/dialog/oauth", include_in_schema=False)
    async def dialog(version: str, request: Request) -> Response:
        answer = oauth.consent(request, platform)
        return dialog_refusal(answer) if isinstance(answer, str) else answer

    @router.api_route("/{version}/oauth/access_token", methods=["GET", "POST"])
    async def access_token(version: str, request: Request) -> JSONResponse:
        params = await read_params(request)
        if (refused := client_refusal(request, params)) is not None:
            return refused
        if params.get("grant_type") == "fb_exchange_token":
            token = str(params.get("fb_exchange_token", ""))
            claims = token_claims(request, token) if token else None
            if claims is None or claims.platform != platform:
                return graph_error(190, INVALID_TOKEN, subcode=467)
            subject, ttl = claims.subject, LONG_TTL
        else:
            grant = redeem_code(request, platform, params)
            if isinstance(grant, JSONResponse):
                return grant
            subject, ttl = f"{PERSON}{grant.user}", SHORT_TTL
        return JSONResponse(
            {
                "access_token": oauth.access_token(request, platform, subject, ttl),
                "token_type": "bearer",
                "expires_in": ttl,
            }
        )

    @router.get("/{version}/me/accounts")
    async def accounts(version: str, request: Request) -> JSONResponse:
        params = await read_params(request)
        found = person(request, params)
        if isinstance(found, JSONResponse):
            return found
        user, expires_at = found
        left = expires_at - time.time() if expires_at else None
        # Page tokens outlive a long-lived user token; a short-lived one takes them with it.
        page_ttl = None if left is None or left > SHORT_TTL else max(1, int(left))
        fields = _fields(str(params.get("fields") or PAGE_FIELDS))
        pages = list(managed_pages(user))
        after = str(params.get("after", ""))
        start = next((i + 1 for i, p in enumerate(pages) if _cursor(p.id) == after), 0)
        raw_limit = str(params.get("limit", ""))
        limit = min(MAX_LIMIT, int(raw_limit)) if raw_limit.isdigit() else DEFAULT_LIMIT
        limit = max(1, limit)
        shown = pages[start : start + limit]
        data = [entry(request, page, fields, page_ttl) for page in shown]
        if not shown:
            return JSONResponse({"data": data})
        paging: dict[str, Any] = {
            "cursors": {"before": _cursor(shown[0].id), "after": _cursor(shown[-1].id)}
        }
        if start + limit < len(pages):
            # Graph's link repeats the query, token included, from the next cursor on.
            token = request_token(request, params)
            paging["next"] = str(
                request.url.include_query_params(
                    access_token=token, limit=limit, after=_cursor(shown[-1].id)
                )
            )
        return JSONResponse({"data": data, "paging": paging})

    return router


router = graph_login("facebook", lambda page: page.id)
