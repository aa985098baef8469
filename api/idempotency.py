"""Idempotency-Key on creates: the same key and body get the first answer again."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError
from core.models import IdempotencyRecord


def request_hash(canonical_json: str) -> str:
    return hashlib.sha256(canonical_json.encode()).hexdigest()


async def replay(
    session: AsyncSession, tenant_id: str, key: str, digest: str
) -> IdempotencyRecord | None:
    """The stored answer for this key, or None; a different request under the key is refused."""
    found = (
        await session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
            )
        )
    ).first()
    if found is not None and found.request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
        )
    return found


async def commit_with_record(
    session: AsyncSession,
    *,
    tenant_id: str,
    key: str | None,
    digest: str,
    status_code: int,
    response: dict[str, Any],
) -> IdempotencyRecord | None:
    """Commit the session with the key's record. If a concurrent request with the same key won
    the race, roll back and return its record instead."""
    if key is None:
        await session.commit()
        return None
    session.add(
        IdempotencyRecord(
            tenant_id=tenant_id,
            key=key,
            request_hash=digest,
            status_code=status_code,
            response=response,
        )
    )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        winner = await replay(session, tenant_id, key, digest)
        if winner is None:
            raise  # some other constraint: not a race on the key
        return winner
    return None
