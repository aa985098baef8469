"""LinkedIn: OAuth 2.0 authorization code, then the member and the Pages they may post for
(docs/platforms.md §4).

Access tokens last 60 days; refresh tokens 365 days from the first consent. A refresh answers
the same refresh token and does not restart its clock, so after a year the member must connect
again whatever we do. One login grants the member (`urn:li:person:{sub}`) and every organization
where they hold a role that may post; all share the member's token.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, ConnectorBase, Hosts, Pkce, TokenSet
from providers.errors import AuthError
from providers.linkedin_errors import linkedin_error

# r_member_postAnalytics: a member's own posts' metrics (docs/platforms.md §16.4).
SCOPES = (
    "openid profile w_member_social w_organization_social r_organization_social "
    "rw_organization_admin r_member_postAnalytics"
)
# The roles that may publish a Page's organic posts (Postiz linkedin.page keeps these two);
# an ANALYST or a sponsored-content poster would be refused at publish time.
POSTING_ROLES = frozenset({"ADMINISTRATOR", "CONTENT_ADMINISTRATOR"})
PAGE_SIZE = 100  # organizationalEntityAcls pages with start/count
RESTLI = {"X-Restli-Protocol-Version": "2.0.0"}


def live_hosts(settings: Settings) -> Hosts:
    return Hosts(
        authorize="https://www.linkedin.com",
        token="https://www.linkedin.com",
        api=settings.linkedin_api_url,
    )


class LinkedInConnector(ConnectorBase):
    platform: ClassVar[Platform] = Platform.LINKEDIN
    uses_pkce: ClassVar[bool] = False  # LinkedIn offers PKCE to native apps only
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = True

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        query = {
            "response_type": "code",
            "client_id": self._client.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": SCOPES,
        }
        return self._authorization_url("/oauth/v2/authorization", query)

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        tokens = await self._token(self._code_grant(code, redirect_uri))
        member = await self._userinfo(tokens)
        person = Candidate(
            external_id=f"urn:li:person:{member['sub']}",
            display_name=str(member.get("name") or member["sub"]),
            tokens=tokens,
        )
        pages = [
            Candidate(
                external_id=urn,
                display_name=await self._organization_name(tokens, urn),
                tokens=tokens,
            )
            for urn in await self._organizations(tokens)
        ]
        return [person, *pages]

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        # Only approved (MDP) apps get refresh tokens; the others' members log in again.
        fresh = await self._token(self._refresh_grant(tokens))
        return fresh.merged_into(tokens)

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        member = await self._userinfo(tokens)
        person = f"urn:li:person:{member['sub']}"
        if external_id.startswith("urn:li:person:") and external_id != person:
            raise AuthError("the token belongs to another LinkedIn member", platform="linkedin")

    async def revoke(self, tokens: TokenSet) -> None:
        # Each token is revoked on its own: ending the access token leaves the refresh token able
        # to mint more, so both go.
        for token in (tokens.refresh_token, tokens.access_token):
            if not token:
                continue
            response = await self._send(
                self._http.post(
                    f"{self._hosts.token}/oauth/v2/revoke",
                    data={"token": token} | self._credentials(),
                )
            )
            if response.status_code >= 400:
                raise self._refused(response)

    async def _token(self, form: dict[str, str]) -> TokenSet:
        return await self._grant("/oauth/v2/accessToken", form | self._credentials())

    async def _userinfo(self, tokens: TokenSet) -> dict[str, Any]:
        member = await self._get(tokens, "/v2/userinfo")
        if not member.get("sub"):
            raise AuthError("userinfo named no member", platform="linkedin")
        return member

    async def _organizations(self, tokens: TokenSet) -> list[str]:
        """The organizations the member may post for, each once (a member can hold several
        roles at one organization)."""
        found: dict[str, None] = {}
        start = 0
        while True:
            page = await self._get(
                tokens,
                "/v2/organizationalEntityAcls",
                params={
                    "q": "roleAssignee",
                    "state": "APPROVED",
                    "start": str(start),
                    "count": str(PAGE_SIZE),
                },
                headers=RESTLI,
            )
            elements: list[dict[str, Any]] = page.get("elements") or []
            for acl in elements:
                target = str(acl.get("organizationalTarget") or "")
                if acl.get("role") in POSTING_ROLES and target.startswith("urn:li:organization:"):
                    found.setdefault(target)
            if len(elements) < PAGE_SIZE:
                return list(found)
            start += PAGE_SIZE

    async def _organization_name(self, tokens: TokenSet, urn: str) -> str:
        organization = await self._get(tokens, f"/v2/organizations/{urn.rsplit(':', 1)[1]}")
        return str(organization.get("localizedName") or organization.get("vanityName") or urn)

    async def _get(
        self,
        tokens: TokenSet,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self._api_get(path, tokens, params=params, headers=headers)
        if response.status_code != 200:
            raise linkedin_error(response)
        body: dict[str, Any] = response.json()
        return body


CONNECTOR = LinkedInConnector
