"""Operators' commands for plans: whether tenants on each may publish, and their limits."""

from __future__ import annotations

import re

import typer
from sqlmodel import Session, col, func, select

from cli.operator_db import operator_session, refuse
from core.db import utcnow
from core.models import DEFAULT_PLAN, Plan, Tenant
from core.status import Platform

plans = typer.Typer(
    help="Plans: whether tenants on each may publish, and their limits.", no_args_is_help=True
)

# A plan's id is typed by operators and shown in refusals: a short lower-case name.
PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# `--platforms all` (or an empty value): the plan does not restrict platforms.
ALL_PLATFORMS = "all"


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
    with operator_session() as session:
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
    refuse(problems)
    with operator_session() as session:
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
    refuse(problems)
    with operator_session() as session:
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
    with operator_session() as session:
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


def known_plan(session: Session, plan_id: str) -> None:
    """An unknown plan is a usage error (exit 2) naming the plans there are."""
    if session.get(Plan, plan_id) is None:
        refuse([_unknown_plan(session, plan_id)])
