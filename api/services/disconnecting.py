"""Disconnecting an account: revoke the token where the platform can, forget it, and cancel
the account's waiting targets. The API's DELETE and the Social tab's Disconnect both call it."""

from __future__ import annotations

import logging

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.deps import Caller
from api.post_queries import load_account
from api.schemas import AccountDisconnected
from api.services.steering import steer, update_with
from api.views import account_view
from core.config import Settings
from core.events import EventType, record_account_event
from core.messages.delivery import CancelRequest
from core.models import Account, Notification, Target
from core.post_status import refresh_post_status
from core.status import WAITING, AccountStatus
from core.vault import Vault
from providers.connect.registry import NotConfigured, connector_for
from providers.connect.stored import forget_tokens, tokens_of
from providers.errors import ProviderError
from workflows.publish_target import PublishTargetWorkflow

log = logging.getLogger(__name__)


async def disconnect_account(
    *,
    session: AsyncSession,
    caller: Caller,
    settings: Settings,
    vault: Vault,
    temporal: Client,
    http: httpx.AsyncClient,
    account_id: str,
) -> AccountDisconnected:
    """The account stays listed as `disconnected`; connecting it again restores it."""
    account = await load_account(session, caller, account_id)
    # The platform may take up to its timeout to answer: hold no pooled connection meanwhile
    # (S5). Only a read is pending; the account stays loaded (expire_on_commit=False).
    await session.commit()
    revoked = await _revoke(account, vault, http, settings)
    if account.status != AccountStatus.DISCONNECTED:
        forget_tokens(account, AccountStatus.DISCONNECTED, f"disconnected by {caller.name}")
        session.add(account)
        session.add(
            Notification(
                tenant_id=account.tenant_id,
                is_test=account.is_sandbox,
                kind="account_disconnected",
                message=f"{account.platform} account {account.display_name} disconnected",
            )
        )
        record_account_event(
            session, account, EventType.ACCOUNT_DISCONNECTED, reason=account.status_reason
        )
        await session.commit()

    targets = (
        await session.exec(
            select(Target).where(Target.account_id == account.id, col(Target.status).in_(WAITING))
        )
    ).all()
    reason = f"the {account.platform} account {account.display_name} was disconnected"
    done, refused = await steer(
        temporal=temporal,
        targets=targets,
        send=update_with(PublishTargetWorkflow.cancel, CancelRequest(reason=reason)),
    )
    for post_id in {t.post_id for t in targets}:
        await refresh_post_status(session, post_id)
    await session.commit()
    await session.refresh(account)
    return AccountDisconnected(
        account=account_view(account),
        revoked=revoked,
        cancelled_targets=len(done),
        refused_targets=[r.target_id for r in refused],
    )


async def _revoke(
    account: Account, vault: Vault, http: httpx.AsyncClient, settings: Settings
) -> bool:
    """Best effort: a platform that is down must not keep an account connected here."""
    tokens = tokens_of(account, vault)
    if tokens is None:
        return False
    try:
        linker = connector_for(account.platform, http, settings, sandbox=account.is_sandbox)
        if not linker.can_revoke:
            return False
        await linker.revoke(tokens)
    except (ProviderError, NotConfigured) as error:
        log.warning(
            "could not revoke the token of account %s: %s", account.id, type(error).__name__
        )
        return False
    return True
