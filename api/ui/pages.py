"""The reviewer and operator pages under /ui: sign-in, review queue, post page, calendar.

Server-rendered; every action is a plain HTML form (POST, CSRF token, 303 back to a page), so
approving and rejecting work without JavaScript. Actions call the same functions as the API
routes, so a decision made here is the decision the API would make, with the same checks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from api.deps import Caller, SessionDep, SettingsDep, get_temporal
from api.errors import ApiError
from api.post_queries import load_post, load_target
from api.routes.lifecycle import (
    approve_post,
    cancel_post,
    publish_post,
    reject_post,
    reschedule_post,
)
from api.routes.targets import retry_target
from api.schemas import PublishRequest, RescheduleBody, ReviewBody
from api.ui.auth import (
    APPROVE,
    LINK_SCOPES,
    PUBLISH,
    csrf_ok,
    csrf_token,
    current_reviewer,
    start_session,
)
from api.ui.views import CalendarEntry, by_day, post_page, when_of
from api.views import target_view
from core.db import utcnow
from core.models import ApiKey, Post, Target
from core.security import hash_api_key
from core.status import (
    PENDING_STATUSES,
    RETRYABLE_STATUSES,
    ApprovalState,
    Platform,
    TargetStatus,
)

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

CALENDAR_DAYS = 14


class SignIn(Exception):
    """Not signed in: the handler answers with the sign-in page."""


def _render(
    request: Request, name: str, caller: Caller | None, code: int = 200, **context: Any
) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    return templates.TemplateResponse(
        request,
        name,
        {
            "caller": caller,
            "csrf": csrf_token(request),
            "flash": flash,
            "can_publish": caller is not None and PUBLISH in caller.scopes,
            "can_approve": caller is not None and APPROVE in caller.scopes,
            **context,
        },
        status_code=code,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; img-src * data:; media-src *; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def _flash(request: Request, kind: str, text: str) -> None:
    request.session["flash"] = {"kind": kind, "text": text}


def _back(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


async def _reviewer(request: Request, session: SessionDep) -> Caller | RedirectResponse:
    caller = await current_reviewer(request, session)
    if caller is None:
        return _back(f"/ui/sign-in?next={request.url.path}")
    return caller


# ---- signing in and out -------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(
    request: Request, next: Annotated[str, Query(max_length=300)] = "/ui/queue"
) -> HTMLResponse:
    return _render(request, "sign_in.html", None, next=_safe_next(next))


def _safe_next(target: str) -> str:
    # Only our own pages: a crafted link must not bounce a reviewer to another site.
    return target if target.startswith("/ui/") and "//" not in target else "/ui/queue"


@router.post("/sign-in", response_model=None)
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    api_key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=300)] = "/ui/queue",
) -> Response:
    """An API key with `social.approve` signs in; the session keeps the key's id, never the key."""
    found = (
        await session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(api_key.strip())))
    ).first()
    if found is None or found.revoked_at is not None:
        _flash(request, "error", "That API key is unknown or revoked.")
        return _render(request, "sign_in.html", None, 401, next=_safe_next(next))
    if APPROVE not in found.scopes:
        _flash(request, "error", "That API key lacks the social.approve scope.")
        return _render(request, "sign_in.html", None, 403, next=_safe_next(next))
    start_session(
        request,
        found,
        name=f"{found.name} ({found.key_prefix}…)",
        scopes=frozenset(found.scopes),
        expires_at=utcnow() + settings.review_session_ttl,
    )
    return _back(_safe_next(next))


@router.get("/links/{token}", response_model=None)
async def sign_in_with_link(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    claims = request.app.state.review_links.read(token)
    if isinstance(claims, str):
        _flash(request, "error", claims[0].upper() + claims[1:] + ".")
        return _render(request, "sign_in.html", None, 403, next="/ui/queue")
    key = await session.get(ApiKey, claims.api_key_id)
    if key is None or key.revoked_at is not None:
        _flash(request, "error", "This review link was withdrawn: ask for a new one.")
        return _render(request, "sign_in.html", None, 403, next="/ui/queue")
    start_session(
        request,
        key,
        name=f"{claims.reviewer} (review link)",
        scopes=LINK_SCOPES,
        expires_at=min(claims.expires_at, utcnow() + settings.review_session_ttl),
    )
    return _back(f"/ui/posts/{claims.post_id}" if claims.post_id else "/ui/queue")


@router.post("/sign-out")
async def sign_out(
    request: Request, csrf: Annotated[str, Form(max_length=100)] = ""
) -> RedirectResponse:
    if csrf_ok(request, csrf):
        request.session.clear()
    return _back("/ui/sign-in")


@router.get("", response_model=None)
async def home() -> RedirectResponse:
    return _back("/ui/queue")


# ---- pages --------------------------------------------------------------------------------


@router.get("/queue", response_model=None)
async def queue(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    caller = await _reviewer(request, session)
    if isinstance(caller, RedirectResponse):
        return caller
    posts = (
        await session.exec(
            select(Post)
            .where(
                Post.tenant_id == caller.tenant_id,
                Post.is_test == caller.is_test,
                col(Post.deleted_at).is_(None),
                Post.approval_state == ApprovalState.PENDING,
            )
            .order_by(
                col(Post.scheduled_for).is_(None), col(Post.scheduled_for), col(Post.created_at)
            )
            .limit(100)
        )
    ).all()
    pages = [await post_page(session, settings, p) for p in posts]
    waiting = [
        p
        for p in pages
        if any(
            v.target.status in (TargetStatus.AWAITING_APPROVAL, TargetStatus.DRAFT)
            for v in p.previews
        )
    ]
    return _render(request, "queue.html", caller, pages=waiting)


@router.get("/posts/{post_id}", response_model=None)
async def post_detail(
    post_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    caller = await _reviewer(request, session)
    if isinstance(caller, RedirectResponse):
        return caller
    try:
        post = await _own_post(session, caller, post_id)
    except ApiError:
        return _render(request, "missing.html", caller, 404, what=f"post {post_id}")
    page = await post_page(session, settings, post, with_attempts=True)
    statuses = {v.target.status for v in page.previews}
    soon = post.scheduled_for is not None and post.scheduled_for - utcnow() < timedelta(minutes=1)
    # In flight: the page looks again by itself (a meta refresh, no script) until it settles.
    refresh = TargetStatus.PUBLISHING in statuses or (TargetStatus.SCHEDULED in statuses and soon)
    return _render(
        request,
        "post.html",
        caller,
        page=page,
        refresh=refresh,
        # Only the buttons that can do something now (the API would refuse the others).
        reviewable=post.approval_state == ApprovalState.PENDING
        and bool(statuses & {TargetStatus.AWAITING_APPROVAL, TargetStatus.DRAFT}),
        can_publish_now=bool(statuses & {TargetStatus.DRAFT, TargetStatus.SCHEDULED}),
        can_cancel=bool(statuses & PENDING_STATUSES),
        can_reschedule=bool(statuses & {TargetStatus.AWAITING_APPROVAL, TargetStatus.SCHEDULED}),
        retryable={s.value for s in RETRYABLE_STATUSES},
        temporal_ui=settings.temporal_ui_url,
    )


async def _own_post(session: SessionDep, caller: Caller, post_id: str) -> Post:
    post = await load_post(session, caller, post_id)
    if post.is_test != caller.is_test:
        raise ApiError(404, "not_found", f"no post {post_id}")
    return post


@router.get("/calendar", response_model=None)
async def calendar(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[date | None, Query()] = None,
    platform_filter: Annotated[str, Query(alias="platform", max_length=40)] = "",
    status_filter: Annotated[str, Query(alias="status", max_length=40)] = "",
) -> Response:
    caller = await _reviewer(request, session)
    if isinstance(caller, RedirectResponse):
        return caller
    # The filter form sends "" for "all": anything not a platform or a status means all.
    platform = Platform(platform_filter) if platform_filter in set(Platform) else None
    status = TargetStatus(status_filter) if status_filter in set(TargetStatus) else None
    first = start or (utcnow() - timedelta(days=3)).date()
    begin = datetime.combine(first, datetime.min.time(), tzinfo=utcnow().tzinfo)
    end = begin + timedelta(days=CALENDAR_DAYS)
    posts = (
        await session.exec(
            select(Post).where(
                Post.tenant_id == caller.tenant_id,
                Post.is_test == caller.is_test,
                col(Post.deleted_at).is_(None),
                ((col(Post.scheduled_for) >= begin) & (col(Post.scheduled_for) < end))
                | (
                    col(Post.scheduled_for).is_(None)
                    & (col(Post.created_at) >= begin)
                    & (col(Post.created_at) < end)
                ),
            )
        )
    ).all()
    targets: dict[str, list[Target]] = {}
    if posts:
        rows = await session.exec(
            select(Target).where(col(Target.post_id).in_([p.id for p in posts]))
        )
        for t in rows.all():
            targets.setdefault(t.post_id, []).append(t)
    entries = []
    for post in posts:
        shown = [
            target_view(t, settings)
            for t in targets.get(post.id, [])
            if (platform is None or t.platform == platform)
            and (status is None or t.status == status)
        ]
        if shown:
            entries.append(CalendarEntry(post=post, when=when_of(post), targets=shown))
    days = by_day(entries)
    return _render(
        request,
        "calendar.html",
        caller,
        days=[first + timedelta(days=n) for n in range(CALENDAR_DAYS)],
        entries=days,
        today=utcnow().date(),
        platform=platform.value if platform else "",
        status=status.value if status else "",
        platforms=[p.value for p in Platform],
        statuses=[s.value for s in TargetStatus],
        previous=(first - timedelta(days=7)).isoformat(),
        following=(first + timedelta(days=7)).isoformat(),
    )


# ---- actions ------------------------------------------------------------------------------


async def _act(
    request: Request,
    session: SessionDep,
    csrf: str,
    scope: str,
    back: str,
    done: str,
    action: Any,
) -> Response:
    """Check the session, the CSRF token and the scope, run the API's own handler, and go
    back to the page with what happened. Temporal is reached only by the handler, so a
    refused form never waits on it."""
    caller = await _reviewer(request, session)
    if isinstance(caller, RedirectResponse):
        return caller
    if not csrf_ok(request, csrf):
        _flash(request, "error", "This form has expired: reload the page and try again.")
        return _back(back)
    if scope not in caller.scopes:
        _flash(request, "error", f"Signed in without the {scope} scope: ask for a key that has it.")
        return _back(back)
    try:
        result: Awaitable[Any] = action(caller)
        await result
    except ApiError as error:
        problems = "; ".join(d["msg"] for d in error.details)
        _flash(request, "error", error.message + (f": {problems}" if problems else ""))
        return _back(back)
    _flash(request, "ok", done)
    return _back(back)


Csrf = Annotated[str, Form(max_length=100)]
Comment = Annotated[str, Form(max_length=5000)]


@router.post("/posts/{post_id}/publish-now", response_model=None)
async def publish_now(
    post_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Csrf = "",
) -> Response:
    async def run(caller: Caller) -> None:
        await _own_post(session, caller, post_id)
        await publish_post(
            post_id, PublishRequest(), caller, session, settings, await get_temporal(request)
        )

    page = f"/ui/posts/{post_id}"
    return await _act(request, session, csrf, PUBLISH, page, "Publishing now.", run)


@router.post("/posts/{post_id}/cancel", response_model=None)
async def cancel(
    post_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Csrf = "",
) -> Response:
    async def run(caller: Caller) -> None:
        await _own_post(session, caller, post_id)
        await cancel_post(post_id, caller, session, settings, await get_temporal(request))

    page = f"/ui/posts/{post_id}"
    return await _act(request, session, csrf, PUBLISH, page, "Cancelled.", run)


@router.post("/posts/{post_id}/reschedule", response_model=None)
async def reschedule(
    post_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Csrf = "",
    when: Annotated[str, Form(max_length=40)] = "",
    timezone: Annotated[str, Form(max_length=60)] = "UTC",
) -> Response:
    page = f"/ui/posts/{post_id}"

    async def run(caller: Caller) -> None:
        await _own_post(session, caller, post_id)
        moment = _local_time(when, timezone)
        await reschedule_post(
            post_id,
            RescheduleBody(scheduled_for=moment),
            caller,
            session,
            settings,
            await get_temporal(request),
        )

    return await _act(request, session, csrf, PUBLISH, page, "Rescheduled.", run)


def _local_time(when: str, timezone: str) -> datetime:
    """A wall-clock time in a named zone: the form's answer to "datetimes need an offset"."""
    try:
        zone = ZoneInfo(timezone.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(422, "invalid_request", f"unknown time zone {timezone!r}") from None
    try:
        naive = datetime.fromisoformat(when)
    except ValueError:
        raise ApiError(422, "invalid_request", "give the new time as date and time") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=zone)


@router.post("/targets/{target_id}/retry", response_model=None)
async def retry(
    target_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Csrf = "",
) -> Response:
    caller = await current_reviewer(request, session)
    back = "/ui/queue"
    if caller is not None:
        try:
            target = await load_target(session, caller, target_id)
            back = f"/ui/posts/{target.post_id}"
        except ApiError:
            pass

    async def run(caller: Caller) -> None:
        await retry_target(target_id, caller, session, settings, await get_temporal(request))

    return await _act(request, session, csrf, PUBLISH, back, "Sent again.", run)


Back = Annotated[str, Form(max_length=300)]
Decide = Callable[..., Awaitable[Any]]


# Last: its path would otherwise take /publish-now, /cancel and /reschedule as decisions.
@router.post("/posts/{post_id}/{decision}", response_model=None)
async def decide(
    post_id: str,
    decision: Literal["approve", "reject"],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Csrf = "",
    comment: Comment = "",
    back: Back = "",
) -> Response:
    """Approve or reject, with the reviewer's comment: the API's own handlers decide."""
    handler: Decide = approve_post if decision == "approve" else reject_post

    async def run(caller: Caller) -> None:
        await _own_post(session, caller, post_id)
        body = ReviewBody(comment=comment.strip() or None)
        await handler(post_id, body, caller, session, settings, await get_temporal(request))

    done = "Approved." if decision == "approve" else "Rejected."
    page = _safe_next(back or f"/ui/posts/{post_id}")
    return await _act(request, session, csrf, APPROVE, page, done, run)
