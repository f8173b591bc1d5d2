"""OGC API - Features (Part 1: Core, GeoJSON) under `/ogc/`, read-only, for QGIS and other GIS
clients: the landing page, `/conformance`, `/collections`, and each collection's `items` with
`bbox`, `limit`, the `regionCode` and `status` filters and `next` links (db/queries/features.py).

Same sign-in and scoping as the API (a bearer token, or a map link's `?token=`, carried on in every
link). Refusals are JSON `{"code", "description"}` as the standard's examples have them, with
the HTTP status it names (400 for a bad parameter, 404 for an unknown collection or feature).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.access import Viewer
from db.engine import is_statement_timeout, is_unavailable
from db.queries.features import MAX_LIMIT, ItemsQuery, feature, items
from db.regions import Level
from geo.extent import INDONESIA
from maps.access import Refusal, analyst, read

T = TypeVar("T")

GEOJSON = "application/geo+json"
CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
CONFORMANCE = [CORE, "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
COLLECTIONS = {
    "villages": ("Villages", "Village boundaries with their coverage: counting agents, informal workers, active "
                 "enrollments, penetration and coverage class."),
    "gaps": ("Coverage gaps", "Villages no counting agent reaches or where penetration is under 10 %, with the "
             "reasons (give regionCode or bbox)."),
    "agents": ("Agents", "Perisai agents' bases, status and reach in metres."),
}
ALLOWED = {"bbox", "limit", "regionCode", "status", "after", "token", "f", "bbox-crs", "crs"}


class Problem(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        self.response = JSONResponse({"code": code, "description": description}, status_code=status)


async def _viewer(request: Request) -> tuple[Viewer, str | None]:
    try:
        return await analyst(request, "the features")
    except Refusal as refused:
        names = {"UNAUTHENTICATED": "Unauthenticated", "FORBIDDEN": "Forbidden"}
        raise Problem(refused.status, names[refused.code], str(refused)) from refused


async def _read(request: Request, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    try:
        return await read(request, work)
    except Refusal as refused:
        raise Problem(400, "InvalidParameterValue", str(refused)) from refused


def _link(request: Request, path: str, rel: str, kind: str, title: str, link: str | None, **params: str) -> dict[str, str]:
    query = {**params, **({"token": link} if link else {})}
    href = str(request.base_url).rstrip("/") + path + ("?" + urlencode(query) if query else "")
    return {"href": href, "rel": rel, "type": kind, "title": title}


def _collection(request: Request, name: str, link: str | None) -> dict[str, Any]:
    title, description = COLLECTIONS[name]
    return {
        "id": name, "title": title, "description": description, "itemType": "feature", "crs": [CRS84],
        "extent": {"spatial": {"bbox": [list(INDONESIA)], "crs": CRS84}},
        "links": [_link(request, f"/ogc/collections/{name}", "self", "application/json", title, link),
                  _link(request, f"/ogc/collections/{name}/items", "items", GEOJSON, f"{title} (GeoJSON)", link)],
    }


def _bbox(given: str) -> tuple[float, float, float, float]:
    parts = given.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise Problem(400, "InvalidParameterValue", "bbox: give minLon,minLat,maxLon,maxLat (WGS 84), four numbers")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise Problem(400, "InvalidParameterValue", "bbox: minimums before maximums, longitude -180..180, latitude -90..90")
    return x0, y0, x1, y1


def _query(request: Request, collection: str) -> ItemsQuery:
    params = request.query_params
    unknown = sorted(set(params) - ALLOWED)
    if unknown:
        raise Problem(400, "InvalidParameterValue", f"{unknown[0]}: not a parameter here; use {', '.join(sorted(ALLOWED))}")
    for name in ("bbox-crs", "crs"):
        if params.get(name, CRS84) != CRS84:
            raise Problem(400, "InvalidParameterValue", f"{name}: only {CRS84} (longitude, latitude)")
    limit_text = params.get("limit", "100")
    if not (limit_text.isascii() and limit_text.isdigit() and 1 <= int(limit_text) <= MAX_LIMIT):
        raise Problem(400, "InvalidParameterValue", f"limit: a whole number from 1 to {MAX_LIMIT}")
    region = params.get("regionCode")
    if region is not None and Level.of_code(region) is None:
        raise Problem(400, "InvalidParameterValue", f"regionCode: {region!r} is not a code like 34, 34.71 or 34.71.01")
    status = params.get("status")
    if status is not None and (collection != "agents" or status not in ("active", "inactive")):
        raise Problem(400, "InvalidParameterValue", "status: agents only, active or inactive")
    bbox = _bbox(params["bbox"]) if "bbox" in params else None
    if collection == "gaps" and region is None and bbox is None:
        raise Problem(400, "InvalidParameterValue", "gaps: give regionCode or bbox (gaps are ranked within a region)")
    after = params.get("after")
    if after is not None and not (after.isascii() and 0 < len(after) <= 13 and all(c.isdigit() or c == "." for c in after)
                                  and (collection != "agents" or after.isdigit())):
        raise Problem(400, "InvalidParameterValue", "after: use the next link as it is")
    return ItemsQuery(bbox, region, status, after, int(limit_text))


def _known(name: str) -> str:
    if name not in COLLECTIONS:
        raise Problem(404, "NotFound", f"no collection {name!r}; the collections are {', '.join(COLLECTIONS)}")
    return name


async def landing(request: Request) -> Response:
    try:
        _, link = await _viewer(request)
    except Problem as problem:
        return problem.response
    return JSONResponse({
        "title": "perisai-coverage", "description": "Where Perisai agents reach informal workers, and where they do not.",
        "links": [_link(request, "/ogc", "self", "application/json", "This document", link),
                  _link(request, "/ogc/conformance", "conformance", "application/json", "Conformance", link),
                  _link(request, "/ogc/collections", "data", "application/json", "Collections", link)],
    })


async def conformance(request: Request) -> Response:
    try:
        await _viewer(request)
    except Problem as problem:
        return problem.response
    return JSONResponse({"conformsTo": CONFORMANCE})


async def collections(request: Request) -> Response:
    try:
        _, link = await _viewer(request)
    except Problem as problem:
        return problem.response
    return JSONResponse({"collections": [_collection(request, n, link) for n in COLLECTIONS],
                         "links": [_link(request, "/ogc/collections", "self", "application/json", "Collections", link)]})


async def collection(request: Request) -> Response:
    try:
        name = _known(request.path_params["collection"])
        _, link = await _viewer(request)
    except Problem as problem:
        return problem.response
    return JSONResponse(_collection(request, name, link))


async def collection_items(request: Request) -> Response:
    try:
        name = _known(request.path_params["collection"])
        viewer, link = await _viewer(request)
        query = _query(request, name)
        page = await _read(request, lambda session: items(session, name, query, viewer))
    except Problem as problem:
        return problem.response
    except Exception as exc:
        return _unavailable(exc)
    kept = {k: v for k, v in request.query_params.items() if k not in ("after", "token")}
    path = f"/ogc/collections/{name}/items"
    links = [_link(request, path, "self", GEOJSON, "This page", link, **kept)]
    if page.next_key is not None:
        links.append(_link(request, path, "next", GEOJSON, "Next page", link, **kept, after=page.next_key))
    body: dict[str, Any] = {"type": "FeatureCollection", "features": page.features, "links": links,
                            "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            "numberReturned": len(page.features)}
    if page.matched is not None:
        body["numberMatched"] = page.matched
    return JSONResponse(body, media_type=GEOJSON, headers={"Cache-Control": "private, no-store"})


async def collection_item(request: Request) -> Response:
    try:
        name = _known(request.path_params["collection"])
        viewer, _ = await _viewer(request)
        key = str(request.path_params["item"])
        if not (key.isascii() and key.isprintable() and 0 < len(key) <= 40):
            raise Problem(404, "NotFound", "no such feature")
        found = await _read(request, lambda session: feature(session, name, key, viewer))
    except Problem as problem:
        return problem.response
    except Exception as exc:
        return _unavailable(exc)
    if found is None:
        return Problem(404, "NotFound", f"no feature {key!r} in {name} that you can see").response
    return JSONResponse(found, media_type=GEOJSON)


def _unavailable(exc: Exception) -> Response:
    if is_unavailable(exc) or is_statement_timeout(exc):
        response = Problem(503, "ServiceUnavailable", "the database is busy or restarting; retry in a few seconds").response
        response.headers["Retry-After"] = "5"
        return response
    raise exc


def ogc_routes() -> list[Route]:
    return [
        Route("/ogc", landing), Route("/ogc/", landing),
        Route("/ogc/conformance", conformance),
        Route("/ogc/collections", collections),
        Route("/ogc/collections/{collection}", collection),
        Route("/ogc/collections/{collection}/items", collection_items),
        Route("/ogc/collections/{collection}/items/{item}", collection_item),
    ]
