"""Coverage analytics: per-village figures, region summaries, gaps, nearest agents.

Definitions (the documented contract, also in the README):
- An agent *counts* when its status is active and, when `Activity.within_days` is given, it
  recorded an enrollment in the `within_days` days up to `as_of` (enrolled_on in
  (as_of - within_days, as_of]).
- A village is *covered* when a counting agent reaches its label point; reach pairs come from the
  `agent_reach` table (geodesic, WGS84 ellipsoid; see migration 0003).
- Active enrollments of a village come from `village_enrollments`, counters kept by triggers in
  the transaction of every enrollment change (migration 0011).
- Penetration = active enrollments / informal workers; uncovered workers =
  max(0, informal workers - active enrollments); both null for a village without an estimate.

Statements are hand-written SQL: they are analytics over several CTEs, clearer as SQL than as
expression trees. Every value is a bind parameter. Region prefixes are matched with the
`~>=~ / ~<~` operators so the text_pattern_ops indexes serve them even under generic plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, agent_visible_sql
from db.queries.suppression import mark_suppressed
from db.records import Activity, CoverageFigures, NearestAgent, VillageCoverage
from db.regions import LEVELS, Level
from db.rules import LOW_PENETRATION


def code_range(region_code: str | None) -> dict[str, str]:
    """Bounds of the codes strictly below a region (`34.71` → `34.71.` ≤ code < `34.71/`)."""
    if region_code is None:
        return {"lo": "0", "hi": ":"}  # every code starts with a digit; ':' follows '9'
    return {"lo": region_code + ".", "hi": region_code + "/"}  # '/' follows '.'


AS_OF = "coalesce(CAST(:as_of AS date), CURRENT_DATE)"


def counts(agent: str) -> str:
    """SQL condition: the agent aliased `agent` counts under the request's Activity."""
    return f"""({agent}.status = 'active' AND (CAST(:within_days AS integer) IS NULL OR EXISTS (
        SELECT 1 FROM enrollment recent WHERE recent.agent_id = {agent}.id
          AND recent.enrolled_on > {AS_OF} - CAST(:within_days AS integer)
          AND recent.enrolled_on <= {AS_OF})))"""


def reached(village_code: str, from_counter: bool) -> str:
    """SQL condition: a counting agent reaches the village whose code is `village_code` (SQL).
    `from_counter`: read the village's counter of active agents (migration 0014), one key lookup,
    which is right only for the present agents (not a scenario's stand-ins) and no activity window;
    joining the reach pairs with their agents took a quarter of the unreached-gaps statement's time
    (planning and running; bench-peers gaps workload)."""
    if from_counter:  # EXISTS, not `active_agents(…) > 0`: an anti-join for a whole country (250 vs 360 ms)
        return f"EXISTS (SELECT FROM village_agents va WHERE va.village_code = {village_code} AND va.active > 0)"
    return f"""EXISTS (
        SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id WHERE r.village_code = {village_code} AND {counts("a")})"""


def counting_per_village(villages: str) -> str:
    """SQL: (village_code, counting) for the villages `villages` selects: counting agents reaching each."""
    return _counting(f"o.village_code IN ({villages})")


def counting_in_range() -> str:
    """SQL: (village_code, counting) for the villages with codes in (:lo, :hi). The range is a
    condition on the reach pairs themselves, so it also reaches into a scenario's stand-in for
    `agent_reach` (a UNION, where an IN list would be applied only after reading all of it)."""
    return _counting(within("o.village_code"))


def _counting(condition: str) -> str:
    return f"""SELECT o.village_code, count(*) FILTER (WHERE {counts("b")}) AS counting
        FROM agent_reach o JOIN agent b ON b.id = o.agent_id
        WHERE {condition}
        GROUP BY o.village_code"""


def coverage_class(agents: str, enrollments: str, workers: str, suppressed: str = "false") -> str:
    """SQL: a village's class on the coverage maps and tiles, from its counting agents, active
    enrollments and informal workers: not_reached, no_estimate, few_enrolled (penetration below
    LOW_PENETRATION) or reached; `suppressed` (SQL) when its enrollments may not be shown (which
    side of LOW_PENETRATION a small count falls would bound it)."""
    return (f"CASE WHEN {agents} = 0 THEN 'not_reached' WHEN coalesce({workers}, 0) = 0 THEN 'no_estimate' "
            f"WHEN {suppressed} THEN 'suppressed' "
            f"WHEN {enrollments}::float8 / {workers} < {LOW_PENETRATION} THEN 'few_enrolled' ELSE 'reached' END")


def reaches(agent: str, village: str) -> str:
    """SQL condition, the reach rule: the agent aliased `agent` reaches the village aliased `village`
    (geodesic, WGS84). Migration 0003's triggers state it too: a migration cannot import it."""
    return f"ST_DWithin({village}.label_point::geography, {agent}.location::geography, {agent}.reach_m)"


def active_agents(village_code: str) -> str:
    """SQL: the active agents reaching the village, from the counters triggers keep (migration 0014):
    the village's counting agents when no activity window applies."""
    return f"coalesce((SELECT va.active FROM village_agents va WHERE va.village_code = {village_code}), 0)"


def active_enrollments(village_code: str) -> str:
    """SQL: the village's active enrollments, from the counters triggers keep (migration 0011)."""
    return f"coalesce((SELECT ve.active FROM village_enrollments ve WHERE ve.village_code = {village_code}), 0)"


def within(column: str) -> str:
    return f"({column} ~>=~ :lo AND {column} ~<~ :hi)"


# One row per village below the region: estimate, agents in reach (counting / any), active enrollments.
VILLAGE_FIGURES = f"""
village_figures AS (
    SELECT v.code, v.label_point, v.informal_workers,
           coalesce(r.agents_in_reach, 0) AS agents_in_reach,
           coalesce(r.agents_any, 0) AS agents_any,
           coalesce(e.active, 0) AS active_enrollments
    FROM village v
    LEFT JOIN (
        SELECT ar.village_code, count(*) FILTER (WHERE {counts("a")}) AS agents_in_reach, count(*) AS agents_any
        FROM agent_reach ar JOIN agent a ON a.id = ar.agent_id
        WHERE {within("ar.village_code")}
        GROUP BY ar.village_code
    ) r ON r.village_code = v.code
    LEFT JOIN village_enrollments e ON e.village_code = v.code
    WHERE {within("v.code")}
)"""


def nearest_counting_agent(point: str) -> str:
    """LATERAL subquery: the counting agent nearest `point` (geodesic), via the KNN index.

    `<->` on geography orders by distance on a sphere, which differs from the ellipsoid by under
    0.6 % in Indonesia; so the KNN winner only sets a radius (its sphere distance + 2 %) and the
    exact ellipsoidal distance picks the nearest among the agents inside it.
    """
    g = f"{point}::geography"
    return f"""LATERAL (
        SELECT a.id AS nearest_agent_id, ST_Distance(a.location::geography, {g}) AS nearest_m
        FROM agent a
        WHERE {counts("a")} AND ST_DWithin(a.location::geography, {g}, (
            SELECT (b.location::geography <-> {g}) * 1.02 + 1 FROM agent b
            WHERE {counts("b")} ORDER BY b.location::geography <-> {g} LIMIT 1), false)
        ORDER BY nearest_m, a.id LIMIT 1
    )"""


def to_village_coverage(row: Any, activity: Activity) -> VillageCoverage:
    return VillageCoverage(
        activity=activity, code=row.code, informal_workers=row.informal_workers, agent_count=row.agents_in_reach,
        agents_any_status=row.agents_any, active_enrollments=row.active_enrollments,
        nearest_agent=NearestAgent(row.nearest_agent_id, row.nearest_m) if row.nearest_agent_id else None,
    )


# Coverage figures of the villages whose code is in :codes (any regions), with the nearest
# counting agent: the columns `to_village_coverage` reads. The compiled reads embed it per village.
VILLAGE_COVERAGE_FIGURES = f"""
    SELECT p.code, p.label_point, p.informal_workers,
           (SELECT count(*) FROM agent_reach ar JOIN agent a ON a.id = ar.agent_id
            WHERE ar.village_code = p.code AND {counts("a")}) AS agents_in_reach,
           (SELECT count(*) FROM agent_reach ar WHERE ar.village_code = p.code) AS agents_any,
           {active_enrollments("p.code")} AS active_enrollments
    FROM village p WHERE p.code = ANY(:codes)
"""
VILLAGE_COVERAGE = f"""
    SELECT f.*, n.nearest_agent_id, n.nearest_m
    FROM ({VILLAGE_COVERAGE_FIGURES}) f LEFT JOIN {nearest_counting_agent("f.label_point")} n ON true
"""


# Share of each village's area (codes :codes) inside the union of the counting agents' geodesic
# reach circles. ST_Buffer on geography buffers in a local projection chosen per circle; 32
# segments per quarter keep the polygon's area within 0.05 % of the circle's. Areas are geodesic.
COVERED_FRACTION = f"""
    SELECT v.code,
           CASE WHEN v.geom IS NULL THEN NULL ELSE least(1.0, coalesce((
               SELECT ST_Area(ST_Intersection(v.geom, ST_Union(
                          ST_Buffer(a.location::geography, a.reach_m, 'quad_segs=32')::geometry))::geography)
               FROM agent a
               WHERE {counts("a")}
                 AND ST_DWithin(a.location::geography, v.geom::geography, 50000)
                 AND ST_DWithin(a.location::geography, v.geom::geography, a.reach_m)
           ), 0) / nullif(ST_Area(v.geom::geography), 0)) END AS fraction
    FROM village v WHERE v.code = ANY(:codes)
"""


_WIDTH = {Level.PROVINCE: 2, Level.REGENCY: 5, Level.DISTRICT: 8, Level.VILLAGE: 13}


async def region_coverage(
    session: AsyncSession, level: Level | None, codes: Sequence[str], activity: Activity, viewer: Viewer | None = None,
) -> dict[str | None, CoverageFigures]:
    """Figures of each region and of each of its children, in one statement; marked `suppressed`
    where `viewer` may not see the enrollment figures (None: the caller shows no enrollments).

    `level` None means Indonesia (codes ignored; the result is under the key None). Regions are
    batched by level: the villages between the smallest and largest code are read once.
    """
    figures = await _region_coverage(session, level, codes, activity)
    return await mark_suppressed(session, viewer, figures)


async def _region_coverage(
    session: AsyncSession, level: Level | None, codes: Sequence[str], activity: Activity
) -> dict[str | None, CoverageFigures]:
    child_level = child_of(level)
    stmt = text(region_coverage_sql(level))
    bounds = code_range(None) if level is None else {"lo": min(codes) + ".", "hi": max(codes) + "/"}
    rows = (await session.execute(stmt, {**bounds, **activity.params(), "codes": list(codes)})).all()
    totals: dict[str | None, CoverageFigures] = {}
    children: dict[str | None, list[CoverageFigures]] = {}
    for r in rows:
        if r.is_total:
            totals[r.region] = _figures(r, r.region, level, None)
        else:
            children.setdefault(r.region, []).append(_figures(r, r.child, child_level, r.name))
    wanted_codes: list[str | None] = [None] if level is None else list(codes)
    return {
        c: replace(totals[c], children=tuple(children.get(c, ()))) if c in totals else _empty(c, level)
        for c in wanted_codes
    }


def child_of(level: Level | None) -> Level:
    """The level of a region's children (provinces for Indonesia)."""
    return Level.PROVINCE if level is None else LEVELS[LEVELS.index(level) + 1]


def region_coverage_sql(level: Level | None) -> str:
    """Rows of figures per region of `level` in :codes (None: Indonesia) and per child of each,
    over the villages between :lo and :hi; `is_total` marks a region's own row."""
    child_level = child_of(level)
    region = f"left(code, {_WIDTH[level]})" if level else "CAST(NULL AS text)"
    home_region = f"left(a.home_village_code, {_WIDTH[level]})" if level else "CAST(NULL AS text)"
    child, home_child = f"left(code, {_WIDTH[child_level]})", f"left(a.home_village_code, {_WIDTH[child_level]})"
    wanted = "" if level is None else f"WHERE {region} = ANY(:codes)"
    return f"""
        WITH {VILLAGE_FIGURES},
        figures AS (
            SELECT {region} AS region, {child} AS child,
                   count(*) AS villages,
                   count(*) FILTER (WHERE agents_in_reach > 0) AS covered_villages,
                   count(*) FILTER (WHERE informal_workers IS NULL) AS villages_without_estimate,
                   sum(informal_workers) AS informal_workers,
                   sum(informal_workers) FILTER (WHERE agents_in_reach > 0) AS workers_in_reach,
                   sum(active_enrollments) AS active_enrollments,
                   sum(active_enrollments) FILTER (WHERE informal_workers IS NOT NULL) AS estimated_enrollments,
                   sum(greatest(0, informal_workers - active_enrollments)) AS uncovered_workers,
                   GROUPING({child}) AS is_total
            FROM village_figures {wanted}
            GROUP BY GROUPING SETS (({region}), ({region}, {child}))
        ),
        agents AS (
            SELECT {home_region} AS region, {home_child} AS child, count(*) AS active_agents
            FROM agent a WHERE {within("a.home_village_code")} AND {counts("a")}
            GROUP BY GROUPING SETS (({home_region}), ({home_region}, {home_child}))
        )
        SELECT f.*, r.name, coalesce(a.active_agents, 0) AS active_agents
        FROM figures f
        LEFT JOIN agents a ON a.region IS NOT DISTINCT FROM f.region AND a.child IS NOT DISTINCT FROM f.child
        LEFT JOIN {child_level.table} r ON r.code = f.child
        ORDER BY f.region, f.is_total DESC, f.child
    """


def _empty(code: str | None, level: Level | None) -> CoverageFigures:
    """A region without villages."""
    return CoverageFigures(code, level, None, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def _figures(row: Any, code: str | None, level: Level | None, name: str | None) -> CoverageFigures:
    return CoverageFigures(
        code=code, level=level, name=name, villages=row.villages, covered_villages=row.covered_villages,
        villages_without_estimate=row.villages_without_estimate,
        informal_workers=int(row.informal_workers or 0), workers_in_reach=int(row.workers_in_reach or 0),
        active_enrollments=int(row.active_enrollments or 0),
        estimated_enrollments=int(row.estimated_enrollments or 0),
        uncovered_workers=int(row.uncovered_workers or 0), active_agents=row.active_agents,
    )


async def nearest_agents(
    session: AsyncSession, lng: float, lat: float, k: int, max_distance_m: float | None, activity: Activity,
    viewer: Viewer,
) -> list[NearestAgent]:
    """The k counting agents the viewer may see nearest a point, exact geodesic distance, nearest
    first. Only agents in scope: distances to agents it may not see would let a caller locate
    them by trilateration (four points were enough to place a base within 1.2 m).

    The KNN index gives the k nearest on the sphere; every agent within 2 % beyond the k-th of
    them is then ranked by its ellipsoidal distance, so the answer is exact (see
    `nearest_counting_agent`).
    """
    stmt = text(nearest_agents_sql(viewer))
    params = {"lng": lng, "lat": lat, "k": k, "max_m": max_distance_m, **activity.params()}
    return [NearestAgent(r.id, r.distance_m) for r in (await session.execute(stmt, params)).all()]


def nearest_agents_sql(viewer: Viewer) -> str:
    """The statement of `nearest_agents`: (id, distance_m) of the k counting agents the viewer may
    see nearest (:lng, :lat), within :max_m when given, nearest first."""
    visible = agent_visible_sql(viewer, "a")
    return f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(CAST(:lng AS float8), CAST(:lat AS float8)), 4326)::geography AS g),
        knn AS (
            SELECT a.location::geography <-> p.g AS sphere_m FROM agent a, p
            WHERE {counts("a")} AND {visible} ORDER BY a.location::geography <-> p.g LIMIT :k
        )
        SELECT a.id, ST_Distance(a.location::geography, p.g) AS distance_m
        FROM agent a, p
        WHERE {counts("a")} AND {visible}
          AND ST_DWithin(a.location::geography, p.g, (SELECT max(sphere_m) * 1.02 + 1 FROM knn), false)
          AND (CAST(:max_m AS float8) IS NULL OR ST_DWithin(a.location::geography, p.g, CAST(:max_m AS float8)))
        ORDER BY distance_m, a.id LIMIT :k
    """


async def rebuild_reach(session: AsyncSession) -> int:
    """Recompute the whole coverage table (a repair tool; triggers keep it exact otherwise)."""
    await session.execute(text("DELETE FROM agent_reach"))
    result = await session.execute(text(f"""
        INSERT INTO agent_reach (agent_id, village_code, distance_m)
        SELECT a.id, v.code, ST_Distance(a.location::geography, v.label_point::geography)
        FROM agent a JOIN village v ON {reaches("a", "v")}
    """))
    return cast(CursorResult[Any], result).rowcount  # a DML statement's result has a row count
