"""What a coverage export holds, read in batches through a server-side cursor so a national export
runs in constant memory: village coverage (with the estimate's source), gaps with their reasons,
and agent workload, each row scoped to the caller like every read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.access import Viewer, visible_sql
from db.queries.coverage import VILLAGE_FIGURES, code_range, coverage_class
from db.queries.gaps import GapKind, gap_reasons_sql, gap_rows_sql
from db.queries.suppression import hidden, shown, suppresses
from db.queries.workload import WORKLOAD_ROWS
from db.records import Activity
from db.rules import DEFAULT_OBSERVED_DAYS, LOW_PENETRATION

BATCH = 2000
PRECISION = 6


@dataclass(frozen=True)
class Export:
    """A table: its columns (name, type: str | int | float) and whether rows end with a WKB geometry."""

    columns: tuple[tuple[str, type], ...]
    geometry: str | None  # "Polygon"-ish or "Point": the geometry type of the last column, if any


EXPORTS = {
    "villages": Export((("code", str), ("name", str), ("district_code", str), ("informal_workers", int),
                        ("estimate_source", str), ("estimate_year", int), ("active_enrollments", int),
                        ("penetration", float), ("agents", int), ("coverage_class", str)), "MultiPolygon"),
    "gaps": Export((("code", str), ("name", str), ("reasons", str), ("uncovered_workers", int), ("informal_workers", int),
                    ("active_enrollments", int), ("agents", int), ("estimate_source", str)), "MultiPolygon"),
    "workload": Export((("agent_code", str), ("home_village_code", str), ("status", str), ("villages_in_reach", int),
                        ("informal_workers_in_reach", int), ("workers_share", float), ("overlapping_workers", int),
                        ("enrollments_30_days", int), ("enrollments_90_days", int)), "Point"),
}


def _statement(kind: str, viewer: Viewer) -> str:
    if kind == "villages":
        return f"""WITH {VILLAGE_FIGURES}
            SELECT f.code, v.name, v.district_code, f.informal_workers, v.estimate_source, v.estimate_year,
                   {shown(viewer, "f.code", "f.active_enrollments")},
                   {shown(viewer, "f.code", "f.active_enrollments::float8 / nullif(f.informal_workers, 0)")},
                   f.agents_in_reach,
                   {coverage_class("f.agents_in_reach", "f.active_enrollments", "f.informal_workers", hidden(viewer, "f.code"))},
                   ST_AsBinary(ST_Multi(v.geom))
            FROM village_figures f JOIN village v ON v.code = f.code
            WHERE {visible_sql(viewer, 'village', 'v')} ORDER BY f.code"""
    if kind == "gaps":
        return f"""SELECT g.code, v.name, array_to_string({gap_reasons_sql("g")}, ' '),
                   {shown(viewer, "g.code", "CASE WHEN g.informal_workers IS NOT NULL "
                                            "THEN greatest(0, g.informal_workers - g.active_enrollments) END")},
                   g.informal_workers, {shown(viewer, "g.code", "g.active_enrollments")}, g.agents_in_reach, v.estimate_source,
                   ST_AsBinary(ST_Multi(v.geom))
            FROM ({gap_rows_sql(GapKind.ALL, Activity())}) g JOIN village v ON v.code = g.code
            WHERE {visible_sql(viewer, 'village', 'v')} ORDER BY g.rank_key, g.code"""
    return f"""SELECT a.code, a.home_village_code, a.status::text, w.villages, w.workers, w.share::float8, w.overlapping,
               w.n30, w.n90, ST_AsBinary(a.location)
        FROM ({WORKLOAD_ROWS}) w JOIN agent a ON a.id = w.id
        WHERE {visible_sql(viewer, 'agent', 'a')} ORDER BY w.rank_key, a.id"""


async def export_rows(connection: AsyncConnection, kind: str, region_code: str | None,
                      viewer: Viewer) -> AsyncIterator[list[tuple[object, ...]]]:
    """Batches of rows (the export's columns, then the geometry as WKB), in order."""
    params = {**code_range(region_code), "within_days": None, "as_of": None, "below": LOW_PENETRATION,
              "min_uncovered": 0, "with_unknown": True, "observed_days": DEFAULT_OBSERVED_DAYS,
              "suppress": suppresses(viewer)}
    result = await connection.stream(text(_statement(kind, viewer)).execution_options(yield_per=BATCH), params)
    async for batch in result.partitions(BATCH):
        yield [tuple(row) for row in batch]
