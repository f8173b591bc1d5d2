"""Scenarios evaluated without writing: the agents and reach pairs as if a scenario's changes were
applied, as two WITH entries named like the tables they stand for.

A statement placed after `WITH {SCENARIO_RELATIONS}` (the compiled value of a coverage, gaps or
workload field, with everything nested below it) reads `agent` and `agent_reach` from these
entries instead of the tables, so a scenario is evaluated by the very statements of db/queries
that evaluate the present: the reach rule, activity, penetration
and rankings are not restated. Nothing is written, so no other request can see a scenario.

Both entries are NOT MATERIALIZED: PostgreSQL inlines them where they are used, so the unchanged
agents (nearly all) keep their indexes (nearest-agent KNN, reach pairs by village); only the few
changed or added agents are computed, their reach pairs with the reach rule of
`db.queries.coverage.reaches`. Added agents get negative ids and have recorded no enrollment, so
they count only for nominal coverage (no `activeWithinDays`).

Parameters: :overrides and :added, jsonb arrays as stored in `scenario` (migration 0008). The map
of a scenario reads it through the functions at the end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, visible_sql
from db.queries.coverage import code_range, counting_in_range, reaches, within

_CHANGED_IDS = "ARRAY(SELECT (o->>'id')::bigint FROM jsonb_array_elements(CAST(:overrides AS jsonb)) o)"
_POINT = "ST_SetSRID(ST_MakePoint((x->>'lng')::float8, (x->>'lat')::float8), 4326)"

SCENARIO_RELATIONS = f"""
agent AS NOT MATERIALIZED (
    SELECT a.id, a.code, a.name, a.phone, a.home_village_code, a.location, a.reach_m, a.status, a.joined_on
    FROM public.agent a WHERE a.id <> ALL ({_CHANGED_IDS})
    UNION ALL
    SELECT a.id, a.code, a.name, a.phone, a.home_village_code,
           CASE WHEN x ? 'lng' THEN {_POINT} ELSE a.location END,
           coalesce((x->>'reach_m')::integer, a.reach_m),
           CASE WHEN (x->>'deactivate')::boolean THEN CAST('inactive' AS agent_status) ELSE a.status END,
           a.joined_on
    FROM jsonb_array_elements(CAST(:overrides AS jsonb)) x JOIN public.agent a ON a.id = (x->>'id')::bigint
    UNION ALL
    SELECT -(x->>'n')::bigint, 'scenario-' || (x->>'n'), x->>'name', NULL::text, x->>'home_village_code',
           {_POINT}, (x->>'reach_m')::integer, CAST('active' AS agent_status), CURRENT_DATE
    FROM jsonb_array_elements(CAST(:added AS jsonb)) x
),
agent_reach AS NOT MATERIALIZED (
    SELECT r.agent_id, r.village_code, r.distance_m FROM public.agent_reach r WHERE r.agent_id <> ALL ({_CHANGED_IDS})
    UNION ALL
    SELECT s.id, v.code, ST_Distance(s.location::geography, v.label_point::geography)
    FROM agent s JOIN public.village v ON {reaches("s", "v")}
    WHERE s.id < 0 OR s.id = ANY ({_CHANGED_IDS})
)"""

# One row per village of the region (:lo, :hi): its informal workers and the counting agents that
# reach it today (`before`) and under the scenario (`after`).
SCENARIO_VILLAGE_CHANGES = f"""
SELECT v.code, v.informal_workers, coalesce(p.counting, 0) AS before, coalesce(s.counting, 0) AS after
FROM public.village v
LEFT JOIN ({counting_in_range()}) p ON p.village_code = v.code
LEFT JOIN (WITH {SCENARIO_RELATIONS} {counting_in_range()}) s ON s.village_code = v.code
WHERE {within("v.code")}
"""



@dataclass(frozen=True)
class ScenarioRecord:
    id: int
    name: str
    region_code: str
    created_by: str
    created_at: dt.datetime
    overrides: str  # jsonb text, as stored
    added: str


@dataclass(frozen=True)
class VillageChange:
    code: str
    name: str | None
    geometry: dict[str, Any] | None
    informal_workers: int | None
    before: int  # counting agents reaching it today
    after: int  # under the scenario


@dataclass(frozen=True)
class AgentChange:
    """An agent the scenario adds (code None) or changes: where it is today and under the scenario."""

    code: str | None
    name: str
    lng: float
    lat: float
    reach_m: int
    active: bool
    was_lng: float | None  # today's base; None for an added agent
    was_lat: float | None
    was_reach_m: int | None


async def scenario(session: AsyncSession, scenario_id: int, viewer: Viewer) -> ScenarioRecord | None:
    """The scenario, when the caller may see it."""
    row = (await session.execute(text(f"""
        SELECT s.id, s.name, s.region_code, s.created_by, s.created_at, s.overrides::text AS overrides,
               s.added::text AS added
        FROM scenario s WHERE s.id = :id AND {visible_sql(viewer, "scenario", "s")}"""), {"id": scenario_id})).first()
    return ScenarioRecord(*row) if row is not None else None


async def village_changes(session: AsyncSession, record: ScenarioRecord, tolerance: float) -> list[VillageChange]:
    """Every village of the scenario's region with its boundary (simplified by `tolerance` degrees)
    and the counting agents reaching it today and under the scenario (nominal)."""
    stmt = text(f"""
        SELECT c.code, v.name, c.informal_workers, c.before, c.after,
               ST_AsGeoJSON(ST_SimplifyPreserveTopology(v.geom, CAST(:tolerance AS float8)), 5) AS geometry
        FROM ({SCENARIO_VILLAGE_CHANGES}) c JOIN village v ON v.code = c.code ORDER BY c.code""")
    rows = (await session.execute(stmt, {**code_range(record.region_code), "overrides": record.overrides,
                                         "added": record.added, "within_days": None, "as_of": None,
                                         "tolerance": tolerance})).all()
    return [VillageChange(r.code, r.name, orjson.loads(r.geometry) if r.geometry else None, r.informal_workers,
                          r.before, r.after) for r in rows]


async def agent_changes(session: AsyncSession, record: ScenarioRecord, viewer: Viewer) -> list[AgentChange]:
    """The agents the scenario adds, and those it changes that the caller may see."""
    stmt = text(f"""
        WITH {SCENARIO_RELATIONS}
        SELECT CASE WHEN s.id > 0 THEN s.code END AS code, s.name, ST_X(s.location) AS lng, ST_Y(s.location) AS lat,
               s.reach_m, s.status = 'active' AS active,
               ST_X(t.location) AS was_lng, ST_Y(t.location) AS was_lat, t.reach_m AS was_reach_m
        FROM agent s LEFT JOIN public.agent t ON t.id = s.id
        WHERE (s.id < 0 OR s.id = ANY ({_CHANGED_IDS})) AND (s.id < 0 OR {visible_sql(viewer, "agent", "t")})
        ORDER BY s.id < 0, abs(s.id)""")
    rows = (await session.execute(stmt, {"overrides": record.overrides, "added": record.added})).all()
    return [AgentChange(*r) for r in rows]
