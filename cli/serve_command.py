"""`perisai serve`: start the database if needed, migrate, and serve the API with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from cli.runtime import console, database_url, friendly_errors, settings
from server.workers import serve as serve_workers
from settings import read_pool_default


@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(metavar="HOST", help="Interface to listen on (default PERISAI_HOST).")] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port (default PERISAI_PORT, 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, metavar="N", help="Worker processes (one per core in production).")] = 1,
) -> None:
    """Serve the GraphQL API on /graphql (GraphiQL in development) and /healthz."""
    config = settings()
    if config.production:
        config.secret("jwt_secret")  # refuse to start without it, before touching the database
    url = database_url(config)
    # Workers are separate processes: hand them the resolved URL so none starts a cluster.
    os.environ["DATABASE_URL"] = url
    if "read_pool_size" not in config.model_fields_set:  # neither the environment nor .env sets it
        os.environ["PERISAI_READ_POOL_SIZE"] = str(read_pool_default(workers))
    host, port = host or config.host, port or config.port
    console.print(f"Serving on http://{host}:{port}/graphql")
    if not config.production:
        console.print("Every request needs a token: `.venv/bin/perisai token --role admin` prints one.")
    # access_log=False: the app writes its own access line (server/logs.py); uvicorn's, even with its
    # logger disabled, still formatted its arguments (client, quoted path) for every response.
    server = uvicorn.Config("app:create_app", factory=True, host=host, port=port, log_level="info", access_log=False)
    if workers == 1:
        uvicorn.Server(server).run()
    else:
        code = serve_workers(server, workers)  # connections dealt to the workers in turn (server/workers.py)
        if code:
            raise typer.Exit(code)
