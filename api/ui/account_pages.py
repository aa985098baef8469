"""An account's page: its name, platform and status, and its insights over the last 28 days as
small charts (api/ui/metrics_views.py). Server-rendered like the other pages (api/ui/pages.py):
the same sign-in and headers. The account is looked up with the API's own `load_account`, so
another tenant's, the other mode's, or a project out of the key's reach is a Not found page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep
from api.errors import ApiError
from api.post_queries import load_account
from api.ui.auth import SignedIn
from api.ui.metrics_views import account_metrics
from api.ui.pages import _allowed, _render
from api.ui.social_views import platform_name
from core.db import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/accounts/{account_id}", response_model=None)
async def account_page(account_id: str, request: Request, session: SessionDep) -> Response:
    # None: not a post, so a post link's session gets its one-post page, as for the queue.
    who = await _allowed(request, session, None)
    if not isinstance(who, SignedIn):
        return who
    try:
        account = await load_account(session, who.caller, account_id)
    except ApiError:
        return _render(request, "missing.html", who, 404, what=f"account {account_id}")
    insights = await account_metrics(session, who.caller, account, utcnow().date())
    return _render(
        request,
        "account.html",
        who,
        account=account,
        platform=platform_name(account.platform),
        insights=insights,
    )
