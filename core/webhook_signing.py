"""Signing webhook bodies, and the check a receiver runs (README, "Webhooks").

The header is `Crier-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
HMAC-SHA256(secret, f"{t}." + body) over the exact bytes received. A receiver rejects a
signature that does not match, and a timestamp further than `tolerance` from its own clock:
a captured request replayed later fails the second test, and changing `t` breaks the first.
Within the tolerance, the event `id` (the same on every retry) lets it drop repeats.

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


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The header value for `body`, signed now (or at `timestamp`)."""
    at = int(time.time()) if timestamp is None else timestamp
    return f"t={at},v1={signature(secret, at, body)}"


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
    expected = signature(secret, timestamp, body)
    # Several v1 values may be present (while a secret is being rotated): any may match.
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise SignatureError("the signature does not match the body")
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance:
        raise SignatureError(f"the timestamp is more than {tolerance} s from now: replay refused")
    return timestamp
