"""Google sign-in for Business Profile, and the two reads that find a person's locations
(docs/platforms.md §6): account management's `GET /v1/accounts` and business information's
`GET /v1/{account}/locations` and `GET /v1/locations/{l}`, each needing a `readMask`.

Google serves these on two hosts; the sandbox serves both under `/google_business`. A token's
subject is the person's account (`accounts/{a}`), which `sandbox/google_business.py` accepts for
posting to any of that account's locations. The sandbox user manages one account with two
locations; anyone else (`sandbox_user=<id>`) has an account `accounts/<id>` with no location.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from sandbox import google_oauth, oauth
from sandbox.google_business import google_error
from sandbox.tokens import token_claims

router = APIRouter(prefix="/google_business", tags=["google_business login"])

DEFAULT_ACCOUNT = "accounts/101"
ACCOUNT_NAME = "Sandbox Bakery"
# account → its locations (business information names a location without its account).
LOCATIONS: dict[str, tuple[dict[str, str], ...]] = {
    DEFAULT_ACCOUNT: (
        {"name": "locations/201", "title": "Sandbox Bakery - High Street", "storeCode": "HS1"},
        {"name": "locations/202", "title": "Sandbox Bakery - Station Road", "storeCode": "SR2"},
    )
}
DEFAULT_PAGE_SIZE = 10  # Google's default for locations.list; 100 at most
MAX_PAGE_SIZE = 100
INVALID_ARGUMENT = "Request contains an invalid argument."


def account_of(user: str) -> str:
    return DEFAULT_ACCOUNT if user == oauth.DEFAULT_USER else f"accounts/{user}"


google_oauth.mount(router, "google_business", account_of)


def _account(request: Request) -> str | JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    claims = token_claims(request, token) if scheme.lower() == "bearer" else None
    if claims is None or claims.platform != "google_business":
        return google_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
        )
    # Tokens seeded for one location (`accounts/{a}/locations/{l}`) reach its account only.
    return "/".join(claims.subject.split("/")[:2])


def _masked(location: dict[str, str], read_mask: str) -> dict[str, str] | JSONResponse:
    fields = [f.strip() for f in read_mask.split(",") if f.strip()]
    if not fields or any(f not in location for f in fields):
        return google_error(400, INVALID_ARGUMENT)
    return {f: location[f] for f in fields}


def _page_size(raw: str) -> int | None:
    if not raw:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit():
        return None
    return min(int(raw), MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE


@router.get("/v1/accounts")
async def list_accounts(request: Request) -> JSONResponse:
    account = _account(request)
    if isinstance(account, JSONResponse):
        return account
    kind = "LOCATION_GROUP" if account == DEFAULT_ACCOUNT else "PERSONAL"
    name = ACCOUNT_NAME if account == DEFAULT_ACCOUNT else f"Sandbox {account.split('/')[1]}"
    return JSONResponse(
        {
            "accounts": [
                {
                    "name": account,
                    "accountName": name,
                    "type": kind,
                    "verificationState": "VERIFIED",
                    "vettedState": "NOT_VETTED",
                }
            ]
        }
    )


@router.get("/v1/accounts/{account_id}/locations")
async def list_locations(
    account_id: str,
    request: Request,
    read_mask: Annotated[str, Query(alias="readMask")] = "",
    page_size: Annotated[str, Query(alias="pageSize")] = "",
    page_token: Annotated[str, Query(alias="pageToken")] = "",
) -> JSONResponse:
    account = _account(request)
    if isinstance(account, JSONResponse):
        return account
    if account != f"accounts/{account_id}":
        return google_error(403, "The caller does not have permission")
    size = _page_size(page_size)
    if size is None or (page_token and not page_token.isdigit()):
        return google_error(400, INVALID_ARGUMENT)
    start = int(page_token or 0)
    page: list[dict[str, str]] = []
    for location in LOCATIONS.get(account, ())[start : start + size]:
        masked = _masked(location, read_mask)
        if isinstance(masked, JSONResponse):
            return masked
        page.append(masked)
    answer: dict[str, Any] = {}
    if page:  # proto3 JSON leaves an empty list out
        answer["locations"] = page
    if start + size < len(LOCATIONS.get(account, ())):
        answer["nextPageToken"] = str(start + size)
    return JSONResponse(answer)


@router.get("/v1/locations/{location_id}")
async def get_location(
    location_id: str, request: Request, read_mask: Annotated[str, Query(alias="readMask")] = ""
) -> JSONResponse:
    account = _account(request)
    if isinstance(account, JSONResponse):
        return account
    name = f"locations/{location_id}"
    owners = [a for a, found in LOCATIONS.items() if any(loc["name"] == name for loc in found)]
    if not owners:
        return google_error(404, "Requested entity was not found.")
    if account not in owners:
        return google_error(403, "The caller does not have permission")
    location = next(loc for loc in LOCATIONS[owners[0]] if loc["name"] == name)
    masked = _masked(location, read_mask)
    return masked if isinstance(masked, JSONResponse) else JSONResponse(masked)
