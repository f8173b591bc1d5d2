"""Mapbox vector tiles, one statement per tile: `ST_AsMVTGeom` clips and quantises each feature to
the tile (Web Mercator, 4,096 units, 64 of buffer) after simplifying it to about one tile unit, and
`ST_AsMVT` encodes the layer. Rows are scoped by the caller as every read is (`visible_sql`), and
the figures are the API's own statements (coverage, region figures), so a tile and GraphQL agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, visible_sql
from db.queries.coverage import active_agents, active_enrollments, counts, coverage_class, region_coverage_sql
from db.queries.suppression import hidden, shown
from db.regions import Level
from db.sql import substituted

EXTENT = 4096
BUFFER = 64
PIXELS = 256  # a tile's width on screen
MAX_ZOOM = 16
WEB_MERCATOR_HALF_WIDTH_M = 20037508.342789244


@dataclass(frozen=True)
class TileLayer:
    name: str
    minzoom: int
    description: str
    fields: dict[str, str]  # attribute → "String" | "Number" | "Boolean" (TileJSON vector_layers)


_REGION_FIELDS = {"code": "String", "name": "String", "villages": "Number", "covered_villages": "Number",
                  "covered_share": "Number", "informal_workers": "Number", "active_enrollments": "Number",
                  "penetration": "Number"}
LAYERS = {
    "villages": TileLayer("villages", 8, "Villages with their coverage class, penetration and counting agents.", {
        "code": "String", "name": "String", "coverage_class": "String", "agents": "Number",
        "informal_workers": "Number", "active_enrollments": "Number", "penetration": "Number"}),
    "districts": TileLayer("districts", 6, "Districts with their coverage figures.", _REGION_FIELDS),
    "regencies": TileLayer("regencies", 4, "Regencies with their coverage figures.", _REGION_FIELDS),
    "provinces": TileLayer("provinces", 0, "Provinces with their coverage figures.", _REGION_FIELDS),
    "agents": TileLayer("agents", 8, "Agents (points) and their geodesic reach (polygons) you may see.", {
        "code": "String", "kind": "String", "status": "String", "reach_m": "Number", "counts": "Boolean"}),
}
LEVEL_OF = {"districts": Level.DISTRICT, "regencies": Level.REGENCY, "provinces": Level.PROVINCE}

_ENVELOPE = """e AS (SELECT ST_TileEnvelope(CAST(:z AS integer), CAST(:x AS integer), CAST(:y AS integer)) AS env,
                     ST_Transform(ST_TileEnvelope(CAST(:z AS integer), CAST(:x AS integer), CAST(:y AS integer)), 4326) AS env4326)"""


def _geometry(column: str) -> str:
    """The feature's geometry in tile units, simplified first to about a screen pixel (ST_AsMVTGeom
    then clips it and makes it valid; a polygon smaller than that stays as a speck, not dropped)."""
    return (f"ST_AsMVTGeom(ST_Transform(ST_Simplify({column}, CAST(:tolerance AS float8), true), 3857), "
            f"e.env, {EXTENT}, {BUFFER}, true)")


def tolerance(z: int) -> float:
    """About one screen pixel (a 256-pixel tile) at zoom `z`, in degrees of longitude."""
    return 360.0 / (2 ** z) / PIXELS


def _villages(viewer: Viewer) -> str:
    # A tile has no activity window: its villages' agents and enrollments are the counters the
    # triggers keep, one key lookup each (counting the reach pairs was half a median tile's time).
    # Rows whose geometry falls outside the tile are NULL, which ST_AsMVT skips: a WHERE on it would
    # evaluate ST_AsMVTGeom twice.
    return f"""
        WITH {_ENVELOPE},
        here AS MATERIALIZED (SELECT h.code, h.name, h.informal_workers, h.geom FROM village h, e
                              WHERE h.geom && e.env4326 AND {visible_sql(viewer, 'village', 'h')})
        SELECT ST_AsMVT(m, 'villages', {EXTENT}, 'geom') FROM (
            SELECT f.code, f.name,
                   {coverage_class("f.agents", "f.active_enrollments", "f.informal_workers", hidden(viewer, "f.code"))}
                       AS coverage_class,
                   f.agents, f.informal_workers, {shown(viewer, "f.code", "f.active_enrollments")} AS active_enrollments,
                   {shown(viewer, "f.code", "f.active_enrollments::float8 / nullif(f.informal_workers, 0)")} AS penetration,
                   {_geometry("f.geom")} AS geom
            FROM (SELECT h.*, {active_agents("h.code")} AS agents, {active_enrollments("h.code")} AS active_enrollments
                  FROM here h) f, e
        ) m"""


def _regions(level: Level, viewer: Viewer) -> str:
    """Regions of `level` in the tile with their figures (the coverage statement over their villages)."""
    # The outline the maps draw: the union of the region's villages, and for provinces and regencies
    # the map outline (migration 0007).
    shape = ("coalesce(r.villages_outline, r.geom)" if level is Level.DISTRICT
             else "coalesce(r.map_outline, r.villages_outline, r.geom)")
    figures = substituted(region_coverage_sql(level), {
        "codes": "ARRAY(SELECT code FROM here)", "lo": "(SELECT min(code) FROM here) || '.'",
        "hi": "(SELECT max(code) FROM here) || '/'"})
    return f"""
        WITH {_ENVELOPE},
        here AS MATERIALIZED (SELECT r.code, r.name, {shape} AS g FROM {level.table} r, e
                              WHERE {shape} && e.env4326 AND {visible_sql(viewer, level.table, 'r')}),
        figures AS (SELECT * FROM ({figures}) s WHERE s.is_total = 1)
        SELECT ST_AsMVT(m, '{level.plural}', {EXTENT}, 'geom') FROM (
            SELECT h.code, h.name, s.villages, s.covered_villages,
                   s.covered_villages::float8 / nullif(s.villages, 0) AS covered_share,
                   s.informal_workers, {shown(viewer, "h.code", "s.active_enrollments")} AS active_enrollments,
                   {shown(viewer, "h.code", "s.estimated_enrollments::float8 / nullif(s.informal_workers, 0)")} AS penetration,
                   {_geometry("h.g")} AS geom
            FROM here h LEFT JOIN figures s ON s.region = h.code, e
        ) m"""


def _agents(viewer: Viewer) -> str:
    reach = "ST_Buffer(a.location::geography, a.reach_m, 'quad_segs=16')::geometry"
    return f"""
        WITH {_ENVELOPE},
        mine AS (SELECT a.*, {counts("a")} AS counts FROM agent a, e  -- reach is at most 50 km: 0.5 degrees around
                 WHERE a.location && ST_Expand(e.env4326, 0.5) AND {visible_sql(viewer, 'agent', 'a')})
        SELECT ST_AsMVT(m, 'agents', {EXTENT}, 'geom') FROM (
            SELECT a.code, 'agent' AS kind, upper(a.status::text) AS status, a.reach_m, a.counts,
                   ST_AsMVTGeom(ST_Transform(a.location, 3857), e.env, {EXTENT}, {BUFFER}, true) AS geom FROM mine a, e
            UNION ALL
            SELECT a.code, 'reach', upper(a.status::text), a.reach_m, a.counts, {_geometry(reach)} FROM mine a, e
        ) m"""


def tile_sql(layer: str, viewer: Viewer) -> str:
    if layer == "villages":
        return _villages(viewer)
    if layer == "agents":
        return _agents(viewer)
    return _regions(LEVEL_OF[layer], viewer)


async def tile(session: AsyncSession, layer: str, z: int, x: int, y: int, viewer: Viewer) -> bytes:
    """The encoded tile (empty bytes when the layer has nothing there, or starts at a deeper zoom)."""
    if z < LAYERS[layer].minzoom:
        return b""
    params = {"z": z, "x": x, "y": y, "tolerance": tolerance(z), "within_days": None, "as_of": None}
    body = (await session.execute(text(tile_sql(layer, viewer)), params)).scalar_one()
    return bytes(body or b"")
