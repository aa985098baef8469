"""The `crier` command."""

from __future__ import annotations

import asyncio
import os

import typer
import uvicorn
from pydantic import ValidationError

from cli import admin, aggregator_refs, plans
from core.config import Settings, get_settings, log_mode
from core.logs import configure_logging

# No locals in tracebacks: they would print settings, keys and tokens to the terminal.
app = typer.Typer(
    help="crier: durable social publishing.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _settings() -> Settings:
    """The settings, or a plain refusal naming each problem (no traceback) when they are not
    fit to start: production without its secrets, a short secret, ..."""
    try:
        return get_settings()
    except ValidationError as invalid:
        for error in invalid.errors(include_url=False, include_input=False):
            typer.echo(f"crier: {error['msg']}", err=True)
        raise typer.Exit(2) from None


app.add_typer(plans.plans, name="plans")
app.add_typer(admin.tenants, name="tenants")
app.add_typer(admin.keys, name="keys")
app.add_typer(aggregator_refs.refs, name="aggregator-refs")


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored secret (each *_enc column) under the first of CRIER_TOKEN_KEYS."""
    admin.rotate_keys()


@app.command()
def dev() -> None:
    """Run everything locally: Temporal dev server, worker, API, sandbox, demo tenant."""
    from cli.dev import run_dev

    # The development stack, always: an unset CRIER_ENV means development here (not the
    # production default), and production is refused rather than half-run. The tests run it
    # with CRIER_ENV=test, which is kept.
    mode = os.environ.setdefault("CRIER_ENV", "development")
    if mode == "production":
        typer.echo("crier dev runs the development stack: unset CRIER_ENV=production", err=True)
        raise typer.Exit(2)
    run_dev(_settings())


@app.command()
def worker() -> None:
    """Run a Temporal worker against CRIER_TEMPORAL_ADDRESS."""
    from cli.worker import run_worker

    configure_logging()
    asyncio.run(run_worker(settings=_settings()))


@app.command()
def api(
    host: str | None = typer.Option(None, help="default: CRIER_API_HOST"),
    port: int | None = typer.Option(None, help="default: CRIER_API_PORT"),
) -> None:
    """Serve the HTTP API."""
    settings = _settings()
    configure_logging()
    log_mode("api", settings)
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        log_config=None,  # uvicorn's records go to the JSON handler with everything else
    )


@app.command()
def sandbox() -> None:
    """Serve the sandbox that stands in for every platform's API."""
    settings = _settings()
    configure_logging()
    log_mode("sandbox", settings)
    uvicorn.run(
        "sandbox.app:create_app",
        factory=True,
        host=settings.sandbox_host,
        port=settings.sandbox_port,
        log_level="warning",
    )


@app.command()
def migrate() -> None:
    """Apply the database migrations (CRIER_DATABASE_URL)."""
    from core.migrate import upgrade

    settings = _settings()
    configure_logging()
    log_mode("migrate", settings)
    upgrade(settings)
    typer.echo("database is at the latest migration")


if __name__ == "__main__":
    app()
