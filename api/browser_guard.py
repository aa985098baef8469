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
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response, problem

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
    """Pure ASGI, so a refused request costs no routing, no body read and no database."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_exempt(_route_path(scope)):
            await self.app(scope, receive, send)
            return
        marks = browser_marks(Headers(scope=scope))
        if not marks:
            await self.app(scope, receive, send)
            return
        refused = error_response(
            403,
            "browser_origin_refused",
            "crier's API is server to server: call it from your server, where the API key "
            "stays; requests from a browser are refused",
            [problem(["header", name], "sent only by browsers") for name in marks],
        )
        await refused(scope, receive, send)
