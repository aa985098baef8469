"""Signing webhook bodies, and the check a receiver runs (docs/api.md, "Webhooks").

The header is `Crier-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
HMAC-SHA256(secret, f"{t}." + body) over the exact bytes received. A receiver rejects a
signature that does not match, and a timestamp further than `tolerance` from its own clock:
a captured request replayed later fails the second test, and changing `t` breaks the first.
Within the tolerance, the event `id` (the same on every retry) lets it drop repeats.

While a rolled secret's overlap lasts (`POST /v1/webhooks/{id}/roll-secret`), the header carries
one `v1` per secret, the new one first: `t=<t>,v1=<new>,v1=<previous>`. A receiver that still
holds the previous secret and one that already holds the new one both find their match.

This module imports only the standard library, so a receiver may copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Crier-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The request was not signed by crier with this secret, or is too old to trust."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(
    secret: str, body: bytes, *, timestamp: int | None = None, previous: str | None = None
) -> str:
    """The header value for `body`, signed now (or at `timestamp`); with `previous`, a second
    `v1` signed with the secret a roll replaced."""
    at = int(time.time()) if timestamp is None else timestamp
    header = f"t={at},v1={signature(secret, at, body)}"
    if previous is not None:
        header += f",v1={signature(previous, at, body)}"
    return header


def verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a `Crier-Signature` header against the raw body; return its timestamp.

    Raises SignatureError when the header is malformed, no `v1` matches, or the timestamp is
    more than `tolerance` seconds from `now`.
    """
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("no timestamp in the signature header") from None
    expected = signature(secret, timestamp, body).encode()
    # Several v1 values may be present (while a secret is being rolled): any may match.
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (TypeError), so a
    # crafted header would crash the receiver instead of being refused. A character UTF-8
    # cannot encode (a lone surrogate) becomes "?", which is never hex, so it never matches.
    given = [value.encode("utf-8", "replace") for value in parts.get("v1", [])]
    if not any(hmac.compare_digest(expected, value) for value in given):
        raise SignatureError("the signature does not match the body")
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance:
        raise SignatureError(f"the timestamp is more than {tolerance} s from now: replay refused")
    return timestamp
