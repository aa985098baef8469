"""TikTok's `{data, error}` envelope, which every Content Posting and Display API answer
wears: its `data`, or the error its `error.code` names (inside a 200 too)."""

from __future__ import annotations

from typing import Any

import httpx

from providers.kit.error_table import ErrorTable, Problem, json_body


def unwrapped(response: httpx.Response, errors: ErrorTable) -> dict[str, Any]:
    """The envelope's `data` when `error.code` is "ok" on a success, else `errors`' error."""
    envelope = json_body(response)
    try:
        error = envelope["error"]
        code, message = str(error["code"]), str(error.get("message") or error["code"])
    except (KeyError, TypeError, AttributeError):
        # Not TikTok's shape (a proxy's page, an empty 503): the HTTP status is all there is.
        raise errors.error(response) from None
    if code == "ok" and response.is_success:
        data: dict[str, Any] = envelope.get("data") or {}
        return data
    raise errors.classify(response.status_code, response.headers, Problem(message, code))
