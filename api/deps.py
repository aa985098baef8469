"""Dependencies as named types, so route signatures read like sentences."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.errors import ApiError
from api.media_facts import MediaChecker
from api.rate_limits import RateLimits, remember_headers
from core.config import Settings
from core.db import Database
from core.guarded_fetch import GuardedFetcher
from core.models import ApiKey
from core.security import canonical_scope, hash_api_key
from core.vault import Vault


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.db
    async with database.session() as session:
        yield session


async def get_temporal(request: Request) -> Client:
    client: Client = await request.app.state.temporal.get()
    return client


def get_media_http(request: Request) -> GuardedFetcher:
    fetcher: GuardedFetcher = request.app.state.media_http
    return fetcher


def get_media_checker(request: Request) -> MediaChecker:
    checker: MediaChecker = request.app.state.media_checker
    return checker


def get_vault_dep(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
VaultDep = Annotated[Vault, Depends(get_vault_dep)]
MediaHttpDep = Annotated[GuardedFetcher, Depends(get_media_http)]
MediaCheckerDep = Annotated[MediaChecker, Depends(get_media_checker)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the tenant, the key, and whether the key is a sandbox key."""

    tenant_id: str
    api_key_id: str
    is_test: bool
    scopes: frozenset[str]
    name: str  # how a reviewer is named in the post's record
    # The review link a page session came from: its holder is a reviewer the key's owner
    # named, not the key itself, so a decision through it is not the key approving its own post.
    via_link: str | None = None
    # The projects the key (or review link) is limited to; None: every project of the tenant.
    project_ids: frozenset[str] | None = None

    def reaches(self, project_id: str | None) -> bool:
        """Whether a row of `project_id` is within this caller's projects."""
        return self.project_ids is None or project_id in self.project_ids


async def authenticate(request: Request) -> Caller:
    """The caller, from its API key, counted against its key's and tenant's rate limits.

    The key is read in a session of its own, closed before the route runs, so its pooled
    connection is back in the pool before the route's outbound work (media fetches,
    Temporal Updates, platform calls) rather than held through it (S5)."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(
            401,
            "unauthenticated",
            "send an API key as 'Authorization: Bearer <key>'",
            headers=challenge,
        )
    database: Database = request.app.state.db
    async with database.session() as session:
        found = (
            await session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key.strip())))
        ).first()
    if found is None or found.revoked_at is not None:
        raise ApiError(
            401, "unauthenticated", "the API key is unknown or revoked", headers=challenge
        )
    limits: RateLimits = request.app.state.rate_limits
    headers = await limits.charge(api_key_id=found.id, tenant_id=found.tenant_id)
    remember_headers(request, headers)
    return Caller(
        tenant_id=found.tenant_id,
        api_key_id=found.id,
        is_test=found.is_test,
        scopes=frozenset(canonical_scope(scope) for scope in found.scopes),
        name=f"{found.name} ({found.key_prefix}…)",
        project_ids=frozenset(found.project_ids) if found.project_ids else None,
    )


def require(scope: str) -> Callable[..., Coroutine[Any, Any, Caller]]:
    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if scope not in caller.scopes:
            raise ApiError(403, "forbidden", f"this API key lacks the scope '{scope}'")
        return caller

    return check


def require_whole_tenant(scope: str) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """`scope`, on a key for every project: a tenant-wide setting (return origins, aggregator
    keys and routing, the retry policy) reaches every project, so a key limited to some of
    them may read it but not change it."""

    scoped = Depends(require(scope))

    # A default, not an Annotated hint: hints are strings here, and `scope` is not a global.
    async def check(caller: Caller = scoped) -> Caller:
        if caller.project_ids is not None:
            raise ApiError(
                403,
                "forbidden",
                "this API key is limited to projects: a tenant-wide setting needs a key for "
                "every project",
            )
        return caller

    return check


ViewerDep = Annotated[Caller, Depends(require("social.view"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Send the same key with the same body to get the first answer again.",
    ),
]
ManagerDep = Annotated[Caller, Depends(require("social.manage"))]
TenantManagerDep = Annotated[Caller, Depends(require_whole_tenant("social.manage"))]
PublisherDep = Annotated[Caller, Depends(require("social.publish"))]
ReviewerDep = Annotated[Caller, Depends(require("social.approve"))]
