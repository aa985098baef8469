"""Operators' commands: tenants and their plan flags, API keys, token-key rotation.

They work on the database directly (CRIER_DATABASE_URL), as an operator's tools should: no API
key is needed to make the first API key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from cryptography.fernet import InvalidToken
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select

from core.config import get_settings
from core.db import make_sync_engine, utcnow
from core.models import ApiKey, Tenant  # (and, importing core.models, every table)
from core.security import (
    SCOPES,
    canonical_scope,
    display_prefix,
    generate_api_key,
    hash_api_key,
)
from core.vault import Vault, encrypted_columns

tenants = typer.Typer(help="Tenants and their plan flags.", no_args_is_help=True)
keys = typer.Typer(
    help="API keys: shown once when created, stored only as a hash.", no_args_is_help=True
)


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_sync_engine(get_settings())
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        typer.echo(f"no tenant {tenant_id}", err=True)
        raise typer.Exit(1)
    return tenant


@tenants.command("create")
def create_tenant(
    name: str = typer.Option(..., help="the tenant's name"),
    allow_social_publishing: bool = typer.Option(
        False, help="the plan allows publishing (off by default, as on every plan)"
    ),
    requires_approval: bool = typer.Option(False, help="posts need a reviewer's approval"),
) -> None:
    """Create a tenant; prints its id."""
    with _session() as session:
        tenant = Tenant(
            name=name,
            allow_social_publishing=allow_social_publishing,
            requires_approval=requires_approval,
        )
        session.add(tenant)
        session.commit()
        typer.echo(tenant.id)


@tenants.command("update")
def update_tenant(
    tenant_id: str,
    allow_social_publishing: bool | None = typer.Option(
        None, "--allow-social-publishing/--no-allow-social-publishing"
    ),
    requires_approval: bool | None = typer.Option(
        None, "--requires-approval/--no-requires-approval"
    ),
    allow_self_approval: bool | None = typer.Option(
        None,
        "--allow-self-approval/--no-allow-self-approval",
        help="a key may approve the posts it created (off: someone else must)",
    ),
) -> None:
    """Change a tenant's plan flags; flags not given stay as they are."""
    with _session() as session:
        tenant = _tenant(session, tenant_id)
        if allow_social_publishing is not None:
            tenant.allow_social_publishing = allow_social_publishing
        if requires_approval is not None:
            tenant.requires_approval = requires_approval
        if allow_self_approval is not None:
            tenant.allow_self_approval = allow_self_approval
        session.add(tenant)
        session.commit()
        typer.echo(
            f"{tenant.id}: allow_social_publishing={tenant.allow_social_publishing} "
            f"requires_approval={tenant.requires_approval} "
            f"allow_self_approval={tenant.allow_self_approval}"
        )


@tenants.command("list")
def list_tenants() -> None:
    with _session() as session:
        for tenant in session.exec(select(Tenant).order_by(col(Tenant.created_at))):
            typer.echo(
                f"{tenant.id}  {tenant.name}  "
                f"allow_social_publishing={tenant.allow_social_publishing}"
            )


def _scopes(raw: str) -> list[str]:
    wanted = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [scope for scope in wanted if canonical_scope(scope) not in SCOPES]
    if unknown or not wanted:
        typer.echo(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SCOPES)} (or seed 004's service.social.* names)",
            err=True,
        )
        raise typer.Exit(2)
    return [canonical_scope(scope) for scope in wanted]


@keys.command("create")
def create_key(
    tenant: str = typer.Option(..., help="the tenant id"),
    # Required, with no default: a key gets only the scopes its operator chose for it (a key
    # holding every scope could approve and publish its own posts).
    scopes: str = typer.Option(
        ..., help=f"comma-separated scopes, from: {', '.join(SCOPES)}", show_default=False
    ),
    name: str = typer.Option("api key", help="a name to tell keys apart"),
    test: bool = typer.Option(
        False, "--test/--live", help="a sandbox key (sk_test_) or a live one (sk_live_)"
    ),
) -> None:
    """Create an API key. The key is printed once, here; only its hash is kept."""
    chosen = _scopes(scopes)
    with _session() as session:
        _tenant(session, tenant)
        key = generate_api_key(test=test)
        session.add(
            ApiKey(
                tenant_id=tenant,
                name=name,
                key_hash=hash_api_key(key),
                key_prefix=display_prefix(key),
                is_test=test,
                scopes=chosen,
            )
        )
        session.commit()
    typer.echo(key)
    typer.echo("store it now: it cannot be shown again", err=True)


@keys.command("list")
def list_keys(tenant: str = typer.Option(..., help="the tenant id")) -> None:
    with _session() as session:
        for key in session.exec(select(ApiKey).where(ApiKey.tenant_id == tenant)):
            revoked = f"  revoked {key.revoked_at.isoformat()}" if key.revoked_at else ""
            typer.echo(f"{key.id}  {key.key_prefix}…  {key.name}  {','.join(key.scopes)}{revoked}")


@keys.command("revoke")
def revoke_key(key_id: str) -> None:
    with _session() as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            typer.echo(f"no key {key_id}", err=True)
            raise typer.Exit(1)
        key.revoked_at = key.revoked_at or utcnow()
        session.add(key)
        session.commit()
        typer.echo(f"revoked {key.key_prefix}…")


def rotate_keys() -> None:
    """Re-encrypt every stored secret under the first of CRIER_TOKEN_KEYS.

    Put a new key first, keep the old ones after it, run this, then drop the old ones.
    "Every" is each `*_enc` column of every table (core.vault.encrypted_columns), so a
    secret column added later is rotated too.
    """
    vault = Vault.from_settings(get_settings())
    counts: dict[str, int] = {}
    with _session() as session:
        connection = session.connection()
        for table, columns in encrypted_columns(SQLModel.metadata):
            keys = list(table.primary_key.columns)
            for row in connection.execute(sa_select(*keys, *columns)).mappings().all():
                changed: dict[str, str] = {}
                for column in columns:
                    ciphertext = row[column.name]
                    if ciphertext is None:
                        continue
                    try:
                        changed[column.name] = vault.rotate(ciphertext)
                    except InvalidToken:
                        where = ", ".join(f"{key.name}={row[key.name]}" for key in keys)
                        typer.echo(
                            f"{table.name}.{column.name} ({where}) opens with none of "
                            "CRIER_TOKEN_KEYS: nothing was changed",
                            err=True,
                        )
                        raise typer.Exit(1) from None
                    name = f"{table.name}.{column.name}"
                    counts[name] = counts.get(name, 0) + 1
                if changed:
                    connection.execute(
                        update(table).where(*(key == row[key.name] for key in keys)).values(changed)
                    )
        session.commit()  # one transaction: a failure leaves every row as it was
    typer.echo(
        "re-encrypted under the first key: "
        + (", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "nothing stored")
    )
