"""Instagram through Facebook Login (docs/platforms.md §2): the Facebook connector's flow, whose
candidates are the Instagram business accounts linked to the person's Pages.

Publishing runs on the Facebook Graph host with the Instagram user id and the linked Page's
token (providers/instagram.py), so each candidate is that Instagram account with that Page
token: it never expires, and nothing refreshes or revokes it, as for Facebook. A Page without an
Instagram account grants nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, Hosts, TokenSet
from providers.connect.facebook import FacebookConnector
from providers.connect.facebook import live_hosts as facebook_hosts


def live_hosts(settings: Settings) -> Hosts:
    return facebook_hosts(settings)


class InstagramConnector(FacebookConnector):
    platform: ClassVar[Platform] = Platform.INSTAGRAM
    scopes: ClassVar[str] = (
        "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement"
    )
    account_fields: ClassVar[str] = "id,name,access_token,instagram_business_account{id,username}"
    profile_fields: ClassVar[str] = "id,username"

    def candidate(self, page: dict[str, Any]) -> Candidate | None:
        account = page.get("instagram_business_account")
        token = page.get("access_token")
        if not isinstance(account, dict) or not token:
            return None
        return Candidate(
            external_id=str(account["id"]),
            display_name=str(account.get("username") or account["id"]),
            tokens=TokenSet(access_token=str(token)),
        )


CONNECTOR = InstagramConnector
