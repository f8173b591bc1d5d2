"""The ASGI application: settings, database engine, routes. Run with `perisai serve`."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from embedded.cluster import resolve_database_url
from db.engine import create_engine, create_pool, create_sessionmaker
from events.hub import EventHub, asyncpg_url
from maps.routes import map_routes
from resolvers.context import ANONYMOUS_PLANNER
from schema import build_schema
from schema.limits import Limits
from server.graphql_view import GraphQLApp
from server.logs import RequestIds, configure_logging
from settings import Settings
from web_assets import URL as ASSETS_URL
from web_assets import VENDOR

log = logging.getLogger("perisai")


async def healthz(request: Request) -> Response:
    try:
        async with request.app.state.engine.connect() as conn:
            postgis = await conn.scalar(text("SELECT postgis_lib_version()"))
    except Exception as exc:  # the point of a health check is to report any failure
        log.warning("health check failed: %s", exc)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "postgis": postgis})


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; the database is resolved at start-up (embedded unless DATABASE_URL is set)."""
    config = settings or Settings()
    secret = config.secret("jwt_secret")  # in production a missing secret stops start-up here

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = await run_in_threadpool(
            resolve_database_url, config.database_url, config.data_dir, config.database_name
        )
        app.state.engine = create_engine(url, statement_timeout_ms=config.statement_timeout_ms)
        app.state.sessions = create_sessionmaker(app.state.engine)
        app.state.pool = await create_pool(url, size=config.read_pool_size, statement_timeout_ms=config.statement_timeout_ms)
        app.state.events = EventHub(asyncpg_url(url))
        # Everything loaded so far (schema, libraries, settings) lives as long as the process; frozen,
        # full collections stop re-scanning it. Unfrozen, each one paused a worker for 65-230 ms
        # about once a second under load (nested peer workload: p99 82-207 ms; BENCHMARKS.md).
        gc.freeze()
        yield
        await app.state.events.close()
        await app.state.pool.close()
        await app.state.engine.dispose()

    configure_logging()
    limits = Limits(
        max_bytes=config.max_query_bytes, max_tokens=config.max_query_tokens, max_depth=config.max_query_depth,
        max_aliases=config.max_query_aliases, max_fields=config.max_query_fields, max_merges=config.max_query_merges,
        max_cost=config.max_query_cost,
    )
    graphql = GraphQLApp(
        build_schema(production=config.production, limits=limits),
        graphql_ide=None if config.production else "graphiql",
        jwt_secret=secret,
        nik_key=config.secret("nik_key"),
        anonymous=ANONYMOUS_PLANNER if config.anonymous_role == "planner" else None,
        limits=limits,
        max_body_bytes=config.max_request_bytes,
    )
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]), WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz), *map_routes(),
        Mount(ASSETS_URL, app=StaticFiles(directory=VENDOR, check_dir=False), name="assets"),  # maps, GraphiQL
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(RequestIds)])
    app.state.jwt_secret = secret
    return app
