"""Features for OGC API Features (maps/ogc.py): villages with their coverage, coverage gaps, and
agents, as GeoJSON built by PostGIS, one statement per page, scoped like every read.

Pages are keyset pages (villages and gaps by code, agents by id): a `next` link carries the last
key, so paging stays one index range however deep a client goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, visible_sql
from db.queries.coverage import VILLAGE_COVERAGE_FIGURES, code_range, coverage_class
from db.queries.gaps import GapKind, gap_reasons_sql, gap_rows_sql
from db.queries.suppression import hidden, shown, suppresses
from db.records import Activity
from db.rules import DEFAULT_OBSERVED_DAYS, LOW_PENETRATION
from db.sql import substituted

PRECISION = 6  # decimal degrees: about 0.1 m
MAX_LIMIT = 1000


@dataclass(frozen=True)
class ItemsQuery:
    bbox: tuple[float, float, float, float] | None = None
    region_code: str | None = None
    status: str | None = None  # agents: active | inactive
    after: str | None = None  # the last key of the previous page
    limit: int = 100


@dataclass(frozen=True)
class Page:
    features: list[dict[str, Any]]
    matched: int | None  # known on the first page (count of what the request matches)
    next_key: str | None


def _box(alias: str, column: str) -> str:
    return (f"(CAST(:min_x AS float8) IS NULL OR ST_Intersects({alias}.{column}, "
            f"ST_MakeEnvelope(:min_x, :min_y, :max_x, :max_y, 4326)))")


def _region(column: str) -> str:
    return f"(CAST(:region AS text) IS NULL OR {column} = :region OR {column} LIKE :region || '.%')"


def _villages(viewer: Viewer) -> str:
    here = (f"ARRAY(SELECT h.code FROM village h WHERE {visible_sql(viewer, 'village', 'h')} AND {_box('h', 'geom')} "
            f"AND {_region('h.code')})")
    figures = substituted(VILLAGE_COVERAGE_FIGURES, {"codes": here})
    return f"""
        WITH f AS ({figures})
        SELECT f.code AS key, json_build_object('type', 'Feature', 'id', f.code,
                   'geometry', CAST(ST_AsGeoJSON(v.geom, {PRECISION}) AS json),
                   'properties', json_build_object('code', f.code, 'name', v.name, 'district_code', v.district_code,
                       'coverage_class', {coverage_class("f.agents_in_reach", "f.active_enrollments", "f.informal_workers",
                                                         hidden(viewer, "f.code"))},
                       'agents', f.agents_in_reach, 'informal_workers', f.informal_workers,
                       'active_enrollments', {shown(viewer, "f.code", "f.active_enrollments")},
                       'penetration', {shown(viewer, "f.code", "f.active_enrollments::float8 / nullif(f.informal_workers, 0)")},
                       'estimate_source', v.estimate_source, 'estimate_year', v.estimate_year))::text AS feature,
               count(*) OVER () AS matched
        FROM f JOIN village v ON v.code = f.code
        WHERE CAST(:after AS text) IS NULL OR f.code > :after
        ORDER BY f.code LIMIT :limit"""


def _gaps(viewer: Viewer) -> str:
    # The gaps of the region, or of the villages whose codes span the box's (ItemsQuery needs one).
    span = ("SELECT {f}(b.code) FROM village b WHERE "
            "ST_Intersects(b.geom, ST_MakeEnvelope(:min_x, :min_y, :max_x, :max_y, 4326))")
    gaps = substituted(gap_rows_sql(GapKind.ALL, Activity()), {
        "lo": f"coalesce(CAST(:region AS text) || '.', ({span.format(f='min')}))",
        "hi": f"coalesce(CAST(:region AS text) || '/', ({span.format(f='max')}) || '/')"})
    return f"""
        SELECT g.code AS key, json_build_object('type', 'Feature', 'id', g.code,
                   'geometry', CAST(ST_AsGeoJSON(v.geom, {PRECISION}) AS json),
                   'properties', json_build_object('code', g.code, 'name', v.name,
                       'reasons', to_json({gap_reasons_sql("g")}), 'agents', g.agents_in_reach,
                       'informal_workers', g.informal_workers,
                       'active_enrollments', {shown(viewer, "g.code", "g.active_enrollments")},
                       'uncovered_workers', {shown(viewer, "g.code", "CASE WHEN g.informal_workers IS NOT NULL "
                                                   "THEN greatest(0, g.informal_workers - g.active_enrollments) END")}
                   ))::text AS feature,
               count(*) OVER () AS matched
        FROM ({gaps}) g JOIN village v ON v.code = g.code
        WHERE {visible_sql(viewer, 'village', 'v')} AND {_box('v', 'geom')}
          AND (CAST(:after AS text) IS NULL OR g.code > :after)
        ORDER BY g.code LIMIT :limit"""


def _agents(viewer: Viewer) -> str:
    return f"""
        SELECT a.id::text AS key, json_build_object('type', 'Feature', 'id', a.code,
                   'geometry', CAST(ST_AsGeoJSON(a.location, {PRECISION}) AS json),
                   'properties', json_build_object('code', a.code, 'name', a.name, 'status', a.status,
                       'reach_m', a.reach_m, 'home_village_code', a.home_village_code))::text AS feature,
               count(*) OVER () AS matched
        FROM agent a
        WHERE {visible_sql(viewer, 'agent', 'a')} AND {_box('a', 'location')} AND {_region('a.home_village_code')}
          AND (CAST(:status AS text) IS NULL OR a.status::text = :status)
          AND (CAST(:after AS bigint) IS NULL OR a.id > CAST(:after AS bigint))
        ORDER BY a.id LIMIT :limit"""


STATEMENTS = {"villages": _villages, "gaps": _gaps, "agents": _agents}


async def items(session: AsyncSession, collection: str, query: ItemsQuery, viewer: Viewer) -> Page:
    """One page of a collection's features, the number matching, and the key to continue after."""
    box = query.bbox or (None, None, None, None)
    params = {"min_x": box[0], "min_y": box[1], "max_x": box[2], "max_y": box[3], "region": query.region_code,
              "status": query.status, "limit": query.limit + 1,
              "after": int(query.after) if collection == "agents" and query.after is not None else query.after,
              **code_range(query.region_code), "within_days": None, "as_of": None, "below": LOW_PENETRATION,
              "min_uncovered": 0, "with_unknown": True, "observed_days": DEFAULT_OBSERVED_DAYS,
              "suppress": suppresses(viewer)}
    rows = (await session.execute(text(STATEMENTS[collection](viewer)), params)).all()
    page = rows[:query.limit]
    # count(*) OVER () counts the rows past `after`: the number matched only on the first page.
    matched = (int(rows[0].matched) if rows else 0) if query.after is None else None
    return Page([orjson.loads(r.feature) for r in page], matched, page[-1].key if len(rows) > query.limit else None)


async def feature(session: AsyncSession, collection: str, key: str, viewer: Viewer) -> dict[str, Any] | None:
    """One feature by its id (a village code, or an agent code)."""
    if collection == "agents":
        row = (await session.execute(text(f"SELECT id FROM agent a WHERE a.code = :code AND {visible_sql(viewer, 'agent', 'a')}"),
                                     {"code": key})).first()
        if row is None:
            return None
        query = ItemsQuery(after=str(row.id - 1), limit=1)
    elif collection == "gaps":  # a gap is judged within its district's gaps
        query = ItemsQuery(region_code=key[:8], limit=MAX_LIMIT)
    else:
        query = ItemsQuery(region_code=key, limit=1)
    page = await items(session, collection, query, viewer)
    found = [f for f in page.features if f["id"] == key]
    return found[0] if found else None
