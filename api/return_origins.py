"""Where OAuth's `return_to` may send a person's browser: only to origins the tenant registered,
in the caller's mode (S19). Anything else would make crier's callback an open redirect, at the
end of a real consent screen on crier's own domain.

An origin is `scheme://host[:port]`, compared exactly after normalising (lower-case scheme and
host, IDNA host, no default port): `https://app.example` does not admit
`https://app.example.evil.com`, `http://app.example` nor `https://app.example:8443`. Outside
development only https is accepted, for registering and for `return_to` alike.

crier's own pages (under /ui/ on `public_api_url`'s origin) are always a place to come back to:
they start connections themselves (api/ui/social_connect.py) and are no open redirect.
"""

from __future__ import annotations

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError, problem
from core.config import Settings
from core.models import Connection, ReturnOrigin

REGISTER = "POST /v1/oauth/return-origins"
DEFAULT_PORTS = {"http": 80, "https": 443}
ORIGIN_MAX = 255
RETURN_TO_MAX = 2048  # Connection.return_to
_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def origin_of(url: AnyHttpUrl) -> str:
    port = "" if url.port in (None, DEFAULT_PORTS.get(url.scheme)) else f":{url.port}"
    return f"{url.scheme}://{url.host}{port}"


def _scheme_problems(url: AnyHttpUrl, settings: Settings) -> list[str]:
    problems = []
    if url.scheme != "https" and not settings.is_development:
        problems.append("must be https")
    if url.username is not None or url.password is not None:
        problems.append("may not carry a user name or password")
    return problems


def parse_origin(value: str, settings: Settings) -> str:
    """The normalised origin, or a 422 naming every way `value` is not one."""
    loc: list[str | int] = ["body", "origin"]
    try:
        url = _URL.validate_python(value.strip())
    except ValidationError:
        raise ApiError(
            422,
            "invalid_request",
            "1 problem(s) in the request",
            [problem(loc, "not an origin such as https://app.example.com")],
        ) from None
    problems = _scheme_problems(url, settings)
    if url.path not in (None, "", "/"):
        problems.append("may not have a path: an origin is scheme://host[:port]")
    if url.query is not None:
        problems.append("may not have a query")
    if url.fragment is not None:
        problems.append("may not have a fragment")
    origin = origin_of(url)
    if len(origin) > ORIGIN_MAX:
        problems.append(f"longer than {ORIGIN_MAX} characters once normalised")
    if problems:
        raise ApiError(
            422,
            "invalid_request",
            f"{len(problems)} problem(s) in the request",
            [problem(loc, msg) for msg in problems],
        )
    return origin


async def _registered(session: AsyncSession, tenant_id: str, is_test: bool, origin: str) -> bool:
    found = await session.exec(
        select(ReturnOrigin.id).where(
            ReturnOrigin.tenant_id == tenant_id,
            ReturnOrigin.is_test == is_test,
            ReturnOrigin.origin == origin,
        )
    )
    return found.first() is not None


async def checked_return_to(
    session: AsyncSession, caller: Caller, settings: Settings, return_to: AnyHttpUrl | None
) -> str | None:
    """`return_to` as stored on the connection, once its origin is registered for the caller's
    tenant and mode; otherwise a 422 that names the origin and how to register it."""
    if return_to is None:
        return None
    loc: list[str | int] = ["body", "return_to"]
    target = str(return_to)
    problems = [problem(loc, msg) for msg in _scheme_problems(return_to, settings)]
    if len(target) > RETURN_TO_MAX:
        problems.append(problem(loc, f"longer than {RETURN_TO_MAX} characters"))
    origin = origin_of(return_to)
    registered = await _registered(session, caller.tenant_id, caller.is_test, origin)
    if not registered:
        problems.append(
            problem(loc, f"its origin {origin} is not registered: register it with {REGISTER}")
        )
        raise ApiError(
            422,
            "return_origin_not_registered",
            f"return_to's origin {origin} is not registered for this tenant and mode: register "
            f'it first with {REGISTER} {{"origin": "{origin}"}}',
            problems,
        )
    if problems:
        raise ApiError(
            422, "invalid_request", f"{len(problems)} problem(s) in the request", problems
        )
    return target


OWN_PAGES = "/ui/"


def own_page(url: AnyHttpUrl, settings: Settings) -> bool:
    """One of crier's own pages: its origin is `public_api_url`'s and its path under /ui/."""
    try:
        own = _URL.validate_python(settings.public_api_url)
    except ValidationError:
        return False
    return origin_of(url) == origin_of(own) and (url.path or "").startswith(OWN_PAGES)


async def may_return_to(session: AsyncSession, connection: Connection, settings: Settings) -> bool:
    """Asked again at the callback: an origin removed since the connect began is not
    redirected to (the person then sees crier's own answer). crier's own pages always are."""
    if not connection.return_to:
        return False
    try:
        url = _URL.validate_python(connection.return_to)
    except ValidationError:
        return False
    if own_page(url, settings):
        return True
    return await _registered(session, connection.tenant_id, connection.is_sandbox, origin_of(url))


async def list_origins(*, session: AsyncSession, caller: Caller) -> list[ReturnOrigin]:
    found = await session.exec(
        select(ReturnOrigin)
        .where(ReturnOrigin.tenant_id == caller.tenant_id, ReturnOrigin.is_test == caller.is_test)
        .order_by(col(ReturnOrigin.created_at), col(ReturnOrigin.origin))
    )
    return list(found.all())


async def register_origin(
    *, session: AsyncSession, caller: Caller, settings: Settings, origin: str
) -> tuple[ReturnOrigin, bool]:
    """The registered origin, and whether this call added it (registering twice is no
    error: the first registration is returned)."""
    normalised = parse_origin(origin, settings)
    existing = await _find(session, caller, normalised)
    if existing is not None:
        return existing, False
    row = ReturnOrigin(tenant_id=caller.tenant_id, is_test=caller.is_test, origin=normalised)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:  # registered at the same moment by another request
        await session.rollback()
        existing = await _find(session, caller, normalised)
        assert existing is not None
        return existing, False
    await session.refresh(row)
    return row, True


async def remove_origin(*, session: AsyncSession, caller: Caller, origin_id: str) -> None:
    row = await session.get(ReturnOrigin, origin_id)
    if row is None or row.tenant_id != caller.tenant_id or row.is_test != caller.is_test:
        raise ApiError(404, "not_found", f"no return origin {origin_id}")
    await session.delete(row)
    await session.commit()


async def _find(session: AsyncSession, caller: Caller, origin: str) -> ReturnOrigin | None:
    found = await session.exec(
        select(ReturnOrigin).where(
            ReturnOrigin.tenant_id == caller.tenant_id,
            ReturnOrigin.is_test == caller.is_test,
            ReturnOrigin.origin == origin,
        )
    )
    return found.first()
