"""Operators' commands: tenants and the plan they are on, API keys, token-key rotation (plans:
cli/plans.py).

They work on the database directly (CRIER_DATABASE_URL), as an operator's tools should: no API
key is needed to make the first API key.
"""

from __future__ import annotations

import typer
from cryptography.fernet import InvalidToken
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select

from cli.operator_db import operator_session, refuse
from cli.plans import known_plan
from core.config import get_settings
from core.db import utcnow
from core.models import DEFAULT_PLAN, ApiKey, Project, Tenant  # (and every table)
from core.security import (
    SCOPES,
    canonical_scope,
    display_prefix,
    generate_api_key,
    hash_api_key,
)
from core.vault import Vault, encrypted_columns

tenants = typer.Typer(help="Tenants and the plan each is on.", no_args_is_help=True)
keys = typer.Typer(
    help="API keys: shown once when created, stored only as a hash.", no_args_is_help=True
)


def _tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        typer.echo(f"no tenant {tenant_id}", err=True)
        raise typer.Exit(1)
    return tenant


@tenants.command("create")
def create_tenant(
    name: str = typer.Option(..., help="the tenant's name"),
    plan: str = typer.Option(
        DEFAULT_PLAN,
        help="the plan it is on (`crier plans list`)",
    ),
    requires_approval: bool = typer.Option(False, help="posts need a reviewer's approval"),
) -> None:
    """Create a tenant; prints its id."""
    with operator_session() as session:
        known_plan(session, plan)
        tenant = Tenant(name=name, plan_id=plan, requires_approval=requires_approval)
        session.add(tenant)
        session.commit()
        typer.echo(tenant.id)


@tenants.command("update")
def update_tenant(
    tenant_id: str,
    plan: str | None = typer.Option(None, help="move the tenant to this plan"),
    requires_approval: bool | None = typer.Option(
        None, "--requires-approval/--no-requires-approval"
    ),
    allow_self_approval: bool | None = typer.Option(
        None,
        "--allow-self-approval/--no-allow-self-approval",
        help="a key may approve the posts it created (off: someone else must)",
    ),
) -> None:
    """Change a tenant's plan and approval settings; options not given stay as they are."""
    with operator_session() as session:
        tenant = _tenant(session, tenant_id)
        if plan is not None:
            known_plan(session, plan)
            tenant.plan_id = plan
        if requires_approval is not None:
            tenant.requires_approval = requires_approval
        if allow_self_approval is not None:
            tenant.allow_self_approval = allow_self_approval
        session.add(tenant)
        session.commit()
        typer.echo(
            f"{tenant.id}: plan={tenant.plan_id} "
            f"requires_approval={tenant.requires_approval} "
            f"allow_self_approval={tenant.allow_self_approval}"
        )


@tenants.command("list")
def list_tenants() -> None:
    """Every tenant and the plan it is on."""
    with operator_session() as session:
        for tenant in session.exec(select(Tenant).order_by(col(Tenant.created_at))):
            typer.echo(f"{tenant.id}  {tenant.name}  plan={tenant.plan_id}")


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


def _projects(session: Session, tenant_id: str, test: bool, wanted: list[str]) -> list[str]:
    """The projects a key is limited to: each one of its tenant's, in its mode, not deleted.
    Every one that is not is named, and no key is made."""
    mode = "sandbox" if test else "live"
    problems: list[str] = []
    chosen: list[str] = []
    for project_id in wanted:
        project = session.get(Project, project_id)
        if project is None or project.tenant_id != tenant_id:
            problems.append(f"--project {project_id}: the tenant has no such project")
        elif project.is_test != test:
            other = "live" if test else "sandbox"
            problems.append(
                f"--project {project_id}: a {other} project, and this is a {mode} key "
                f"({'--live' if not test else '--test'})"
            )
        elif project.deleted_at is not None:
            problems.append(f"--project {project_id}: the project was deleted")
        elif project_id not in chosen:
            chosen.append(project_id)
    refuse(problems)
    return chosen


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
    project: list[str] | None = typer.Option(
        None,
        "--project",
        help="limit the key to this project of its tenant and mode (repeat for several); "
        "none: every project",
        show_default=False,
    ),
) -> None:
    """Create an API key. The key is printed once, here; only its hash is kept."""
    chosen = _scopes(scopes)
    with operator_session() as session:
        _tenant(session, tenant)
        project_ids = _projects(session, tenant, test, project or [])
        key = generate_api_key(test=test)
        session.add(
            ApiKey(
                tenant_id=tenant,
                name=name,
                key_hash=hash_api_key(key),
                key_prefix=display_prefix(key),
                is_test=test,
                scopes=chosen,
                project_ids=project_ids,
            )
        )
        session.commit()
    typer.echo(key)
    typer.echo("store it now: it cannot be shown again", err=True)


@keys.command("list")
def list_keys(tenant: str = typer.Option(..., help="the tenant id")) -> None:
    with operator_session() as session:
        for key in session.exec(select(ApiKey).where(ApiKey.tenant_id == tenant)):
            revoked = f"  revoked {key.revoked_at.isoformat()}" if key.revoked_at else ""
            projects = f"  projects={','.join(key.project_ids)}" if key.project_ids else ""
            typer.echo(
                f"{key.id}  {key.key_prefix}…  {key.name}  {','.join(key.scopes)}"
                f"{projects}{revoked}"
            )


@keys.command("revoke")
def revoke_key(key_id: str) -> None:
    with operator_session() as session:
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
    with operator_session() as session:
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
