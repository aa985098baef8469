"""The Social tab, as pages (seed 001): the caller's projects, and each project's tab with its
plan, a card per platform and the board of its posts.

Server-rendered like the reviewer's pages (api/ui/pages.py): the same sign-in, session, CSRF
token on every form and headers. Every action is a form that POSTs and answers 303 back, and
each calls the function the API's route calls. The connect, schedule and history pages are in
social_connect.py, social_schedule.py and social_history.py; their routes are included here,
so api/main.py includes one router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.services import connecting
from api.services.projects import create_named_project, projects_of
from api.ui import social_connect, social_history, social_schedule
from api.ui.auth import MANAGE, PUBLISH, SignedIn, csrf_ok
from api.ui.pages import _allowed, _back, _flash, _render, templates
from api.ui.social_common import (
    FORM_EXPIRED,
    Opened,
    missing_scope_reason,
    open_project,
    plan_words,
    social_url,
)
from api.ui.social_views import board, cards, initials

router = APIRouter(prefix="/ui", include_in_schema=False)
PROJECT_NAME_MAX = 200  # Project.name


@router.get("/projects", response_model=None)
async def projects(request: Request, session: SessionDep) -> Response:
    who = await _allowed(request, session, None)
    if not isinstance(who, SignedIn):
        return who
    found = await projects_of(session=session, caller=who.caller)
    return _render(
        request,
        "projects.html",
        who,
        projects=found,
        # A key limited to projects could not reach a new one: it may not make one.
        create_refusal=missing_scope_reason(who, MANAGE)
        or ("this key is limited to some projects" if who.caller.project_ids else None),
        project_name="",
    )


@router.post("/projects", response_model=None)
async def create_project(
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    who = await _allowed(request, session, None)
    if not isinstance(who, SignedIn):
        return who
    if not csrf_ok(who, csrf):
        _flash(request, "error", FORM_EXPIRED)
        return _back("/ui/projects")
    caller = who.caller
    problems = []
    if MANAGE not in caller.scopes:
        problems.append(f"Signed in without the {MANAGE} scope: a project is made by a manager.")
    name = name.strip()
    if not name:
        problems.append("Give the project a name.")
    elif len(name) > PROJECT_NAME_MAX:
        problems.append(f"A project's name is at most {PROJECT_NAME_MAX} characters.")
    project = None
    if not problems:
        try:  # the API's own create: a limited key and a name taken are refused there
            project = await create_named_project(session=session, caller=caller, name=name)
        except ApiError as error:
            problems.append(error.message)
    if project is None:
        found = await projects_of(session=session, caller=caller)
        return _render(
            request,
            "projects.html",
            who,
            422,
            projects=found,
            create_refusal=None,
            problems=problems,
            project_name=name,
        )
    _flash(request, "ok", f"Project {name} created: connect its accounts.")
    return _back(social_url(project.id))


@router.get("/projects/{project_id}/social", response_model=None)
async def social_tab(
    project_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    connection_id: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    opened = await open_project(request, session, project_id)
    if not isinstance(opened, Opened):
        return opened
    who, project = opened.who, opened.project
    if connection_id:
        # Back from a platform's consent screen (the callback's redirect).
        # The query's status is the browser's word: the connection's own is read instead.
        back = await _back_from_consent(request, session, opened, connection_id)
        if back is not None:
            return back
    words = await plan_words(session, who.caller.tenant_id)
    return _render(
        request,
        "social.html",
        who,
        project=project,
        plan=words.plan,
        upgrade=words.refusal,
        cards=await cards(session, who.caller, project.id),
        board=await board(session, settings, who.caller, project.id),
        manage_refusal=missing_scope_reason(who, MANAGE),
        publish_refusal=missing_scope_reason(who, PUBLISH),
    )


async def _back_from_consent(
    request: Request, session: SessionDep, opened: Opened, connection_id: str
) -> Response | None:
    """Choosing comes next when the login granted several accounts; otherwise the card shows
    the outcome, and the address loses its query (a reload says nothing twice)."""
    here = social_url(opened.project.id)
    try:
        connection = await connecting.load_connection(
            session=session, caller=opened.who.caller, connection_id=connection_id
        )
    except ApiError:
        return _back(here)
    if connection.project_id != opened.project.id:
        return _back(here)
    if connection.status == connecting.AWAITING_SELECTION:
        return _back(f"/ui/projects/{opened.project.id}/connections/{connection.id}")
    if connection.status == connecting.COMPLETED:
        _flash(request, "ok", f"{connection.platform.value} connected.")
    else:
        _flash(request, "error", f"Not connected: {connection.error or connection.status}.")
    return _back(here)


router.include_router(social_connect.router)
router.include_router(social_schedule.router)
router.include_router(social_history.router)

# The avatar's monogram (no image is fetched: the platforms' avatar URLs are not stored).
templates.env.filters["initials"] = initials
