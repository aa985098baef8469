"""A refusal that reads the same on an HTTP request and on a WebSocket handshake.

A WebSocket is refused before it is accepted, so nothing is ever sent on it. Where the server
offers the ASGI denial-response extension (uvicorn does), the handshake is answered with the
same status and `{"error": {...}}` body as the HTTP API, which a server-side client can read;
otherwise it is closed with `close_code` (4401, 4403, 4429: the HTTP status in the range RFC
6455 leaves to applications). A browser sees neither: its WebSocket only reports that the
handshake failed.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from api.errors import error_response

DENIAL_EXTENSION = "websocket.http.response"
CLOSE_REASON_MAX = 123  # bytes: a close frame's reason (RFC 6455 §5.5)


class Refusal(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    @property
    def close_code(self) -> int:
        return 4000 + self.status


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
    answer = error_response(refusal.status, refusal.code, refusal.message, refusal.details)
    if scope["type"] != "websocket":
        await answer(scope, receive, send)
        return
    socket = WebSocket(scope, receive, send)
    if DENIAL_EXTENSION in scope.get("extensions", {}):
        await socket.send_denial_response(answer)
    else:
        reason = refusal.message.encode()[:CLOSE_REASON_MAX].decode(errors="ignore")
        await socket.close(refusal.close_code, reason)
