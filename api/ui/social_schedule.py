"""The schedule form: text, media, a wall-clock time in a chosen zone, the accounts, Publish or
Save as draft per account, and each account's own text and media.

Preview is the API's dry run (POST /v1/posts/validate: api/services/post_check.py); Schedule
runs the same checks first (so every problem is named at once, and nothing is made from a
refused form), then creates the post (post_writes.create_post) and publishes it at that time
(deliveries.publish_post), as the API's two calls would.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import MediaCheckerDep, SessionDep, SettingsDep, get_temporal
from api.errors import ApiError
from api.post_queries import accounts_of
from api.schemas import PostCheck, PostCreate
from api.services import deliveries, post_writes
from api.services.post_check import check_post
from api.ui.auth import MANAGE, PUBLISH, csrf_ok
from api.ui.pages import _back, _flash, _render
from api.ui.social_common import (
    FORM_EXPIRED,
    Opened,
    missing_scope_reason,
    open_project,
    plan_words,
    social_url,
)
from api.ui.social_form import MODES, ScheduleForm, api_problems, label, payload_of, when_of
from core.models import Account
from core.status import AccountStatus

router = APIRouter()


@cache
def zones() -> list[str]:
    return sorted(available_timezones())


async def _active(session: SessionDep, opened: Opened) -> list[Account]:
    found = await accounts_of(session, opened.who.caller, opened.project.id)
    return [a for a in found if a.status == AccountStatus.ACTIVE]


async def _page(
    request: Request,
    session: SessionDep,
    opened: Opened,
    accounts: list[Account],
    form: ScheduleForm,
    code: int = 200,
    *,
    problems: list[str] | None = None,
    checked: PostCheck | None = None,
) -> Response:
    words = await plan_words(session, opened.who.caller.tenant_id)
    named = {a.id: a for a in accounts}
    previews: list[dict[str, Any]] = []
    if checked is not None:
        for target in checked.targets:
            account = named.get(target.account_id)
            previews.append(
                {
                    "account_id": target.account_id,
                    "label": label(account) if account else target.account_id,
                    "preview": target.preview,
                }
            )
    return _render(
        request,
        "schedule.html",
        opened.who,
        code,
        project=opened.project,
        accounts=accounts,
        form=form,
        modes=MODES,
        zones=zones(),
        plan=words.plan,
        upgrade=words.refusal,
        problems=problems or [],
        previews=previews,
        previewed=checked is not None,
        preview_refusal=missing_scope_reason(opened.who, MANAGE),
        schedule_refusal=missing_scope_reason(opened.who, MANAGE, PUBLISH)
        or ("the plan does not allow publishing" if words.refusal else None),
    )


@router.get("/projects/{project_id}/schedule", response_model=None)
async def schedule_page(project_id: str, request: Request, session: SessionDep) -> Response:
    opened = await open_project(request, session, project_id)
    if not isinstance(opened, Opened):
        return opened
    accounts = await _active(session, opened)
    # A fresh id per form shown: sending it twice (a double click) makes one post.
    form = ScheduleForm(form_id=secrets.token_urlsafe(16))
    return await _page(request, session, opened, accounts, form)


@router.post("/projects/{project_id}/schedule", response_model=None)
async def schedule(
    project_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    media: MediaCheckerDep,
) -> Response:
    opened = await open_project(request, session, project_id)
    if not isinstance(opened, Opened):
        return opened
    raw = await request.form()
    accounts = await _active(session, opened)
    form = ScheduleForm.read(raw, accounts)
    csrf = raw.get("csrf")
    if not isinstance(csrf, str) or not csrf_ok(opened.who, csrf):
        _flash(request, "error", FORM_EXPIRED)
        return await _page(request, session, opened, accounts, form, 403)
    scheduling = raw.get("action") == "schedule"
    needs = (MANAGE, PUBLISH) if scheduling else (MANAGE,)
    if reason := missing_scope_reason(opened.who, *needs):
        return await _page(
            request,
            session,
            opened,
            accounts,
            form,
            403,
            problems=[f"Signed in without the scope this needs: {reason}."],
        )
    when, problems = when_of(form, settings)
    payload, shape = payload_of(form, opened.project.id, accounts)
    problems += shape
    checked = None
    if payload is not None:
        checked = await check_post(
            session=session,
            caller=opened.who.caller,
            media=media,
            payload=payload,
            media_cap=settings.media_urls_per_request,
        )
        problems += _check_problems(checked, form, accounts)
    if scheduling:
        words = await plan_words(session, opened.who.caller.tenant_id)
        if words.refusal:
            problems.insert(0, f"Not scheduled: {words.refusal}.")
            return await _page(
                request, session, opened, accounts, form, 403, problems=problems, checked=checked
            )
    if problems or payload is None or not scheduling:
        code = 422 if problems else 200
        return await _page(
            request, session, opened, accounts, form, code, problems=problems, checked=checked
        )
    return await _create_and_publish(
        request, session, settings, media, opened, accounts, form, payload, when
    )


def _check_problems(checked: PostCheck, form: ScheduleForm, accounts: list[Account]) -> list[str]:
    named = {a.id: a for a in accounts}
    found = [f"Post: {p.msg}." for p in checked.problems]
    for target in checked.targets:
        account = named.get(target.account_id)
        where = label(account) if account is not None else target.account_id
        found += [f"{where}: {p.msg}." for p in target.problems]
    return found


async def _create_and_publish(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    media: MediaCheckerDep,
    opened: Opened,
    accounts: list[Account],
    form: ScheduleForm,
    payload: PostCreate,
    when: datetime | None,
) -> Response:
    caller = opened.who.caller
    try:
        _code, body = await post_writes.create_post(
            session=session,
            caller=caller,
            settings=settings,
            media=media,
            payload=payload,
            idempotency_key=f"ui-schedule-{form.form_id}" if form.form_id else None,
        )
    except ApiError as error:
        return await _page(
            request,
            session,
            opened,
            accounts,
            form,
            422,
            problems=api_problems(error, form, accounts),
        )
    post_id = str(body["data"]["id"])
    here = social_url(opened.project.id)
    try:
        await deliveries.publish_post(
            session=session,
            temporal=await get_temporal(request),
            settings=settings,
            caller=caller,
            post_id=post_id,
            when=when,
        )
    except ApiError as error:
        if error.status == 409:  # the same form sent again: its post is already on its way
            _flash(request, "ok", "Already scheduled.")
            return _back(here)
        # The post exists (a draft on the board): say why it did not go out.
        _flash(
            request,
            "error",
            f"Saved, not scheduled: {'; '.join(api_problems(error, form, accounts))}",
        )
        return _back(here)
    moment = f"for {form.when} {form.timezone}" if when is not None else "to publish now"
    _flash(request, "ok", f"Scheduled {moment} on {len(payload.targets)} account(s).")
    return _back(here)
