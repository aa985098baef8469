"""Rows a test needs, written through the real models into the real database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.config import Settings
from core.db import Database
from core.models import Account, ApiKey, Post, Project, Target, Tenant
from core.projects import DEFAULT_PROJECT_NAME, default_project
from core.security import SCOPES, display_prefix, generate_api_key, hash_api_key
from core.status import ApprovalState, Platform, TargetMode
from core.vault import Vault
from sandbox.tokens import issue_token


@dataclass(frozen=True)
class TenantFixture:
    tenant_id: str
    api_key_id: str
    api_key: str


async def make_tenant(
    db: Database,
    *,
    test: bool = True,
    scopes: tuple[str, ...] = SCOPES,
    allow_social_publishing: bool = True,
    facebook_auto_publish: bool = True,
) -> TenantFixture:
    """A tenant and one API key. Its plan allows publishing unless the test says otherwise."""
    tenant = Tenant(name="Test tenant", plan_id="publishing" if allow_social_publishing else "free")
    async with db.session() as session:
        session.add(tenant)
        await session.flush()
        # Its default projects publish Facebook targets that ask for no mode, as every tenant
        # did before seed 003's opt-in (tests/test_facebook_auto_publish.py covers it off).
        for test_mode in (True, False):
            session.add(
                Project(
                    tenant_id=tenant.id,
                    is_test=test_mode,
                    name=DEFAULT_PROJECT_NAME,
                    is_default=True,
                    facebook_auto_publish=facebook_auto_publish,
                )
            )
        await session.commit()
    owner = TenantFixture(tenant_id=tenant.id, api_key_id="", api_key="")
    return await add_key(db, owner, name="test key", test=test, scopes=scopes)


async def make_facebook_page(
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    *,
    page_id: str = "200000000000001",
    token: str | None = None,
    sandbox: bool = True,
) -> Account:
    return await make_account(
        db, settings, tenant, Platform.FACEBOOK, page_id, token=token, sandbox=sandbox
    )


async def make_account(
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    platform: Platform,
    external_id: str,
    *,
    token: str | None = None,
    sandbox: bool = True,
    refresh_token: str | None = None,
    expires_at: datetime | None = None,
    project_id: str | None = None,
) -> Account:
    """A connected sandbox account whose token the sandbox accepts (unless `token` is given)."""
    secret = settings.sandbox_secret.get_secret_value()
    token = token or issue_token(secret, platform, external_id)
    vault = Vault.from_settings(settings)
    async with db.session() as session:
        project = project_id or (await default_project(session, tenant.tenant_id, sandbox)).id
    account = Account(
        tenant_id=tenant.tenant_id,
        project_id=project,
        platform=platform,
        external_id=external_id,
        display_name=f"{platform} {external_id}",
        is_sandbox=sandbox,
        access_token_enc=vault.encrypt(token),
        refresh_token_enc=vault.encrypt(refresh_token) if refresh_token else None,
        token_expires_at=expires_at,
    )
    async with db.session() as session:
        session.add(account)
        await session.commit()
    return account


async def make_post(
    db: Database,
    tenant: TenantFixture,
    account: Account,
    *,
    body: str = "Hello from a test",
    media_urls: list[str] | None = None,
    requires_approval: bool = False,
    approval_deadline: datetime | None = None,
    publish_if_late: bool = False,
    mode: TargetMode = TargetMode.PUBLISH,
    parts: list[str] | None = None,
) -> tuple[Post, Target]:
    post = Post(
        tenant_id=tenant.tenant_id,
        project_id=account.project_id,
        body=body,
        media_urls=media_urls or [],
        is_test=True,
        created_by=tenant.api_key_id,
        requires_approval=requires_approval,
        approval_state=ApprovalState.PENDING if requires_approval else ApprovalState.NOT_REQUIRED,
        approval_deadline=approval_deadline,
        publish_if_late=publish_if_late,
        parts=[{"body": text, "delay_seconds": 0} for text in parts] if parts else None,
    )
    target = Target(
        post_id=post.id,
        tenant_id=tenant.tenant_id,
        account_id=account.id,
        platform=account.platform,
        mode=mode,
    )
    async with db.session() as session:
        session.add(post)
        await session.flush()
        session.add(target)
        await session.commit()
    return post, target


async def reload_target(db: Database, target_id: str) -> Target:
    async with db.session() as session:
        target = await session.get(Target, target_id)
        assert target is not None
        return target


async def add_key(
    db: Database,
    tenant: TenantFixture,
    *,
    name: str = "second key",
    test: bool = True,
    scopes: tuple[str, ...] = SCOPES,
    project_ids: tuple[str, ...] = (),
) -> TenantFixture:
    """Another API key of the same tenant (a reviewer's, or the other mode's); `project_ids`
    limits it to those projects (empty: every project)."""
    key = generate_api_key(test=test)
    api_key = ApiKey(
        tenant_id=tenant.tenant_id,
        name=name,
        key_hash=hash_api_key(key),
        key_prefix=display_prefix(key),
        is_test=test,
        scopes=list(scopes),
        project_ids=list(project_ids),
    )
    async with db.session() as session:
        session.add(api_key)
        await session.commit()
    return TenantFixture(tenant_id=tenant.tenant_id, api_key_id=api_key.id, api_key=key)
