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

Parameters: :overrides and :added, jsonb arrays as stored in `scenario` (migration 0008).
"""

from __future__ import annotations

from db.queries.coverage import counting_per_village, reaches, within

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

_VILLAGES = f"SELECT code FROM public.village WHERE {within('code')}"

# One row per village of the region (:lo, :hi): its informal workers and the counting agents that
# reach it today (`before`) and under the scenario (`after`).
SCENARIO_VILLAGE_CHANGES = f"""
SELECT v.code, v.informal_workers, coalesce(p.counting, 0) AS before, coalesce(s.counting, 0) AS after
FROM public.village v
LEFT JOIN ({counting_per_village(_VILLAGES)}) p ON p.village_code = v.code
LEFT JOIN (WITH {SCENARIO_RELATIONS} {counting_per_village(_VILLAGES)}) s ON s.village_code = v.code
WHERE {within("v.code")}
"""

