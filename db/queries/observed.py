"""Observed reach: where an agent has actually enrolled people, beside its nominal circle.

An enrollment's place is its GPS fix, or, when the device sent none, its village's label point;
distances are geodesic from the agent's base. The window is the :observed_days days up to
`as_of` (enrolled_on in (as_of - days, as_of]), like the activity window of `counts`.
"""

from __future__ import annotations

from db.queries.coverage import AS_OF, counts
from db.queries.suppression import is_hidden
from db.rules import OBSERVED_SHARE

_IN_WINDOW = f"{{e}}.enrolled_on > {AS_OF} - CAST(:observed_days AS integer) AND {{e}}.enrolled_on <= {AS_OF}"


def in_window(enrollment: str) -> str:
    """SQL condition: the enrollment aliased `enrollment` was recorded in the window."""
    return _IN_WINDOW.format(e=enrollment)


def observed_reach_m(agent: str, at_least: str = "1") -> str:
    """SQL: the agent's observed reach in metres (null with fewer than `at_least` enrollments in the
    window: small-count suppression gives `small_count_k()`, as a radius around one to four
    people's GPS points would say where they live)."""
    return f"""(SELECT percentile_cont({OBSERVED_SHARE}) WITHIN GROUP (ORDER BY ST_Distance(
            {agent}.location::geography, coalesce(oe.gps, ov.label_point)::geography))
        FROM enrollment oe JOIN village ov ON ov.code = oe.village_code
        WHERE oe.agent_id = {agent}.id AND {in_window("oe")} AND coalesce(oe.gps, ov.label_point) IS NOT NULL
        HAVING count(*) >= {at_least})"""


def enrolled_village_codes(agent: str, suppress: bool = False) -> str:
    """SQL: the codes of the villages where the agent enrolled someone in the window (with
    `suppress`, not those whose enrollment counts are suppressed: that would say they hold some)."""
    hidden = f" AND NOT {is_hidden('oe.village_code')}" if suppress else ""
    return f"SELECT DISTINCT oe.village_code FROM enrollment oe WHERE oe.agent_id = {agent}.id AND {in_window('oe')}{hidden}"


def observed(village_code: str) -> str:
    """SQL condition: a counting agent that reaches the village enrolled someone there in the window."""
    return f"""EXISTS (SELECT 1 FROM agent_reach ob JOIN agent oa ON oa.id = ob.agent_id
        WHERE ob.village_code = {village_code} AND {counts("oa")} AND EXISTS (
            SELECT 1 FROM enrollment oe WHERE oe.agent_id = oa.id AND oe.village_code = {village_code}
              AND {in_window("oe")}))"""
