"""The reviewer and operator pages under /ui: sign-in, review queue, post page, calendar.

Server-rendered; every action is a plain HTML form (POST, CSRF token, 303 back to a page), so
approving and rejecting work without JavaScript. Actions call the same functions as the API
routes (api/services), so a decision made here is the decision the API would make, with the
same checks.

A session started from a post link is confined to that post: the queue, the calendar and every
other post answer 403 and say so, without looking anything up.
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
from api.post_queries import load_post, load_target, within_projects
from api.services import deliveries, review
from api.ui.auth import (
    APPROVE,
    LINK_SCOPES,
    MANAGE,
    PUBLISH,
    SIGN_IN_SCOPES,
    SignedIn,
    claim_link,
    csrf_ok,
    current_reviewer,
    end_session,
    find_link,
    key_scopes,
    link_problem,
    sign_in_csrf,
    sign_in_csrf_ok,
    start_session,
)
from api.ui.metrics_views import post_metrics
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
SIGN_IN_EXPIRED = (
    "This sign-in form has expired or was sent from another site: reload the page and try again."
)


def _render(
    request: Request, name: str, who: SignedIn | None, code: int = 200, **context: Any
) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    caller = who.caller if who is not None else None
    return templates.TemplateResponse(
        request,
        name,
        {
            "caller": caller,
            # Signed in: the session's own token; before: the sign-in forms' (state cookie).
            "csrf": who.csrf if who is not None else sign_in_csrf(request),
            "flash": flash,
            "confined_to": who.post_id if who is not None else None,
            "can_publish": caller is not None and PUBLISH in caller.scopes,
            "can_approve": caller is not None and APPROVE in caller.scopes,
            "can_manage": caller is not None and MANAGE in caller.scopes,
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


async def _reviewer(request: Request, session: SessionDep) -> SignedIn | RedirectResponse:
    who = await current_reviewer(request, session)
    if who is None:
        return _back(f"/ui/sign-in?next={request.url.path}")
    return who


def _one_post_only(request: Request, who: SignedIn) -> HTMLResponse:
    """A post link's session asked for something else: the same answer whatever it asked for,
    so it learns nothing about the other posts."""
    return _render(request, "one_post.html", who, 403)


async def _allowed(
    request: Request, session: SessionDep, post_id: str | None
) -> SignedIn | Response:
    """The signed-in reviewer, if they may open this post (None: the queue or the calendar,
    which a post link's session may not)."""
    who = await _reviewer(request, session)
    if isinstance(who, RedirectResponse):
        return who
    if not who.may_open(post_id):
        return _one_post_only(request, who)
    return who


def _home(who: SignedIn) -> str:
    return f"/ui/posts/{who.post_id}" if who.post_id is not None else "/ui/queue"


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
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """An API key with `social.approve`, `social.manage` or `social.publish` signs in; the
    session keeps the key's id, never the key."""
    if not sign_in_csrf_ok(request, csrf):
        _flash(request, "error", SIGN_IN_EXPIRED)
        return _render(request, "sign_in.html", None, 403, next=_safe_next(next))
    found = (
        await session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(api_key.strip())))
    ).first()
    if found is None or found.revoked_at is not None:
        _flash(request, "error", "That API key is unknown or revoked.")
        return _render(request, "sign_in.html", None, 401, next=_safe_next(next))
    scopes = key_scopes(found)
    if not scopes & SIGN_IN_SCOPES:
        _flash(
            request,
            "error",
            "That API key has none of the scopes the pages need: "
            + ", ".join(sorted(SIGN_IN_SCOPES))
            + ".",
        )
        return _render(request, "sign_in.html", None, 403, next=_safe_next(next))
    destination = _safe_next(next)
    if destination == "/ui/queue" and APPROVE not in scopes:
        destination = "/ui/projects"  # not a reviewer: the queue holds nothing for them
    answer = _back(destination)
    await start_session(
        request,
        answer,
        session,
        found,
        name=f"{found.name} ({found.key_prefix}…)",
        scopes=scopes,
        expires_at=utcnow() + settings.review_session_ttl,
    )
    return answer


@router.get("/links/{token}", response_model=None)
async def review_link_page(token: str, request: Request, session: SessionDep) -> Response:
    """Only a page with a button: a GET (a chat app's link preview, a mail scanner) neither
    signs anyone in nor uses up a single-use link."""
    link, key = await find_link(session, token)
    refused = link_problem(link, key, utcnow())
    if refused is not None or link is None:
        _flash(request, "error", refused or "This review link is not valid.")
        return _render(request, "sign_in.html", None, 403, next="/ui/queue")
    return _render(request, "link.html", None, link=link)


@router.post("/links/{token}", response_model=None)
async def open_review_link(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    link, key = await find_link(session, token)
    now = utcnow()
    refused = link_problem(link, key, now)
    if refused is not None or link is None or key is None:
        _flash(request, "error", refused or "This review link is not valid.")
        return _render(request, "sign_in.html", None, 403, next="/ui/queue")
    if not sign_in_csrf_ok(request, csrf):
        _flash(request, "error", SIGN_IN_EXPIRED)
        return _render(request, "link.html", None, 403, link=link)
    if not await claim_link(session, link, now):
        _flash(request, "error", "This review link was already used: ask for a new one.")
        return _render(request, "sign_in.html", None, 403, next="/ui/queue")
    answer = _back(f"/ui/posts/{link.post_id}" if link.post_id else "/ui/queue")
    await start_session(
        request,
        answer,
        session,
        key,
        name=f"{link.reviewer} (review link)",
        scopes=LINK_SCOPES,
        expires_at=min(link.expires_at, now + settings.review_session_ttl),
        link=link,
    )
    return answer


@router.post("/sign-out", response_model=None)
async def sign_out(
    request: Request, session: SessionDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    who = await current_reviewer(request, session)
    if who is not None and not csrf_ok(who, csrf):
        _flash(request, "error", "This form has expired: reload the page and try again.")
        return _back(_home(who))
    answer = _back("/ui/sign-in")
    await end_session(request, answer, session)
    return answer


@router.get("", response_model=None)
async def home(request: Request, session: SessionDep) -> RedirectResponse:
    who = await current_reviewer(request, session)
    return _back(_home(who) if who is not None else "/ui/queue")


# ---- pages --------------------------------------------------------------------------------


@router.get("/queue", response_model=None)
async def queue(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    who = await _allowed(request, session, None)
    if not isinstance(who, SignedIn):
        return who
    caller = who.caller
    posts = (
        await session.exec(
            within_projects(
                select(Post).where(
                    Post.tenant_id == caller.tenant_id,
                    Post.is_test == caller.is_test,
                    col(Post.deleted_at).is_(None),
                    Post.approval_state == ApprovalState.PENDING,
                ),
                col(Post.project_id),
                caller,
                None,
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
    return _render(request, "queue.html", who, pages=waiting)


@router.get("/posts/{post_id}", response_model=None)
async def post_detail(
    post_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    opened = await page_post(request, session, post_id)
    if not isinstance(opened, tuple):
        return opened
    who, post = opened
    page = await post_page(session, settings, post, with_attempts=True)
    statuses = {v.target.status for v in page.previews}
    soon = post.scheduled_for is not None and post.scheduled_for - utcnow() < timedelta(minutes=1)
    # In flight: the page looks again by itself (a meta refresh, no script) until it settles.
    refresh = TargetStatus.PUBLISHING in statuses or (TargetStatus.SCHEDULED in statuses and soon)
    return _render(
        request,
        "post.html",
        who,
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
        metrics=await post_metrics(session, who.caller, page),
    )


async def page_post(
    request: Request, session: SessionDep, post_id: str
) -> tuple[SignedIn, Post] | Response:
    """A page about one post: the signed-in reviewer and the post, or the answer instead (the
    sign-in page, the one-post 403, or the missing page's 404)."""
    who = await _allowed(request, session, post_id)
    if not isinstance(who, SignedIn):
        return who
    try:
        return who, await _own_post(session, who.caller, post_id)
    except ApiError:
        return _render(request, "missing.html", who, 404, what=f"post {post_id}")


async def _own_post(session: SessionDep, caller: Caller, post_id: str) -> Post:
    """The caller's post in the caller's tenant and mode (a sandbox sign-in never shows a live
    post, nor the reverse): 404 otherwise, as the API answers."""
    post = await load_post(session, caller, post_id)
    if post.tenant_id != caller.tenant_id or post.is_test != caller.is_test:
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
    who = await _allowed(request, session, None)
    if not isinstance(who, SignedIn):
        return who
    caller = who.caller
    # The filter form sends "" for "all": anything not a platform or a status means all.
    platform = _platform_named(platform_filter)
    status = TargetStatus(status_filter) if status_filter in set(TargetStatus) else None
    first = start or (utcnow() - timedelta(days=3)).date()
    begin = datetime.combine(first, datetime.min.time(), tzinfo=utcnow().tzinfo)
    end = begin + timedelta(days=CALENDAR_DAYS)
    window = select(Post).where(
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
    posts = (await session.exec(within_projects(window, col(Post.project_id), caller, None))).all()
    targets: dict[str, list[Target]] = {}
    if posts:
        rows = await session.exec(
            select(Target).where(
                col(Target.post_id).in_([p.id for p in posts]),
                Target.tenant_id == caller.tenant_id,
            )
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
        who,
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
    post_id: str | None,
    back: str,
    done: str,
    action: Any,
) -> Response:
    """Check the session, what it may touch (a post link: its one post), the CSRF token and
    the scope, run the service function the API's route runs, and go back to the page with
    what happened. Temporal is reached only by the action, so a refused form never waits on it."""
    who = await _allowed(request, session, post_id)
    if not isinstance(who, SignedIn):
        return who
    if not csrf_ok(who, csrf):
        _flash(request, "error", "This form has expired: reload the page and try again.")
        return _back(back)
    if scope not in who.caller.scopes:
        _flash(request, "error", f"Signed in without the {scope} scope: ask for a key that has it.")
        return _back(back)
    try:
        result: Awaitable[Any] = action(who.caller)
        await result
    except ApiError as error:
        problems = "; ".join(d["msg"] for d in error.details)
        _flash(request, "error", error.message + (f": {problems}" if problems else ""))
        return _back(back)
    _flash(request, "ok", done)
    return _back(back)


async def _steer(
    request: Request,
    session: SessionDep,
    csrf: str,
    post_id: str,
    done: str,
    action: Callable[[Caller], Awaitable[None]],
    back: str = "",
) -> Response:
    """A publisher's button on a post's page: `action` runs on the caller's own post only (a
    404 first, as the API answers), and the answer goes back to that page (or to `back`, one
    of crier's pages: the post's History)."""

    async def run(caller: Caller) -> None:
        await _own_post(session, caller, post_id)
        await action(caller)

    page = _safe_next(back) if back else f"/ui/posts/{post_id}"
    return await _act(request, session, csrf, PUBLISH, post_id, page, done, run)


Csrf = Annotated[str, Form(max_length=100)]
Comment = Annotated[str, Form(max_length=5000)]
Back = Annotated[str, Form(max_length=300)]


@router.post("/posts/{post_id}/publish-now", response_model=None)
async def publish_now(
    post_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Csrf = "",
) -> Response:
    async def run(caller: Caller) -> None:
        await deliveries.publish_post(
            session=session,
            temporal=await get_temporal(request),
            settings=settings,
            caller=caller,
            post_id=post_id,
            when=None,
        )

    return await _steer(request, session, csrf, post_id, "Publishing now.", run)


@router.post("/posts/{post_id}/cancel", response_model=None)
async def cancel(
    post_id: str,
    request: Request,
    session: SessionDep,
    csrf: Csrf = "",
    back: Back = "",
) -> Response:
    async def run(caller: Caller) -> None:
        await deliveries.cancel_post(
            session=session, temporal=await get_temporal(request), caller=caller, post_id=post_id
        )

    return await _steer(request, session, csrf, post_id, "Cancelled.", run, back)


@router.post("/posts/{post_id}/reschedule", response_model=None)
async def reschedule(
    post_id: str,
    request: Request,
    session: SessionDep,
    csrf: Csrf = "",
    when: Annotated[str, Form(max_length=40)] = "",
    timezone: Annotated[str, Form(max_length=60)] = "UTC",
) -> Response:
    async def run(caller: Caller) -> None:
        moment = _local_time(when, timezone)
        await deliveries.reschedule_post(
            session=session,
            temporal=await get_temporal(request),
            caller=caller,
            post_id=post_id,
            when=moment,
        )

    return await _steer(request, session, csrf, post_id, "Rescheduled.", run)


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
    back: Back = "",
) -> Response:
    who = await current_reviewer(request, session)
    page, post_id = "/ui/queue", None
    if who is not None:
        try:
            target = await load_target(session, who.caller, target_id)
            page, post_id = f"/ui/posts/{target.post_id}", target.post_id
        except ApiError:
            pass
    if back and post_id is not None:
        page = _safe_next(back)  # the History's Retry goes back to the History

    async def run(caller: Caller) -> None:
        await deliveries.retry_target(
            session=session,
            temporal=await get_temporal(request),
            settings=settings,
            caller=caller,
            target_id=target_id,
        )

    return await _act(request, session, csrf, PUBLISH, post_id, page, "Sent again.", run)


def _read_version(value: str) -> datetime:
    """The post's `updated_at` the page showed: deciding on another version is refused (409)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(
            422, "invalid_request", "this form does not say which version of the post you read"
        )
    return moment


# Last: its path would otherwise take /publish-now, /cancel and /reschedule as decisions.
@router.post("/posts/{post_id}/{decision}", response_model=None)
async def decide(
    post_id: str,
    decision: Literal["approve", "reject"],
    request: Request,
    session: SessionDep,
    csrf: Csrf = "",
    comment: Comment = "",
    expected_updated_at: Annotated[str, Form(max_length=64)] = "",
    back: Back = "",
) -> Response:
    """Approve or reject, with the reviewer's comment: the API's own review functions decide."""

    async def run(caller: Caller) -> None:
        await _own_post(session, caller, post_id)
        version = _read_version(expected_updated_at)  # before Temporal: a bad form never waits
        await review.decide_post(
            session=session,
            temporal=await get_temporal(request),
            caller=caller,
            post_id=post_id,
            expected_updated_at=version,
            comment=comment.strip() or None,
            approved=decision == "approve",
        )

    done = "Approved." if decision == "approve" else "Rejected."
    page = _safe_next(back or f"/ui/posts/{post_id}")
    return await _act(request, session, csrf, APPROVE, post_id, page, done, run)


def _platform_named(name: str) -> Platform | None:
    """The calendar's platform filter: a platform's name (`twitter` too), or none."""
    try:
        return Platform(name)
    except ValueError:
        return None
