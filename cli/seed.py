"""The demo tenant of `crier dev`: one sandbox API key and one connected sandbox Facebook Page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from core.config import Settings
from core.db import make_sync_engine
from core.models import Account, ApiKey, Tenant
from core.security import SCOPES, display_prefix, hash_api_key, is_test_key
from core.status import AccountStatus, Platform
from core.vault import Vault
from sandbox.tokens import issue_token

DEMO_PAGE_ID = "100000000000001"
DEMO_PAGE_NAME = "Demo Page"


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    account_id: str


def seed_demo(settings: Settings) -> DemoTenant:
    """Create the demo tenant, key and Page once; running it again changes nothing."""
    key = settings.dev_api_key.get_secret_value()
    if not is_test_key(key):
        raise ValueError("CRIER_DEV_API_KEY must be a sandbox key (sk_test_...)")
    engine = make_sync_engine(settings)
    vault = Vault.from_settings(settings)
    with Session(engine) as session:
        api_key = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key))).first()
        if api_key is None:
            tenant = Tenant(name="Demo tenant")
            api_key = ApiKey(
                tenant_id=tenant.id,
                name="dev key",
                key_hash=hash_api_key(key),
                key_prefix=display_prefix(key),
                is_test=True,
                scopes=list(SCOPES),
            )
            session.add(tenant)
            session.flush()  # no ORM relationships, so parents are flushed before children
            session.add(api_key)
            session.flush()
        account = session.exec(
            select(Account).where(
                Account.tenant_id == api_key.tenant_id,
                Account.platform == Platform.FACEBOOK,
                Account.external_id == DEMO_PAGE_ID,
                Account.is_sandbox == True,  # noqa: E712  (SQL comparison)
            )
        ).first()
        if account is None:
            token = issue_token(
                settings.sandbox_secret.get_secret_value(), Platform.FACEBOOK, DEMO_PAGE_ID
            )
            account = Account(
                tenant_id=api_key.tenant_id,
                platform=Platform.FACEBOOK,
                external_id=DEMO_PAGE_ID,
                display_name=DEMO_PAGE_NAME,
                status=AccountStatus.ACTIVE,
                is_sandbox=True,
                access_token_enc=vault.encrypt(token),
            )
            session.add(account)
        session.commit()
        result = DemoTenant(tenant_id=api_key.tenant_id, account_id=account.id)
    engine.dispose()
    return result
