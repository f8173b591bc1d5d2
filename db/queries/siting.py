"""The data of a siting problem: candidate sites, uncovered demand and which sites reach which."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.coverage import VILLAGE_FIGURES, code_range
from db.queries.suppression import is_hidden
from db.records import Activity


@dataclass(frozen=True)
class SitingData:
    candidates: list[tuple[str, float, float]]  # village code, lng, lat of its label point
    demand: list[tuple[str, int]]  # village code, uncovered workers (villages no counting agent reaches)
    reaches: list[list[int]]  # per candidate: indexes into `demand` within reach_m


async def siting_data(session: AsyncSession, region_code: str, reach_m: float, activity: Activity,
                      suppress: bool = False) -> SitingData:
    """Candidates are the region's village label points; demand its unreached villages' uncovered workers.

    Pairs are geodesic (geography, ellipsoid), like every reach in this project. With `suppress`
    (callers without personal data), see SITING_ROWS.
    """
    stmt = text(SITING_ROWS)
    params = {**code_range(region_code), **activity.params(), "reach_m": reach_m, "suppress": suppress}
    rows = (await session.execute(stmt, params)).all()
    return siting_from_rows([(r.code, r.lng, r.lat, r.demand_code, r.weight) for r in rows])


# (candidate code, lng, lat, demand village code, uncovered workers) for every candidate and
# every unreached village within :reach_m of it, in the region (:lo, :hi). With :suppress, a village
# whose enrollments are suppressed weighs its informal workers: a site's gain is a sum of weights,
# and a reach small enough to take in one village would give its count back (workers − gain).
SITING_ROWS = f"""
    WITH {VILLAGE_FIGURES},
    demand AS (
        SELECT code, label_point, weight FROM (
            SELECT code, label_point, agents_in_reach,
                   CASE WHEN CAST(:suppress AS boolean) AND {is_hidden("code")} THEN informal_workers
                        ELSE informal_workers - active_enrollments END AS weight
            FROM village_figures) f
        WHERE agents_in_reach = 0 AND weight > 0 AND label_point IS NOT NULL
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
