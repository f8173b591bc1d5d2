"""Alerts that time raises, not a change: an agent whose last enrollment is now `days` old stops
counting for effective coverage, and the villages it was the last such agent of are unreached.

Run once a day (`perisai alerts`): an agent crosses the line on exactly one day (its newest
enrollment is `days` old), so each crossing is raised once, through the same digesting function
as the alerts the triggers raise (migration 0010).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.coverage import counts

# Villages whose last effectively active agent (enrollment within :within_days up to :as_of) crossed
# the line today: its newest enrollment is :within_days old; every other active agent reaching the
# village counts as active (nominal) but has not enrolled within the window either.
_CROSSED = f"""
WITH crossed AS (
    SELECT a.id, a.code FROM agent a
    WHERE a.status = 'active'
      AND (SELECT max(e.enrolled_on) FROM enrollment e WHERE e.agent_id = a.id AND e.enrolled_on <= CAST(:as_of AS date))
          = CAST(:as_of AS date) - CAST(:within_days AS integer)
),
lost AS (
    SELECT v.code, v.district_code, c.code AS agent_code
    FROM crossed c JOIN agent_reach r ON r.agent_id = c.id JOIN village v ON v.code = r.village_code
    WHERE NOT EXISTS (SELECT 1 FROM agent_reach o JOIN agent a ON a.id = o.agent_id
                      WHERE o.village_code = v.code AND {counts("a")})
)
SELECT district_code, array_agg(DISTINCT code ORDER BY code) AS villages,
       array_agg(DISTINCT agent_code ORDER BY agent_code) AS agents
FROM lost GROUP BY district_code ORDER BY district_code
"""


async def raise_inactivity_alerts(session: AsyncSession, within_days: int, as_of: dt.date) -> int:
    """Raise today's `agent_inactive` alerts; how many districts got one."""
    rows = (await session.execute(text(_CROSSED), {"within_days": within_days, "as_of": as_of})).all()
    for row in rows:
        await session.execute(text(
            "SELECT raise_coverage_alert('villages_unreached', :district, ARRAY['agent_inactive'], :villages, :agents, "
            "NULL, NULL)"), {"district": row.district_code, "villages": row.villages, "agents": row.agents})
    return len(rows)
