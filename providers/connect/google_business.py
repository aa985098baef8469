"""Google Business Profile: Google's OAuth, then every location the person manages
(docs/platforms.md §6).

A Google token is a person's and reaches every location of every account they manage, so one
login grants one candidate per location. Accounts and locations live on two APIs, each on its
own host at Google (account management, business information); the sandbox serves both under
one root. `BusinessProfileHosts` carries the second live host: the plain `Hosts` the sandbox is
given mean "both on `api`".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, Hosts, OAuthClient, TokenSet
from providers.connect.google import ACCOUNTS, OAUTH2, GoogleConnector
from providers.errors import AuthError
from providers.google_business import google_error

ACCOUNT_MANAGEMENT = "https://mybusinessaccountmanagement.googleapis.com"
BUSINESS_INFORMATION = "https://mybusinessbusinessinformation.googleapis.com"
# Both lists page; 100 is the most Google answers at once (locations default to 10).
PAGE_SIZE = 100


@dataclass(frozen=True)
class BusinessProfileHosts(Hosts):
    """`api` is account management; locations are read from `business_information`."""

    business_information: str = BUSINESS_INFORMATION


def live_hosts(settings: Settings) -> Hosts:
    return BusinessProfileHosts(authorize=ACCOUNTS, token=OAUTH2, api=ACCOUNT_MANAGEMENT)


class GoogleBusinessConnector(GoogleConnector):
    platform: ClassVar[Platform] = Platform.GOOGLE_BUSINESS
    scopes: ClassVar[str] = "https://www.googleapis.com/auth/business.manage"

    def __init__(self, http: httpx.AsyncClient, hosts: Hosts, client: OAuthClient) -> None:
        super().__init__(http, hosts, client)
        self._information = (
            hosts.business_information if isinstance(hosts, BusinessProfileHosts) else hosts.api
        )

    async def candidates(self, tokens: TokenSet) -> list[Candidate]:
        """One per location, named as v4 local posts want it: `accounts/{a}/locations/{l}`."""
        found: list[Candidate] = []
        for account in await self._pages(tokens, f"{self._hosts.api}/v1/accounts", "accounts", {}):
            locations = await self._pages(
                tokens,
                f"{self._information}/v1/{account['name']}/locations",
                "locations",
                {"readMask": "name,title"},
            )
            for location in locations:
                # Business information names a location `locations/{l}`, without its account.
                external_id = f"{account['name']}/{location['name']}"
                found.append(
                    Candidate(
                        external_id=external_id,
                        display_name=str(location.get("title") or external_id),
                        tokens=tokens,
                    )
                )
        return found

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        """Reads the location itself: the token works and its person still manages it."""
        _, separator, location = external_id.partition("/locations/")
        if not separator:
            raise AuthError(
                f"{external_id} is not a Business Profile location", platform=self.platform.value
            )
        response = await self._send(
            self._http.get(
                f"{self._information}/v1/locations/{location}",
                params={"readMask": "name"},
                headers=self.bearer(tokens),
            )
        )
        if response.status_code != 200:
            raise google_error(response)

    async def _pages(
        self, tokens: TokenSet, url: str, key: str, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page_token = ""
        while True:
            query = params | {"pageSize": str(PAGE_SIZE)}
            if page_token:
                query["pageToken"] = page_token
            response = await self._send(
                self._http.get(url, params=query, headers=self.bearer(tokens))
            )
            if response.status_code != 200:
                raise google_error(response)
            body = response.json()
            items.extend(body.get(key) or [])
            page_token = str(body.get("nextPageToken") or "")
            if not page_token:
                return items


CONNECTOR = GoogleBusinessConnector
