"""What the Social tab's pages share: the signed-in person and the project they opened (a 404
page for a project out of their reach), the plan's words, and a form's checks before its action.

The project is looked up with the API's own `load_project`, so a sandbox sign-in never opens a
live project, and a key limited to some projects opens only those, as the API answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError
from api.services import plan_rules
from api.services.projects import load_project
from api.ui.auth import SignedIn, csrf_ok
from api.ui.pages import _allowed, _back, _flash, _render
from core.models import Plan, Project

FORM_EXPIRED = "This form has expired: reload the page and try again."


@dataclass(frozen=True)
class Opened:
    who: SignedIn
    project: Project


def social_url(project_id: str) -> str:
    return f"/ui/projects/{project_id}/social"


async def open_project(
    request: Request, session: AsyncSession, project_id: str
) -> Opened | Response:
    """The signed-in person and their project; otherwise the page to answer with (sign-in, a
    post link's one-post page, or Not found)."""
    who = await _allowed(request, session, None)
    if not isinstance(who, SignedIn):
        return who
    try:
        project = await load_project(session=session, caller=who.caller, project_id=project_id)
    except ApiError:
        return _render(request, "missing.html", who, 404, what=f"project {project_id}")
    return Opened(who=who, project=project)


async def open_for_action(
    request: Request,
    session: AsyncSession,
    project_id: str,
    csrf: str,
    scopes: tuple[str, ...],
    back: str,
) -> Opened | Response:
    """`open_project`, then the form's CSRF token and the scopes its action needs: a refusal
    goes back to `back` with the reason, having done nothing."""
    opened = await open_project(request, session, project_id)
    if not isinstance(opened, Opened):
        return opened
    if not csrf_ok(opened.who, csrf):
        _flash(request, "error", FORM_EXPIRED)
        return _back(back)
    missing = [scope for scope in scopes if scope not in opened.who.caller.scopes]
    if missing:
        _flash(request, "error", f"Signed in without the {', '.join(missing)} scope: {HOW}")
        return _back(back)
    return opened


HOW = "sign in with a key that has it."


def refused(request: Request, error: ApiError, back: str) -> Response:
    """An action the service refused: its words (and every problem it named) as the flash."""
    problems = "; ".join(d["msg"] for d in error.details)
    _flash(request, "error", error.message + (f": {problems}" if problems else ""))
    return _back(back)


@dataclass(frozen=True)
class PlanWords:
    plan: Plan
    refusal: str | None  # plan_rules.publishing_refusal's words; None: it may publish


async def plan_words(session: AsyncSession, tenant_id: str) -> PlanWords:
    plan = await plan_rules.plan_of(session=session, tenant_id=tenant_id)
    return PlanWords(
        plan=plan, refusal=await plan_rules.publishing_refusal(session=session, plan=plan)
    )


def missing_scope_reason(who: SignedIn, *scopes: str) -> str | None:
    """Why a button is disabled for this session (its `title`); None: it is not."""
    missing = [scope for scope in scopes if scope not in who.caller.scopes]
    return f"needs the {', '.join(missing)} scope" if missing else None
