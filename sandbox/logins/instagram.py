"""Instagram through Facebook Login (docs/platforms.md §2): the same dialog, /oauth/access_token and
/me/accounts as Facebook's (sandbox/logins/facebook.py), served under /instagram.

/me/accounts answers each Page's `instagram_business_account{id,username}`, and the Page's
token there is one the Instagram stand-in accepts for that Instagram account: on Graph, the Page
token is what publishes to the Instagram account linked to the Page.
"""

from __future__ import annotations

from sandbox.facebook import Page
from sandbox.logins.facebook import graph_login


def _publishes_for(page: Page) -> str:
    # A Page without an Instagram account gets a token that publishes nowhere on Instagram.
    return page.instagram.id if page.instagram is not None else page.id


router = graph_login("instagram", _publishes_for)
