"""Map layers: one statement per layer, geometry simplified and rounded in PostGIS.

Figures follow the coverage definitions of `db.queries.coverage` (same SQL fragments), so a map
and the API never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, agent_visible_sql
from db.queries.coverage import (
    AS_OF,
    VILLAGE_FIGURES,
    code_range,
    counting_per_village,
    counts,
    coverage_class,
    nearest_counting_agent,
)
from db.queries.suppression import hidden, shown
from db.records import Activity
from db.regions import LEVELS, Level

# Tolerance = the extent's larger side / this; about 1 px on a 1,500 px wide map.
EXTENT_STEPS = 1500
PRECISION = 5  # decimal degrees ≈ 1 m


Bounds = tuple[float, float, float, float]  # min lng, min lat, max lng, max lat


def tolerance(bounds: Bounds | None) -> float:
    """Simplification tolerance in degrees for a map of this extent."""
    if bounds is None:
        return 0.0
    min_x, min_y, max_x, max_y = bounds
    return max(max_x - min_x, max_y - min_y) / EXTENT_STEPS


@dataclass(frozen=True)
class Outline:
    code: str
    name: str | None
    level: Level
    geometry: dict[str, Any] | None
    bounds: Bounds | None
    parent_code: str | None
    parent_name: str | None
    neighbours: list[tuple[str, str | None]]

    @property
    def tolerance(self) -> float:
        return tolerance(self.bounds)


@dataclass(frozen=True)
class VillageFeature:
    code: str
    name: str | None
    geometry: dict[str, Any] | None
    informal_workers: int | None
    active_enrollments: int | None  # None: suppressed for the caller (small counts, migration 0013)
    agent_count: int
    agents_any_status: int
    nearest_agent_code: str | None  # None when there is none, or the caller may not see it
    nearest_m: float | None
    coverage_class: str  # db.queries.coverage.coverage_class

    @property
    def penetration(self) -> float | None:
        if self.active_enrollments is None or not self.informal_workers:
            return None
        return self.active_enrollments / self.informal_workers


@dataclass(frozen=True)
class AgentFeature:
    code: str
    name: str
    lng: float
    lat: float
    reach_m: int
    counts: bool
    villages_in_reach: int
    workers_in_reach: int
    workers_share: float
    enrollments_30_days: int


def _shape(alias: str, level: Level) -> str:
    """The boundary a map draws: the union of the region's villages where known (finer than most
    district files, and the only one provinces have), else the region's own."""
    return f"{alias}.geom" if level is Level.VILLAGE else f"coalesce({alias}.villages_outline, {alias}.geom)"


def _map_shape(alias: str, level: Level) -> str:
    """The boundary the map one level up draws: precomputed for provinces and regencies (small
    islands left out, simplified; migration 0007), the whole shape for districts and villages."""
    whole = _shape(alias, level)
    return f"coalesce({alias}.map_outline, {whole})" if level in (Level.PROVINCE, Level.REGENCY) else whole


async def outline(session: AsyncSession, level: Level, code: str, detail: bool = True) -> Outline | None:
    """The region's boundary, extent, parent and (same level) neighbours touching it; without
    `detail` only the extent and parent (no boundary, no neighbours: a province's are costly)."""
    parent = level.parent
    parent_join = (f"LEFT JOIN {parent.table} p ON p.code = r.{level.parent_column}" if parent
                   else "LEFT JOIN (SELECT NULL::text AS code, NULL::text AS name) p ON false")
    shape, other = _shape("r", level), _shape("n", level)
    stmt = text(f"""
        SELECT r.code, r.name, p.code AS parent_code, p.name AS parent_name,
               ST_XMin(s.g) AS x0, ST_YMin(s.g) AS y0, ST_XMax(s.g) AS x1, ST_YMax(s.g) AS y1,
               CASE WHEN :detail THEN ST_AsGeoJSON(ST_SimplifyPreserveTopology(s.g,
                   greatest(ST_XMax(s.g) - ST_XMin(s.g), ST_YMax(s.g) - ST_YMin(s.g)) / {EXTENT_STEPS}),
                   {PRECISION}) END AS geometry,
               CASE WHEN :detail THEN (SELECT json_agg(json_build_array(n.code, n.name) ORDER BY n.code)
                   FROM {level.table} n WHERE n.code <> r.code AND {other} && s.g AND ST_Intersects({other}, s.g))
               END AS neighbours
        FROM {level.table} r {parent_join} CROSS JOIN LATERAL (SELECT {shape} AS g) s
        WHERE r.code = :code
    """)
    row = (await session.execute(stmt, {"code": code, "detail": detail})).first()
    if row is None:
        return None
    bounds = (row.x0, row.y0, row.x1, row.y1) if row.x0 is not None else None
    return Outline(
        row.code, row.name, level, orjson.loads(row.geometry) if row.geometry else None, bounds,
        row.parent_code, row.parent_name, [(c, n) for c, n in (row.neighbours or [])],
    )


async def national_bounds(session: AsyncSession) -> Bounds | None:
    """The extent of every province's boundary (None before any boundary is imported)."""
    row = (await session.execute(text(f"""
        SELECT ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1
        FROM (SELECT ST_Extent({_shape("p", Level.PROVINCE)}) e FROM province p) s"""))).one()
    return (row.x0, row.y0, row.x1, row.y1) if row.x0 is not None else None


async def village_features(
    session: AsyncSession, district_code: str, tolerance: float, activity: Activity, viewer: Viewer
) -> list[VillageFeature]:
    """Villages with their figures; the nearest agent's code only when the caller may see it (its
    distance always, as `Village.coverage.nearestDistanceM` gives it)."""
    stmt = text(f"""
        WITH {VILLAGE_FIGURES}
        SELECT f.code, v.name, f.informal_workers, f.agents_in_reach, f.agents_any,
               {shown(viewer, "f.code", "f.active_enrollments")} AS active_enrollments,
               ST_AsGeoJSON(ST_SimplifyPreserveTopology(v.geom, CAST(:tolerance AS float8)), {PRECISION}) AS geometry,
               CASE WHEN {agent_visible_sql(viewer, "na")} THEN na.code END AS nearest_code, n.nearest_m,
               {coverage_class("f.agents_in_reach", "f.active_enrollments", "f.informal_workers", hidden(viewer, "f.code"))}
                   AS coverage_class
        FROM village_figures f JOIN village v ON v.code = f.code
        LEFT JOIN {nearest_counting_agent("f.label_point")} n ON true
        LEFT JOIN agent na ON na.id = n.nearest_agent_id
        ORDER BY f.code
    """)
    params = {**code_range(district_code), **activity.params(), "tolerance": tolerance}
    return [
        VillageFeature(r.code, r.name, orjson.loads(r.geometry) if r.geometry else None, r.informal_workers,
                       r.active_enrollments, r.agents_in_reach, r.agents_any, r.nearest_code, r.nearest_m, r.coverage_class)
        for r in (await session.execute(stmt, params)).all()
    ]


async def agent_features(
    session: AsyncSession, district_code: str, activity: Activity, viewer: Viewer
) -> list[AgentFeature]:
    """Agents based in the district or reaching one of its villages that the caller may see, with
    their workload (shares divided among every counting agent, seen or not, as the API does)."""
    stmt = text(f"""
        WITH here AS (
            SELECT DISTINCT agent_id AS id FROM agent_reach WHERE village_code ~>=~ :lo AND village_code ~<~ :hi
            UNION SELECT id FROM agent WHERE home_village_code ~>=~ :lo AND home_village_code ~<~ :hi
        ),
        mine AS (SELECT a.*, {counts("a")} AS counts FROM here JOIN agent a ON a.id = here.id
                 WHERE {agent_visible_sql(viewer, "a")}),
        reached AS (SELECT r.agent_id, r.village_code FROM agent_reach r JOIN mine m ON m.id = r.agent_id),
        -- By code from an array: the planner cannot size `reached` (it guessed 33x too many rows and
        -- hashed all 83,000 villages, 110 of the statement's 207 ms); an array lookup is an index scan.
        reached_village AS (SELECT v.code, v.informal_workers FROM village v
                            WHERE v.code = ANY(ARRAY(SELECT DISTINCT village_code FROM reached))),
        village_load AS ({counting_per_village("SELECT village_code FROM reached")})
        SELECT m.code, m.name, ST_X(m.location) AS lng, ST_Y(m.location) AS lat, m.reach_m, m.counts,
               count(r.village_code) AS villages, coalesce(sum(v.informal_workers), 0) AS workers,
               coalesce(sum(v.informal_workers::float8
                            / (1 + l.counting - CASE WHEN m.counts THEN 1 ELSE 0 END)), 0) AS share,
               (SELECT count(*) FROM enrollment e WHERE e.agent_id = m.id
                  AND e.enrolled_on > {AS_OF} - 30 AND e.enrolled_on <= {AS_OF}) AS recent
        FROM mine m
        LEFT JOIN reached r ON r.agent_id = m.id
        LEFT JOIN reached_village v ON v.code = r.village_code
        LEFT JOIN village_load l ON l.village_code = r.village_code
        GROUP BY m.id, m.code, m.name, m.location, m.reach_m, m.counts
        ORDER BY m.code
    """)
    params = {**code_range(district_code), **activity.params()}
    return [
        AgentFeature(r.code, r.name, r.lng, r.lat, r.reach_m, r.counts, r.villages, int(r.workers), float(r.share),
                     r.recent)
        for r in (await session.execute(stmt, params)).all()
    ]


async def child_geometries(
    session: AsyncSession, level: Level, parent_code: str | None, tolerance: float
) -> dict[str, Any]:
    """Simplified boundaries of the regions of `level` directly below `parent_code` (None: provinces)."""
    where = f"{level.parent_column} = :parent" if parent_code is not None else "true"
    stmt = text(f"""
        SELECT code, ST_AsGeoJSON(ST_SimplifyPreserveTopology(g, CAST(:tolerance AS float8)), {PRECISION}) AS g
        FROM (SELECT code, {_map_shape("r", level)} AS g FROM {level.table} r WHERE {where}) s
        WHERE g IS NOT NULL ORDER BY code
    """)
    rows = (await session.execute(stmt, {"parent": parent_code, "tolerance": tolerance})).all()
    return {r.code: orjson.loads(r.g) for r in rows if r.g}


async def codes_below(session: AsyncSession, level: Level, code: str, down_to: Level) -> list[tuple[Level, str]]:
    """The region and every region below it down to `down_to`, top first, each level by code."""
    pages = [(level, code)]
    for below in LEVELS[LEVELS.index(level) + 1: LEVELS.index(down_to) + 1]:
        rows = await session.execute(text(f"SELECT code FROM {below.table} WHERE code LIKE :prefix ORDER BY code"),
                                     {"prefix": code + ".%"})
        pages += [(below, c) for c in rows.scalars()]
    return pages
