"""API keys: generated with a mode prefix, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

LIVE_PREFIX = "sk_live_"
TEST_PREFIX = "sk_test_"

SCOPES = ("social.view", "social.manage", "social.publish", "social.approve")
# Seed 004 (SoftSolz) names the same scopes `service.social.view`, `.manage` and `.publish`: a
# key may carry either name, and each grants crier's scope (docs/coming-from/softsolz.md).
SEED_SCOPE_PREFIX = "service."


def canonical_scope(scope: str) -> str:
    """crier's name for a scope given in either form; an unknown name is returned as is."""
    plain = scope.removeprefix(SEED_SCOPE_PREFIX)
    return plain if plain != scope and plain in SCOPES else scope


def generate_api_key(*, test: bool) -> str:
    return (TEST_PREFIX if test else LIVE_PREFIX) + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def is_test_key(key: str) -> bool:
    return key.startswith(TEST_PREFIX)


def display_prefix(key: str) -> str:
    """Enough of a key to tell keys apart, never enough to use it (short dev keys included)."""
    return key[: min(12, len(key) // 2)]
