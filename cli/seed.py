"""The demo tenant of `crier dev`: one sandbox API key and a connected sandbox account on each
of the ten platforms."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from core.config import Settings
from core.db import make_sync_engine
from core.models import Account, ApiKey, Tenant
from core.projects import default_project_sync
from core.security import SCOPES, display_prefix, hash_api_key, is_test_key
from core.status import AccountStatus, Platform
from core.vault import Vault
from sandbox.tokens import issue_token

DEMO_PAGE_ID = "100000000000001"
DEMO_PAGE_NAME = "Demo Page"
# Each platform's account id in its own shape (page, IG user, URN, DID, location, board, ...).
DEMO_ACCOUNTS: dict[Platform, tuple[str, str]] = {
    Platform.FACEBOOK: (DEMO_PAGE_ID, DEMO_PAGE_NAME),
    Platform.INSTAGRAM: ("17841400000000101", "Demo Instagram"),
    Platform.LINKEDIN: ("urn:li:organization:101", "Demo LinkedIn Page"),
    Platform.X: ("1500000000000000101", "Demo X account"),
    Platform.GOOGLE_BUSINESS: ("accounts/101/locations/201", "Demo Business location"),
    Platform.THREADS: ("27000000000000101", "Demo Threads"),
    Platform.BLUESKY: ("did:plc:crierdemo000000000000101", "Demo Bluesky"),
    Platform.PINTEREST: ("900000000000000101", "Demo Pinterest board"),
    Platform.TIKTOK: ("tiktok-demo-open-id", "Demo TikTok"),
    Platform.YOUTUBE: ("UCcrierdemo0000000000101", "Demo YouTube channel"),
}


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    account_id: str  # the Facebook Page's
    account_ids: dict[Platform, str]


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
            # The demo plan allows publishing: `crier dev` is for trying it.
            # One developer plays author and reviewer on the demo: its one key may approve
            # its own posts (a real tenant's may not, unless the operator allows it).
            tenant = Tenant(name="Demo tenant", plan_id="publishing", allow_self_approval=True)
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
        project = default_project_sync(session, api_key.tenant_id, is_test=True)
        # The demo publishes what it is asked to, Facebook included (seed 003's opt-in).
        project.facebook_auto_publish = True
        ids: dict[Platform, str] = {}
        for platform, (external_id, name) in DEMO_ACCOUNTS.items():
            account = session.exec(
                select(Account).where(
                    Account.project_id == project.id,
                    Account.platform == platform,
                    Account.external_id == external_id,
                    Account.is_sandbox == True,  # noqa: E712  (SQL comparison)
                )
            ).first()
            if account is None:
                token = issue_token(
                    settings.sandbox_secret.get_secret_value(), platform, external_id
                )
                account = Account(
                    tenant_id=api_key.tenant_id,
                    project_id=project.id,
                    platform=platform,
                    external_id=external_id,
                    display_name=name,
                    status=AccountStatus.ACTIVE,
                    is_sandbox=True,
                    access_token_enc=vault.encrypt(token),
                )
                session.add(account)
            ids[platform] = account.id
        session.commit()
        result = DemoTenant(
            tenant_id=api_key.tenant_id, account_id=ids[Platform.FACEBOOK], account_ids=ids
        )
    engine.dispose()
    return result
