"""LinkedIn's OAuth 2.0 (docs/platforms.md §4): authorize, accessToken, revoke, and the reads that
name what a login grants: `/v2/userinfo` (OpenID), `/v2/organizationalEntityAcls` and
`/v2/organizations/{id}`.

A token's subject is the member (`urn:li:person:{sub}`); `sandbox/linkedin.py` lets it post as
that member and as each organization where its ROLES may post. Access tokens last 60 days,
refresh tokens 365 days from the consent: a refresh answers the same refresh token with what is
left of its year.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from sandbox import oauth
from sandbox.linkedin import DEFAULT_MEMBER, ORGANIZATIONS, ROLES, bearer_claims, li_error

router = APIRouter(prefix="/linkedin", tags=["linkedin login"])

ACCESS_TTL = 5_184_000  # 60 days
REFRESH_TTL = 31_536_000  # 365 days
# LinkedIn answers the granted scopes comma-separated.
SCOPE = "openid,profile,w_member_social,w_organization_social,r_organization_social," + (
    "rw_organization_admin,r_member_postAnalytics"
)
BAD_CODE = (
    "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
    "authorization code. Or authorization code expired. Or external member binding exists"
)
BAD_REFRESH = "The provided authorization grant or refresh token is invalid, expired or revoked"


def member_of(user: str) -> str:
    return DEFAULT_MEMBER if user == oauth.DEFAULT_USER else user


def _refused(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def _client(request: Request, form: Any) -> str | None:
    client_id = str(form.get("client_id", ""))
    secret = str(form.get("client_secret", ""))
    return client_id if secret and oauth.client_ok(request, client_id, secret) else None


@router.get("/oauth/v2/authorization", include_in_schema=False)
async def authorize(request: Request) -> Response:
    if not request.query_params.get("scope"):
        return _refused(400, "invalid_request", "scope is required")
    answer = oauth.consent(request, "linkedin")
    if isinstance(answer, str):
        return _refused(400, "invalid_request", answer)
    target = urlsplit(answer.headers["location"])
    query = dict(parse_qsl(target.query))
    if query.get("error") == "access_denied":
        # LinkedIn names a refusal at its consent screen its own way.
        query |= {
            "error": "user_cancelled_authorize",
            "error_description": "The user cancelled the authorization",
        }
        return RedirectResponse(target._replace(query=urlencode(query)).geturl(), 302)
    return answer


@router.post("/oauth/v2/accessToken")
async def token(request: Request) -> JSONResponse:
    form = await request.form()
    client_id = _client(request, form)
    if client_id is None:
        return _refused(401, "invalid_client", "Client authentication failed")
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        grant = oauth.redeem(
            request,
            "linkedin",
            code=str(form.get("code", "")),
            client_id=client_id,
            redirect_uri=str(form.get("redirect_uri", "")),
        )
        if grant is None:
            return _refused(400, "invalid_request", BAD_CODE)
        member = f"urn:li:person:{member_of(grant.user)}"
        refresh = oauth.refresh_token(request, "linkedin", member, rotates=False, ttl=REFRESH_TTL)
        return JSONResponse(_answer(request, member, refresh, REFRESH_TTL))
    if grant_type == "refresh_token":
        refresh = str(form.get("refresh_token", ""))
        used = oauth.use_refresh_token(request, "linkedin", refresh)
        if used is None:
            return _refused(400, "invalid_request", BAD_REFRESH)
        # The same refresh token, its clock still running from the first consent.
        left = int(used.expires_at - time.time())
        return JSONResponse(_answer(request, used.subject, refresh, left))
    return _refused(400, "invalid_request", 'A required parameter "grant_type" is missing')


def _answer(request: Request, member: str, refresh: str, refresh_left: int) -> dict[str, Any]:
    return {
        "access_token": oauth.access_token(request, "linkedin", member, ACCESS_TTL),
        "expires_in": ACCESS_TTL,
        "refresh_token": refresh,
        "refresh_token_expires_in": refresh_left,
        "scope": SCOPE,
    }


@router.post("/oauth/v2/revoke")
async def revoke(request: Request) -> Response:
    form = await request.form()
    if _client(request, form) is None:
        return _refused(401, "invalid_client", "Client authentication failed")
    # RFC 7009: a token that is unknown or already dead is answered as revoked too.
    oauth.revoke(request, str(form.get("token", "")))
    return Response(status_code=200)


def _member(request: Request) -> str | JSONResponse:
    claims = bearer_claims(request)
    if isinstance(claims, JSONResponse):
        return claims
    if not claims.subject.startswith("urn:li:person:"):
        # Only a member signs in: a token seeded for a Page has no member behind it.
        return li_error(403, "Not enough permissions to access: userinfo", code="ACCESS_DENIED")
    return claims.subject


@router.get("/v2/userinfo")
async def userinfo(request: Request) -> JSONResponse:
    member = _member(request)
    if isinstance(member, JSONResponse):
        return member
    sub = member.removeprefix("urn:li:person:")
    given, family = ("Sandbox", "Member") if sub == DEFAULT_MEMBER else ("Sandbox", sub)
    return JSONResponse(
        {
            "sub": sub,
            "name": f"{given} {family}",
            "given_name": given,
            "family_name": family,
            "locale": {"country": "US", "language": "en"},
        }
    )


@router.get("/v2/organizationalEntityAcls")
async def organization_acls(
    request: Request, q: str = "", state: str = "", start: int = 0, count: int = 10
) -> JSONResponse:
    member = _member(request)
    if isinstance(member, JSONResponse):
        return member
    if q != "roleAssignee":
        return li_error(400, f"Unsupported finder: {q or '(none)'}", code="BAD_REQUEST")
    # The sandbox holds approved roles only: any other state filter finds nothing.
    roles = ROLES.get(member, ()) if state in ("", "APPROVED") else ()
    elements = [
        {
            "roleAssignee": member,
            "state": "APPROVED",
            "role": role,
            "organizationalTarget": organization,
        }
        for organization, role in roles
    ]
    page = elements[max(start, 0) : max(start, 0) + max(count, 0)]
    return JSONResponse(
        {
            "paging": {"start": start, "count": count, "total": len(elements), "links": []},
            "elements": page,
        }
    )


@router.get("/v2/organizations/{organization_id}")
async def organization(organization_id: str, request: Request) -> JSONResponse:
    claims = bearer_claims(request)
    if isinstance(claims, JSONResponse):
        return claims
    if organization_id not in ORGANIZATIONS:
        return li_error(404, "Could not find entity", code="NOT_FOUND")
    name, vanity = ORGANIZATIONS[organization_id]
    return JSONResponse(
        {
            "id": int(organization_id),
            "localizedName": name,
            "vanityName": vanity,
            "name": {
                "localized": {"en_US": name},
                "preferredLocale": {"country": "US", "language": "en"},
            },
        }
    )
