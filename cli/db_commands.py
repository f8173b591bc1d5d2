"""`perisai db up | down | status | migrate`."""

from __future__ import annotations

import typer

from cli.runtime import console, database_url, friendly_errors, settings
from embedded.cluster import EmbeddedCluster

app = typer.Typer(help="Manage the database (the embedded cluster unless DATABASE_URL is set).")


@app.command()
@friendly_errors
def up() -> None:
    """Create (first time) and start the embedded PostgreSQL, create the database, migrate it."""
    config = settings()
    database_url(config)
    where = "DATABASE_URL" if config.database_url else f"embedded cluster in {config.data_dir}"
    console.print(f"Database ready ({where}), migrations applied.")


@app.command()
@friendly_errors
def down() -> None:
    """Stop the embedded PostgreSQL (its data stays in PERISAI_DATA_DIR)."""
    config = settings()
    if config.database_url:
        console.print("DATABASE_URL is set: that server is not managed by perisai; nothing to stop.")
        return
    stopped = EmbeddedCluster(config.data_dir).stop()
    console.print("Stopped." if stopped else "The embedded database was not running.")


@app.command()
@friendly_errors
def status() -> None:
    """Say which database is used and whether it is running."""
    config = settings()
    if config.database_url:
        console.print("Using DATABASE_URL (an external server, not managed by perisai).")
        return
    cluster = EmbeddedCluster(config.data_dir)
    if not cluster.initialized:
        console.print(f"No embedded cluster yet in {config.data_dir}; `perisai db up` creates it.")
        raise typer.Exit(3)
    state = "running" if cluster.is_running() else "stopped"
    console.print(f"Embedded cluster in {cluster.data_dir}: {state}, port {cluster.info()['port']}.")
    if state == "stopped":
        raise typer.Exit(3)


@app.command()
@friendly_errors
def migrate() -> None:
    """Apply pending migrations."""
    database_url(settings())
    console.print("Migrations applied.")
