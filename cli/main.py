"""The `crier` command."""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from cli import admin
from core.config import get_settings
from core.logs import configure_logging

# No locals in tracebacks: they would print settings, keys and tokens to the terminal.
app = typer.Typer(
    help="crier: durable social publishing.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


app.add_typer(admin.tenants, name="tenants")
app.add_typer(admin.keys, name="keys")


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored token under the first of CRIER_TOKEN_KEYS."""
    admin.rotate_keys()


@app.command()
def dev() -> None:
    """Run everything locally: Temporal dev server, worker, API, sandbox, demo tenant."""
    from cli.dev import run_dev

    run_dev(get_settings())


@app.command()
def worker() -> None:
    """Run a Temporal worker against CRIER_TEMPORAL_ADDRESS."""
    from cli.worker import run_worker

    configure_logging()
    asyncio.run(run_worker())


@app.command()
def api(
    host: str | None = typer.Option(None, help="default: CRIER_API_HOST"),
    port: int | None = typer.Option(None, help="default: CRIER_API_PORT"),
) -> None:
    """Serve the HTTP API."""
    settings = get_settings()
    configure_logging()
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
    settings = get_settings()
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

    upgrade(get_settings())
    typer.echo("database is at the latest migration")


if __name__ == "__main__":
    app()
