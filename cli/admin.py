"""Operators' commands: plans, tenants and the plan they are on, API keys, token-key rotation.

They work on the database directly (CRIER_DATABASE_URL), as an operator's tools should: no API
key is needed to make the first API key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from cryptography.fernet import InvalidToken
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, func, select

from core.config import get_settings
from core.db import make_sync_engine, utcnow
from core.models import DEFAULT_PLAN, ApiKey, Plan, Project, Tenant  # (and every table)
from core.security import (
    SCOPES,
    canonical_scope,
    display_prefix,
    generate_api_key,
    hash_api_key,
)
from core.status import Platform
from core.vault import Vault, encrypted_columns

plans = typer.Typer(
    help="Plans: whether tenants on each may publish, and their limits.", no_args_is_help=True
)
tenants = typer.Typer(help="Tenants and the plan each is on.", no_args_is_help=True)
keys = typer.Typer(
    help="API keys: shown once when created, stored only as a hash.", no_args_is_help=True
)

# A plan's id is typed by operators and shown in refusals: a short lower-case name.
PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# `--platforms all` (or an empty value): the plan does not restrict platforms.
ALL_PLATFORMS = "all"


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_sync_engine(get_settings())
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _refuse(problems: list[str]) -> None:
    """Every problem with the command line at once, then exit 2 (a usage error), as Typer's
    own refusals do; nothing was changed."""
    if problems:
        for line in problems:
            typer.echo(line, err=True)
        raise typer.Exit(2)


def _tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        typer.echo(f"no tenant {tenant_id}", err=True)
        raise typer.Exit(1)
    return tenant


def _plan_ids(session: Session) -> list[str]:
    return sorted(session.exec(select(Plan.id)).all())


def _unknown_plan(session: Session, plan_id: str) -> str:
    return f"no plan '{plan_id}'; the plans are: {', '.join(_plan_ids(session)) or '(none)'}"


def _plan(session: Session, plan_id: str) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        typer.echo(_unknown_plan(session, plan_id), err=True)
        raise typer.Exit(1)
    return plan


def _tenants_on(session: Session, plan_id: str) -> int:
    return session.exec(select(func.count()).where(Tenant.plan_id == plan_id)).one()


def _platforms(raw: str, problems: list[str]) -> list[str] | None:
    """`x,linkedin` → those platforms (in the enum's spelling, "twitter" taken as x);
    `all` or empty → None, no restriction. Unknown names are added to `problems`."""
    wanted = [part.strip().lower() for part in raw.split(",") if part.strip()]
    if not wanted or wanted == [ALL_PLATFORMS]:
        return None
    chosen: list[str] = []
    unknown: list[str] = []
    for name in wanted:
        try:
            platform = Platform(name).value
        except ValueError:
            unknown.append(name)
            continue
        if platform not in chosen:
            chosen.append(platform)
    if unknown:
        problems.append(
            f"unknown platform(s) {', '.join(unknown)}; choose from "
            f"{', '.join(p.value for p in Platform)}, or '{ALL_PLATFORMS}' for no restriction"
        )
    return chosen


def _limit(name: str, value: int | None, problems: list[str]) -> None:
    if value is not None and value < 0:
        problems.append(f"--{name} must be 0 or more (got {value})")


def _describe(plan: Plan, tenants_on: int) -> str:
    def limit(value: int | None) -> str:
        return "unlimited" if value is None else str(value)

    platforms = ",".join(plan.platforms) if plan.platforms is not None else ALL_PLATFORMS
    return (
        f"{plan.id}  {plan.name}  "
        f"publishing={'on' if plan.allow_social_publishing else 'off'}  "
        f"max_accounts={limit(plan.max_accounts)}  "
        f"max_posts_per_month={limit(plan.max_posts_per_month)}  "
        f"platforms={platforms or '(none)'}  tenants={tenants_on}"
    )


@plans.command("list")
def list_plans() -> None:
    """Every plan, its limits, and how many tenants are on it."""
    with _session() as session:
        for plan in session.exec(select(Plan).order_by(col(Plan.id))):
            typer.echo(_describe(plan, _tenants_on(session, plan.id)))


@plans.command("create")
def create_plan(
    plan_id: str = typer.Option(
        ..., "--id", help="a short lower-case name, shown in refusals: agency, pro-2025"
    ),
    name: str = typer.Option(..., help="the plan's name, as people see it"),
    allow_social_publishing: bool = typer.Option(
        False,
        "--allow-social-publishing/--no-allow-social-publishing",
        help="tenants on it may publish (off by default, as the seed says)",
    ),
    max_accounts: int | None = typer.Option(
        None, help="connected accounts a tenant may have (both modes); default: no limit"
    ),
    max_posts_per_month: int | None = typer.Option(
        None, help="posts a tenant may create per calendar month (UTC), per mode; default: no limit"
    ),
    platforms: str = typer.Option(
        ALL_PLATFORMS,
        help=f"comma-separated platforms it includes, from: {', '.join(p.value for p in Platform)}"
        f"; '{ALL_PLATFORMS}' or empty: no restriction",
    ),
) -> None:
    """Create a plan."""
    problems: list[str] = []
    if not PLAN_ID.match(plan_id):
        problems.append(
            f"--id '{plan_id}' is not a plan id: 1 to 40 of a-z, 0-9, '-' and '_', "
            "starting with a letter or digit"
        )
    if not name.strip() or len(name) > 200:
        problems.append("--name must be 1 to 200 characters")
    _limit("max-accounts", max_accounts, problems)
    _limit("max-posts-per-month", max_posts_per_month, problems)
    chosen = _platforms(platforms, problems)
    _refuse(problems)
    with _session() as session:
        if session.get(Plan, plan_id) is not None:
            typer.echo(f"a plan '{plan_id}' exists: change it with `crier plans update`", err=True)
            raise typer.Exit(1)
        plan = Plan(
            id=plan_id,
            name=name.strip(),
            allow_social_publishing=allow_social_publishing,
            max_accounts=max_accounts,
            max_posts_per_month=max_posts_per_month,
            platforms=chosen,
        )
        session.add(plan)
        session.commit()
        typer.echo(_describe(plan, 0))


@plans.command("update")
def update_plan(
    plan_id: str,
    name: str | None = typer.Option(None, help="the plan's name, as people see it"),
    allow_social_publishing: bool | None = typer.Option(
        None, "--allow-social-publishing/--no-allow-social-publishing"
    ),
    max_accounts: int | None = typer.Option(None, help="a new accounts limit"),
    no_max_accounts: bool = typer.Option(
        False, "--no-max-accounts", help="remove the accounts limit"
    ),
    max_posts_per_month: int | None = typer.Option(None, help="a new posts-per-month limit"),
    no_max_posts_per_month: bool = typer.Option(
        False, "--no-max-posts-per-month", help="remove the posts-per-month limit"
    ),
    platforms: str | None = typer.Option(
        None, help=f"the platforms it includes, comma-separated; '{ALL_PLATFORMS}': no restriction"
    ),
) -> None:
    """Change a plan; options not given stay as they are. It applies at once to every tenant on
    it (accounts and posts already made stay)."""
    problems: list[str] = []
    if name is not None and (not name.strip() or len(name) > 200):
        problems.append("--name must be 1 to 200 characters")
    for option, value, cleared in (
        ("max-accounts", max_accounts, no_max_accounts),
        ("max-posts-per-month", max_posts_per_month, no_max_posts_per_month),
    ):
        _limit(option, value, problems)
        if value is not None and cleared:
            problems.append(f"give --{option} N or --no-{option}, not both")
    chosen = _platforms(platforms, problems) if platforms is not None else None
    _refuse(problems)
    with _session() as session:
        plan = _plan(session, plan_id)
        if name is not None:
            plan.name = name.strip()
        if allow_social_publishing is not None:
            plan.allow_social_publishing = allow_social_publishing
        if max_accounts is not None or no_max_accounts:
            plan.max_accounts = max_accounts
        if max_posts_per_month is not None or no_max_posts_per_month:
            plan.max_posts_per_month = max_posts_per_month
        if platforms is not None:
            plan.platforms = chosen
        plan.updated_at = utcnow()
        session.add(plan)
        session.commit()
        typer.echo(_describe(plan, _tenants_on(session, plan.id)))


@plans.command("delete")
def delete_plan(plan_id: str) -> None:
    """Delete a plan no tenant is on (the default plan, which new tenants get, stays)."""
    with _session() as session:
        plan = _plan(session, plan_id)
        if plan.id == DEFAULT_PLAN:
            typer.echo(f"'{DEFAULT_PLAN}' is the plan new tenants get: it cannot go", err=True)
            raise typer.Exit(1)
        on_it = _tenants_on(session, plan.id)
        if on_it:
            typer.echo(
                f"{on_it} tenant(s) are on the plan '{plan.id}': move them first with "
                f"`crier tenants update <tenant id> --plan <another plan>`",
                err=True,
            )
            raise typer.Exit(1)
        session.delete(plan)
        session.commit()
        typer.echo(f"deleted the plan {plan.id}")


def _known_plan(session: Session, plan_id: str) -> None:
    """An unknown plan is a usage error (exit 2) naming the plans there are."""
    if session.get(Plan, plan_id) is None:
        _refuse([_unknown_plan(session, plan_id)])


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
    with _session() as session:
        _known_plan(session, plan)
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
    with _session() as session:
        tenant = _tenant(session, tenant_id)
        if plan is not None:
            _known_plan(session, plan)
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
    with _session() as session:
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
    _refuse(problems)
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
    with _session() as session:
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
    with _session() as session:
        for key in session.exec(select(ApiKey).where(ApiKey.tenant_id == tenant)):
            revoked = f"  revoked {key.revoked_at.isoformat()}" if key.revoked_at else ""
            projects = f"  projects={','.join(key.project_ids)}" if key.project_ids else ""
            typer.echo(
                f"{key.id}  {key.key_prefix}…  {key.name}  {','.join(key.scopes)}"
                f"{projects}{revoked}"
            )


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
