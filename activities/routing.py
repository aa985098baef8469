"""Which aggregators may deliver a routed target, in the seed's failover order."""

from __future__ import annotations

import httpx
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.config import Settings
from core.models import Account, AggregatorKey, DeploymentAggregatorRef
from core.vault import Vault
from providers.aggregators.failover import Aggregator, AggregatorCandidate
from providers.aggregators.late import LateProvider
from providers.aggregators.postforme import PostForMeProvider
from providers.kit.media import MediaDownloads

AGGREGATORS: dict[str, type[PostForMeProvider] | type[LateProvider]] = {
    "postforme": PostForMeProvider,
    "late": LateProvider,
}


def aggregator_url(name: str, settings: Settings, *, sandbox: bool) -> str:
    if sandbox:
        return f"{settings.sandbox_url.rstrip('/')}/{name}"
    return settings.postforme_url if name == "postforme" else settings.late_url


async def aggregator_candidates(
    session: AsyncSession,
    account: Account,
    *,
    http: httpx.AsyncClient,
    media: MediaDownloads,
    settings: Settings,
    vault: Vault,
) -> list[AggregatorCandidate]:
    """The tenant's PostForMe key, the tenant's LATE key, the deployment's PostForMe, the
    deployment's LATE (seed 002): each where a key exists and the account is known there.

    The tenant's own keys (of the account's mode) go with the ids the tenant gave; the
    deployment's keys only with the ids the operator assigned, so that no tenant can name an
    aggregator account of another tenant and post there with the deployment's key."""
    rows = await session.exec(
        select(AggregatorKey).where(
            AggregatorKey.tenant_id == account.tenant_id,
            AggregatorKey.is_test == account.is_sandbox,
        )
    )
    tenant_keys = {row.aggregator: vault.decrypt(row.api_key_enc) for row in rows.all()}
    assigned = await session.exec(
        select(DeploymentAggregatorRef).where(DeploymentAggregatorRef.account_id == account.id)
    )
    deployment_refs = {row.aggregator: row.ref for row in assigned.all()}
    deployment_keys = {
        "postforme": settings.postforme_api_key,
        "late": settings.late_api_key,
    }
    candidates: list[AggregatorCandidate] = []
    for scope in ("tenant", "deployment"):
        for name, provider_class in AGGREGATORS.items():
            if scope == "tenant":
                key = tenant_keys.get(name)
                ref = account.aggregator_refs.get(name)
            else:
                secret = deployment_keys[name]
                key = secret.get_secret_value() if secret is not None else None
                ref = deployment_refs.get(name)
            if not key or not ref:
                continue
            url = aggregator_url(name, settings, sandbox=account.is_sandbox)
            provider: Aggregator = provider_class(http, url, key, media)
            candidates.append(
                AggregatorCandidate(provider=provider, account_ref=ref, label=f"{scope}:{name}")
            )
    return candidates
