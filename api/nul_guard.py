"""Text with U+0000 is refused by name, on either database.

PostgreSQL's text cannot hold the NUL character (its driver refuses it, api/errors.py) while
SQLite's can: without this check the same request was a 422 on one and a 201 on the other.
Checked before any route runs, in the path, the query and a JSON body, naming each place."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

NUL = "\x00"
REFUSED = "text may not contain the NUL character (U+0000)"


def _places(value: Any, at: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    if isinstance(value, str):
        return [at] if NUL in value else []
    if isinstance(value, dict):
        found = [(*at, key) for key in value if NUL in str(key)]
        return found + [p for key, item in value.items() for p in _places(item, (*at, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _places(item, (*at, index))]
    return []


async def refuse_nul(request: Request) -> None:
    """An app-wide dependency: it runs before the route's own parameters are validated."""
    path = request.path_params.items()
    query = request.query_params.multi_items()
    places: list[tuple[str | int, ...]] = [("path", k) for k, v in path if NUL in str(v)]
    places += [("query", k) for k, v in query if NUL in k + v]
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = await request.body()  # Starlette keeps it for the route
        # Parsed a second time only when the bytes could hold the character (raw, or escaped
        # as \u0000): every other JSON request pays one scan, not a second parse.
        if b"\x00" in raw or b"\\u0000" in raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None  # not JSON: the route's own validation names that
            places += _places(body, ("body",))
    if places:
        raise RequestValidationError(
            [{"loc": place, "msg": REFUSED, "type": "value_error"} for place in places]
        )
