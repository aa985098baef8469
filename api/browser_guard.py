"""The API is server to server (seed 004: "browser origins are rejected").

A request a browser made is refused with 403 `browser_origin_refused` before it reaches a
route, so an API key pasted into front-end code fails on its first call instead of working
until it leaks. A CORS preflight is refused the same way, so the browser never sends the
request it announced.

What marks a browser: only browsers send `Origin` on a cross-origin call and
`Sec-Fetch-Site` on every request (page scripts can neither set nor remove either), and only
a browser's navigation is `Sec-Fetch-Mode: navigate`. `Sec-Fetch-Mode: cors` alone is not
enough: Node.js's built-in fetch (undici) sends it on every server-side request and cannot be
told not to (nodejs/undici#1305), while a browser's CORS request always carries `Origin` or
`Sec-Fetch-Site` as well.

Exempt are the paths a browser must reach, none of which takes an API key: the reviewer pages
(/ui), the payload codec the Temporal UI calls (/codec, with its own CORS), the OAuth callback
the platform sends the person's browser to, the API's documentation, and the probes and
scrape (/healthz, /readyz, /metrics), which an operator may open in a browser.

One door is opened on purpose, and only here: a browser dashboard's live events. A `GET
/v1/events` or a WebSocket to `/v1/events/ws` that carries `?ticket=` is let through only when
the ticket redeems (single use, unexpired, its key unrevoked: api/event_tickets.py) and, if a
browser sent it, its `Origin` is one the ticket's tenant registered for its mode. The ticket
takes the API key's place on those two routes, so such a page never holds a key. Every other
request is judged as before, and a WebSocket handshake like an HTTP request (browsers always
send `Origin` with one).
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api import event_tickets
from api.errors import problem
from api.refusals import Refusal, refuse

EXEMPT_PREFIXES = ("/ui/", "/codec/")
EXEMPT_PATHS = frozenset(
    {
        "/ui",
        "/codec",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)
OAUTH_CALLBACK = re.compile(r"/v1/oauth/[^/]+/callback")


def is_exempt(path: str) -> bool:
    return (
        path in EXEMPT_PATHS
        or path.startswith(EXEMPT_PREFIXES)
        or OAUTH_CALLBACK.fullmatch(path) is not None
    )


def browser_marks(headers: Headers) -> list[str]:
    """The headers that show a browser sent this request (empty: a server did)."""
    marks = []
    if "origin" in headers:
        marks.append("Origin")
    if "sec-fetch-site" in headers:
        marks.append("Sec-Fetch-Site")
    if headers.get("sec-fetch-mode", "").strip().lower() == "navigate":
        marks.append("Sec-Fetch-Mode")
    return marks


def _route_path(scope: Scope) -> str:
    # Behind a proxy that mounts crier under a prefix, the path still carries it.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class BrowserGuard:
    """Pure ASGI, so a refused request costs no routing, no body read and no database (a
    ticket to the live events costs one redemption)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        if is_exempt(path):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        marks = browser_marks(headers)
        ticket = event_tickets.ticket_in(scope, path)
        if ticket is not None:
            try:
                await event_tickets.admit(
                    scope,
                    scope["app"].state.db,
                    ticket,
                    browser=bool(marks),
                    origin=headers.get("origin"),
                )
            except Refusal as refused:
                await refuse(scope, receive, send, refused)
                return
            await self.app(scope, receive, send)
            return
        if not marks:
            await self.app(scope, receive, send)
            return
        browser = Refusal(
            403,
            "browser_origin_refused",
            "crier's API is server to server: call it from your server, where the API key "
            "stays; requests from a browser are refused",
            [problem(["header", name], "sent only by browsers") for name in marks],
        )
        await refuse(scope, receive, send, browser)
