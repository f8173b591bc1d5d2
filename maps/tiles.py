"""Vector tiles for web maps and GIS: `/tiles/{layer}/{z}/{x}/{y}.mvt` and a TileJSON document per
layer at `/tiles/{layer}.json` (db/queries/tiles.py makes the tiles).

Same sign-in and scoping as the API and the map pages: a bearer token in the header (MapLibre's
`transformRequest` adds it), or a map link's `?token=` (the TileJSON's tile URLs carry it on).
Each tile is scoped to its caller, so responses are `private`; the ETag is a hash of the tile, so
an unchanged tile is a 304 without its bytes. Refusals are JSON with a code, never a bare 500.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.access import Viewer
from db.engine import is_statement_timeout, is_unavailable
from db.queries.tiles import LAYERS, MAX_ZOOM, tile
from geo.extent import INDONESIA
from maps.access import Refusal, analyst, read
from resolvers.context import POSITION_HEADER

log = logging.getLogger("perisai.tiles")

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
MAX_AGE_S = 60


def _refusal(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


class Refused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


async def _viewer(request: Request) -> tuple[Viewer, str | None]:
    try:
        return await analyst(request, "coverage tiles")
    except Refusal as refused:
        raise Refused(_refusal(refused.status, refused.code, str(refused))) from refused


def _layer(request: Request) -> str:
    layer = str(request.path_params["layer"])
    if layer not in LAYERS:
        raise Refused(_refusal(404, "NOT_FOUND", f"no layer {layer!r}; the layers are {', '.join(LAYERS)}"))
    return layer


def _coordinates(request: Request) -> tuple[int, int, int]:
    values = []
    for name in ("z", "x", "y"):
        given = str(request.path_params[name])
        if not (given.isascii() and given.isdigit() and len(given) <= 6):
            raise Refused(_refusal(400, "BAD_USER_INPUT", f"{name}: {given!r} is not a whole number"))
        values.append(int(given))
    z, x, y = values
    if z > MAX_ZOOM:
        raise Refused(_refusal(400, "BAD_USER_INPUT", f"z: tiles go to zoom {MAX_ZOOM}; ask for z ≤ {MAX_ZOOM}"))
    if x >= 2 ** z or y >= 2 ** z:
        raise Refused(_refusal(400, "BAD_USER_INPUT", f"x, y: at zoom {z} they run from 0 to {2 ** z - 1}"))
    return z, x, y


async def tile_endpoint(request: Request) -> Response:
    try:
        layer = _layer(request)
        z, x, y = _coordinates(request)
        viewer, _ = await _viewer(request)
        body = await read(request, lambda session: tile(session, layer, z, x, y, viewer))
    except Refused as refused:
        return refused.response
    except Refusal as refused:
        return _refusal(refused.status, refused.code, str(refused))
    except Exception as exc:  # every failure is a coded answer, never a bare 500
        if is_unavailable(exc) or is_statement_timeout(exc):
            log.warning("tile %s unavailable: %s", request.url.path, exc)
            return _refusal(503, "UNAVAILABLE", "the database is busy or restarting; retry in a few seconds",
                            **{"Retry-After": "5"})
        raise
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={MAX_AGE_S}", "Vary": f"Authorization, {POSITION_HEADER}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if not body:
        return Response(status_code=204, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


async def tilejson_endpoint(request: Request) -> Response:
    try:
        layer = _layer(request)
        _, link = await _viewer(request)
    except Refused as refused:
        return refused.response
    spec = LAYERS[layer]
    query = "?" + urlencode({"token": link}) if link else ""
    base = str(request.base_url).rstrip("/")
    document: dict[str, Any] = {
        "tilejson": "3.0.0", "name": f"perisai {layer}", "description": spec.description,
        "tiles": [f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt{query}"],
        "minzoom": spec.minzoom, "maxzoom": MAX_ZOOM, "bounds": list(INDONESIA),
        "vector_layers": [{"id": spec.name, "description": spec.description, "fields": spec.fields,
                           "minzoom": spec.minzoom, "maxzoom": MAX_ZOOM}],
    }
    return JSONResponse(document, headers={"Cache-Control": "private, max-age=300"})


def tile_routes() -> list[Route]:
    return [
        Route("/tiles/{layer}.json", tilejson_endpoint),
        Route("/tiles/{layer}/{z}/{x}/{y}.mvt", tile_endpoint),
    ]
