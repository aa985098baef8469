"""Webhook endpoints: create (the signing secret is shown once), list, delete, re-enable, roll
the secret (with an overlap), and each delivery's attempts. docs/api.md "Webhooks" says how a
receiver verifies a delivery."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated

from cryptography.fernet import InvalidToken
from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller, ManagerDep, SessionDep, SettingsDep, VaultDep, ViewerDep
from api.errors import ApiError, problem
from api.post_queries import within_projects
from api.schemas import Envelope, ListEnvelope, ListMeta, Strict
from api.services.projects import chosen_project
from core.db import utcnow
from core.destinations import url_problems
from core.events import EventType
from core.models import Event, Tenant, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.vault import Vault

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

# Long enough for a receiver's deploy to pick up the new secret; a week at most, because until
# the overlap ends a leaked old secret still forges valid signatures.
DEFAULT_OVERLAP_HOURS = 24
MAX_OVERLAP_HOURS = 168


class WebhookCreate(Strict):
    url: str = Field(max_length=2048, description="Where deliveries are POSTed: http(s).")
    events: list[EventType] = Field(
        default_factory=lambda: list(EventType),
        min_length=1,
        description="The event types to deliver; every type when left out.",
    )
    description: str | None = Field(default=None, max_length=300)
    project_id: str | None = Field(
        default=None,
        max_length=36,
        description="Deliver only the events of this project's posts and accounts. Without "
        "it: every project's events, or, for a key limited to projects, the key's one project "
        "(a key limited to several must name one).",
    )


class SecretRoll(Strict):
    overlap_hours: int = Field(
        default=DEFAULT_OVERLAP_HOURS,
        ge=0,
        le=MAX_OVERLAP_HOURS,
        description="How long deliveries are signed with the replaced secret too; "
        "0 drops it at once.",
    )


def _new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    project_id: str | None = Field(description="Only this project's events; null: every project's.")
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    signs_with_previous_secret: bool = Field(
        description="Deliveries also carry a signature made with the secret the last roll "
        "replaced, so receivers still holding it keep verifying."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the replaced secret signs too; null when none does."
    )
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="Signs every delivery (docs/api.md, 'Webhooks'). Shown only in this answer."
    )


class WebhookRolled(WebhookPublic):
    secret: str = Field(
        description="The new signing secret, used from now on. Shown only in this answer."
    )


class AttemptPublic(BaseModel):
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None


class DeliveryPublic(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: str  # pending | delivered | failed | abandoned
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptPublic]


def _view(endpoint: WebhookEndpoint) -> WebhookPublic:
    expires = endpoint.previous_secret_expires_at
    # Judged by the same clock as the delivery activity: an expired one no longer signs,
    # even before a delivery erases it.
    overlapping = (
        endpoint.previous_secret_enc is not None and expires is not None and expires > utcnow()
    )
    return WebhookPublic(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        description=endpoint.description,
        project_id=endpoint.project_id,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        consecutive_failures=endpoint.consecutive_failures,
        signs_with_previous_secret=overlapping,
        previous_secret_expires_at=expires if overlapping else None,
        created_at=endpoint.created_at,
    )


async def _load(session: AsyncSession, caller: Caller, webhook_id: str) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, webhook_id)
    if (
        endpoint is None
        or endpoint.deleted_at is not None
        or endpoint.tenant_id != caller.tenant_id
        or endpoint.is_test != caller.is_test
        # A key limited to projects reaches neither another project's endpoint nor one that
        # hears every project.
        or not caller.reaches(endpoint.project_id)
    ):
        raise ApiError(404, "not_found", f"no webhook {webhook_id}")
    return endpoint


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[WebhookCreated])
async def create_webhook(
    payload: WebhookCreate,
    caller: ManagerDep,
    session: SessionDep,
    settings: SettingsDep,
    vault: VaultDep,
) -> Envelope[WebhookCreated]:
    """No Idempotency-Key here: replaying the answer would mean keeping the secret in the
    clear. A duplicate endpoint is harmless: list, and delete the extra one. A tenant has at
    most CRIER_WEBHOOK_MAX_ENDPOINTS endpoints per mode (409 `too_many_webhooks`)."""
    problems = [
        problem(["body", "url"], message)
        for message in url_problems(payload.url, allow_private=settings.webhooks_may_reach_private)
    ]
    if problems:
        raise ApiError(422, "invalid_request", "the webhook URL cannot be used", problems)
    project_id = await _project_of_new(session, caller, payload.project_id)
    await _lock_tenant(session, caller.tenant_id)
    held = await _endpoint_count(session, caller)
    if held >= settings.webhook_max_endpoints:
        raise ApiError(
            409,
            "too_many_webhooks",
            f"this tenant already has {held} webhook endpoints in {_mode(caller)} mode, the "
            f"most allowed (CRIER_WEBHOOK_MAX_ENDPOINTS={settings.webhook_max_endpoints}): "
            "delete one first, or subscribe an existing endpoint to more event types",
        )
    secret = _new_secret()
    endpoint = WebhookEndpoint(
        tenant_id=caller.tenant_id,
        is_test=caller.is_test,
        url=payload.url,
        description=payload.description,
        project_id=project_id,
        events=sorted({e.value for e in payload.events}),
        secret_enc=vault.encrypt(secret),
        created_by=caller.api_key_id,
    )
    session.add(endpoint)
    await session.commit()
    await session.refresh(endpoint)
    return Envelope(data=WebhookCreated(**_view(endpoint).model_dump(), secret=secret))


async def _project_of_new(
    session: AsyncSession, caller: Caller, project_id: str | None
) -> str | None:
    """The project a new endpoint hears: the one named (404 unless the caller's), else none
    (every project) for a key of the whole tenant, else the limited key's one project."""
    if project_id is None and caller.project_ids is None:
        return None
    return (await chosen_project(session=session, caller=caller, project_id=project_id)).id


async def _lock_tenant(session: AsyncSession, tenant_id: str) -> None:
    """Hold the tenant's row until the transaction ends, so two creates at once cannot both
    count one endpoint below the cap. PostgreSQL: a row lock. SQLite has none: writing the
    row takes the database's write lock (as core/locks.py does for accounts)."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.exec(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    else:
        await session.exec(
            update(Tenant).where(col(Tenant.id) == tenant_id).values(name=Tenant.name)
        )


async def _endpoint_count(session: AsyncSession, caller: Caller) -> int:
    """The caller's endpoints in its mode, disabled ones included (enabling needs no room)."""
    counted = await session.exec(
        select(func.count()).where(
            WebhookEndpoint.tenant_id == caller.tenant_id,
            WebhookEndpoint.is_test == caller.is_test,
            col(WebhookEndpoint.deleted_at).is_(None),
        )
    )
    return counted.one()


def _mode(caller: Caller) -> str:
    return "sandbox" if caller.is_test else "live"


@router.get("", response_model=ListEnvelope[WebhookPublic])
async def list_webhooks(
    caller: ViewerDep,
    session: SessionDep,
    project_id: Annotated[
        str | None,
        Query(
            max_length=36,
            description="this project's endpoints (not those hearing every project); one the "
            "key does not reach: none",
        ),
    ] = None,
) -> ListEnvelope[WebhookPublic]:
    """Oldest first. A key limited to projects sees only its projects' endpoints."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.tenant_id == caller.tenant_id,
        WebhookEndpoint.is_test == caller.is_test,
        col(WebhookEndpoint.deleted_at).is_(None),
    )
    query = within_projects(query, col(WebhookEndpoint.project_id), caller, project_id)
    rows = (await session.exec(query.order_by(col(WebhookEndpoint.created_at)))).all()
    return ListEnvelope(data=[_view(r) for r in rows], meta=ListMeta(count=len(rows)))


@router.get("/{webhook_id}", response_model=Envelope[WebhookPublic])
async def get_webhook(
    webhook_id: str, caller: ViewerDep, session: SessionDep
) -> Envelope[WebhookPublic]:
    return Envelope(data=_view(await _load(session, caller, webhook_id)))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook_id: str, caller: ManagerDep, session: SessionDep) -> Response:
    """Deliveries still retrying stop at their next attempt; past deliveries stay listed."""
    endpoint = await _load(session, caller, webhook_id)
    endpoint.deleted_at = endpoint.updated_at = utcnow()
    session.add(endpoint)
    await session.commit()
    return Response(status_code=204)


@router.post("/{webhook_id}/enable", response_model=Envelope[WebhookPublic])
async def enable_webhook(
    webhook_id: str, caller: ManagerDep, session: SessionDep
) -> Envelope[WebhookPublic]:
    """Turn a disabled endpoint back on: new events are delivered to it again (deliveries
    abandoned while it was off are not resent)."""
    endpoint = await _load(session, caller, webhook_id)
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.consecutive_failures = 0
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    await session.commit()
    await session.refresh(endpoint)
    return Envelope(data=_view(endpoint))


@router.post("/{webhook_id}/roll-secret", response_model=Envelope[WebhookRolled])
async def roll_webhook_secret(
    webhook_id: str,
    caller: ManagerDep,
    session: SessionDep,
    vault: VaultDep,
    payload: SecretRoll | None = None,
) -> Envelope[WebhookRolled]:
    """A new signing secret, answered once. For `overlap_hours` (24 by default) every delivery
    carries two signatures, the new secret's and the replaced one's, so the receiver can switch
    at its own pace; then only the new one. Rolling again during an overlap drops the older
    secret at once: only the one just replaced keeps signing (one previous secret, as Stripe).
    No Idempotency-Key, as for creation: replaying the answer would mean keeping the secret."""
    overlap = (payload or SecretRoll()).overlap_hours
    endpoint = await _load(session, caller, webhook_id)
    secret = _new_secret()
    now = utcnow()
    keep_previous = overlap > 0 and _readable(vault, endpoint.secret_enc)
    # Conditional on the secret read above: of two rolls at once, one wins and the other is
    # told, rather than answering a secret that the winner's write has already replaced.
    rolled = await session.exec(
        update(WebhookEndpoint)
        .where(
            col(WebhookEndpoint.id) == endpoint.id,
            col(WebhookEndpoint.secret_enc) == endpoint.secret_enc,
            col(WebhookEndpoint.deleted_at).is_(None),
        )
        .values(
            secret_enc=vault.encrypt(secret),
            previous_secret_enc=endpoint.secret_enc if keep_previous else None,
            previous_secret_expires_at=now + timedelta(hours=overlap) if keep_previous else None,
            updated_at=now,
        )
    )
    await session.commit()
    if rolled.rowcount != 1:
        raise ApiError(
            409,
            "conflict",
            "the endpoint changed while its secret was being rolled (another roll, a key "
            "rotation or a delete): nothing was rolled; try again",
        )
    await session.refresh(endpoint)
    return Envelope(data=WebhookRolled(**_view(endpoint).model_dump(), secret=secret))


def _readable(vault: Vault, secret_enc: str) -> bool:
    """A secret that no configured key decrypts cannot sign (each delivery fails on it), so
    a roll drops it instead of keeping it through the overlap: rolling is the way out."""
    try:
        vault.decrypt(secret_enc)
    except InvalidToken:
        return False
    return True


@router.get("/{webhook_id}/deliveries", response_model=ListEnvelope[DeliveryPublic])
async def list_deliveries(
    webhook_id: str,
    caller: ViewerDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ListEnvelope[DeliveryPublic]:
    """Newest first, each with every attempt: when, how long, the status code, the error."""
    endpoint = await _load(session, caller, webhook_id)
    where = WebhookDelivery.endpoint_id == endpoint.id
    total = (await session.exec(select(func.count()).where(where))).one()
    rows = (
        await session.exec(
            select(WebhookDelivery, Event)
            .join(Event, col(Event.id) == col(WebhookDelivery.event_id))
            .where(where)
            .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
            .limit(limit)
            .offset(offset)
        )
    ).all()
    attempts: dict[str, list[AttemptPublic]] = {d.id: [] for d, _ in rows}
    found = await session.exec(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(list(attempts)))
        .order_by(col(WebhookAttempt.number))
    )
    for a in found.all():
        attempts[a.delivery_id].append(
            AttemptPublic(
                number=a.number,
                started_at=a.started_at,
                duration_ms=a.duration_ms,
                status_code=a.status_code,
                error=a.error,
            )
        )
    data = [
        DeliveryPublic(
            id=d.id,
            event_id=e.id,
            event_type=e.type,
            status=d.status,
            created_at=d.created_at,
            finished_at=d.finished_at,
            attempts=attempts[d.id],
        )
        for d, e in rows
    ]
    return ListEnvelope(
        data=data, meta=ListMeta(count=len(data), total=total, limit=limit, offset=offset)
    )
