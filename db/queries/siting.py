"""The data of a siting problem: candidate sites, uncovered demand and which sites reach which."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.coverage import VILLAGE_FIGURES, code_range
from db.records import Activity


@dataclass(frozen=True)
class SitingData:
    candidates: list[tuple[str, float, float]]  # village code, lng, lat of its label point
    demand: list[tuple[str, int]]  # village code, uncovered workers (villages no counting agent reaches)
    reaches: list[list[int]]  # per candidate: indexes into `demand` within reach_m


async def siting_data(session: AsyncSession, region_code: str, reach_m: float, activity: Activity) -> SitingData:
    """Candidates are the region's village label points; demand its unreached villages' uncovered workers.

    Pairs are geodesic (geography, ellipsoid), like every reach in this project.
    """
    stmt = text(SITING_ROWS)
    rows = (await session.execute(stmt, {**code_range(region_code), **activity.params(), "reach_m": reach_m})).all()
    return siting_from_rows([(r.code, r.lng, r.lat, r.demand_code, r.weight) for r in rows])


# (candidate code, lng, lat, demand village code, uncovered workers) for every candidate and
# every unreached village within :reach_m of it, in the region (:lo, :hi).
SITING_ROWS = f"""
    WITH {VILLAGE_FIGURES},
    demand AS (
        SELECT code, label_point, informal_workers - active_enrollments AS weight FROM village_figures
        WHERE agents_in_reach = 0 AND informal_workers - active_enrollments > 0 AND label_point IS NOT NULL
    )
    SELECT c.code, ST_X(c.label_point) AS lng, ST_Y(c.label_point) AS lat, d.code AS demand_code, d.weight
    FROM village_figures c
    LEFT JOIN demand d ON ST_DWithin(c.label_point::geography, d.label_point::geography, CAST(:reach_m AS float8))
    WHERE c.label_point IS NOT NULL
    ORDER BY c.code, d.code
"""


def siting_from_rows(rows: list[tuple[str, float, float, str | None, int | None]]) -> SitingData:
    """The problem from SITING_ROWS' rows."""
    candidates: dict[str, tuple[str, float, float]] = {}
    demand: dict[str, int] = {}
    pairs: dict[str, list[str]] = {}
    for code, lng, lat, demand_code, weight in rows:
        candidates.setdefault(code, (code, lng, lat))
        pairs.setdefault(code, [])
        if demand_code is not None:
            demand.setdefault(demand_code, int(weight or 0))
            pairs[code].append(demand_code)
    demand_index = {code: i for i, code in enumerate(demand)}
    return SitingData(
        list(candidates.values()), list(demand.items()),
        [[demand_index[d] for d in pairs[c]] for c in candidates],
    )
