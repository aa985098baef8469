"""`crier aggregator-refs`: which aggregator account the deployment's own key posts to for an
account. Only the operator assigns these (security review S2): a tenant names refs for its own
aggregator keys through the API, never for the deployment's."""

from __future__ import annotations

import typer
from sqlmodel import col, select

from cli.operator_db import operator_session
from core.models import Account, DeploymentAggregatorRef

refs = typer.Typer(
    help="The deployment's aggregator keys: each account's id there, assigned by the operator.",
    no_args_is_help=True,
)

AGGREGATORS = ("postforme", "late")


def _known(aggregator: str) -> str:
    if aggregator not in AGGREGATORS:
        typer.echo(f"unknown aggregator {aggregator!r}: one of {', '.join(AGGREGATORS)}", err=True)
        raise typer.Exit(1)
    return aggregator


@refs.command("assign")
def assign(
    account_id: str,
    aggregator: str = typer.Argument(..., help="postforme or late"),
    ref: str = typer.Argument(..., help="the account's id in the deployment's workspace"),
) -> None:
    """Let the deployment's key for AGGREGATOR post this account's targets to REF."""
    _known(aggregator)
    if not 0 < len(ref) <= 200:
        typer.echo("a ref is 1 to 200 characters", err=True)
        raise typer.Exit(1)
    with operator_session() as session:
        account = session.get(Account, account_id)
        if account is None:
            typer.echo(f"no account {account_id}", err=True)
            raise typer.Exit(1)
        found = session.exec(
            select(DeploymentAggregatorRef).where(
                DeploymentAggregatorRef.account_id == account_id,
                DeploymentAggregatorRef.aggregator == aggregator,
            )
        ).first()
        row = found or DeploymentAggregatorRef(
            tenant_id=account.tenant_id, account_id=account_id, aggregator=aggregator, ref=ref
        )
        row.ref = ref
        session.add(row)
        session.commit()
        typer.echo(f"{account_id} ({account.tenant_id}): deployment {aggregator} → {ref}")


@refs.command("remove")
def remove(
    account_id: str, aggregator: str = typer.Argument(..., help="postforme or late")
) -> None:
    """The deployment's key no longer posts this account's targets."""
    _known(aggregator)
    with operator_session() as session:
        found = session.exec(
            select(DeploymentAggregatorRef).where(
                DeploymentAggregatorRef.account_id == account_id,
                DeploymentAggregatorRef.aggregator == aggregator,
            )
        ).first()
        if found is None:
            typer.echo(f"no {aggregator} ref for {account_id}", err=True)
            raise typer.Exit(1)
        session.delete(found)
        session.commit()
        typer.echo(f"{account_id}: deployment {aggregator} removed")


@refs.command("list")
def list_refs(tenant: str | None = typer.Option(None, help="only this tenant's accounts")) -> None:
    with operator_session() as session:
        query = select(DeploymentAggregatorRef).order_by(
            col(DeploymentAggregatorRef.tenant_id), col(DeploymentAggregatorRef.account_id)
        )
        if tenant is not None:
            query = query.where(DeploymentAggregatorRef.tenant_id == tenant)
        for row in session.exec(query):
            typer.echo(f"{row.tenant_id}  {row.account_id}  {row.aggregator}  {row.ref}")
