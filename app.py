"""The ASGI application: settings, database engine, routes. Run with `perisai serve`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from auth.oidc import OidcVerifier
from auth.signin import SignIn
from db.engine import create_engine, create_pool, create_sessionmaker
from db.queries.suppression import store_small_count_k
from db.replicas import ReadRouter, Replica, display_name
from embedded.cluster import resolve_database_url
from events.hub import EventHub, asyncpg_url
from maps.exports import export_routes
from maps.ogc import ogc_routes
from maps.routes import map_routes
from maps.tiles import tile_routes
from resolvers.context import ANONYMOUS_PLANNER
from schema import build_schema
from schema.limits import Limits
from server.graphql_view import GraphQLApp
from server.http import healthz, http_middleware, livez, metrics_endpoint, readyz
from server.logs import RequestIds, configure_logging
from server.persisted import PersistedQueries, load_registered
from server.tracing import start_tracing
from settings import Settings
from web_assets import URL as ASSETS_URL
from web_assets import VENDOR


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; the database is resolved at start-up (embedded unless DATABASE_URL is set)."""
    config = settings or Settings()
    secret = config.secret("jwt_secret")  # in production a missing secret stops start-up here

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = await run_in_threadpool(
            resolve_database_url, config.database_url, config.data_dir, config.database_name
        )
        timeout, pooler = config.statement_timeout_ms, config.pooler
        app.state.engine = create_engine(url, statement_timeout_ms=timeout, pooler=pooler)
        app.state.sessions = create_sessionmaker(app.state.engine)
        await store_small_count_k(url, config.small_count_k, pooler)
        app.state.pool = await create_pool(url, size=config.read_pool_size, statement_timeout_ms=timeout, pooler=pooler)
        app.state.router = ReadRouter(app.state.pool, app.state.sessions, [
            Replica(display_name(replica),
                    await create_pool(replica, size=config.read_pool_size, statement_timeout_ms=timeout, min_size=0,
                                      pooler=pooler),
                    create_engine(replica, statement_timeout_ms=timeout, pooler=pooler))
            for replica in config.replicas], config.max_replica_lag_s)
        await app.state.router.start()
        app.state.events = EventHub(asyncpg_url(config.listen_url or url))
        # Everything loaded so far (schema, libraries, settings) lives as long as the process; frozen,
        # full collections stop re-scanning it. Unfrozen, each one paused a worker for 65-230 ms
        # about once a second under load (nested peer workload: p99 82-207 ms; BENCHMARKS.md).
        gc.freeze()
        yield
        await app.state.events.close()
        await app.state.router.close()
        await app.state.pool.close()
        await app.state.engine.dispose()

    configure_logging()
    if config.otel_traces_endpoint:
        start_tracing(config.otel_traces_endpoint)
    oidc = config.oidc()
    sign_in = SignIn(secret, OidcVerifier(oidc) if oidc else None, config.secret_source("jwt_secret"))
    limits = Limits(
        max_bytes=config.max_query_bytes, max_tokens=config.max_query_tokens, max_depth=config.max_query_depth,
        max_aliases=config.max_query_aliases, max_fields=config.max_query_fields, max_merges=config.max_query_merges,
        max_cost=config.max_query_cost,
    )
    registered = load_registered(config.persisted_queries) if config.persisted_queries else {}
    graphql = GraphQLApp(
        build_schema(production=config.production, limits=limits,
                     registered_only=frozenset(registered) if config.persisted_queries_only else None,
                     traced=bool(config.otel_traces_endpoint)),
        graphql_ide=None if config.production else "graphiql",
        sign_in=sign_in,
        nik_key=config.secret("nik_key"),
        anonymous=ANONYMOUS_PLANNER if config.anonymous_role == "planner" else None,
        limits=limits,
        max_body_bytes=config.max_request_bytes,
        persisted=PersistedQueries(registered, only_registered=config.persisted_queries_only),
        admit_queries=not config.otel_traces_endpoint,
    )
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]), WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz), Route("/livez", livez), Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint(config.metrics_token.get_secret_value() if config.metrics_token else None)),
        *map_routes(),
        *tile_routes(),
        *ogc_routes(),
        *export_routes(),
        Mount(ASSETS_URL, app=StaticFiles(directory=VENDOR, check_dir=False), name="assets"),  # maps, GraphiQL
    ]
    tracing = [Middleware(OpenTelemetryMiddleware)] if config.otel_traces_endpoint else []
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[*tracing, Middleware(RequestIds), *http_middleware(config)])
    app.state.jwt_secret = secret
    app.state.sign_in = sign_in
    return app
