"""Suspicious field records for managers to check, in one statement, by reason then id.

Each reason is one branch of a UNION ALL; a branch the caller did not ask for is skipped at run
time (its gate is a one-time filter), and the keyset condition is pushed into every branch.

- GPS_OUTSIDE_VILLAGE: the device's point is farther from the claimed village's boundary than the
  accuracy the device reported (geodesic distance; no accuracy counts as 0 m).
- OUTSIDE_AGENT_REACH: the claimed village's nearest boundary point is more than FAR_FACTOR × the
  agent's reach from the agent's base. Villages in the agent's coverage (label point within reach)
  are skipped before any distance is computed: their boundary is within reach by definition.
- NIK_SHARED_BY_AGENTS: the participant (one NIK) has enrollments recorded by two or more agents.
- IDENTICAL_GPS_BURST: at least BURST_SIZE enrollments carry exactly the same coordinates and were
  recorded within BURST_WINDOW of each other (a phone reusing one cached fix, or records made at
  a desk rather than in the field).
- AGENT_INACTIVE: an active agent who joined at least INACTIVE_DAYS ago and enrolled nobody in
  the INACTIVE_DAYS up to `as_of`.

Enrollment reasons are scoped by the enrollment's village, AGENT_INACTIVE by the agent's home
village, as every other list is.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.paging import Item, Key, Slice
from db.records import DataQualityRecord, FlagReason

FAR_FACTOR = 2
BURST_SIZE = 3
BURST_WINDOW = dt.timedelta(hours=1)
INACTIVE_DAYS = 90


RANK = {reason: rank for rank, reason in enumerate(FlagReason, start=1)}  # the order of the list


_FLAGS = """
WITH region AS (
    SELECT * FROM unnest(CAST(:lo AS text[]), CAST(:hi AS text[])) AS r(lo, hi)
), scoped AS NOT MATERIALIZED (
    SELECT e.* FROM region r
    JOIN enrollment e ON e.village_code ~>=~ r.lo AND e.village_code ~<~ r.hi
), flag AS (
    SELECT 1 AS rank, e.id AS key, e.agent_id, e.village_code, e.id AS enrollment_id,
           ST_Distance(v.geom::geography, e.gps::geography) AS distance_m,
           coalesce(e.gps_accuracy_m, 0)::float8 AS allowed_m, NULL::bigint AS count, NULL::date AS last_enrolled_on
    FROM scoped e JOIN village v ON v.code = e.village_code
    WHERE 'GPS_OUTSIDE_VILLAGE' = ANY(CAST(:reasons AS text[]))
      AND e.gps IS NOT NULL AND v.geom IS NOT NULL
      AND NOT ST_DWithin(v.geom::geography, e.gps::geography, coalesce(e.gps_accuracy_m, 0))
    UNION ALL
    SELECT 2, e.id, e.agent_id, e.village_code, e.id,
           ST_Distance(v.geom::geography, a.location::geography), (CAST(:far_factor AS integer) * a.reach_m)::float8, NULL, NULL
    FROM scoped e JOIN agent a ON a.id = e.agent_id JOIN village v ON v.code = e.village_code
    WHERE 'OUTSIDE_AGENT_REACH' = ANY(CAST(:reasons AS text[]))
      AND v.geom IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM agent_reach ar WHERE ar.agent_id = e.agent_id AND ar.village_code = e.village_code)
      AND NOT ST_DWithin(v.geom::geography, a.location::geography, CAST(:far_factor AS integer) * a.reach_m)
    UNION ALL
    SELECT 3, e.id, e.agent_id, e.village_code, e.id, NULL, NULL, shared.agents, NULL
    FROM scoped e
    CROSS JOIN LATERAL (SELECT count(DISTINCT o.agent_id) AS agents FROM enrollment o
                        WHERE o.participant_id = e.participant_id) shared
    WHERE 'NIK_SHARED_BY_AGENTS' = ANY(CAST(:reasons AS text[]))
      AND EXISTS (SELECT 1 FROM enrollment o WHERE o.participant_id = e.participant_id AND o.agent_id <> e.agent_id)
    UNION ALL
    SELECT 4, e.id, e.agent_id, e.village_code, e.id, NULL, NULL, burst.size, NULL
    FROM (
        SELECT g.id, count(*) OVER (
            PARTITION BY ST_X(g.gps), ST_Y(g.gps) ORDER BY g.recorded_at
            RANGE BETWEEN CAST(:burst_window AS interval) PRECEDING AND CAST(:burst_window AS interval) FOLLOWING
        ) AS size
        FROM enrollment g WHERE g.gps IS NOT NULL AND g.recorded_at IS NOT NULL
          AND 'IDENTICAL_GPS_BURST' = ANY(CAST(:reasons AS text[]))
    ) burst JOIN scoped e ON e.id = burst.id
    WHERE burst.size >= CAST(:burst_size AS integer)
    UNION ALL
    SELECT 5, a.id, a.id, a.home_village_code, NULL, NULL, NULL, NULL,
           (SELECT max(x.enrolled_on) FROM enrollment x WHERE x.agent_id = a.id AND x.enrolled_on <= CAST(:as_of AS date))
    FROM region r JOIN agent a ON a.home_village_code ~>=~ r.lo AND a.home_village_code ~<~ r.hi
    WHERE 'AGENT_INACTIVE' = ANY(CAST(:reasons AS text[]))
      AND a.status = 'active' AND a.joined_on <= CAST(:as_of AS date) - CAST(:inactive_days AS integer)
      AND NOT EXISTS (SELECT 1 FROM enrollment x WHERE x.agent_id = a.id
                      AND x.enrolled_on > CAST(:as_of AS date) - CAST(:inactive_days AS integer) AND x.enrolled_on <= CAST(:as_of AS date))
)
SELECT * FROM flag
WHERE CAST(:after_rank AS integer) IS NULL
   OR (rank, key) > (CAST(:after_rank AS integer), CAST(:after_key AS bigint))
ORDER BY rank, key LIMIT :limit
"""


def _range(code: str | None) -> tuple[str, str]:
    """Codes from `code` itself up to, not including, its next sibling (`34.71` → ['34.71', '34.71/'))."""
    return ("0", ":") if code is None else (code, code + "/")  # '/' follows '.', ':' follows '9'


async def data_quality_page(
    session: AsyncSession, region_codes: list[str | None], reasons: list[FlagReason], as_of: dt.date,
    limit: int, after: Key | None,
) -> Slice[DataQualityRecord]:
    """Flags inside any of `region_codes` (None: all of Indonesia), by reason then id."""
    ranges = [_range(c) for c in region_codes]
    rows = (await session.execute(text(_FLAGS), {
        "lo": [lo for lo, _ in ranges], "hi": [hi for _, hi in ranges], "reasons": [r.value for r in reasons],
        "far_factor": FAR_FACTOR, "burst_size": BURST_SIZE, "burst_window": BURST_WINDOW,
        "inactive_days": INACTIVE_DAYS, "as_of": as_of,
        "after_rank": after[0] if after else None, "after_key": after[1] if after else None, "limit": limit + 1,
    })).all()
    by_rank = {rank: reason for reason, rank in RANK.items()}
    items = [Item(DataQualityRecord(by_rank[r.rank], r.agent_id, r.village_code, r.enrollment_id, r.distance_m,
                                    r.allowed_m, r.count, r.last_enrolled_on), (r.rank, r.key)) for r in rows]
    return Slice(items[:limit], len(items) > limit)
