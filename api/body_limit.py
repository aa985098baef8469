"""A cap on request bodies (S5): above it, 413 `payload_too_large` before the body is held.

Checked twice: on `Content-Length`, before anything is read, and while the body streams in,
since a chunked body has no length to check and a declared one may lie. The payload codec
(/codec) keeps its own cap (api/codec.py), so it is left to it.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response, problem

EXEMPT_PREFIXES = ("/codec",)


class BodyTooLarge(HTTPException):
    """Raised from the body stream; an HTTPException so FastAPI's body parsing lets it through
    (it turns any other error there into a 400)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the request body is larger than {cap} bytes")
        self.cap = cap


def refusal(cap: int) -> JSONResponse:
    return error_response(
        413,
        "payload_too_large",
        f"the request body is larger than the API takes ({cap} bytes)",
        [problem(["body"], f"at most {cap} bytes")],
    )


class BodyLimit:
    """Pure ASGI: a refused body costs no routing and is never held whole."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.max_bytes:
            await refusal(self.max_bytes)(scope, receive, send)
            return

        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # Read somewhere that did not turn it into an answer (a streaming route, say).
            if started:
                raise
            await refusal(self.max_bytes)(scope, receive, send)


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    app.add_middleware(BodyLimit, max_bytes=max_bytes)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_request: Request, exc: BodyTooLarge) -> JSONResponse:
        return refusal(exc.cap)
