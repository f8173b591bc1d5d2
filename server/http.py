"""The HTTP surroundings of the API: probes, /metrics, and the middleware for browsers and
phones (CORS, compression). app.py wires them."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from importlib.metadata import version as package_version

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette_cramjam.compression import Compression
from starlette_cramjam.middleware import CompressionMiddleware

import metrics
from db.replicas import format_lsn
from resolvers.context import POSITION_HEADER
from settings import Settings

log = logging.getLogger("perisai")
READY_TIMEOUT_S = 2.0
VERSION = package_version("perisai-coverage")


async def healthz(request: Request) -> Response:
    """For people: versions, and each database's role — the primary's reachability and every
    replica's lag and whether it serves reads. 503 while the primary is unreachable."""
    router = request.app.state.router
    body: dict[str, object] = {"status": "ok", "database": "ok", "version": VERSION}
    try:
        async with request.app.state.engine.connect() as conn:
            body["postgis"] = await conn.scalar(text("SELECT postgis_lib_version()"))
    except Exception as exc:  # the point of a health check is to report any failure
        log.warning("health check failed: %s", exc)
        body.update(status="error", database="unreachable")
    if router.replicas:
        body["primary"] = {"reachable": body["database"] == "ok", "role": "primary",
                           "wal_lsn": None if router.primary_lsn is None else format_lsn(router.primary_lsn)}
        body["replicas"] = router.status()
    return JSONResponse(body, status_code=200 if body["database"] == "ok" else 503)


async def livez(request: Request) -> Response:
    """Liveness: the process answers (a load balancer restarts it otherwise). No database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness: the database answers now. Through the write engine's pool, not the read pool:
    reads saturating their pool under load must not make the probe fail and the server flap."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S), request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "send traffic elsewhere"
        log.warning("not ready: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})


def metrics_endpoint(token: str | None) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if token and not hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}"):
            return JSONResponse({"error": "send Authorization: Bearer <PERISAI_METRICS_TOKEN>"}, status_code=401)
        metrics.observe_pool(request.app.state.pool.get_size(), request.app.state.pool.get_idle_size())
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return endpoint


def http_middleware(config: Settings) -> list[Middleware]:
    """CORS for the configured origins; brotli or gzip for answers above a size (map pages and
    GeoJSON shrink 3.5-9×, which is what a phone on a rural network waits for)."""
    middleware = []
    if config.allowed_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=config.allowed_origins, allow_methods=["GET", "POST"],
                                     allow_headers=["authorization", "content-type", "x-request-id", POSITION_HEADER],
                                     expose_headers=["x-request-id", POSITION_HEADER], max_age=600))
    # Level 5: brotli's default (11) took 2.5 s on the 1 MB national map page, level 5 66 ms
    # (gzip 38 ms) for 3.5× smaller; a 220 KB district page: 5 ms, 8.6× (BENCHMARKS.md).
    middleware.append(Middleware(CompressionMiddleware, minimum_size=config.compress_min_bytes, compression_level=5,
                                 compression=[Compression.br, Compression.gzip]))
    return middleware
